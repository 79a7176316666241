// Layers of several inputs and the Functional model: Concatenate and Embedding under float64
// gradcheck and gradgradcheck, a two-input model differentiated through end to end, names and
// checkpoint keys as a Sequential's, shared layers, a Sequential that starts with a two-input
// layer, checkpoints, and the errors a wrong graph or a wrong input count gives.
#include <filesystem>

#include "support/temp_dir.h"
#include "support/nn_support.h"
#include "support/test_support.h"
#include "tape/nn/nn.h"

using namespace tape;
using test::rand;
using test::variable_names;

namespace {

// labels [n] cycling 0, 1, ..., classes - 1 (float64, as ids are carried)
Tensor labels_of(std::int64_t n, std::int64_t classes) {
  std::vector<double> ids;
  for (std::int64_t i = 0; i < n; ++i) ids.push_back(static_cast<double>(i % classes));
  return Tensor::from_vector(ids);
}

// z, label -> Dense(3, tanh)(concat(z, Embedding(4, 2)(label))): a small conditional generator.
nn::Functional conditional_model(DType dtype = DType::f32) {
  nn::Functional model("generator");
  const auto z = model.input(), label = model.input();
  const auto embedded = model.apply(nn::Embedding(4, 2, {.dtype = dtype}), label);
  const auto joined = model.apply(nn::Concatenate(), {z, embedded});
  model.output(model.apply(nn::Dense(3, {.activation = nn::Activation::tanh}), joined));
  return model;
}

}  // namespace

TEST_CASE("gradcheck and gradgradcheck: Concatenate of two and three inputs", "[layers][gradcheck][functional]") {
  nn::Concatenate join;
  Variable a(rand({2, 3}, 1), "a"), b(rand({2, 2}, 2), "b");
  VariableFunction f = [&] { return square(join({a.value(), b.value()}, true)); };
  REQUIRE_GRADCHECK(f, std::vector<Variable>{a, b});
  REQUIRE_GRADGRADCHECK(f, std::vector<Variable>{a, b});
  nn::Concatenate channels(3);
  Variable x(rand({1, 2, 2, 1}, 3), "x"), y(rand({1, 2, 2, 2}, 4), "y"), w(rand({1, 2, 2, 1}, 5), "w");
  VariableFunction g = [&] { return channels({x.value(), y.value(), w.value()}, true) * 2.0; };
  REQUIRE_GRADCHECK(g, std::vector<Variable>{x, y, w});
  REQUIRE(channels({x.value(), y.value(), w.value()}).shape() == Shape{1, 2, 2, 4});
}

TEST_CASE("gradcheck and gradgradcheck: Embedding w.r.t. its table, whose rows it returns",
          "[layers][gradcheck][functional]") {
  nn::Embedding embedding(5, 3, {.dtype = DType::f64});
  const Tensor ids = Tensor::from_vector(std::vector<float>{4, 0, 4, 2}, {2, 2});
  embedding(ids, true);  // builds the float64 table the options ask for, whatever the ids' dtype
  const Variable table = embedding.embeddings();
  REQUIRE(table.shape() == Shape{5, 3});
  const Tensor y = embedding(ids);
  REQUIRE(y.shape() == Shape{2, 2, 3});
  for (std::int64_t i = 0; i < 4; ++i) {
    const auto id = static_cast<std::int64_t>(ids.to_vector<double>()[static_cast<std::size_t>(i)]);
    for (std::int64_t j = 0; j < 3; ++j) REQUIRE(y.at({i / 2, i % 2, j}) == table.value().at({id, j}));
  }
  VariableFunction f = [&] { return square(embedding(ids, true)); };
  REQUIRE_GRADCHECK(f, std::vector<Variable>{table});
  REQUIRE_GRADGRADCHECK(f, std::vector<Variable>{table});
  // Keras' initializer: U(-0.05, 0.05)
  for (double v : table.value().to_vector<double>()) REQUIRE(std::abs(v) <= 0.05);
  REQUIRE_THROWS_WITH(embedding(Tensor::from_vector(std::vector<double>{5})),
                      Catch::Contains("Embedding 'embedding'") && Catch::Contains("index 5"));
  REQUIRE_THROWS_AS(nn::Embedding(0, 3), ValueError);
}

TEST_CASE("gradcheck and gradgradcheck: a two-input Functional model w.r.t. its input and every weight",
          "[layers][gradcheck][functional]") {
  nn::Functional model = conditional_model(DType::f64);
  const Tensor labels = labels_of(5, 4);
  Variable z(rand({5, 3}, 6), "z");
  model({z.value(), labels}, true);  // builds float64 weights
  std::vector<Variable> sources{z};
  for (const auto& v : model.trainable_variables()) sources.push_back(v);
  REQUIRE(sources.size() == 4);  // z, embeddings, kernel, bias
  VariableFunction f = [&] { return model({z.value(), labels}, true); };
  REQUIRE_GRADCHECK(f, sources);
  REQUIRE_GRADGRADCHECK(f, sources);
}

