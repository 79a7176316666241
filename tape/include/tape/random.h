// Generator: an explicit, seeded, counter-based (Philox4x32-10) random number generator.
// Every random draw in tape takes a Generator; there is no global one.
#pragma once
#include <array>
#include <cstdint>

namespace tape {

// The complete state of a Generator, for checkpoints: the same state gives the same numbers.
struct GeneratorState {
  std::uint64_t seed = 0;
  std::uint64_t counter = 0;  // index of the next 128-bit Philox block
  std::uint32_t index = 4;    // position inside the current block (4 = exhausted)
  bool operator==(const GeneratorState&) const = default;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0);

  std::uint32_t next_u32();
  std::uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Standard normal (Box-Muller; the same numbers on every platform).
  double normal();
  // A new generator whose stream is independent of this one (derived from the next draw).
  Generator split();
  // Skips the next `words` 32-bit words in O(1): afterwards the generator is where `words` calls of
  // next_u32() would have left it (a uniform draw takes two words; data-parallel shards skip the
  // draws of the other shards with it).
  void discard(std::uint64_t words);

  GeneratorState state() const;
  void set_state(const GeneratorState& state);

  // The raw Philox4x32-10 block for (seed, counter): four 32-bit words.
  static std::array<std::uint32_t, 4> philox_block(std::uint64_t seed, std::uint64_t counter);
  // Blocks counter, counter + 1, ..., counter + count - 1 into out[4 * count], vectorized: the
  // same words as philox_block, several times faster.
  static void philox_blocks(std::uint64_t seed, std::uint64_t counter, std::int64_t count, std::uint32_t* out);

 private:
  void refill();
  GeneratorState state_;
  std::array<std::uint32_t, 4> block_{};
};

}  // namespace tape
