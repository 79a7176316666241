// float64 gradchecks of every differentiable op over several shapes, broadcasting included,
// plus forward values of the ops against hand-computed results.
#include "support/test_support.h"

using namespace tape;
using test::rand;
using Args = std::vector<Tensor>;

namespace {

// Shape pairs that broadcast: same, scalar, row, column, rank-extending, both-sides.
const std::vector<std::pair<Shape, Shape>> kBroadcastPairs = {
    {{3, 4}, {3, 4}}, {{3, 4}, {}}, {{}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}},
    {{2, 3, 4}, {3, 1}}, {{2, 1, 4}, {1, 3, 1}}, {{5}, {5}},
};

template <class F>
void check_binary(F op, double low = -1.0, double high = 1.0) {
  std::uint64_t seed = 1;
  for (const auto& [sa, sb] : kBroadcastPairs) {
    INFO("a=" << sa << " b=" << sb);
    REQUIRE_GRADCHECK([op](const Args& in) { return op(in[0], in[1]); },
                      (Args{rand(sa, seed, low, high), rand(sb, seed + 1, low, high)}));
    seed += 2;
  }
}

const std::vector<Shape> kUnaryShapes = {{}, {7}, {3, 4}, {2, 3, 2}};

template <class F>
void check_unary(F op, double low = -1.0, double high = 1.0) {
  std::uint64_t seed = 100;
  for (const auto& s : kUnaryShapes) {
    INFO("x=" << s);
    REQUIRE_GRADCHECK([op](const Args& in) { return op(in[0]); }, Args{rand(s, seed++, low, high)});
  }
}

template <class F>
void check_unary_away_from_zero(F op) {
  std::uint64_t seed = 200;
  for (const auto& s : kUnaryShapes) {
    INFO("x=" << s);
    REQUIRE_GRADCHECK([op](const Args& in) { return op(in[0]); }, Args{test::rand_away_from_zero(s, seed++)});
  }
}

}  // namespace

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting", "[gradcheck]") {
  check_binary([](const Tensor& a, const Tensor& b) { return add(a, b); });
  check_binary([](const Tensor& a, const Tensor& b) { return sub(a, b); });
  check_binary([](const Tensor& a, const Tensor& b) { return mul(a, b); });
  check_binary([](const Tensor& a, const Tensor& b) { return div(a, b); }, 0.5, 2.0);
}

TEST_CASE("gradcheck: maximum, minimum away from ties", "[gradcheck]") {
  // Values of a in [-1, -0.1] u [0.1, 1] against b in [-0.05, 0.05]: never within eps of a tie.
  for (const auto& [sa, sb] : kBroadcastPairs) {
    INFO("a=" << sa << " b=" << sb);
    Args in{test::rand_away_from_zero(sa, 3), rand(sb, 4, -0.05, 0.05)};
    REQUIRE_GRADCHECK([](const Args& x) { return maximum(x[0], x[1]); }, in);
    REQUIRE_GRADCHECK([](const Args& x) { return minimum(x[0], x[1]); }, in);
  }
}

TEST_CASE("gradcheck: where with a broadcast condition", "[gradcheck]") {
  Tensor cond = Tensor::from_vector(std::vector<double>{1, 0, 0, 1}, {4});
  REQUIRE_GRADCHECK([cond](const Args& in) { return where(cond, in[0], in[1]); }, (Args{rand({3, 4}, 5), rand({4}, 6)}));
  REQUIRE_GRADCHECK([cond](const Args& in) { return where(cond, in[0], in[1]); }, (Args{rand({}, 7), rand({2, 4}, 8)}));
  Tensor y = where(cond, Tensor::full({4}, 1.0, DType::f64), Tensor::full({4}, 2.0, DType::f64));
  REQUIRE(y.to_vector<double>() == std::vector<double>{1, 2, 2, 1});
}

