// Normalization and dropout. Fused: batch_norm (one op on the tape instead of a dozen, saving x
// and two [C] vectors), dropout (its mask kept as bytes, a quarter of a float32 mask) and
// leaky_relu_dropout (LeakyReLU then dropout, x's sign kept in the mask's bytes).
// Composite (built from mean, square and rsqrt, so differentiable to any order): layer_norm and
// group_norm (instance normalization as one group per channel).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "buffer_pool.h"
#include "kernels/kernels.h"
#include "ops/common.h"
#include "record.h"
#include "tape/gradient_tape.h"
#include "tape/ops.h"
#include "tape/profiler.h"
#include "uniform_bits.h"

namespace tape {
namespace {

using Needs = std::vector<bool>;
using Grads = std::vector<Tensor>;

void check_channel_vector(const char* op, const Tensor& v, const char* name, const Tensor& x) {
  if (!v.defined()) return;
  ops_detail::require_same_dtype(op, x, v, "x", name);
  if (v.rank() != 1 || v.dim(0) != x.dim(-1)) {
    throw ShapeError(std::string(op) + ": " + name + " must have shape [" + std::to_string(x.dim(-1)) +
                     "] (x's last axis); x=" + x.shape().to_string() + ", " + name + "=" + v.shape().to_string());
  }
}

// The defined tensors among x, gamma, beta: the op's inputs on the tape.
std::vector<Tensor> defined_of(const std::vector<Tensor>& xs) {
  std::vector<Tensor> out;
  for (const auto& x : xs) {
    if (x.defined()) out.push_back(x);
  }
  return out;
}

// The definition, composed of recorded ops: what batch_norm computes, differentiable to any order.
Tensor batch_norm_definition(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon) {
  std::vector<std::int64_t> axes;
  for (std::int64_t d = 0; d + 1 < x.rank(); ++d) axes.push_back(d);
  const Tensor centered = x - mean(x, axes);
  Tensor y = centered * rsqrt(mean(square(centered), axes) + epsilon);
  if (gamma.defined()) y = y * gamma;
  if (beta.defined()) y = y + beta;
  return y;
}

// Gradients of <batch_norm(x, gamma, beta), g> for the inputs: one fused pass, or, when an outer
// tape records this backward (higher-order gradients), the definition differentiated by a tape.
Grads batch_norm_grads(const Tensor& g, const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon,
                       const Tensor& mean_c, const Tensor& invstd, const Needs& needs) {
  const std::vector<Tensor> inputs = defined_of({x, gamma, beta});
  std::vector<Tensor> watched = inputs;
  watched.push_back(g);
  if (detail::should_record(watched)) {
    GradientTape inner;
    inner.watch(inputs);
    const Tensor y = batch_norm_definition(x, gamma, beta, epsilon);
    return inner.gradient({y}, inputs, {.output_gradients = {g}});
  }
  detail::ProfileScope profile_scope("batch_norm_grad");
  const std::int64_t c = x.dim(-1), m = x.numel() / c;
  // needs follows the inputs on the tape: x, then gamma and beta where defined
  const std::size_t gamma_at = 1, beta_at = gamma.defined() ? 2 : 1;
  const bool need_gamma = gamma.defined() && needs[gamma_at], need_beta = beta.defined() && needs[beta_at];
  Tensor dx = needs[0] ? detail::empty(x.shape(), x.dtype()) : Tensor();
  Tensor dgamma = need_gamma ? detail::empty(gamma.shape(), x.dtype()) : Tensor();
  Tensor dbeta = need_beta ? detail::empty(beta.shape(), x.dtype()) : Tensor();
  detail::dispatch(x.dtype(), [&]<class T>() {
    const auto out = [](const Tensor& t) { return t.defined() ? detail::mutable_data<T>(t) : nullptr; };
    kernels::batch_norm_backward(g.data<T>(), x.data<T>(), mean_c.data<T>(), invstd.data<T>(),
                                 gamma.defined() ? gamma.data<T>() : nullptr, m, c, out(dx), out(dgamma), out(dbeta));
  });
  Grads grads{dx};
  if (gamma.defined()) grads.push_back(dgamma);
  if (beta.defined()) grads.push_back(dbeta);
  return grads;
}

constexpr const char* kDropout = "dropout";

// The kept elements, one byte each (bit 0; leaky_relu_dropout keeps x > 0 in bit 1), from the
// buffer cache (counted in its in-use bytes).
using Mask = std::shared_ptr<const detail::ScratchBuffer<std::uint8_t>>;

// x[...] * mask[...] / (1 - rate): linear in x, so its backward is itself on g.
Tensor apply_mask(const Tensor& x, const Mask& mask, double rate) {
  const detail::OpScope op(kDropout);
  Tensor y = kernels::masked(x, mask->data(), 1.0 / (1.0 - rate));
  if (detail::should_record(x)) {
    op.record({x}, y, [mask, rate](const Tensor& g, const Needs&) { return Grads{apply_mask(g, mask, rate)}; });
  }
  return y;
}

// mask[n] with mask_i = (u_i > rate) for gen's next n uniform draws in x's dtype (gen moves past
// them), compared as integers: the draws never become floating point.
Mask draw_mask(const Tensor& x, double rate, Generator& gen) {
  detail::ProfileScope profile_scope(kDropout);
  auto mask = std::make_shared<detail::ScratchBuffer<std::uint8_t>>(static_cast<std::size_t>(x.numel()));
  const std::uint64_t k = x.dtype() == DType::f64 ? detail::first_bits_above<double>(rate)
                                                  : detail::first_bits_above<float>(rate);
  std::uint8_t* m = mask->data();
  detail::for_each_uniform_bits(x.numel(), gen, [m, k](std::int64_t i, std::uint64_t bits) { m[i] = bits >= k; });
  return mask;
}

void check_dropout(const char* op, const Tensor& x, double rate) {
  ops_detail::require_defined(op, x, "x");
  if (!(rate >= 0.0 && rate < 1.0)) {
    throw ValueError(std::string(op) + ": rate must be in [0, 1), got " + std::to_string(rate) + "; x=" +
                     x.shape().to_string());
  }
}

// The mask of x[B / shard.count, ...] as shard `shard` of the global batch's: the other shards'
// draws skipped before and after this one's.
Mask draw_shard_mask(const Tensor& x, double rate, Generator& gen, const BatchShard& shard) {
  shard.check();
  if (shard.whole()) return draw_mask(x, rate, gen);
  const auto words = 2 * static_cast<std::uint64_t>(x.numel());  // two 32-bit words per uniform draw
  gen.discard(words * static_cast<std::uint64_t>(shard.index));
  Mask mask = draw_mask(x, rate, gen);
  gen.discard(words * static_cast<std::uint64_t>(shard.count - 1 - shard.index));
  return mask;
}

constexpr const char* kLeakyReluDropout = "leaky_relu_dropout";

// g[...] * (mask / (1 - rate)) * (x > 0 ? 1 : alpha), the sign of x from the mask's bit 1: the
// backward of leaky_relu_dropout, the products in the order the two ops' backwards take them (the
// mask's scale first), or with slope_first in the reverse order their own backwards take them.
// Linear in g, so its own gradient is itself on the incoming one, in the other order.
Tensor leaky_relu_dropout_backward(const Tensor& g, const Mask& mask, double alpha, double rate, bool slope_first) {
  const detail::OpScope op("leaky_relu_dropout_backward");
  Tensor out = kernels::leaky_relu_masked_scale(g, mask->data(), alpha, 1.0 / (1.0 - rate), slope_first);
  if (detail::should_record(g)) {
    op.record({g}, out, [mask, alpha, rate, slope_first](const Tensor& gg, const Needs&) {
      return Grads{leaky_relu_dropout_backward(gg, mask, alpha, rate, !slope_first)};
    });
  }
  return out;
}

// x[...] -> (x > 0 ? x : alpha * x) * (mask / (1 - rate)), the products as leaky_relu's and
// dropout's; the mask keeps the sign of x for the backward (which so keeps no x).
Tensor apply_leaky_relu_mask(const Tensor& x, const Mask& mask, double alpha, double rate) {
  const detail::OpScope op(kLeakyReluDropout);
  Tensor y = kernels::leaky_relu_masked(x, mask->data(), alpha, 1.0 / (1.0 - rate));
  if (detail::should_record(x)) {
    op.record({x}, y, [mask, alpha, rate](const Tensor& g, const Needs&) {
      return Grads{leaky_relu_dropout_backward(g, mask, alpha, rate, false)};
    });
  }
  return y;
}

}  // namespace

// x[..., C], gamma[C], beta[C] -> y[..., C], mean[C], variance[C]
BatchNormResult batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon) {
  const detail::OpScope op("batch_norm");
  ops_detail::require_defined(op.name(), x, "x");
  if (x.rank() < 1 || x.numel() == 0) {
    throw ShapeError("batch_norm: x must have a channel axis and at least one element; x=" + x.shape().to_string());
  }
  check_channel_vector(op.name(), gamma, "gamma", x);
  check_channel_vector(op.name(), beta, "beta", x);
  if (!(epsilon > 0.0)) throw ValueError("batch_norm: epsilon must be > 0, got " + std::to_string(epsilon));
  const std::int64_t c = x.dim(-1), m = x.numel() / c;
  BatchNormResult r{detail::empty(x.shape(), x.dtype()), detail::empty({c}, x.dtype()), detail::empty({c}, x.dtype())};
  const Tensor invstd = detail::empty({c}, x.dtype());
  detail::dispatch(x.dtype(), [&]<class T>() {
    kernels::batch_norm_forward(x.data<T>(), gamma.defined() ? gamma.data<T>() : nullptr,
                                beta.defined() ? beta.data<T>() : nullptr, m, c, epsilon,
                                detail::mutable_data<T>(r.y), detail::mutable_data<T>(r.mean),
                                detail::mutable_data<T>(r.variance), detail::mutable_data<T>(invstd));
  });
  const std::vector<Tensor> inputs = defined_of({x, gamma, beta});
  if (detail::should_record(inputs)) {
    const Tensor mean_c = r.mean;  // the backward keeps x and the two [C] vectors, not r.y
    op.record(inputs, r.y, [=](const Tensor& g, const Needs& needs) {
      return batch_norm_grads(g, x, gamma, beta, epsilon, mean_c, invstd, needs);
    });
  }
  return r;
}

