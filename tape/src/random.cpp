// Generator: Philox4x32-10 (Salmon et al., SC'11) keyed by the seed, with a 64-bit block counter.
#include "tape/random.h"

#include "kernels/hot_loop.h"

#include <algorithm>
#include <cmath>
#include <numbers>

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
