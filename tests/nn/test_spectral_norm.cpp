// SpectralNorm's behaviour: sigma converges to the largest singular value, training calls step
// the power iteration and inference calls do not, the vectors come from the build generator, the
// wrapper inside Sequential (names, summary, parameter counts, gradients, Adam, weight averaging)
// and its errors. Gradchecks are in test_layers.cpp, the PyTorch comparison in
// test_nn_vs_pytorch.cpp and the checkpoint round trip in test_checkpoint.cpp.
#include <set>
#include <sstream>

#include "support/test_support.h"
#include "tape/nn/nn.h"

using namespace tape;
using Catch::Contains;
using test::rand;

TEST_CASE("SpectralNorm: sigma converges to the largest singular value and divides the kernel",
          "[layers][spectral_norm]") {
  nn::SpectralNorm sn(nn::Dense(2, {.use_bias = false}));
  const Tensor x = rand({4, 3}, 31);
  sn(x, false);  // builds float64 variables
  // kernel [in 3, out 2]: W = kernel^T = [[3, 0, 0], [0, 1, 0]], singular values 3 and 1
  const Tensor kernel = Tensor::from_vector(std::vector<double>{3, 0, 0, 1, 0, 0}, {3, 2});
  sn.layer().kernel().assign(kernel);
  for (int i = 0; i < 40; ++i) sn(x, true);
  REQUIRE(sn.sigma().item() == Approx(3.0).epsilon(1e-12));
  REQUIRE(std::abs(sn.u().peek().at({0})) == Approx(1.0).epsilon(1e-12));
  REQUIRE(std::abs(sn.v().peek().at({0})) == Approx(1.0).epsilon(1e-12));
  test::require_close(sn(x, false), matmul(x, kernel / 3.0), 1e-12);
  test::require_close(sn(x, true), matmul(x, kernel / 3.0), 1e-12);
  REQUIRE(sn.layer().kernel().peek().to_vector<double>() == kernel.to_vector<double>());  // the variable is untouched
}

TEST_CASE("SpectralNorm: training calls step u and v, inference calls use them as they are",
          "[layers][spectral_norm]") {
  nn::SpectralNorm sn(nn::Conv2D(4, 3, {.padding = "same"}));
  const Tensor x = rand({2, 5, 5, 3}, 32);
  const Tensor y0 = sn(x, false);
  const Tensor u0 = sn.u().peek(), v0 = sn.v().peek();
  REQUIRE(u0.shape() == Shape({4}));
  REQUIRE(v0.shape() == Shape({3 * 3 * 3}));
  REQUIRE(sum(square(u0)).item() == Approx(1.0).epsilon(1e-12));  // the normalized initial draw
  REQUIRE(sum(square(v0)).item() == Approx(1.0).epsilon(1e-12));

  REQUIRE(sn(x, false).to_vector<double>() == y0.to_vector<double>());
  REQUIRE(sn.u().peek().to_vector<double>() == u0.to_vector<double>());
  const Tensor y1 = sn(x, true);
  REQUIRE(sn.u().peek().to_vector<double>() != u0.to_vector<double>());
  REQUIRE(sn.v().peek().to_vector<double>() != v0.to_vector<double>());
  // The wrapped layer called directly runs with its raw kernel; bias 0 and no activation make
  // the wrapper's output that divided by sigma (of the vectors the training call left).
  const Tensor raw = sn.layer()(x, false);
  test::require_close(y1, raw / sn.sigma(), 1e-12);
  test::require_close(sn(x, false), y1, 1e-15);
}

TEST_CASE("SpectralNorm: k training calls of one step equal one call of k steps, vectors from the build generator",
          "[layers][spectral_norm]") {
  nn::SpectralNorm one(nn::Conv2DTranspose(3, 4, {.strides = {2, 2}, .padding = "same"}));
  nn::SpectralNorm many(nn::Conv2DTranspose(3, 4, {.strides = {2, 2}, .padding = "same"}), {.n_power_iterations = 5});
  nn::SpectralNorm other(nn::Conv2DTranspose(3, 4, {.strides = {2, 2}, .padding = "same"}));
  one.build({3, 3, 2}, 11);
  many.build({3, 3, 2}, 11);
  other.build({3, 3, 2}, 12);
  REQUIRE(one.u().shape() == Shape({3}));  // Conv2DTranspose: u over its filters (PyTorch's dim 1)
  REQUIRE(one.v().shape() == Shape({2 * 4 * 4}));
  REQUIRE(one.u().peek().to_vector<float>() == many.u().peek().to_vector<float>());
  REQUIRE(one.u().peek().to_vector<float>() != other.u().peek().to_vector<float>());
  const Tensor x = rand({1, 3, 3, 2}, 33, -1.0, 1.0, DType::f32);
  for (int i = 0; i < 5; ++i) one(x, true);
  const Tensor y = many(x, true);
  REQUIRE(one.u().peek().to_vector<float>() == many.u().peek().to_vector<float>());
  REQUIRE(one.v().peek().to_vector<float>() == many.v().peek().to_vector<float>());
  REQUIRE(one(x, false).to_vector<float>() == y.to_vector<float>());
}

