// Reductions over axes (sum, mean, max), sum_to (the adjoint of broadcast_to) and the softmaxes
// built from them.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/kernels.h"
#include "ops/common.h"
#include "record.h"
#include "tape/ops.h"
#include "tape/profiler.h"

namespace tape {

using ops_detail::require_defined;

namespace {

using Needs = std::vector<bool>;
using Grads = std::vector<Tensor>;

// Sorted, unique, non-negative axes; empty means all.
std::vector<std::int64_t> normalize_axes(const std::vector<std::int64_t>& axes, const Shape& shape, const char* op) {
  const std::int64_t rank = shape.rank();
  std::vector<std::int64_t> out;
  if (axes.empty()) {
    for (std::int64_t i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (auto a : axes) out.push_back(normalize_axis(a, rank, op, "x=" + shape.to_string()));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Shape reduced_shape(const Shape& in, const std::vector<std::int64_t>& axes, bool keepdims) {
  std::vector<std::int64_t> dims;
  for (std::int64_t i = 0; i < in.rank(); ++i) {
    const bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced) dims.push_back(in.dims()[i]);
    else if (keepdims) dims.push_back(1);
  }
  return Shape(std::move(dims));
}

// Reduces runs of consecutive axes with one [outer, n, inner] pass each, last run first.
Tensor reduce_kernel(const Tensor& x, const std::vector<std::int64_t>& axes, kernels::Reduce op) {
  detail::ProfileScope profile_scope("reduce_kernel");
  std::vector<std::int64_t> dims = x.shape().dims();
  Tensor cur = x;
  std::size_t i = axes.size();
  while (i > 0) {
    std::size_t j = i - 1;
    while (j > 0 && axes[j - 1] + 1 == axes[j]) --j;
    const std::int64_t first = axes[j], last = axes[i - 1];
    std::int64_t outer = 1, n = 1, inner = 1;
    for (std::int64_t d = 0; d < first; ++d) outer *= dims[d];
    for (std::int64_t d = first; d <= last; ++d) n *= dims[d];
    for (std::int64_t d = last + 1; d < static_cast<std::int64_t>(dims.size()); ++d) inner *= dims[d];
    cur = kernels::reduce_middle(cur, outer, n, inner, op);
    for (std::int64_t d = first; d <= last; ++d) dims[d] = 1;
    i = j;
  }
  return detail::alias(cur, Shape(dims));
}

}  // namespace

// x[...] -> x with `axes` summed away
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  const detail::OpScope op("sum");
  require_defined(op.name(), x, "x");
  const auto ax = normalize_axes(axes, x.shape(), op.name());
  Tensor y = detail::alias(reduce_kernel(x, ax, kernels::Reduce::sum), reduced_shape(x.shape(), ax, keepdims));
  if (detail::should_record(x)) {
    const Shape kept = reduced_shape(x.shape(), ax, true);
    op.record({x}, y, [kept, shape = x.shape()](const Tensor& g, const Needs&) {
      return Grads{broadcast_to(reshape(g, kept.dims()), shape)};
    });
  }
  return y;
}

// x[...] -> x with `axes` averaged away
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  const detail::OpScope op("mean");
  require_defined(op.name(), x, "x");
  const auto ax = normalize_axes(axes, x.shape(), op.name());
  std::int64_t count = 1;
  for (auto a : ax) count *= x.shape().dims()[a];
  return sum(x, ax, keepdims) * (1.0 / static_cast<double>(std::max<std::int64_t>(count, 1)));
}

// x[...] -> x with `axes` maxed away; the gradient is shared by tied maxima
Tensor max(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
  const detail::OpScope op("max");
  require_defined(op.name(), x, "x");
  const auto ax = normalize_axes(axes, x.shape(), op.name());
  for (auto a : ax) {
    if (x.shape().dims()[a] == 0) throw ShapeError("max: cannot reduce an empty axis; x=" + x.shape().to_string());
  }
  Tensor kept = reduce_kernel(x, ax, kernels::Reduce::max);
  Tensor y = detail::alias(kept, reduced_shape(x.shape(), ax, keepdims));
  if (detail::should_record(x)) {
    op.record({x}, y, [x, kept, ax](const Tensor& g, const Needs&) {
      Tensor mask = equal(x, kept);
      Tensor count = detail::alias(reduce_kernel(mask, ax, kernels::Reduce::sum), kept.shape());
      Tensor share = div(mask, count);
      return Grads{mul(broadcast_to(reshape(g, kept.shape().dims()), x.shape()), share)};
    });
  }
  return y;
}

// x[...] -> shape, summing the axes broadcast_to(., x.shape) would create
Tensor sum_to(const Tensor& x, const Shape& shape) {
  const detail::OpScope op("sum_to");
  require_defined(op.name(), x, "x");
  if (x.shape() == shape) return x;
  bool fits = shape.rank() <= x.rank();
  for (std::int64_t d = 0; fits && d < shape.rank(); ++d) {
    const std::int64_t want = shape.dims()[d], have = x.shape().dims()[x.rank() - shape.rank() + d];
    fits = want == have || want == 1;
  }
  if (!fits) {
    throw ShapeError("sum_to: shape " + shape.to_string() + " does not broadcast to x=" + x.shape().to_string());
  }
  std::vector<std::int64_t> axes;
  const std::int64_t lead = x.rank() - shape.rank();
  for (std::int64_t d = 0; d < x.rank(); ++d) {
    if (d < lead || (shape.dims()[d - lead] == 1 && x.shape().dims()[d] != 1)) axes.push_back(d);
  }
  if (axes.empty()) return reshape(x, shape.dims());
  return reshape(sum(x, axes, false), shape.dims());
}

namespace {

// x[rows, C] -> y[rows, C], one pass per row: the row's max m, s = sum(exp(x - m)) accumulated in
// double, then y = x - m - log(s) (log = true) or exp(x - m) / s. Rows in parallel.
template <class T>
void softmax_rows(const T* x, std::int64_t rows, std::int64_t c, bool log, T* y) {
#pragma omp parallel for schedule(static) if (rows * c >= kernels::kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * c;
    T* yr = y + r * c;
    const T m = *std::max_element(xr, xr + c);
    double s = 0.0;
    for (std::int64_t k = 0; k < c; ++k) s += std::exp(static_cast<double>(xr[k] - m));
    if (log) {
      const T shift = m + static_cast<T>(std::log(s));
      for (std::int64_t k = 0; k < c; ++k) yr[k] = xr[k] - shift;
    } else {
      const double inv = 1.0 / s;
      for (std::int64_t k = 0; k < c; ++k) yr[k] = static_cast<T>(std::exp(static_cast<double>(xr[k] - m)) * inv);
    }
  }
}

// x[..., C] -> [..., C], softmax or log-softmax over the last axis, no recording.
Tensor softmax_forward(const std::string& op, const Tensor& x, bool log) {
  require_defined(op.c_str(), x, "x");
  if (x.rank() < 1 || x.dim(-1) < 1) {
    throw ShapeError(op + ": needs x of rank >= 1 with a non-empty last axis; x=" + x.shape().to_string());
  }
  Tensor y = detail::empty(x.shape(), x.dtype());
  const std::int64_t c = x.dim(-1);
  detail::dispatch(x.dtype(), [&]<class T>() { softmax_rows(x.data<T>(), x.numel() / c, c, log, detail::mutable_data<T>(y)); });
  return y;
}

}  // namespace

// x[..., C] -> [..., C]: x - logsumexp(x), with the max subtracted for stability
Tensor log_softmax(const Tensor& x) {
  const detail::OpScope op("log_softmax");
  Tensor y = softmax_forward(op.name(), x, true);
  if (detail::should_record(x)) {
    // d/dx: g - softmax(x) * sum(g) over the row, written with ops on y: differentiable again
    op.record({x}, y, [y](const Tensor& g, const Needs&) { return Grads{g - exp(y) * sum(g, {-1}, true)}; });
  }
  return y;
}

// x[..., C] -> [..., C]
Tensor softmax(const Tensor& x) {
  const detail::OpScope op("softmax");
  Tensor y = softmax_forward(op.name(), x, false);
  if (detail::should_record(x)) {
    // d/dx: y * (g - sum(g * y) over the row)
    op.record({x}, y, [y](const Tensor& g, const Needs&) { return Grads{y * (g - sum(g * y, {-1}, true))}; });
  }
  return y;
}

}  // namespace tape
