// Checkpoint keys and layer names: models built alike in one process save and load each other's
// checkpoints; the fixture tests/fixtures/checkpoint_global_names.safetensors, written by a release
// that numbered default layer names per process (the models built after the first one got
// "dense_2", "batch_normalization_1", ...), loads with its numbers read per model; and the hidden
// test case that wrote it.
#include <map>
#include <string>
#include <vector>

#include "support/temp_dir.h"
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

  std::vector<nn::CheckpointTarget> targets() {
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

// Every variable, optimizer slot and generator state of `models`, by name.
std::map<std::string, Tensor> tensors_of(FixtureModels& models) {
  std::map<std::string, Tensor> out;
  for (const auto& t : models.targets()) {
    for (const auto& nv : t.model->named_variables()) out.emplace(t.prefix + "/" + nv.name, nv.variable.peek());
    for (const auto& s : t.optimizer->state()) out.emplace(t.prefix + "/optimizer/" + s.variable + "/" + s.slot, s.value);
  }
  return out;
}

std::map<std::string, GeneratorState> generator_states(FixtureModels& models) {
  std::map<std::string, GeneratorState> out;
  for (const auto& [name, gen] : models.generators()) out.emplace(name, gen->state());
  return out;
}

// Same dtype, shape and values, bit for bit.
void require_same(const Tensor& a, const Tensor& b) {
  REQUIRE(a.dtype() == b.dtype());
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.to_vector<double>() == b.to_vector<double>());
}

}  // namespace

TEST_CASE("models built alike in one process have the same keys and load each other's checkpoints", "[checkpoint]") {
  test::TempDir dir;
  const std::string path = dir.file("pair.safetensors");
  FixtureModels a(1), b(2);
  a.train();
  nn::save_checkpoint(path, a.entries(), {{}, a.generators()});
  const auto saved = tensors_of(a);
  REQUIRE(saved.count("discriminator/discriminator/dense/kernel") == 1);
  REQUIRE(saved.count("discriminator/discriminator/spectral_normalization/dense_1/kernel") == 1);
  REQUIRE(saved.count("model/sequential_1/sequential/dense_1/bias") == 1);
  REQUIRE(saved.count("discriminator/optimizer/discriminator/dense/kernel/m") == 1);
  REQUIRE(generator_states(a).count("discriminator/dropout/generator") == 1);

  b.train();  // state of its own, which loading replaces
  nn::load_checkpoint(path, b.targets(), b.generators());
  const auto loaded = tensors_of(b);
  REQUIRE(loaded.size() == saved.size());
  for (const auto& [name, value] : saved) {
    INFO(name);
    REQUIRE(loaded.count(name) == 1);
    require_same(loaded.at(name), value);
  }
  REQUIRE(generator_states(b) == generator_states(a));
}

TEST_CASE("a checkpoint with per-process layer numbers loads with its numbers read per model", "[checkpoint]") {
  FixtureModels earlier(3);  // built first, as the release that wrote the fixture would have numbered
  FixtureModels models(2);
  const auto metadata = nn::load_checkpoint(kGlobalNamesFixture, models.targets(), models.generators());
  REQUIRE(metadata.at("note") == "per-process layer numbers");
  REQUIRE(metadata.count("rng/discriminator/dropout/generator") == 1);  // read per model too

  // The documented mapping, spelled out: each key's numbers, ascending per default name and
  // prefix, become 0, 1, 2, ...
  const nn::TensorFile file = nn::load_safetensors(kGlobalNamesFixture);
  const std::map<std::string, std::string> written_as{
      {"generator/generator/spectral_normalization/dense_1/kernel", "generator/generator/spectral_normalization/dense_1/kernel"},
      {"discriminator/discriminator/dense/kernel", "discriminator/discriminator/dense_2/kernel"},
      {"discriminator/discriminator/batch_normalization/moving_mean", "discriminator/discriminator/batch_normalization_1/moving_mean"},
      {"discriminator/discriminator/spectral_normalization/u", "discriminator/discriminator/spectral_normalization_1/u"},
      {"discriminator/discriminator/spectral_normalization/dense_1/bias", "discriminator/discriminator/spectral_normalization_1/dense_3/bias"},
      {"discriminator/optimizer/discriminator/dense/kernel/v", "discriminator/optimizer/discriminator/dense_2/kernel/v"},
      {"model/sequential_1/sequential/dense/kernel", "model/sequential_1/sequential/dense_4/kernel"},
      {"model/sequential_1/sequential/dense_1/kernel", "model/sequential_1/sequential/dense_5/kernel"},
      {"model/optimizer/sequential_1/dense_2/kernel/m", "model/optimizer/sequential_1/dense_6/kernel/m"}};
  const auto loaded = tensors_of(models);
  REQUIRE(loaded.size() == file.tensors.size());
  for (const auto& [name, old_name] : written_as) {
    INFO(name << " written as " << old_name);
    require_same(loaded.at(name), file.tensors.at(old_name));
  }
  REQUIRE(models.generators()[1].first == "discriminator/dropout/generator");
  REQUIRE(models.generators()[1].second->state() == GeneratorState{6, 20, 4});  // "rng/discriminator/dropout_1/generator"
  for (const auto& t : models.targets()) REQUIRE(t.optimizer->iterations() == 2);

  // And the values are the ones the same training gives today (up to rounding, should an op's
  // arithmetic change), but for rounding noise: the first Dense of the generator and of the
  // discriminator feeds a BatchNorm, so its bias's gradient is zero up to rounding, which Adam
  // scales to full-size steps. That bias, its Adam slots and the BatchNorm's moving mean (which
  // tracks the bias) differ with the order a compiler or GEMM sums in (oneDNN's AVX-512 sgemm: the
  // biases and slots 28-158% off; Clang with Eigen's GEMM: the bias 72% off), so they are left
  // out; the BatchNorm's output does not see the bias, so everything else is compared.
  FixtureModels again(1);
  again.train();
  const auto expected = tensors_of(again);
  REQUIRE(expected.size() == loaded.size());
  const auto rounding_noise = [](const std::string& name) {
    for (const char* noise : {"generator/dense/bias", "discriminator/dense/bias", "generator/batch_normalization/moving_mean",
                              "discriminator/batch_normalization/moving_mean"}) {
      if (name.find(noise) != std::string::npos) return true;
    }
    return false;
  };
  int compared = 0;
  for (const auto& [name, value] : expected) {
    INFO(name);
    REQUIRE(loaded.count(name) == 1);
    if (rounding_noise(name)) continue;
    test::require_close(loaded.at(name), value, 1e-5);
    ++compared;
  }
  REQUIRE(compared == static_cast<int>(expected.size()) - 8);  // two biases with Adam's m and v, two moving means
  REQUIRE(generator_states(models) == generator_states(again));
}

// Wrote the fixture on the release with per-process layer numbering (run alone in a fresh process:
// tape_nn_tests "[write-fixture]"); it checks that the discriminator's first Dense was numbered
// after the generator's two, as that numbering did, so it fails on releases that number per model.
TEST_CASE("writes the checkpoint fixture with per-process layer numbers", "[.][write-fixture]") {
  FixtureModels models(1);
  models.train();
  REQUIRE(models.discriminator.named_variables().front().name == "discriminator/dense_2/kernel");
  nn::save_checkpoint(kGlobalNamesFixture, models.entries(), {{{"note", "per-process layer numbers"}}, models.generators()});
}
