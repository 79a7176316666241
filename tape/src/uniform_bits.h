// Internal: the generator's uniform draws as 53-bit integers, in parallel from Philox blocks.
// Tensor::uniform and dropout's mask both read them, so both see the same numbers.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/kernels.h"
#include "tape/random.h"

namespace tape::detail {

// Calls put(i, bits) for i < n with the integers behind the generator's next n uniform() draws
// (u_i = bits * 2^-53): one by one up to a block boundary, then from Philox blocks in parallel,
// two draws per block. The generator ends in the state n uniform() calls would leave.
template <class Put>
void for_each_uniform_bits(std::int64_t n, Generator& gen, Put put) {
  std::int64_t i = 0;
  for (; i < n && gen.state().index != 4; ++i) put(i, gen.next_u64() >> 11);
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
    for (std::int64_t b = b0; b < b0 + count; ++b) {
      const std::uint32_t* wb = w + 4 * (b - b0);
      put(i + 2 * b, ((static_cast<std::uint64_t>(wb[0]) << 32) | wb[1]) >> 11);
      if (2 * b + 1 < rest) put(i + 2 * b + 1, ((static_cast<std::uint64_t>(wb[2]) << 32) | wb[3]) >> 11);
    }
  }
  gen.set_state({start.seed, start.counter + static_cast<std::uint64_t>(blocks), rest % 2 == 0 ? 4u : 2u});
}

}  // namespace tape::detail
