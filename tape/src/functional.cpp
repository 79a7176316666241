// jvp and hvp (see functional.h) from nested GradientTapes.
#include "tape/functional.h"

#include <string>

#include "tape/error.h"
#include "tape/gradient_tape.h"
#include "tape/ops.h"

namespace tape {
namespace {

void check_pairs(const char* op, const std::vector<Tensor>& primals, const std::vector<Tensor>& others,
                 const char* what) {
  if (primals.size() != others.size()) {
    throw ValueError(std::string(op) + ": " + std::to_string(primals.size()) + " primals and " +
                     std::to_string(others.size()) + " " + what);
  }
  for (std::size_t k = 0; k < primals.size(); ++k) {
    const std::string which = std::string(op) + ": input " + std::to_string(k);
    if (!primals[k].defined() || !others[k].defined()) throw ValueError(which + " or its " + what + " is undefined");
    if (primals[k].shape() != others[k].shape()) {
      throw ShapeError(which + " has shape " + primals[k].shape().to_string() + ", its " + what + " " +
                       others[k].shape().to_string());
    }
    if (primals[k].dtype() != others[k].dtype()) {
      throw DTypeError(which + " is " + to_string(primals[k].dtype()) + ", its " + what + " " + to_string(others[k].dtype()));
    }
  }
}

// sum_k <a_k, b_k> over the defined a_k (a scalar of `like`'s dtype; 0 when none is defined).
Tensor inner_product(const std::vector<Tensor>& a, const std::vector<Tensor>& b, const Tensor& like) {
  Tensor total = Tensor::zeros({}, like.dtype());
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].defined()) total = total + sum(a[k] * b[k]);
  }
  return total;
}

}  // namespace

// f: inputs -> y; returns f(x) and J v, y's shape
JvpResult jvp(const DifferentiableFunction& f, const std::vector<Tensor>& primals, const std::vector<Tensor>& tangents) {
  check_pairs("jvp", primals, tangents, "tangents");
  GradientTape inner;
  inner.watch(primals);
  const Tensor y = f(primals);
  if (!y.defined()) throw ValueError("jvp: the function returned an undefined tensor");
  // J^T u as a function of a dummy cotangent u (its value does not matter: J^T u is linear in u),
  // recorded on the outer tape; its gradient with respect to u along v is J v.
  const Tensor u = Tensor::zeros(y.shape(), y.dtype());
  GradientTape outer;
  outer.watch(u);
  const std::vector<Tensor> vjp = inner.gradient(std::vector<Tensor>{y}, primals, {.output_gradients = {u}});
  const Tensor along_v = inner_product(vjp, tangents, y);
  Tensor jv = outer.gradient(along_v, u, {.unconnected = Unconnected::zero});
  return {stop_gradient(y), jv};
}

// f: inputs -> scalar; returns f(x) and H v, one per input
HvpResult hvp(const DifferentiableFunction& f, const std::vector<Tensor>& primals, const std::vector<Tensor>& vectors) {
  check_pairs("hvp", primals, vectors, "vectors");
  GradientTape outer;
  outer.watch(primals);
  GradientTape inner;
  inner.watch(primals);
  const Tensor y = f(primals);
  if (!y.defined()) throw ValueError("hvp: the function returned an undefined tensor");
  const Tensor total = y.rank() == 0 ? y : sum(y);
  const std::vector<Tensor> grads = inner.gradient(total, primals);
  const Tensor along_v = inner_product(grads, vectors, total);
  return {stop_gradient(total), outer.gradient(along_v, primals, {.unconnected = Unconnected::zero})};
}

}  // namespace tape
