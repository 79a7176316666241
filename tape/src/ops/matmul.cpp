// matmul: 2-D and batched (broadcast batch dims) matrix products on Eigen's GEMM.
#include "kernels/kernels.h"
#include "ops/common.h"
#include "record.h"
#include "tape/gradient_tape.h"
#include "tape/ops.h"

namespace tape {

namespace {

using Needs = std::vector<bool>;
using Grads = std::vector<Tensor>;

std::vector<std::int64_t> batch_dims(const Shape& s) {
  return std::vector<std::int64_t>(s.dims().begin(), s.dims().end() - 2);
}

}  // namespace

// a[..., m, k] @ b[..., k, n] -> [..., m, n]
Tensor matmul(const Tensor& a, const Tensor& b) {
  const detail::OpScope op("matmul");
  ops_detail::require_same_dtype(op.name(), a, b);
  if (a.rank() < 2 || b.rank() < 2 || a.dim(-1) != b.dim(-2)) {
    throw ShapeError("matmul: inner dimensions do not match (need a[..., m, k] @ b[..., k, n]); a=" +
                     a.shape().to_string() + ", b=" + b.shape().to_string());
  }
  const std::int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  Shape batch;
  try {
    batch = broadcast_shapes(Shape(batch_dims(a.shape())), Shape(batch_dims(b.shape())), op.name());
  } catch (const ShapeError&) {  // name the operands' full shapes, not just their batch dims
    throw ShapeError("matmul: batch dimensions do not broadcast; a=" + a.shape().to_string() +
                     ", b=" + b.shape().to_string());
  }
  auto dims_with = [&](std::int64_t r, std::int64_t c) {
    auto d = batch.dims();
    d.push_back(r);
    d.push_back(c);
    return Shape(d);
  };
  Tensor ab, bb;
  {
    NoRecord constants;
    ab = broadcast_to(a, dims_with(m, k));
    bb = broadcast_to(b, dims_with(k, n));
  }
  Tensor y = detail::empty(dims_with(m, n), a.dtype());
  detail::dispatch(a.dtype(), [&]<class T>() {
    const T* pa = ab.data<T>();
    const T* pb = bb.data<T>();
    T* py = detail::mutable_data<T>(y);
    for (std::int64_t i = 0; i < batch.numel(); ++i) {
      kernels::gemm(pa + i * m * k, pb + i * k * n, py + i * m * n, m, n, k, false, false, false);
    }
  });
  if (detail::should_record(a, b)) {
    op.record({a, b}, y, [a, b](const Tensor& g, const Needs& nd) {
      Tensor ga = nd[0] ? sum_to(matmul(g, transpose(b)), a.shape()) : Tensor();
      Tensor gb = nd[1] ? sum_to(matmul(transpose(a), g), b.shape()) : Tensor();
      return Grads{ga, gb};
    });
  }
  return y;
}

}  // namespace tape
