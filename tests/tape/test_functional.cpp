// Jacobians over several sources and Variables, jvp and hvp: against central finite differences
// in float64 and against the full Jacobian (or the Jacobian of the gradient) the tape computes.
#include "support/test_support.h"

using namespace tape;
using test::rand;

namespace {

constexpr double kStep = 1e-6;

// f(a, b) = tanh(a @ b) * mean(a): [3, 4], [4, 2] -> [3, 2], nonlinear in both inputs
Tensor two_input_function(const std::vector<Tensor>& in) { return tanh(matmul(in[0], in[1])) * mean(in[0]); }

// A scalar: sum(softplus(a @ b)) + sum(a^3) / 3
Tensor scalar_function(const std::vector<Tensor>& in) {
  return sum(softplus(matmul(in[0], in[1]))) + sum(pow(in[0], 3.0)) / 3.0;
}

// (f(x + h v) - f(x - h v)) / 2h, every input moved along its v at once
Tensor central_difference(const DifferentiableFunction& f, const std::vector<Tensor>& x, const std::vector<Tensor>& v) {
  std::vector<Tensor> plus, minus;
  for (std::size_t k = 0; k < x.size(); ++k) {
    plus.push_back(x[k] + v[k] * kStep);
    minus.push_back(x[k] - v[k] * kStep);
  }
  return (f(plus) - f(minus)) / (2.0 * kStep);
}

}  // namespace

TEST_CASE("jacobian over several sources equals each source's own Jacobian, and Variables work alike", "[jacobian]") {
  const Tensor a = rand({3, 4}, 1), b = rand({4, 2}, 2);
  GradientTape tape({.persistent = true});
  tape.watch(std::vector<Tensor>{a, b});
  const Tensor y = two_input_function({a, b});
  const std::vector<Tensor> both = tape.jacobian(y, std::vector<Tensor>{a, b});
  REQUIRE(both.size() == 2);
  REQUIRE(both[0].shape() == Shape{3, 2, 3, 4});
  REQUIRE(both[1].shape() == Shape{3, 2, 4, 2});
  CHECK(test::max_rel_diff(both[0], tape.jacobian(y, a)) == 0.0);
  CHECK(test::max_rel_diff(both[1], tape.jacobian(y, b)) == 0.0);

  Variable va(a, "va"), vb(b, "vb");
  GradientTape vtape;
  const Tensor vy = two_input_function({va.value(), vb.value()});
  const std::vector<Tensor> from_variables = vtape.jacobian(vy, std::vector<Variable>{va, vb});
  CHECK(test::max_rel_diff(from_variables[0], both[0]) == 0.0);
  CHECK(test::max_rel_diff(from_variables[1], both[1]) == 0.0);

  // An unconnected source: undefined, or zeros when asked.
  const Tensor c = rand({2}, 3);
  GradientTape t2({.persistent = true});
  t2.watch(std::vector<Tensor>{a, c});
  const Tensor y2 = square(a);
  CHECK_FALSE(t2.jacobian(y2, std::vector<Tensor>{a, c})[1].defined());
  CHECK(t2.jacobian(y2, std::vector<Tensor>{a, c}, Unconnected::zero)[1].shape() == Shape{3, 4, 2});
}

TEST_CASE("jvp equals a central finite difference and the full Jacobian times the tangent", "[jvp]") {
  const std::vector<Tensor> x{rand({3, 4}, 10), rand({4, 2}, 11)};
  const std::vector<Tensor> v{rand({3, 4}, 12), rand({4, 2}, 13)};
  const JvpResult r = jvp(two_input_function, x, v);
  REQUIRE(r.tangent.shape() == Shape{3, 2});
  CHECK(test::max_rel_diff(r.value, two_input_function(x)) == 0.0);
  CHECK(test::max_rel_diff(r.tangent, central_difference(two_input_function, x, v)) < 1e-8);

  GradientTape tape({.persistent = true});
  tape.watch(x);
  const std::vector<Tensor> jac = tape.jacobian(two_input_function(x), x);
  const Tensor jv = reshape(matmul(reshape(jac[0], {6, 12}), reshape(v[0], {12, 1})) +
                                matmul(reshape(jac[1], {6, 8}), reshape(v[1], {8, 1})),
                            {3, 2});
  CHECK(test::max_rel_diff(r.tangent, jv) < 1e-12);
}

