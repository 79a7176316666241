// gradcheck / gradgradcheck: the tape's vector-Jacobian products against central differences.
// Everything is checked with respect to Variables; tensor inputs are wrapped in private ones.
#include "tape/gradcheck.h"

#include <cmath>
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

void require_f64(const std::vector<Variable>& vars, const char* op) {
  for (std::size_t i = 0; i < vars.size(); ++i) {
    if (!vars[i].defined() || vars[i].dtype() != DType::f64) {
      throw DTypeError(std::string(op) + ": input " + std::to_string(i) + " must be a defined float64 tensor");
    }
  }
}

Tensor evaluate(const VariableFunction& f) {
  Tensor y = f();
  if (!y.defined() || y.dtype() != DType::f64) throw DTypeError("gradcheck: the function must return float64");
  return y;
}

// Private float64 variables holding copies of the inputs, and f read through them.
std::vector<Variable> wrap(const std::vector<Tensor>& inputs, const char* op) {
  std::vector<Variable> vars;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || inputs[i].dtype() != DType::f64) {
      throw DTypeError(std::string(op) + ": input " + std::to_string(i) + " must be a defined float64 tensor");
    }
    vars.emplace_back(Tensor::from_data(inputs[i].data<double>(), inputs[i].shape()), "input_" + std::to_string(i));
  }
  return vars;
}

VariableFunction reading(const TestFunction& f, const std::vector<Variable>& vars) {
  return [f, vars] {
    std::vector<Tensor> xs;
    for (const auto& v : vars) xs.push_back(v.value());
    return f(xs);
  };
}

std::string report(const GradcheckResult& r, const std::vector<Variable>& vars, const GradcheckOptions& o) {
  std::ostringstream os;
  os.precision(10);
  os << (r.ok ? "gradcheck passed" : "gradcheck FAILED") << ": max abs error " << r.max_abs_error
     << ", max rel error " << r.max_rel_error;
  if (r.worst_element >= 0) {
    os << "; worst at input " << r.worst_input << " '" << vars[r.worst_input].name() << "' "
       << vars[r.worst_input].shape() << " element " << r.worst_element << ": analytic " << r.worst_analytic
       << ", numeric " << r.worst_numeric;
  }
  os << " (eps " << o.eps << ", atol " << o.atol << ", rtol " << o.rtol << ")";
  return os.str();
}

}  // namespace

GradcheckResult gradcheck(const VariableFunction& f, const std::vector<Variable>& vars, const GradcheckOptions& o) {
  require_f64(vars, "gradcheck");
  const Tensor y0 = evaluate(f);
  Generator gen(o.seed);
  const Tensor v = Tensor::normal(y0.shape(), gen, 0.0, 1.0, DType::f64);
  std::vector<Tensor> analytic;
  {
    GradientTape tape;
    tape.watch(vars);
    analytic = tape.gradient(sum(mul(evaluate(f), v)), vars, {{}, Unconnected::zero});
  }
  GradcheckResult r;
  double worst_excess = -1.0;
  for (std::size_t i = 0; i < vars.size(); ++i) {
    // Perturb a private copy in place (the value may share storage with the caller's tensors),
    // then give the variable its original value back.
    const Tensor original = vars[i].peek();
    Variable var = vars[i];
    var.assign(Tensor::from_data(original.data<double>(), original.shape()));
    double* p = detail::mutable_data<double>(var.peek());
    const double* a = analytic[i].data<double>();
    for (std::int64_t j = 0; j < vars[i].shape().numel(); ++j) {
      const double saved = p[j];
      p[j] = saved + o.eps;
      const double plus = dot(evaluate(f), v);
      p[j] = saved - o.eps;
      const double minus = dot(evaluate(f), v);
      p[j] = saved;
      const double numeric = (plus - minus) / (2.0 * o.eps);
      const double err = std::abs(a[j] - numeric);
      const double excess = err - (o.atol + o.rtol * std::abs(numeric));
      r.max_abs_error = std::max(r.max_abs_error, err);
      r.max_rel_error = std::max(r.max_rel_error, err / std::max(std::abs(numeric), 1e-300));
      const bool broken = !std::isfinite(a[j]) || !std::isfinite(numeric);
      if (broken || excess > worst_excess) {
        worst_excess = broken ? INFINITY : excess;
        r.worst_input = i;
        r.worst_element = j;
        r.worst_analytic = a[j];
        r.worst_numeric = numeric;
      }
    }
    var.assign(original);
  }
  r.ok = worst_excess <= 0.0;
  r.report = report(r, vars, o);
  return r;
}

GradcheckResult gradgradcheck(const VariableFunction& f, const std::vector<Variable>& vars, const GradcheckOptions& o) {
  require_f64(vars, "gradgradcheck");
  Generator gen(o.seed + 1);
  Variable upstream(Tensor::normal(evaluate(f).shape(), gen, 0.0, 1.0, DType::f64), "upstream");
  // () -> concat of flattened d<f, upstream>/d vars, computed with a tape of its own, so that an
  // outer tape records the backward computation and can differentiate it again.
  VariableFunction first_grad = [f, vars, upstream] {
    GradientTape inner;
    inner.watch(vars);
    auto grads = inner.gradient(sum(mul(f(), upstream.value())), vars, {{}, Unconnected::zero});
    std::vector<Tensor> flat;
    for (const auto& g : grads) flat.push_back(reshape(g, {-1}));
    return concat(flat, 0);
  };
  std::vector<Variable> all = vars;
  all.push_back(upstream);
  GradcheckResult r = gradcheck(first_grad, all, o);
  r.report = "gradgradcheck: " + r.report;
  return r;
}

GradcheckResult gradcheck(const TestFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  const auto vars = wrap(inputs, "gradcheck");
  return gradcheck(reading(f, vars), vars, o);
}

GradcheckResult gradgradcheck(const TestFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  const auto vars = wrap(inputs, "gradgradcheck");
  return gradgradcheck(reading(f, vars), vars, o);
}

}  // namespace tape
