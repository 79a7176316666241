// Internal raw kernels (no autodiff): elementwise maps with broadcasting, strided copies,
// reductions, GEMM and the im2col/col2im convolution kernels, on float and double.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>
#include <omp.h>

#include "tape/tensor.h"
#include "tensor_impl.h"

namespace tape::kernels {

template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using MatrixRM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Elements per parallel chunk for elementwise work; below it a loop stays on one thread.
inline constexpr std::int64_t kParallelGrain = 1 << 15;

// Runs body(begin, end) over [0, n) in chunks, in parallel when n is large.
template <class Body>
void parallel_chunks(std::int64_t n, Body body) {
  if (n < 2 * kParallelGrain) {
    body(std::int64_t{0}, n);
    return;
  }
  const std::int64_t chunks = (n + kParallelGrain - 1) / kParallelGrain;
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    body(c * kParallelGrain, std::min(n, (c + 1) * kParallelGrain));
  }
}

// f(r) for every row r < m of an [m, c] array (f writes row r), rows in parallel when there are
// many elements.
template <class F>
void for_rows(std::int64_t m, std::int64_t c, F f) {
#pragma omp parallel for schedule(static) if (m * c >= 2 * kParallelGrain)
  for (std::int64_t r = 0; r < m; ++r) f(r);
}

// out[t', o, c] = w[t, c, o] for w[taps, Ci, Co] (a convolution's weights, taps = kh kw): each
// tap's [Ci, Co] block transposed, the taps in order or reversed (t' = taps - 1 - t); rows
// (t', o) in parallel.
inline void transpose_tap_blocks(const float* w, float* out, std::int64_t taps, std::int64_t ci, std::int64_t co,
                                 bool reverse_taps) {
  for_rows(taps * co, ci, [&](std::int64_t r) {
    const std::int64_t t = r / co, o = r % co;
    const float* from = w + (reverse_taps ? taps - 1 - t : t) * ci * co + o;
    float* to = out + r * ci;
    for (std::int64_t c = 0; c < ci; ++c) to[c] = from[c * co];
  });
}

// x[...] -> out[...] of x's shape and dtype, body(src, dst, begin, n) filling each chunk of n
// elements from raw pointers (const T*, T*) at the chunk, begin its first element's index (for
// arrays read alongside), in parallel chunks.
template <class Body>
Tensor map_chunks_at(const Tensor& x, Body body) {
  Tensor out = detail::empty(x.shape(), x.dtype());
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data<T>();
    T* dst = detail::mutable_data<T>(out);
    parallel_chunks(x.numel(), [&](std::int64_t b, std::int64_t e) { body(src + b, dst + b, b, e - b); });
  });
  return out;
}
// The same with body(src, dst, n).
template <class Body>
Tensor map_chunks(const Tensor& x, Body body) {
  return map_chunks_at(x, [&](const auto* src, auto* dst, std::int64_t, std::int64_t n) { body(src, dst, n); });
}

// x[...] -> f(x)[...]; f maps an Eigen array expression to an expression.
template <class F>
Tensor map_unary(const Tensor& x, F f) {
  return map_chunks(x, [&](const auto* src, auto* dst, std::int64_t n) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(src)>>;
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(dst, n) = f(ConstArrayMap<T>(src, n));
  });
}

// y[...] = x > 0 ? x : alpha * x (LeakyReLU's forward).
Tensor leaky_relu_forward(const Tensor& x, double alpha);
// g[...] * (v > 0 ? 1 : alpha): LeakyReLU's backward, its slope taken from its input or, for
// alpha >= 0, its output, in one pass (g and v of one shape and dtype).
Tensor leaky_relu_scale(const Tensor& g, const Tensor& v, double alpha);
// y[...] = x * (mask * scale), mask[x.numel()] of 0/1 bytes: dropout's product.
Tensor masked(const Tensor& x, const std::uint8_t* mask, double scale);
// y[...] = (x > 0 ? x : alpha * x) * ((mask & 1) * scale), the products as LeakyReLU's and
// dropout's; and bit 1 of each mask byte set where x > 0, for the backward, which then needs no
// x: leaky_relu_dropout's forward.
Tensor leaky_relu_masked(const Tensor& x, std::uint8_t* mask, double alpha, double scale);
// g[...] * ((mask & 1) * scale) * (mask & 2 ? 1 : alpha): its backward, in the order of the two
// ops' backwards; slope_first: g * slope * (mask scale), the order of their backwards' backwards.
Tensor leaky_relu_masked_scale(const Tensor& g, const std::uint8_t* mask, double alpha, double scale, bool slope_first);

