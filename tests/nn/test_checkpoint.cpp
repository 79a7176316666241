// Checkpoint tests: safetensors round trips (bit-exact; f32, f64, scalars, empty tensors and
// metadata), models, Adam state and generators restored so the next step is bit-identical, every
// kind of damaged file rejected with a message naming the file (and tensor) while the model stays
// untouched, atomic writes, and an independent numpy reader (read_checkpoint.py) agreeing.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/file_size_limit.h"
#include "support/temp_dir.h"
#include "support/test_support.h"
#include "tape/nn/nn.h"

#ifndef TAPE_TESTS_DIR
#error "TAPE_TESTS_DIR must name the tests/ source directory"
#endif

namespace fs = std::filesystem;
using namespace tape;
using Catch::Contains;

namespace {

using test::TempDir;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

std::string u64_le(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::uint64_t header_length(const std::string& bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return v;
}

// A safetensors file made by hand: length (the header's own unless given), header, data.
std::string raw_file(const std::string& header, const std::string& data,
                     std::uint64_t length = std::numeric_limits<std::uint64_t>::max()) {
  return u64_le(length == std::numeric_limits<std::uint64_t>::max() ? header.size() : length) + header + data;
}

// Same dtype, shape and bytes (so -0.0, NaN payloads and denormals count).
bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const std::size_t bytes = static_cast<std::size_t>(a.numel()) * element_size(a.dtype());
  return std::memcmp(a.raw_data(), b.raw_data(), bytes) == 0;
}

std::vector<Tensor> values(const nn::Module& model) {
  std::vector<Tensor> out;
  for (const auto& nv : model.named_variables()) out.push_back(nv.variable.peek());
  return out;
}

void require_same_values(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("variable " << i);
    REQUIRE(same_bits(a[i], b[i]));
  }
}

// Dense, BatchNorm, LeakyReLU, Dropout, Dense on inputs [batch, 5], with the same layer names on
// every call (names are numbered per model) and initial values from `seed`.
nn::Sequential make_model(std::uint64_t seed, std::int64_t hidden = 16) {
  nn::Sequential model(nn::Dense(hidden), nn::BatchNorm(), nn::LeakyReLU(0.2), nn::Dropout(0.25), nn::Dense(3));
  model.build(Shape{5}, seed);
  return model;
}

struct Batch {
  Tensor x, y;
};

Batch make_batch() {
  Generator gen(99);
  return {Tensor::uniform({8, 5}, gen, -1.0, 1.0), Tensor::uniform({8, 3}, gen, -1.0, 1.0)};
}

// One training step: BatchNorm in batch mode, a Dropout mask drawn, an optimizer update.
void train_step(nn::Module& model, nn::Optimizer& optimizer, const Batch& batch) {
  GradientTape tape;
  const Tensor loss = nn::mean_squared_error(batch.y, model(batch.x, true));
  const auto vars = model.trainable_variables();
  optimizer.apply_gradients(tape.gradient(loss, vars), vars);
}

// `f` must throw IOError whose message contains every one of `parts`; returns the message.
template <class F>
std::string require_io_error(F&& f, const std::vector<std::string>& parts) {
  std::string message;
  bool threw = false;
  try {
    f();
  } catch (const IOError& e) {
    threw = true;
    message = e.what();
  }
  INFO("message: " << message);
  REQUIRE(threw);
  for (const auto& part : parts) REQUIRE_THAT(message, Contains(part));
  return message;
}

// load_checkpoint(path, model, ...) must throw IOError containing `parts`, changing nothing.
void require_load_fails(const std::string& path, nn::Module& model, const std::vector<std::string>& parts,
                        nn::Optimizer* optimizer = nullptr,
                        const std::vector<std::pair<std::string, Generator*>>& generators = {}) {
  const auto before = values(model);
  std::vector<std::string> all{"load_checkpoint: " + path + ": "};
  all.insert(all.end(), parts.begin(), parts.end());
  require_io_error([&] { nn::load_checkpoint(path, model, optimizer, generators); }, all);
  require_same_values(values(model), before);
}

using test::FileSizeLimit;

// Generator names under a model's prefix, so that two models' Dropout streams do not collide.
std::vector<std::pair<std::string, Generator*>> prefixed(const std::string& prefix,
                                                         std::vector<std::pair<std::string, Generator*>> gens) {
  for (auto& g : gens) g.first = prefix + "/" + g.first;
  return gens;
}