TEST_CASE("SpectralNorm in Sequential: names, summary, parameter counts, gradients, Adam, weight averaging",
          "[layers][spectral_norm]") {
  auto make = [](std::uint64_t seed) {
    auto d = nn::Sequential::named(
        "discriminator", nn::SpectralNorm(nn::Conv2D(8, 4, {.strides = {2, 2}, .padding = Padding::symmetric(1, 1)})),
        nn::LeakyReLU(0.2), nn::Flatten(), nn::SpectralNorm(nn::Dense(1)));
    d.build({8, 8, 1}, seed);
    return d;
  };
  nn::Sequential d = make(1);
  const auto named = d.named_variables();
  std::vector<std::string> names;
  for (const auto& nv : named) names.push_back(nv.name);
  REQUIRE(names == std::vector<std::string>{
                       "discriminator/spectral_normalization/u", "discriminator/spectral_normalization/v",
                       "discriminator/spectral_normalization/conv2d/kernel",
                       "discriminator/spectral_normalization/conv2d/bias", "discriminator/spectral_normalization_1/u",
                       "discriminator/spectral_normalization_1/v", "discriminator/spectral_normalization_1/dense/kernel",
                       "discriminator/spectral_normalization_1/dense/bias"});
  // conv: kernel 4*4*1*8 + bias 8 trainable, u 8 + v 16; dense: 128 + 1 trainable, u 1 + v 128
  REQUIRE(d.count_params() == 136 + 24 + 129 + 129);
  REQUIRE(d.trainable_variables().size() == 4);
  REQUIRE(d.non_trainable_variables().size() == 4);
  std::ostringstream os;
  d.summary(os);
  INFO(os.str());
  REQUIRE_THAT(os.str(), Contains("spectral_normalization (Spec (None, 4, 4, 8)           160       \n"));
  REQUIRE_THAT(os.str(), Contains("spectral_normalization_1 (Sp (None, 1)                 258       \n"));
  REQUIRE_THAT(os.str(), Contains("Total params: 418\nTrainable params: 265\nNon-trainable params: 153\n"));

  // One Adam step on the trainable variables: every one gets a gradient; u and v move only by the
  // power iteration of the training call.
  const Tensor x = rand({3, 8, 8, 1}, 34, -1.0, 1.0, DType::f32);
  const auto vars = d.trainable_variables();
  const Tensor u_before = named[0].variable.peek();
  nn::Adam adam;
  {
    GradientTape tape;
    const Tensor loss = mean(square(d(x, true)));
    const auto grads = tape.gradient(loss, vars);
    for (const auto& g : grads) REQUIRE(g.defined());
    adam.apply_gradients(grads, vars);
  }
  std::set<std::string> slot_variables;
  for (const auto& slot : adam.state()) slot_variables.insert(slot.variable);
  REQUIRE(adam.state().size() == 2 * vars.size());  // m and v of the kernels and biases only
  REQUIRE(slot_variables == std::set<std::string>{"discriminator/spectral_normalization/conv2d/kernel",
                                                  "discriminator/spectral_normalization/conv2d/bias",
                                                  "discriminator/spectral_normalization_1/dense/kernel",
                                                  "discriminator/spectral_normalization_1/dense/bias"});
  REQUIRE(named[0].variable.peek().to_vector<float>() != u_before.to_vector<float>());

  // The weight average: kernels averaged, u and v copied.
  nn::Sequential average = make(2);
  const auto a = average.named_variables();
  const Tensor kernel_before = a[2].variable.peek();
  nn::update_moving_average(average, d, 0.5);
  REQUIRE(a[0].variable.peek().to_vector<float>() == named[0].variable.peek().to_vector<float>());
  REQUIRE(a[1].variable.peek().to_vector<float>() == named[1].variable.peek().to_vector<float>());
  test::require_close(a[2].variable.peek(), kernel_before * 0.5 + named[2].variable.peek() * 0.5, 1e-7);
}

TEST_CASE("SpectralNorm: a layer without a kernel and bad options throw ValueError naming them",
          "[layers][spectral_norm]") {
  REQUIRE_THROWS_MATCHES(nn::SpectralNorm(nn::BatchNorm({.name = "bn"})), ValueError,
                         Catch::Message("SpectralNormalization: BatchNormalization 'bn' has no kernel to normalize "
                                        "(Dense, Conv2D and Conv2DTranspose have one)"));
  REQUIRE_THROWS_WITH(nn::SpectralNorm(nn::LeakyReLU(0.2, "act")), Contains("LeakyReLU 'act' has no kernel"));
  REQUIRE_THROWS_WITH(nn::SpectralNorm(nn::Sequential::named("block", nn::Dense(2))),
                      Contains("Sequential 'block' has no kernel"));
  // (With options: SpectralNorm(SpectralNorm(...)) alone is a move.)
  REQUIRE_THROWS_WITH(nn::SpectralNorm(nn::SpectralNorm(nn::Dense(2), {.name = "sn"}), {}),
                      Contains("SpectralNormalization 'sn' has no kernel"));
  REQUIRE_THROWS_AS(nn::SpectralNorm(std::shared_ptr<nn::Module>()), ValueError);
  REQUIRE_THROWS_WITH(nn::SpectralNorm(nn::Dense(2), {.n_power_iterations = 0}),
                      Contains("n_power_iterations must be >= 1 and eps > 0, got n_power_iterations=0"));
  REQUIRE_THROWS_AS(nn::SpectralNorm(nn::Dense(2), {.eps = 0.0}), ValueError);
  nn::SpectralNorm unbuilt(nn::Dense(2), {.name = "early"});
  REQUIRE_THROWS_WITH(unbuilt.sigma(), Contains("SpectralNormalization 'early': sigma() before the layer is built"));
}