// Per-operand element strides against an output shape (0 on broadcast axes).
std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out);

// a[...], b[...] -> f(a, b)[broadcast shape]; f maps two Eigen array expressions to one.
template <class F>
Tensor map_binary(const Tensor& a, const Tensor& b, const Shape& out_shape, F f) {
  Tensor out = detail::empty(out_shape, a.dtype());
  detail::dispatch(a.dtype(), [&]<class T>() {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = detail::mutable_data<T>(out);
    const std::int64_t n = out_shape.numel();
    using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
    if (a.numel() == n && b.numel() == n) {
      parallel_chunks(n, [&](std::int64_t s, std::int64_t e) {
        Eigen::Map<Arr>(po + s, e - s) = f(ConstArrayMap<T>(pa + s, e - s), ConstArrayMap<T>(pb + s, e - s));
      });
      return;
    }
    if (b.numel() == 1 && a.numel() == n) {
      parallel_chunks(n, [&](std::int64_t s, std::int64_t e) {
        Eigen::Map<Arr>(po + s, e - s) = f(ConstArrayMap<T>(pa + s, e - s), Arr::Constant(e - s, pb[0]));
      });
      return;
    }
    if (a.numel() == 1 && b.numel() == n) {
      parallel_chunks(n, [&](std::int64_t s, std::int64_t e) {
        Eigen::Map<Arr>(po + s, e - s) = f(Arr::Constant(e - s, pa[0]), ConstArrayMap<T>(pb + s, e - s));
      });
      return;
    }
    // General case: rows over the last axis, each operand contiguous or constant along it.
    const auto sa = broadcast_strides(a.shape(), out_shape);
    const auto sb = broadcast_strides(b.shape(), out_shape);
    const auto& dims = out_shape.dims();
    const std::int64_t r = out_shape.rank();
    const std::int64_t inner = dims[r - 1];
    const std::int64_t rows = inner == 0 ? 0 : n / inner;
#pragma omp parallel for schedule(static) if (n >= 2 * kParallelGrain)
    for (std::int64_t row = 0; row < rows; ++row) {
      std::int64_t rem = row, oa = 0, ob = 0;
      for (std::int64_t d = r - 2; d >= 0; --d) {
        const std::int64_t i = rem % dims[d];
        rem /= dims[d];
        oa += i * sa[d];
        ob += i * sb[d];
      }
      auto dst = Eigen::Map<Arr>(po + row * inner, inner);
      const bool ca = sa[r - 1] == 0, cb = sb[r - 1] == 0;
      if (!ca && !cb) {
        dst = f(ConstArrayMap<T>(pa + oa, inner), ConstArrayMap<T>(pb + ob, inner));
      } else if (ca && !cb) {
        dst = f(Arr::Constant(inner, pa[oa]), ConstArrayMap<T>(pb + ob, inner));
      } else if (!ca && cb) {
        dst = f(ConstArrayMap<T>(pa + oa, inner), Arr::Constant(inner, pb[ob]));
      } else {
        dst = f(Arr::Constant(inner, pa[oa]), Arr::Constant(inner, pb[ob]));
      }
    }
  });
  return out;
}

// out[i...] = x[base + sum_d i_d * in_strides[d]] for every index of out_shape (permute,
// broadcast_to, slice).
Tensor gather_strided(const Tensor& x, const Shape& out_shape, const std::vector<std::int64_t>& in_strides,
                      std::int64_t base);
