// Generator: Philox4x32-10 (Salmon et al., SC'11) keyed by the seed, with a 64-bit block counter.
#include "tape/random.h"

#include "kernels/hot_loop.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace tape {
namespace {

constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

constexpr std::uint64_t kLow = 0xFFFFFFFFu;

// One Philox4x32 round on a block's four words, each held in the low half of a 64-bit word (so a
// loop over many blocks compiles to vector 32x32->64 multiplies); k0, k1 the round's key.
inline void philox_round(std::uint64_t& c0, std::uint64_t& c1, std::uint64_t& c2, std::uint64_t& c3,
                         std::uint64_t k0, std::uint64_t k1) {
  const std::uint64_t p0 = (c0 & kLow) * kMul0;
  const std::uint64_t p1 = (c2 & kLow) * kMul1;
  c0 = (p1 >> 32) ^ c1 ^ k0;
  c1 = p1 & kLow;
  c2 = (p0 >> 32) ^ c3 ^ k1;
  c3 = p0 & kLow;
}

// The next round's key (a Weyl sequence from the seed's two halves).
inline void next_key(std::uint64_t& k0, std::uint64_t& k1) {
  k0 = (k0 + kWeyl0) & kLow;
  k1 = (k1 + kWeyl1) & kLow;
}

}  // namespace

std::array<std::uint32_t, 4> Generator::philox_block(std::uint64_t seed, std::uint64_t counter) {
  std::uint64_t c0 = counter & kLow, c1 = counter >> 32, c2 = 0, c3 = 0;
  std::uint64_t k0 = seed & kLow, k1 = seed >> 32;
  for (int round = 0; round < 10; ++round, next_key(k0, k1)) philox_round(c0, c1, c2, c3, k0, k1);
  return {static_cast<std::uint32_t>(c0), static_cast<std::uint32_t>(c1), static_cast<std::uint32_t>(c2),
          static_cast<std::uint32_t>(c3)};
}

namespace {

#if defined(__AVX512F__)
constexpr std::int64_t kVectors = 4;               // independent 8-block vectors per call: the rounds'
constexpr std::int64_t kBlocksAtOnce = 8 * kVectors;  // latency is hidden by interleaving them

// Blocks counter .. counter + 31 into out[128] with AVX-512, eight blocks to a vector: each
// word in the low half of a 64-bit lane (vpmuludq reads only those halves, so the high halves
// may hold anything until the store).
void philox32(std::uint64_t seed, std::uint64_t counter, std::uint32_t* out) {
  const __m512i mul0 = _mm512_set1_epi64(kMul0), mul1 = _mm512_set1_epi64(kMul1);
  __m512i c0[kVectors], c1[kVectors], c2[kVectors], c3[kVectors];
  for (std::int64_t v = 0; v < kVectors; ++v) {
    const __m512i ctr = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(counter + 8 * v)),
                                         _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    c0[v] = ctr;
    c1[v] = _mm512_srli_epi64(ctr, 32);
    c2[v] = c3[v] = _mm512_setzero_si512();
  }
  std::uint64_t k0 = seed & kLow, k1 = seed >> 32;
  constexpr int kXor3 = 0x96;  // a ^ b ^ c
  for (int round = 0; round < 10; ++round, next_key(k0, k1)) {
    const __m512i key0 = _mm512_set1_epi64(static_cast<long long>(k0)), key1 = _mm512_set1_epi64(static_cast<long long>(k1));
    for (std::int64_t v = 0; v < kVectors; ++v) {
      const __m512i p0 = _mm512_mul_epu32(c0[v], mul0), p1 = _mm512_mul_epu32(c2[v], mul1);
      c0[v] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[v], key0, kXor3);
      c2[v] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[v], key1, kXor3);
      c1[v] = p1;
      c3[v] = p0;
    }
  }
  // words 0 and 1 of each block as one 64-bit lane (low half first), likewise 2 and 3; then
  // the lanes interleaved into block order
  constexpr int kAndOr = 0xEA;  // (a & b) | c
  const __m512i low = _mm512_set1_epi64(kLow);
  for (std::int64_t v = 0; v < kVectors; ++v) {
    const __m512i w01 = _mm512_ternarylogic_epi64(c0[v], low, _mm512_slli_epi64(c1[v], 32), kAndOr);
    const __m512i w23 = _mm512_ternarylogic_epi64(c2[v], low, _mm512_slli_epi64(c3[v], 32), kAndOr);
    std::uint32_t* o = out + 32 * v;
    _mm512_storeu_si512(o, _mm512_permutex2var_epi64(w01, _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), w23));
    _mm512_storeu_si512(o + 16, _mm512_permutex2var_epi64(w01, _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4), w23));
  }
}
#endif

}  // namespace