TEST_CASE("a Functional model names its layers and keys like a Sequential, and counts a shared layer once",
          "[layers][functional]") {
  nn::Functional model = conditional_model();
  Generator gen(7);
  model.build_inputs({Shape{3}, Shape{}}, gen);
  REQUIRE(variable_names(model) ==
          std::vector<std::string>{"generator/embedding/embeddings", "generator/dense/kernel", "generator/dense/bias"});
  REQUIRE(model.count_params() == 4 * 2 + 5 * 3 + 3);
  REQUIRE(model.output_shape() == Shape{3});

  // The layers of a Sequential applied one by one: the same keys as the Sequential's own.
  auto trunk = nn::Sequential::named("d", nn::Dense(4), nn::LeakyReLU(), nn::Dense(1));
  trunk.build({6}, 1);
  nn::Functional inlined("d");
  inlined.output(inlined.apply_each(trunk, inlined.input()));
  REQUIRE(variable_names(inlined) == variable_names(trunk));

  // One layer applied twice: one set of weights, both paths through it.
  nn::Functional twice("siamese");
  const auto a = twice.input(), b = twice.input();
  auto shared = std::make_shared<nn::Dense>(2, nn::DenseOptions{.use_bias = false});
  twice.output(twice.apply(nn::Concatenate(), {twice.apply(shared, a), twice.apply(shared, b)}));
  const Tensor xa = rand({2, 3}, 8), xb = rand({2, 3}, 9);
  const Tensor y = twice({xa, xb});
  REQUIRE(twice.trainable_variables().size() == 1);
  test::require_close(slice(y, {0, 0}, {2, 2}), matmul(xa, shared->kernel().value()), 1e-12);
  test::require_close(slice(y, {0, 2}, {2, 2}), matmul(xb, shared->kernel().value()), 1e-12);

  std::ostringstream table;
  model.summary(table);
  REQUIRE_THAT(table.str(), Catch::Contains("embedding (Embedding)") && Catch::Contains("concatenate (Concatenate)") &&
                                Catch::Contains("Total params: 26"));
}

TEST_CASE("a Sequential takes what its first layer takes: a two-input model, then more layers", "[layers][functional]") {
  auto model = nn::Sequential::named("generator", conditional_model(), nn::Dense(2));
  const Tensor z = rand({4, 3}, 10).to(DType::f32), labels = labels_of(4, 4);
  const Tensor y = model({z, labels});
  REQUIRE(y.shape() == Shape{4, 2});
  REQUIRE(model.accepts_inputs(2));
  REQUIRE_FALSE(model.accepts_inputs(1));
  REQUIRE_THROWS_WITH(model(z), Catch::Contains("Sequential 'generator': cannot take 1 input"));
  REQUIRE(variable_names(model).front() == "generator/generator/embedding/embeddings");
}

TEST_CASE("a Functional model's weights survive a checkpoint round trip", "[layers][functional][checkpoint]") {
  test::TempDir dir;
  const std::string path = (dir.path() / "model.safetensors").string();
  nn::Functional saved = conditional_model(), loaded = conditional_model();
  Generator g1(1), g2(2);
  saved.build_inputs({Shape{3}, Shape{}}, g1);
  loaded.build_inputs({Shape{3}, Shape{}}, g2);
  const Tensor z = rand({4, 3}, 11).to(DType::f32), labels = labels_of(4, 4).to(DType::f32);
  REQUIRE(test::max_rel_diff(saved({z, labels}), loaded({z, labels})) > 1e-3);
  nn::save_checkpoint(path, saved);
  nn::load_checkpoint(path, loaded);
  REQUIRE(saved({z, labels}).to_vector<double>() == loaded({z, labels}).to_vector<double>());
}

TEST_CASE("wrong graphs and wrong input counts are ValueErrors naming the model and the count", "[layers][functional]") {
  nn::Functional model = conditional_model();
  const Tensor z = rand({2, 3}, 12), labels = labels_of(2, 4);
  REQUIRE_THROWS_WITH(model(z), Catch::Contains("Functional 'generator': cannot take 1 input"));
  REQUIRE_THROWS_WITH(model({z, labels, labels}), Catch::Contains("cannot take 3 inputs"));
  REQUIRE_THROWS_WITH(model({z, Tensor()}), Catch::Contains("input 1 is undefined"));
  REQUIRE_THROWS_AS(nn::Concatenate(0), ValueError);
  nn::Concatenate join;
  REQUIRE_THROWS_WITH(join(z), Catch::Contains("Concatenate 'concatenate': cannot take 1 input"));
  REQUIRE_THROWS_WITH(join({z, rand({3, 3}, 13)}), Catch::Contains("Concatenate") && Catch::Contains("[3, 3]"));

  nn::Functional graph("g");
  const auto x = graph.input();
  REQUIRE_THROWS_WITH(graph.apply(nn::Concatenate(), x), Catch::Contains("Concatenate cannot take 1 inputs"));
  REQUIRE_THROWS_WITH(graph.apply(nn::Dense(2), nn::Functional::Node{5, x.model}), Catch::Contains("node 5"));
  nn::Functional other("other");
  const auto foreign = other.input();
  REQUIRE_THROWS_WITH(graph.apply(nn::Dense(2), foreign), Catch::Contains("a node of another model"));
  REQUIRE_THROWS_WITH(graph.output(foreign), Catch::Contains("a node of another model"));
  const auto h = graph.apply(nn::Dense(2), x);
  REQUIRE_THROWS_WITH(graph.input(), Catch::Contains("inputs come before the layers"));
  REQUIRE_THROWS_WITH(graph(z), Catch::Contains("no output()"));
  // A first call that threw leaves the graph open; the first call that completes names the variables.
  const auto h2 = graph.apply(nn::Dense(2), h);
  graph.output(h2);
  graph(z);
  REQUIRE(variable_names(graph) == std::vector<std::string>{"g/dense/kernel", "g/dense/bias", "g/dense_1/kernel", "g/dense_1/bias"});
  for (const auto& v : graph.trainable_variables()) REQUIRE(v.name().rfind("g/dense", 0) == 0);
  REQUIRE_THROWS_WITH(graph.apply(nn::Dense(2), h), Catch::Contains("before the first call"));
  REQUIRE_THROWS_WITH(nn::Concatenate(-2)({z, z}), Catch::Contains("batch axis"));
  REQUIRE_THROWS_AS(nn::Concatenate()({z, z.to(DType::f32)}), DTypeError);
}
