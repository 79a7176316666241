// Losses (values, stability, gradients to second order) and optimizers (update rules, skipped
// undefined gradients, errors, state round trip).
#include "support/test_support.h"
#include "tape/nn/nn.h"

using namespace tape;
using test::rand;
using Args = std::vector<Tensor>;

TEST_CASE("binary cross-entropy from logits: values, stability at |z| = 100", "[losses]") {
  Tensor z = Tensor::from_vector(std::vector<double>{-100, -2, 0, 3, 100});
  Tensor y = Tensor::from_vector(std::vector<double>{1, 0, 1, 1, 0});
  Tensor per = nn::binary_cross_entropy(y, z, {.from_logits = true, .reduction = nn::Reduction::none});
  const auto v = per.to_vector<double>();
  REQUIRE(v[0] == Approx(100.0));
  REQUIRE(v[1] == Approx(std::log1p(std::exp(-2.0))));
  REQUIRE(v[2] == Approx(std::log(2.0)));
  REQUIRE(v[3] == Approx(std::log1p(std::exp(-3.0))));
  REQUIRE(v[4] == Approx(100.0));
  // float32 stays finite too, with finite gradients
  Tensor z32 = z.to(DType::f32);
  GradientTape t;
  t.watch(z32);
  Tensor loss = nn::binary_cross_entropy(y.to(DType::f32), z32, {.from_logits = true});
  Tensor g = t.gradient(loss, z32);
  REQUIRE(std::isfinite(loss.item()));
  for (float e : g.to_vector<float>()) REQUIRE(std::isfinite(e));
  REQUIRE(g.to_vector<float>()[0] == Approx(-1.0 / 5.0));  // (sigmoid(-100) - 1) / n
}

TEST_CASE("binary cross-entropy: label smoothing and probabilities", "[losses]") {
  Tensor z = Tensor::from_vector(std::vector<double>{0.5});
  Tensor one = Tensor::from_vector(std::vector<double>{1.0});
  // Keras: y = 1 * (1 - 0.2) + 0.1 = 0.9
  const double smoothed = nn::binary_cross_entropy(one, z, {.from_logits = true, .label_smoothing = 0.2}).item();
  const double p = 1.0 / (1.0 + std::exp(-0.5));
  REQUIRE(smoothed == Approx(-(0.9 * std::log(p) + 0.1 * std::log(1 - p))));
  Tensor probs = Tensor::from_vector(std::vector<double>{0.0, 0.25, 1.0});
  Tensor labels = Tensor::from_vector(std::vector<double>{0.0, 1.0, 1.0});
  Tensor per = nn::binary_cross_entropy(labels, probs, {.reduction = nn::Reduction::none});
  REQUIRE(per.to_vector<double>()[1] == Approx(-std::log(0.25)));
  REQUIRE(per.to_vector<double>()[0] == Approx(-std::log1p(-1e-7)));
  REQUIRE(nn::binary_cross_entropy(labels, probs, {.reduction = nn::Reduction::sum}).item() ==
          Approx(sum(per).item()));
}

TEST_CASE("gradcheck and gradgradcheck: losses", "[losses][gradcheck]") {
  Tensor y = Tensor::from_vector(std::vector<double>{1, 0, 1, 0, 1, 1}, {2, 3});
  REQUIRE_GRADCHECK([y](const Args& in) { return nn::binary_cross_entropy(y, in[0], {.from_logits = true}); },
                    Args{rand({2, 3}, 1, -4, 4)});
  REQUIRE_GRADGRADCHECK([y](const Args& in) { return nn::binary_cross_entropy(y, in[0], {.from_logits = true}); },
                        Args{rand({2, 3}, 2, -4, 4)});
  REQUIRE_GRADCHECK([y](const Args& in) { return nn::binary_cross_entropy(y, in[0]); }, Args{rand({2, 3}, 3, 0.1, 0.9)});
  REQUIRE_GRADCHECK([y](const Args& in) { return nn::mean_squared_error(y, in[0]); }, Args{rand({2, 3}, 4)});
  const std::vector<std::int64_t> labels{2, 0, 1};
  REQUIRE_GRADCHECK([labels](const Args& in) { return nn::softmax_cross_entropy(labels, in[0]); },
                    Args{rand({3, 4}, 5, -3, 3)});
  REQUIRE_GRADGRADCHECK([labels](const Args& in) { return nn::softmax_cross_entropy(labels, in[0]); },
                        Args{rand({3, 4}, 6, -3, 3)});
}

