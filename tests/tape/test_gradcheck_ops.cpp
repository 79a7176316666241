// Forward values of the ops against hand-computed results, and gradient checks that are not about
// one op (per-op gradchecks come from the op table, op_table.cpp): tied maxima, a dtype round
// trip inside a float64 graph, and gradcheck's own failure report.
#include "support/test_support.h"

using namespace tape;
using test::rand;
using Args = std::vector<Tensor>;

TEST_CASE("forward values of the elementwise ops", "[ops]") {
  Tensor x = Tensor::from_vector(std::vector<double>{-2.0, -0.5, 0.0, 0.5, 2.0});
  auto v = [](const Tensor& t) { return t.to_vector<double>(); };
  REQUIRE(v(relu(x)) == std::vector<double>{0, 0, 0, 0.5, 2});
  REQUIRE(v(leaky_relu(x, 0.3)) == std::vector<double>{-0.6, -0.15, 0, 0.5, 2});
  REQUIRE(v(abs(x)) == std::vector<double>{2, 0.5, 0, 0.5, 2});
  REQUIRE(v(clip(x, -1, 1)) == std::vector<double>{-1, -0.5, 0, 0.5, 1});
  REQUIRE(v(maximum(x, Tensor::scalar(0.0))) == v(relu(x)));
  REQUIRE(v(minimum(x, Tensor::scalar(0.0))) == std::vector<double>{-2, -0.5, 0, 0, 0});
  REQUIRE(v(greater(x, Tensor::scalar(0.0))) == std::vector<double>{0, 0, 0, 1, 1});
  REQUIRE(v(equal(x, Tensor::scalar(0.5))) == std::vector<double>{0, 0, 0, 1, 0});
  REQUIRE(sigmoid(Tensor::scalar(0.0)).item() == 0.5);
  REQUIRE(tanh(Tensor::scalar(0.5)).item() == Approx(std::tanh(0.5)).epsilon(1e-15));
  // softplus is finite and exact at large |x|
  REQUIRE(softplus(Tensor::scalar(100.0)).item() == 100.0);
  REQUIRE(softplus(Tensor::scalar(-100.0)).item() == Approx(std::exp(-100.0)).epsilon(1e-12));
  REQUIRE(softplus(Tensor::scalar(100.0f)).item() == 100.0f);
  REQUIRE(std::isfinite(softplus(Tensor::scalar(-1000.0f)).item()));
  REQUIRE(pow(Tensor::scalar(2.0), 10).item() == 1024.0);
  REQUIRE(rsqrt(Tensor::scalar(4.0)).item() == 0.5);
  // float32 large elementwise arrays take the parallel path and agree with float64
  Tensor big = rand({300000}, 9, -3, 3);
  test::require_close(tanh(big.to(DType::f32)).to(DType::f64), tanh(big), 1e-6);
}

TEST_CASE("where picks a where the broadcast condition is nonzero, else b", "[ops]") {
  Tensor cond = Tensor::from_vector(std::vector<double>{1, 0, 0, 1}, {4});
  Tensor y = where(cond, Tensor::full({4}, 1.0, DType::f64), Tensor::full({4}, 2.0, DType::f64));
  REQUIRE(y.to_vector<double>() == std::vector<double>{1, 2, 2, 1});
}

TEST_CASE("one_hot puts a 1 at each index, keeps the indices' dtype and names a bad index", "[ops]") {
  const Tensor ids = Tensor::from_vector(std::vector<float>{2, 0, 1, 2}, {2, 2});
  const Tensor y = one_hot(ids, 3);
  REQUIRE(y.shape() == Shape{2, 2, 3});
  REQUIRE(y.dtype() == DType::f32);
  REQUIRE(y.to_vector<double>() == std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1});
  REQUIRE_THROWS_WITH(one_hot(Tensor::from_vector(std::vector<double>{0, 3}), 3),
                      Catch::Contains("one_hot: index 3") && Catch::Contains("[0, 3)"));
  REQUIRE_THROWS_WITH(one_hot(Tensor::from_vector(std::vector<double>{0.5}), 3), Catch::Contains("not a whole number"));
  REQUIRE_THROWS_AS(one_hot(ids, 0), ValueError);
}

TEST_CASE("forward values of sum, mean, max over axes, keepdims", "[ops]") {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 5, 3, 4, 2, 6}, {2, 3});
  REQUIRE(sum(x, {1}).to_vector<double>() == std::vector<double>{9, 12});
  REQUIRE(mean(x, {0}).to_vector<double>() == std::vector<double>{2.5, 3.5, 4.5});
  REQUIRE(max(x).item() == 6.0);
  REQUIRE(max(x, {1}, true).shape() == Shape({2, 1}));
  REQUIRE(sum(x, {0, 1}, true).shape() == Shape({1, 1}));
}

