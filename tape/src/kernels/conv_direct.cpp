// tape's own float32 convolution kernels for AVX-512 processors: the weight gradient as direct
// register-blocked outer products over the positions that land inside the input (no im2col, no
// padding zeros multiplied), and the forward and transposed convolutions of thin layers (1-4
// input channels: an image's first or last layer). Compiled for AVX-512 whatever the build's
// -march and run only when the processor has it (have_direct_conv).
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

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


// ---------------- thin layers: 1-4 input channels ----------------

constexpr std::int64_t kThinChannels = 4;  // input channels the thin kernels take at most
constexpr int kThinAccumulators = 24;      // zmm accumulators of a forward tile (R x V)
constexpr int kThinColumns = 8;            // output columns (forward) or input pixels (transposed) a tile

// The widest forward tile for V vectors of output channels.
constexpr int forward_columns(int v) { return std::min(kThinAccumulators / v, kThinColumns); }

// y[n, oh, ow0 .. ow0+R, o0 .. o0+16V) = sum over the taps (i, j), j in [j0, j1), that land
// inside x, in order, and the input channels c of x[n, ih, iw, c] w[i, j, c, o0 ..]: R x V
// accumulators, w's V vectors loaded once a tap and channel, x's R values broadcast. A row of
// taps reads x's (j, c) and w's (j, c) in the same contiguous order.
template <int R, int V>
TAPE_AVX512 void thin_forward_tile(const ConvShape& s, const float* x, const float* w, float* y, std::int64_t n,
                                   std::int64_t oh, std::int64_t ow0, std::int64_t o0, std::int64_t j0,
                                   std::int64_t j1) {
  __m512 acc[R][V];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  const std::int64_t top = oh * s.sh - s.pt;
  const std::int64_t i0 = std::max<std::int64_t>(0, -top), i1 = std::min(s.kh, s.h - top);
  const std::int64_t step = s.sw * s.ci, count = (j1 - j0) * s.ci;
  for (std::int64_t i = i0; i < i1; ++i) {
    const float* xp = x + ((n * s.h + top + i) * s.w + ow0 * s.sw - s.pl + j0) * s.ci;
    const float* wp = w + (i * s.kw + j0) * s.ci * s.co + o0;
    for (std::int64_t k = 0; k < count; ++k, wp += s.co) {
      __m512 wv[V];
      for (int v = 0; v < V; ++v) wv[v] = _mm512_loadu_ps(wp + v * kLanes);
      for (int r = 0; r < R; ++r) {
        const __m512 xb = _mm512_set1_ps(xp[r * step + k]);
        for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(xb, wv[v], acc[r][v]);
      }
    }
  }
  float* out = y + ((n * s.ho + oh) * s.wo + ow0) * s.co + o0;
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(out + r * s.co + v * kLanes, acc[r][v]);
  }
}

// ---------------- the transposed convolution: input channels a multiple of 16 ----------------

// One tap of the transposed convolution as a tile runs it: where its weights start in the packed
// w' [kh, kw, Co, Ci], and how far the u element it reads lies from the pixel's own.
struct TapStep {
  std::int64_t w, u;
};

// R pixels of x that share their taps: each one's offset in an image of x and of u (the u element
// its taps' steps start from), and its block's taps.
struct PixelTile {
  int size;
  std::int64_t x[kThinColumns], u[kThinColumns];
  std::int64_t first_tap, tap_count;  // in the call's TapStep list
};