#if defined(__AVX512F__)
void Generator::philox_blocks(std::uint64_t seed, std::uint64_t counter, std::int64_t count, std::uint32_t* out) {
  std::int64_t b = 0;
  for (; b + kBlocksAtOnce <= count; b += kBlocksAtOnce) philox32(seed, counter + static_cast<std::uint64_t>(b), out + 4 * b);
  if (b == count) return;
  std::uint32_t last[4 * kBlocksAtOnce];
  philox32(seed, counter + static_cast<std::uint64_t>(b), last);
  std::copy(last, last + 4 * (count - b), out + 4 * b);
}
#else
TAPE_HOT_LOOP void Generator::philox_blocks(std::uint64_t seed, std::uint64_t counter, std::int64_t count, std::uint32_t* out) {
  // kLanes blocks at a time, one word of each per array, so that every round is a few vector
  // multiplies and xors over the lanes.
  constexpr std::int64_t kLanes = 16;
  for (std::int64_t b0 = 0; b0 < count; b0 += kLanes) {
    std::uint64_t c0[kLanes], c1[kLanes], c2[kLanes] = {}, c3[kLanes] = {};
    for (std::int64_t l = 0; l < kLanes; ++l) {
      const std::uint64_t ctr = counter + static_cast<std::uint64_t>(b0 + l);
      c0[l] = ctr & kLow;
      c1[l] = ctr >> 32;
    }
    std::uint64_t k0 = seed & kLow, k1 = seed >> 32;
    for (int round = 0; round < 10; ++round, next_key(k0, k1)) {
#pragma omp simd
      for (std::int64_t l = 0; l < kLanes; ++l) philox_round(c0[l], c1[l], c2[l], c3[l], k0, k1);
    }
    for (std::int64_t l = 0; l < std::min(kLanes, count - b0); ++l) {
      std::uint32_t* o = out + 4 * (b0 + l);
      o[0] = static_cast<std::uint32_t>(c0[l]);
      o[1] = static_cast<std::uint32_t>(c1[l]);
      o[2] = static_cast<std::uint32_t>(c2[l]);
      o[3] = static_cast<std::uint32_t>(c3[l]);
    }
  }
}
#endif

Generator::Generator(std::uint64_t seed) { state_.seed = seed; }

void Generator::refill() {
  block_ = philox_block(state_.seed, state_.counter++);
  state_.index = 0;
}

std::uint32_t Generator::next_u32() {
  if (state_.index >= 4) refill();
  return block_[state_.index++];
}

std::uint64_t Generator::next_u64() {
  const std::uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

Generator Generator::split() { return Generator(next_u64()); }

void Generator::discard(std::uint64_t words) {
  // Word position of the next draw: the current block's index, or the start of block `counter`.
  const std::uint64_t position = state_.index >= 4 ? 4 * state_.counter : 4 * (state_.counter - 1) + state_.index;
  const std::uint64_t target = position + words;
  if (target % 4 == 0) {
    set_state({state_.seed, target / 4, 4});
  } else {
    set_state({state_.seed, target / 4 + 1, static_cast<std::uint32_t>(target % 4)});
  }
}

GeneratorState Generator::state() const { return state_; }

void Generator::set_state(const GeneratorState& state) {
  state_ = state;
  if (state_.index < 4) block_ = philox_block(state_.seed, state_.counter - 1);
}

}  // namespace tape
