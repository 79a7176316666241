// Convolution kernels in NHWC with HWIO weights: im2col + one GEMM per chunk of images
// (forward, weight gradient), GEMM + col2im (transposed), and plain reference loops; float32
// shapes that oneDNN's convolutions (conv_onednn.cpp) or tape's direct weight gradient
// (conv_direct.cpp) run faster go there.
#include <algorithm>
#include <type_traits>
#include <vector>

#include <omp.h>

#include "buffer_pool.h"
#include "kernels/kernels.h"

namespace tape::kernels {
namespace {

// Scratch elements per im2col chunk (1 MiB of float32): small enough that the column matrix
// stays in cache between im2col and the GEMM that reads it (measured: 64 MiB chunks ran the DCGAN's
// convolutions at a third of the speed). The rows rule below may raise a chunk to 8 times this,
// never more: scratch stays bounded.
constexpr std::int64_t kScratchElements = std::int64_t{1} << 18;

// GEMM rows per chunk at least: OpenBLAS packs the whole weight matrix on every call, so a call
// with a few dozen rows spends its time packing (measured: the 7x7 layers, 49 rows per image,
// ran 10-20% faster with chunks of 6 images than of 1).
constexpr std::int64_t kMinChunkRows = 288;

std::int64_t images_per_chunk(const ConvShape& s) {
  const std::int64_t per_image = std::max<std::int64_t>(1, s.ho * s.wo * s.kh * s.kw * s.ci);
  const std::int64_t rows = std::max<std::int64_t>(1, s.ho * s.wo);
  const std::int64_t by_rows = std::min((kMinChunkRows + rows - 1) / rows, 8 * kScratchElements / per_image);
  const std::int64_t images = std::max(kScratchElements / per_image, by_rows);
  return std::clamp<std::int64_t>(images, 1, std::max<std::int64_t>(s.n, 1));
}

// The taps j in [lo, hi) of a kernel row that land inside the input for output column ow: in
// NHWC their inputs x[n, ih, iw0 + lo .. iw0 + hi), all channels, are contiguous, (hi - lo) * Ci
// elements, so each kernel row is one copy, not kw.
struct TapRange {
  std::int64_t iw0, lo, hi;
};
inline TapRange tap_range(const ConvShape& s, std::int64_t ow) {
  const std::int64_t iw0 = ow * s.sw - s.pl;
  return {iw0, std::clamp<std::int64_t>(-iw0, 0, s.kw), std::clamp<std::int64_t>(s.w - iw0, 0, s.kw)};
}

// cols[(n, oh, ow), (i, j, c)] for images [n0, n0 + nb): cols [nb*Ho*Wo, kh*kw*Ci].
template <class T>
void im2col(const ConvShape& s, const T* x, std::int64_t n0, std::int64_t nb, T* cols) {
  const std::int64_t K = s.kh * s.kw * s.ci, row = s.kw * s.ci;
  const std::int64_t rows = nb * s.ho * s.wo;
#pragma omp parallel for schedule(static) if (rows * K >= 2 * kParallelGrain)
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t n = n0 + r / (s.ho * s.wo);
    const std::int64_t oh = (r / s.wo) % s.ho;
    const TapRange t = tap_range(s, r % s.wo);
    T* dst = cols + r * K;
    for (std::int64_t i = 0; i < s.kh; ++i, dst += row) {
      const std::int64_t ih = oh * s.sh - s.pt + i;
      if (ih < 0 || ih >= s.h || t.lo >= t.hi) {
        std::fill(dst, dst + row, T(0));
        continue;
      }
      std::fill(dst, dst + t.lo * s.ci, T(0));
      const T* src = x + ((n * s.h + ih) * s.w + t.iw0 + t.lo) * s.ci;
      std::copy(src, src + (t.hi - t.lo) * s.ci, dst + t.lo * s.ci);
      std::fill(dst + t.hi * s.ci, dst + row, T(0));
    }
  }
}

// x[n0 .. n0+nb) += col2im(cols): the adjoint of im2col (x must be zeroed by the caller).
template <class T>
void col2im(const ConvShape& s, const T* cols, std::int64_t n0, std::int64_t nb, T* x) {
  const std::int64_t K = s.kh * s.kw * s.ci, row = s.kw * s.ci;
#pragma omp parallel for schedule(static) if (nb > 1 && nb * s.ho * s.wo * K >= 2 * kParallelGrain)
  for (std::int64_t b = 0; b < nb; ++b) {
    const std::int64_t n = n0 + b;
    for (std::int64_t oh = 0; oh < s.ho; ++oh) {
      for (std::int64_t ow = 0; ow < s.wo; ++ow) {
        const TapRange t = tap_range(s, ow);
        if (t.lo >= t.hi) continue;  // the kernel misses the image in this column
        const T* src = cols + ((b * s.ho + oh) * s.wo + ow) * K;
        for (std::int64_t i = 0; i < s.kh; ++i, src += row) {
          const std::int64_t ih = oh * s.sh - s.pt + i;
          if (ih < 0 || ih >= s.h) continue;
          T* dst = x + ((n * s.h + ih) * s.w + t.iw0 + t.lo) * s.ci;
          const T* from = src + t.lo * s.ci;
          for (std::int64_t e = 0; e < (t.hi - t.lo) * s.ci; ++e) dst[e] += from[e];
        }
      }
    }
  }
}

// Runs body(n0, nb, cols, slot) over chunks of images [n0, n0 + nb), cols being scratch for
// [nb * Ho * Wo, K]. With several threads and enough images, thread `slot` takes an equal share
// of the images (a contiguous range) and runs it chunk by chunk with single-threaded GEMMs (one
// level of parallelism, chosen here); otherwise the chunks run one after another with the GEMM
// threading itself. Returns how many slots (threads) were used; the images of a slot depend only
// on the thread count, so results are reproducible for a given thread count.
template <class T, class Body>
int for_each_chunk(const ConvShape& s, Body body) {
  const std::int64_t K = s.kh * s.kw * s.ci, per = s.ho * s.wo;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const bool parallel = threads > 1 && s.n >= 2 * threads;
  const int slots = parallel ? threads : 1;
  const std::int64_t chunk = std::min(images_per_chunk(s), (s.n + slots - 1) / slots);  // no scratch past a share
  const std::size_t scratch = static_cast<std::size_t>(chunk * per * K);
  const detail::ScratchBuffer<T> cols(scratch * static_cast<std::size_t>(slots));
  return for_each_image_share(s.n, slots, [&](std::int64_t begin, std::int64_t end, int slot) {
    T* mine = cols.data() + scratch * static_cast<std::size_t>(slot);
    for (std::int64_t n0 = begin; n0 < end; n0 += chunk) body(n0, std::min(chunk, end - n0), mine, slot);
  });
}

// Runs the kernel of `kind` through tape's direct kernel or oneDNN if the path (for `automatic`:
// TAPE_CONV_PATH, else the shape) says so and it can, adding bias[channels of out] when given;
// true when it did.
template <class T>
bool ran_elsewhere(ConvPath path, ConvKind kind, const ConvShape& s, const T* a, const T* b, T* out,
                   const T* bias = nullptr) {
  if constexpr (std::is_same_v<T, float>) {
    if (path == ConvPath::automatic) path = conv_path_from_environment();
    if (path == ConvPath::gemm || s.n == 0 || s.ci == 0 || s.co == 0 || s.ho * s.wo == 0) return false;
    const bool direct = path == ConvPath::direct || (path == ConvPath::automatic && conv_uses_direct(s, kind));
    if (direct && direct_conv(kind, s, a, b, out, bias)) return true;
    if (path == ConvPath::direct) return false;
    if (path == ConvPath::automatic && !conv_uses_onednn(s, kind)) return false;
    if (!onednn_conv(kind, s, a, b, out)) return false;
    if (bias != nullptr) {  // a pass of its own: oneDNN's bias would round differently
      const bool forward = kind == ConvKind::forward;
      const std::int64_t c = forward ? s.co : s.ci;
      for_rows(s.n * (forward ? s.ho * s.wo : s.h * s.w), c, [&](std::int64_t r) { add_bias(out + r * c, bias, 1, c); });
    }
    return true;
  } else {
    return false;
  }
}

}  // namespace