TEST_CASE("gradcheck: unary ops", "[gradcheck]") {
  check_unary([](const Tensor& x) { return neg(x); });
  check_unary([](const Tensor& x) { return square(x); });
  check_unary([](const Tensor& x) { return exp(x); });
  check_unary([](const Tensor& x) { return tanh(x); }, -3.0, 3.0);
  check_unary([](const Tensor& x) { return sigmoid(x); }, -4.0, 4.0);
  check_unary([](const Tensor& x) { return softplus(x); }, -4.0, 4.0);
  check_unary([](const Tensor& x) { return sqrt(x); }, 0.2, 3.0);
  check_unary([](const Tensor& x) { return rsqrt(x); }, 0.2, 3.0);
  check_unary([](const Tensor& x) { return log(x); }, 0.2, 3.0);
  check_unary([](const Tensor& x) { return log1p(x); }, -0.5, 3.0);
  check_unary([](const Tensor& x) { return pow(x, 3.0); });
  check_unary([](const Tensor& x) { return pow(x, 2.5); }, 0.2, 2.0);
  check_unary([](const Tensor& x) { return pow(x, -1.5); }, 0.2, 2.0);
  check_unary([](const Tensor& x) { return x * 2.0 + 1.0; });
  check_unary([](const Tensor& x) { return 1.0 / (x + 3.0) - 2.0 * x; });
}

TEST_CASE("gradcheck: ops with a kink at zero, away from it", "[gradcheck]") {
  check_unary_away_from_zero([](const Tensor& x) { return abs(x); });
  check_unary_away_from_zero([](const Tensor& x) { return relu(x); });
  check_unary_away_from_zero([](const Tensor& x) { return leaky_relu(x, 0.3); });
  check_unary_away_from_zero([](const Tensor& x) { return leaky_relu(x, 0.2); });
  check_unary_away_from_zero([](const Tensor& x) { return leaky_relu(x, -0.5); });  // saves x, not y
  check_unary_away_from_zero([](const Tensor& x) { return clip(x, -0.5, 0.5) * 1.0; });
}

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

TEST_CASE("gradcheck: sum, mean, max over axes, keepdims", "[gradcheck]") {
  const std::vector<std::vector<std::int64_t>> axes_list = {{}, {0}, {1}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}};
  for (const auto& axes : axes_list) {
    for (bool keep : {false, true}) {
      INFO("axes size " << axes.size() << " keepdims " << keep);
      Tensor x = rand({2, 3, 4}, 10);
      REQUIRE_GRADCHECK([axes, keep](const Args& in) { return sum(in[0], axes, keep); }, Args{x});
      REQUIRE_GRADCHECK([axes, keep](const Args& in) { return mean(in[0], axes, keep); }, Args{x});
      REQUIRE_GRADCHECK([axes, keep](const Args& in) { return max(in[0], axes, keep); }, Args{x});
    }
  }
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

TEST_CASE("gradcheck: matmul, 2-D and batched with broadcasting", "[gradcheck]") {
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {{3, 4}, {4, 2}}, {{1, 5}, {5, 1}}, {{2, 3, 4}, {2, 4, 5}}, {{2, 3, 4}, {4, 5}}, {{3, 4}, {2, 4, 2}},
      {{2, 1, 2, 3}, {1, 3, 3, 2}}};
  std::uint64_t seed = 20;
  for (const auto& [sa, sb] : pairs) {
    INFO("a=" << sa << " b=" << sb);
    REQUIRE_GRADCHECK([](const Args& in) { return matmul(in[0], in[1]); }, (Args{rand(sa, seed), rand(sb, seed + 1)}));
    seed += 2;
  }
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector(std::vector<double>{5, 6, 7, 8}, {2, 2});
  REQUIRE(matmul(a, b).to_vector<double>() == std::vector<double>{19, 22, 43, 50});
}

TEST_CASE("gradcheck: reshape, permute, transpose, squeeze, expand_dims", "[gradcheck]") {
  Tensor x = rand({2, 3, 4}, 30);
  REQUIRE_GRADCHECK([](const Args& in) { return reshape(in[0], {4, -1}) * 1.0; }, Args{x});
  REQUIRE_GRADCHECK([](const Args& in) { return reshape(in[0], {24}); }, Args{x});
  REQUIRE_GRADCHECK([](const Args& in) { return permute(in[0], {2, 0, 1}); }, Args{x});
  REQUIRE_GRADCHECK([](const Args& in) { return permute(in[0], {1, 0, 2}); }, Args{x});
  REQUIRE_GRADCHECK([](const Args& in) { return transpose(in[0]); }, Args{x});
  REQUIRE_GRADCHECK([](const Args& in) { return squeeze(expand_dims(in[0], 1), 1) * 2.0; }, Args{x});
  REQUIRE(permute(x, {2, 0, 1}).shape() == Shape({4, 2, 3}));
  REQUIRE(permute(x, {2, 0, 1}).at({3, 1, 2}) == x.at({1, 2, 3}));
  REQUIRE(expand_dims(x, -1).shape() == Shape({2, 3, 4, 1}));
}

