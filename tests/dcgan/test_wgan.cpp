// WGAN-GP and R1: the penalties' values and their gradients w.r.t. the critic's weights (second
// order, through nested tapes) against float64 finite differences, and training runs with them.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "architectures.h"
#include "support/test_support.h"
#include "trainer.h"

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

TEST_CASE("the squared input-gradient norms match finite differences of the critic", "[wgan]") {
  const Tensor x = images(1);
  nn::Sequential critic = tiny_critic(x);
  const auto norms = dcgan::squared_input_gradient_norms(critic, x).to_vector<double>();
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
  REQUIRE_GRADCHECK([&] { return dcgan::gradient_penalty(critic, real, fake, eps); }, weights);
  REQUIRE_GRADCHECK([&] { return dcgan::r1_penalty(critic, real); }, weights);
  // And w.r.t. the images, as a gradient penalty on the generator side would need.
  REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return dcgan::gradient_penalty(critic, in[0], in[1], eps); },
                    std::vector<Tensor>{real, fake});
  // A penalty at a point where the norm is 1 is 0; far from it, positive.
  REQUIRE(dcgan::gradient_penalty(critic, real, fake, eps).item() >= 0.0);
}

TEST_CASE("WGAN-GP needs a critic without BatchNorm", "[wgan]") {
  dcgan::Architecture libtorch = dcgan::make_architecture("libtorch", 100, 1);
  REQUIRE_THROWS_WITH(dcgan::check_critic(libtorch.discriminator, "libtorch"),
                      Catch::Contains("BatchNorm") && Catch::Contains("libtorch"));
  dcgan::Architecture tf = dcgan::make_architecture("tf-tutorial", 100, 1);
  REQUIRE_NOTHROW(dcgan::check_critic(tf.discriminator, "tf-tutorial"));
}

TEST_CASE("a WGAN-GP step updates the critic every step and the generator when asked", "[wgan]") {
  dcgan::Architecture arch = dcgan::make_architecture("keras-small", 16, 3);
  nn::Adam g_opt({.learning_rate = 1e-4, .beta1 = 0.5, .beta2 = 0.9}), d_opt({.learning_rate = 1e-4, .beta1 = 0.5, .beta2 = 0.9});
  tape::Generator gen(5);
  const Tensor real = tape::tanh(Tensor::normal({4, 28, 28, 1}, gen));
  const auto g_before = arch.generator.trainable_variables()[0].value().to_vector<float>();
  const auto d_before = arch.discriminator.trainable_variables()[0].value().to_vector<float>();
  dcgan::StepResult r = dcgan::wgan_gp_step(arch, g_opt, d_opt, real, gen, {.gp_weight = 10.0, .train_g = false});
  REQUIRE(!r.g_updated);
  REQUIRE(arch.generator.trainable_variables()[0].value().to_vector<float>() == g_before);
  REQUIRE(arch.discriminator.trainable_variables()[0].value().to_vector<float>() != d_before);
  REQUIRE(r.d_loss_real == Approx(-r.d_real));
  r = dcgan::wgan_gp_step(arch, g_opt, d_opt, real, gen, {.gp_weight = 10.0, .train_g = true});
  REQUIRE(r.g_updated);
  REQUIRE(arch.generator.trainable_variables()[0].value().to_vector<float>() != g_before);
  for (double v : {r.d_loss_real, r.d_loss_fake, r.g_loss}) REQUIRE(std::isfinite(v));
}
