// tape's cache of tensor buffers. A training loop makes the same tensors every iteration; freed
// buffers of 32 KiB and more are kept by size class and handed to the next tensor of that class,
// so the loop stops paying the kernel for fresh pages (page faults and zeroing) every time.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tape {

struct BufferPoolStats {
  std::size_t cached_bytes = 0;    // held for reuse now
  std::size_t cached_buffers = 0;
  std::size_t limit_bytes = 0;     // the cap on cached_bytes
  std::uint64_t hits = 0;          // allocations served from the cache
  std::uint64_t misses = 0;        // pooled-size allocations that had to go to the system
  std::size_t in_use_bytes = 0;    // held by live tensors and kernel scratch now (all sizes)
  std::size_t peak_in_use_bytes = 0;  // the most in_use_bytes has been since the last reset
};
BufferPoolStats buffer_pool_stats();

// Starts a new peak: peak_in_use_bytes becomes in_use_bytes.
void reset_peak_in_use();

// Caps the bytes the cache may hold (default 1 GiB, or TAPE_BUFFER_POOL_MB from the environment);
// 0 turns caching off. Lowering the cap frees what is above it.
void set_buffer_pool_limit(std::size_t bytes);

// Returns every cached buffer to the system (e.g. after training, before a memory-hungry phase).
void release_cached_buffers();

}  // namespace tape
