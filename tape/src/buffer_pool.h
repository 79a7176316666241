// Internal: the allocation entry points of the tensor buffer cache (public controls in
// tape/memory.h). Buffers are 64-byte aligned.
#pragma once
#include <cstddef>

namespace tape::detail {

// The bytes a request of `bytes` really gets (its size class).
std::size_t pool_size_class(std::size_t bytes);
void* pool_allocate(std::size_t bytes);
// `bytes` must be the size given to pool_allocate.
void pool_release(void* buffer, std::size_t bytes);

}  // namespace tape::detail

namespace tape::detail {

// Uninitialized scratch memory for n elements of T from the cache, given back when it dies.
template <class T>
class ScratchBuffer {
 public:
  explicit ScratchBuffer(std::size_t n) : bytes_(n * sizeof(T)), data_(static_cast<T*>(pool_allocate(bytes_))) {}
  ~ScratchBuffer() { pool_release(data_, bytes_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  T* data() const { return data_; }

 private:
  std::size_t bytes_;
  T* data_;
};

}  // namespace tape::detail
