// ProgressBar (see progress.h): the live line, the plain lines, the time left.
#include "tape/summary/progress.h"

#include <algorithm>
#include <cstdio>

namespace tape::summary {

std::string format_duration(double seconds) {
  const long s = seconds < 0 ? 0 : static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

ProgressBar::ProgressBar(std::int64_t total_steps, std::int64_t epoch_samples, bool terminal, std::int64_t log_every)
    : total_(total_steps), epoch_samples_(epoch_samples), log_every_(log_every > 0 ? log_every : 50),
      terminal_(terminal), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(const ProgressPoint& at, const std::string& live_fields, const std::string& log_fields,
                         double samples_per_second) {
  if (first_samples_ < 0) {
    first_samples_ = at.samples_done - at.batch;
    start_ = std::chrono::steady_clock::now();
  }
  smoothed_rate_ = smoothed_rate_ == 0.0 ? samples_per_second : 0.9 * smoothed_rate_ + 0.1 * samples_per_second;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double per_sample = elapsed / double(std::max<std::int64_t>(at.samples_done - first_samples_, 1));
  const std::string eta = format_duration(per_sample * double(at.samples_total - at.samples_done));
  // the step within the epoch at the current batch size (an epoch ends on a whole batch)
  const std::int64_t batch = std::max<std::int64_t>(at.batch, 1);
  const std::int64_t per_epoch = epoch_samples_ / batch;
  const std::int64_t in_epoch = at.sample_in_epoch == 0 ? per_epoch : at.sample_in_epoch / batch;
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * double(at.step) / double(std::max<std::int64_t>(total_, 1)));
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::printf("\r epoch %lld [%s] %lld/%lld  step %lld/%lld  %s  %.0f img/s  ETA %s ", static_cast<long long>(at.epoch),
                bar.c_str(), static_cast<long long>(in_epoch), static_cast<long long>(per_epoch),
                static_cast<long long>(at.step), static_cast<long long>(total_), live_fields.c_str(), smoothed_rate_,
                eta.c_str());
    std::fflush(stdout);
    line_open_ = true;
  } else if (at.step % log_every_ == 0 || at.step == total_) {
    std::printf("epoch %lld step %lld/%lld  %s  %.0f img/s  ETA %s\n", static_cast<long long>(at.epoch),
                static_cast<long long>(at.step), static_cast<long long>(total_), log_fields.c_str(), smoothed_rate_,
                eta.c_str());
    std::fflush(stdout);
  }
}

void ProgressBar::epoch_done(std::int64_t epoch, double seconds) {
  if (line_open_) std::printf("\n");
  line_open_ = false;
  std::printf("Time for epoch %lld is %.1f sec\n", static_cast<long long>(epoch), seconds);
  std::fflush(stdout);
}

void ProgressBar::finish() {
  if (line_open_) std::printf("\n");
  line_open_ = false;
  std::fflush(stdout);
}

}  // namespace tape::summary
