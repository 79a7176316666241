// Console progress bar and periodic lines.
#include "progress.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace dcgan {

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

Progress::Progress(std::int64_t total_steps, std::int64_t epoch_images, bool terminal, std::int64_t log_every)
    : total_(total_steps), epoch_images_(epoch_images), log_every_(log_every > 0 ? log_every : 50),
      terminal_(terminal), start_(std::chrono::steady_clock::now()) {}

void Progress::update(const ProgressPoint& at, const StepResult& r, double images_per_second) {
  if (first_images_ < 0) {
    first_images_ = at.images_done - at.batch;
    start_ = std::chrono::steady_clock::now();
  }
  smoothed_rate_ = smoothed_rate_ == 0.0 ? images_per_second : 0.9 * smoothed_rate_ + 0.1 * images_per_second;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double per_image = elapsed / double(std::max<std::int64_t>(at.images_done - first_images_, 1));
  const std::string eta = format_duration(per_image * double(at.images_total - at.images_done));
  // the step within the epoch at the current batch size (an epoch ends on a whole batch)
  const std::int64_t batch = std::max<std::int64_t>(at.batch, 1);
  const std::int64_t per_epoch = epoch_images_ / batch;
  const std::int64_t in_epoch = at.image_in_epoch == 0 ? per_epoch : at.image_in_epoch / batch;
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * double(at.step) / double(std::max<std::int64_t>(total_, 1)));
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::printf("\r epoch %lld [%s] %lld/%lld  step %lld/%lld  d %.3f/%.3f  g %.3f  %.0f img/s  ETA %s ",
                static_cast<long long>(at.epoch), bar.c_str(), static_cast<long long>(in_epoch),
                static_cast<long long>(per_epoch), static_cast<long long>(at.step), static_cast<long long>(total_),
                r.d_loss_real, r.d_loss_fake, r.g_loss, smoothed_rate_, eta.c_str());
    std::fflush(stdout);
    line_open_ = true;
  } else if (at.step % log_every_ == 0 || at.step == total_) {
    std::printf("epoch %lld step %lld/%lld  d_loss_real %.4f  d_loss_fake %.4f  g_loss %.4f  D(x) %.3f  D(G(z)) %.3f"
                "  %.0f img/s  ETA %s\n",
                static_cast<long long>(at.epoch), static_cast<long long>(at.step), static_cast<long long>(total_),
                r.d_loss_real, r.d_loss_fake, r.g_loss, r.d_real, r.d_fake, smoothed_rate_, eta.c_str());
    std::fflush(stdout);
  }
}

void Progress::epoch_done(std::int64_t epoch, double seconds) {
  if (line_open_) std::printf("\n");
  line_open_ = false;
  std::printf("Time for epoch %lld is %.1f sec\n", static_cast<long long>(epoch), seconds);
  std::fflush(stdout);
}

void Progress::finish() {
  if (line_open_) std::printf("\n");
  line_open_ = false;
  std::fflush(stdout);
}

}  // namespace dcgan
