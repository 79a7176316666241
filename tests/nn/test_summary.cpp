// summary(): the Keras table, pinned for the seed-002 generator and the TF tutorial's G and D.
#include <sstream>

#include "support/test_support.h"
#include "tape/nn/nn.h"

using namespace tape;
namespace nn = tape::nn;

namespace {

nn::Sequential seed002_generator() {
  return nn::Sequential(nn::Dense(7 * 7 * 128), nn::Reshape({7, 7, 128}), nn::BatchNorm(),
                        nn::Conv2DTranspose(64, 5, {.strides = {2, 2}, .padding = "same", .activation = nn::Activation::relu}),
                        nn::BatchNorm(),
                        nn::Conv2DTranspose(1, 5, {.strides = {2, 2}, .padding = "same", .activation = nn::Activation::tanh}));
}

}  // namespace

TEST_CASE("summary: the seed-002 generator matches its Keras table", "[summary]") {
  auto g = seed002_generator();
  g.build({100});
  std::ostringstream os;
  g.summary(os);
  const std::string expected =
      "Model: \"sequential\"\n"
      "_________________________________________________________________\n"
      "Layer (type)                 Output Shape              Param #   \n"
      "=================================================================\n"
      "dense (Dense)                (None, 6272)              633472    \n"
      "_________________________________________________________________\n"
      "reshape (Reshape)            (None, 7, 7, 128)         0         \n"
      "_________________________________________________________________\n"
      "batch_normalization (BatchNo (None, 7, 7, 128)         512       \n"
      "_________________________________________________________________\n"
      "conv2d_transpose (Conv2DTran (None, 14, 14, 64)        204864    \n"
      "_________________________________________________________________\n"
      "batch_normalization_1 (Batch (None, 14, 14, 64)        256       \n"
      "_________________________________________________________________\n"
      "conv2d_transpose_1 (Conv2DTr (None, 28, 28, 1)         1601      \n"
      "=================================================================\n"
      "Total params: 840,705\n"
      "Trainable params: 840,321\n"
      "Non-trainable params: 384\n"
      "_________________________________________________________________\n";
  REQUIRE(os.str() == expected);
  REQUIRE(g.count_params() == 840705);
}

TEST_CASE("summary: the TF tutorial's generator and discriminator", "[summary]") {
  nn::Sequential g(nn::Dense(7 * 7 * 256, {.use_bias = false}), nn::BatchNorm(), nn::LeakyReLU(),
                   nn::Reshape({7, 7, 256}),
                   nn::Conv2DTranspose(128, 5, {.strides = {1, 1}, .padding = "same", .use_bias = false}),
                   nn::BatchNorm(), nn::LeakyReLU(),
                   nn::Conv2DTranspose(64, 5, {.strides = {2, 2}, .padding = "same", .use_bias = false}),
                   nn::BatchNorm(), nn::LeakyReLU(),
                   nn::Conv2DTranspose(1, 5, {.strides = {2, 2}, .padding = "same", .use_bias = false}), nn::Tanh());
  g.build({100});
  REQUIRE(g.output_shape() == Shape({28, 28, 1}));
  std::ostringstream os;
  g.summary(os);
  INFO(os.str());
  REQUIRE(g.count_params() == 2330944);
  REQUIRE_THAT(os.str(), Catch::Contains("Total params: 2,330,944\nTrainable params: 2,305,472\n"
                                         "Non-trainable params: 25,472\n"));

  nn::Sequential d(nn::Conv2D(64, 5, {.strides = {2, 2}, .padding = "same"}), nn::LeakyReLU(), nn::Dropout(0.3),
                   nn::Conv2D(128, 5, {.strides = {2, 2}, .padding = "same"}), nn::LeakyReLU(), nn::Dropout(0.3),
                   nn::Flatten(), nn::Dense(1));
  d.build({28, 28, 1});
  std::ostringstream ds;
  d.summary(ds);
  INFO(ds.str());
  REQUIRE(d.count_params() == 212865);
  REQUIRE_THAT(ds.str(), Catch::Contains("Total params: 212,865\nTrainable params: 212,865\nNon-trainable params: 0\n"));
  REQUIRE_THAT(ds.str(), Catch::Contains("(None, 6272)"));
}
