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

namespace {

template <class T>
struct AdamBuffers {
  const T *w, *g, *m, *v;
  T *w_out, *m_out, *v_out;
};
template <class T>
struct AdamConstants {
  T b1, b2, a1, a2, step, inv_c2, eps;
};

// Elements [b, e) of one Adam update; the outputs never alias the inputs, so the loop vectorizes.
template <class T>
void adam_range(AdamBuffers<T> p, AdamConstants<T> k, std::int64_t b, std::int64_t e) {
  const T* __restrict w = p.w;
  const T* __restrict g = p.g;
  const T* __restrict m = p.m;
  const T* __restrict v = p.v;
  T* __restrict w_out = p.w_out;
  T* __restrict m_out = p.m_out;
  T* __restrict v_out = p.v_out;
#pragma omp simd
  for (std::int64_t i = b; i < e; ++i) {
    const T gi = g[i], mi = m[i] * k.b1 + gi * k.a1, vi = v[i] * k.b2 + (gi * gi) * k.a2;
    m_out[i] = mi;
    v_out[i] = vi;
    w_out[i] = w[i] - (mi * k.step) / (std::sqrt(vi * k.inv_c2) + k.eps);
  }
}

}  // namespace

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
      adam_range<T>({pw, pg, pm, pv, ow, om, ov}, {b1, b2, a1, a2, step, inv_c2, eps}, b, e);
    });
  });
  return out;
}

}  // namespace tape
