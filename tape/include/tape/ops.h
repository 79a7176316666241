// The differentiable ops: the table of contents. Each declaration gives its shapes and its
// PyTorch / TensorFlow equivalent. Elementwise binary ops broadcast like NumPy.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tape/batch_shard.h"
#include "tape/tensor.h"

namespace tape {

// ---------------- elementwise, binary (broadcasting): a[...], b[...] -> broadcast shape ----------
Tensor add(const Tensor& a, const Tensor& b);       // torch.add / tf.add
Tensor sub(const Tensor& a, const Tensor& b);       // torch.sub / tf.subtract
Tensor mul(const Tensor& a, const Tensor& b);       // torch.mul / tf.multiply
Tensor div(const Tensor& a, const Tensor& b);       // torch.div / tf.divide
Tensor maximum(const Tensor& a, const Tensor& b);   // torch.maximum / tf.maximum (ties: grad to a)
Tensor minimum(const Tensor& a, const Tensor& b);   // torch.minimum / tf.minimum (ties: grad to a)
// cond != 0 ? a : b; cond is a constant (no gradient flows into it).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // torch.where / tf.where

// ---------------- elementwise, unary: x[...] -> [...] ----------------
Tensor neg(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);    // torch.pow(x, p) / tf.pow
Tensor square(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);                   // 1 / sqrt(x)
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor abs(const Tensor& x);                     // gradient sign(x), 0 at 0
Tensor clip(const Tensor& x, double low, double high);  // torch.clamp / tf.clip_by_value
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
// x > 0 ? x : alpha * x. The default alpha is tf.nn.leaky_relu's (and DCGAN's) 0.2; the layer
// nn::LeakyReLU keeps Keras' 0.3: each default is its TensorFlow counterpart's.
Tensor leaky_relu(const Tensor& x, double alpha = 0.2);  // tf.nn.leaky_relu
Tensor softplus(const Tensor& x);                // log(1 + exp(x)), stable
// Elementwise comparisons give 0/1 constants (not differentiable).
Tensor greater(const Tensor& a, const Tensor& b);
Tensor equal(const Tensor& a, const Tensor& b);

// ---------------- reductions: x[...] -> x with `axes` removed (or kept as 1) ----------------
// Empty `axes` reduces over every axis. Negative axes count from the end.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
// Gradient split evenly between tied maxima (like TensorFlow's reduce_max).
Tensor max(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);

// ---------------- softmax over the last axis: x[..., C] -> [..., C] ----------------
// x - logsumexp(x), the max subtracted first so that any finite x stays finite. Fused: one pass
// per row (the sum of exponentials accumulated in double); the backward is written with ops on the
// output, so both are differentiable to any order.
Tensor log_softmax(const Tensor& x);  // torch.log_softmax(x, -1) / tf.nn.log_softmax
Tensor softmax(const Tensor& x);      // torch.softmax(x, -1) / tf.nn.softmax

// ---------------- linear algebra ----------------
// a[..., m, k] @ b[..., k, n] -> [..., m, n]; batch dims broadcast; rank-2 is a plain GEMM.
Tensor matmul(const Tensor& a, const Tensor& b);  // torch.matmul / tf.linalg.matmul
// a[..., m, k] (or [..., k, m] with transpose_a) @ b[..., k, n] (or [..., n, k] with transpose_b)
// -> [..., m, n]: tf.linalg.matmul(a, b, transpose_a, transpose_b), without a transposed copy.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);

// ---------------- shape ops ----------------
// Same elements, new shape; one dimension may be -1.
Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape);
// y.shape[i] = x.shape[perm[i]].
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& perm);  // tf.transpose(x, perm)
// Swap the last two axes (rank >= 2).
Tensor transpose(const Tensor& x);
// Repeat along broadcast dims: x[...] -> shape (NumPy rules).
Tensor broadcast_to(const Tensor& x, const Shape& shape);
// Sum over dims that broadcast_to(., x.shape) would create: the adjoint of broadcast_to.
Tensor sum_to(const Tensor& x, const Shape& shape);
// Join along `axis`; all other dims equal.
Tensor concat(const std::vector<Tensor>& xs, std::int64_t axis);  // torch.cat / tf.concat
// indices[...] (whole numbers in [0, depth) in a float dtype) -> [..., depth], 1 at each index and 0
// elsewhere, in indices' dtype: a constant (no gradient flows into indices).
Tensor one_hot(const Tensor& indices, std::int64_t depth);  // tf.one_hot / torch.nn.functional.one_hot
// x[begin_i : begin_i + size_i] per axis; size -1 means "to the end".
Tensor slice(const Tensor& x, const std::vector<std::int64_t>& begin, const std::vector<std::int64_t>& size);
// Zero padding: pads[i] = {before_i, after_i} for every axis.
Tensor pad(const Tensor& x, const std::vector<std::array<std::int64_t, 2>>& pads);
// Remove / insert size-1 axes.
Tensor squeeze(const Tensor& x, std::int64_t axis);
Tensor expand_dims(const Tensor& x, std::int64_t axis);

