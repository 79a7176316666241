// The class-conditional DCGAN (dcgan train --conditional): the condition blocks' parameter counts,
// labels that change what G makes and what D says, the labels' draw (uniform, seeded, nothing
// drawn for an unconditional net), a tiny run's one-class-per-row grid and checkpoint, sampling,
// a walk and WGAN-GP with labels.
#include <cmath>
#include <map>

#include <tape/io/image.h>

#include "architectures.h"
#include "data_files.h"
#include "trainer.h"

using namespace test_files;

namespace {

std::int64_t params(const tape::nn::Module& m) { return m.count_params(); }

}  // namespace

TEST_CASE("a conditional architecture adds exactly its condition blocks' weights to G and D", "[dcgan][conditional]") {
  for (const std::string name : {"keras-small", "mnist-fast", "tf-tutorial"}) {
    INFO(name);
    const dcgan::Architecture plain = dcgan::make_architecture(name, 100, 1);
    const dcgan::Architecture cond = dcgan::make_architecture(name, 100, 1, std::nullopt, 10);
    REQUIRE(cond.conditional());
    REQUIRE(cond.z_dim == 100);
    REQUIRE_FALSE(plain.conditional());
    // G: the label's embedding (10 x 50), and its first layer sees 50 more inputs.
    const auto& g_first = dynamic_cast<const tape::nn::KernelLayer&>(*plain.generator.layers().at(
        name == "mnist-fast" ? 1 : 0));  // mnist-fast starts with a Reshape to a 1x1 map
    const tape::Shape g_kernel = g_first.kernel().shape();
    const std::int64_t per_input = g_kernel.numel() / g_kernel[g_first.kernel_matrix_axes()[1]];  // weights per input
    CHECK(params(cond.generator) - params(plain.generator) == 10 * 50 + 50 * per_input);
    // D: the embedding, Dense(50 -> 28 * 28) with bias, and one more input channel for its first conv.
    const auto& d_first = dynamic_cast<const tape::nn::KernelLayer&>(*plain.discriminator.layers().at(0));
    const tape::Shape k = d_first.kernel().shape();  // [kh, kw, 1, filters]
    CHECK(params(cond.discriminator) - params(plain.discriminator) == 10 * 50 + 50 * 784 + 784 + k[0] * k[1] * k[3]);
  }
  REQUIRE_THROWS_AS(dcgan::make_architecture("keras-small", 100, 1, std::nullopt, -1), tape::ValueError);
}

TEST_CASE("the label changes what a conditional G makes and what its D says, and is required", "[dcgan][conditional]") {
  dcgan::Architecture a = dcgan::make_architecture("keras-small", 16, 3, std::nullopt, 10);
  const auto [z, zeros, sevens, g0, g7] = test_files::generate_zeros_and_sevens(a, 2);
  REQUIRE(test::max_rel_diff(a.discriminate(g0, zeros, false), a.discriminate(g0, sevens, false)) > 1e-6);
  REQUIRE_THROWS_WITH(a.generate(z, tape::Tensor(), false), Catch::Contains("needs labels"));
  REQUIRE_THROWS_WITH(a.discriminate(g0, tape::Tensor(), false), Catch::Contains("needs labels"));
  REQUIRE_THROWS_WITH(a.generate(z, tape::Tensor::full({2}, 10.0), false), Catch::Contains("index 10"));
}

