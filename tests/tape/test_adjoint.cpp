// Adjoint tests for the linear pairs: <A x, u> = <x, A^T u> to ~1e-12 relative in float64.
#include "support/test_support.h"

using namespace tape;
using test::rand;

namespace {

double dot(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  return sum(mul(a, b)).item();
}

void require_adjoint(double lhs, double rhs) {
  INFO("lhs=" << lhs << " rhs=" << rhs);
  REQUIRE(std::abs(lhs - rhs) <= 1e-12 * std::max(std::abs(lhs), 1.0));
}

}  // namespace

TEST_CASE("adjoint: the convolution trio", "[adjoint][conv]") {
  const std::vector<test::ConvCase> cases = {
      {{2, 9, 9, 3}, 3, 3, 4, {1, 1}, Padding::same()},
      {{2, 28, 28, 1}, 5, 5, 4, {2, 2}, Padding::same()},
      {{3, 8, 7, 2}, 4, 4, 3, {2, 2}, Padding::valid()},
      {{1, 10, 11, 2}, 3, 5, 2, {3, 2}, Padding::explicit_pads(2, 0, 1, 3)},
      {{2, 7, 7, 5}, 1, 1, 3, {2, 2}, Padding::same()},
  };
  std::uint64_t seed = 1;
  for (const auto& c : cases) {
    INFO("x=" << c.x << " padding=" << c.padding.to_string());
    const Conv2dOptions o = c.conv();
    Tensor x = rand(c.x, seed++);
    Tensor w = rand(c.weight_shape(), seed++);
    Tensor y = conv2d(x, w, o);
    Tensor u = rand(y.shape(), seed++);
    const ConvTranspose2dOptions t = c.transpose();
    const double a = dot(y, u);
    require_adjoint(a, dot(x, conv_transpose2d(u, w, t)));
    require_adjoint(a, dot(w, conv2d_weight_grad(x, u, o, {c.kh, c.kw})));
  }
}

TEST_CASE("adjoint: pad and slice", "[adjoint]") {
  Tensor x = rand({3, 4, 2}, 10);
  const std::vector<std::array<std::int64_t, 2>> pads{{1, 2}, {0, 3}, {2, 0}};
  Tensor px = pad(x, pads);
  Tensor u = rand(px.shape(), 11);
  require_adjoint(dot(px, u), dot(x, slice(u, {1, 0, 2}, {3, 4, 2})));
  Tensor big = rand({5, 6}, 12);
  Tensor s = slice(big, {1, 2}, {3, 3});
  Tensor v = rand(s.shape(), 13);
  require_adjoint(dot(s, v), dot(big, pad(v, {{1, 1}, {2, 1}})));
}

TEST_CASE("adjoint: broadcast_to and sum_to", "[adjoint]") {
  const std::vector<std::pair<Shape, Shape>> pairs = {{{3}, {4, 3}}, {{2, 1, 3}, {5, 2, 4, 3}}, {{}, {2, 2}}};
  std::uint64_t seed = 20;
  for (const auto& [small, big] : pairs) {
    Tensor x = rand(small, seed++), u = rand(big, seed++);
    require_adjoint(dot(broadcast_to(x, big), u), dot(x, sum_to(u, small)));
  }
}

TEST_CASE("adjoint: permute and its inverse", "[adjoint]") {
  Tensor x = rand({2, 3, 4, 5}, 30);
  const std::vector<std::int64_t> perm{2, 0, 3, 1}, inverse{1, 3, 0, 2};
  Tensor px = permute(x, perm);
  Tensor u = rand(px.shape(), 31);
  require_adjoint(dot(px, u), dot(x, permute(u, inverse)));
  REQUIRE(permute(px, inverse).to_vector<double>() == x.to_vector<double>());
}

TEST_CASE("adjoint: concat and slices", "[adjoint]") {
  Tensor a = rand({2, 3}, 40), b = rand({2, 4}, 41);
  Tensor c = concat({a, b}, 1);
  Tensor u = rand(c.shape(), 42);
  require_adjoint(dot(c, u), dot(a, slice(u, {0, 0}, {2, 3})) + dot(b, slice(u, {0, 3}, {2, 4})));
}
