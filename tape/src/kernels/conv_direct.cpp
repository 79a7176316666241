// tape's own float32 convolution kernels for AVX-512 processors, none multiplying the padding's
// zeros and none needing an im2col matrix: the weight gradient as register-blocked outer products
// over the positions that land inside the input, and the forward and transposed convolutions as
// register-blocked tiles of output pixels over exactly the taps that reach them. Compiled for
// AVX-512 whatever the build's -march and run only when the processor has it (have_direct_conv).
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

// The fewest tiles of at most kRows rows that a run of `run` elements makes; cut as evenly as
// they go, the smallest holds run / row_tiles(run) rows.
std::int64_t row_tiles(std::int64_t run) { return (run + kRows - 1) / kRows; }

// w (+)= the weight gradient over images [n_begin, n_end), every tile chunk by chunk. A kernel
// row is `columns` runs of `run` consecutive input elements, each run cut into row_tiles(run)
// even tiles: for x as it is, kw runs of its Ci channels (tap j's); for a thin x padded in width
// (thin_weight_images), one run of kw * Ci elements, every tap of the row with all its channels.
void weight_images(const ConvShape& s, std::int64_t columns, std::int64_t run, const float* x, const float* u,
                   float* w, std::int64_t n_begin, std::int64_t n_end) {
  const std::int64_t c_tiles = row_tiles(run), o_tiles = s.co / kTileCo;
  const std::int64_t tiles = s.kh * columns * c_tiles * o_tiles;
  const std::int64_t chunk = std::max<std::int64_t>(1, kChunkPositions / std::max<std::int64_t>(1, s.ho * s.wo));
  for (std::int64_t n0 = n_begin; n0 < n_end; n0 += chunk) {
    const std::int64_t n1 = std::min(n_end, n0 + chunk);
    for (std::int64_t t = 0; t < tiles; ++t) {
      const std::int64_t c_tile = t % c_tiles, j = (t / c_tiles) % columns, i = (t / (c_tiles * columns)) % s.kh;
      const std::int64_t o_tile = t / (c_tiles * columns * s.kh);
      const std::int64_t c0 = run * c_tile / c_tiles, rows = run * (c_tile + 1) / c_tiles - c0;
      kTiles[rows](s, x, u, w, i, j, c0, o_tile * kTileCo, n0, n1, n0 > n_begin);
    }
  }
}

// The width of a thin input's padded copy: pl zero columns, then x, then zeros up to the last
// column a tap reads.
std::int64_t padded_width(const ConvShape& s) { return std::max(s.w + s.pl, (s.wo - 1) * s.sw + s.kw); }

// The weight gradient of a thin input (1-4 channels), whose taps would make tiles of 1-4 rows
// (a broadcast and 4 loads of u per 4 FMAs): x's images [n_begin, n_end) copied into `padded`
// [N, H, Wp, Ci] with pl zero columns on the left and zeros after, wide enough that every tap
// of a kernel row lands inside it; then a kernel row's taps and channels are consecutive
// elements of the copy, in even tiles of up to 6 (w's rows for consecutive (j, c) are
// consecutive too). Rows of taps outside the input are still skipped; the zero columns add nothing.
void thin_weight_images(const ConvShape& s, const float* x, const float* u, float* w, float* padded,
                        std::int64_t n_begin, std::int64_t n_end) {
  ConvShape wide = s;
  wide.w = padded_width(s);
  wide.pl = 0;
  const std::int64_t row = s.w * s.ci, wide_row = wide.w * s.ci, left = s.pl * s.ci;
  for (std::int64_t r = n_begin * s.h; r < n_end * s.h; ++r) {
    float* out = padded + r * wide_row;
    const std::int64_t first = std::clamp<std::int64_t>(left, 0, wide_row);  // a negative pl drops columns
    const std::int64_t skip = std::max<std::int64_t>(0, -left);
    const std::int64_t count = std::clamp<std::int64_t>(row - skip, 0, wide_row - first);
    std::fill(out, out + first, 0.0f);
    std::copy(x + r * row + skip, x + r * row + skip + count, out + first);
    std::fill(out + first + count, out + wide_row, 0.0f);
  }
  weight_images(wide, 1, s.kw * s.ci, padded, u, w, n_begin, n_end);
}

