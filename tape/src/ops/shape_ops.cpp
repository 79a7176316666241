// Shape ops: reshape, permute/transpose, broadcast_to, concat, slice, pad, squeeze, expand_dims.
// Each linear op's gradient is its adjoint (permute <-> inverse permute, broadcast_to <-> sum_to,
// slice <-> pad, concat <-> slices).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/kernels.h"
#include "ops/common.h"
#include "record.h"
#include "tape/ops.h"

namespace tape {

using ops_detail::require_defined;

namespace {

using Needs = std::vector<bool>;
using Grads = std::vector<Tensor>;

std::string list_text(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

// x[...] -> shape (same numel; one -1 inferred)
Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape) {
  const detail::OpScope op("reshape");
  require_defined(op.name(), x, "x");
  std::vector<std::int64_t> dims = shape;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1 && infer < 0) {
      infer = static_cast<std::int64_t>(i);
    } else if (dims[i] < 0) {
      throw ShapeError("reshape: invalid target shape " + list_text(shape) + "; x=" + x.shape().to_string());
    } else {
      known *= dims[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0) {
      throw ShapeError("reshape: cannot infer -1 in " + list_text(shape) + "; x=" + x.shape().to_string());
    }
    dims[infer] = x.numel() / known;
  }
  const Shape target(dims);
  if (target.numel() != x.numel()) {
    throw ShapeError("reshape: " + std::to_string(x.numel()) + " elements do not fit " + target.to_string() +
                     "; x=" + x.shape().to_string());
  }
  if (target == x.shape()) return x;
  Tensor y = detail::alias(x, target);
  if (detail::should_record(x)) {
    op.record({x}, y, [s = x.shape()](const Tensor& g, const Needs&) {
      return Grads{reshape(g, s.dims())};
    });
  }
  return y;
}

Tensor squeeze(const Tensor& x, std::int64_t axis) {
  const detail::OpScope op("squeeze");
  require_defined(op.name(), x, "x");
  const std::int64_t a = normalize_axis(axis, x.rank(), op.name(), "x=" + x.shape().to_string());
  if (x.dim(a) != 1) {
    throw ShapeError("squeeze: axis " + std::to_string(axis) + " has size " + std::to_string(x.dim(a)) +
                     "; x=" + x.shape().to_string());
  }
  auto dims = x.shape().dims();
  dims.erase(dims.begin() + a);
  return reshape(x, dims);
}

Tensor expand_dims(const Tensor& x, std::int64_t axis) {
  const detail::OpScope op("expand_dims");
  require_defined(op.name(), x, "x");
  const std::int64_t a = normalize_axis(axis, x.rank() + 1, op.name(), "x=" + x.shape().to_string());
  auto dims = x.shape().dims();
  dims.insert(dims.begin() + a, 1);
  return reshape(x, dims);
}

// x[d_0, ..., d_r-1] -> [d_perm[0], ..., d_perm[r-1]]
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& perm) {
  const detail::OpScope op("permute");
  require_defined(op.name(), x, "x");
  std::vector<std::int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> iota(static_cast<std::size_t>(x.rank()));
  std::iota(iota.begin(), iota.end(), 0);
  if (sorted != iota) {
    throw ValueError("permute: " + list_text(perm) + " is not a permutation of the axes; x=" + x.shape().to_string());
  }
  if (perm == iota) return x;
  const auto in_strides = x.shape().strides();
  std::vector<std::int64_t> dims, strides;
  std::vector<std::int64_t> inverse(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    dims.push_back(x.shape().dims()[perm[i]]);
    strides.push_back(in_strides[perm[i]]);
    inverse[perm[i]] = static_cast<std::int64_t>(i);
  }
  Tensor y = kernels::gather_strided(x, Shape(dims), strides, 0);
  if (detail::should_record(x)) {
    op.record({x}, y, [inverse](const Tensor& g, const Needs&) { return Grads{permute(g, inverse)}; });
  }
  return y;
}