TEST_CASE("max shares the gradient between ties", "[gradcheck]") {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 3, 3, 2});
  GradientTape t;
  t.watch(x);
  Tensor g = t.gradient(max(x), x);
  REQUIRE(g.to_vector<double>() == std::vector<double>{0, 0.5, 0.5, 0});
}

TEST_CASE("forward values of matmul", "[ops]") {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector(std::vector<double>{5, 6, 7, 8}, {2, 2});
  REQUIRE(matmul(a, b).to_vector<double>() == std::vector<double>{19, 22, 43, 50});
  // the flags read a and b transposed: the products of the transposed copies (to rounding: the
  // GEMM may sum in another order for another layout), in float32 too
  for (const auto& [dtype, tol] : {std::pair{DType::f64, 1e-13}, std::pair{DType::f32, 1e-5}}) {
    Generator gen(9);
    const Tensor x = Tensor::uniform({2, 4, 3}, gen, -1.0, 1.0, dtype), y = Tensor::uniform({5, 4}, gen, -1.0, 1.0, dtype);
    const Tensor expected = matmul(transpose(x), transpose(y));
    test::require_close(matmul(x, y, true, true), expected, tol);
    test::require_close(matmul(x, transpose(y), true, false), expected, tol);
    test::require_close(matmul(transpose(x), y, false, true), expected, tol);
  }
  REQUIRE_THROWS_WITH(matmul(a, Tensor::zeros({2, 3}, DType::f64), false, true),
                      Catch::Matchers::Contains("transpose_b") && Catch::Matchers::Contains("b=[2, 3]"));
}

TEST_CASE("matmul over an inner dimension of 1 is the outer product, each element one product", "[ops]") {
  for (const DType dtype : {DType::f32, DType::f64}) {
    Generator gen(10);
    const Tensor col = Tensor::uniform({300, 1}, gen, -1.0, 1.0, dtype), row = Tensor::uniform({1, 700}, gen, -1.0, 1.0, dtype);
    const Tensor expected = col * row;  // broadcast: exactly a[i] * b[j]
    INFO(to_string(dtype));
    REQUIRE(matmul(col, row).to_vector<double>() == expected.to_vector<double>());
    REQUIRE(matmul(transpose(col), row, true, false).to_vector<double>() == expected.to_vector<double>());
    REQUIRE(matmul(col, transpose(row), false, true).to_vector<double>() == expected.to_vector<double>());
    REQUIRE(matmul(transpose(col), transpose(row), true, true).to_vector<double>() == expected.to_vector<double>());
  }
}

TEST_CASE("forward values of permute and expand_dims", "[ops]") {
  Tensor x = rand({2, 3, 4}, 30);
  REQUIRE(permute(x, {2, 0, 1}).shape() == Shape({4, 2, 3}));
  REQUIRE(permute(x, {2, 0, 1}).at({3, 1, 2}) == x.at({1, 2, 3}));
  REQUIRE(expand_dims(x, -1).shape() == Shape({2, 3, 4, 1}));
  // a permutation followed by its inverse gives x back
  Tensor y = rand({2, 3, 4, 5}, 30);
  REQUIRE(permute(permute(y, {2, 0, 3, 1}), {1, 3, 0, 2}).to_vector<double>() == y.to_vector<double>());
}

TEST_CASE("forward values of concat, slice, pad", "[ops]") {
  Tensor c = concat({Tensor::from_vector(std::vector<double>{1, 2}), Tensor::from_vector(std::vector<double>{3})}, 0);
  REQUIRE(c.to_vector<double>() == std::vector<double>{1, 2, 3});
  Tensor p = pad(Tensor::from_vector(std::vector<double>{1, 2}), {{1, 2}});
  REQUIRE(p.to_vector<double>() == std::vector<double>{0, 1, 2, 0, 0});
  REQUIRE(slice(p, {1}, {2}).to_vector<double>() == std::vector<double>{1, 2});
}

TEST_CASE("gradcheck: dtype conversion inside a float64 graph", "[gradcheck]") {
  REQUIRE_GRADCHECK([](const Args& in) { return in[0].to(DType::f32).to(DType::f64) * 0.0 + in[0] * in[0]; },
                    Args{rand({3}, 70)});
}

TEST_CASE("gradcheck reports a wrong gradient", "[gradcheck]") {
  // A custom op whose backward is off by a factor: gradcheck must fail and say where.
  auto wrong = [](const Args& in) {
    return custom_gradient("wrong_square", {in[0]}, [](const Args& x) {
      Tensor v = x[0];
      return CustomGradientResult{v * v, [v](const Tensor& up) { return Args{up * 3.0 * v}; }};
    });
  };
  auto result = gradcheck(wrong, Args{rand({4}, 71, 0.5, 1.0)});
  REQUIRE_FALSE(result.ok);
  REQUIRE_THAT(result.report, Catch::Contains("gradcheck FAILED") && Catch::Contains("worst at input 0"));
  REQUIRE_THROWS_AS(gradcheck(wrong, Args{Tensor::zeros({2})}), DTypeError);
}
