// gradient_tape_tour: TensorFlow's "Introduction to gradients and automatic differentiation"
// guide, step by step with tape. Each value is printed beside the one expected; the program exits
// non-zero if any differs.
#include <cmath>
#include <cstdio>
#include <string>

#include <tape/tape.h>

using namespace tape;

namespace {

int failures = 0;

void show(const std::string& what, double got, double expected) {
  const bool ok = std::abs(got - expected) <= 1e-6 * std::max(1.0, std::abs(expected));
  if (!ok) ++failures;
  std::printf("  %-52s %12.6g   expected %-10.6g %s\n", what.c_str(), got, expected, ok ? "ok" : "MISMATCH");
}

void show_flag(const std::string& what, bool got, bool expected) {
  if (got != expected) ++failures;
  std::printf("  %-52s %12s   expected %-10s %s\n", what.c_str(), got ? "yes" : "no", expected ? "yes" : "no",
              got == expected ? "ok" : "MISMATCH");
}

void section(const char* title) { std::printf("\n%s\n", title); }

}  // namespace

int main() {
  section("1. Gradient tapes: y = x^2 at x = 3");
  {
    Tensor x = Tensor::scalar(3.0f);
    GradientTape t;
    t.watch(x);
    Tensor y = x * x;
    show("dy/dx", t.gradient(y, x).item(), 6.0);
  }

  section("2. Nested tapes: the second derivative of x^2");
  {
    Tensor x = Tensor::scalar(3.0f);
    GradientTape outer;
    outer.watch(x);
    Tensor dy_dx;
    {
      GradientTape inner;
      inner.watch(x);
      Tensor y = x * x;
      dy_dx = inner.gradient(y, x);
    }
    show("dy/dx", dy_dx.item(), 6.0);
    show("d2y/dx2", outer.gradient(dy_dx, x).item(), 2.0);
  }

  section("3. A persistent tape: y = x^2, z = y^2 at x = 3");
  {
    Tensor x = Tensor::scalar(3.0f);
    GradientTape t({.persistent = true});
    t.watch(x);
    Tensor y = x * x;
    Tensor z = y * y;
    show("dz/dx", t.gradient(z, x).item(), 108.0);
    show("dy/dx", t.gradient(y, x).item(), 6.0);
  }

  section("4. Gradients with respect to several sources (Variables, watched automatically)");
  {
    Variable x0(Tensor::scalar(3.0f), "x0"), x1(Tensor::scalar(4.0f), "x1");
    GradientTape t;
    Tensor y = x0 * x0 + x1 * x1;
    auto g = t.gradient(y, std::vector<Variable>{x0, x1});
    show("dy/dx0", g[0].item(), 6.0);
    show("dy/dx1", g[1].item(), 8.0);
  }

  section("5. A non-scalar target: the gradient of its sum");
  {
    Tensor x = Tensor::scalar(2.0f);
    GradientTape t;
    t.watch(x);
    Tensor y = x * Tensor::from_vector(std::vector<float>{3.0f, 4.0f});
    show("d(sum(x * [3, 4]))/dx", t.gradient(y, x).item(), 7.0);
  }

  section("6. Unconnected sources: none, or zeros when asked");
  {
    Variable x(Tensor::scalar(2.0f), "x"), unused(Tensor::scalar(1.0f), "unused");
    GradientTape t({.persistent = true});
    Tensor y = x * x;
    show_flag("gradient w.r.t. an unused variable is defined", t.gradient(y, unused).defined(), false);
    show("... with Unconnected::zero", t.gradient(y, unused, {.unconnected = Unconnected::zero}).item(), 0.0);
  }

  section("7. stop_recording: what runs under it is invisible to the tape");
  {
    Tensor x = Tensor::scalar(3.0f);
    GradientTape t;
    t.watch(x);
    Tensor y;
    {
      auto pause = t.stop_recording();
      y = x * x;
    }
    show_flag("dy/dx is defined", t.gradient(y, x).defined(), false);
  }

  section("8. custom_gradient: a numerically stable log(1 + e^x) at x = 100");
  {
    auto log1pexp = [](const Tensor& x) {
      return custom_gradient("log1pexp", {x}, [](const std::vector<Tensor>& in) {
        Tensor e = exp(in[0]);
        return CustomGradientResult{log(1.0 + e), [e](const Tensor& up) {
                                      return std::vector<Tensor>{up * (1.0 - 1.0 / (1.0 + e))};
                                    }};
      });
    };
    Tensor x = Tensor::scalar(100.0f);
    GradientTape naive_tape;
    naive_tape.watch(x);
    const double naive = naive_tape.gradient(log(1.0 + exp(x)), x).item();
    std::printf("  %-52s %12g   (the naive form overflows)\n", "naive d/dx log(1 + e^x)", naive);
    if (!std::isnan(naive)) ++failures;
    GradientTape t;
    t.watch(x);
    show("custom_gradient d/dx log1pexp(x)", t.gradient(log1pexp(x), x).item(), 1.0);
  }

  section("9. A Jacobian: y = x^2 for x = [1, 2, 3]");
  {
    Tensor x = Tensor::from_vector(std::vector<float>{1.0f, 2.0f, 3.0f});
    GradientTape t;
    t.watch(x);
    Tensor j = t.jacobian(x * x, x);
    std::printf("  jacobian = %s\n", j.to_string().c_str());
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) {
        show("J[" + std::to_string(r) + ", " + std::to_string(c) + "]", j.at({r, c}), r == c ? 2.0 * (r + 1) : 0.0);
      }
    }
  }

  std::printf("\n%s\n", failures == 0 ? "Every value matches." : "SOME VALUES DO NOT MATCH.");
  return failures == 0 ? 0 : 1;
}
