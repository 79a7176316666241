// Console progress: a live bar (epoch, step, losses, images/s, ETA) on a terminal, plain
// periodic lines otherwise, and the time of each epoch.
#pragma once
#include <chrono>
#include <cstdint>

#include "trainer.h"

namespace dcgan {

// Where a run is after a step: the epoch (from 1) and the images drawn in it, and the images of
// the whole run (done and total), which give the ETA when the batch size changes (--batch-from).
struct ProgressPoint {
  std::int64_t step = 0, epoch = 1, image_in_epoch = 0, batch = 1, images_done = 0, images_total = 0;
};

class Progress {
 public:
  Progress(std::int64_t total_steps, std::int64_t epoch_images, bool terminal, std::int64_t log_every);
  void update(const ProgressPoint& at, const StepResult& r, double images_per_second);
  void epoch_done(std::int64_t epoch, double seconds);
  void finish();

 private:
  std::int64_t total_, epoch_images_, log_every_, first_images_ = -1;
  bool terminal_;
  bool line_open_ = false;
  double smoothed_rate_ = 0.0;
  std::chrono::steady_clock::time_point start_;
};

// "1:02:03" / "02:03".
std::string format_duration(double seconds);

}  // namespace dcgan
