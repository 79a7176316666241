// GAN losses: the BCE, hinge and Wasserstein terms against their formulas, and the WGAN-GP and R1 penalties'
// values and gradients w.r.t. the critic's weights and the images (second order, through nested
// tapes) against float64 finite differences.
#include <cmath>
#include <vector>

#include "support/test_support.h"
#include "tape/nn/nn.h"

namespace nn = tape::nn;
using tape::Tensor;

namespace {

// A small critic of the DCGAN discriminators' kind: conv, leaky_relu, conv, leaky_relu, dense.
nn::Sequential tiny_critic(const Tensor& example) {
  nn::Sequential critic(nn::Conv2D(3, 3, {.strides = {2, 2}, .padding = "same"}), nn::LeakyReLU(0.2),
                        nn::Conv2D(4, 3, {.strides = {2, 2}, .padding = "same"}), nn::LeakyReLU(0.2), nn::Flatten(),
                        nn::Dense(1));
  critic(example, true);  // builds float64 weights
  return critic;
}

Tensor images(std::uint64_t seed) { return test::rand({2, 6, 6, 1}, seed); }

}  // namespace

TEST_CASE("the BCE, hinge and Wasserstein GAN losses follow their formulas", "[gan]") {
  const Tensor real = Tensor::from_vector(std::vector<double>{2.0, -1.0}, {2, 1});
  const Tensor fake = Tensor::from_vector(std::vector<double>{0.5, -3.0}, {2, 1});
  auto softplus = [](double x) { return std::log1p(std::exp(x)); };
  const nn::GanLossTerms bce = nn::gan_losses(nn::GanLoss::bce, real, fake, 0.9);
  // BCE(y, x) from logits = softplus(x) - y x
  CHECK(bce.d_real.item() == Approx((softplus(2.0) - 0.9 * 2.0 + softplus(-1.0) + 0.9) / 2));
  CHECK(bce.d_fake.item() == Approx((softplus(0.5) + softplus(-3.0)) / 2));
  CHECK(bce.g.item() == Approx((softplus(0.5) - 0.5 + softplus(-3.0) + 3.0) / 2));
  const nn::GanLossTerms hinge = nn::gan_losses(nn::GanLoss::hinge, real, fake);
  CHECK(hinge.d_real.item() == Approx((0.0 + 2.0) / 2));   // relu(1 - D(x))
  CHECK(hinge.d_fake.item() == Approx((1.5 + 0.0) / 2));   // relu(1 + D(G(z)))
  CHECK(hinge.g.item() == Approx(-(0.5 - 3.0) / 2));       // -mean D(G(z))
  CHECK_THROWS_AS(nn::gan_losses(nn::GanLoss::hinge, real, fake, 0.9), tape::ValueError);
  const nn::GanLossTerms w = nn::gan_losses(nn::GanLoss::wasserstein, real, fake);
  CHECK(w.d_real.item() == -(2.0 - 1.0) / 2);  // -mean D(x)
  CHECK(w.d_fake.item() == (0.5 - 3.0) / 2);   // mean D(G(z))
  CHECK(w.g.item() == -(0.5 - 3.0) / 2);       // -mean D(G(z))
  CHECK_THROWS_WITH(nn::gan_losses(nn::GanLoss::wasserstein, real, fake, 0.9), Catch::Contains("Wasserstein"));
}

TEST_CASE("the squared input-gradient norms match finite differences of the critic", "[wgan]") {
  const Tensor x = images(1);
  nn::Sequential critic = tiny_critic(x);
  const auto norms = nn::squared_input_gradient_norms(critic, x).to_vector<double>();
  REQUIRE(norms.size() == 2);
  auto values = x.to_vector<double>();
  const double h = 1e-6;
  for (std::size_t image = 0; image < 2; ++image) {
    double numeric = 0.0;
    for (std::size_t k = image * 36; k < (image + 1) * 36; ++k) {
      auto at = [&](double delta) {
        auto v = values;
        v[k] += delta;
        return tape::sum(critic(Tensor::from_vector(v, x.shape()), true)).item();
      };
      const double d = (at(h) - at(-h)) / (2 * h);
      numeric += d * d;
    }
    INFO("image " << image << ": tape " << norms[image] << ", finite differences " << numeric);
    REQUIRE(std::abs(norms[image] - numeric) <= 1e-6 * (1.0 + numeric));
  }
}

TEST_CASE("the gradient penalty's gradient w.r.t. the critic's weights matches finite differences", "[wgan]") {
  const Tensor real = images(2), fake = images(3);
  const Tensor eps = Tensor::from_vector(std::vector<double>{0.3, 0.8}, {2, 1, 1, 1});
  nn::Sequential critic = tiny_critic(real);
  const auto weights = critic.trainable_variables();
  REQUIRE(weights.size() == 6);
  REQUIRE_GRADCHECK([&] { return nn::gradient_penalty(critic, real, fake, eps); }, weights);
  REQUIRE_GRADCHECK([&] { return nn::r1_penalty(critic, real); }, weights);
  // And w.r.t. the images, as a gradient penalty on the generator side would need.
  REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return nn::gradient_penalty(critic, in[0], in[1], eps); },
                    std::vector<Tensor>{real, fake});
  // A penalty at a point where the norm is 1 is 0; far from it, positive.
  REQUIRE(nn::gradient_penalty(critic, real, fake, eps).item() >= 0.0);
}