// f32 and f64 tensors, scalars, special values and an empty tensor.
nn::TensorFile sample_file() {
  Generator gen(5);
  nn::TensorFile file;
  file.tensors["a/weights"] = Tensor::normal({3, 4}, gen, 0.0, 1.0, DType::f32);
  file.tensors["b/weights64"] = Tensor::normal({2, 3, 2}, gen, 0.0, 1.0, DType::f64);
  file.tensors["scalar32"] = Tensor::scalar(-0.0f);
  file.tensors["scalar64"] = Tensor::scalar(std::numeric_limits<double>::denorm_min());
  const float inf = std::numeric_limits<float>::infinity();
  file.tensors["special"] = Tensor::from_vector(std::vector<float>{
      inf, -inf, std::numeric_limits<float>::min(), std::numeric_limits<float>::max(),
      std::numeric_limits<float>::denorm_min(), 0.1f});
  file.tensors["empty"] = Tensor::zeros({0, 3}, DType::f64);
  return file;
}

}  // namespace

// ---------------------------------------------------------------- safetensors files

TEST_CASE("safetensors round trip is bit-exact for f32, f64, scalars and empty tensors", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("tensors.safetensors");
  nn::TensorFile file = sample_file();
  SECTION("empty metadata") {}
  SECTION("metadata, including non-ASCII text") {
    file.metadata = {{"step", "1200"}, {"note", "größe ✓"}, {"empty", ""}};
  }
  nn::save_safetensors(path, file);
  const nn::TensorFile loaded = nn::load_safetensors(path);
  REQUIRE(loaded.metadata == file.metadata);
  REQUIRE(loaded.tensors.size() == file.tensors.size());
  for (const auto& [name, tensor] : file.tensors) {
    INFO(name);
    REQUIRE(loaded.tensors.count(name) == 1);
    REQUIRE(same_bits(loaded.tensors.at(name), tensor));
  }

  // The raw layout: u64 length, space-padded JSON, contiguous data in the order of the offsets.
  const std::string bytes = read_bytes(path);
  const std::uint64_t n = header_length(bytes);
  REQUIRE(n % 8 == 0);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  REQUIRE(header.contains("__metadata__") == !file.metadata.empty());
  REQUIRE(header["a/weights"]["dtype"] == "F32");
  REQUIRE(header["b/weights64"]["dtype"] == "F64");
  REQUIRE(header["b/weights64"]["shape"] == nlohmann::json({2, 3, 2}));
  REQUIRE(header["scalar32"]["shape"] == nlohmann::json::array());
  REQUIRE(header["empty"]["shape"] == nlohmann::json({0, 3}));
  std::uint64_t end = 0;
  for (const auto& [name, tensor] : file.tensors) {  // written in name order
    const auto offsets = header[name]["data_offsets"];
    REQUIRE(offsets[0] == end);
    end += static_cast<std::uint64_t>(tensor.numel()) * element_size(tensor.dtype());
    REQUIRE(offsets[1] == end);
  }
  REQUIRE(bytes.size() == 8 + n + end);
  const std::uint64_t special_begin = header["special"]["data_offsets"][0];
  float first_special = 0.0f;
  std::memcpy(&first_special, bytes.data() + 8 + n + special_begin, 4);  // little-endian host
  REQUIRE(first_special == std::numeric_limits<float>::infinity());
}

TEST_CASE("saving rejects undefined tensors, reserved names and invalid UTF-8 with ValueError", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  nn::TensorFile file;
  file.tensors["x"] = Tensor();
  REQUIRE_THROWS_AS(nn::save_safetensors(path, file), ValueError);
  file.tensors.clear();
  file.tensors["__metadata__"] = Tensor::scalar(1.0f);
  REQUIRE_THROWS_AS(nn::save_safetensors(path, file), ValueError);
  file.tensors.clear();
  file.metadata["bad"] = "\xff";  // not UTF-8
  REQUIRE_THROWS_AS(nn::save_safetensors(path, file), ValueError);
  REQUIRE(dir.entries().empty());
}

// ---------------------------------------------------------------- models, optimizers, generators

