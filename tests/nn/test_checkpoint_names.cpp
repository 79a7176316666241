// Checkpoint keys and layer names: the fixture tests/fixtures/checkpoint_global_names.safetensors,
// written by a release that numbered default layer names per process (the models built after the
// first one got "dense_2", "batch_normalization_1", ...), and the hidden test case that wrote it.
#include <cstdlib>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "tape/nn/nn.h"

#ifndef TAPE_FIXTURES_DIR
#error "TAPE_FIXTURES_DIR must name the tests/fixtures source directory"
#endif

using namespace tape;

namespace {

const std::string kGlobalNamesFixture = std::string(TAPE_FIXTURES_DIR) + "/checkpoint_global_names.safetensors";

// Three small models, each with its own Adam, built in this order from one generator: two named
// roots (as the DCGAN trainer's "generator" and "discriminator") with BatchNorm, Dropout (explicit
// seeds) and SpectralNorm, then an unnamed Sequential holding an unnamed Sequential.
struct FixtureModels {
  nn::Sequential generator = nn::Sequential::named("generator", nn::Dense(6), nn::BatchNorm(), nn::LeakyReLU(0.2),
                                                   nn::Dropout(0.25, {.seed = 5}), nn::SpectralNorm(nn::Dense(4)));
  nn::Sequential discriminator = nn::Sequential::named("discriminator", nn::Dense(5), nn::BatchNorm(),
                                                       nn::Dropout(0.5, {.seed = 6}), nn::SpectralNorm(nn::Dense(1)));
  nn::Sequential nested{nn::Sequential(nn::Dense(3), nn::Dense(3)), nn::Dense(2)};
  nn::Adam generator_opt, discriminator_opt, nested_opt;

  explicit FixtureModels(std::uint64_t seed) {
    Generator gen(seed);
    generator.build({3}, gen);
    discriminator.build({4}, gen);
    nested.build({3}, gen);
  }

  // Two training steps of each model on fixed data (BatchNorm in batch mode, Dropout masks drawn,
  // SpectralNorm's power iteration run, Adam slots filled).
  void train() {
    for (int step = 0; step < 2; ++step) {
      train_step(generator, generator_opt, {4, 3}, {4, 4}, 100 + step);
      train_step(discriminator, discriminator_opt, {4, 4}, {4, 1}, 200 + step);
      train_step(nested, nested_opt, {4, 3}, {4, 2}, 300 + step);
    }
  }

  std::vector<nn::CheckpointEntry> entries() const {
    return {{"generator", &generator, &generator_opt},
            {"discriminator", &discriminator, &discriminator_opt},
            {"model", &nested, &nested_opt}};
  }

  std::vector<std::pair<std::string, Generator*>> generators() {
    auto out = generator.named_generators();
    for (const auto& g : discriminator.named_generators()) out.push_back(g);
    return out;
  }

 private:
  static void train_step(nn::Module& model, nn::Optimizer& optimizer, const Shape& x_shape, const Shape& y_shape,
                         std::uint64_t seed) {
    Generator gen(seed);
    const Tensor x = Tensor::uniform(x_shape, gen, -1.0, 1.0), y = Tensor::uniform(y_shape, gen, -1.0, 1.0);
    GradientTape tape;
    const Tensor loss = nn::mean_squared_error(y, model(x, true));
    const auto vars = model.trainable_variables();
    optimizer.apply_gradients(tape.gradient(loss, vars), vars);
  }
};

}  // namespace

// Wrote the fixture on the release with per-process layer numbering (run alone in a fresh process:
// tape_nn_tests "[write-fixture]"); it checks that the discriminator's first Dense was numbered
// after the generator's two, as that numbering did.
TEST_CASE("writes the checkpoint fixture with per-process layer numbers", "[.][write-fixture]") {
  FixtureModels models(1);
  models.train();
  REQUIRE(models.discriminator.named_variables().front().name == "discriminator/dense_2/kernel");
  nn::save_checkpoint(kGlobalNamesFixture, models.entries(), {{{"note", "per-process layer numbers"}}, models.generators()});
}
