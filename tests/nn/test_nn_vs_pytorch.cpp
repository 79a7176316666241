// tape::nn against PyTorch: BatchNorm (Keras semantics, both moving-variance conventions),
// Conv2DTranspose, Dense, spectral normalization, binary cross-entropy, Adam and SGD, all in
// float32, compared with the float64 references of tests/fixtures/nn_fixtures.json (written by
// gen_nn_fixtures.py) to a relative tolerance of 1e-5 (max abs difference / max abs reference,
// per tensor).
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "tape/nn/nn.h"

namespace {

using json = nlohmann::json;
using tape::DType;
using tape::GradientTape;
using tape::Shape;
using tape::Tensor;
using tape::Variable;

constexpr double kTol = 1e-5;

const json& fixture_doc() {
  static const json doc = [] {
    std::ifstream in(TAPE_FIXTURES_DIR "/nn_fixtures.json");
    if (!in) return json();
    return json::parse(in);
  }();
  return doc;
}

// The fixture's cases of one kind; fails unless there are exactly `expected`.
std::vector<json> cases_of(const std::string& kind, std::size_t expected) {
  const json& doc = fixture_doc();
  INFO("fixture file: " TAPE_FIXTURES_DIR "/nn_fixtures.json");
  REQUIRE(doc.is_object());
  std::vector<json> out;
  for (const json& c : doc.at("cases")) {
    if (c.at("kind") == kind) out.push_back(c);
  }
  INFO("kind " << kind);
  REQUIRE(out.size() == expected);
  return out;
}

Shape shape_of(const json& j) { return Shape(j.get<std::vector<std::int64_t>>()); }

// Values are float32 decimals (inputs) or float64 references; both read as double, then rounded.
Tensor tensor_of(const json& values, const Shape& shape, DType dtype = DType::f32) {
  return Tensor::from_vector(values.get<std::vector<double>>(), shape).to(dtype);
}

Tensor reference(const json& c, const std::string& key, const Shape& shape) {
  INFO("fixture key " << key);
  REQUIRE(c.contains(key));
  return tensor_of(c.at(key), shape, DType::f64);
}

Shape without_batch(const Shape& s) {
  return Shape(std::vector<std::int64_t>(s.dims().begin() + 1, s.dims().end()));
}

void require_matches(const Tensor& actual, const json& c, const std::string& key, const Shape& shape) {
  INFO(c.at("name").get<std::string>() << ": " << key);
  REQUIRE(actual.defined());
  REQUIRE(actual.dtype() == DType::f32);
  REQUIRE(actual.shape() == shape);
  for (double v : actual.to_vector<double>()) REQUIRE(std::isfinite(v));
  const double diff = test::max_rel_diff(actual, reference(c, key, shape));
  INFO("max relative difference " << diff << " (tolerance " << kTol << ")");
  REQUIRE(diff <= kTol);
}

}  // namespace