// x[...] -> [...]
Tensor dropout(const Tensor& x, double rate, Generator& gen) { return dropout(x, rate, gen, BatchShard{}); }

// x[B / count, ...] -> [B / count, ...]: this shard's rows of the global batch's mask
Tensor dropout(const Tensor& x, double rate, Generator& gen, const BatchShard& shard) {
  check_dropout(kDropout, x, rate);
  return apply_mask(x, draw_shard_mask(x, rate, gen, shard), rate);
}

// x[...] -> [...]
Tensor leaky_relu_dropout(const Tensor& x, double alpha, double rate, Generator& gen, const BatchShard& shard) {
  check_dropout(kLeakyReluDropout, x, rate);
  return apply_leaky_relu_mask(x, draw_shard_mask(x, rate, gen, shard), alpha, rate);
}

namespace {

// (x - mean) / sqrt(variance + epsilon) with the statistics over `axes` (biased variance).
Tensor standardize(const Tensor& x, const std::vector<std::int64_t>& axes, double epsilon) {
  const Tensor centered = x - mean(x, axes, true);
  return centered * rsqrt(mean(square(centered), axes, true) + epsilon);
}

// y * gamma + beta over the last axis, each optional.
Tensor scale_and_shift(Tensor y, const Tensor& gamma, const Tensor& beta) {
  if (gamma.defined()) y = y * gamma;
  if (beta.defined()) y = y + beta;
  return y;
}

void check_epsilon(const char* op, double epsilon) {
  if (!(epsilon >= 0.0)) throw ValueError(std::string(op) + ": epsilon must be >= 0, got " + std::to_string(epsilon));
}

}  // namespace