TEST_CASE("a model saved and loaded into a fresh model gives bit-identical outputs", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const Batch batch = make_batch();
  nn::Sequential a = make_model(1);
  a(batch.x, true);  // moves BatchNorm's moving statistics off their initial values
  nn::save_checkpoint(path, a);

  nn::Sequential b = make_model(2);
  REQUIRE_FALSE(same_bits(a(batch.x), b(batch.x)));
  const auto metadata = nn::load_checkpoint(path, b);
  REQUIRE(metadata.at("format") == "tape-checkpoint-1");
  REQUIRE(same_bits(a(batch.x), b(batch.x)));
  require_same_values(values(b), values(a));

  // Every variable, and nothing else, under "model/<hierarchical name>".
  const nn::TensorFile file = nn::load_safetensors(path);
  const auto vars = a.named_variables();
  REQUIRE(file.tensors.size() == vars.size());
  for (const auto& nv : vars) REQUIRE(file.tensors.count("model/" + nv.name) == 1);
  REQUIRE(file.tensors.count("model/sequential/batch_normalization/moving_mean") == 1);

  // Metadata may not repeat a key the checkpoint writes itself.
  nn::CheckpointExtras extras;
  extras.metadata["format"] = "mine";
  REQUIRE_THROWS_AS(nn::save_checkpoint(path, a, nullptr, extras), ValueError);
  // A model that was never built has no variables to load into.
  nn::Sequential unbuilt(nn::Dense(16), nn::BatchNorm(), nn::LeakyReLU(0.2), nn::Dropout(0.25), nn::Dense(3));
  require_load_fails(path, unbuilt, {"build it before loading"});
}

TEST_CASE("after loading model, Adam state and generators the next training step is bit-identical", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("train.safetensors");
  const Batch batch = make_batch();
  nn::AdamOptions options;
  options.learning_rate = 0.01;

  nn::Sequential a = make_model(1);
  nn::Adam adam_a(options);
  for (int step = 0; step < 3; ++step) train_step(a, adam_a, batch);
  nn::CheckpointExtras extras;
  extras.metadata["epoch"] = "7";
  extras.generators = a.named_generators();
  REQUIRE(extras.generators.size() == 1);  // the Dropout mask stream
  nn::save_checkpoint(path, a, &adam_a, extras);

  nn::Sequential b = make_model(2);
  nn::Adam adam_b(options);
  train_step(b, adam_b, batch);  // state of its own, which loading must replace
  const auto metadata = nn::load_checkpoint(path, b, &adam_b, b.named_generators());
  REQUIRE(metadata.at("epoch") == "7");
  REQUIRE(metadata.at("model/optimizer/type") == "Adam");
  REQUIRE(metadata.at("model/optimizer/iterations") == "3");
  REQUIRE(metadata.count("rng/" + extras.generators[0].first) == 1);
  REQUIRE(adam_b.iterations() == 3);
  REQUIRE(b.named_generators()[0].second->state() == a.named_generators()[0].second->state());

  train_step(a, adam_a, batch);
  train_step(b, adam_b, batch);
  require_same_values(values(b), values(a));
  const auto state_a = adam_a.state(), state_b = adam_b.state();
  REQUIRE(state_a.size() == state_b.size());
  REQUIRE(state_a.size() == 2 * a.trainable_variables().size());  // m and v
  for (std::size_t i = 0; i < state_a.size(); ++i) {
    INFO(state_a[i].variable << "/" << state_a[i].slot);
    REQUIRE(state_a[i].variable == state_b[i].variable);
    REQUIRE(state_a[i].slot == state_b[i].slot);
    REQUIRE(same_bits(state_a[i].value, state_b[i].value));
  }
  REQUIRE(adam_b.iterations() == adam_a.iterations());
}

TEST_CASE("SpectralNorm's u and v are checkpointed exactly: same outputs and the same next step", "[checkpoint][spectral_norm]") {
  TempDir dir;
  const std::string path = dir.file("sn.safetensors");
  auto make = [](std::uint64_t seed) {
    nn::Sequential model(nn::SpectralNorm(nn::Conv2D(4, 3, {.strides = {2, 2}, .padding = "same"})), nn::LeakyReLU(0.2),
                         nn::Flatten(), nn::SpectralNorm(nn::Dense(3), {.n_power_iterations = 2}));
    model.build(Shape{6, 6, 2}, seed);
    return model;
  };
  Generator gen(98);
  const Batch batch{Tensor::uniform({8, 6, 6, 2}, gen, -1.0, 1.0), Tensor::uniform({8, 3}, gen, -1.0, 1.0)};
  nn::Sequential a = make(1);
  nn::Adam adam_a;
  for (int step = 0; step < 3; ++step) train_step(a, adam_a, batch);  // moves u and v off their draw
  nn::save_checkpoint(path, a, &adam_a);
  const nn::TensorFile file = nn::load_safetensors(path);
  REQUIRE(file.tensors.count("model/sequential/spectral_normalization/u") == 1);
  REQUIRE(file.tensors.count("model/sequential/spectral_normalization_1/v") == 1);

  nn::Sequential b = make(2);
  nn::Adam adam_b;
  REQUIRE_FALSE(same_bits(a(batch.x), b(batch.x)));
  nn::load_checkpoint(path, b, &adam_b);
  require_same_values(values(b), values(a));  // u and v included, bit for bit
  REQUIRE(same_bits(a(batch.x), b(batch.x)));
  train_step(a, adam_a, batch);
  train_step(b, adam_b, batch);
  require_same_values(values(b), values(a));
}

