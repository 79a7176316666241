// Every layer in training mode (SpectralNorm in inference, its vectors fixed) under float64
// gradcheck (input and weights), the gradgradchecks gradient penalties need, and layer behaviour:
// shapes, names, BatchNorm statistics, Dropout, pooling.
#include "support/nn_support.h"
#include "support/test_support.h"
#include "tape/nn/nn.h"

using namespace tape;
using test::rand;
using test::variable_names;

namespace {

// Gradchecks layer(x, training) w.r.t. x and every trainable variable, in float64, after one
// training call that builds the variables.
void check_layer(nn::Module& layer, const Tensor& x0, bool second_order, const std::function<void()>& before = {},
                 bool training = true) {
  layer(x0, true);  // builds float64 variables
  Variable x(x0, "x");
  std::vector<Variable> vars{x};
  for (const auto& v : layer.trainable_variables()) vars.push_back(v);
  VariableFunction f = [&layer, x, before, training] {
    if (before) before();
    return layer(x.value(), training);
  };
  INFO(layer.type_name() << " '" << layer.name() << "' with " << vars.size() << " sources");
  REQUIRE_GRADCHECK(f, vars);
  if (second_order) REQUIRE_GRADGRADCHECK(f, vars);
}

}  // namespace

TEST_CASE("gradcheck and gradgradcheck: Dense", "[layers][gradcheck]") {
  nn::Dense with_bias(3);
  check_layer(with_bias, rand({4, 5}, 1), true);
  nn::Dense no_bias(2, {.use_bias = false, .activation = nn::Activation::tanh});
  check_layer(no_bias, rand({2, 3, 4}, 2), true);
}

TEST_CASE("gradcheck and gradgradcheck: Conv2D", "[layers][gradcheck]") {
  nn::Conv2D same(3, 3, {.strides = {2, 2}, .padding = "same"});
  check_layer(same, rand({2, 5, 5, 2}, 3), true);
  nn::Conv2D valid(2, {2, 3}, {.padding = "valid", .use_bias = false});
  check_layer(valid, rand({1, 4, 5, 3}, 4), false);
}

TEST_CASE("gradcheck and gradgradcheck: Conv2DTranspose", "[layers][gradcheck]") {
  nn::Conv2DTranspose same(2, 5, {.strides = {2, 2}, .padding = "same"});
  check_layer(same, rand({2, 3, 3, 2}, 5), true);
  nn::Conv2DTranspose valid(3, 3, {.strides = {2, 2}, .padding = "valid", .use_bias = false,
                                   .output_padding = std::array<std::int64_t, 2>{1, 1}});
  check_layer(valid, rand({1, 3, 2, 2}, 6), false);
}

// In inference u and v stay fixed, so the function is x, kernel -> layer(x) with kernel / (u^T W v):
// the gradient PyTorch takes in training too (the power iteration is a constant). The first call
// (training) moves u and v off their initial draw. The gradgradchecks cover what an R1 penalty
// through a spectrally normalized discriminator differentiates: x's gradient w.r.t. x and weights.
TEST_CASE("gradcheck and gradgradcheck: SpectralNorm (u and v fixed)", "[layers][gradcheck][spectral_norm]") {
  nn::SpectralNorm conv(nn::Conv2D(3, 3, {.strides = {2, 2}, .padding = "same"}));
  check_layer(conv, rand({2, 5, 5, 2}, 21), true, {}, /*training=*/false);
  REQUIRE(conv.trainable_variables().size() == 2);  // the wrapped layer's kernel and bias
  nn::SpectralNorm up(nn::Conv2DTranspose(2, 3, {.strides = {2, 2}, .padding = "same", .use_bias = false}),
                      {.n_power_iterations = 2});
  check_layer(up, rand({1, 3, 3, 3}, 22), true, {}, false);
  nn::SpectralNorm dense(nn::Dense(3, {.activation = nn::Activation::tanh}));
  check_layer(dense, rand({4, 5}, 23), true, {}, false);
  // The checks ran inference only: u and v are what the first (training) call left.
  const Tensor u = dense.u().peek(), v = dense.v().peek();
  dense(rand({4, 5}, 24), false);
  REQUIRE(dense.u().peek().id() == u.id());
  REQUIRE(dense.v().peek().id() == v.id());
}

