// float64 gradgradchecks: second derivatives of the ops that can sit inside a gradient penalty.
#include "support/test_support.h"

using namespace tape;
using test::rand;
using Args = std::vector<Tensor>;

TEST_CASE("gradgradcheck: elementwise ops", "[gradgradcheck]") {
  REQUIRE_GRADGRADCHECK([](const Args& in) { return tanh(in[0]); }, Args{rand({3, 4}, 1, -2, 2)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return sigmoid(in[0]); }, Args{rand({3, 4}, 2, -3, 3)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return exp(in[0]); }, Args{rand({5}, 3)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return log(in[0]); }, Args{rand({5}, 4, 0.3, 2.0)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return softplus(in[0]); }, Args{rand({2, 3}, 5, -3, 3)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return leaky_relu(in[0], 0.3); }, Args{test::rand_away_from_zero({6}, 6)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return sqrt(in[0]); }, Args{rand({4}, 7, 0.3, 2.0)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return rsqrt(in[0]); }, Args{rand({4}, 8, 0.3, 2.0)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return pow(in[0], 3.0); }, Args{rand({4}, 9)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return log1p(in[0]); }, Args{rand({4}, 10, -0.5, 2.0)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return square(in[0]); }, Args{rand({4}, 11)});
}

TEST_CASE("gradgradcheck: mul and div with broadcasting", "[gradgradcheck]") {
  REQUIRE_GRADGRADCHECK([](const Args& in) { return mul(in[0], in[1]); }, (Args{rand({3, 4}, 12), rand({4}, 13)}));
  REQUIRE_GRADGRADCHECK([](const Args& in) { return div(in[0], in[1]); },
                        (Args{rand({2, 3}, 14), rand({2, 1}, 15, 0.5, 2.0)}));
  REQUIRE_GRADGRADCHECK([](const Args& in) { return add(in[0], in[1]) * sub(in[0], in[1]); },
                        (Args{rand({3}, 16), rand({}, 17)}));
}

TEST_CASE("gradgradcheck: reductions and matmul", "[gradgradcheck]") {
  REQUIRE_GRADGRADCHECK([](const Args& in) { return square(sum(in[0], {1})); }, Args{rand({2, 3}, 18)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return square(mean(in[0], {0}, true)); }, Args{rand({3, 2}, 19)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return matmul(in[0], in[1]); }, (Args{rand({3, 4}, 20), rand({4, 2}, 21)}));
  REQUIRE_GRADGRADCHECK([](const Args& in) { return tanh(matmul(in[0], in[1])); },
                        (Args{rand({2, 3, 2}, 22), rand({2, 3}, 23)}));
}

TEST_CASE("gradgradcheck: shape ops", "[gradgradcheck]") {
  REQUIRE_GRADGRADCHECK([](const Args& in) { return square(broadcast_to(in[0], {3, 4})); }, Args{rand({4}, 24)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return square(reshape(in[0], {6})); }, Args{rand({2, 3}, 25)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return square(pad(in[0], {{1, 0}, {2, 1}})); }, Args{rand({2, 3}, 26)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return square(slice(in[0], {0, 1}, {2, 2})); }, Args{rand({3, 4}, 27)});
  REQUIRE_GRADGRADCHECK([](const Args& in) { return square(concat({in[0], in[1]}, 1)); },
                        (Args{rand({2, 2}, 28), rand({2, 1}, 29)}));
}

TEST_CASE("gradgradcheck: the convolution trio", "[gradgradcheck][conv]") {
  const Conv2dOptions same2{{2, 2}, Padding::same()};
  const Conv2dOptions valid1{{1, 1}, Padding::valid()};
  Tensor x = rand({2, 5, 5, 2}, 30), w = rand({3, 3, 2, 3}, 31);
  // Bilinear ops: second derivatives come from the cross terms; a square makes them non-trivial too.
  REQUIRE_GRADGRADCHECK([same2](const Args& in) { return conv2d(in[0], in[1], same2); }, (Args{x, w}));
  REQUIRE_GRADGRADCHECK([valid1](const Args& in) { return square(conv2d(in[0], in[1], valid1)); }, (Args{x, w}));
  Tensor u = rand(conv2d(x, w, same2).shape(), 32);
  const ConvTranspose2dOptions t2{{2, 2}, Padding::same(), std::array<std::int64_t, 2>{5, 5}, {}};
  REQUIRE_GRADGRADCHECK([t2](const Args& in) { return square(conv_transpose2d(in[0], in[1], t2)); }, (Args{u, w}));
  REQUIRE_GRADGRADCHECK([same2](const Args& in) { return square(conv2d_weight_grad(in[0], in[1], same2, {3, 3})); },
                        (Args{x, u}));
}

TEST_CASE("gradgradcheck: a small discriminator's input-gradient penalty", "[gradgradcheck][conv]") {
  // WGAN-GP style: || d D(x) / dx ||^2 differentiated w.r.t. the weights, D = conv -> leaky_relu
  // -> dense. Checked against finite differences.
  Tensor x = rand({2, 6, 6, 1}, 40);
  auto penalty = [x](const Args& in) {
    GradientTape inner;
    inner.watch(x);
    Tensor h = leaky_relu(conv2d(x, in[0], {{2, 2}, Padding::same()}), 0.2);
    Tensor d = matmul(reshape(h, {2, -1}), in[1]);
    Tensor gx = inner.gradient(sum(d), x);
    return sum(square(gx));
  };
  REQUIRE_GRADCHECK(penalty, (Args{rand({3, 3, 1, 2}, 41), rand({18, 1}, 42)}));
}