// ---------------------------------------------------------------- BatchNorm
TEST_CASE("BatchNorm matches PyTorch: three training steps, moving statistics and inference", "[pytorch][nn]") {
  for (const json& c : cases_of("batchnorm", 2)) {
    const Shape xs = shape_of(c.at("x_shape"));
    const Shape cs{c.at("channels").get<std::int64_t>()};
    const int steps = c.at("steps").get<int>();
    REQUIRE(steps == 3);
    for (const bool unbiased : {false, true}) {
      const std::string mode = unbiased ? "unbiased" : "biased";
      INFO(c.at("name").get<std::string>() << ", unbiased_moving_variance=" << unbiased);
      tape::nn::BatchNormOptions o;
      o.momentum = c.at("momentum").get<double>();
      o.epsilon = c.at("epsilon").get<double>();
      o.unbiased_moving_variance = unbiased;
      tape::nn::BatchNorm bn(o);
      bn.build(without_batch(xs));
      bn.gamma().assign(tensor_of(c.at("gamma"), cs));
      bn.beta().assign(tensor_of(c.at("beta"), cs));
      bn.moving_mean().assign(tensor_of(c.at("initial_moving_mean"), cs));
      bn.moving_variance().assign(tensor_of(c.at("initial_moving_variance"), cs));

      for (int s = 0; s < steps; ++s) {
        const std::string k = std::to_string(s);
        const Tensor x = tensor_of(c.at("x" + k), xs);
        const Tensor g = tensor_of(c.at("g" + k), xs);
        GradientTape tape({.persistent = true});
        tape.watch(x);
        const Tensor y = bn(x, /*training=*/true);
        const Tensor target = sum(y * g);
        const Tensor gx = tape.gradient(target, x);
        const auto gv = tape.gradient(target, std::vector<Variable>{bn.gamma(), bn.beta()});
        require_matches(y, c, "y" + k, xs);
        require_matches(gx, c, "gx" + k, xs);
        require_matches(gv[0], c, "ggamma" + k, cs);
        require_matches(gv[1], c, "gbeta" + k, cs);
        require_matches(bn.moving_mean().peek(), c, "moving_mean" + k, cs);
        require_matches(bn.moving_variance().peek(), c, "moving_var_" + mode + k, cs);
      }

      // Inference on a fourth input uses the moving statistics and leaves them alone.
      const std::string k = std::to_string(steps);
      const Tensor x = tensor_of(c.at("x" + k), xs);
      const Tensor g = tensor_of(c.at("g" + k), xs);
      GradientTape tape({.persistent = true});
      tape.watch(x);
      const Tensor y = bn(x, /*training=*/false);
      const Tensor target = sum(y * g);
      const Tensor gx = tape.gradient(target, x);
      const auto gv = tape.gradient(target, std::vector<Variable>{bn.gamma(), bn.beta()});
      require_matches(y, c, "infer_y_" + mode, xs);
      require_matches(gx, c, "infer_gx_" + mode, xs);
      require_matches(gv[0], c, "infer_ggamma_" + mode, cs);
      require_matches(gv[1], c, "infer_gbeta_" + mode, cs);
      const std::string last = std::to_string(steps - 1);
      require_matches(bn.moving_mean().peek(), c, "moving_mean" + last, cs);
      require_matches(bn.moving_variance().peek(), c, "moving_var_" + mode + last, cs);
    }
  }
}

namespace {

// Runs a layer with a kernel and bias on c["x" + k] and compares the output and the gradients of
// sum(y * c["g" + k]) w.r.t. x, kernel and bias with the fixture's "y", "gx", "gkernel", "gbias" + k.
void check_pass(tape::nn::Module& layer, Variable kernel, Variable bias, const json& c, const std::string& k,
                bool training, const Shape& xs, const Shape& ys, const Shape& ks, const Shape& bs) {
  const Tensor x = tensor_of(c.at("x" + k), xs);
  const Tensor g = tensor_of(c.at("g" + k), ys);
  GradientTape tape({.persistent = true});
  tape.watch(x);
  const Tensor y = layer(x, training);
  const Tensor target = sum(y * g);
  const Tensor gx = tape.gradient(target, x);
  const auto gv = tape.gradient(target, std::vector<Variable>{kernel, bias});
  require_matches(y, c, "y" + k, ys);
  require_matches(gx, c, "gx" + k, xs);
  require_matches(gv[0], c, "gkernel" + k, ks);
  require_matches(gv[1], c, "gbias" + k, bs);
}

// Sets a layer's kernel and bias from fixture `c` and checks one inference pass (check_pass).
void check_kernel_bias_layer(tape::nn::Module& layer, Variable kernel, Variable bias, const json& c, const Shape& xs,
                             const Shape& ys, const Shape& ks, const Shape& bs) {
  kernel.assign(tensor_of(c.at("kernel"), ks));
  bias.assign(tensor_of(c.at("bias"), bs));
  check_pass(layer, kernel, bias, c, "", false, xs, ys, ks, bs);
}

}  // namespace


// ---------------------------------------------------------------- Conv2DTranspose
TEST_CASE("Conv2DTranspose with bias matches PyTorch: output and gradients", "[pytorch][nn]") {
  for (const json& c : cases_of("conv2d_transpose", 3)) {
    INFO(c.at("name").get<std::string>());
    const Shape xs = shape_of(c.at("x_shape")), ks = shape_of(c.at("kernel_shape")), ys = shape_of(c.at("y_shape"));
    const std::int64_t filters = c.at("filters").get<std::int64_t>();
    const Shape bs{filters};
    tape::nn::ConvOptions o;
    const auto s = c.at("strides").get<std::int64_t>();
    o.strides = {s, s};
    o.padding = c.at("padding").get<std::string>();
    if (!c.at("output_padding").is_null()) {
      const auto op = c.at("output_padding").get<std::int64_t>();
      o.output_padding = std::array<std::int64_t, 2>{op, op};
    }
    tape::nn::Conv2DTranspose layer(filters, c.at("kernel_size").get<std::int64_t>(), o);
    layer.build(without_batch(xs));
    REQUIRE(layer.kernel().shape() == ks);
    check_kernel_bias_layer(layer, layer.kernel(), layer.bias(), c, xs, ys, ks, bs);
  }
}