TEST_CASE("gradcheck and gradgradcheck: BatchNorm in training mode", "[layers][gradcheck]") {
  nn::BatchNorm bn4;
  // Non-trivial gamma/beta so every term of the second derivative is exercised.
  check_layer(bn4, rand({3, 2, 2, 3}, 7), false);
  bn4.gamma().assign(rand({3}, 8, 0.5, 1.5));
  bn4.beta().assign(rand({3}, 9));
  check_layer(bn4, rand({3, 2, 2, 3}, 10), true);
  nn::BatchNorm bn2;
  check_layer(bn2, rand({5, 4}, 11), true);
}

TEST_CASE("gradcheck and gradgradcheck: activations", "[layers][gradcheck]") {
  nn::LeakyReLU leaky(0.3);
  check_layer(leaky, test::rand_away_from_zero({3, 4}, 12), true);
  nn::Tanh tanh_layer;
  check_layer(tanh_layer, rand({3, 4}, 13), true);
  nn::Sigmoid sigmoid_layer;
  check_layer(sigmoid_layer, rand({3, 4}, 14), true);
  nn::ReLU relu_layer;
  check_layer(relu_layer, test::rand_away_from_zero({3, 4}, 15), false);
}

TEST_CASE("gradcheck: Dropout with a fixed mask", "[layers][gradcheck]") {
  nn::Dropout dropout(0.4, {.seed = 99});
  const GeneratorState start = dropout.generator().state();
  check_layer(dropout, rand({4, 6}, 16), false, [&dropout, start] { dropout.generator().set_state(start); });
}

TEST_CASE("gradcheck: Reshape, Flatten, pooling", "[layers][gradcheck]") {
  nn::Reshape reshape_layer({2, 6});
  check_layer(reshape_layer, rand({2, 12}, 17), false);
  nn::Flatten flatten;
  check_layer(flatten, rand({2, 3, 2, 2}, 18), false);
  nn::MaxPool2D max_pool;
  check_layer(max_pool, rand({2, 4, 5, 2}, 19), false);
  nn::AveragePool2D avg_pool;
  check_layer(avg_pool, rand({2, 4, 5, 2}, 20), true);
}

TEST_CASE("layers produce Keras' shapes", "[layers]") {
  Tensor x = Tensor::zeros({2, 7, 7, 16});
  nn::Conv2DTranspose up(8, 5, {.strides = {2, 2}, .padding = "same"});
  REQUIRE(up(x).shape() == Shape({2, 14, 14, 8}));
  REQUIRE(up.kernel().shape() == Shape({5, 5, 8, 16}));  // Keras: [kh, kw, filters, in]
  nn::Conv2DTranspose valid(4, 5, {.strides = {2, 2}, .padding = "valid"});
  REQUIRE(valid(x).shape() == Shape({2, 17, 17, 4}));
  nn::Conv2D down(4, 5, {.strides = {2, 2}, .padding = "same"});
  REQUIRE(down(Tensor::zeros({2, 28, 28, 1})).shape() == Shape({2, 14, 14, 4}));
  nn::MaxPool2D pool;
  REQUIRE(pool(Tensor::zeros({1, 5, 5, 3})).shape() == Shape({1, 2, 2, 3}));
  nn::Dense dense(10);
  REQUIRE(dense(Tensor::zeros({3, 4})).shape() == Shape({3, 10}));
  REQUIRE(dense.output_shape() == Shape({10}));
}

TEST_CASE("conv layers and conv ops take the same options: strides, and padding by name or explicit", "[layers]") {
  nn::Conv2D symmetric(2, 3, {.padding = Padding::symmetric(1, 1)});
  REQUIRE(symmetric(Tensor::zeros({1, 5, 5, 1})).shape() == Shape({1, 5, 5, 2}));
  nn::Conv2D asymmetric(2, 3, {.strides = {2, 2}, .padding = Padding::explicit_pads(1, 0, 0, 1)});
  REQUIRE(asymmetric(Tensor::zeros({1, 6, 6, 1})).shape() == Shape({1, 3, 3, 2}));  // (6 + 1 - 3) / 2 + 1
  REQUIRE(conv2d(Tensor::zeros({1, 5, 5, 1}), Tensor::zeros({3, 3, 1, 2}), {.strides = {2, 2}, .padding = "same"})
              .shape() == Shape({1, 3, 3, 2}));
  REQUIRE_THROWS_AS(nn::Conv2D(2, 3, {.padding = "full"}), ValueError);
}

