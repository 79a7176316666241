// Variable: named, mutable state (a weight, a running mean) holding a Tensor. A trainable
// Variable read while a tape records is watched by that tape automatically.
#pragma once
#include <memory>
#include <string>

#include "tape/tensor.h"

namespace tape {

namespace detail {
struct VariableImpl;
}

class Variable {
 public:
  Variable() = default;
  explicit Variable(Tensor initial, std::string name = "", bool trainable = true);

  bool defined() const { return impl_ != nullptr; }
  // Reads the current value; active tapes watch it if the Variable is trainable.
  Tensor value() const;
  operator Tensor() const { return value(); }
  // The current value without any watching (for optimizers, checkpoints, printing).
  Tensor peek() const;

  // Replace the value (same shape and dtype, ShapeError/DTypeError otherwise). Not recorded.
  void assign(const Tensor& value);
  void assign_add(const Tensor& delta);
  void assign_sub(const Tensor& delta);

  const std::string& name() const;
  void set_name(std::string name);
  bool trainable() const;
  void set_trainable(bool trainable);
  const Shape& shape() const;
  DType dtype() const;
  // Identity of the variable (copies of the handle share it).
  const void* handle() const { return impl_.get(); }
  bool operator==(const Variable& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<detail::VariableImpl> impl_;
};

}  // namespace tape