// x[n, pixel r, c0 .. c0+16V) for r < R = sum over the tile's taps, in order, and the output
// channels o of u[n, oh, ow, o] w'[i, j, o, c0 ..]: R x V accumulators, w''s V vectors loaded once
// a tap and channel, u's R values broadcast. Only taps that land inside u are listed: no padding
// zeros multiplied.
template <int R, int V>
TAPE_AVX512 void transpose_tile(const ConvShape& s, const float* u, const float* wt, float* x, const PixelTile& t,
                                const TapStep* taps, std::int64_t c0) {
  __m512 acc[R][V];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (std::int64_t a = 0; a < t.tap_count; ++a) {
    const TapStep& tap = taps[t.first_tap + a];
    const float* up[R];
    for (int r = 0; r < R; ++r) up[r] = u + t.u[r] + tap.u;
    const float* wp = wt + tap.w + c0;
    for (std::int64_t o = 0; o < s.co; ++o, wp += s.ci) {
      __m512 wv[V];
      for (int v = 0; v < V; ++v) wv[v] = _mm512_loadu_ps(wp + v * kLanes);
      for (int r = 0; r < R; ++r) {
        const __m512 ub = _mm512_set1_ps(up[r][o]);
        for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(ub, wv[v], acc[r][v]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(x + t.x[r] + c0 + v * kLanes, acc[r][v]);
  }
}

using ForwardTileFn = void (*)(const ConvShape&, const float*, const float*, float*, std::int64_t, std::int64_t,
                               std::int64_t, std::int64_t, std::int64_t, std::int64_t);
using TransposeTileFn = void (*)(const ConvShape&, const float*, const float*, float*, const PixelTile&,
                                 const TapStep*, std::int64_t);
using ForwardTiles = std::array<ForwardTileFn, kThinColumns + 1>;      // [R]: R columns, null past the widest
using TransposeTiles = std::array<TransposeTileFn, kThinColumns + 1>;  // [R]: R pixels

template <int V, int... R>
constexpr ForwardTiles forward_tiles(std::integer_sequence<int, R...>) {
  return {nullptr, (R < forward_columns(V) ? thin_forward_tile<std::min(R + 1, forward_columns(V)), V> : nullptr)...};
}
template <int V, int... R>
constexpr TransposeTiles transpose_tiles(std::integer_sequence<int, R...>) {
  return {nullptr, (R < forward_columns(V) ? transpose_tile<std::min(R + 1, forward_columns(V)), V> : nullptr)...};
}

// [V - 1][R]: the tiles of V vectors of output channels.
constexpr auto kColumns = std::make_integer_sequence<int, kThinColumns>{};
constexpr ForwardTiles kForwardTiles[4] = {forward_tiles<1>(kColumns), forward_tiles<2>(kColumns),
                                           forward_tiles<3>(kColumns), forward_tiles<4>(kColumns)};
constexpr TransposeTiles kTransposeTiles[4] = {transpose_tiles<1>(kColumns), transpose_tiles<2>(kColumns),
                                               transpose_tiles<3>(kColumns), transpose_tiles<4>(kColumns)};

// Splits `count` items into the fewest tiles of at most `widest`, as even as they go, and calls
// tile(first, size) for each in order.
template <class F>
void even_tiles(std::int64_t count, std::int64_t widest, F&& tile) {
  const std::int64_t tiles = (count + widest - 1) / widest;
  for (std::int64_t t = 0, first = 0; t < tiles; ++t) {
    const std::int64_t size = count * (t + 1) / tiles - count * t / tiles;
    tile(first, size);
    first += size;
  }
}

// y[N, Ho, Wo, Co] = conv2d(x[N, H, W, Ci <= 4], w[kh, kw, Ci, Co]): the threads share the output
// rows (each row's sums the same on any thread count). The columns whose taps all land inside x
// go in tiles of up to 8; the others one by one over their own taps.
void thin_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  const std::int64_t rows = s.n * s.ho;
  const std::int64_t first = std::min(s.wo, floor_div(s.pl + s.sw - 1, s.sw));                     // first inside
  const std::int64_t last = std::max(first, std::min(s.wo, floor_div(s.w - s.kw + s.pl, s.sw) + 1));  // exclusive
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && rows > 1)
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t n = row / s.ho, oh = row % s.ho;
    for (std::int64_t o0 = 0; o0 < s.co; o0 += kTileCo) {
      const int v = static_cast<int>(std::min(kTileCo, s.co - o0) / kLanes);
      const ForwardTiles& tiles = kForwardTiles[v - 1];
      for (std::int64_t ow = 0; ow < s.wo; ow = ow + 1 == first ? last : ow + 1) {
        if (ow >= first && ow < last) continue;
        const std::int64_t left = ow * s.sw - s.pl;
        const std::int64_t j0 = std::clamp<std::int64_t>(-left, 0, s.kw);
        tiles[1](s, x, w, y, n, oh, ow, o0, j0, std::max(j0, std::min(s.kw, s.w - left)));
      }
      even_tiles(last - first, forward_columns(v), [&](std::int64_t start, std::int64_t size) {
        tiles[size](s, x, w, y, n, oh, first + start, o0, 0, s.kw);
      });
    }
  }
}