TEST_CASE("pooling values", "[layers]") {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, {1, 4, 4, 1});
  REQUIRE(nn::max_pool2d(x, {2, 2}).to_vector<double>() == std::vector<double>{6, 8, 14, 16});
  REQUIRE(nn::avg_pool2d(x, {2, 2}).to_vector<double>() == std::vector<double>{3.5, 5.5, 11.5, 13.5});
}

TEST_CASE("BatchNorm: batch statistics in training, moving averages in inference", "[layers]") {
  nn::BatchNorm bn({.momentum = 0.9, .epsilon = 1e-3});
  Tensor x = Tensor::from_vector(std::vector<double>{1, 10, 3, 20, 5, 30}, {3, 2});  // means 3, 20
  Tensor y = bn(x, true);
  // Normalized per feature: column 0 is (x - 3) / sqrt(8/3 + 1e-3).
  REQUIRE(y.at({0, 0}) == Approx(-2.0 / std::sqrt(8.0 / 3.0 + 1e-3)).epsilon(1e-12));
  REQUIRE(sum(y, {0}).to_vector<double>()[1] == Approx(0.0).margin(1e-12));
  REQUIRE(bn.moving_mean().peek().at({0}) == Approx(0.3).epsilon(1e-15));
  REQUIRE(bn.moving_mean().peek().at({1}) == Approx(2.0).epsilon(1e-15));
  REQUIRE(bn.moving_variance().peek().at({0}) == Approx(0.9 + 0.1 * 8.0 / 3.0).epsilon(1e-12));
  Tensor inference = bn(x, false);
  REQUIRE(inference.at({0, 0}) == Approx((1.0 - 0.3) / std::sqrt(0.9 + 0.1 * 8.0 / 3.0 + 1e-3)).epsilon(1e-12));
  REQUIRE(bn.moving_mean().peek().at({0}) == Approx(0.3).epsilon(1e-15));  // unchanged by inference
  REQUIRE(bn.trainable_variables().size() == 2);
  REQUIRE(bn.non_trainable_variables().size() == 2);
}

TEST_CASE("Dropout: active only when training, scaled, seeded", "[layers]") {
  Tensor x = Tensor::ones({1000, 10});
  nn::Dropout a(0.3, {.seed = 5}), b(0.3, {.seed = 5});
  REQUIRE(a(x, false).id() == x.id());
  Tensor ya = a(x, true), yb = b(x, true);
  REQUIRE(ya.to_vector<float>() == yb.to_vector<float>());
  const auto v = ya.to_vector<float>();
  std::size_t zeros = 0;
  for (float e : v) {
    if (e == 0.0f) ++zeros;
    else REQUIRE(e == Approx(1.0 / 0.7));
  }
  REQUIRE(double(zeros) / v.size() == Approx(0.3).margin(0.02));
  REQUIRE(a(x, true).to_vector<float>() != ya.to_vector<float>());  // the stream moves on
}