// ---------------- forward and transposed: gathered pixels ----------------
//
// Both convolutions compute each output pixel whole as a sum over the taps that reach it inside
// the input, of a K-long dot product per tap: forward, y[oh, ow, :] = sum over (i, j) and the
// input channels c of x[ih, iw, c] w[i, j, c, :]; transposed, x[ih, iw, :] = sum over (i, j) and
// the output channels o of u[oh, ow, o] w'[i, j, o, :] with w' = w's last two axes swapped.
// Pixels whose taps are the same along both axes form blocks, cut into tiles of up to 8 pixels
// (6 for 64 channels a tile) that run one register-blocked kernel: no padding zeros multiplied,
// no im2col.

constexpr std::int64_t kThinChannels = 4;  // input channels of a thin layer (conv_uses_direct)
constexpr std::int64_t kThinRows = 5;      // rows a thin weight gradient's tiles need (conv_uses_direct)
constexpr int kAccumulators = 24;          // zmm accumulators of a tile (R x V)
constexpr int kTilePixels = 8;             // pixels a tile at most

// The widest tile for V vectors of output channels.
constexpr int tile_pixels(int v) { return std::min(kAccumulators / v, kTilePixels); }

// One tap, or a row of taps, as a tile runs it: where its weights start, how far the first input
// element it reads lies from the pixel's base element, and K, the length of its dot product
// (consecutive input elements against weight vectors `w_stride` apart).
struct TapStep {
  std::int64_t w, in, k;
};

// R pixels that share their taps: each one's offset in an image of the output and, for its base
// element, of the input; and its block's taps.
struct PixelTile {
  int size;
  std::int64_t out[kTilePixels], in[kTilePixels];
  std::int64_t first_tap, tap_count;  // in the call's TapStep list
};

// Where a tile reads and writes: the images, the weights (a tap's weight vectors `w_stride`
// apart), and the output channels' block.
struct Gather {
  const float* in;
  const float* w;
  float* out;
  const TapStep* taps;
  std::int64_t w_stride, c0;
  const float* bias;  // [out channels], added as the tile is stored; or null
};