// ---------------------------------------------------------------- Dense
TEST_CASE("Dense with bias matches PyTorch Linear: output and gradients", "[pytorch][nn]") {
  for (const json& c : cases_of("dense", 2)) {
    INFO(c.at("name").get<std::string>());
    const Shape xs = shape_of(c.at("x_shape")), ks = shape_of(c.at("kernel_shape"));
    const std::int64_t units = c.at("units").get<std::int64_t>();
    std::vector<std::int64_t> yd = xs.dims();
    yd.back() = units;
    const Shape ys(yd), bs{units};
    tape::nn::Dense layer(units);
    layer.build(without_batch(xs));
    check_kernel_bias_layer(layer, layer.kernel(), layer.bias(), c, xs, ys, ks, bs);
  }
}

// ---------------------------------------------------------------- a two-input Functional model
TEST_CASE("Embedding and Concatenate in a two-input Functional model match PyTorch: output and gradients",
          "[pytorch][nn][functional]") {
  for (const json& c : cases_of("embedding_concat", 1)) {
    INFO(c.at("name").get<std::string>());
    const Shape xs = shape_of(c.at("x_shape"));
    const std::int64_t classes = c.at("classes").get<std::int64_t>(), dim = c.at("dim").get<std::int64_t>(),
                       units = c.at("units").get<std::int64_t>(), n = xs[0];
    const std::vector<double> ids = c.at("labels").get<std::vector<double>>();
    tape::nn::Functional model("model");
    const auto x_in = model.input(), label_in = model.input();
    const auto embedded = model.apply(tape::nn::Embedding(classes, dim), label_in);
    model.output(model.apply(tape::nn::Dense(units), model.apply(tape::nn::Concatenate(), {x_in, embedded})));
    tape::Generator gen(1);
    model.build_inputs({without_batch(xs), Shape{}}, gen);
    auto* embedding = tape::nn::modules_of<tape::nn::Embedding>(model).at(0);
    auto* dense = tape::nn::modules_of<tape::nn::Dense>(model).at(0);
    const Shape es{classes, dim}, ks{xs[1] + dim, units}, bs{units}, ys{n, units};
    embedding->embeddings().assign(tensor_of(c.at("embeddings"), es));
    dense->kernel().assign(tensor_of(c.at("kernel"), ks));
    dense->bias().assign(tensor_of(c.at("bias"), bs));
    Variable x(tensor_of(c.at("x"), xs), "x");
    const Tensor labels = Tensor::from_vector(ids);
    GradientTape tape;
    const Tensor y = model({x.value(), labels}, true);
    require_matches(y, c, "y", ys);
    const auto grads = tape.gradient(sum(y * tensor_of(c.at("g"), ys)),
                                     std::vector<Variable>{x, embedding->embeddings(), dense->kernel(), dense->bias()});
    require_matches(grads[0], c, "gx", xs);
    require_matches(grads[1], c, "gembeddings", es);
    require_matches(grads[2], c, "gkernel", ks);
    require_matches(grads[3], c, "gbias", bs);
  }
}