// ---------------- convolution (NHWC activations, HWIO weights w[kh, kw, c_in, c_out]) -----------
enum class PaddingMode { valid, same, explicit_ };

// TensorFlow-style padding: "valid", "same" (out = ceil(in / stride), odd total padding puts the
// extra row/column at the bottom/right) or explicit {top, bottom, left, right}.
struct Padding {
  PaddingMode mode = PaddingMode::valid;
  std::array<std::int64_t, 4> pads{0, 0, 0, 0};  // explicit: top, bottom, left, right
  Padding() = default;
  Padding(PaddingMode padding_mode, std::array<std::int64_t, 4> explicit_pads)
      : mode(padding_mode), pads(explicit_pads) {}
  // From its name, "valid" or "same" (ValueError otherwise); implicit, so that options can say
  // padding = "same".
  Padding(const char* name);
  Padding(const std::string& name);
  static Padding valid() { return {}; }
  static Padding same() { return {PaddingMode::same, {0, 0, 0, 0}}; }
  static Padding explicit_pads(std::int64_t top, std::int64_t bottom, std::int64_t left, std::int64_t right) {
    return {PaddingMode::explicit_, {top, bottom, left, right}};
  }
  // Symmetric explicit padding (PyTorch's `padding=p`).
  static Padding symmetric(std::int64_t ph, std::int64_t pw) { return explicit_pads(ph, ph, pw, pw); }
  // "valid" or "same" (ValueError otherwise).
  static Padding from_string(const std::string& name);
  std::string to_string() const;
};

// The conv ops' options; the conv layers (nn::ConvOptions) start with the same two fields.
struct Conv2dOptions {
  std::array<std::int64_t, 2> strides{1, 1};
  Padding padding = Padding::valid();
};

// x[N, H, W, Ci] * w[kh, kw, Ci, Co] -> [N, Ho, Wo, Co]  (tf.nn.conv2d; torch conv2d in NHWC)
Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dOptions& options = {});
// x[N, H, W, Ci] * w[kh, kw, Ci, Co] + bias[Co] -> [N, Ho, Wo, Co]: the convolution and the bias add
// in one op (torch conv2d's bias), the bias added as each output is written: the same numbers
// as conv2d(x, w) + bias without the extra pass. An undefined bias means none.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& options = {});

struct ConvTranspose2dOptions {
  std::array<std::int64_t, 2> strides{1, 1};
  Padding padding = Padding::valid();
  // Output spatial size {H, W}; when absent, Keras' rule: same -> in * stride,
  // valid -> in * stride + max(k - stride, 0), or with output_padding
  // (in - 1) * stride + k - 2 * (same ? k / 2 : 0) - explicit pads + output_padding.
  std::optional<std::array<std::int64_t, 2>> output_size;
  std::optional<std::array<std::int64_t, 2>> output_padding;
};