TEST_CASE("optimizer slots are stored as <prefix>/optimizer/<variable>/<slot>", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("sgd.safetensors");
  nn::Sequential a = make_model(1);
  nn::SGDOptions options;
  options.momentum = 0.9;
  nn::SGD sgd(options);
  train_step(a, sgd, make_batch());
  nn::save_checkpoint(path, a, &sgd);
  const nn::TensorFile file = nn::load_safetensors(path);
  const auto kernel = a.named_variables().front();
  REQUIRE(kernel.name == "sequential/dense/kernel");
  const auto slots = sgd.state();
  const auto slot = std::find_if(slots.begin(), slots.end(), [](const nn::SlotTensor& s) {
    return s.variable == "sequential/dense/kernel" && s.slot == "momentum";
  });
  REQUIRE(slot != slots.end());
  REQUIRE(same_bits(file.tensors.at("model/optimizer/sequential/dense/kernel/momentum"), slot->value));
  REQUIRE(file.metadata.at("model/optimizer/type") == "SGD");
  REQUIRE(file.metadata.at("model/optimizer/iterations") == "1");

  // A model loaded without its optimizer ignores the optimizer state.
  nn::Sequential b = make_model(2);
  nn::load_checkpoint(path, b);
  require_same_values(values(b), values(a));
}

TEST_CASE("several models with their own optimizers share one file under their prefixes", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("gan.safetensors");
  const Batch batch = make_batch();
  nn::Sequential g1 = make_model(1), d1 = make_model(2, 4);
  nn::Adam g1_opt, d1_opt;
  train_step(g1, g1_opt, batch);
  train_step(d1, d1_opt, batch);
  nn::CheckpointExtras extras;
  extras.generators = prefixed("generator", g1.named_generators());
  for (const auto& g : prefixed("discriminator", d1.named_generators())) extras.generators.push_back(g);
  nn::save_checkpoint(path, {{"generator", &g1, &g1_opt}, {"discriminator", &d1, &d1_opt}}, extras);

  nn::Sequential g2 = make_model(3), d2 = make_model(4, 4);
  nn::Adam g2_opt, d2_opt;
  auto generators = prefixed("generator", g2.named_generators());
  for (const auto& g : prefixed("discriminator", d2.named_generators())) generators.push_back(g);
  nn::load_checkpoint(path, {{"generator", &g2, &g2_opt}, {"discriminator", &d2, &d2_opt}}, generators);
  require_same_values(values(g2), values(g1));
  require_same_values(values(d2), values(d1));
  REQUIRE(g2_opt.iterations() == 1);
  train_step(g1, g1_opt, batch);
  train_step(g2, g2_opt, batch);
  require_same_values(values(g2), values(g1));

  // One model alone can be loaded from the shared file.
  nn::Sequential g3 = make_model(5);
  nn::load_checkpoint(path, {{"generator", &g3, nullptr}});
  REQUIRE(same_bits(values(g3)[0], nn::load_safetensors(path).tensors.at("generator/sequential/dense/kernel")));
  // Prefixes must be distinct, non-empty names without '/'.
  REQUIRE_THROWS_AS((nn::save_checkpoint(path, {{"g", &g1, nullptr}, {"g", &d1, nullptr}})), ValueError);
  REQUIRE_THROWS_AS((nn::save_checkpoint(path, {{"a/b", &g1, nullptr}})), ValueError);
}

