// Raw kernels: broadcast strides, strided gather/scatter copies, middle-axis reductions,
// LeakyReLU.
#include <algorithm>
#include <limits>

#include "kernels/hot_loop.h"
#include "buffer_pool.h"
#include "kernels/kernels.h"

namespace tape::kernels {

std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<std::int64_t> strides(static_cast<std::size_t>(out.rank()), 0);
  const auto in_strides = in.strides();
  const std::int64_t offset = out.rank() - in.rank();
  for (std::int64_t d = 0; d < in.rank(); ++d) {
    strides[offset + d] = in.dims()[d] == 1 ? 0 : in_strides[d];
  }
  return strides;
}

namespace {

// Calls body(row, in_offset) for every row (all axes but the last) of `shape`, where in_offset is
// the base offset given per-axis strides; parallel over rows when the tensor is large.
template <class Body>
void for_each_row(const Shape& shape, const std::vector<std::int64_t>& strides, std::int64_t base, Body body) {
  const std::int64_t r = shape.rank();
  const auto& dims = shape.dims();
  const std::int64_t inner = r == 0 ? 1 : dims[r - 1];
  const std::int64_t rows = inner == 0 ? 0 : shape.numel() / inner;
#pragma omp parallel for schedule(static) if (shape.numel() >= 2 * kParallelGrain)
  for (std::int64_t row = 0; row < rows; ++row) {
    std::int64_t rem = row, off = base;
    for (std::int64_t d = r - 2; d >= 0; --d) {
      off += (rem % dims[d]) * strides[d];
      rem /= dims[d];
    }
    body(row, off);
  }
}

}  // namespace

Tensor gather_strided(const Tensor& x, const Shape& out_shape, const std::vector<std::int64_t>& in_strides,
                      std::int64_t base) {
  Tensor out = detail::empty(out_shape, x.dtype());
  if (out_shape.numel() == 0) return out;
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data<T>();
    T* dst = detail::mutable_data<T>(out);
    const std::int64_t r = out_shape.rank();
    const std::int64_t inner = r == 0 ? 1 : out_shape.dims()[r - 1];
    const std::int64_t step = r == 0 ? 0 : in_strides[r - 1];
    for_each_row(out_shape, in_strides, base, [&](std::int64_t row, std::int64_t off) {
      T* d = dst + row * inner;
      if (step == 1) {
        std::copy(src + off, src + off + inner, d);
      } else {
        for (std::int64_t i = 0; i < inner; ++i) d[i] = src[off + i * step];
      }
    });
  });
  return out;
}

void scatter_strided(const Tensor& x, const Tensor& out, const std::vector<std::int64_t>& out_strides,
                     std::int64_t base) {
  if (x.numel() == 0) return;
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data<T>();
    T* dst = detail::mutable_data<T>(out);
    const std::int64_t r = x.rank();
    const std::int64_t inner = r == 0 ? 1 : x.shape().dims()[r - 1];
    const std::int64_t step = r == 0 ? 0 : out_strides[r - 1];
    for_each_row(x.shape(), out_strides, base, [&](std::int64_t row, std::int64_t off) {
      const T* s = src + row * inner;
      for (std::int64_t i = 0; i < inner; ++i) dst[off + i * step] = s[i];
    });
  });
}

namespace {

// dst[inner] = op over rows [0, n) of base[n, inner], n >= 1, row after row.
template <class T>
void reduce_rows(const T* base, std::int64_t n, std::int64_t inner, Reduce op, T* dst) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<Arr> acc(dst, inner);
  if (inner == 1) {
    const auto row = ConstArrayMap<T>(base, n);
    acc(0) = op == Reduce::sum ? row.sum() : row.maxCoeff();
    return;
  }
  acc = ConstArrayMap<T>(base, inner);
  for (std::int64_t j = 1; j < n; ++j) {
    if (op == Reduce::sum) {
      acc += ConstArrayMap<T>(base + j * inner, inner);
    } else {
      acc = acc.max(ConstArrayMap<T>(base + j * inner, inner));
    }
  }
}

}  // namespace