TEST_CASE("softmax cross-entropy values and stability", "[losses]") {
  Tensor logits = Tensor::from_vector(std::vector<double>{1000, 0, 0, 0, 0, 0}, {2, 3});
  Tensor per = nn::softmax_cross_entropy({0, 2}, logits, nn::Reduction::none);
  REQUIRE(per.to_vector<double>()[0] == Approx(0.0).margin(1e-12));
  REQUIRE(per.to_vector<double>()[1] == Approx(std::log(3.0)));
  Tensor s = nn::softmax(logits);
  REQUIRE(sum(s, {1}).to_vector<double>()[1] == Approx(1.0));
  REQUIRE_THROWS_AS(nn::softmax_cross_entropy({0, 3}, logits), ValueError);
}

TEST_CASE("Adam: the first step moves each weight by about lr against its gradient", "[optimizers]") {
  Variable w(Tensor::from_vector(std::vector<double>{1.0, -1.0, 0.5}), "w");
  nn::Adam adam({.learning_rate = 0.1});
  adam.apply_gradients({Tensor::from_vector(std::vector<double>{2.0, -3.0, 0.0})}, {w});
  const auto v = w.peek().to_vector<double>();
  REQUIRE(v[0] == Approx(0.9).epsilon(1e-6));
  REQUIRE(v[1] == Approx(-0.9).epsilon(1e-6));
  REQUIRE(v[2] == 0.5);
  REQUIRE(adam.iterations() == 1);
}

TEST_CASE("Adam follows the bias-corrected update for several steps", "[optimizers]") {
  Variable w(Tensor::scalar(1.0), "w");
  nn::Adam adam({.learning_rate = 0.01, .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-8});
  double m = 0, v = 0, x = 1.0;
  for (int t = 1; t <= 5; ++t) {
    const double g = 2.0 * x;  // d(x^2)/dx
    adam.apply_gradients({Tensor::scalar(g)}, {w});
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    x -= 0.01 * (m / (1 - std::pow(0.9, t))) / (std::sqrt(v / (1 - std::pow(0.999, t))) + 1e-8);
    REQUIRE(w.peek().item() == Approx(x).epsilon(1e-14));
  }
}

TEST_CASE("SGD with and without momentum", "[optimizers]") {
  Variable a(Tensor::scalar(1.0), "a"), b(Tensor::scalar(1.0), "b");
  nn::SGD plain({.learning_rate = 0.1});
  nn::SGD momentum({.learning_rate = 0.1, .momentum = 0.9});
  for (int i = 0; i < 2; ++i) {
    plain.apply_gradients({Tensor::scalar(1.0)}, {a});
    momentum.apply_gradients({Tensor::scalar(1.0)}, {b});
  }
  REQUIRE(a.peek().item() == Approx(0.8));
  REQUIRE(b.peek().item() == Approx(1.0 - 0.1 - (0.9 * 0.1 + 0.1)));
}

TEST_CASE("optimizers skip undefined gradients and reject mismatches", "[optimizers]") {
  Variable a(Tensor::scalar(1.0), "a"), b(Tensor::zeros({2}, DType::f64), "b");
  nn::Adam adam;
  adam.apply_gradients({Tensor(), Tensor::ones({2}, DType::f64)}, {a, b});
  REQUIRE(a.peek().item() == 1.0);
  REQUIRE(b.peek().at({0}) < 0.0);
  REQUIRE_THROWS_AS(adam.apply_gradients({Tensor::ones({3}, DType::f64)}, {b}), ShapeError);
  REQUIRE_THROWS_WITH(adam.apply_gradients({Tensor::ones({3}, DType::f64)}, {b}),
                      Catch::Contains("'b'") && Catch::Contains("[3]") && Catch::Contains("[2]"));
  REQUIRE_THROWS_AS(adam.apply_gradients({Tensor::ones({2}, DType::f32)}, {b}), DTypeError);
  REQUIRE_THROWS_AS(adam.apply_gradients({Tensor()}, {a, b}), ValueError);
}

TEST_CASE("optimizer state round-trips into a fresh optimizer", "[optimizers]") {
  Variable w1(Tensor::from_vector(std::vector<double>{1.0, 2.0}), "w"), w2(Tensor::from_vector(std::vector<double>{1.0, 2.0}), "w");
  nn::Adam a1, a2;
  Tensor g = Tensor::from_vector(std::vector<double>{0.3, -0.7});
  a1.apply_gradients({g}, {w1});
  a1.apply_gradients({g}, {w1});
  a2.load_state(a1.state(), a1.iterations());
  w2.assign(w1.peek());
  a1.apply_gradients({g * 2.0}, {w1});
  a2.apply_gradients({g * 2.0}, {w2});
  REQUIRE(w1.peek().to_vector<double>() == w2.peek().to_vector<double>());
  REQUIRE(a1.state().size() == 2);
  REQUIRE(a1.state()[0].slot == "m");
}

