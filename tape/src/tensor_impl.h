// Internal: the storage behind a Tensor, its construction helpers and the dtype dispatcher.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "tape/tensor.h"

namespace tape::detail {

// An aligned heap buffer shared by every Tensor that aliases it.
struct Storage {
  explicit Storage(std::size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  std::size_t bytes = 0;
};

struct TensorImpl {
  Shape shape;
  DType dtype = DType::f32;
  std::shared_ptr<Storage> storage;
  TensorId id = 0;
};

TensorId next_tensor_id();

// A new tensor with uninitialized contents, to be filled by a kernel before it is handed out.
Tensor empty(const Shape& shape, DType dtype);
// A new tensor (new id) sharing x's storage under another shape of the same numel.
Tensor alias(const Tensor& x, const Shape& shape);
// Writable pointer into a tensor the caller just created with empty().
template <class T>
T* mutable_data(const Tensor& t) {
  return static_cast<T*>(t.impl()->storage->data);
}
void* mutable_raw(const Tensor& t);

// Calls f.template operator()<T>() with T = float or double according to dtype.
template <class F>
decltype(auto) dispatch(DType dtype, F&& f) {
  if (dtype == DType::f64) return f.template operator()<double>();
  return f.template operator()<float>();
}

}  // namespace tape::detail
