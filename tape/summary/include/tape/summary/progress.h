// ProgressBar: a training loop's progress on the console, the way Keras' fit() shows it — on a
// terminal one live line (epoch, a bar, the step, the caller's fields, samples per second, the
// time left), otherwise a plain line every N steps, and the time of each epoch.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace tape::summary {

// Where a run is after a step: the epoch (from 1) and the samples drawn in it, and the samples
// of the whole run (done and total), which give the time left when the batch size changes.
struct ProgressPoint {
  std::int64_t step = 0, epoch = 1, sample_in_epoch = 0, batch = 1, samples_done = 0, samples_total = 0;
};

class ProgressBar {
 public:
  // epoch_samples: the samples of one epoch; log_every: the plain lines' spacing in steps (0: 50).
  ProgressBar(std::int64_t total_steps, std::int64_t epoch_samples, bool terminal, std::int64_t log_every);
  // live_fields go on the terminal's line ("d 0.512/0.430  g 1.234"), log_fields on the plain lines.
  void update(const ProgressPoint& at, const std::string& live_fields, const std::string& log_fields,
              double samples_per_second);
  void epoch_done(std::int64_t epoch, double seconds);
  // Ends the live line.
  void finish();

 private:
  std::int64_t total_, epoch_samples_, log_every_, first_samples_ = -1;
  bool terminal_;
  bool line_open_ = false;
  double smoothed_rate_ = 0.0;
  std::chrono::steady_clock::time_point start_;
};

// "1:02:03" / "02:03".
std::string format_duration(double seconds);

}  // namespace tape::summary