TEST_CASE("update_moving_average averages weights, copies moving statistics and checks the twin", "[optimizers]") {
  nn::Sequential model(nn::Dense(3), nn::BatchNorm());
  nn::Sequential average(nn::Dense(3), nn::BatchNorm());
  model.build({2}, 1);
  average.build({2}, 2);
  const auto m = model.variables(), a = average.variables();
  REQUIRE(m.size() == a.size());
  std::vector<std::vector<float>> before;
  for (const auto& v : a) before.push_back(v.value().to_vector<float>());
  model(tape::Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}), true);  // moves BN's statistics
  nn::update_moving_average(average, model, 0.75);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto got = a[i].value().to_vector<float>(), src = m[i].value().to_vector<float>();
    for (std::size_t k = 0; k < got.size(); ++k) {
      const double want = a[i].trainable() ? 0.75 * before[i][k] + 0.25 * src[k] : src[k];
      REQUIRE(got[k] == Approx(want).margin(1e-7));
    }
  }
  REQUIRE(nn::moving_average_decay(0.999, 0) == Approx(0.1));
  REQUIRE(nn::moving_average_decay(0.999, 100000) == 0.999);
  nn::Sequential other(nn::Dense(4), nn::BatchNorm());
  other.build({2}, 3);
  REQUIRE_THROWS_WITH(nn::update_moving_average(other, model, 0.5), Catch::Contains("does not match"));
  REQUIRE_THROWS_AS(nn::update_moving_average(average, model, 1.5), tape::ValueError);
}

TEST_CASE("hinge: values, gradient, labels other than -1 and 1 rejected", "[losses]") {
  Tensor p = Tensor::from_vector(std::vector<double>{-2.0, 0.5, 3.0, -0.25});
  Tensor y = Tensor::from_vector(std::vector<double>{1, 1, -1, -1});
  const auto per = nn::hinge(y, p, nn::Reduction::none).to_vector<double>();
  REQUIRE(per == std::vector<double>{3.0, 0.5, 4.0, 0.75});
  REQUIRE(nn::hinge(y, p).item() == Approx(8.25 / 4));
  REQUIRE(nn::hinge(y, p, nn::Reduction::sum).item() == Approx(8.25));
  REQUIRE(nn::hinge(Tensor::ones({2}), Tensor::from_vector(std::vector<float>{1.5f, 2.0f})).item() == 0.0);
  REQUIRE_GRADCHECK([y](const Args& in) { return nn::hinge(y, in[0]); }, Args{rand({4}, 7, -3, 3)});
  Tensor y2 = Tensor::from_vector(std::vector<double>{1, -1, -1, 1, 1, -1}, {2, 3});
  REQUIRE_GRADCHECK([y2](const Args& in) { return nn::hinge(y2, in[0], nn::Reduction::sum); },
                    Args{rand({2, 3}, 8, -3, 3)});
  REQUIRE_THROWS_AS(nn::hinge(Tensor::zeros({4}, DType::f64), p), ValueError);
  REQUIRE_THROWS_WITH(nn::hinge(Tensor::from_vector(std::vector<double>{1, 0.5, 1, 1}), p),
                      Catch::Contains("hinge") && Catch::Contains("0.5"));
  REQUIRE_THROWS_AS(nn::hinge(Tensor::ones({3}, DType::f64), p), ShapeError);
}

TEST_CASE("learning-rate schedules: constant, delayed linear and cosine decay, step decay, warm-up, errors", "[optimizers]") {
  using S = nn::LearningRateSchedule;
  REQUIRE(S::constant(0.1)(0) == 0.1);
  REQUIRE(S::constant(0.1)(1000000) == 0.1);
  const S lin = S::linear(1.0, 10, 30, 0.0);  // flat to 10, then down to 0 at 30
  REQUIRE(lin(0) == 1.0);
  REQUIRE(lin(10) == 1.0);
  REQUIRE(lin(20) == Approx(0.5));
  REQUIRE(lin(30) == 0.0);
  REQUIRE(lin(31) == 0.0);
  const S cos = S::cosine(2.0, 0, 4, 0.25);
  REQUIRE(cos(0) == 2.0);
  REQUIRE(cos(2) == Approx(2.0 * (0.25 + 0.75 * 0.5)));
  REQUIRE(cos(4) == Approx(0.5));
  REQUIRE(cos(100) == Approx(0.5));
  REQUIRE(S::from_name("linear", 1.0, 0, 2, 0.5)(1) == Approx(0.75));
  REQUIRE(S::from_name("cosine", 1.0, 0, 2).kind() == S::Kind::cosine);
  REQUIRE_THROWS_WITH(S::from_name("exponential", 1.0, 0, 2), Catch::Contains("'exponential'"));
  const S step = S::step(1.0, 3, 0.5);  // halved every 3 updates
  REQUIRE(step(2) == 1.0);
  REQUIRE(step(3) == 0.5);
  REQUIRE(step(7) == 0.25);
  const S warm = S::constant(2.0).with_warmup(4, 0.5);  // 1.0, 1.25, 1.5, 1.75, then 2.0
  REQUIRE(warm(0) == 1.0);
  REQUIRE(warm(2) == 1.5);
  REQUIRE(warm(4) == 2.0);
  REQUIRE(warm.kind() == S::Kind::constant);
  REQUIRE_THROWS_AS(S::step(1.0, 0, 0.5), ValueError);
  REQUIRE_THROWS_AS(S::constant(1.0).with_warmup(3, 1.5), ValueError);
  REQUIRE_THROWS_AS(S::linear(1.0, 5, 5), ValueError);
  REQUIRE_THROWS_AS(S::cosine(-1.0, 0, 5), ValueError);
  REQUIRE_THROWS_AS(S::linear(1.0, 0, 5, -0.5), ValueError);
}

