// Internal: the generator's uniform draws as 53-bit integers, in parallel from Philox blocks.
// Tensor::uniform and dropout's mask both read them, so both see the same numbers.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/kernels.h"
#include "tape/random.h"

namespace tape::detail {

// The 53 random bits of a draw from two Philox words, and the draw in [0, 1) they stand for (as
// Generator::uniform() makes it).
inline std::uint64_t bits53(std::uint32_t hi, std::uint32_t lo) {
  return ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
}
inline double unit53(std::uint64_t bits) { return static_cast<double>(bits) * 0x1.0p-53; }

// The smallest k with T(unit53(k)) > T(threshold): for a draw u = unit53(bits) in dtype T,
// u > threshold exactly when bits >= k (rounding to T is monotonic). 2^53 when no draw is above
// it (T(threshold) rounds to 1 or more).
template <class T>
std::uint64_t first_bits_above(double threshold) {
  const T r = static_cast<T>(threshold);
  std::uint64_t lo = 0, hi = std::uint64_t{1} << 53;  // invariant: lo not above (or lo = 0), hi above (or 2^53)
  if (static_cast<T>(unit53(0)) > r) return 0;
  while (hi - lo > 1) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    (static_cast<T>(unit53(mid)) > r ? hi : lo) = mid;
  }
  return hi;
}

// Calls put(i, bits) for i < n with the integers behind the generator's next n uniform() draws
// (u_i = bits * 2^-53): one by one up to a block boundary, then from Philox blocks in parallel,
// two draws per block, in no particular order and under `omp simd` (put must only write element
// i). The generator ends in the state n uniform() calls would leave.
template <class Put>
void for_each_uniform_bits(std::int64_t n, Generator& gen, Put put) {
  std::int64_t i = 0;
  for (; i < n && gen.state().index != 4; ++i) put(i, gen.next_u64() >> 11);  // = bits53 of the next two words
  const std::int64_t rest = n - i;
  if (rest <= 0) return;
  const GeneratorState start = gen.state();
  const std::int64_t blocks = (rest + 1) / 2;
  constexpr std::int64_t kBatch = 256;  // blocks per philox_blocks call (4 KiB of words)
#pragma omp parallel for schedule(static) if (rest >= 2 * kernels::kParallelGrain)
  for (std::int64_t b0 = 0; b0 < blocks; b0 += kBatch) {
    std::uint32_t w[4 * kBatch];
    const std::int64_t count = std::min(kBatch, blocks - b0);
    Generator::philox_blocks(start.seed, start.counter + static_cast<std::uint64_t>(b0), count, w);
    // draw e of this batch is words 2e and 2e + 1: one flat loop, which vectorizes (on a copy
    // of put, whose captures a byte store could otherwise alias)
    const std::int64_t draws = std::min(2 * count, rest - 2 * b0);
    Put local = put;
#pragma omp simd
    for (std::int64_t e = 0; e < draws; ++e) local(i + 2 * b0 + e, bits53(w[2 * e], w[2 * e + 1]));
  }
  gen.set_state({start.seed, start.counter + static_cast<std::uint64_t>(blocks), rest % 2 == 0 ? 4u : 2u});
}

}  // namespace tape::detail
