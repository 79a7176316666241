// Mini-batches of a Dataset: one class of it, seeded permutations, images gathered by index, and
// two shuffling iterators (BatchIterator: a fresh permutation per epoch from a shared generator;
// EpochBatches: each epoch's order from (seed, epoch) alone, so a resumed run continues exactly).
#pragma once
#include <cstdint>
#include <vector>

#include "tape/data/dataset.h"
#include "tape/batch_shard.h"
#include "tape/random.h"

namespace tape::data {

// The images of class `label` only (for --digit). Throws tape::ValueError when `label` is not in
// [0, 10) or no image has it.
Dataset filter_class(const Dataset& data, int label);

// A uniformly random permutation of 0..n-1 (Fisher-Yates driven by `gen`).
std::vector<std::int64_t> shuffled_indices(std::int64_t n, tape::Generator& gen);

// The images at `indices`, copied contiguous: [indices.size(), H, W, C].
tape::Tensor gather_images(const Dataset& data, const std::vector<std::int64_t>& indices);
// The labels at `indices` as class ids in a float32 tensor [indices.size()] (what nn::Embedding
// and tape::one_hot take).
tape::Tensor gather_labels(const Dataset& data, const std::vector<std::int64_t>& indices);

// Shuffled mini-batches, epoch after epoch. Each new_epoch() draws a fresh permutation from the
// generator (the same seed gives the same batches); the last incomplete batch is dropped (as
// tf.data's drop_remainder). Usage:
//   BatchIterator it(data, 128, gen);
//   for (int e = 0; e < epochs; ++e) {
//     it.new_epoch();
//     for (tape::Tensor x = it.next(); x.defined(); x = it.next()) { ... }
//   }
class BatchIterator {
 public:
  // Throws tape::ValueError when batch_size < 1 or the dataset has fewer than batch_size images.
  // Keeps a reference to `gen` (it must outlive the iterator) and an aliasing copy of `data`.
  BatchIterator(const Dataset& data, std::int64_t batch_size, tape::Generator& gen);

  // Reshuffles and rewinds to the first batch.
  void new_epoch();
  // The next batch of this epoch, [B, H, W, C]; an undefined Tensor once the epoch is done (and
  // before the first new_epoch()).
  tape::Tensor next();

  // Full batches per epoch: N / batch_size.
  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  std::int64_t batch_size() const { return batch_size_; }
  // Dataset indices of the batch next() returned last (empty before the first batch).
  const std::vector<std::int64_t>& last_indices() const { return last_indices_; }

 private:
  Dataset data_;
  std::int64_t batch_size_;
  std::int64_t batches_per_epoch_;
  tape::Generator* gen_;
  std::vector<std::int64_t> order_;   // this epoch's permutation
  std::int64_t next_batch_ = 0;       // index of the next batch in order_
  std::vector<std::int64_t> last_indices_;
};

// Batches in a per-epoch order drawn from (seed, epoch) alone, so that a resumed run can rebuild
// the order of the epoch it stopped in and continue at the same image. Each batch is the next
// `batch` images of the order; an epoch ends when the next batch no longer fits in what is left of
// it. Keeps an aliasing copy of `data`. Call seek() before the first next().
class EpochBatches {
 public:
  // `shard`: data-parallel training, where every process holds the same EpochBatches (same data
  // and seed) and draws its contiguous share of each global batch (a DistributedSampler with
  // blocks of the global order): the shards of one step together are the batch one process
  // would draw, and an epoch gives every image of its order to exactly one process.
  EpochBatches(const Dataset& data, std::uint64_t seed, const BatchShard& shard = {});
  // Continues at image `image_in_epoch` of `epoch`'s order; throws tape::ValueError unless it is in
  // [0, N).
  void seek(std::int64_t epoch, std::int64_t image_in_epoch);
  // keep = true: each epoch ends with a smaller batch of the images left (tf.data's batch()
  // without drop_remainder, as the TensorFlow tutorial); false (the default): the images that do
  // not fill the next batch are left out of the epoch.
  void keep_last_partial_batch(bool keep) { keep_partial_ = keep; }
  // images [batch / shard.count, H, W, C], this shard's rows of the next global batch of `batch`
  // images (a multiple of shard.count, else ValueError); moves to the next epoch when
  // `next_batch` images no longer fit in it (checked before drawing too, for a run resumed with a
  // larger batch). Positions (epoch, image_in_epoch) count global images, alike on every shard.
  tape::Tensor next(std::int64_t batch, std::int64_t next_batch);
  // The dataset indices of next(batch, next_batch)'s images, advancing alike.
  std::vector<std::int64_t> next_indices(std::int64_t batch, std::int64_t next_batch);
  std::int64_t epoch() const { return epoch_; }
  std::int64_t image_in_epoch() const { return next_; }

 private:
  Dataset data_;
  std::uint64_t seed_;
  BatchShard shard_;
  bool keep_partial_ = false;
  std::int64_t epoch_ = 0, next_ = 0;
  std::vector<std::int64_t> order_;
};

}  // namespace tape::data
