// matmul: 2-D and batched (broadcast batch dims) matrix products, either operand read transposed
// on request, on the GEMM back end (kernels/gemm.cpp).
#include <string>

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

// op(a)[..., m, k] @ op(b)[..., k, n] -> [..., m, n], op transposing the last two axes when its
// flag is set: the GEMM reads the stored matrices transposed, nothing is copied.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  const detail::OpScope op("matmul");
  ops_detail::require_same_dtype(op.name(), a, b);
  if (a.rank() < 2 || b.rank() < 2 || a.dim(transpose_a ? -2 : -1) != b.dim(transpose_b ? -1 : -2)) {
    throw ShapeError(std::string("matmul: inner dimensions do not match (need a[..., ") +
                     (transpose_a ? "k, m" : "m, k") + "] @ b[..., " + (transpose_b ? "n, k" : "k, n") + "]" +
                     (transpose_a ? ", transpose_a" : "") + (transpose_b ? ", transpose_b" : "") +
                     "); a=" + a.shape().to_string() + ", b=" + b.shape().to_string());
  }
  const std::int64_t m = a.dim(transpose_a ? -1 : -2), k = a.dim(transpose_a ? -2 : -1);
  const std::int64_t n = b.dim(transpose_b ? -2 : -1);
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
    ab = broadcast_to(a, dims_with(a.dim(-2), a.dim(-1)));
    bb = broadcast_to(b, dims_with(b.dim(-2), b.dim(-1)));
  }
  Tensor y = detail::empty(dims_with(m, n), a.dtype());
  detail::dispatch(a.dtype(), [&]<class T>() {
    const T* pa = ab.data<T>();
    const T* pb = bb.data<T>();
    T* py = detail::mutable_data<T>(y);
    for (std::int64_t i = 0; i < batch.numel(); ++i) {
      kernels::gemm(pa + i * m * k, pb + i * k * n, py + i * m * n, m, n, k, transpose_a, transpose_b, false);
    }
  });
  if (detail::should_record(a, b)) {
    op.record({a, b}, y, [a, b, transpose_a, transpose_b](const Tensor& g, const Needs& nd) {
      // y = A B with A = op(a), B = op(b): dA = g B^T, dB = A^T g, each written as one product of
      // the stored a, b and g with flags (no transposed copies), then transposed back to a's / b's
      // orientation by swapping the product's operands and flags: (P Q)^T = Q^T P^T.
      Tensor ga, gb;
      if (nd[0]) {
        ga = transpose_a ? matmul(b, g, transpose_b, true) : matmul(g, b, false, !transpose_b);
        ga = sum_to(ga, a.shape());
      }
      if (nd[1]) {
        gb = transpose_b ? matmul(g, a, true, transpose_a) : matmul(a, g, !transpose_a, false);
        gb = sum_to(gb, b.shape());
      }
      return Grads{ga, gb};
    });
  }
  return y;
}

// a[..., m, k] @ b[..., k, n] -> [..., m, n]
Tensor matmul(const Tensor& a, const Tensor& b) { return matmul(a, b, false, false); }

}  // namespace tape
