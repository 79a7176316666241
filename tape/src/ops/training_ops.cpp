// Optimizer steps as single fused passes (what an optimizer would otherwise spell as a dozen
// elementwise ops, each reading and writing every parameter): adam_step.
#include <cmath>
#include <string>
#include <utility>

#include "kernels/kernels.h"
#include "ops/common.h"
#include "record.h"
#include "tape/ops.h"

namespace tape {

// var[...], grad[...], m[...], v[...] -> var', m', v' (same shapes)
AdamStep adam_step(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& v, double lr, double beta1,
                   double beta2, double epsilon, std::int64_t t) {
  const detail::OpScope op("adam_step");
  for (const auto& [x, name] : {std::pair{&grad, "grad"}, std::pair{&m, "m"}, std::pair{&v, "v"}}) {
    ops_detail::require_same_dtype(op.name(), var, *x, "var", name);
    if (x->shape() != var.shape()) {
      throw ShapeError(std::string("adam_step: ") + name + " has shape " + x->shape().to_string() + ", var " +
                       var.shape().to_string());
    }
  }
  if (t < 1) throw ValueError("adam_step: the step t must be >= 1, got " + std::to_string(t));
  AdamStep out{detail::empty(var.shape(), var.dtype()), detail::empty(var.shape(), var.dtype()),
               detail::empty(var.shape(), var.dtype())};
  const double c1 = 1.0 - std::pow(beta1, static_cast<double>(t)), c2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  detail::dispatch(var.dtype(), [&]<class T>() {
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2), a1 = static_cast<T>(1.0 - beta1);
    const T a2 = static_cast<T>(1.0 - beta2), step = static_cast<T>(lr / c1), inv_c2 = static_cast<T>(1.0 / c2);
    const T eps = static_cast<T>(epsilon);
    const T *pw = var.data<T>(), *pg = grad.data<T>(), *pm = m.data<T>(), *pv = v.data<T>();
    T *ow = detail::mutable_data<T>(out.var), *om = detail::mutable_data<T>(out.m), *ov = detail::mutable_data<T>(out.v);
    kernels::parallel_chunks(var.numel(), [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        const T g = pg[i], mi = pm[i] * b1 + g * a1, vi = pv[i] * b2 + (g * g) * a2;
        om[i] = mi;
        ov[i] = vi;
        ow[i] = pw[i] - (mi * step) / (std::sqrt(vi * inv_c2) + eps);
      }
    });
  });
  return out;
}

}  // namespace tape
