// CheckpointManager: the numbered checkpoints of a training run in one folder, like TensorFlow's
// tf.train.CheckpointManager — dir/ckpt-00001500.safetensors for step 1500, the newest found for
// resuming, and all but the newest max_to_keep deleted after each save.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tape/nn/checkpoint.h"

namespace tape::nn {

class CheckpointManager {
 public:
  // The folder is created by save(); ValueError unless max_to_keep >= 1.
  explicit CheckpointManager(std::string directory, int max_to_keep = 3, std::string prefix = "ckpt-");

  const std::string& directory() const { return directory_; }
  // directory/<prefix><step, 8 digits>.safetensors
  std::string path(std::int64_t step) const;
  // The checkpoints in the folder as (step, path), oldest first; files of other names are ignored.
  std::vector<std::pair<std::int64_t, std::string>> checkpoints() const;
  // The checkpoint with the highest step, if any.
  std::optional<std::string> latest() const;
  // save_checkpoint(path(step), entries, extras), then prune(); returns the path. IOError naming
  // the folder when it cannot be created.
  std::string save(std::int64_t step, const std::vector<CheckpointEntry>& entries, const CheckpointExtras& extras = {});
  // Deletes all but the newest max_to_keep checkpoints.
  void prune() const;

 private:
  std::string directory_, prefix_;
  int max_to_keep_;
};

}  // namespace tape::nn