// ---------------------------------------------------------------- SpectralNorm
TEST_CASE("SpectralNorm matches torch.nn.utils.spectral_norm: two training passes, then inference",
          "[pytorch][nn][spectral_norm]") {
  for (const json& c : cases_of("spectral_norm", 3)) {
    INFO(c.at("name").get<std::string>());
    const Shape xs = shape_of(c.at("x_shape")), ks = shape_of(c.at("kernel_shape")), ys = shape_of(c.at("y_shape"));
    const std::int64_t units = c.at("units").get<std::int64_t>();
    const Shape bs{units}, vs{ks.numel() / units};
    const std::string kind = c.at("layer").get<std::string>();
    std::shared_ptr<tape::nn::Module> layer;
    if (kind == "dense") {
      layer = std::make_shared<tape::nn::Dense>(units);
    } else {
      const auto s = c.at("strides").get<std::int64_t>(), k = c.at("kernel_size").get<std::int64_t>();
      tape::nn::ConvOptions o;
      o.strides = {s, s};
      if (kind == "conv2d") {
        const auto p = c.at("pads").get<std::int64_t>();
        o.padding = tape::Padding::symmetric(p, p);
        layer = std::make_shared<tape::nn::Conv2D>(units, k, o);
      } else {
        REQUIRE(kind == "conv2d_transpose");
        layer = std::make_shared<tape::nn::Conv2DTranspose>(units, k, o);
      }
    }
    tape::nn::SpectralNorm sn(layer, {.n_power_iterations = c.at("n_power_iterations").get<int>(),
                                      .eps = c.at("eps").get<double>()});
    sn.build(without_batch(xs));
    Variable kernel = sn.layer().kernel(), bias = sn.layer().bias();
    REQUIRE(kernel.shape() == ks);
    kernel.assign(tensor_of(c.at("kernel"), ks));
    bias.assign(tensor_of(c.at("bias"), bs));
    sn.u().assign(tensor_of(c.at("u_init"), bs));
    sn.v().assign(tensor_of(c.at("v_init"), vs));
    const int passes = c.at("passes").get<int>();
    REQUIRE(passes == 3);
    for (int i = 0; i < passes; ++i) {
      const std::string k = std::to_string(i);
      const bool training = i < passes - 1;
      INFO("pass " << i << (training ? " (training)" : " (inference)"));
      check_pass(sn, kernel, bias, c, k, training, xs, ys, ks, bs);
      require_matches(sn.u().peek(), c, "u" + k, bs);
      require_matches(sn.v().peek(), c, "v" + k, vs);
      require_matches(sn.sigma(), c, "sigma" + k, Shape{});
    }
  }
}

// ---------------------------------------------------------------- binary cross-entropy
TEST_CASE("binary_cross_entropy matches PyTorch from logits (incl. +-100) and from probabilities",
          "[pytorch][nn]") {
  for (const json& c : cases_of("bce", 4)) {
    INFO(c.at("name").get<std::string>());
    const Shape ns{c.at("n").get<std::int64_t>()};
    const Tensor labels = tensor_of(c.at("labels"), ns);
    const Tensor pred = tensor_of(c.at("predictions"), ns);
    tape::nn::BCEOptions o;
    o.from_logits = c.at("from_logits").get<bool>();
    o.label_smoothing = c.at("label_smoothing").get<double>();
    o.epsilon = c.at("epsilon").get<double>();

    for (const auto reduction : {tape::nn::Reduction::mean, tape::nn::Reduction::sum, tape::nn::Reduction::none}) {
      o.reduction = reduction;
      GradientTape tape;
      tape.watch(pred);
      const Tensor loss = tape::nn::binary_cross_entropy(labels, pred, o);
      const Tensor grad = tape.gradient(loss, pred);
      switch (reduction) {
        case tape::nn::Reduction::mean:
          require_matches(loss, c, "loss", Shape{});
          require_matches(grad, c, "grad", ns);
          break;
        case tape::nn::Reduction::sum:
          require_matches(loss, c, "loss_sum", Shape{});
          require_matches(grad, c, "grad_sum", ns);
          break;
        case tape::nn::Reduction::none:
          require_matches(loss, c, "loss_elements", ns);
          require_matches(grad, c, "grad_sum", ns);  // gradient of the sum of the elements
          break;
      }
    }
  }
}

// ---------------------------------------------------------------- optimizers
namespace {

// Applies the fixture's gradients step by step and compares the variables after each step.
void run_optimizer_case(const json& c, tape::nn::Optimizer& opt) {
  const int steps = c.at("steps").get<int>();
  REQUIRE(steps >= 3);
  std::vector<Shape> shapes;
  for (const json& s : c.at("var_shapes")) shapes.push_back(shape_of(s));
  REQUIRE(shapes.size() == 2);
  std::vector<Variable> vars;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    vars.emplace_back(tensor_of(c.at("var" + std::to_string(i) + "_init"), shapes[i]), "var" + std::to_string(i));
  }
  for (int s = 0; s < steps; ++s) {
    std::vector<Tensor> grads;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      grads.push_back(tensor_of(c.at("grad" + std::to_string(i) + "_" + std::to_string(s)), shapes[i]));
    }
    opt.apply_gradients(grads, vars);
    REQUIRE(opt.iterations() == s + 1);
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      require_matches(vars[i].peek(), c, "var" + std::to_string(i) + "_step" + std::to_string(s), shapes[i]);
    }
  }
}

}  // namespace