// x[..., D] -> [..., D]
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon) {
  constexpr const char* op = "layer_norm";
  if (x.rank() < 1) throw ShapeError(std::string(op) + ": needs x of rank >= 1; x=" + x.shape().to_string());
  check_channel_vector(op, gamma, "gamma", x);
  check_channel_vector(op, beta, "beta", x);
  check_epsilon(op, epsilon);
  return scale_and_shift(standardize(x, {-1}, epsilon), gamma, beta);
}

// x[N, ..., C] -> [N, ..., C]; statistics per example and group of C / groups channels
Tensor group_norm(const Tensor& x, std::int64_t groups, const Tensor& gamma, const Tensor& beta, double epsilon) {
  constexpr const char* op = "group_norm";
  if (x.rank() < 2 || groups < 1 || x.dim(-1) % groups != 0) {
    throw ShapeError(std::string(op) + ": needs x [N, ..., C] with C divisible by groups; x=" + x.shape().to_string() +
                     ", groups=" + std::to_string(groups));
  }
  check_channel_vector(op, gamma, "gamma", x);
  check_channel_vector(op, beta, "beta", x);
  check_epsilon(op, epsilon);
  const std::int64_t n = x.dim(0), c = x.dim(-1);
  // [N, P, G, C/G]: statistics over the positions P and the group's channels
  const Tensor grouped = reshape(x, {n, -1, groups, c / groups});
  const Tensor y = reshape(standardize(grouped, {1, 3}, epsilon), x.shape().dims());
  return scale_and_shift(y, gamma, beta);
}

