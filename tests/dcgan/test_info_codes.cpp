// InfoGAN's categorical code (dcgan train --codes): the code head's and the code's embedding's
// parameter counts, D's two heads (its logit column is what discriminate returns), the code term
// in both losses, a tiny run's one-code-per-row grid, bit-exact resume, sampling, and the options
// it does not combine with.
#include <cmath>

#include <tape/io/image.h>

#include "architectures.h"
#include "data_files.h"
#include "trainer.h"

using namespace test_files;

TEST_CASE("codes add the code embedding to G and a Dense code head beside D's logit", "[dcgan][codes]") {
  // The features D's last weighted layer takes: mnist-fast's 3x3x128 map, keras-small's flattened 7x7x128.
  for (const auto& [name, features] : {std::pair<std::string, std::int64_t>{"mnist-fast", 3 * 3 * 128},
                                       std::pair<std::string, std::int64_t>{"keras-small", 7 * 7 * 128}}) {
    INFO(name);
    const dcgan::Architecture plain = dcgan::make_architecture(name, 100, 1);
    const dcgan::Architecture cond = dcgan::make_architecture(name, 100, 1, std::nullopt, 10);
    const dcgan::Architecture info = dcgan::make_architecture(name, 100, 1, std::nullopt, 0, 10);
    REQUIRE(info.codes == 10);
    REQUIRE(info.takes_labels());
    REQUIRE_FALSE(info.conditional());
    REQUIRE(info.label_count() == 10);
    // G: the same condition block as a conditional G's.
    CHECK(info.generator.count_params() == cond.generator.count_params());
    // D: Dense(features -> 10) with biases, nothing else.
    CHECK(info.discriminator.count_params() - plain.discriminator.count_params() == features * 10 + 10);
  }
  REQUIRE_THROWS_WITH(dcgan::make_architecture("mnist-fast", 100, 1, std::nullopt, 10, 10), Catch::Contains("codes"));
  REQUIRE_THROWS_AS(dcgan::make_architecture("mnist-fast", 100, 1, std::nullopt, 0, -1), tape::ValueError);
}

TEST_CASE("D with codes: the logit and the code logits, and the code changes what G makes", "[dcgan][codes]") {
  dcgan::Architecture a = dcgan::make_architecture("mnist-fast", 16, 3, std::nullopt, 0, 10);
  const auto [z, zeros, sevens, g0, g7] = test_files::generate_zeros_and_sevens(a, 3);
  const dcgan::Architecture::Heads heads = a.discriminate_codes(g0, false);
  REQUIRE(heads.logits.shape() == tape::Shape{3, 1});
  REQUIRE(heads.code_logits.shape() == tape::Shape{3, 10});
  // D's logit ignores the labels argument (D never sees the code) and is the first column.
  REQUIRE(a.discriminate(g0, tape::Tensor(), false).to_vector<float>() == heads.logits.to_vector<float>());
  REQUIRE(test::max_rel_diff(heads.code_logits, a.discriminate_codes(g7, false).code_logits) > 1e-6);
  REQUIRE_THROWS_WITH(a.generate(z, tape::Tensor(), false), Catch::Contains("InfoGAN") && Catch::Contains("needs labels"));
  dcgan::Architecture plain = dcgan::make_architecture("mnist-fast", 16, 3);
  REQUIRE_THROWS_WITH(plain.discriminate_codes(g0, false), Catch::Contains("no code head"));
}