// u[N, Ho, Wo, Co], w[kh, kw, Ci, Co] -> z[N, H, W, Ci]: the adjoint of conv2d(., w) on inputs of
// size H x W (tf.nn.conv2d_transpose; torch conv_transpose2d; Keras Conv2DTranspose).
Tensor conv_transpose2d(const Tensor& u, const Tensor& w, const ConvTranspose2dOptions& options = {});
// conv_transpose2d(u, w) + bias[Ci] in one op, as conv2d's with a bias.
Tensor conv_transpose2d(const Tensor& u, const Tensor& w, const Tensor& bias,
                        const ConvTranspose2dOptions& options = {});

// x[N, H, W, Ci], u[N, Ho, Wo, Co] -> [kh, kw, Ci, Co]: the gradient of <conv2d(x, w), u> w.r.t. w
// (tf.nn.conv2d_backprop_filter).
Tensor conv2d_weight_grad(const Tensor& x, const Tensor& u, const Conv2dOptions& options,
                          std::array<std::int64_t, 2> kernel_size);

// Output spatial size of conv2d for one dimension and the resolved padding {before, after}.
struct ConvGeometry {
  std::int64_t out = 0;
  std::int64_t pad_before = 0;
  std::int64_t pad_after = 0;
};
ConvGeometry conv_geometry(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                           const Padding& padding, int axis);

// ---------------- pooling (NHWC): x[N, H, W, C] -> [N, H / ph, W / pw, C] ----------------
// Non-overlapping windows (strides = pool size, "valid"): rows and columns that do not fill a
// window are dropped. Built from slice, reshape and max / mean, so differentiable to any order;
// max_pool2d shares the gradient between tied maxima.
Tensor max_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size);  // tf.nn.max_pool2d
Tensor avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size);  // tf.nn.avg_pool2d
// Any window, stride and padding (Keras' MaxPooling2D / AveragePooling2D):
// x[N, H, W, C] -> [N, Ho, Wo, C] with Ho, Wo as conv2d's. Padded positions never count: max_pool2d
// takes the largest value inside the image, avg_pool2d averages the values inside it (TensorFlow's
// "same" rule, PyTorch's count_include_pad=False). Non-overlapping "valid" windows take the path
// above; others gather each window's values with a convolution by one-hot kernels, so both stay
// differentiable to any order.
struct Pool2dOptions {
  std::array<std::int64_t, 2> strides{0, 0};  // 0: the pool size (Keras' strides=None)
  Padding padding = Padding::valid();
};
Tensor max_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size, const Pool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size, const Pool2dOptions& options);

// ---------------- resampling (NHWC), linear, differentiable to any order ----------------
// x[N, H, W, C] -> [N, H * sh, W * sw, C]: each pixel repeated sh x sw times (Keras'
// UpSampling2D "nearest", torch interpolate mode="nearest" with integer factors); reshape and
// broadcast_to, so its gradient sums each block.
Tensor upsample_nearest2d(const Tensor& x, std::array<std::int64_t, 2> size);
// x[N, H, W, C] -> [N, out_h, out_w, C], bilinear with half-pixel centers (tf.image.resize
// "bilinear" without antialiasing, as Keras' UpSampling2D "bilinear"; torch interpolate
// mode="bilinear", align_corners=False): output i samples the input at (i + 0.5) * in / out - 0.5,
// clamped to the image. half_pixel_centers = false: TensorFlow 1's tf.image.resize_images
// (align_corners=False, half_pixel_centers=False), output i samples the input at i * in / out.
// Two products with [out, in] interpolation matrices.
Tensor resize_bilinear2d(const Tensor& x, std::array<std::int64_t, 2> out_size, bool half_pixel_centers = true);

