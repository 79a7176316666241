// 2-D resampling in NHWC: nearest-neighbour up-sampling (reshape + broadcast_to) and bilinear
// resizing (two products with interpolation matrices). Both are linear and built from
// differentiable ops, so differentiable to any order.
#include <cmath>
#include <string>
#include <vector>

#include "tape/error.h"
#include "tape/ops.h"

namespace tape {
namespace {

std::string pair_text(std::array<std::int64_t, 2> p) {
  return "[" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + "]";
}

void check_image(const Tensor& x, std::array<std::int64_t, 2> p, const char* op, const char* what) {
  if (x.rank() != 4 || p[0] < 1 || p[1] < 1) {
    throw ShapeError(std::string(op) + ": needs x [N, H, W, C] and a positive " + what + "; x=" + x.shape().to_string() +
                     ", " + what + "=" + pair_text(p));
  }
}

// [out, in] weights of bilinear interpolation: output i samples the input at
// (i + 0.5) * in / out - 0.5 with half-pixel centers (align_corners=False), at i * in / out
// without (TensorFlow 1's legacy resize), clamped at 0, between its two neighbours (the last one
// repeated at the edge).
Tensor interpolation_matrix(std::int64_t out, std::int64_t in, DType dtype, bool half_pixel_centers) {
  std::vector<double> a(static_cast<std::size_t>(out * in), 0.0);
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double shift = half_pixel_centers ? 0.5 : 0.0;
  for (std::int64_t i = 0; i < out; ++i) {
    const double src = std::max((static_cast<double>(i) + shift) * scale - shift, 0.0);
    const auto i0 = std::min(static_cast<std::int64_t>(src), in - 1);
    const std::int64_t i1 = std::min(i0 + 1, in - 1);
    const double w1 = src - static_cast<double>(i0);
    a[static_cast<std::size_t>(i * in + i0)] += 1.0 - w1;
    a[static_cast<std::size_t>(i * in + i1)] += w1;
  }
  return Tensor::from_vector(a, Shape{out, in}).to(dtype);
}

}  // namespace

// x[N, H, W, C] -> [N, H * sh, W * sw, C]
Tensor upsample_nearest2d(const Tensor& x, std::array<std::int64_t, 2> size) {
  check_image(x, size, "upsample_nearest2d", "size");
  const std::int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  const Tensor spread = broadcast_to(reshape(x, {n, h, 1, w, 1, c}), Shape{n, h, size[0], w, size[1], c});
  return reshape(spread, {n, h * size[0], w * size[1], c});
}

// x[N, H, W, C] -> [N, out_h, out_w, C]
Tensor resize_bilinear2d(const Tensor& x, std::array<std::int64_t, 2> out_size, bool half_pixel_centers) {
  check_image(x, out_size, "resize_bilinear2d", "out_size");
  const std::int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  // rows: A_h[oh, H] @ x[N, H, W*C] -> [N, oh, W*C]; columns: A_w[ow, W] @ [N*oh, W, C] -> [N*oh, ow, C]
  const Tensor rows = matmul(interpolation_matrix(out_size[0], h, x.dtype(), half_pixel_centers), reshape(x, {n, h, w * c}));
  const Tensor cols =
      matmul(interpolation_matrix(out_size[1], w, x.dtype(), half_pixel_centers), reshape(rows, {n * out_size[0], w, c}));
  return reshape(cols, {n, out_size[0], out_size[1], c});
}

}  // namespace tape