TEST_CASE("Sequential runs LeakyReLU then Dropout as one op while training, with the same numbers", "[layers]") {
  // Two models built alike: one called whole (the pair fused), one layer by layer (never fused).
  const auto make = [] {
    return nn::Sequential::named("d", nn::Dense(6), nn::LeakyReLU(0.3), nn::Dropout(0.4), nn::Dense(2), nn::LeakyReLU(),
                                 nn::Dropout(0.2));
  };
  auto fused = make(), apart = make();
  fused.build({5}, 1);
  apart.build({5}, 1);
  const Tensor x = rand({16, 5}, 3, -1.0, 1.0, DType::f32);
  for (int step = 0; step < 2; ++step) {  // the masks move on
    INFO("call " << step);
    GradientTape ta, tb;
    ta.watch(x);
    tb.watch(x);
    const Tensor ya = fused(x, true);
    Tensor yb = x;
    for (std::size_t i = 0; i < apart.size(); ++i) yb = apart[i](yb, true);
    REQUIRE(ya.to_vector<float>() == yb.to_vector<float>());
    const Tensor v = rand(ya.shape(), 4, -1.0, 1.0, DType::f32);
    std::vector<Tensor> sa{x}, sb{x};
    for (const Variable& w : fused.trainable_variables()) sa.push_back(w.value());
    for (const Variable& w : apart.trainable_variables()) sb.push_back(w.value());
    const auto ga = ta.gradient({ya}, sa, {.output_gradients = {v}});
    const auto gb = tb.gradient({yb}, sb, {.output_gradients = {v}});
    for (std::size_t i = 0; i < ga.size(); ++i) REQUIRE(ga[i].to_vector<float>() == gb[i].to_vector<float>());
  }
  REQUIRE(variable_names(fused) == variable_names(apart));
  REQUIRE(fused.named_generators().size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    REQUIRE(fused.named_generators()[i].first == apart.named_generators()[i].first);
    REQUIRE(fused.named_generators()[i].second->state() == apart.named_generators()[i].second->state());
  }
  for (std::size_t i = 0; i < fused.size(); ++i) {
    REQUIRE(fused[i].called());
    REQUIRE(fused[i].output_shape() == apart[i].output_shape());
  }
  // Inference: no dropout, nothing fused, the generators untouched.
  const GeneratorState before = fused.named_generators()[0].second->state();
  Tensor yb = x;
  for (std::size_t i = 0; i < apart.size(); ++i) yb = apart[i](yb, false);
  REQUIRE(fused(x, false).to_vector<float>() == yb.to_vector<float>());
  REQUIRE(fused.named_generators()[0].second->state() == before);

  // A first call while training builds the fused pair (Dropout seeds its stream from its name).
  auto fresh = nn::Sequential::named("d", nn::LeakyReLU(0.3), nn::Dropout(0.4));
  auto built = nn::Sequential::named("d", nn::LeakyReLU(0.3), nn::Dropout(0.4));
  built.build({5});
  const Tensor y_fresh = fresh(x, true);
  REQUIRE(fresh.built());
  REQUIRE(fresh[1].name() == "dropout");
  REQUIRE(y_fresh.to_vector<float>() == built[1](built[0](x, true), true).to_vector<float>());
  REQUIRE(fresh.named_generators()[0].second->state() == built.named_generators()[0].second->state());
}

TEST_CASE("names are unique and hierarchical", "[layers]") {
  auto g = nn::Sequential::named("generator", nn::Dense(4), nn::Dense(2), nn::BatchNorm());
  g.build({3}, 1);
  auto named = g.named_variables();
  REQUIRE(named.size() == 8);
  REQUIRE(named[0].name == "generator/dense/kernel");
  REQUIRE(named[2].name == "generator/dense_1/kernel");
  REQUIRE(named[4].name == "generator/batch_normalization/gamma");
  REQUIRE(named[7].name == "generator/batch_normalization/moving_variance");
  REQUIRE(named[0].variable.name() == "generator/dense/kernel");
  REQUIRE(g.trainable_variables().size() == 6);
}

TEST_CASE("default names are numbered per model, children before their parent, skipping names taken", "[layers]") {
  // Models built alike get the same names, whatever the process built before them.
  nn::Sequential first(nn::Dense(2), nn::Dense(2)), second(nn::Dense(2), nn::Dense(2));
  first.build({3}, 1);
  second.build({3}, 2);
  REQUIRE(variable_names(first) == std::vector<std::string>{"sequential/dense/kernel", "sequential/dense/bias",
                                                            "sequential/dense_1/kernel", "sequential/dense_1/bias"});
  REQUIRE(variable_names(second) == variable_names(first));
  REQUIRE(second.variables()[2].name() == "sequential/dense_1/kernel");

  // Nested: a Sequential is numbered after its layers (as Keras numbers in construction order).
  nn::Sequential outer(nn::Sequential(nn::Dense(2), nn::Dense(2)), nn::Dense(1));
  outer.build({3}, 3);
  REQUIRE(outer.name() == "sequential_1");
  REQUIRE(outer[0].name() == "sequential");
  REQUIRE(variable_names(outer).back() == "sequential_1/dense_2/bias");

  // Names given are kept, and default names skip them.
  nn::Sequential given(nn::Dense(2), nn::Dense(2, {.name = "dense"}), nn::Dense(2));
  given.build({3}, 4);
  REQUIRE(given[0].name() == "dense_1");
  REQUIRE(given[1].name() == "dense");
  REQUIRE(given[2].name() == "dense_2");

  // A layer asked for its name before it runs keeps the plain default; a shared layer has one name.
  const std::shared_ptr<nn::Module> shared = std::make_shared<nn::Dense>(3);
  REQUIRE(shared->name() == "dense");
  nn::Sequential with_shared(nn::Dense(3));
  with_shared.add(shared);
  with_shared.add(shared);
  with_shared.build({3}, 5);
  REQUIRE(with_shared[0].name() == "dense_1");
  REQUIRE(with_shared[2].name() == "dense");

  // Asking an unbuilt model for its variables names its whole tree, not each layer alone.
  auto unbuilt = nn::Sequential::named("g", nn::Dense(2), nn::Dense(2));
  REQUIRE(unbuilt.named_variables().empty());
  unbuilt.build({3}, 6);
  REQUIRE(variable_names(unbuilt) == std::vector<std::string>{"g/dense/kernel", "g/dense/bias", "g/dense_1/kernel",
                                                              "g/dense_1/bias"});
}

