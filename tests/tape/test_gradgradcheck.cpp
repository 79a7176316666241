// A second derivative beyond single ops (per-op gradgradchecks come from the op table,
// op_table.cpp): a WGAN-GP style input-gradient penalty differentiated w.r.t. the weights.
#include "support/test_support.h"

using namespace tape;
using test::rand;
using Args = std::vector<Tensor>;

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