template <class T>
void conv2d_forward(const ConvShape& s, const T* x, const T* w, T* y, ConvPath path, const T* bias) {
  if (ran_elsewhere(path, ConvKind::forward, s, x, w, y, bias)) return;
  const std::int64_t K = s.kh * s.kw * s.ci, per = s.ho * s.wo;
  for_each_chunk<T>(s, [&](std::int64_t n0, std::int64_t nb, T* cols, int) {
    im2col(s, x, n0, nb, cols);
    gemm(cols, w, y + n0 * per * s.co, nb * per, s.co, K, false, false, false);
    if (bias != nullptr) add_bias(y + n0 * per * s.co, bias, nb * per, s.co);  // while the chunk is in cache
  });
}

template <class T>
void conv2d_transpose(const ConvShape& s, const T* u, const T* w, T* x, ConvPath path, const T* bias) {
  if (ran_elsewhere(path, ConvKind::transpose, s, u, w, x, bias)) return;
  const std::int64_t K = s.kh * s.kw * s.ci, per = s.ho * s.wo;
  const std::int64_t image = s.h * s.w * s.ci;
  for_each_chunk<T>(s, [&](std::int64_t n0, std::int64_t nb, T* cols, int) {
    // cols[M, K] = u[M, Co] @ w[K, Co]^T, then scattered back into images [n0, n0 + nb), which
    // only this chunk touches: zeroed here, by the thread that fills them
    gemm(u + n0 * per * s.co, w, cols, nb * per, K, s.co, false, true, false);
    std::fill(x + n0 * image, x + (n0 + nb) * image, T(0));
    col2im(s, cols, n0, nb, x);
    if (bias != nullptr) add_bias(x + n0 * image, bias, nb * s.h * s.w, s.ci);
  });
}