// x[..., m, n] -> [..., n, m]
Tensor transpose(const Tensor& x) {
  const detail::OpScope op("transpose");
  require_defined(op.name(), x, "x");
  if (x.rank() < 2) throw ShapeError("transpose: needs rank >= 2; x=" + x.shape().to_string());
  std::vector<std::int64_t> perm(static_cast<std::size_t>(x.rank()));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return permute(x, perm);
}

// x[...] -> shape (NumPy broadcasting)
Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  const detail::OpScope op("broadcast_to");
  require_defined(op.name(), x, "x");
  if (x.shape() == shape) return x;
  if (x.rank() > shape.rank() || broadcast_shapes(x.shape(), shape, op.name()) != shape) {
    throw ShapeError("broadcast_to: x=" + x.shape().to_string() + " does not broadcast to " + shape.to_string());
  }
  Tensor y = kernels::gather_strided(x, shape, kernels::broadcast_strides(x.shape(), shape), 0);
  if (detail::should_record(x)) {
    op.record({x}, y, [s = x.shape()](const Tensor& g, const Needs&) {
      return Grads{sum_to(g, s)};
    });
  }
  return y;
}

// indices[...] -> [..., depth]
Tensor one_hot(const Tensor& indices, std::int64_t depth) {
  const detail::OpScope op("one_hot");
  require_defined(op.name(), indices, "indices");
  if (depth < 1) throw ValueError("one_hot: depth must be positive, got " + std::to_string(depth));
  const std::vector<double> ids = indices.to_vector<double>();
  std::vector<double> out(ids.size() * static_cast<std::size_t>(depth), 0.0);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const double id = ids[i];
    if (!(id >= 0 && id < static_cast<double>(depth)) || id != std::floor(id)) {
      throw ValueError("one_hot: index " + std::to_string(id) + " at flat position " + std::to_string(i) +
                       " is not a whole number in [0, " + std::to_string(depth) + "); indices=" +
                       indices.shape().to_string());
    }
    out[i * static_cast<std::size_t>(depth) + static_cast<std::size_t>(id)] = 1.0;
  }
  std::vector<std::int64_t> dims = indices.shape().dims();
  dims.push_back(depth);
  return Tensor::from_vector(out, Shape(dims)).to(indices.dtype());
}

// [..., a_i, ...] for each x_i -> [..., sum a_i, ...]
Tensor concat(const std::vector<Tensor>& xs, std::int64_t axis) {
  const detail::OpScope op("concat");
  if (xs.empty()) throw ValueError("concat: no tensors given");
  for (const auto& x : xs) ops_detail::require_same_dtype(op.name(), xs[0], x, "xs[0]", "xs[i]");
  const std::int64_t rank = xs[0].rank();
  std::string shapes;
  for (const auto& t : xs) shapes += (shapes.empty() ? "" : ", ") + t.shape().to_string();
  const std::int64_t a = normalize_axis(axis, rank, op.name(), "xs=[" + shapes + "]");
  std::vector<std::int64_t> dims = xs[0].shape().dims();
  dims[a] = 0;
  for (const auto& x : xs) {
    bool fits = x.rank() == rank;
    for (std::int64_t d = 0; fits && d < rank; ++d) fits = d == a || x.shape().dims()[d] == dims[d];
    if (!fits) {
      throw ShapeError("concat: shapes differ off axis " + std::to_string(axis) + "; xs=[" + shapes + "]");
    }
    dims[a] += x.dim(a);
  }
  if (xs.size() == 1) return xs[0];
  const Shape shape(dims);
  Tensor y = detail::empty(shape, xs[0].dtype());
  const auto strides = shape.strides();
  std::vector<std::int64_t> offsets;
  std::int64_t offset = 0;
  for (const auto& x : xs) {
    offsets.push_back(offset);
    kernels::scatter_strided(x, y, strides, offset * strides[a]);
    offset += x.dim(a);
  }
  if (detail::should_record(xs)) {
    std::vector<Shape> shapes;
    for (const auto& x : xs) shapes.push_back(x.shape());
    op.record(xs, y, [a, offsets, shapes](const Tensor& g, const Needs& n) {
      Grads out(shapes.size());
      for (std::size_t i = 0; i < shapes.size(); ++i) {
        if (!n[i]) continue;
        std::vector<std::int64_t> begin(shapes[i].dims().size(), 0);
        begin[a] = offsets[i];
        out[i] = slice(g, begin, shapes[i].dims());
      }
      return out;
    });
  }
  return y;
}

