// Variable: named mutable state; reads notify the active tapes (automatic watching).
#include "tape/variable.h"

#include "record.h"
#include "tape/ops.h"

namespace tape {
namespace detail {

struct VariableImpl {
  Tensor value;
  std::string name;
  bool trainable = true;
};

}  // namespace detail

namespace {

void check_same_kind(const Tensor& current, const Tensor& value, const std::string& name, const char* op) {
  if (!value.defined()) throw ValueError(std::string(op) + ": value is undefined; variable '" + name + "'");
  if (value.shape() != current.shape()) {
    throw ShapeError(std::string(op) + ": variable '" + name + "' has shape " + current.shape().to_string() +
                     " but the value has shape " + value.shape().to_string());
  }
  if (value.dtype() != current.dtype()) {
    throw DTypeError(std::string(op) + ": variable '" + name + "' is " + to_string(current.dtype()) +
                     " but the value is " + to_string(value.dtype()) + "; shape=" + value.shape().to_string());
  }
}

}  // namespace

Variable::Variable(Tensor initial, std::string name, bool trainable)
    : impl_(std::make_shared<detail::VariableImpl>()) {
  if (!initial.defined()) throw ValueError("Variable: initial value is undefined; name='" + name + "'");
  // A variable owns its value: later ops on `initial` must not alias the variable's identity.
  impl_->value = stop_gradient(initial);
  impl_->name = std::move(name);
  impl_->trainable = trainable;
}

Tensor Variable::value() const {
  const Tensor& v = peek();
  detail::on_variable_read(*this, v);
  return v;
}

Tensor Variable::peek() const {
  if (!impl_) throw ValueError("Variable: the variable is undefined");
  return impl_->value;
}

void Variable::assign(const Tensor& value) {
  check_same_kind(peek(), value, impl_->name, "Variable::assign");
  impl_->value = stop_gradient(value);
}

void Variable::assign_add(const Tensor& delta) {
  NoRecord no_record;
  assign(add(peek(), delta));
}

void Variable::assign_sub(const Tensor& delta) {
  NoRecord no_record;
  assign(sub(peek(), delta));
}

const std::string& Variable::name() const {
  if (!impl_) throw ValueError("Variable: the variable is undefined");
  return impl_->name;
}
void Variable::set_name(std::string name) { impl_->name = std::move(name); }
bool Variable::trainable() const { return impl_ && impl_->trainable; }
void Variable::set_trainable(bool trainable) { impl_->trainable = trainable; }
const Shape& Variable::shape() const { return peek().shape(); }
DType Variable::dtype() const { return peek().dtype(); }

}  // namespace tape