Tensor reduce_middle(const Tensor& x, std::int64_t outer, std::int64_t n, std::int64_t inner, Reduce op) {
  Tensor out = detail::empty(Shape{outer, inner}, x.dtype());
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data<T>();
    T* dst = detail::mutable_data<T>(out);
    if (n == 0) {
      std::fill(dst, dst + outer * inner, op == Reduce::sum ? T(0) : -std::numeric_limits<T>::infinity());
      return;
    }
    const bool parallel_outer = outer >= 4 && outer * n * inner >= 2 * kParallelGrain;
    const std::int64_t block = std::max<std::int64_t>(1, kParallelGrain / inner), blocks = (n + block - 1) / block;
    if (parallel_outer || blocks < 4) {
#pragma omp parallel for schedule(static) if (parallel_outer)
      for (std::int64_t o = 0; o < outer; ++o) reduce_rows(src + o * n * inner, n, inner, op, dst + o * inner);
      return;
    }
    // Few long reductions (a bias gradient: [N*H*W, C] -> [C]): fixed blocks of rows reduced in
    // parallel, then the blocks' results in order; the blocks do not depend on the thread count,
    // so neither do the bits.
    const detail::ScratchBuffer<T> partial(static_cast<std::size_t>(blocks * inner));
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* base = src + o * n * inner;
#pragma omp parallel for schedule(static)
      for (std::int64_t b = 0; b < blocks; ++b) {
        reduce_rows(base + b * block * inner, std::min(block, n - b * block), inner, op, partial.data() + b * inner);
      }
      reduce_rows(partial.data(), blocks, inner, op, dst + o * inner);
    }
  });
  return out;
}

namespace {

// y[i] = x[i] > 0 ? x[i] : x[i] * alpha, and o[i] = g[i] * (v[i] > 0 ? 1 : alpha): plain loops, per ISA
// in a portable build. The product is taken for every element, so the loop is a select the
// vectorizer can emit without AVX-512's masks (a product only on one branch may not be
// speculated under -ftrapping-math: without masks, a branch per element).
template <class T>
inline void leaky_relu_loop(const T* __restrict x, T* __restrict y, std::int64_t n, T alpha) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T scaled = x[i] * alpha;
    y[i] = x[i] > T(0) ? x[i] : scaled;
  }
}
template <class T>
inline void scale_loop(const T* __restrict g, const T* __restrict v, T* __restrict o, std::int64_t n, T alpha) {
  for (std::int64_t i = 0; i < n; ++i) o[i] = g[i] * (v[i] > T(0) ? T(1) : alpha);
}
TAPE_HOT_LOOP void leaky_relu_range(const float* x, float* y, std::int64_t n, float alpha) { leaky_relu_loop(x, y, n, alpha); }
TAPE_HOT_LOOP void leaky_relu_range(const double* x, double* y, std::int64_t n, double alpha) { leaky_relu_loop(x, y, n, alpha); }
TAPE_HOT_LOOP void scale_range(const float* g, const float* v, float* o, std::int64_t n, float alpha) {
  scale_loop(g, v, o, n, alpha);
}
TAPE_HOT_LOOP void scale_range(const double* g, const double* v, double* o, std::int64_t n, double alpha) {
  scale_loop(g, v, o, n, alpha);
}

