// RunFiles: the layout of a training run's output folder and the files in it — config.json,
// samples/, progress.gif, losses.csv, losses.png, checkpoints/ (tape::nn::CheckpointManager's), tensorboard/.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <tape/io/csv_log.h>

namespace dcgan {

struct LossRow {
  std::int64_t step = 0, epoch = 0;
  double d_loss_real = 0, d_loss_fake = 0, g_loss = 0, d_real = 0, d_fake = 0, images_per_second = 0;
  double wall_time = 0;  // seconds since the run started (continued across --resume)
};

class RunFiles {
 public:
  explicit RunFiles(std::string out_dir);
  void create() const;

  std::string config_path() const { return out_ + "/config.json"; }
  std::string samples_dir() const { return out_ + "/samples"; }
  std::string checkpoint_dir() const { return out_ + "/checkpoints"; }
  std::string tensorboard_dir() const { return out_ + "/tensorboard"; }
  std::string epoch_sample_path(std::int64_t epoch) const;
  std::string step_sample_path(std::int64_t step) const;

  // losses.csv: a new file with its header, or (resuming) the rows up to `step` kept.
  void start_history();
  void load_history(std::int64_t step);
  // Appends a row (wall_time is filled in) and flushes it.
  void append_losses(LossRow row);
  const std::vector<LossRow>& history() const { return rows_; }

  // progress.gif from samples/step_*.png in step order (samples/epoch_*.png when there are no step
  // grids); losses.png from the history.
  void write_gif() const;
  void write_loss_plot() const;

 private:
  std::string out_;
  tape::io::CsvLog csv_;
  std::vector<LossRow> rows_;
  double wall_offset_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace dcgan