// ---------------- normalization and dropout ----------------
// Batch statistics per channel (the last axis) over every other axis of x[..., C]:
// y = (x - mean) / sqrt(variance + epsilon) * gamma + beta, gamma[C] and beta[C] optional
// (undefined: scale 1, shift 0); variance is the biased one. mean and variance come back as
// constants (no gradient flows through them). Saves x and two [C] vectors for the backward, which
// is one fused pass when first-order and the differentiated definition under an outer tape, so the
// op is differentiable to any order. (tf.nn.fused_batch_norm / torch.batch_norm, training)
struct BatchNormResult {
  Tensor y, mean, variance;
};
BatchNormResult batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon);
// Sums a tensor over the processes of a data-parallel run, differentiably (its gradient is the
// same sum of the upstream gradients): tape::distributed::all_reduce_sum, or a stand-in in tests.
using ReplicaSum = std::function<Tensor(const Tensor&)>;
// x[..., C] -> y[..., C], mean[C], variance[C] over the global batch of `replicas` processes, x
// being this process's part and every part of the same size (torch.nn.SyncBatchNorm,
// keras BatchNormalization(synchronized=True)): the mean is replica_sum(sum of x) / n and the
// biased variance replica_sum(sum of (x - mean)^2) / n, n the global count per channel, then as
// batch_norm. Composite ops, so differentiable to any order with gradients flowing through the
// global statistics; mean and variance come back as constants. With replicas = 1 and the identity
// as the sum it is batch_norm.
BatchNormResult batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon,
                           const ReplicaSum& replica_sum, std::int64_t replicas);

// Per-example statistics, composite ops (mean, square, rsqrt: differentiable to any order);
// gamma[C] and beta[C] optional; biased variance.
// x[..., D] -> [..., D] normalized over its last axis (Keras' LayerNormalization(axis=-1),
// torch.nn.functional.layer_norm over the last dimension).
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon);
// x[N, ..., C] -> [N, ..., C], C a multiple of `groups`: statistics per example and group of
// C / groups consecutive channels over every other axis but N (Keras' GroupNormalization,
// torch.nn.functional.group_norm). groups = C is instance normalization, groups = 1 normalizes
// each example over all of its values.
Tensor group_norm(const Tensor& x, std::int64_t groups, const Tensor& gamma, const Tensor& beta, double epsilon);

// x[...] -> x * mask / (1 - rate), mask_i = (u_i > rate) for the next x.numel() uniform draws of
// gen (the numbers Tensor::uniform(x.shape(), gen) would give). The backward keeps the mask as
// bytes (a quarter of x's float32 size) and neither x nor the draws. rate in [0, 1).
// (tf.nn.dropout / torch.nn.functional.dropout, training)
Tensor dropout(const Tensor& x, double rate, Generator& gen);
// x[B / shard.count, ...] -> the same, as shard `shard` of dropout on the global batch
// x_global[B, ...]: this shard's rows of the mask that dropout(x_global, rate, gen) would draw,
// and gen left where that draw leaves it (the other shards' draws skipped in O(1)), so data-parallel
// processes together drop exactly what one process with the whole batch would.
Tensor dropout(const Tensor& x, double rate, Generator& gen, const BatchShard& shard);
// x[...] -> dropout(leaky_relu(x, alpha), rate, gen) (with a shard: dropout's sharded form) in one
// pass each way: the same numbers and mask as the two ops, without the tensor between them. The
// backward keeps only the mask's bytes (with x's signs), not x. (nn::Sequential runs a LeakyReLU
// layer followed by a Dropout layer as this op while training.)
Tensor leaky_relu_dropout(const Tensor& x, double alpha, double rate, Generator& gen, const BatchShard& shard = {});

// ---------------- optimizer steps (not differentiable; tf.raw_ops.ApplyAdam) ----------------
// One Adam step in one pass over var, grad, m, v (same shape and dtype), step t >= 1:
// m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2,
// var' = var - (lr / (1 - b1^t)) m' / (sqrt(v' / (1 - b2^t)) + epsilon). Returns var', m', v'.
struct AdamStep {
  Tensor var, m, v;
};
AdamStep adam_step(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& v, double lr, double beta1,
                   double beta2, double epsilon, std::int64_t t);

// ---------------- operators ----------------
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
// Scalars take the tensor's dtype.
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);

}  // namespace tape