// out[pixel r, c0 .. c0+16V) for r < R = sum over the tile's taps, in order, and k < tap.k of
// in[pixel's base + tap.in + k] w[tap.w + k w_stride + c0 ..] (+ bias[c0 ..]): R x V
// accumulators, the weights' V vectors loaded once a tap and k, the input's R values broadcast.
template <int R, int V>
TAPE_AVX512 void gather_tile(const Gather& g, const PixelTile& t) {
  __m512 acc[R][V];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (std::int64_t a = 0; a < t.tap_count; ++a) {
    const TapStep& tap = g.taps[t.first_tap + a];
    const float* ip[R];
    for (int r = 0; r < R; ++r) ip[r] = g.in + (t.in[r] + tap.in);  // (a base may lie before the image)
    const float* wp = g.w + tap.w + g.c0;
    for (std::int64_t k = 0; k < tap.k; ++k, wp += g.w_stride) {
      __m512 wv[V];
      for (int v = 0; v < V; ++v) wv[v] = _mm512_loadu_ps(wp + v * kLanes);
      for (int r = 0; r < R; ++r) {
        const __m512 b = _mm512_set1_ps(ip[r][k]);
        for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(b, wv[v], acc[r][v]);
      }
    }
  }
  if (g.bias != nullptr) {
    for (int v = 0; v < V; ++v) {
      const __m512 b = _mm512_loadu_ps(g.bias + g.c0 + v * kLanes);
      for (int r = 0; r < R; ++r) acc[r][v] = _mm512_add_ps(acc[r][v], b);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(g.out + t.out[r] + g.c0 + v * kLanes, acc[r][v]);
  }
}

using GatherTileFn = void (*)(const Gather&, const PixelTile&);
using GatherTiles = std::array<GatherTileFn, kTilePixels + 1>;  // [R]: R pixels; null past the widest

template <int V, int... R>
constexpr GatherTiles gather_tiles(std::integer_sequence<int, R...>) {
  return {nullptr, (R < tile_pixels(V) ? gather_tile<std::min(R + 1, tile_pixels(V)), V> : nullptr)...};
}

// [V - 1][R]: the tiles of V vectors of output channels.
constexpr auto kPixelCounts = std::make_integer_sequence<int, kTilePixels>{};
constexpr GatherTiles kGatherTiles[4] = {gather_tiles<1>(kPixelCounts), gather_tiles<2>(kPixelCounts),
                                         gather_tiles<3>(kPixelCounts), gather_tiles<4>(kPixelCounts)};

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

// The output positions of one axis grouped by the taps that reach them inside the input: each
// group's taps (tap t, and the input position it reads less the output position's base) and
// its positions with their bases.
struct AxisGroup {
  std::vector<std::pair<std::int64_t, std::int64_t>> taps;  // (t, input position - base)
  std::vector<std::pair<std::int64_t, std::int64_t>> positions;  // (p, base)
};

// One axis of conv(x[extent_x] -> y[extent_y], `size` taps, stride, pad): `forward` groups y's
// positions (tap t of y position p reads x at p stride - pad + t), else x's (x position p gets
// tap t from y position (p + pad - t) / stride, where that divides).
std::vector<AxisGroup> axis_groups(bool forward, std::int64_t extent_x, std::int64_t extent_y, std::int64_t size,
                                   std::int64_t stride, std::int64_t pad) {
  std::vector<AxisGroup> groups;
  for (std::int64_t p = 0; p < (forward ? extent_y : extent_x); ++p) {
    const std::int64_t base = forward ? p * stride - pad : floor_div(p + pad, stride);
    AxisGroup g;
    for (std::int64_t t = 0; t < size; ++t) {
      if (forward) {
        if (base + t >= 0 && base + t < extent_x) g.taps.emplace_back(t, t);
        continue;
      }
      const std::int64_t q = p + pad - t, o = floor_div(q, stride);
      if (o * stride == q && o >= 0 && o < extent_y) g.taps.emplace_back(t, o - base);
    }
    auto same = std::find_if(groups.begin(), groups.end(), [&](const AxisGroup& h) { return h.taps == g.taps; });
    if (same == groups.end()) same = groups.insert(groups.end(), std::move(g));
    same->positions.emplace_back(p, base);
  }
  return groups;
}

// Where the output and the input of `kind` (forward: y from x; transposed: x from u) lie: an
// image's width, channels and size of each.
struct GatherSides {
  std::int64_t in_w, in_c, in_image, out_w, out_c, out_image;
};
GatherSides gather_sides(const ConvShape& s, ConvKind kind) {
  const std::int64_t x_image = s.h * s.w * s.ci, y_image = s.ho * s.wo * s.co;
  return kind == ConvKind::forward ? GatherSides{s.w, s.ci, x_image, s.wo, s.co, y_image}
                                   : GatherSides{s.wo, s.co, y_image, s.w, s.ci, x_image};
}

// A block's tap steps (weights at (i kw + j) Ci Co): forward, one a row of taps i, whose taps j
// read consecutive columns of x, so the row is one dot product over (j, c); transposed, one a
// tap (i, j), a dot product over Co.
void tap_steps(const ConvShape& s, ConvKind kind, const AxisGroup& rows, const AxisGroup& cols,
               std::vector<TapStep>& taps) {
  const GatherSides side = gather_sides(s, kind);
  for (const auto& [i, di] : rows.taps) {
    if (kind != ConvKind::forward) {
      for (const auto& [j, dj] : cols.taps) {
        taps.push_back({(i * s.kw + j) * s.ci * s.co, (di * side.in_w + dj) * side.in_c, s.co});
      }
    } else if (!cols.taps.empty()) {
      const auto [j0, dj0] = cols.taps.front();
      const std::int64_t count = static_cast<std::int64_t>(cols.taps.size());
      taps.push_back({(i * s.kw + j0) * s.ci * s.co, (di * side.in_w + dj0) * side.in_c, count * s.ci});
    }
  }
}

// The tiles of one image of the output of `kind`, and in `taps` each block's tap steps.
std::vector<PixelTile> pixel_tiles(const ConvShape& s, ConvKind kind, int widest, std::vector<TapStep>& taps) {
  const bool forward = kind == ConvKind::forward;
  const GatherSides side = gather_sides(s, kind);
  std::vector<PixelTile> tiles;
  for (const AxisGroup& rows : axis_groups(forward, s.h, s.ho, s.kh, s.sh, s.pt)) {
    for (const AxisGroup& cols : axis_groups(forward, s.w, s.wo, s.kw, s.sw, s.pl)) {
      const std::int64_t first_tap = static_cast<std::int64_t>(taps.size());
      tap_steps(s, kind, rows, cols, taps);
      const std::int64_t tap_count = static_cast<std::int64_t>(taps.size()) - first_tap;
      const std::int64_t width = static_cast<std::int64_t>(cols.positions.size());
      const std::int64_t pixels = static_cast<std::int64_t>(rows.positions.size()) * width;
      even_tiles(pixels, widest, [&](std::int64_t first, std::int64_t size) {
        PixelTile t{static_cast<int>(size), {}, {}, first_tap, tap_count};
        for (std::int64_t r = 0; r < size; ++r) {
          const auto [ph, bh] = rows.positions[static_cast<std::size_t>((first + r) / width)];
          const auto [pw, bw] = cols.positions[static_cast<std::size_t>((first + r) % width)];
          t.out[r] = (ph * side.out_w + pw) * side.out_c;
          t.in[r] = (bh * side.in_w + bw) * side.in_c;
        }
        tiles.push_back(t);
      });
    }
  }
  return tiles;
}

// y[N, Ho, Wo, Co] from x[N, H, W, Ci] and w[kh, kw, Ci, Co] (forward), or x[N, H, W, Ci] from
// u[N, Ho, Wo, Co] and w'[kh, kw, Co, Ci] (transposed; a tap and output channel's Ci weights
// contiguous): every pixel whole in one tile; the threads share the (image, tile) pairs, so the
// bits depend neither on the thread count nor on the batch.
void gather(const ConvShape& s, ConvKind kind, const float* in, const float* w, float* out, const float* bias) {
  const GatherSides side = gather_sides(s, kind);
  const int v = side.out_c % kTileCo == 0 ? 4 : side.out_c % 48 == 0 ? 3 : side.out_c % 32 == 0 ? 2 : 1;
  std::vector<TapStep> taps;
  const std::vector<PixelTile> tiles = pixel_tiles(s, kind, tile_pixels(v), taps);
  const GatherTiles& kernels = kGatherTiles[v - 1];
  const std::int64_t per_image = static_cast<std::int64_t>(tiles.size()), items = s.n * per_image;
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && items > 1)
  for (std::int64_t item = 0; item < items; ++item) {
    const std::int64_t n = item / per_image;
    const PixelTile& t = tiles[static_cast<std::size_t>(item % per_image)];
    for (std::int64_t c0 = 0; c0 < side.out_c; c0 += v * kLanes) {
      const Gather g{in + n * side.in_image, w, out + n * side.out_image, taps.data(), side.out_c, c0, bias};
      kernels[t.size](g, t);
    }
  }
}

