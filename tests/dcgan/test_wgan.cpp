// WGAN-GP in the trainer: the critic it accepts and the updates of its step (the penalties
// themselves are tested with tape::nn's GAN losses).
#include <cmath>
#include <filesystem>
#include <fstream>

#include "architectures.h"
#include "support/test_support.h"
#include "trainer.h"

namespace nn = tape::nn;
using tape::Tensor;

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