TEST_CASE("Adam (epsilon 1e-8) matches torch.optim.Adam over three steps", "[pytorch][nn]") {
  for (const json& c : cases_of("adam", 2)) {
    INFO(c.at("name").get<std::string>());
    tape::nn::Adam adam({.learning_rate = c.at("learning_rate").get<double>(),
                         .beta1 = c.at("beta1").get<double>(),
                         .beta2 = c.at("beta2").get<double>(),
                         .epsilon = c.at("epsilon").get<double>()});
    REQUIRE(adam.options().epsilon == 1e-8);
    run_optimizer_case(c, adam);
  }
}

TEST_CASE("Adam with a linear, cosine, step or warmed-up cosine schedule matches torch's schedulers over six steps",
          "[pytorch][nn]") {
  for (const json& c : cases_of("adam_schedule", 4)) {
    INFO(c.at("name").get<std::string>());
    const double lr = c.at("learning_rate").get<double>();
    tape::nn::Adam adam({.learning_rate = lr, .beta1 = c.at("beta1").get<double>(),
                         .beta2 = c.at("beta2").get<double>(), .epsilon = c.at("epsilon").get<double>()});
    const std::string kind = c.at("schedule").get<std::string>();
    // LinearLR(1 -> 0.1, total_iters 4); CosineAnnealingLR(T_max 5, eta_min 0.1 lr); StepLR(2, 0.5);
    // LinearLR(0.25 -> 1, total_iters 3) chained with CosineAnnealingLR(T_max 5, eta_min 0)
    using Schedule = tape::nn::LearningRateSchedule;
    adam.set_learning_rate_schedule(kind == "linear"   ? Schedule::linear(lr, 0, 4, 0.1)
                                    : kind == "cosine" ? Schedule::cosine(lr, 0, 5, 0.1)
                                    : kind == "step"   ? Schedule::step(lr, 2, 0.5)
                                                       : Schedule::cosine(lr, 0, 5, 0.0).with_warmup(3, 0.25));
    run_optimizer_case(c, adam);
  }
}

TEST_CASE("SGD with momentum (and Nesterov) matches torch.optim.SGD over three steps", "[pytorch][nn]") {
  int nesterov_cases = 0;
  for (const json& c : cases_of("sgd", 4)) {
    INFO(c.at("name").get<std::string>());
    const bool nesterov = c.at("nesterov").get<bool>();
    nesterov_cases += nesterov;
    tape::nn::SGD sgd({.learning_rate = c.at("learning_rate").get<double>(),
                       .momentum = c.at("momentum").get<double>(),
                       .nesterov = nesterov});
    run_optimizer_case(c, sgd);
  }
  REQUIRE(nesterov_cases == 2);
}

TEST_CASE("AdamW matches torch.optim.AdamW (decoupled weight decay) over three steps", "[pytorch][nn]") {
  for (const json& c : cases_of("adamw", 1)) {
    INFO(c.at("name").get<std::string>());
    tape::nn::AdamW adamw({.learning_rate = c.at("learning_rate").get<double>(),
                           .beta1 = c.at("beta1").get<double>(),
                           .beta2 = c.at("beta2").get<double>(),
                           .epsilon = c.at("epsilon").get<double>(),
                           .weight_decay = c.at("weight_decay").get<double>()});
    REQUIRE(adamw.type_name() == "AdamW");
    run_optimizer_case(c, adamw);
  }
}

TEST_CASE("RMSprop, plain and centered with momentum, matches torch.optim.RMSprop over three steps", "[pytorch][nn]") {
  int centered_cases = 0;
  for (const json& c : cases_of("rmsprop", 2)) {
    INFO(c.at("name").get<std::string>());
    const bool centered = c.at("centered").get<bool>();
    centered_cases += centered;
    tape::nn::RMSprop rmsprop({.learning_rate = c.at("learning_rate").get<double>(),
                               .rho = c.at("rho").get<double>(),
                               .momentum = c.at("momentum").get<double>(),
                               .epsilon = c.at("epsilon").get<double>(),
                               .centered = centered});
    run_optimizer_case(c, rmsprop);
  }
  REQUIRE(centered_cases == 1);
}