TEST_CASE("a second optimizer over a saved model keeps only its state (variables = false)", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("two_optimizers.safetensors");
  const Batch batch = make_batch();
  nn::Sequential d1 = make_model(2, 4);
  nn::Adam fake_opt, real_opt;
  train_step(d1, fake_opt, batch);
  train_step(d1, real_opt, batch);
  train_step(d1, real_opt, batch);
  nn::CheckpointExtras extras;
  extras.generators = prefixed("discriminator", d1.named_generators());
  nn::save_checkpoint(path, {{"discriminator", &d1, &fake_opt}, {"discriminator_real", &d1, &real_opt, false}}, extras);
  const nn::TensorFile file = nn::load_safetensors(path);
  for (const auto& [name, tensor] : file.tensors) {
    INFO(name);
    REQUIRE((!name.starts_with("discriminator_real/") || name.starts_with("discriminator_real/optimizer/")));
  }
  nn::Sequential d2 = make_model(4, 4);
  nn::Adam fake2, real2;
  nn::load_checkpoint(path, {{"discriminator", &d2, &fake2}, {"discriminator_real", &d2, &real2, false}},
                     prefixed("discriminator", d2.named_generators()));
  require_same_values(values(d2), values(d1));
  REQUIRE(fake2.iterations() == 1);
  REQUIRE(real2.iterations() == 2);
  train_step(d1, real_opt, batch);
  train_step(d2, real2, batch);
  require_same_values(values(d2), values(d1));
}

// ---------------------------------------------------------------- damaged and mismatched files

TEST_CASE("damaged files throw IOError naming the file and tensor and leave the model untouched", "[checkpoint]") {
  TempDir dir;
  const std::string good = dir.file("good.safetensors");
  const std::string path = dir.file("damaged.safetensors");
  nn::save_checkpoint(good, make_model(1));
  const std::string bytes = read_bytes(good);
  const std::uint64_t n = header_length(bytes);
  nn::Sequential model = make_model(2);

  SECTION("missing file") {
    require_load_fails(path, model, {"cannot open", "No such file or directory"});
  }
  SECTION("shorter than the 8-byte length") {
    write_bytes(path, bytes.substr(0, 5));
    require_load_fails(path, model, {"too short"});
  }
  SECTION("header length beyond the file") {
    write_bytes(path, bytes.substr(0, 8 + n / 2));
    require_load_fails(path, model, {"header length " + std::to_string(n) + " is larger than the rest of the file"});
  }
  SECTION("garbage bytes") {
    std::string garbage(64, '\0');
    Generator gen(3);
    for (char& c : garbage) c = static_cast<char>(gen.next_u32());
    write_bytes(path, garbage);
    require_load_fails(path, model, {"is larger than the rest of the file"});
    write_bytes(path, raw_file(garbage.substr(0, 24), "", 16));
    require_load_fails(path, model, {"the header is not valid JSON"});
  }
  SECTION("truncated data") {
    write_bytes(path, bytes.substr(0, bytes.size() - 4));
    const std::string last = nn::load_safetensors(good).tensors.rbegin()->first;
    require_load_fails(path, model, {"tensor '" + last + "'", "reach past the end of the data buffer"});
  }
  SECTION("trailing bytes") {
    write_bytes(path, bytes + "xyz!");
    require_load_fails(path, model, {"4 trailing bytes"});
  }
  SECTION("a missing tensor") {
    nn::TensorFile file = nn::load_safetensors(good);
    file.tensors.erase("model/sequential/dense_1/bias");
    nn::save_safetensors(path, file);
    require_load_fails(path, model, {"tensor 'model/sequential/dense_1/bias' is missing from the file"});
  }
  SECTION("a tensor the model does not have") {
    nn::TensorFile file = nn::load_safetensors(good);
    file.tensors["model/sequential/dense_9/kernel"] = Tensor::zeros({2});
    nn::save_safetensors(path, file);
    require_load_fails(path, model, {"tensor 'model/sequential/dense_9/kernel' in the file is not a variable"});
  }
  SECTION("a wrong dtype") {
    nn::TensorFile file = nn::load_safetensors(good);
    auto& bias = file.tensors.at("model/sequential/dense/bias");
    bias = bias.to(DType::f64);
    nn::save_safetensors(path, file);
    require_load_fails(path, model,
                       {"tensor 'model/sequential/dense/bias' has dtype float64 in the file but float32 in the model"});
  }
  SECTION("another format") {
    nn::TensorFile file = nn::load_safetensors(good);
    file.metadata["format"] = "something-else";
    nn::save_safetensors(path, file);
    require_load_fails(path, model, {"the format is 'something-else'"});
  }
}