// x[N, H, W, Ci] = conv_transpose2d(u[N, Ho, Wo, Co], w[kh, kw, Ci, Co]) (+ bias[Ci]) through w'.
void direct_transpose(const ConvShape& s, const float* u, const float* w, float* x, const float* bias) {
  const std::int64_t taps = s.kh * s.kw;
  const detail::ScratchBuffer<float> packed(static_cast<std::size_t>(taps * s.ci * s.co));
  transpose_tap_blocks(w, packed.data(), taps, s.ci, s.co, false);
  gather(s, ConvKind::transpose, u, packed.data(), x, bias);
}

// ---------------- transposed into a thin output: taps as vectors ----------------
//
// Into 1-4 channels the gathered tiles above would hold a fraction of a vector. Instead, for
// each position p of u, the products d[p, t] = sum over o of u[p, o] w[t, o] for all T = kh kw Ci
// taps t = (i, j, c) of w (w's HWIO layout is [T, Co]) run as tiles of R positions times the taps
// in V vectors, w packed as [Co, 16 V] with zeros past T; then each x element sums the products
// of its taps. Each product is one FMA chain over o from zero, and each x element adds its
// products in the order of their positions: as the im2col path's GEMM and col2im take them, so
// the bits are the GEMM path's.

constexpr std::int64_t kThinTaps = 4 * kLanes;  // T at most: V <= 4