template <class T>
void conv2d_weight(const ConvShape& s, const T* x, const T* u, T* w, ConvPath path) {
  if (ran_elsewhere(path, ConvKind::weight, s, x, u, w)) return;
  const std::int64_t K = s.kh * s.kw * s.ci, per = s.ho * s.wo, size = K * s.co;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  // One partial w per slot (slot 0 writes w itself), summed in slot order at the end.
  const detail::ScratchBuffer<T> partials(static_cast<std::size_t>(size) * static_cast<std::size_t>(std::max(threads - 1, 0)));
  std::vector<char> started(static_cast<std::size_t>(threads), 0);
  const int slots = for_each_chunk<T>(s, [&](std::int64_t n0, std::int64_t nb, T* cols, int slot) {
    T* out = partial_of(w, partials.data(), size, slot);
    im2col(s, x, n0, nb, cols);
    // out[K, Co] (+)= cols[M, K]^T @ u[M, Co]
    gemm(cols, u + n0 * per * s.co, out, K, s.co, nb * per, true, false, started[slot] != 0);
    started[slot] = 1;
  });
  for (int slot = 0; slot < slots; ++slot) {
    if (started[slot]) continue;
    T* out = partial_of(w, partials.data(), size, slot);
    std::fill(out, out + size, T(0));
  }
  add_partials(w, partials.data(), size, slots - 1);
}

// ---------------- references: the definition, loop by loop ----------------
namespace {

// Calls f(n, oh, ow, i, j, x_offset) for every tap that lands inside the input.
template <class F>
void for_each_tap(const ConvShape& s, F f) {
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t oh = 0; oh < s.ho; ++oh)
      for (std::int64_t ow = 0; ow < s.wo; ++ow)
        for (std::int64_t i = 0; i < s.kh; ++i)
          for (std::int64_t j = 0; j < s.kw; ++j) {
            const std::int64_t ih = oh * s.sh - s.pt + i, iw = ow * s.sw - s.pl + j;
            if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
            f(((n * s.ho + oh) * s.wo + ow) * s.co, ((n * s.h + ih) * s.w + iw) * s.ci, (i * s.kw + j) * s.ci * s.co);
          }
}

}  // namespace

template <class T>
void conv2d_forward_reference(const ConvShape& s, const T* x, const T* w, T* y) {
  std::fill(y, y + s.n * s.ho * s.wo * s.co, T(0));
  for_each_tap(s, [&](std::int64_t yo, std::int64_t xo, std::int64_t wo) {
    for (std::int64_t c = 0; c < s.ci; ++c)
      for (std::int64_t o = 0; o < s.co; ++o) y[yo + o] += x[xo + c] * w[wo + c * s.co + o];
  });
}

template <class T>
void conv2d_transpose_reference(const ConvShape& s, const T* u, const T* w, T* x) {
  std::fill(x, x + s.n * s.h * s.w * s.ci, T(0));
  for_each_tap(s, [&](std::int64_t uo, std::int64_t xo, std::int64_t wo) {
    for (std::int64_t c = 0; c < s.ci; ++c)
      for (std::int64_t o = 0; o < s.co; ++o) x[xo + c] += u[uo + o] * w[wo + c * s.co + o];
  });
}

template <class T>
void conv2d_weight_reference(const ConvShape& s, const T* x, const T* u, T* w) {
  std::fill(w, w + s.kh * s.kw * s.ci * s.co, T(0));
  for_each_tap(s, [&](std::int64_t uo, std::int64_t xo, std::int64_t wo) {
    for (std::int64_t c = 0; c < s.ci; ++c)
      for (std::int64_t o = 0; o < s.co; ++o) w[wo + c * s.co + o] += x[xo + c] * u[uo + o];
  });
}

#define TAPE_CONV_INSTANTIATE(T)                                                  \
  template void conv2d_forward<T>(const ConvShape&, const T*, const T*, T*, ConvPath, const T*);   \
  template void conv2d_transpose<T>(const ConvShape&, const T*, const T*, T*, ConvPath, const T*); \
  template void conv2d_weight<T>(const ConvShape&, const T*, const T*, T*, ConvPath);    \
  template void conv2d_forward_reference<T>(const ConvShape&, const T*, const T*, T*);   \
  template void conv2d_transpose_reference<T>(const ConvShape&, const T*, const T*, T*); \
  template void conv2d_weight_reference<T>(const ConvShape&, const T*, const T*, T*);
TAPE_CONV_INSTANTIATE(float)
TAPE_CONV_INSTANTIATE(double)
#undef TAPE_CONV_INSTANTIATE

}  // namespace tape::kernels