TEST_CASE("a wrong shape: the exact message, and the model untouched", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("g.safetensors");
  nn::save_checkpoint(path, make_model(1, 8));
  nn::Sequential model = make_model(2, 16);
  const auto before = values(model);
  REQUIRE_THROWS_AS(nn::load_checkpoint(path, model), IOError);
  REQUIRE_THROWS_WITH(nn::load_checkpoint(path, model),
                      "load_checkpoint: " + path +
                          ": tensor 'model/sequential/dense/kernel' has shape [5, 8] in the file but [5, 16] in the "
                          "model");
  require_same_values(values(model), before);
}

TEST_CASE("malformed headers are rejected with the path and the tensor", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("hand.safetensors");
  const std::string four(4, '\0'), eight(8, '\0'), twelve(12, '\0');
  struct Case {
    const char* what;
    std::string header, data;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases{
      {"invalid JSON", R"({"a": )", "", {"the header is not valid JSON"}},
      {"not an object", "[1, 2]", "", {"the header is not a JSON object"}},
      {"missing dtype", R"({"a": {"shape": [1], "data_offsets": [0, 4]}})", four, {"tensor 'a'", "missing \"dtype\""}},
      {"dtype not a string", R"({"a": {"dtype": 1, "shape": [1], "data_offsets": [0, 4]}})", four,
       {"tensor 'a'", "\"dtype\" is not a string"}},
      {"unsupported dtype", R"({"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", eight,
       {"tensor 'a'", "unsupported dtype 'I64'"}},
      {"missing shape", R"({"a": {"dtype": "F32", "data_offsets": [0, 4]}})", four,
       {"tensor 'a'", "missing \"shape\""}},
      {"shape not an array", R"({"a": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})", four,
       {"tensor 'a'", "\"shape\" is not an array"}},
      {"negative dimension", R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", four,
       {"tensor 'a'", "is negative"}},
      {"fractional dimension", R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", four,
       {"tensor 'a'", "is not an integer"}},
      {"overflowing shape",
       R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})", four,
       {"tensor 'a'", "too many elements"}},
      {"missing data_offsets", R"({"a": {"dtype": "F32", "shape": [1]}})", four,
       {"tensor 'a'", "missing \"data_offsets\""}},
      {"data_offsets not a pair", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", four,
       {"tensor 'a'", "not an array [begin, end]"}},
      {"offsets not matching the shape", R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", eight,
       {"tensor 'a'", "span 8 bytes but shape [3] of F32 needs 12"}},
      {"reversed offsets", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", four,
       {"tensor 'a'", "a negative range"}},
      {"offsets out of the buffer", R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", four,
       {"tensor 'a'", "reach past the end of the data buffer (4 bytes)"}},
      {"a gap", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
       twelve, {"tensor 'b'", "a gap of 4 bytes"}},
      {"a gap at the start", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", eight,
       {"tensor 'a'", "a gap of 4 bytes"}},
      {"overlapping buffers", R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
       eight, {"tensors 'a' and 'b' overlap"}},
      {"trailing bytes", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", eight,
       {"4 trailing bytes"}},
      {"entry not an object", R"({"a": [1, 2]})", "", {"tensor 'a'", "not a JSON object"}},
      {"metadata not strings", R"({"__metadata__": {"step": 3}})", "", {"'step' is not a string"}},
      {"metadata not an object", R"({"__metadata__": "x"})", "", {"__metadata__ is not a JSON object"}},
  };
  nn::Sequential model = make_model(2);
  for (const Case& c : cases) {
    INFO(c.what);
    write_bytes(path, raw_file(c.header, c.data));
    std::vector<std::string> parts{"load_safetensors: " + path + ": "};
    parts.insert(parts.end(), c.parts.begin(), c.parts.end());
    require_io_error([&] { nn::load_safetensors(path); }, parts);
    require_load_fails(path, model, c.parts);
  }
  // The well-formed variants of the same hand-made files load.
  write_bytes(path, raw_file(R"({"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}      )", four));
  REQUIRE(nn::load_safetensors(path).tensors.at("a").item() == 0.0);
}

