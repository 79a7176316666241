// tape's own float32 convolution kernel for AVX-512 processors: the weight gradient as direct
// register-blocked outer products over the positions that land inside the input (no im2col, no
// padding zeros multiplied). Compiled for AVX-512 whatever the build's -march and run only when
// the processor has it (have_direct_conv).
#include <algorithm>
#include <cstdint>

#include <omp.h>

#include "buffer_pool.h"
#include "kernels/kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TAPE_DIRECT_CONV 1
#define TAPE_AVX512 __attribute__((target("avx512f,fma")))
#endif

namespace tape::kernels {

#ifdef TAPE_DIRECT_CONV
namespace {

constexpr std::int64_t kLanes = 16;             // float32 lanes of a zmm register
constexpr std::int64_t kVectors = 4;            // output channels of a tile: 4 x 16
constexpr std::int64_t kTileCo = kLanes * kVectors;
constexpr std::int64_t kRows = 6;               // input channels of a full tile
constexpr std::int64_t kChunkPositions = 512;   // output positions per pass over the weights

// a / b rounded down (C++'s / rounds toward zero), b > 0.
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// One tile of the weight gradient, w[i, j, c0 .. c0+R, o0 .. o0+64) (+)= sum over the positions
// (n, oh, ow) of images [n0, n1) whose tap (i, j) lands inside x of
// x[n, ih, iw, c0 .. c0+R) (outer) u[n, oh, ow, o0 .. o0+64): R x 4 zmm accumulators, u's 4
// vectors loaded once a position, x's R values broadcast.
template <int R>
TAPE_AVX512 void weight_tile(const ConvShape& s, const float* x, const float* u, float* w, std::int64_t i,
                             std::int64_t j, std::int64_t c0, std::int64_t o0, std::int64_t n0, std::int64_t n1,
                             bool accumulate) {
  __m512 acc[R][kVectors];
  float* out = w + ((i * s.kw + j) * s.ci + c0) * s.co + o0;
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < kVectors; ++v) {
      acc[r][v] = accumulate ? _mm512_loadu_ps(out + r * s.co + v * kLanes) : _mm512_setzero_ps();
    }
  }
  // the output columns whose tap j lands inside the input: iw = ow * sw - pl + j in [0, w)
  const std::int64_t first = std::max<std::int64_t>(0, floor_div(s.pl - j + s.sw - 1, s.sw));
  const std::int64_t last = std::min<std::int64_t>(s.wo, floor_div(s.w - 1 + s.pl - j, s.sw) + 1);  // exclusive
  if (first < last) {
    const std::int64_t x_step = s.sw * s.ci;
    for (std::int64_t n = n0; n < n1; ++n) {
      for (std::int64_t oh = 0; oh < s.ho; ++oh) {
        const std::int64_t ih = oh * s.sh - s.pt + i;
        if (ih < 0 || ih >= s.h) continue;
        const float* xp = x + ((n * s.h + ih) * s.w + first * s.sw - s.pl + j) * s.ci + c0;
        const float* up = u + ((n * s.ho + oh) * s.wo + first) * s.co + o0;
        for (std::int64_t ow = first; ow < last; ++ow, xp += x_step, up += s.co) {
          __m512 uv[kVectors];
          for (int v = 0; v < kVectors; ++v) uv[v] = _mm512_loadu_ps(up + v * kLanes);
          for (int r = 0; r < R; ++r) {
            const __m512 xb = _mm512_set1_ps(xp[r]);
            for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm512_fmadd_ps(xb, uv[v], acc[r][v]);
          }
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < kVectors; ++v) _mm512_storeu_ps(out + r * s.co + v * kLanes, acc[r][v]);
  }
}

using TileFn = void (*)(const ConvShape&, const float*, const float*, float*, std::int64_t, std::int64_t,
                        std::int64_t, std::int64_t, std::int64_t, std::int64_t, bool);
constexpr TileFn kTiles[kRows + 1] = {nullptr,         weight_tile<1>, weight_tile<2>, weight_tile<3>,
                                      weight_tile<4>, weight_tile<5>, weight_tile<6>};

// w (+)= the weight gradient over images [n_begin, n_end), every tile chunk by chunk.
void weight_images(const ConvShape& s, const float* x, const float* u, float* w, std::int64_t n_begin,
                   std::int64_t n_end) {
  const std::int64_t c_tiles = (s.ci + kRows - 1) / kRows, o_tiles = s.co / kTileCo;
  const std::int64_t tiles = s.kh * s.kw * c_tiles * o_tiles;
  const std::int64_t chunk = std::max<std::int64_t>(1, kChunkPositions / std::max<std::int64_t>(1, s.ho * s.wo));
  for (std::int64_t n0 = n_begin; n0 < n_end; n0 += chunk) {
    const std::int64_t n1 = std::min(n_end, n0 + chunk);
    for (std::int64_t t = 0; t < tiles; ++t) {
      const std::int64_t c_tile = t % c_tiles, j = (t / c_tiles) % s.kw, i = (t / (c_tiles * s.kw)) % s.kh;
      const std::int64_t o_tile = t / (c_tiles * s.kw * s.kh);
      const std::int64_t c0 = c_tile * kRows, rows = std::min(kRows, s.ci - c0);
      kTiles[rows](s, x, u, w, i, j, c0, o_tile * kTileCo, n0, n1, n0 > n_begin);
    }
  }
}

}  // namespace

bool have_direct_conv() {
  static const bool have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  return have;
}

bool direct_conv_weight_fits(const ConvShape& s) { return s.co % kTileCo == 0 && s.ci > 0 && s.n > 0; }

// Measured on an AMD Zen 5 at the DCGANs' layers, 1 and 2 threads (docs/performance.md, "tape's
// direct weight gradient"; other AVX-512 processors are untested): faster than the im2col + GEMM
// weight gradient on every layer it fits with 5+ input channels (1.1-1.4x on one thread, 1.0-2.4x
// on two) and than oneDNN's on the strided ones (1.2-1.6x; equal at stride 1); on 1-4 input
// channels oneDNN's is 2x faster (conv_uses_onednn).
bool conv_uses_direct(const ConvShape& s, ConvKind kind) {
  return kind == ConvKind::weight && s.ci > 4 && have_direct_conv() && direct_conv_weight_fits(s);
}

// w[kh, kw, Ci, Co] = conv2d_weight_grad(x[N, H, W, Ci], u[N, Ho, Wo, Co]): each thread takes an
// equal contiguous share of the images into its own partial w (thread 0 into w itself), summed in
// thread order at the end: the images of a share depend only on the thread count, so the bits
// repeat for a given thread count (as the GEMM path's do).
bool direct_conv_weight(const ConvShape& s, const float* x, const float* u, float* w) {
  if (!have_direct_conv() || !direct_conv_weight_fits(s)) return false;
  const int threads = omp_in_parallel() ? 1 : static_cast<int>(std::min<std::int64_t>(omp_get_max_threads(), s.n));
  const std::int64_t size = s.kh * s.kw * s.ci * s.co;
  const detail::ScratchBuffer<float> partials(static_cast<std::size_t>(size * (threads - 1)));
  int used = 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int count = omp_get_num_threads(), me = omp_get_thread_num();
    if (me == 0) used = count;
    float* out = me == 0 ? w : partials.data() + (me - 1) * size;
    weight_images(s, x, u, out, s.n * me / count, s.n * (me + 1) / count);
  }
  add_partials(w, partials.data(), size, used - 1);
  return true;
}

#else

bool have_direct_conv() { return false; }
bool direct_conv_weight_fits(const ConvShape&) { return false; }
bool conv_uses_direct(const ConvShape&, ConvKind) { return false; }
bool direct_conv_weight(const ConvShape&, const float*, const float*, float*) { return false; }

#endif

}  // namespace tape::kernels