// The positions of one axis of x, grouped by the taps that reach them inside u: for each group
// its taps (tap t, and the u position read less the position's `base` = floor((p + pad) /
// stride)) and its positions p.
struct AxisGroup {
  std::vector<std::pair<std::int64_t, std::int64_t>> taps;  // (t, u position - base)
  std::vector<std::int64_t> positions;
};
std::vector<AxisGroup> axis_groups(std::int64_t extent, std::int64_t size, std::int64_t stride, std::int64_t pad,
                                   std::int64_t within) {
  std::vector<AxisGroup> groups;
  for (std::int64_t p = 0; p < extent; ++p) {
    const std::int64_t base = floor_div(p + pad, stride);
    AxisGroup g;
    for (std::int64_t t = 0; t < size; ++t) {
      const std::int64_t q = p + pad - t, o = floor_div(q, stride);
      if (o * stride == q && o >= 0 && o < within) g.taps.emplace_back(t, o - base);
    }
    auto same = std::find_if(groups.begin(), groups.end(), [&](const AxisGroup& h) { return h.taps == g.taps; });
    if (same == groups.end()) same = groups.insert(groups.end(), std::move(g));
    same->positions.push_back(p);
  }
  return groups;
}

// The tiles of one image: each pair of a row group and a column group is a block of pixels that
// share their taps, cut into tiles of up to `widest` pixels in raster order; `taps` gets each
// block's tap steps.
std::vector<PixelTile> pixel_tiles(const ConvShape& s, int widest, std::vector<TapStep>& taps) {
  std::vector<PixelTile> tiles;
  for (const AxisGroup& rows : axis_groups(s.h, s.kh, s.sh, s.pt, s.ho)) {
    for (const AxisGroup& cols : axis_groups(s.w, s.kw, s.sw, s.pl, s.wo)) {
      const std::int64_t first_tap = static_cast<std::int64_t>(taps.size());
      for (const auto& [i, di] : rows.taps) {
        for (const auto& [j, dj] : cols.taps) taps.push_back({(i * s.kw + j) * s.co * s.ci, (di * s.wo + dj) * s.co});
      }
      const std::int64_t tap_count = static_cast<std::int64_t>(taps.size()) - first_tap;
      const std::int64_t width = static_cast<std::int64_t>(cols.positions.size());
      even_tiles(static_cast<std::int64_t>(rows.positions.size()) * width, widest, [&](std::int64_t first, std::int64_t size) {
        PixelTile t{static_cast<int>(size), {}, {}, first_tap, tap_count};
        for (std::int64_t r = 0; r < size; ++r) {
          const std::int64_t ih = rows.positions[static_cast<std::size_t>((first + r) / width)];
          const std::int64_t iw = cols.positions[static_cast<std::size_t>((first + r) % width)];
          t.x[r] = (ih * s.w + iw) * s.ci;
          t.u[r] = (floor_div(ih + s.pt, s.sh) * s.wo + floor_div(iw + s.pl, s.sw)) * s.co;
        }
        tiles.push_back(t);
      });
    }
  }
  return tiles;
}