TEST_CASE("a mismatched optimizer or a missing generator changes nothing", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("opt.safetensors");
  const Batch batch = make_batch();
  nn::Sequential a = make_model(1);
  nn::Adam adam;
  train_step(a, adam, batch);
  nn::CheckpointExtras extras;
  extras.generators = a.named_generators();
  nn::save_checkpoint(path, a, &adam, extras);

  nn::Sequential model = make_model(2);
  nn::SGD sgd;
  SECTION("an SGD optimizer for Adam state") {
    require_load_fails(path, model, {"'model/optimizer/type' is for Adam but the optimizer is SGD"}, &sgd);
    REQUIRE(sgd.iterations() == 0);
  }
  SECTION("a generator the file does not have") {
    Generator gen(11);
    const GeneratorState state = gen.state();
    require_load_fails(path, model, {"the generator state 'rng/noise' is missing from the file"}, nullptr,
                       {{"noise", &gen}});
    REQUIRE(gen.state() == state);
  }
  SECTION("a damaged generator state") {
    nn::TensorFile file = nn::load_safetensors(path);
    const std::string key = "rng/" + extras.generators[0].first;
    file.metadata[key] = "1,2";
    nn::save_safetensors(path, file);
    require_load_fails(path, model, {"'" + key + "' = '1,2' is not 'seed,counter,index'"}, nullptr,
                       model.named_generators());
  }
  SECTION("optimizer state for a variable the model does not have") {
    nn::TensorFile file = nn::load_safetensors(path);
    file.tensors["model/optimizer/sequential/dense_7/kernel/m"] = Tensor::zeros({2});
    nn::save_safetensors(path, file);
    require_load_fails(path, model, {"tensor 'model/optimizer/sequential/dense_7/kernel/m' is optimizer state for"},
                       &adam);
  }
}

// ---------------------------------------------------------------- atomic writes

TEST_CASE("saving is atomic: no temporary files remain and a failed save keeps the old file", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  nn::save_checkpoint(path, make_model(1));
  const std::vector<std::string> only_file{"ckpt.safetensors"};
  REQUIRE(dir.entries() == only_file);
  const std::string first = read_bytes(path);
  nn::Sequential b = make_model(2);
  nn::save_checkpoint(path, b);  // replaces the file
  REQUIRE(dir.entries() == only_file);
  const std::string second = read_bytes(path);
  REQUIRE(second != first);

  SECTION("a directory that does not exist") {
    const std::string missing = dir.file("no/such/dir/ckpt.safetensors");
    require_io_error([&] { nn::save_checkpoint(missing, b); },
                     {"save_checkpoint: " + missing + ": ", "No such file or directory"});
  }
  SECTION("a write that fails midway keeps the old file") {
    nn::TensorFile big;
    big.tensors["x"] = Tensor::zeros({4096});
    FileSizeLimit limit(1024);  // writes past 1 KiB fail with EFBIG
    require_io_error([&] { nn::save_safetensors(path, big); },
                     {"save_safetensors: " + path + ": ", "cannot write temporary file", "File too large"});
  }
  SECTION("a rename that fails removes the temporary file") {
    const std::string target = dir.file("target");
    fs::create_directory(target);
    write_bytes(target + "/keep", "x");
    require_io_error([&] { nn::save_checkpoint(target, b); }, {"save_checkpoint: " + target + ": ", "cannot rename"});
    REQUIRE(read_bytes(target + "/keep") == "x");
    fs::remove_all(target);
  }
  REQUIRE(dir.entries() == only_file);
  REQUIRE(read_bytes(path) == second);
}

// ---------------------------------------------------------------- an independent reader

namespace {

// {"name": {"shape": [...], "values": [...]}, ...}; values as doubles (exact for f32 and f64).
void add_expected(nlohmann::json& expect, const std::string& name, const Tensor& t) {
  expect[name] = {{"shape", t.shape().dims()}, {"values", t.to_vector<double>()}};
}

// Runs read_checkpoint.py with `args`; returns its exit status (output in `log`).
int run_reader(const std::string& args, const std::string& log) {
  const std::string command = "/usr/bin/python3 '" TAPE_TESTS_DIR "/nn/read_checkpoint.py' " + args + " > '" + log +
                              "' 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_json(const std::string& path, const nlohmann::json& j) { write_bytes(path, j.dump(1)); }

}  // namespace

TEST_CASE("read_checkpoint.py (numpy) reads exactly what tape wrote", "[checkpoint][python]") {
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0) {
    WARN("skipped: /usr/bin/python3 with numpy is not available");
    return;
  }
  TempDir dir;
  const std::string log = dir.file("reader.log");