// Writes x into `out` at out[base + sum_d i_d * out_strides[d]] (pad, concat).
void scatter_strided(const Tensor& x, const Tensor& out, const std::vector<std::int64_t>& out_strides,
                     std::int64_t base);

enum class Reduce { sum, max };
// x viewed as [outer, n, inner] -> [outer, inner], summing or taking the max over n.
Tensor reduce_middle(const Tensor& x, std::int64_t outer, std::int64_t n, std::int64_t inner, Reduce op);

// The matrix-product back ends and the instruction sets they chose for this CPU, e.g. "oneDNN
// avx512_core (float32), OpenBLAS Haswell (float64)": oneDNN's run-time dispatch (DNNL_MAX_CPU_ISA=
// AVX2, ... caps it), OpenBLAS's (OPENBLAS_CORETYPE=Haswell, SkylakeX, ... forces one), or "Eigen".
std::string gemm_backend();

// c[m, n] = a[m, k] @ b[k, n] (row-major; transposes applied to the stored matrices).
template <class T>
void gemm(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k, bool trans_a,
          bool trans_b, bool accumulate);

// ---------------- batch normalization: x viewed as [M, C] ----------------
// y[M, C] = (x - mean) * invstd * gamma + beta with the per-channel mean[C], biased variance[C]
// and invstd[C] = 1 / sqrt(variance + epsilon); gamma / beta may be null (1 / 0).
template <class T>
void batch_norm_forward(const T* x, const T* gamma, const T* beta, std::int64_t m, std::int64_t c, double epsilon,
                        T* y, T* mean, T* variance, T* invstd);
// g[M, C], x[M, C] -> dx[M, C], dgamma[C], dbeta[C] (each may be null: not computed).
template <class T>
void batch_norm_backward(const T* g, const T* x, const T* mean, const T* invstd, const T* gamma, std::int64_t m,
                         std::int64_t c, T* dx, T* dgamma, T* dbeta);

// ---------------- convolution (NHWC, HWIO) ----------------
struct ConvShape {
  std::int64_t n, h, w, ci;      // input
  std::int64_t kh, kw, co;       // kernel
  std::int64_t ho, wo;           // output
  std::int64_t sh, sw;           // stride
  std::int64_t pt, pl;           // top / left padding (bottom / right follow from the sizes)
};

// The three convolution kernels, and the ways a float32 one can run: im2col / col2im around
// GEMMs, oneDNN's convolution primitives, or (on an AVX-512 processor) tape's direct kernels.
// `automatic` picks per shape and kind (conv_uses_direct, then conv_uses_onednn); float64 always
// takes the GEMM path, and so does a float32 one that neither of the others takes (in a build
// without oneDNN, every one but those the direct kernels take).
enum class ConvKind { forward, transpose, weight };
enum class ConvPath { automatic, gemm, onednn, direct };
bool conv_uses_onednn(const ConvShape& s, ConvKind kind);
// What `automatic` means in this process: the environment's TAPE_CONV_PATH=gemm (every float32
// convolution through the GEMMs: the floats of tape before the oneDNN convolutions), =onednn
// (every shape oneDNN can run) or =direct (every kernel tape's direct ones fit), else
// automatic; ValueError on any other value.
ConvPath conv_path_from_environment();
bool have_onednn_conv();
// Runs one float32 kernel through oneDNN (a, b, out as the kernels below take them: x, w, y /
// u, w, x / x, u, w); false when this build or oneDNN cannot, and nothing was written.
bool onednn_conv(ConvKind kind, const ConvShape& s, const float* a, const float* b, float* out);

// tape's own AVX-512 kernels (conv_direct.cpp), on a processor with AVX-512: the weight gradient
// for Co a multiple of 64, the forward convolution for Co a multiple of 16 and the transposed one
// for Ci a multiple of 16 (direct_conv_fits); `direct` runs them wherever they fit (else the
// GEMMs), `automatic` where conv_uses_direct says they are the fastest (the forward one on 1-4
// input channels, the transposed one on strided layers into 14x14 or more).
bool have_direct_conv();
bool direct_conv_fits(const ConvShape& s, ConvKind kind);
bool conv_uses_direct(const ConvShape& s, ConvKind kind);
// One kernel (a, b, out as onednn_conv takes them; the forward and transposed ones add bias[C]
// to each output as it is stored, when given); false (nothing written) when it cannot run here.
bool direct_conv(ConvKind kind, const ConvShape& s, const float* a, const float* b, float* out,
                 const float* bias = nullptr);