// d[r, 0 .. 16V) = sum over o < co, in order, of u[p_r, o] wt[o, ..] for the R positions from
// `u` on (co apart): R x V accumulators, wt's V vectors loaded once an o, u's R values broadcast.
template <int R, int V>
TAPE_AVX512 void thin_transpose_tile(const float* u, const float* wt, std::int64_t co, float* d) {
  __m512 acc[R][V];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (std::int64_t o = 0; o < co; ++o, wt += V * kLanes) {
    __m512 wv[V];
    for (int v = 0; v < V; ++v) wv[v] = _mm512_loadu_ps(wt + v * kLanes);
    for (int r = 0; r < R; ++r) {
      const __m512 b = _mm512_set1_ps(u[r * co + o]);
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(b, wv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(d + (r * V + v) * kLanes, acc[r][v]);
  }
}

// The positions of a tile for V vectors of taps: 24 accumulators, at most 12 positions.
constexpr int thin_positions(int v) { return std::min(kAccumulators / v, 12); }

using ThinTileFn = void (*)(const float*, const float*, std::int64_t, float*);
template <int V, int... R>
constexpr std::array<ThinTileFn, 13> thin_tiles(std::integer_sequence<int, R...>) {
  return {nullptr, (R < thin_positions(V) ? thin_transpose_tile<R + 1, V> : nullptr)...};
}
constexpr auto kThinCounts = std::make_integer_sequence<int, 12>{};
constexpr std::array<ThinTileFn, 13> kThinTiles[4] = {thin_tiles<1>(kThinCounts), thin_tiles<2>(kThinCounts),
                                                      thin_tiles<3>(kThinCounts), thin_tiles<4>(kThinCounts)};

// The pixels of x whose taps are the same: where each one's products start in d (its base
// position's), and its taps' offsets from there, in the order their sums take them.
struct ProductBlock {
  std::vector<std::pair<std::int64_t, std::int64_t>> pixels;  // (x offset, d offset)
  std::vector<std::int64_t> taps;                             // d offsets from a pixel's
};

// The blocks of x [H, W, Ci] for products d[p, t] `width` apart: a pixel's taps ordered by their
// positions (oh, then ow, ascending: taps i, then j, descending), as col2im adds them up.
std::vector<ProductBlock> product_blocks(const ConvShape& s, std::int64_t width) {
  std::vector<ProductBlock> blocks;
  for (const AxisGroup& rg : axis_groups(false, s.h, s.ho, s.kh, s.sh, s.pt)) {
    for (const AxisGroup& cg : axis_groups(false, s.w, s.wo, s.kw, s.sw, s.pl)) {
      ProductBlock b;
      for (auto i = rg.taps.rbegin(); i != rg.taps.rend(); ++i) {
        for (auto j = cg.taps.rbegin(); j != cg.taps.rend(); ++j) {
          b.taps.push_back((i->second * s.wo + j->second) * width + (i->first * s.kw + j->first) * s.ci);
        }
      }
      for (const auto& [ih, bh] : rg.positions) {
        for (const auto& [iw, bw] : cg.positions) b.pixels.emplace_back((ih * s.w + iw) * s.ci, (bh * s.wo + bw) * width);
      }
      blocks.push_back(std::move(b));
    }
  }
  return blocks;
}

// Channel c of Q pixels of a block (pixels[0 .. Q)): each the sum from zero of its taps'
// products in the block's order (+ bias), the Q sums interleaved so their additions overlap.
template <int Q>
void sum_pixels(const ProductBlock& b, const std::pair<std::int64_t, std::int64_t>* pixels, std::int64_t c,
                const float* d, float* x, const float* bias) {
  float sum[Q] = {};
  const std::int64_t count = static_cast<std::int64_t>(b.taps.size());
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t tap = b.taps[static_cast<std::size_t>(k)] + c;
    for (int q = 0; q < Q; ++q) sum[q] += d[pixels[q].second + tap];
  }
  for (int q = 0; q < Q; ++q) x[pixels[q].first + c] = bias != nullptr ? sum[q] + bias[c] : sum[q];
}

// x's image from its positions' products d, block by block, 8 pixels at a time.
void gather_products(const std::vector<ProductBlock>& blocks, std::int64_t ci, const float* d, float* x,
                     const float* bias) {
  constexpr std::int64_t kPixels = 8;
  for (const ProductBlock& b : blocks) {
    const std::int64_t pixels = static_cast<std::int64_t>(b.pixels.size());
    for (std::int64_t c = 0; c < ci; ++c) {
      std::int64_t q = 0;
      for (; q + kPixels <= pixels; q += kPixels) sum_pixels<kPixels>(b, b.pixels.data() + q, c, d, x, bias);
      for (; q < pixels; ++q) sum_pixels<1>(b, b.pixels.data() + q, c, d, x, bias);
    }
  }
}

// x[N, H, W, Ci] = conv_transpose2d(u[N, Ho, Wo, Co], w[kh, kw, Ci, Co]) (+ bias[Ci]) for
// kh kw Ci <= 64: the images shared among the threads; an image's products in tiles of
// positions, then gathered into x.
void thin_transpose(const ConvShape& s, const float* u, const float* w, float* x, const float* bias) {
  const std::int64_t taps = s.kh * s.kw * s.ci, v = (taps + kLanes - 1) / kLanes, width = v * kLanes;
  const detail::ScratchBuffer<float> packed(static_cast<std::size_t>(s.co * width));
  float* wt = packed.data();
  for (std::int64_t o = 0; o < s.co; ++o) {
    for (std::int64_t t = 0; t < width; ++t) wt[o * width + t] = t < taps ? w[t * s.co + o] : 0.0f;
  }
  const std::vector<ProductBlock> blocks = product_blocks(s, width);
  const std::int64_t positions = s.ho * s.wo, image = s.h * s.w * s.ci;
  const int threads = image_threads(s.n);
  const detail::ScratchBuffer<float> products(static_cast<std::size_t>(threads * positions * width));
  const int widest = thin_positions(static_cast<int>(v));
  const auto& kernels = kThinTiles[v - 1];
  for_each_image_share(s.n, threads, [&](std::int64_t begin, std::int64_t end, int slot) {
    float* d = products.data() + slot * positions * width;
    for (std::int64_t n = begin; n < end; ++n) {
      for (std::int64_t p0 = 0; p0 < positions; p0 += widest) {
        const std::int64_t count = std::min<std::int64_t>(widest, positions - p0);
        kernels[count](u + (n * positions + p0) * s.co, wt, s.co, d + p0 * width);
      }
      gather_products(blocks, s.ci, d, x + n * image, bias);
    }
  });
}

}  // namespace

