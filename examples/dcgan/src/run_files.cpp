// RunFiles: paths, losses.csv bookkeeping, the GIF and the loss plot.
#include "run_files.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include <tape/tape.h>

#include <tape/io/image.h>
#include <tape/io/plot.h>

namespace dcgan {

namespace fs = std::filesystem;

namespace {

// losses.csv's columns.
std::vector<tape::io::CsvLog::Column> loss_columns() {
  return {{"step", "%.0f"},          {"epoch", "%.0f"}, {"d_loss_real", "%.6f"},    {"d_loss_fake", "%.6f"},
          {"g_loss", "%.6f"},        {"d_x", "%.6f"},   {"d_g_z", "%.6f"},          {"images_per_sec", "%.1f"},
          {"wall_time", "%.3f"}};
}

std::vector<double> values_of(const LossRow& r) {
  return {static_cast<double>(r.step), static_cast<double>(r.epoch), r.d_loss_real, r.d_loss_fake, r.g_loss,
          r.d_real, r.d_fake, r.images_per_second, r.wall_time};
}

LossRow row_of(const std::vector<double>& v) {
  return {static_cast<std::int64_t>(v[0]), static_cast<std::int64_t>(v[1]), v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
}

std::string numbered(const std::string& dir, const char* prefix, std::int64_t n, const char* suffix, int width) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%0*lld%s", prefix, width, static_cast<long long>(n), suffix);
  return dir + "/" + buf;
}

// Files in dir whose names match `pattern` (one number captured), sorted by that number.
std::vector<std::pair<std::int64_t, std::string>> numbered_files(const std::string& dir, const std::regex& pattern) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern)) out.emplace_back(std::stoll(m[1].str()), entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

RunFiles::RunFiles(std::string out_dir) : out_(std::move(out_dir)), csv_(out_ + "/losses.csv", loss_columns()) {}

void RunFiles::create() const {
  for (const auto& d : {out_, samples_dir(), checkpoint_dir()}) {
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) throw tape::IOError("cannot create directory " + d + ": " + ec.message());
  }
}

std::string RunFiles::epoch_sample_path(std::int64_t epoch) const {
  return numbered(samples_dir(), "epoch_", epoch, ".png", 4);
}
std::string RunFiles::step_sample_path(std::int64_t step) const {
  return numbered(samples_dir(), "step_", step, ".png", 8);
}
void RunFiles::start_history() {
  rows_.clear();
  wall_offset_ = 0;
  start_ = std::chrono::steady_clock::now();
  csv_.start();
}

void RunFiles::load_history(std::int64_t step) {
  if (!csv_.resume(static_cast<double>(step))) throw tape::IOError("cannot read " + csv_.path() + " to resume");
  rows_.clear();
  for (const auto& values : csv_.rows()) rows_.push_back(row_of(values));
  wall_offset_ = rows_.empty() ? 0 : rows_.back().wall_time;
  start_ = std::chrono::steady_clock::now();
}

void RunFiles::append_losses(LossRow row) {
  row.wall_time = wall_offset_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  csv_.append(values_of(row));
  rows_.push_back(row);
}

void RunFiles::write_gif() const {
  // The step grids (--sample-every) when there are any: they show more of the way; else the epochs'.
  auto files = numbered_files(samples_dir(), std::regex(R"(step_(\d+)\.png)"));
  if (files.empty()) files = numbered_files(samples_dir(), std::regex(R"(epoch_(\d+)\.png)"));
  if (files.empty()) return;
  std::vector<tape::io::Image> frames;
  for (const auto& [epoch, path] : files) frames.push_back(tape::io::read_png(path));
  tape::io::write_gif(out_ + "/progress.gif", frames, files.size() > 20 ? 20 : 50);
}

void RunFiles::write_loss_plot() const {
  if (rows_.empty()) return;
  tape::io::Series real{"D loss (real)", {}, {}}, fake{"D loss (fake)", {}, {}}, gen{"G loss", {}, {}};
  for (const auto& r : rows_) {
    for (tape::io::Series* s : {&real, &fake, &gen}) s->x.push_back(double(r.step));
    real.y.push_back(r.d_loss_real);
    fake.y.push_back(r.d_loss_fake);
    gen.y.push_back(r.g_loss);
  }
  tape::io::PlotOptions o;
  o.title = "DCGAN losses";
  o.x_label = "step";
  o.y_label = "binary cross-entropy";
  tape::io::plot_lines(out_ + "/losses.png", {real, fake, gen}, o);
}

}  // namespace dcgan
