// Data-parallel training on a Communicator: a differentiable all-reduce (for synchronized
// BatchNorm and anything else summed across ranks), gradient averaging in few large messages,
// broadcast of variables and optimizer state from one rank, and a model's set-up for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tape/distributed/communicator.h"
#include "tape/nn/layers.h"
#include "tape/nn/optimizers.h"

namespace tape::distributed {

// x[...] -> [...]: the element-wise sum of every rank's x, on every rank. Differentiable to any
// order: each rank's gradient is the sum of every rank's upstream gradient (the adjoint of "sum,
// and give every rank the result"), computed by this op again. Collective in the forward pass and
// in every backward pass through it.
Tensor all_reduce_sum(const Tensor& x, const Communicator& comm);
// all_reduce_sum on comm as a tape::ReplicaSum (nn::BatchNorm::set_replicas, nn::set_data_parallel).
ReplicaSum replica_sum(const Communicator& comm);

// Sets `model` up for data-parallel training on comm: this rank holds comm.batch_shard() of every
// global batch (Dropout masks follow it); BatchNorm normalizes with the global batch's statistics
// when `synchronize_batch_norm`, else with this rank's. Local: no communication.
void distribute(nn::Module& model, const Communicator& comm, bool synchronize_batch_norm);

// root's values of `variables` on every rank, packed in as few messages as the bucket size allows.
// Every rank passes the same variables (same shapes, dtypes, order: checked).
void broadcast_variables(const Communicator& comm, const std::vector<Variable>& variables, int root = 0);
// root's optimizer state (every slot tensor and the update count) on every rank.
void broadcast_optimizer_state(const Communicator& comm, nn::Optimizer& optimizer, int root = 0);
// root's generator states on every rank (noise streams that must agree).
void broadcast_generators(const Communicator& comm, const std::vector<Generator*>& generators, int root = 0);

// A tensor's shape and dtype, or `defined` false for none (a variable without a gradient).
struct Layout {
  Shape shape;
  DType dtype = DType::f32;
  bool defined = true;
  bool operator==(const Layout&) const = default;
};

// Averages gradients over the ranks: packs them, in order, into buckets of at most bucket_bytes
// (a gradient larger than that is a bucket of its own), one MPI_Allreduce in place per bucket,
// scales by 1 / size and unpacks; an undefined gradient (none) stays undefined. Buffers are kept
// across calls. Every rank passes gradients of
// the same shapes and dtypes in the same order (checked on the first call and whenever the
// layout changes).
class GradientAverager {
 public:
  static constexpr std::size_t kDefaultBucketBytes = std::size_t{4} << 20;
  explicit GradientAverager(Communicator comm, std::size_t bucket_bytes = kDefaultBucketBytes);
  std::vector<Tensor> average(const std::vector<Tensor>& gradients);

  // Measurements since construction: all-reduce calls, bytes reduced per rank, seconds inside
  // the all-reduces (including waiting for the slowest rank).
  std::int64_t messages() const { return messages_; }
  std::int64_t bytes() const { return bytes_; }
  double seconds() const { return seconds_; }

 private:
  struct Bucket {
    DType dtype;
    std::vector<std::size_t> members;  // indices into the gradients
    std::int64_t numel = 0;
  };
  void plan(const std::vector<Tensor>& gradients);
  Communicator comm_;
  std::size_t bucket_bytes_;
  std::vector<Layout> layout_;
  std::vector<Bucket> buckets_;
  std::vector<float> f32_;
  std::vector<double> f64_;
  std::int64_t messages_ = 0, bytes_ = 0;
  double seconds_ = 0.0;
};

}  // namespace tape::distributed