TEST_CASE("labels are drawn uniformly and seeded, and an unconditional architecture draws none", "[dcgan][conditional]") {
  const dcgan::Architecture cond = dcgan::make_architecture("keras-small", 8, 1, std::nullopt, 10);
  tape::Generator g1(9), g2(9);
  const std::vector<float> ids = cond.sample_labels(20000, g1).to_vector<float>();
  REQUIRE(ids == cond.sample_labels(20000, g2).to_vector<float>());
  std::map<float, int> counts;
  for (float id : ids) ++counts[id];
  REQUIRE(counts.size() == 10);
  for (const auto& [id, count] : counts) {
    INFO("class " << id << ": " << count);
    CHECK(id == std::floor(id));
    CHECK(std::abs(count - 2000) < 200);  // ~4.7 standard deviations
  }
  REQUIRE(cond.cycle_labels(12, 5).to_vector<float>() == std::vector<float>{5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6});

  const dcgan::Architecture plain = dcgan::make_architecture("keras-small", 8, 1);
  tape::Generator untouched(9);
  const tape::GeneratorState before = untouched.state();
  REQUIRE_FALSE(plain.sample_labels(5, untouched).defined());
  REQUIRE(untouched.state() == before);
  REQUIRE_FALSE(plain.cycle_labels(5).defined());
}

TEST_CASE("a conditional run trains, resumes bit for bit, draws one class per row and samples by class",
          "[dcgan][conditional][train]") {
  TempDir data, out;
  write_tiny_mnist(data, 40);
  dcgan::TrainConfig c = tiny_config(data, out.file("whole"));
  c.conditional = true;
  c.samples = 3;
  c.steps = 8;
  c.r1_gamma = 0.5;
  c.checkpoint_every = 100;
  const std::string checkpoint = require_one_row_per_label(c, out, "classes");
  REQUIRE(dcgan::load_generator(checkpoint).classes == 10);

  // Resuming it without --conditional (or an unconditional run with it) is refused, naming both.
  c.conditional = false;
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("run with 10 classes") && Catch::Contains("same --conditional"));
}

TEST_CASE("WGAN-GP with labels: the critic's fakes take the real labels, G's update draws fresh ones", "[dcgan][conditional]") {
  TempDir data, out;
  write_tiny_mnist(data, 16);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.conditional = true;
  c.loss = "wgan-gp";
  c.n_critic = 2;
  c.steps = 4;
  REQUIRE(dcgan::train(c) == 0);

  // The noise a critic step draws: z and the penalty's eps, and no labels (the fakes take the real
  // batch's), exactly what an unconditional critic step draws; G's step adds its fresh labels.
  dcgan::Architecture cond = dcgan::make_architecture("keras-small", 100, 2, std::nullopt, 10);
  dcgan::Architecture plain = dcgan::make_architecture("keras-small", 100, 2);
  tape::nn::Adam g_opt({.learning_rate = 1e-4}), d_opt({.learning_rate = 1e-4});
  tape::Generator data_gen(4);
  const tape::Tensor images = tape::Tensor::uniform({4, 28, 28, 1}, data_gen, -1.0, 1.0);
  const dcgan::RealBatch real(images, cond.cycle_labels(4));
  tape::Generator a(11), b(11), expected(11);
  dcgan::wgan_gp_step(cond, g_opt, d_opt, real, a, {.gp_weight = 10.0, .train_g = false});
  dcgan::wgan_gp_step(plain, g_opt, d_opt, images, b, {.gp_weight = 10.0, .train_g = false});
  REQUIRE(a.state() == b.state());
  const dcgan::StepResult r = dcgan::wgan_gp_step(cond, g_opt, d_opt, real, a, {.gp_weight = 10.0, .train_g = true});
  REQUIRE(std::isfinite(r.d_loss_real + r.d_loss_fake + r.g_loss));
  cond.sample_noise(4, expected), tape::Tensor::uniform({4, 1, 1, 1}, expected);  // the critic step's draws
  cond.sample_noise(4, expected), tape::Tensor::uniform({4, 1, 1, 1}, expected);  // again, before G's step
  cond.sample_noise(4, expected), cond.sample_labels(4, expected);                // G's fresh z and labels
  REQUIRE(a.state() == expected.state());
  REQUIRE_THROWS_WITH(dcgan::wgan_gp_step(cond, g_opt, d_opt, images, a, {}), Catch::Contains("needs labels"));
}
