// Generator: Philox4x32-10 (Salmon et al., SC'11) keyed by the seed, with a 64-bit block counter.
#include "tape/random.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tape {
namespace {

constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

inline void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}

}  // namespace

std::array<std::uint32_t, 4> Generator::philox_block(std::uint64_t seed, std::uint64_t counter) {
  std::array<std::uint32_t, 4> c{static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32),
                                 0u, 0u};
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, c[0], hi0, lo0);
    mulhilo(kMul1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return c;
}

void Generator::philox_blocks(std::uint64_t seed, std::uint64_t counter, std::int64_t count, std::uint32_t* out) {
  // kLanes blocks at a time, each word in a 64-bit lane (upper half zero), so that every round is
  // a few vector 32x32->64 multiplies (vpmuludq) and xors.
  constexpr std::int64_t kLanes = 16;
  constexpr std::uint64_t kLow = 0xFFFFFFFFu;
  for (std::int64_t b0 = 0; b0 < count; b0 += kLanes) {
    std::uint64_t c0[kLanes], c1[kLanes], c2[kLanes] = {}, c3[kLanes] = {};
    for (std::int64_t l = 0; l < kLanes; ++l) {
      const std::uint64_t ctr = counter + static_cast<std::uint64_t>(b0 + l);
      c0[l] = ctr & kLow;
      c1[l] = ctr >> 32;
    }
    std::uint64_t k0 = seed & kLow, k1 = seed >> 32;
    for (int round = 0; round < 10; ++round) {
#pragma omp simd
      for (std::int64_t l = 0; l < kLanes; ++l) {
        const std::uint64_t p0 = (c0[l] & kLow) * kMul0;
        const std::uint64_t p1 = (c2[l] & kLow) * kMul1;
        c0[l] = (p1 >> 32) ^ c1[l] ^ k0;
        c1[l] = p1 & kLow;
        c2[l] = (p0 >> 32) ^ c3[l] ^ k1;
        c3[l] = p0 & kLow;
      }
      k0 = (k0 + kWeyl0) & kLow;
      k1 = (k1 + kWeyl1) & kLow;
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

GeneratorState Generator::state() const { return state_; }

void Generator::set_state(const GeneratorState& state) {
  state_ = state;
  if (state_.index < 4) block_ = philox_block(state_.seed, state_.counter - 1);
}

}  // namespace tape
