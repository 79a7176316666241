// RunFiles: paths, losses.csv bookkeeping, checkpoint rotation, the GIF and the loss plot.
#include "run_files.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <tape/tape.h>

#include <tape/io/atomic_file.h>
#include <tape/io/image.h>
#include <tape/io/plot.h>

namespace dcgan {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCsvHeader = "step,epoch,d_loss_real,d_loss_fake,g_loss,d_x,d_g_z,images_per_sec,wall_time";

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

std::string csv_line(const LossRow& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%lld,%lld,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.3f", static_cast<long long>(r.step),
                static_cast<long long>(r.epoch), r.d_loss_real, r.d_loss_fake, r.g_loss, r.d_real, r.d_fake,
                r.images_per_second, r.wall_time);
  return buf;
}

LossRow parse_csv_line(const std::string& line, const std::string& path) {
  LossRow r;
  long long step = 0, epoch = 0;
  if (std::sscanf(line.c_str(), "%lld,%lld,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &step, &epoch, &r.d_loss_real, &r.d_loss_fake,
                  &r.g_loss, &r.d_real, &r.d_fake, &r.images_per_second, &r.wall_time) != 9) {
    throw tape::IOError("losses.csv: cannot parse line '" + line + "' in " + path);
  }
  r.step = step;
  r.epoch = epoch;
  return r;
}

}  // namespace

RunFiles::RunFiles(std::string out_dir) : out_(std::move(out_dir)) {}

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
std::string RunFiles::checkpoint_path(std::int64_t step) const {
  return numbered(checkpoint_dir(), "ckpt-", step, ".safetensors", 8);
}

std::optional<std::string> RunFiles::latest_checkpoint() const {
  const auto files = numbered_files(checkpoint_dir(), std::regex(R"(ckpt-(\d+)\.safetensors)"));
  if (files.empty()) return std::nullopt;
  return files.back().second;
}

void RunFiles::prune_checkpoints(int keep) const {
  const auto files = numbered_files(checkpoint_dir(), std::regex(R"(ckpt-(\d+)\.safetensors)"));
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(keep, 1)) < files.size(); ++i) {
    std::error_code ec;
    fs::remove(files[i].second, ec);
  }
}

void RunFiles::start_history() {
  rows_.clear();
  wall_offset_ = 0;
  start_ = std::chrono::steady_clock::now();
  rewrite_csv();
}

void RunFiles::load_history(std::int64_t step) {
  const std::string path = out_ + "/losses.csv";
  std::ifstream f(path);
  if (!f) throw tape::IOError("cannot read " + path + " to resume");
  std::string line;
  std::getline(f, line);  // header
  rows_.clear();
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    LossRow r = parse_csv_line(line, path);
    if (r.step <= step) rows_.push_back(r);
  }
  wall_offset_ = rows_.empty() ? 0 : rows_.back().wall_time;
  start_ = std::chrono::steady_clock::now();
  rewrite_csv();
}

void RunFiles::rewrite_csv() const {
  std::ostringstream os;
  os << kCsvHeader << '\n';
  for (const auto& r : rows_) os << csv_line(r) << '\n';
  tape::io::write_file_atomically(out_ + "/losses.csv", os.str());
}

void RunFiles::append_losses(LossRow row) {
  row.wall_time = wall_offset_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  rows_.push_back(row);
  std::ofstream f(out_ + "/losses.csv", std::ios::app);
  f << csv_line(row) << '\n';
  f.flush();
  if (!f) throw tape::IOError("cannot append to " + out_ + "/losses.csv");
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
