// The tensor buffer cache: freed large buffers come back to the next tensor of their size class,
// small ones and anything above the limit go to the system, and the size classes waste at most
// 12.5%.
#include <catch2/catch.hpp>

#include "buffer_pool.h"
#include "tape/tape.h"

using tape::Tensor;

namespace {

// Sets the cache's limit for a scope, then restores the previous one.
class PoolLimit {
 public:
  explicit PoolLimit(std::size_t bytes) : previous_(tape::buffer_pool_stats().limit_bytes) {
    tape::set_buffer_pool_limit(bytes);
  }
  ~PoolLimit() { tape::set_buffer_pool_limit(previous_); }

 private:
  std::size_t previous_;
};

}  // namespace

TEST_CASE("size classes round up by at most an eighth and keep 64-byte multiples", "[memory]") {
  for (std::size_t bytes : {1ul, 63ul, 64ul, 1000ul, 262144ul, 262145ul, 300000ul, 1ul << 20, (1ul << 20) + 1, 6422528ul}) {
    const std::size_t size = tape::detail::pool_size_class(bytes);
    INFO(bytes << " -> " << size);
    REQUIRE(size >= bytes);
    REQUIRE(size % 64 == 0);
    REQUIRE(size <= bytes + bytes / 8 + 64);
  }
}

TEST_CASE("a freed large buffer is reused by the next tensor of its size class", "[memory]") {
  const PoolLimit limit(std::size_t{64} << 20);
  tape::release_cached_buffers();
  const void* first = nullptr;
  {
    const Tensor a = Tensor::zeros({512, 512});  // 1 MiB
    first = a.raw_data();
  }
  const tape::BufferPoolStats after_free = tape::buffer_pool_stats();
  REQUIRE(after_free.cached_buffers == 1);
  REQUIRE(after_free.cached_bytes >= 512 * 512 * 4);
  const Tensor b = Tensor::ones({512, 512});
  REQUIRE(b.raw_data() == first);
  REQUIRE(tape::buffer_pool_stats().hits == after_free.hits + 1);
  REQUIRE(tape::buffer_pool_stats().cached_buffers == 0);
  REQUIRE(b.to_vector<float>()[12345] == 1.0f);  // reused memory is fully overwritten
}

TEST_CASE("small buffers, a zero limit and release_cached_buffers keep nothing", "[memory]") {
  {
    const PoolLimit limit(std::size_t{64} << 20);
    tape::release_cached_buffers();
    { const Tensor small = Tensor::zeros({100}); }
    REQUIRE(tape::buffer_pool_stats().cached_buffers == 0);
    { const Tensor big = Tensor::zeros({1 << 20}); }
    REQUIRE(tape::buffer_pool_stats().cached_buffers == 1);
    tape::release_cached_buffers();
    REQUIRE(tape::buffer_pool_stats().cached_bytes == 0);
  }
  const PoolLimit off(0);
  { const Tensor big = Tensor::zeros({1 << 20}); }
  REQUIRE(tape::buffer_pool_stats().cached_buffers == 0);
  REQUIRE(tape::buffer_pool_stats().limit_bytes == 0);
}

TEST_CASE("in-use bytes follow live tensors and the peak keeps their high-water mark", "[memory]") {
  const std::size_t before = tape::buffer_pool_stats().in_use_bytes;
  tape::reset_peak_in_use();
  REQUIRE(tape::buffer_pool_stats().peak_in_use_bytes == before);
  const std::size_t big = tape::detail::pool_size_class(1 << 20), small = tape::detail::pool_size_class(400);
  {
    const Tensor a = Tensor::zeros({1 << 18});  // 1 MiB of float32
    const Tensor b = Tensor::zeros({100});      // 400 bytes
    REQUIRE(tape::buffer_pool_stats().in_use_bytes == before + big + small);
  }
  const tape::BufferPoolStats after = tape::buffer_pool_stats();
  REQUIRE(after.in_use_bytes == before);
  REQUIRE(after.peak_in_use_bytes == before + big + small);
  tape::reset_peak_in_use();
  REQUIRE(tape::buffer_pool_stats().peak_in_use_bytes == before);
}