bool have_direct_conv() {
  static const bool have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  return have;
}

// The forward convolution: Co a multiple of 16; the transposed one: Ci a multiple of 16, or 1-4
// channels with at most 64 taps (kh kw Ci); the weight gradient: Co a multiple of 64.
bool direct_conv_fits(const ConvShape& s, ConvKind kind) {
  if (s.ci <= 0 || s.n <= 0 || s.co <= 0) return false;
  switch (kind) {
    case ConvKind::forward: return s.co % kLanes == 0;
    case ConvKind::transpose: return s.ci % kLanes == 0 || (s.ci <= kThinChannels && s.kh * s.kw * s.ci <= kThinTaps);
    case ConvKind::weight: return s.co % kTileCo == 0;
  }
  return false;
}

// Measured on an AMD Zen 5 at the DCGANs' layers, 1 and 2 threads (docs/performance.md, "tape's
// direct weight gradient" and "tape's direct forward and transposed convolutions"; other
// AVX-512 processors are untested). The weight gradient is faster than the
// im2col + GEMM one on every layer it fits with 5+ input channels (1.1-1.4x on one thread,
// 1.0-2.4x on two) and than oneDNN's on the strided ones (1.2-1.6x; equal at stride 1). On 1-4
// input channels (padded, a kernel row's taps and channels in tiles; batch 64, 1 and 2 threads)
// it is 1.35x oneDNN's on 28x28x1 k5 and 1.35-1.7x on 28x28x2 k3 (tiles of 5, 6), 1.2-1.25x on
// 32x32x3 k4 (2 x 6), level on 32x32x3 k5 (3 x 5), and 0.7x on tiles of 4 (28x28x1 k4), which
// oneDNN keeps. The forward convolution of 1-4 input
// channels is 1.0-1.1x oneDNN's on one thread, 1.35-1.6x on two; on more it runs level with
// oneDNN's (0.9-1.0x, 1.0-1.2x), which keeps them. The transposed one is 1.1x oneDNN's on one
// thread and 1.25-1.35x on two on strided layers into 14x14 or more; into 7x7 its blocks of
// pixels that share taps are small (level with oneDNN's, 0.8-0.95x the GEMMs), and at stride 1
// it loses (0.5-0.7x oneDNN's); those stay with conv_uses_onednn's rule. Into 1-4 channels
// (thin_transpose; oneDNN's is 3-6x slower than the GEMMs there) it is 1.35-1.6x the im2col
// path on one thread and 1.1-1.3x on two at 28x28x1 (k5 and k4 s2, Co 64 and 32), 1.5x at
// stride 1, level at 32x32x3 k4 (batch 64), with the GEMM path's bits.
bool conv_uses_direct(const ConvShape& s, ConvKind kind) {
  if (!have_direct_conv() || !direct_conv_fits(s, kind)) return false;
  switch (kind) {
    case ConvKind::forward: return s.ci <= kThinChannels;
    case ConvKind::transpose: return s.ci <= kThinChannels || (s.sh > 1 && s.sw > 1 && s.h * s.w >= 14 * 14);
    case ConvKind::weight: return s.ci > kThinChannels || s.kw * s.ci / row_tiles(s.kw * s.ci) >= kThinRows;
  }
  return false;
}