// Dropout's product with the mask's scale; LeakyReLU's value (as leaky_relu_loop) times it, the
// sign kept in the mask's bit 1; and their backwards' product: g, times the mask's scale, times
// the slope.
template <class T>
inline void masked_loop(const T* __restrict x, const std::uint8_t* __restrict m, T* __restrict y, std::int64_t n,
                        T scale) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] * (static_cast<T>(m[i]) * scale);
}
template <class T>
inline void leaky_masked_loop(const T* __restrict x, std::uint8_t* __restrict m, T* __restrict y, std::int64_t n,
                              T alpha, T scale) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T scaled = x[i] * alpha;
    const bool positive = x[i] > T(0);
    y[i] = (positive ? x[i] : scaled) * (static_cast<T>(m[i] & 1) * scale);
    m[i] = static_cast<std::uint8_t>(m[i] | (positive ? 2 : 0));
  }
}
template <class T>
inline void leaky_masked_scale_loop(const T* __restrict g, const std::uint8_t* __restrict m, T* __restrict o,
                                    std::int64_t n, T alpha, T scale, bool slope_first) {
  if (slope_first) {
    for (std::int64_t i = 0; i < n; ++i) o[i] = (g[i] * ((m[i] & 2) != 0 ? T(1) : alpha)) * (static_cast<T>(m[i] & 1) * scale);
  } else {
    for (std::int64_t i = 0; i < n; ++i) o[i] = (g[i] * (static_cast<T>(m[i] & 1) * scale)) * ((m[i] & 2) != 0 ? T(1) : alpha);
  }
}
TAPE_HOT_LOOP void masked_range(const float* x, const std::uint8_t* m, float* y, std::int64_t n, float scale) {
  masked_loop(x, m, y, n, scale);
}
TAPE_HOT_LOOP void masked_range(const double* x, const std::uint8_t* m, double* y, std::int64_t n, double scale) {
  masked_loop(x, m, y, n, scale);
}
TAPE_HOT_LOOP void leaky_masked_range(const float* x, std::uint8_t* m, float* y, std::int64_t n, float alpha, float scale) {
  leaky_masked_loop(x, m, y, n, alpha, scale);
}
TAPE_HOT_LOOP void leaky_masked_range(const double* x, std::uint8_t* m, double* y, std::int64_t n, double alpha,
                                      double scale) {
  leaky_masked_loop(x, m, y, n, alpha, scale);
}
TAPE_HOT_LOOP void leaky_masked_scale_range(const float* g, const std::uint8_t* m, float* o, std::int64_t n, float alpha,
                                            float scale, bool slope_first) {
  leaky_masked_scale_loop(g, m, o, n, alpha, scale, slope_first);
}
TAPE_HOT_LOOP void leaky_masked_scale_range(const double* g, const std::uint8_t* m, double* o, std::int64_t n,
                                            double alpha, double scale, bool slope_first) {
  leaky_masked_scale_loop(g, m, o, n, alpha, scale, slope_first);
}

}  // namespace

Tensor leaky_relu_forward(const Tensor& x, double alpha) {
  return map_chunks(x, [alpha](const auto* in, auto* out, std::int64_t n) {
    leaky_relu_range(in, out, n, static_cast<std::decay_t<decltype(*out)>>(alpha));
  });
}

Tensor leaky_relu_scale(const Tensor& g, const Tensor& v, double alpha) {
  Tensor out = detail::empty(g.shape(), g.dtype());
  detail::dispatch(g.dtype(), [&]<class T>() {
    const T *pg = g.data<T>(), *pv = v.data<T>();
    T* po = detail::mutable_data<T>(out);
    parallel_chunks(g.numel(), [&](std::int64_t b, std::int64_t e) {
      scale_range(pg + b, pv + b, po + b, e - b, static_cast<T>(alpha));
    });
  });
  return out;
}

Tensor masked(const Tensor& x, const std::uint8_t* mask, double scale) {
  return map_chunks_at(x, [mask, scale](const auto* in, auto* out, std::int64_t begin, std::int64_t n) {
    masked_range(in, mask + begin, out, n, static_cast<std::decay_t<decltype(*out)>>(scale));
  });
}

Tensor leaky_relu_masked(const Tensor& x, std::uint8_t* mask, double alpha, double scale) {
  return map_chunks_at(x, [mask, alpha, scale](const auto* in, auto* out, std::int64_t begin, std::int64_t n) {
    using T = std::decay_t<decltype(*out)>;
    leaky_masked_range(in, mask + begin, out, n, static_cast<T>(alpha), static_cast<T>(scale));
  });
}

Tensor leaky_relu_masked_scale(const Tensor& g, const std::uint8_t* mask, double alpha, double scale, bool slope_first) {
  return map_chunks_at(g, [=](const auto* in, auto* out, std::int64_t begin, std::int64_t n) {
    using T = std::decay_t<decltype(*out)>;
    leaky_masked_scale_range(in, mask + begin, out, n, static_cast<T>(alpha), static_cast<T>(scale), slope_first);
  });
}

}  // namespace tape::kernels