TEST_CASE("gradcheck: broadcast_to and sum_to", "[gradcheck]") {
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {{3}, {2, 3}}, {{2, 1}, {2, 4}}, {{}, {3, 2}}, {{1, 3, 1}, {2, 3, 4}}};
  std::uint64_t seed = 40;
  for (const auto& [small, big] : pairs) {
    INFO("small=" << small << " big=" << big);
    REQUIRE_GRADCHECK([big](const Args& in) { return broadcast_to(in[0], big); }, Args{rand(small, seed++)});
    REQUIRE_GRADCHECK([small](const Args& in) { return sum_to(in[0], small); }, Args{rand(big, seed++)});
  }
}

TEST_CASE("gradcheck: concat, slice, pad", "[gradcheck]") {
  Args parts{rand({2, 3}, 50), rand({2, 1}, 51), rand({2, 2}, 52)};
  REQUIRE_GRADCHECK([](const Args& in) { return concat(in, 1); }, parts);
  REQUIRE_GRADCHECK([](const Args& in) { return concat(in, 0); }, (Args{rand({1, 3}, 53), rand({2, 3}, 54)}));
  Tensor x = rand({3, 4, 5}, 55);
  REQUIRE_GRADCHECK([](const Args& in) { return slice(in[0], {1, 0, 2}, {2, -1, 2}); }, Args{x});
  REQUIRE_GRADCHECK([](const Args& in) { return pad(in[0], {{1, 0}, {0, 2}, {2, 1}}); }, Args{x});
  Tensor c = concat({Tensor::from_vector(std::vector<double>{1, 2}), Tensor::from_vector(std::vector<double>{3})}, 0);
  REQUIRE(c.to_vector<double>() == std::vector<double>{1, 2, 3});
  Tensor p = pad(Tensor::from_vector(std::vector<double>{1, 2}), {{1, 2}});
  REQUIRE(p.to_vector<double>() == std::vector<double>{0, 1, 2, 0, 0});
  REQUIRE(slice(p, {1}, {2}).to_vector<double>() == std::vector<double>{1, 2});
}

TEST_CASE("gradcheck: the convolution trio", "[gradcheck][conv]") {
  const std::vector<test::ConvCase> cases = {
      {{2, 5, 5, 2}, 3, 3, 3, {1, 1}, Padding::same()},
      {{1, 6, 7, 3}, 3, 3, 2, {2, 2}, Padding::same()},
      {{2, 7, 6, 1}, 4, 4, 2, {2, 2}, Padding::valid()},
      {{1, 5, 5, 2}, 5, 5, 2, {2, 2}, Padding::same()},
      {{1, 7, 8, 2}, 3, 2, 2, {3, 1}, Padding::explicit_pads(1, 0, 0, 2)},
      {{2, 4, 4, 3}, 1, 1, 2, {1, 1}, Padding::valid()},
  };
  std::uint64_t seed = 60;
  for (const auto& c : cases) {
    INFO("x=" << c.x << " k=" << c.kh << "x" << c.kw << " padding=" << c.padding.to_string());
    const Conv2dOptions opts = c.conv();
    Tensor x = rand(c.x, seed++);
    Tensor w = rand(c.weight_shape(), seed++);
    REQUIRE_GRADCHECK([opts](const Args& in) { return conv2d(in[0], in[1], opts); }, (Args{x, w}));
    Tensor y = conv2d(x, w, opts);
    Tensor u = rand(y.shape(), seed++);
    const ConvTranspose2dOptions topts = c.transpose();
    REQUIRE_GRADCHECK([topts](const Args& in) { return conv_transpose2d(in[0], in[1], topts); }, (Args{u, w}));
    const std::array<std::int64_t, 2> k{c.kh, c.kw};
    REQUIRE_GRADCHECK([opts, k](const Args& in) { return conv2d_weight_grad(in[0], in[1], opts, k); }, (Args{x, u}));
  }
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