// x[...] -> x[begin : begin + size] per axis
Tensor slice(const Tensor& x, const std::vector<std::int64_t>& begin, const std::vector<std::int64_t>& size) {
  const detail::OpScope op("slice");
  require_defined(op.name(), x, "x");
  const std::int64_t r = x.rank();
  if (static_cast<std::int64_t>(begin.size()) != r || static_cast<std::int64_t>(size.size()) != r) {
    throw ShapeError("slice: begin " + list_text(begin) + " and size " + list_text(size) +
                     " need one entry per axis; x=" + x.shape().to_string());
  }
  std::vector<std::int64_t> dims(static_cast<std::size_t>(r));
  std::vector<std::array<std::int64_t, 2>> pads(static_cast<std::size_t>(r));
  const auto strides = x.shape().strides();
  std::int64_t base = 0;
  for (std::int64_t d = 0; d < r; ++d) {
    const std::int64_t n = x.shape().dims()[d];
    dims[d] = size[d] == -1 ? n - begin[d] : size[d];
    if (begin[d] < 0 || dims[d] < 0 || begin[d] + dims[d] > n) {
      throw ShapeError("slice: begin " + list_text(begin) + ", size " + list_text(size) + " out of range; x=" +
                       x.shape().to_string());
    }
    base += begin[d] * strides[d];
    pads[d] = {begin[d], n - begin[d] - dims[d]};
  }
  if (Shape(dims) == x.shape()) return x;
  Tensor y = kernels::gather_strided(x, Shape(dims), strides, base);
  if (detail::should_record(x)) {
    op.record({x}, y, [pads](const Tensor& g, const Needs&) { return Grads{pad(g, pads)}; });
  }
  return y;
}

// x[...] -> [before_i + d_i + after_i], zeros around
Tensor pad(const Tensor& x, const std::vector<std::array<std::int64_t, 2>>& pads) {
  const detail::OpScope op("pad");
  require_defined(op.name(), x, "x");
  const std::int64_t r = x.rank();
  std::vector<std::int64_t> flat;
  for (const auto& p : pads) flat.insert(flat.end(), p.begin(), p.end());
  if (static_cast<std::int64_t>(pads.size()) != r) {
    throw ShapeError("pad: " + std::to_string(pads.size()) + " (before, after) pairs for rank " + std::to_string(r) +
                     "; x=" + x.shape().to_string() + ", pads=" + list_text(flat));
  }
  std::vector<std::int64_t> dims(static_cast<std::size_t>(r)), begin(static_cast<std::size_t>(r));
  bool any = false;
  for (std::int64_t d = 0; d < r; ++d) {
    if (pads[d][0] < 0 || pads[d][1] < 0) {
      throw ValueError("pad: negative padding; x=" + x.shape().to_string() + ", pads=" + list_text(flat));
    }
    dims[d] = x.shape().dims()[d] + pads[d][0] + pads[d][1];
    begin[d] = pads[d][0];
    any = any || pads[d][0] || pads[d][1];
  }
  if (!any) return x;
  const Shape shape(dims);
  Tensor y = Tensor::zeros(shape, x.dtype());
  const auto strides = shape.strides();
  std::int64_t base = 0;
  for (std::int64_t d = 0; d < r; ++d) base += begin[d] * strides[d];
  kernels::scatter_strided(x, y, strides, base);
  if (detail::should_record(x)) {
    op.record({x}, y, [begin, s = x.shape()](const Tensor& g, const Needs&) {
      return Grads{slice(g, begin, s.dims())};
    });
  }
  return y;
}

}  // namespace tape