TEST_CASE("gradient clipping by global norm and by value matches torch's clip_grad_norm_ / clip_grad_value_",
          "[pytorch][nn]") {
  int clipped_by_norm = 0;
  for (const json& c : cases_of("clipping", 2)) {
    INFO(c.at("name").get<std::string>());
    std::vector<Shape> shapes;
    for (const json& s : c.at("var_shapes")) shapes.push_back(shape_of(s));
    std::vector<Tensor> grads;
    for (std::size_t i = 0; i < shapes.size(); ++i) grads.push_back(tensor_of(c.at("grad" + std::to_string(i)), shapes[i]));
    grads.insert(grads.begin() + 1, Tensor());  // an undefined gradient is skipped and stays undefined
    const double max_norm = c.at("max_norm").get<double>();
    const tape::nn::ClippedGradients by_norm = tape::nn::clip_gradients_by_global_norm(grads, max_norm);
    const double torch_norm = c.at("global_norm").get<std::vector<double>>().at(0);
    CHECK(std::abs(by_norm.global_norm - torch_norm) <= 1e-6 * torch_norm);
    clipped_by_norm += by_norm.global_norm > max_norm;
    REQUIRE_FALSE(by_norm.grads[1].defined());
    const auto by_value = tape::nn::clip_gradients_by_value(grads, c.at("low").get<double>(), c.at("high").get<double>());
    REQUIRE_FALSE(by_value[1].defined());
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const std::size_t k = i == 0 ? 0 : i + 1;
      // torch divides by norm + 1e-6, TensorFlow (and tape) by the norm: within the tolerance here.
      require_matches(by_norm.grads[k], c, "norm_clipped" + std::to_string(i), shapes[i]);
      require_matches(by_value[k], c, "value_clipped" + std::to_string(i), shapes[i]);
    }
  }
  REQUIRE(clipped_by_norm == 1);  // one case clips, the other (max_norm 100) leaves the gradients
  CHECK_THROWS_AS(tape::nn::clip_gradients_by_global_norm({Tensor::ones({2})}, 0.0), tape::ValueError);
  CHECK_THROWS_AS(tape::nn::clip_gradients_by_value({Tensor::ones({2})}, 1.0, -1.0), tape::ValueError);
  const Tensor inf = Tensor::from_vector(std::vector<double>{1.0, std::numeric_limits<double>::infinity()}, Shape{2});
  CHECK_THROWS_AS(tape::nn::clip_gradients_by_global_norm({inf}, 1.0), tape::NumericsError);
}

// ---------------------------------------------------------------- per-example normalization, up-sampling
namespace {

// y = layer(x) with the fixture's gamma and beta; the gradients of <y, g> to x, gamma and beta.
void run_feature_norm_case(const json& c, tape::nn::Module& layer, const Shape& shape) {
  const Shape channels{shape[-1]};
  const Tensor x = tensor_of(c.at("x"), shape);
  layer.build(Shape(std::vector<std::int64_t>(shape.dims().begin() + 1, shape.dims().end())));
  const auto vars = layer.trainable_variables();
  REQUIRE(vars.size() == 2);  // gamma, beta
  Variable gamma = vars[0], beta = vars[1];
  gamma.assign(tensor_of(c.at("gamma"), channels));
  beta.assign(tensor_of(c.at("beta"), channels));
  GradientTape tape({.persistent = true});
  tape.watch(x);
  const Tensor y = layer(x, true);
  const Tensor loss = tape::sum(y * tensor_of(c.at("g"), shape));
  require_matches(y, c, "y", shape);
  require_matches(tape.gradient(loss, x), c, "gx", shape);
  const auto g = tape.gradient(loss, std::vector<Variable>{gamma, beta});
  require_matches(g[0], c, "ggamma", channels);
  require_matches(g[1], c, "gbeta", channels);
  // Training and inference are the same computation.
  require_matches(layer(x, false), c, "y", shape);
}

}  // namespace