// out[rows, c] += bias[c]: each element rounded once, as out + bias would be.
template <class T>
void add_bias(T* out, const T* bias, std::int64_t rows, std::int64_t c) {
  for (std::int64_t r = 0; r < rows; ++r, out += c) {
#pragma omp simd
    for (std::int64_t k = 0; k < c; ++k) out[k] += bias[k];
  }
}

// The threads a kernel over n images shares them among: OpenMP's, at most one an image; 1 inside
// a parallel region.
inline int image_threads(std::int64_t n) {
  return omp_in_parallel() ? 1 : static_cast<int>(std::min<std::int64_t>(omp_get_max_threads(), n));
}

// Runs run(begin, end, slot) on up to `slots` threads, thread `slot` of the `count` OpenMP gives
// taking the images [n slot / count, n (slot + 1) / count); returns count (1 when slots <= 1:
// all images on this thread). The shares depend only on the thread count, so per-share sums
// repeat for a given count.
template <class Run>
int for_each_image_share(std::int64_t n, int slots, Run run) {
  if (slots <= 1) {
    run(std::int64_t{0}, n, 0);
    return 1;
  }
  int used = 1;
#pragma omp parallel num_threads(slots)
  {
    const int slot = omp_get_thread_num(), count = omp_get_num_threads();
    if (slot == 0) used = count;
    run(n * slot / count, n * (slot + 1) / count, slot);
  }
  return used;
}

// The weight gradient a share writes: w itself for slot 0, else partials[slot - 1][size].
template <class T>
T* partial_of(T* w, T* partials, std::int64_t size, int slot) {
  return slot == 0 ? w : partials + static_cast<std::size_t>(slot - 1) * static_cast<std::size_t>(size);
}

// w[size] += partials[k][size] for k = 0 .. count-1 in order: the per-thread partial weight
// gradients of a share of the images each, summed so the bits depend on the thread count only.
template <class T>
void add_partials(T* w, const T* partials, std::int64_t size, int count) {
  for (int k = 0; k < count; ++k) {
    const T* p = partials + static_cast<std::size_t>(k) * static_cast<std::size_t>(size);
    for (std::int64_t i = 0; i < size; ++i) w[i] += p[i];
  }
}

// y[N, Ho, Wo, Co] = conv2d(x[N, H, W, Ci], w[kh, kw, Ci, Co]) (+ bias[Co] when given: each output
// the convolution's sum plus its bias, rounded as a separate add would round it)
template <class T>
void conv2d_forward(const ConvShape& s, const T* x, const T* w, T* y, ConvPath path = ConvPath::automatic,
                    const T* bias = nullptr);
// x[N, H, W, Ci] = conv_transpose2d(u[N, Ho, Wo, Co], w[kh, kw, Ci, Co]) (+ bias[Ci] when given, as
// conv2d_forward's)
template <class T>
void conv2d_transpose(const ConvShape& s, const T* u, const T* w, T* x, ConvPath path = ConvPath::automatic,
                      const T* bias = nullptr);
// w[kh, kw, Ci, Co] = conv2d_weight_grad(x[N, H, W, Ci], u[N, Ho, Wo, Co])
template <class T>
void conv2d_weight(const ConvShape& s, const T* x, const T* u, T* w, ConvPath path = ConvPath::automatic);

// Plain loops: the reference implementations the optimized kernels are tested against.
template <class T>
void conv2d_forward_reference(const ConvShape& s, const T* x, const T* w, T* y);
template <class T>
void conv2d_transpose_reference(const ConvShape& s, const T* u, const T* w, T* x);
template <class T>
void conv2d_weight_reference(const ConvShape& s, const T* x, const T* u, T* w);

}  // namespace tape::kernels