TEST_CASE("Dropout without a seed draws the same masks in models built alike", "[layers]") {
  nn::Sequential a(nn::Dense(4), nn::Dropout(0.5)), b(nn::Dense(4), nn::Dropout(0.5));
  a.build({3}, 1);
  b.build({3}, 1);
  const Tensor x = Tensor::ones({8, 3});
  REQUIRE(a(x, true).to_vector<float>() == b(x, true).to_vector<float>());
}

TEST_CASE("build is deterministic from the seed", "[layers]") {
  nn::Sequential a(nn::Dense(8)), b(nn::Dense(8)), c(nn::Dense(8));
  a.build({5}, 42);
  b.build({5}, 42);
  c.build({5}, 43);
  REQUIRE(a.variables()[0].peek().to_vector<float>() == b.variables()[0].peek().to_vector<float>());
  REQUIRE(a.variables()[0].peek().to_vector<float>() != c.variables()[0].peek().to_vector<float>());
}

TEST_CASE("glorot_uniform and he_normal have Keras' scales", "[layers][init]") {
  Generator gen(3);
  Tensor w = nn::init::glorot_uniform()({5, 5, 64, 128}, DType::f64, gen);
  const double limit = std::sqrt(6.0 / (25 * 64 + 25 * 128));
  REQUIRE(max(abs(w)).item() <= limit);
  REQUIRE(max(abs(w)).item() > 0.99 * limit);
  Tensor h = nn::init::he_normal()({400, 300}, DType::f64, gen);
  REQUIRE(std::sqrt(mean(square(h)).item()) == Approx(std::sqrt(2.0 / 400)).epsilon(0.03));
  Tensor n = nn::init::normal(0.0, 0.02)({100000}, DType::f64, gen);
  REQUIRE(std::sqrt(mean(square(n)).item()) == Approx(0.02).epsilon(0.02));
  REQUIRE(nn::init::fans({5, 5, 64, 128}) == std::pair<double, double>{1600.0, 3200.0});
}

TEST_CASE("gradcheck and gradgradcheck: Rescaling, UpSampling2D in TensorFlow 1's bilinear mode", "[layers][gradcheck]") {
  nn::Rescaling rescale(1.0 / std::sqrt(0.02 + 1e-5), 0.25);
  check_layer(rescale, rand({3, 4}, 21), true);
  nn::UpSampling2D up({2, 2}, nn::Interpolation::bilinear_tf1);
  check_layer(up, rand({1, 3, 2, 2}, 22), true);
}

TEST_CASE("Rescaling computes x * scale + offset, and TensorFlow 1's bilinear samples output i at i / 2", "[layers]") {
  nn::Rescaling rescale(0.5, 0.5);
  REQUIRE(rescale(Tensor::from_vector(std::vector<float>{-1.0f, 0.0f, 1.0f}), true).to_vector<float>() ==
          std::vector<float>{0.0f, 0.5f, 1.0f});
  REQUIRE_THROWS_WITH(nn::Rescaling(std::nan("")), Catch::Contains("Rescaling"));
  // One row [1, 3] made 4 wide: TensorFlow 1 samples at 0, 0.5, 1, 1.5 (the last clamped to 1):
  // [1, 2, 3, 3]; half-pixel centers sample at -0.25 (clamped), 0.25, 0.75, 1.25 -> [1, 1.5, 2.5, 3].
  const Tensor x = Tensor::from_vector(std::vector<double>{1.0, 3.0}, Shape{1, 1, 2, 1});
  nn::UpSampling2D tf1({1, 2}, nn::Interpolation::bilinear_tf1), tf2({1, 2}, nn::Interpolation::bilinear);
  REQUIRE(tf1(x).to_vector<double>() == std::vector<double>{1.0, 2.0, 3.0, 3.0});
  REQUIRE(tf2(x).to_vector<double>() == std::vector<double>{1.0, 1.5, 2.5, 3.0});
}