namespace {

// w[kh, kw, Ci, Co] = conv2d_weight_grad(x[N, H, W, Ci], u[N, Ho, Wo, Co]): each thread takes an
// equal contiguous share of the images into its own partial w (thread 0 into w itself), summed in
// thread order at the end: the images of a share depend only on the thread count, so the bits
// repeat for a given thread count (as the GEMM path's do).
void direct_weight(const ConvShape& s, const float* x, const float* u, float* w) {
  const int threads = image_threads(s.n);
  const std::int64_t size = s.kh * s.kw * s.ci * s.co;
  const detail::ScratchBuffer<float> partials(static_cast<std::size_t>(size * (threads - 1)));
  const bool thin = s.ci <= kThinChannels;
  const detail::ScratchBuffer<float> padded(thin ? static_cast<std::size_t>(s.n * s.h * padded_width(s) * s.ci) : 0);
  const int used = for_each_image_share(s.n, threads, [&](std::int64_t begin, std::int64_t end, int slot) {
    float* mine = partial_of(w, partials.data(), size, slot);
    if (thin) {
      thin_weight_images(s, x, u, mine, padded.data(), begin, end);
    } else {
      weight_images(s, s.kw, s.ci, x, u, mine, begin, end);
    }
  });
  add_partials(w, partials.data(), size, used - 1);
}

}  // namespace

bool direct_conv(ConvKind kind, const ConvShape& s, const float* a, const float* b, float* out, const float* bias) {
  if (!have_direct_conv() || !direct_conv_fits(s, kind)) return false;
  switch (kind) {
    case ConvKind::forward: gather(s, ConvKind::forward, a, b, out, bias); break;
    case ConvKind::transpose:
      if (s.ci % kLanes == 0) {
        direct_transpose(s, a, b, out, bias);
      } else {
        thin_transpose(s, a, b, out, bias);
      }
      break;
    case ConvKind::weight: direct_weight(s, a, b, out); break;
  }
  return true;
}

#else

bool have_direct_conv() { return false; }
bool direct_conv_fits(const ConvShape&, ConvKind) { return false; }
bool conv_uses_direct(const ConvShape&, ConvKind) { return false; }
bool direct_conv(ConvKind, const ConvShape&, const float*, const float*, float*, const float*) { return false; }

#endif

}  // namespace tape::kernels
