// Batches of a Dataset: class filtering, seeded permutations, gathering images by index, and the
// two shuffling batch iterators.
#include "tape/data/batches.h"

#include <algorithm>
#include <string>

#include "tape/error.h"

namespace tape::data {
namespace {

// Number of images, after checking that images is [N, H, W, C] float32 with N == labels.size().
std::int64_t checked_count(const Dataset& data, const char* op) {
  if (!data.images.defined() || data.images.rank() != 4 || data.images.dim(0) != data.size())
    throw tape::ValueError(std::string(op) + ": dataset '" + data.name + "' needs images [N, H, W, C] with N = " +
                           std::to_string(data.size()) + " labels");
  return data.size();
}

void check_index(std::int64_t i, std::int64_t n, const char* op, const char* what) {
  if (i < 0 || i >= n) {
    throw tape::ValueError(std::string(op) + ": index " + std::to_string(i) + " out of range for " + std::to_string(n) + " " +
                           what);
  }
}

// Unbiased uniform integer in [0, bound) (rejection sampling), bound >= 1.
std::uint64_t uniform_below(std::uint64_t bound, tape::Generator& gen) {
  const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const std::uint64_t r = gen.next_u64();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

Dataset filter_class(const Dataset& data, int label) {
  const std::int64_t n = checked_count(data, "filter_class");
  if (label < 0 || label >= 10)
    throw tape::ValueError("filter_class: class " + std::to_string(label) + " is not in [0, 10)");
  std::vector<std::int64_t> keep;
  for (std::int64_t i = 0; i < n; ++i)
    if (data.labels[static_cast<std::size_t>(i)] == label) keep.push_back(i);
  if (keep.empty())
    throw tape::ValueError("filter_class: no image of class " + std::to_string(label) + " in '" + data.name + "'");
  Dataset out;
  out.images = gather_images(data, keep);
  out.labels.assign(keep.size(), static_cast<std::uint8_t>(label));
  out.name = data.name + "-class" + std::to_string(label);
  return out;
}

std::vector<std::int64_t> shuffled_indices(std::int64_t n, tape::Generator& gen) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[uniform_below(i, gen)]);
  return order;
}

tape::Tensor gather_images(const Dataset& data, const std::vector<std::int64_t>& indices) {
  const std::int64_t n = checked_count(data, "gather_images");
  const tape::Shape& shape = data.images.shape();
  const std::int64_t per_image = shape[1] * shape[2] * shape[3];
  const float* src = data.images.data<float>();
  std::vector<float> out(indices.size() * static_cast<std::size_t>(per_image));
  float* dst = out.data();
  for (const std::int64_t i : indices) {
    check_index(i, n, "gather_images", "images");
    dst = std::copy_n(src + i * per_image, per_image, dst);
  }
  const auto count = static_cast<std::int64_t>(indices.size());
  return tape::Tensor::from_vector(out, tape::Shape{count, shape[1], shape[2], shape[3]});
}

tape::Tensor gather_labels(const Dataset& data, const std::vector<std::int64_t>& indices) {
  // -> [indices.size()]
  const std::int64_t n = checked_count(data, "gather_labels");
  std::vector<float> out;
  out.reserve(indices.size());
  for (const std::int64_t i : indices) {
    check_index(i, n, "gather_labels", "labels");
    out.push_back(static_cast<float>(data.labels[static_cast<std::size_t>(i)]));
  }
  return tape::Tensor::from_vector(out, tape::Shape{static_cast<std::int64_t>(indices.size())});
}

BatchIterator::BatchIterator(const Dataset& data, std::int64_t batch_size, tape::Generator& gen)
    : data_(data), batch_size_(batch_size), batches_per_epoch_(0), gen_(&gen) {
  const std::int64_t n = checked_count(data_, "BatchIterator");
  if (batch_size < 1 || batch_size > n)
    throw tape::ValueError("BatchIterator: batch size " + std::to_string(batch_size) + " must be in [1, " +
                           std::to_string(n) + "] for '" + data_.name + "'");
  batches_per_epoch_ = n / batch_size;
}

void BatchIterator::new_epoch() {
  order_ = shuffled_indices(data_.size(), *gen_);
  next_batch_ = 0;
}

tape::Tensor BatchIterator::next() {
  if (order_.empty() || next_batch_ >= batches_per_epoch_) return {};
  const auto first = order_.begin() + next_batch_ * batch_size_;
  last_indices_.assign(first, first + batch_size_);
  ++next_batch_;
  return gather_images(data_, last_indices_);
}

EpochBatches::EpochBatches(const Dataset& data, std::uint64_t seed, const BatchShard& shard)
    : data_(data), seed_(seed), shard_(shard) {
  shard_.check();
}

void EpochBatches::seek(std::int64_t epoch, std::int64_t image_in_epoch) {
  if (image_in_epoch < 0 || image_in_epoch >= data_.size()) {
    throw tape::ValueError("EpochBatches: image " + std::to_string(image_in_epoch) + " of an epoch of " +
                           std::to_string(data_.size()) + " images");
  }
  epoch_ = epoch;
  next_ = image_in_epoch;
  tape::Generator gen(seed_ * 0x9E3779B97F4A7C15ull + 0x5EEDull * static_cast<std::uint64_t>(epoch + 1));
  order_ = shuffled_indices(data_.size(), gen);
}

std::vector<std::int64_t> EpochBatches::next_indices(std::int64_t batch, std::int64_t next_batch) {
  if (batch < 1) throw tape::ValueError("EpochBatches: a batch of " + std::to_string(batch) + " images");
  if (!keep_partial_ && next_ + batch > data_.size()) seek(epoch_ + 1, 0);
  const std::int64_t take = keep_partial_ ? std::min(batch, data_.size() - next_) : batch;  // an epoch's last may be smaller
  const std::int64_t rows = shard_.rows(take), first = shard_.first_row(take);
  std::vector<std::int64_t> idx(order_.begin() + next_ + first, order_.begin() + next_ + first + rows);
  next_ += take;
  if (keep_partial_ ? next_ >= data_.size() : next_ + next_batch > data_.size()) seek(epoch_ + 1, 0);
  return idx;
}

tape::Tensor EpochBatches::next(std::int64_t batch, std::int64_t next_batch) {
  return gather_images(data_, next_indices(batch, next_batch));
}

}  // namespace tape::data