TEST_CASE("the code term enters D's and G's losses: without it the step is the plain one's", "[dcgan][codes]") {
  tape::Generator data_gen(4);
  const tape::Tensor images = tape::Tensor::uniform({8, 28, 28, 1}, data_gen, -1.0, 1.0);
  auto step = [&](double weight, dcgan::Architecture& a) {
    tape::nn::Adam g_opt({.learning_rate = 1e-3}), d_opt({.learning_rate = 1e-3});
    tape::Generator noise(11);
    dcgan::StepOptions o;
    o.code_weight = weight;
    return dcgan::train_step(a, g_opt, d_opt, images, noise, o);
  };
  dcgan::Architecture off = dcgan::make_architecture("mnist-fast", 16, 3, std::nullopt, 0, 10);
  dcgan::Architecture on = dcgan::make_architecture("mnist-fast", 16, 3, std::nullopt, 0, 10);
  const dcgan::StepResult r_off = step(0.0, off), r_on = step(1.0, on);
  REQUIRE(r_on.code_loss.has_value());
  CHECK(*r_on.code_loss > 0.5);  // ten codes, an untrained head: near log(10)
  CHECK(*r_on.code_loss < 10.0);
  // The reported GAN terms are the same before the update (the code term is kept apart) ...
  CHECK(r_on.d_loss_real == r_off.d_loss_real);
  CHECK(r_on.g_loss == r_off.g_loss);
  // ... but the code term moved G's weights and D's code head (untouched without it: no gradient).
  const auto g_on = on.generator.trainable_variables(), g_off = off.generator.trainable_variables();
  bool g_differs = false;
  for (std::size_t i = 0; i < g_on.size(); ++i)
    g_differs = g_differs || g_on[i].value().to_vector<float>() != g_off[i].value().to_vector<float>();
  CHECK(g_differs);
  const dcgan::Architecture initial = dcgan::make_architecture("mnist-fast", 16, 3, std::nullopt, 0, 10);
  const auto before = initial.discriminator.named_variables(), after_off = off.discriminator.named_variables(),
             after_on = on.discriminator.named_variables();
  REQUIRE(before.size() == after_off.size());
  int heads = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (before[i].name.find("code_logits") == std::string::npos) continue;
    INFO(before[i].name);
    ++heads;
    REQUIRE(after_off[i].name == before[i].name);
    CHECK(after_off[i].variable.value().to_vector<float>() == before[i].variable.value().to_vector<float>());
    CHECK(after_on[i].variable.value().to_vector<float>() != before[i].variable.value().to_vector<float>());
  }
  REQUIRE(heads == 2);  // its kernel and bias
}

TEST_CASE("a run with codes trains, resumes bit for bit, draws one code per row and samples", "[dcgan][codes][train]") {
  TempDir data, out;
  write_tiny_mnist(data, 40);
  dcgan::TrainConfig c = tiny_config(data, out.file("whole"));
  c.arch = "mnist-fast";
  c.codes = 10;
  c.samples = 3;
  c.steps = 8;
  c.checkpoint_every = 100;
  c.updates = "alternating";
  c.ema = 0.9;        // the weight average is built with the code block too
  c.r1_gamma = 0.5;   // R1 differentiates D's logit column (a slice of both heads) twice
  const std::string checkpoint = require_one_row_per_label(c, out, "codes");
  REQUIRE(dcgan::load_generator(checkpoint).codes == 10);
  REQUIRE(tape::nn::load_safetensors(checkpoint).tensors.count("generator_ema/generator/condition/label_embedding/embeddings") == 1);
  dcgan::sample(checkpoint, 7, {.seed = 1}, out.file("samples.npy"));  // codes cycled (image i has code i % 10), not rounded up

  // Resuming it without --codes is refused, naming both.
  c.codes = 0;
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("--codes 10") && Catch::Contains("same --codes"));
}

TEST_CASE("codes do not combine with labels, WGAN-GP, gated updates or balance", "[dcgan][codes]") {
  TempDir data, out;
  write_tiny_mnist(data, 16);
  dcgan::TrainConfig c = tiny_config(data, out.file("run"));
  c.codes = 10;
  c.conditional = true;
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("--codes is for") && Catch::Contains("not with --conditional"));
  c.conditional = false;
  c.loss = "wgan-gp";
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("not with --loss wgan-gp"));
  c.loss = "bce";
  c.balance = true;
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("not with --balance"));
  c.balance = false;
  c.updates = "gated";
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("not with --updates gated"));
  c.updates = "simultaneous";
  c.code_weight = -1;
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("--code-weight must be finite and >= 0, got -1"));
  c.code_weight = std::nan("");
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("--code-weight must be finite"));
  c.code_weight = 0.5;
  c.codes = 0;
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("--code-weight needs --codes"));
  c.code_weight = 1.0;
  c.codes = 1;
  REQUIRE_THROWS_WITH(dcgan::train(c), Catch::Contains("--codes 1"));
}
