// BatchShard: one process's share of a global batch in data-parallel training. The global batch
// is split along axis 0 into `count` equal, contiguous parts and this process holds part `index`.
// Random draws that are per example (dropout masks, noise) take one so that the shards together
// draw exactly what one process with the whole batch would.
#pragma once

#include <cstdint>
#include <string>

#include "error.h"

namespace tape {

struct BatchShard {
  std::int64_t index = 0;  // in [0, count)
  std::int64_t count = 1;  // 1: the whole batch

  bool whole() const { return count == 1; }
  // Rows of this shard for a global batch of `global` rows; throws ValueError unless `global` is a
  // positive multiple of count (or the shard itself is malformed).
  std::int64_t rows(std::int64_t global) const {
    check();
    if (global < 1 || global % count != 0) {
      throw ValueError("BatchShard: a global batch of " + std::to_string(global) + " does not split into " +
                       std::to_string(count) + " equal shards");
    }
    return global / count;
  }
  // The first global row of this shard.
  std::int64_t first_row(std::int64_t global) const { return index * rows(global); }
  void check() const {
    if (count < 1 || index < 0 || index >= count) {
      throw ValueError("BatchShard: index " + std::to_string(index) + " of " + std::to_string(count) +
                       " shards is out of range");
    }
  }
};

}  // namespace tape
