// gradcheck / gradgradcheck: the tape's vector-Jacobian products against central differences.
#include "tape/gradcheck.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "tape/gradient_tape.h"
#include "tape/ops.h"
#include "tensor_impl.h"

namespace tape {
namespace {

double dot(const Tensor& a, const Tensor& b) {
  const double* pa = a.data<double>();
  const double* pb = b.data<double>();
  double s = 0.0;
  for (std::int64_t i = 0; i < a.numel(); ++i) s += pa[i] * pb[i];
  return s;
}

Tensor copy_of(const Tensor& t) { return Tensor::from_data(t.data<double>(), t.shape()); }

void require_f64(const std::vector<Tensor>& inputs, const char* op) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || inputs[i].dtype() != DType::f64) {
      throw DTypeError(std::string(op) + ": input " + std::to_string(i) + " must be a defined float64 tensor");
    }
  }
}

// <f(inputs), v>. No tape is stopped: f may use tapes of its own (gradgradcheck does), and the
// perturbed inputs are private copies no outer tape tracks.
double project(const TestFunction& f, const std::vector<Tensor>& inputs, const Tensor& v) {
  Tensor y = f(inputs);
  if (y.dtype() != DType::f64 || y.shape() != v.shape()) {
    throw ShapeError("gradcheck: the function's output changed shape or dtype between calls; got " +
                     y.shape().to_string() + " " + to_string(y.dtype()));
  }
  return dot(y, v);
}

}  // namespace

GradcheckResult gradcheck(const TestFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  require_f64(inputs, "gradcheck");
  std::vector<Tensor> xs;
  for (const auto& x : inputs) xs.push_back(copy_of(x));
  const Tensor y0 = f(xs);
  if (!y0.defined() || y0.dtype() != DType::f64) throw DTypeError("gradcheck: the function must return float64");
  Generator gen(o.seed);
  const Tensor v = Tensor::normal(y0.shape(), gen, 0.0, 1.0, DType::f64);

  std::vector<Tensor> analytic;
  {
    GradientTape tape;
    tape.watch(xs);
    Tensor y = f(xs);
    analytic = tape.gradient(sum(mul(y, v)), xs, {{}, Unconnected::zero});
  }

  GradcheckResult r;
  double worst_excess = -1.0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    double* p = detail::mutable_data<double>(xs[i]);
    const double* a = analytic[i].data<double>();
    for (std::int64_t j = 0; j < xs[i].numel(); ++j) {
      const double saved = p[j];
      p[j] = saved + o.eps;
      const double plus = project(f, xs, v);
      p[j] = saved - o.eps;
      const double minus = project(f, xs, v);
      p[j] = saved;
      const double numeric = (plus - minus) / (2.0 * o.eps);
      const double err = std::abs(a[j] - numeric);
      const double excess = err - (o.atol + o.rtol * std::abs(numeric));
      r.max_abs_error = std::max(r.max_abs_error, err);
      r.max_rel_error = std::max(r.max_rel_error, err / std::max(std::abs(numeric), 1e-300));
      if (!std::isfinite(a[j]) || !std::isfinite(numeric) || excess > worst_excess) {
        worst_excess = std::isfinite(excess) ? excess : INFINITY;
        r.worst_input = i;
        r.worst_element = j;
        r.worst_analytic = a[j];
        r.worst_numeric = numeric;
      }
    }
  }
  r.ok = worst_excess <= 0.0;
  std::ostringstream os;
  os.precision(10);
  os << (r.ok ? "gradcheck passed" : "gradcheck FAILED") << ": max abs error " << r.max_abs_error
     << ", max rel error " << r.max_rel_error;
  if (r.worst_element >= 0) {
    os << "; worst at input " << r.worst_input << " " << xs[r.worst_input].shape() << " element " << r.worst_element
       << ": analytic " << r.worst_analytic << ", numeric " << r.worst_numeric;
  }
  os << " (eps " << o.eps << ", atol " << o.atol << ", rtol " << o.rtol << ")";
  r.report = os.str();
  return r;
}

GradcheckResult gradgradcheck(const TestFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  require_f64(inputs, "gradgradcheck");
  const Tensor y0 = f(inputs);
  Generator gen(o.seed + 1);
  const Tensor v = Tensor::normal(y0.shape(), gen, 0.0, 1.0, DType::f64);
  const std::size_t n = inputs.size();
  // (inputs..., v) -> concat of flattened d<f(inputs), v>/d inputs, itself differentiable.
  TestFunction first_grad = [&f, n](const std::vector<Tensor>& args) {
    std::vector<Tensor> xs(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n));
    GradientTape inner;
    inner.watch(xs);
    Tensor y = f(xs);
    auto grads = inner.gradient(sum(mul(y, args[n])), xs, {{}, Unconnected::zero});
    std::vector<Tensor> flat;
    for (const auto& g : grads) flat.push_back(reshape(g, {-1}));
    return concat(flat, 0);
  };
  std::vector<Tensor> args(inputs.begin(), inputs.end());
  args.push_back(v);
  GradcheckResult r = gradcheck(first_grad, args, o);
  r.report = "gradgradcheck: " + r.report;
  return r;
}

}  // namespace tape
