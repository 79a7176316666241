// Non-overlapping 2-D pooling in NHWC, built from slice, reshape and the max / mean reductions.
#include <string>

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

}  // namespace

// x[N, H, W, C] -> [N, H/ph, W/pw, C]
Tensor max_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size) {
  return max(pool_windows(x, pool_size, "max_pool2d"), {2, 4});
}

// x[N, H, W, C] -> [N, H/ph, W/pw, C]
Tensor avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> pool_size) {
  return mean(pool_windows(x, pool_size, "avg_pool2d"), {2, 4});
}

}  // namespace tape
