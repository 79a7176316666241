// 2-D pooling in NHWC. Non-overlapping "valid" windows: slice, reshape and the max / mean
// reductions. Any other window, stride or padding: each window's values gathered by a convolution
// with one-hot kernels (linear, differentiable to any order), then reduced.
#include <limits>
#include <string>
#include <vector>

#include "tape/error.h"
#include "tape/ops.h"

namespace tape {
namespace {

// x[N, H, W, C] -> [N, H/ph, ph, W/pw, pw, C] (rows/columns that do not fill a window dropped)
Tensor pool_windows(const Tensor& x, std::array<std::int64_t, 2> p, const char* op) {
  if (x.rank() != 4 || p[0] < 1 || p[1] < 1 || x.dim(1) < p[0] || x.dim(2) < p[1]) {
    throw ShapeError(std::string(op) + ": needs x [N, H, W, C] at least as large as the pool; x=" +
                     x.shape().to_string() + ", pool=[" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + "]");
  }
  const std::int64_t ho = x.dim(1) / p[0], wo = x.dim(2) / p[1];
  Tensor cropped = slice(x, {0, 0, 0, 0}, {-1, ho * p[0], wo * p[1], -1});
  return reshape(cropped, {x.dim(0), ho, p[0], wo, p[1], x.dim(3)});
}

std::array<std::int64_t, 2> strides_of(std::array<std::int64_t, 2> pool, const Pool2dOptions& o) {
  return {o.strides[0] == 0 ? pool[0] : o.strides[0], o.strides[1] == 0 ? pool[1] : o.strides[1]};
}

bool non_overlapping_valid(std::array<std::int64_t, 2> pool, const Pool2dOptions& o) {
  return strides_of(pool, o) == pool && o.padding.mode == PaddingMode::valid;
}

void check_pool(const Tensor& x, std::array<std::int64_t, 2> p, const Pool2dOptions& o, const char* op) {
  const auto s = strides_of(p, o);
  if (x.rank() != 4 || p[0] < 1 || p[1] < 1 || s[0] < 1 || s[1] < 1) {
    throw ShapeError(std::string(op) + ": needs x [N, H, W, C], a positive pool and strides; x=" + x.shape().to_string() +
                     ", pool=[" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + "], strides=[" +
                     std::to_string(s[0]) + ", " + std::to_string(s[1]) + "]");
  }
}

// x[N, H, W, C] -> [N, Ho, Wo, C, ph * pw]: every window's values (zeros where it passes the
// border), by conv2d of each channel with ph * pw one-hot kernels.
Tensor windows(const Tensor& x, std::array<std::int64_t, 2> p, const Pool2dOptions& o) {
  const std::int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3), k = p[0] * p[1];
  std::vector<double> one_hot(static_cast<std::size_t>(k * k), 0.0);  // [ph, pw, 1, k]
  for (std::int64_t i = 0; i < k; ++i) one_hot[static_cast<std::size_t>(i * k + i)] = 1.0;
  const Tensor kernel = Tensor::from_vector(one_hot, Shape{p[0], p[1], 1, k}).to(x.dtype());
  const Tensor planes = reshape(permute(x, {0, 3, 1, 2}), {n * c, h, w, 1});  // one channel each
  const Tensor gathered = conv2d(planes, kernel, {.strides = strides_of(p, o), .padding = o.padding});
  const std::int64_t ho = gathered.dim(1), wo = gathered.dim(2);
  return permute(reshape(gathered, {n, c, ho, wo, k}), {0, 2, 3, 1, 4});
}

// [1, Ho, Wo, 1, ph * pw]: 1 where a window's value lies inside the image, 0 in the padding.
Tensor inside(const Tensor& x, std::array<std::int64_t, 2> p, const Pool2dOptions& o) {
  return windows(Tensor::ones({1, x.dim(1), x.dim(2), 1}, x.dtype()), p, o);
}

}  // namespace

// x[N, H, W, C] -> [N, H/ph, W/pw, C]
Tensor max_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size) {
  return max(pool_windows(x, pool_size, "max_pool2d"), {2, 4});
}

// x[N, H, W, C] -> [N, H/ph, W/pw, C]
Tensor avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size) {
  return mean(pool_windows(x, pool_size, "avg_pool2d"), {2, 4});
}

// x[N, H, W, C] -> [N, Ho, Wo, C]
Tensor max_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size, const Pool2dOptions& options) {
  check_pool(x, pool_size, options, "max_pool2d");
  if (non_overlapping_valid(pool_size, options)) return max_pool2d(x, pool_size);
  const Tensor values = windows(x, pool_size, options);
  // Padding never wins: -inf there (a constant to the tapes; the gradient goes to the values only).
  const Tensor outside = Tensor::full(values.shape(), -std::numeric_limits<double>::infinity(), x.dtype());
  const Tensor in_image = broadcast_to(inside(x, pool_size, options), values.shape());
  return max(where(in_image, values, outside), {4});
}

// x[N, H, W, C] -> [N, Ho, Wo, C]
Tensor avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size, const Pool2dOptions& options) {
  check_pool(x, pool_size, options, "avg_pool2d");
  if (non_overlapping_valid(pool_size, options)) return avg_pool2d(x, pool_size);
  // The padding holds zeros; divide each window's sum by its count of values inside the image.
  const Tensor counts = sum(inside(x, pool_size, options), {4});  // [1, Ho, Wo, 1]
  return sum(windows(x, pool_size, options), {4}) / counts;
}

}  // namespace tape
