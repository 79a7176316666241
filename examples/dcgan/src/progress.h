// Console progress: a live bar (epoch, step, losses, images/s, ETA) on a terminal, plain
// periodic lines otherwise, and the time of each epoch.
#pragma once
#include <chrono>
#include <cstdint>

#include "trainer.h"

namespace dcgan {

class Progress {
 public:
  Progress(std::int64_t total_steps, std::int64_t steps_per_epoch, bool terminal, std::int64_t log_every);
  void update(std::int64_t step, const StepResult& r, double images_per_second);
  void epoch_done(std::int64_t epoch, double seconds);
  void finish();

 private:
  std::int64_t total_, per_epoch_, log_every_, first_step_ = -1;
  bool terminal_;
  bool line_open_ = false;
  double smoothed_rate_ = 0.0;
  std::chrono::steady_clock::time_point start_;
};

// "1:02:03" / "02:03".
std::string format_duration(double seconds);

}  // namespace dcgan