// x[N, H, W, Ci] = conv_transpose2d(u[N, Ho, Wo, Co], w[kh, kw, Ci, Co]) for Ci a multiple of 16:
// w packed as w'[kh, kw, Co, Ci] (a tap and output channel's Ci weights contiguous), then every
// pixel of x computed whole by one tile over exactly the taps that reach it; the threads share
// the (image, tile) pairs, so the bits do not depend on the thread count.
void direct_transpose(const ConvShape& s, const float* u, const float* w, float* x) {
  const std::int64_t taps_total = s.kh * s.kw;
  const detail::ScratchBuffer<float> packed(static_cast<std::size_t>(taps_total * s.ci * s.co));
  float* wt = packed.data();
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
  for (std::int64_t t = 0; t < taps_total; ++t) {
    for (std::int64_t c = 0; c < s.ci; ++c) {
      for (std::int64_t o = 0; o < s.co; ++o) wt[(t * s.co + o) * s.ci + c] = w[(t * s.ci + c) * s.co + o];
    }
  }
  const int v = s.ci % kTileCo == 0 ? 4 : s.ci % 48 == 0 ? 3 : s.ci % 32 == 0 ? 2 : 1;
  const TransposeTiles& kernels = kTransposeTiles[v - 1];
  std::vector<TapStep> taps;
  const std::vector<PixelTile> tiles = pixel_tiles(s, forward_columns(v), taps);
  const std::int64_t per_image = static_cast<std::int64_t>(tiles.size()), items = s.n * per_image;
  const std::int64_t x_image = s.h * s.w * s.ci, u_image = s.ho * s.wo * s.co;
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && items > 1)
  for (std::int64_t item = 0; item < items; ++item) {
    const std::int64_t n = item / per_image;
    const PixelTile& t = tiles[static_cast<std::size_t>(item % per_image)];
    for (std::int64_t c0 = 0; c0 < s.ci; c0 += v * kLanes) {
      kernels[t.size](s, u + n * u_image, wt, x + n * x_image, t, taps.data(), c0);
    }
  }
}

}  // namespace

bool have_direct_conv() {
  static const bool have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  return have;
}

// The forward convolution: 1-4 input channels and Co a multiple of 16; the transposed one: Ci a
// multiple of 16; the weight gradient: Co a multiple of 64.
bool direct_conv_fits(const ConvShape& s, ConvKind kind) {
  if (s.ci <= 0 || s.n <= 0 || s.co <= 0) return false;
  switch (kind) {
    case ConvKind::forward: return s.ci <= kThinChannels && s.co % kLanes == 0;
    case ConvKind::transpose: return s.ci % kLanes == 0;
    case ConvKind::weight: return s.co % kTileCo == 0;
  }
  return false;
}

// Measured on an AMD Zen 5 at the DCGANs' layers, 1 and 2 threads (docs/performance.md, "tape's
// direct kernels"; other AVX-512 processors are untested). The weight gradient is faster than the
// im2col + GEMM one on every layer it fits with 5+ input channels (1.1-1.4x on one thread,
// 1.0-2.4x on two) and than oneDNN's on the strided ones (1.2-1.6x; equal at stride 1); on 1-4
// input channels oneDNN's is 2x faster (conv_uses_onednn). The thin forward convolution is
// 1.1-1.2x oneDNN's on one thread, 1.1-1.4x on two. The transposed one is 1.1x oneDNN's on
// strided layers into 14x14 or more; into 7x7 and at stride 1 its blocks of pixels that share
// taps are too small to fill its tiles, and it loses (0.5-1.0x).
bool conv_uses_direct(const ConvShape& s, ConvKind kind) {
  if (!have_direct_conv() || !direct_conv_fits(s, kind)) return false;
  switch (kind) {
    case ConvKind::forward: return true;
    case ConvKind::transpose: return s.sh > 1 && s.sw > 1 && s.h * s.w >= 14 * 14;
    case ConvKind::weight: return s.ci > kThinChannels;
  }
  return false;
}

namespace {

// w[kh, kw, Ci, Co] = conv2d_weight_grad(x[N, H, W, Ci], u[N, Ho, Wo, Co]): each thread takes an
// equal contiguous share of the images into its own partial w (thread 0 into w itself), summed in
// thread order at the end: the images of a share depend only on the thread count, so the bits
// repeat for a given thread count (as the GEMM path's do).
void direct_weight(const ConvShape& s, const float* x, const float* u, float* w) {
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
}

}  // namespace

bool direct_conv(ConvKind kind, const ConvShape& s, const float* a, const float* b, float* out) {
  if (!have_direct_conv() || !direct_conv_fits(s, kind)) return false;
  switch (kind) {
    case ConvKind::forward: thin_forward(s, a, b, out); break;
    case ConvKind::transpose: direct_transpose(s, a, b, out); break;
    case ConvKind::weight: direct_weight(s, a, b, out); break;
  }
  return true;
}

#else

bool have_direct_conv() { return false; }
bool direct_conv_fits(const ConvShape&, ConvKind) { return false; }
bool conv_uses_direct(const ConvShape&, ConvKind) { return false; }
bool direct_conv(ConvKind, const ConvShape&, const float*, const float*, float*) { return false; }

#endif

}  // namespace tape::kernels