  // A trained model with Adam state and metadata; the expectation is built from the live objects.
  nn::Sequential model = make_model(1);
  nn::Adam adam;
  train_step(model, adam, make_batch());
  train_step(model, adam, make_batch());
  nn::CheckpointExtras extras;
  extras.metadata["step"] = "2";
  extras.generators = model.named_generators();
  const std::string ckpt = dir.file("model.safetensors");
  nn::save_checkpoint(ckpt, model, &adam, extras);
  nlohmann::json expect;
  for (const auto& nv : model.named_variables()) add_expected(expect, "model/" + nv.name, nv.variable.peek());
  for (const auto& s : adam.state()) add_expected(expect, "model/optimizer/" + s.variable + "/" + s.slot, s.value);
  const GeneratorState g = extras.generators[0].second->state();
  expect["__metadata__"] = {
      {"format", "tape-checkpoint-1"},
      {"step", "2"},
      {"model/optimizer/type", "Adam"},
      {"model/optimizer/iterations", "2"},
      {"rng/" + extras.generators[0].first,
       std::to_string(g.seed) + "," + std::to_string(g.counter) + "," + std::to_string(g.index)}};
  const std::string expect_path = dir.file("expect.json");
  write_json(expect_path, expect);
  {
    const int status = run_reader("'" + ckpt + "' --expect '" + expect_path + "'", log);
    INFO(read_bytes(log));
    REQUIRE(status == 0);
  }

  // f64, scalars, denormals, -0.0 and an empty tensor (JSON has no infinity: "special" is left out).
  nn::TensorFile file = sample_file();
  file.tensors.erase("special");
  const std::string tensors = dir.file("tensors.safetensors");
  nn::save_safetensors(tensors, file);
  nlohmann::json expect_tensors;
  for (const auto& [name, t] : file.tensors) add_expected(expect_tensors, name, t);
  const std::string expect_tensors_path = dir.file("expect_tensors.json");
  write_json(expect_tensors_path, expect_tensors);
  REQUIRE(run_reader("'" + tensors + "' --expect '" + expect_tensors_path + "'", log) == 0);

  // The reader notices a value one ulp off, a wrong shape, a missing and an unexpected tensor.
  auto one_ulp_off = expect_tensors;
  auto& value = one_ulp_off["a/weights"]["values"][5];
  value = std::nextafter(static_cast<float>(value.get<double>()), 10.0f);
  write_json(expect_tensors_path, one_ulp_off);
  REQUIRE(run_reader("'" + tensors + "' --expect '" + expect_tensors_path + "'", log) == 1);
  REQUIRE_THAT(read_bytes(log), Contains("tensor 'a/weights': element 5"));

  auto wrong_shape = expect_tensors;
  wrong_shape["a/weights"]["shape"] = {4, 3};
  write_json(expect_tensors_path, wrong_shape);
  REQUIRE(run_reader("'" + tensors + "' --expect '" + expect_tensors_path + "'", log) == 1);
  REQUIRE_THAT(read_bytes(log), Contains("tensor 'a/weights': shape [3, 4] in the file, expected [4, 3]"));

  auto missing = expect_tensors;
  add_expected(missing, "not/there", Tensor::scalar(1.0));
  write_json(expect_tensors_path, missing);
  REQUIRE(run_reader("'" + tensors + "' --expect '" + expect_tensors_path + "'", log) == 1);
  REQUIRE_THAT(read_bytes(log), Contains("tensor 'not/there' is missing from the file"));

  auto unexpected = expect_tensors;
  unexpected.erase("scalar64");
  write_json(expect_tensors_path, unexpected);
  REQUIRE(run_reader("'" + tensors + "' --expect '" + expect_tensors_path + "'", log) == 1);
  REQUIRE_THAT(read_bytes(log), Contains("tensor 'scalar64' is in the file but not expected"));

  // --list: name, dtype, shape.
  REQUIRE(run_reader("'" + ckpt + "' --list", log) == 0);
  REQUIRE_THAT(read_bytes(log), Contains("model/sequential/dense/kernel\tF32\t[5, 16]"));
  REQUIRE_THAT(read_bytes(log), Contains("model/optimizer/sequential/dense/kernel/m\tF32\t[5, 16]"));

  // A damaged file: exit status 2.
  write_bytes(tensors, read_bytes(ckpt).substr(0, 100));
  REQUIRE(run_reader("'" + tensors + "' --list", log) == 2);
}