// x[..., C] (this replica's part), gamma[C], beta[C] -> y[..., C], mean[C], variance[C] of the
// global batch of `replicas` equal parts
BatchNormResult batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon,
                           const ReplicaSum& replica_sum, std::int64_t replicas) {
  constexpr const char* op = "batch_norm (cross-replica)";
  ops_detail::require_defined(op, x, "x");
  if (x.rank() < 1 || x.numel() == 0) {
    throw ShapeError(std::string(op) + ": x must have a channel axis and at least one element; x=" + x.shape().to_string());
  }
  check_channel_vector(op, gamma, "gamma", x);
  check_channel_vector(op, beta, "beta", x);
  if (!(epsilon > 0.0)) throw ValueError(std::string(op) + ": epsilon must be > 0, got " + std::to_string(epsilon));
  if (!replica_sum || replicas < 1) {
    throw ValueError(std::string(op) + ": needs a replica sum and replicas >= 1, got " + std::to_string(replicas) +
                     " replicas; x=" + x.shape().to_string());
  }
  std::vector<std::int64_t> axes(static_cast<std::size_t>(x.rank() - 1));
  for (std::size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<std::int64_t>(i);
  const double n = static_cast<double>(x.numel() / x.dim(-1) * replicas);
  auto global_sum = [&](const Tensor& t, const char* what) {
    const Tensor s = replica_sum(sum(t, axes));
    if (s.shape() != Shape{x.dim(-1)}) {
      throw ShapeError(std::string(op) + ": the replica sum of the " + what + " returned " + s.shape().to_string() +
                       ", not [" + std::to_string(x.dim(-1)) + "]");
    }
    return s;
  };
  const Tensor mean_c = global_sum(x, "sums") * (1.0 / n);
  const Tensor centered = x - mean_c;
  const Tensor variance_c = global_sum(square(centered), "squared deviations") * (1.0 / n);
  const Tensor y = scale_and_shift(centered * rsqrt(variance_c + epsilon), gamma, beta);
  return {y, stop_gradient(mean_c), stop_gradient(variance_c)};
}

}  // namespace tape