TEST_CASE("jvp through a convolution and batch normalization equals a finite difference", "[jvp]") {
  const DifferentiableFunction f = [](const std::vector<Tensor>& in) {
    return batch_norm(conv2d(in[0], in[1], {.strides = {2, 2}, .padding = Padding::same()}), Tensor(), Tensor(), 1e-3).y;
  };
  const std::vector<Tensor> x{rand({2, 5, 5, 2}, 20), rand({3, 3, 2, 3}, 21)};
  const std::vector<Tensor> v{rand({2, 5, 5, 2}, 22), rand({3, 3, 2, 3}, 23)};
  const JvpResult r = jvp(f, x, v);
  CHECK(test::max_rel_diff(r.tangent, central_difference(f, x, v)) < 1e-7);
}

TEST_CASE("hvp equals a finite difference of gradients and the Hessian times the vector", "[hvp]") {
  const std::vector<Tensor> x{rand({3, 4}, 30), rand({4, 2}, 31)};
  const std::vector<Tensor> v{rand({3, 4}, 32), rand({4, 2}, 33)};
  const HvpResult r = hvp(scalar_function, x, v);
  REQUIRE(r.product.size() == 2);
  CHECK(r.value.item() == scalar_function(x).item());
  // d/dh grad f(x + h v) at h = 0, by central differences of the tape's gradients
  auto gradient_at = [&](double h) {
    std::vector<Tensor> moved{x[0] + v[0] * h, x[1] + v[1] * h};
    GradientTape tape;
    tape.watch(moved);
    return tape.gradient(scalar_function(moved), moved);
  };
  const auto plus = gradient_at(kStep), minus = gradient_at(-kStep);
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK(test::max_rel_diff(r.product[k], (plus[k] - minus[k]) / (2.0 * kStep)) < 1e-7);
  }
  // The full Hessian block of a from the Jacobian of the gradient: H_aa v_a + H_ab v_b
  GradientTape outer({.persistent = true});
  outer.watch(x);
  Tensor grad_a;
  {
    GradientTape inner;
    inner.watch(x);
    grad_a = inner.gradient(scalar_function(x), x[0]);
  }
  const std::vector<Tensor> h = outer.jacobian(grad_a, x);  // [3, 4, 3, 4], [3, 4, 4, 2]
  const Tensor hv = reshape(matmul(reshape(h[0], {12, 12}), reshape(v[0], {12, 1})) +
                                matmul(reshape(h[1], {12, 8}), reshape(v[1], {8, 1})),
                            {3, 4});
  CHECK(test::max_rel_diff(r.product[0], hv) < 1e-12);
}

TEST_CASE("jvp and hvp of functions with an input they ignore, or linear in it, give zeros there", "[jvp][hvp]") {
  const std::vector<Tensor> x{rand({3}, 40), rand({2}, 41)};
  const std::vector<Tensor> v{rand({3}, 42), rand({2}, 43)};
  const DifferentiableFunction f = [](const std::vector<Tensor>& in) { return sum(square(in[0])); };  // ignores in[1]
  const JvpResult j = jvp(f, x, v);
  CHECK(j.tangent.item() == Approx(sum(x[0] * v[0] * 2.0).item()).epsilon(1e-12));
  const HvpResult h = hvp(f, x, v);
  CHECK(test::max_rel_diff(h.product[0], v[0] * 2.0) < 1e-12);
  CHECK(test::max_rel_diff(h.product[1], Tensor::zeros({2}, DType::f64)) == 0.0);
  const DifferentiableFunction linear = [](const std::vector<Tensor>& in) { return sum(in[0] * 3.0); };
  CHECK(test::max_rel_diff(hvp(linear, x, v).product[0], Tensor::zeros({3}, DType::f64)) == 0.0);
}

TEST_CASE("jvp and hvp name the input whose tangent does not match", "[jvp][hvp]") {
  const std::vector<Tensor> x{rand({3}, 50), rand({2}, 51)};
  CHECK_THROWS_WITH(jvp(two_input_function, x, {rand({3}, 52), rand({3}, 53)}),
                    Catch::Contains("jvp: input 1 has shape [2]") && Catch::Contains("[3]"));
  CHECK_THROWS_AS(hvp(scalar_function, x, {rand({3}, 52)}), ValueError);
  CHECK_THROWS_AS(jvp(two_input_function, x, {rand({3}, 52), rand({2}, 53, -1.0, 1.0, DType::f32)}), DTypeError);
}