TEST_CASE("an optimizer follows its schedule by update count, also after its state is restored", "[optimizers]") {
  const auto sched = nn::LearningRateSchedule::linear(0.4, 0, 4, 0.0);  // 0.4, 0.3, 0.2, 0.1, 0, ...
  nn::SGD sgd({.learning_rate = 1.0});
  sgd.set_learning_rate_schedule(sched);
  REQUIRE(sgd.learning_rate() == 0.4);
  Variable w(Tensor::zeros({1}, DType::f64), "w");
  const Tensor g = Tensor::ones({1}, DType::f64);
  std::vector<double> steps;
  for (int i = 0; i < 3; ++i) {
    const double before = w.value().item();
    sgd.apply_gradients({g}, {w});
    steps.push_back(before - w.value().item());
  }
  REQUIRE(steps[0] == Approx(0.4));
  REQUIRE(steps[1] == Approx(0.3));
  REQUIRE(steps[2] == Approx(0.2));
  // a fresh optimizer with the same schedule and the saved update count takes the next rate
  nn::SGD resumed({.learning_rate = 1.0});
  resumed.set_learning_rate_schedule(sched);
  resumed.load_state(sgd.state(), sgd.iterations());
  const double before = w.value().item();
  resumed.apply_gradients({g}, {w});
  REQUIRE(before - w.value().item() == Approx(0.1));
  // a fixed rate drops the schedule
  resumed.set_learning_rate(0.05);
  REQUIRE_FALSE(resumed.learning_rate_schedule().has_value());
  const double b2 = w.value().item();
  resumed.apply_gradients({g}, {w});
  REQUIRE(b2 - w.value().item() == Approx(0.05));
}

TEST_CASE("recompute_batch_norm_statistics: the plain average of the batches' statistics", "[optimizers]") {
  nn::BatchNorm* bn = nullptr;
  nn::Sequential model(nn::Dense(3), nn::BatchNorm({.momentum = 0.9, .unbiased_moving_variance = true}));
  model.build({2}, 1);
  for (nn::Module* m : model.children()) {
    if (auto* b = dynamic_cast<nn::BatchNorm*>(m)) bn = b;
  }
  REQUIRE(bn != nullptr);
  const std::vector<Tensor> batches{rand({4, 2}, 11), rand({6, 2}, 12), rand({5, 2}, 13)};
  std::vector<double> mean(3, 0.0), var(3, 0.0);
  nn::Dense& dense = dynamic_cast<nn::Dense&>(*model.children()[0]);
  for (const Tensor& x : batches) {
    const Tensor h = dense(x.to(DType::f32), false).to(DType::f64);  // [n, 3]
    const double n = static_cast<double>(h.dim(0));
    const auto m = tape::mean(h, {0}).to_vector<double>();
    const auto sq = tape::sum(tape::square(h - tape::mean(h, {0}, true)), {0}).to_vector<double>();
    for (int c = 0; c < 3; ++c) {
      mean[c] += m[c] / 3.0;
      var[c] += sq[c] / (n - 1.0) / 3.0;
    }
  }
  std::vector<Tensor> inputs;
  for (const Tensor& x : batches) inputs.push_back(x.to(DType::f32));
  nn::recompute_batch_norm_statistics(model, inputs);
  const auto got_mean = bn->moving_mean().value().to_vector<double>();
  const auto got_var = bn->moving_variance().value().to_vector<double>();
  for (int c = 0; c < 3; ++c) {
    REQUIRE(got_mean[c] == Approx(mean[c]).epsilon(1e-5));
    REQUIRE(got_var[c] == Approx(var[c]).epsilon(1e-5));
  }
  REQUIRE(bn->momentum() == 0.9);  // restored
  REQUIRE_THROWS_AS(nn::recompute_batch_norm_statistics(model, {}), ValueError);
  REQUIRE_THROWS_AS(bn->set_momentum(1.5), ValueError);
}