TEST_CASE("LayerNorm matches torch layer_norm: output and gradients to x, gamma and beta", "[pytorch][nn]") {
  for (const json& c : cases_of("layer_norm", 2)) {
    INFO(c.at("name").get<std::string>());
    tape::nn::LayerNorm layer({.epsilon = c.at("epsilon").get<double>()});
    run_feature_norm_case(c, layer, shape_of(c.at("x_shape")));
  }
}

TEST_CASE("GroupNorm and InstanceNorm match torch group_norm: output and gradients", "[pytorch][nn]") {
  int instance_cases = 0;
  for (const json& c : cases_of("group_norm", 2)) {
    INFO(c.at("name").get<std::string>());
    const Shape shape = shape_of(c.at("x_shape"));
    const std::int64_t groups = c.at("groups").get<std::int64_t>();
    const tape::nn::FeatureNormOptions options{.epsilon = c.at("epsilon").get<double>()};
    if (groups == shape[-1]) {
      ++instance_cases;
      tape::nn::GroupNorm layer = tape::nn::InstanceNorm(options);
      run_feature_norm_case(c, layer, shape);
      REQUIRE(layer.groups() == groups);
    } else {
      tape::nn::GroupNorm layer(groups, options);
      run_feature_norm_case(c, layer, shape);
    }
  }
  REQUIRE(instance_cases == 1);
  tape::nn::GroupNorm bad(4);
  CHECK_THROWS_WITH(bad.build(Shape{3, 3, 6}), Catch::Contains("multiple of groups 4") && Catch::Contains("[1, 3, 3, 6]"));
}

TEST_CASE("UpSampling2D nearest and bilinear match torch interpolate (align_corners=False)", "[pytorch][nn]") {
  int bilinear_cases = 0;
  for (const json& c : cases_of("upsampling", 4)) {
    INFO(c.at("name").get<std::string>());
    const Shape shape = shape_of(c.at("x_shape"));
    const auto size = c.at("size").get<std::vector<std::int64_t>>();
    const bool bilinear = c.at("interpolation") == "bilinear";
    bilinear_cases += bilinear;
    tape::nn::UpSampling2D layer({size[0], size[1]},
                                 bilinear ? tape::nn::Interpolation::bilinear : tape::nn::Interpolation::nearest);
    const Shape out{shape[0], shape[1] * size[0], shape[2] * size[1], shape[3]};
    const Tensor x = tensor_of(c.at("x"), shape);
    GradientTape tape;
    tape.watch(x);
    const Tensor y = layer(x);
    require_matches(y, c, "y", out);
    require_matches(tape.gradient(tape::sum(y * tensor_of(c.at("g"), out)), x), c, "gx", shape);
  }
  REQUIRE(bilinear_cases == 2);
}

TEST_CASE("MaxPool2D and AveragePool2D with strides and same padding match torch max_pool2d / avg_pool2d",
          "[pytorch][nn]") {
  int same_cases = 0;
  for (const json& c : cases_of("pooling", 4)) {
    INFO(c.at("name").get<std::string>());
    const Shape shape = shape_of(c.at("x_shape"));
    const auto pool = c.at("pool").get<std::vector<std::int64_t>>();
    const auto strides = c.at("strides").get<std::vector<std::int64_t>>();
    const std::string padding = c.at("padding").get<std::string>();
    same_cases += padding == "same";
    const tape::Pool2dOptions options{.strides = {strides[0], strides[1]}, .padding = padding};
    std::unique_ptr<tape::nn::Module> layer;
    if (c.at("mode") == "max") {
      layer = std::make_unique<tape::nn::MaxPool2D>(std::array<std::int64_t, 2>{pool[0], pool[1]}, options);
    } else {
      layer = std::make_unique<tape::nn::AveragePool2D>(std::array<std::int64_t, 2>{pool[0], pool[1]}, options);
    }
    const Tensor x = tensor_of(c.at("x"), shape);
    GradientTape tape;
    tape.watch(x);
    const Tensor y = (*layer)(x);
    require_matches(y, c, "y", y.shape());
    const Tensor g = reference(c, "g", y.shape()).to(DType::f32);
    require_matches(tape.gradient(tape::sum(y * g), x), c, "gx", shape);
  }
  REQUIRE(same_cases == 3);
}
