// The tensor buffer cache (tape/memory.h): size classes of 1/8 of a power of two (at most 12.5%
// rounding waste), one free list per class under one mutex (taken once per tensor, never per
// element). Buffers under 32 KiB go straight to the system allocator, which handles them well;
// larger ones it may hand back to the kernel on free (top trimming, mmap), and the next
// iteration pays the page faults again. Built with AddressSanitizer, caching is off so that
// use-after-free stays detectable.
#include "buffer_pool.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "tape/memory.h"

#if defined(__SANITIZE_ADDRESS__)
#define TAPE_POOL_DEFAULT_OFF 1
#endif

namespace tape {
namespace {

constexpr std::size_t kMinPooled = 32 * 1024;
constexpr std::size_t kAlignment = 64;

std::size_t default_limit() {
#ifdef TAPE_POOL_DEFAULT_OFF
  return 0;
#else
  if (const char* mb = std::getenv("TAPE_BUFFER_POOL_MB")) {
    try {
      return static_cast<std::size_t>(std::stoull(mb)) << 20;
    } catch (const std::exception&) {
      // an unreadable value keeps the default
    }
  }
  return std::size_t{1} << 30;
#endif
}

struct Pool {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_lists;  // size class -> buffers
  BufferPoolStats stats{0, 0, default_limit(), 0, 0};

  // Frees cached buffers until cached_bytes <= target. Caller holds the mutex.
  void shrink_to(std::size_t target) {
    for (auto it = free_lists.begin(); it != free_lists.end() && stats.cached_bytes > target;) {
      auto& list = it->second;
      while (!list.empty() && stats.cached_bytes > target) {
        std::free(list.back());
        list.pop_back();
        stats.cached_bytes -= it->first;
        --stats.cached_buffers;
      }
      it = list.empty() ? free_lists.erase(it) : std::next(it);
    }
  }
};

// Bytes of every tensor buffer and scratch (pooled or not) in use, and their high-water mark.
std::atomic<std::size_t> g_in_use{0};
std::atomic<std::size_t> g_peak_in_use{0};

void count_in_use(std::size_t size) {
  const std::size_t now = g_in_use.fetch_add(size, std::memory_order_relaxed) + size;
  std::size_t peak = g_peak_in_use.load(std::memory_order_relaxed);
  while (now > peak && !g_peak_in_use.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: tensors in static objects may outlive it
  return *p;
}

void* system_allocate(std::size_t bytes) {
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

namespace detail {

std::size_t pool_size_class(std::size_t bytes) {
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded < kMinPooled) return rounded;
  const std::size_t step = std::bit_floor(rounded) / 8;
  return (rounded + step - 1) / step * step;
}

namespace {

// A cached buffer of this size class, or nullptr.
void* take_cached(std::size_t size) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  auto it = p.free_lists.find(size);
  if (it == p.free_lists.end() || it->second.empty()) {
    ++p.stats.misses;
    return nullptr;
  }
  void* buffer = it->second.back();
  it->second.pop_back();
  p.stats.cached_bytes -= size;
  --p.stats.cached_buffers;
  ++p.stats.hits;
  return buffer;
}

}  // namespace

void* pool_allocate(std::size_t bytes) {
  const std::size_t size = pool_size_class(bytes);
  void* buffer = size >= kMinPooled ? take_cached(size) : nullptr;
  if (buffer == nullptr) buffer = system_allocate(size);
  count_in_use(size);
  return buffer;
}

void pool_release(void* buffer, std::size_t bytes) {
  if (buffer == nullptr) return;
  const std::size_t size = pool_size_class(bytes);
  g_in_use.fetch_sub(size, std::memory_order_relaxed);
  if (size >= kMinPooled) {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    if (p.stats.cached_bytes + size <= p.stats.limit_bytes) {
      p.free_lists[size].push_back(buffer);
      p.stats.cached_bytes += size;
      ++p.stats.cached_buffers;
      return;
    }
  }
  std::free(buffer);
}

}  // namespace detail

BufferPoolStats buffer_pool_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  BufferPoolStats stats = p.stats;
  stats.in_use_bytes = g_in_use.load(std::memory_order_relaxed);
  stats.peak_in_use_bytes = std::max(stats.in_use_bytes, g_peak_in_use.load(std::memory_order_relaxed));
  return stats;
}

void reset_peak_in_use() { g_peak_in_use.store(g_in_use.load(std::memory_order_relaxed), std::memory_order_relaxed); }

void set_buffer_pool_limit(std::size_t bytes) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.stats.limit_bytes = bytes;
  p.shrink_to(bytes);
}

void release_cached_buffers() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.shrink_to(0);
}

}  // namespace tape
