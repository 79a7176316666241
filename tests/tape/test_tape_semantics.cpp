// GradientTape semantics pinned to tf.GradientTape: the autodiff guide's values, sums, unconnected
// sources, persistence, automatic watching, stop_recording/stop_gradient, custom_gradient, jacobians.
#include "support/test_support.h"

using namespace tape;

TEST_CASE("d(x^2)/dx at 3 is 6", "[tape]") {
  Tensor x = Tensor::scalar(3.0f);
  GradientTape t;
  t.watch(x);
  Tensor y = x * x;
  Tensor dy_dx = t.gradient(y, x);
  REQUIRE(dy_dx.dtype() == DType::f32);
  REQUIRE(dy_dx.item() == 6.0);
}

TEST_CASE("nested tapes give the second derivative d2(x^2)/dx2 = 2", "[tape]") {
  Tensor x = Tensor::scalar(3.0);
  GradientTape outer;
  outer.watch(x);
  Tensor dy_dx;
  {
    GradientTape inner;
    inner.watch(x);
    Tensor y = x * x;
    dy_dx = inner.gradient(y, x);
  }
  REQUIRE(dy_dx.item() == 6.0);
  Tensor d2 = outer.gradient(dy_dx, x);
  REQUIRE(d2.defined());
  REQUIRE(d2.item() == 2.0);
}

TEST_CASE("third derivative of x^3 through three tapes", "[tape]") {
  Tensor x = Tensor::scalar(2.0);
  GradientTape t3;
  t3.watch(x);
  GradientTape t2;
  t2.watch(x);
  GradientTape t1;
  t1.watch(x);
  Tensor y = x * x * x;
  Tensor g1 = t1.gradient(y, x);   // 3x^2 = 12
  Tensor g2 = t2.gradient(g1, x);  // 6x = 12
  Tensor g3 = t3.gradient(g2, x);  // 6
  REQUIRE(g1.item() == Approx(12.0));
  REQUIRE(g2.item() == Approx(12.0));
  REQUIRE(g3.item() == Approx(6.0));
}

TEST_CASE("a persistent tape answers several times: dz/dx = 108, dy/dx = 6", "[tape]") {
  Tensor x = Tensor::scalar(3.0);
  GradientTape t({.persistent = true});
  t.watch(x);
  Tensor y = x * x;
  Tensor z = y * y;
  REQUIRE(t.gradient(z, x).item() == 108.0);
  REQUIRE(t.gradient(y, x).item() == 6.0);
  REQUIRE(t.persistent());
}

TEST_CASE("a second gradient() on a non-persistent tape throws", "[tape]") {
  Tensor x = Tensor::scalar(3.0);
  GradientTape t;
  t.watch(x);
  Tensor y = x * x;
  REQUIRE(t.gradient(y, x).item() == 6.0);
  REQUIRE_THROWS_AS(t.gradient(y, x), TapeError);
}

TEST_CASE("gradients with respect to several sources", "[tape]") {
  Tensor x0 = Tensor::scalar(3.0), x1 = Tensor::scalar(4.0);
  GradientTape t;
  t.watch({x0, x1});
  Tensor y = x0 * x0 + x1 * x1;
  auto g = t.gradient(y, {x0, x1});
  REQUIRE(g.size() == 2);
  REQUIRE(g[0].item() == 6.0);
  REQUIRE(g[1].item() == 8.0);
}

TEST_CASE("a non-scalar target gives the gradient of its sum", "[tape]") {
  Tensor x = Tensor::scalar(2.0);
  GradientTape t;
  t.watch(x);
  Tensor y = x * Tensor::from_vector(std::vector<double>{3.0, 4.0});
  REQUIRE(t.gradient(y, x).item() == 7.0);
}

TEST_CASE("several targets give the gradient of their sum", "[tape]") {
  Tensor x = Tensor::scalar(2.0);
  GradientTape t;
  t.watch(x);
  Tensor y0 = x * x, y1 = x * 5.0;
  REQUIRE(t.gradient(std::vector<Tensor>{y0, y1}, std::vector<Tensor>{x})[0].item() == 9.0);
}

TEST_CASE("output_gradients seed the sweep", "[tape]") {
  Tensor x = Tensor::from_vector(std::vector<double>{1.0, 2.0});
  GradientTape t;
  t.watch(x);
  Tensor y = x * x;
  Tensor g = t.gradient(y, x, {.output_gradients = {Tensor::from_vector(std::vector<double>{10.0, 100.0})}});
  REQUIRE(g.to_vector<double>() == std::vector<double>{20.0, 400.0});
}

TEST_CASE("unconnected sources give undefined, or zeros when asked", "[tape]") {
  Tensor x = Tensor::scalar(2.0), unused = Tensor::full({2, 3}, 1.0, DType::f64);
  {
    GradientTape t;
    t.watch({x, unused});
    Tensor y = x * x;
    auto g = t.gradient(y, {x, unused});
    REQUIRE(g[0].item() == 4.0);
    REQUIRE_FALSE(g[1].defined());
  }
  {
    GradientTape t;
    t.watch({x, unused});
    Tensor y = x * x;
    auto g = t.gradient(y, {x, unused}, {.unconnected = Unconnected::zero});
    REQUIRE(g[1].defined());
    REQUIRE(g[1].shape() == Shape({2, 3}));
    REQUIRE(g[1].to_vector<double>() == std::vector<double>(6, 0.0));
  }
  {
    GradientTape t;  // never watched: nothing recorded
    Tensor y = x * x;
    REQUIRE_FALSE(t.gradient(y, x).defined());
  }
}

TEST_CASE("trainable variables are watched automatically, non-trainable ones are not", "[tape][variable]") {
  Variable w(Tensor::scalar(3.0), "w");
  Variable frozen(Tensor::scalar(5.0), "frozen", /*trainable=*/false);
  GradientTape t;
  Tensor y = w * frozen;
  auto g = t.gradient(y, std::vector<Variable>{w, frozen});
  REQUIRE(g[0].item() == 5.0);
  REQUIRE_FALSE(g[1].defined());
  auto watched = t.watched_variables();
  REQUIRE(watched.size() == 1);
  REQUIRE(watched[0] == w);
}

TEST_CASE("watch_accessed_variables=false watches only what is asked", "[tape][variable]") {
  Variable a(Tensor::scalar(2.0), "a"), b(Tensor::scalar(3.0), "b");
  GradientTape t({.watch_accessed_variables = false});
  t.watch(b);
  Tensor y = a * b;
  auto g = t.gradient(y, std::vector<Variable>{a, b});
  REQUIRE_FALSE(g[0].defined());
  REQUIRE(g[1].item() == 2.0);
}

TEST_CASE("Variable + 1 is a plain tensor, not watched", "[tape][variable]") {
  Variable v(Tensor::scalar(1.0), "v");
  Tensor x = v + 1.0;  // read outside any tape: a plain tensor
  GradientTape t;
  Tensor y = x * x;
  REQUIRE_FALSE(t.gradient(y, x).defined());
  REQUIRE(x.item() == 2.0);
}

TEST_CASE("Variable assign, assign_add and assign_sub replace the value", "[variable]") {
  Variable v(Tensor::from_vector(std::vector<float>{1.0f, 2.0f}), "v");
  v.assign_add(Tensor::from_vector(std::vector<float>{1.0f, 1.0f}));
  REQUIRE(v.peek().to_vector<float>() == std::vector<float>{2.0f, 3.0f});
  v.assign_sub(Tensor::from_vector(std::vector<float>{0.5f, 0.5f}));
  REQUIRE(v.peek().to_vector<float>() == std::vector<float>{1.5f, 2.5f});
  v.assign(Tensor::zeros({2}));
  REQUIRE(v.peek().to_vector<float>() == std::vector<float>{0.0f, 0.0f});
  REQUIRE(v.name() == "v");
  REQUIRE(v.trainable());
}

TEST_CASE("state blocks gradients: assign_add inside a tape is not recorded", "[tape][variable]") {
  Variable v(Tensor::scalar(1.0), "v");
  Tensor x0 = Tensor::scalar(2.0);
  GradientTape t;
  t.watch(x0);
  v.assign_add(x0);
  Tensor y = v * 1.0;
  REQUIRE_FALSE(t.gradient(y, x0).defined());
}

TEST_CASE("stop_recording blocks gradients through what runs under it", "[tape]") {
  Tensor x = Tensor::scalar(3.0);
  GradientTape t;
  t.watch(x);
  Tensor y;
  {
    auto pause = t.stop_recording();
    REQUIRE_FALSE(t.recording());
    y = x * x;
  }
  REQUIRE(t.recording());
  Tensor z = y * x;  // only the direct x path is recorded: dz/dx = y = 9
  REQUIRE(t.gradient(z, x).item() == 9.0);
}

TEST_CASE("NoRecord pauses every tape on the thread", "[tape]") {
  Tensor x = Tensor::scalar(3.0);
  GradientTape a, b;
  a.watch(x);
  b.watch(x);
  Tensor y;
  {
    NoRecord off;
    y = x * x;
  }
  REQUIRE_FALSE(a.gradient(y, x).defined());
  REQUIRE_FALSE(b.gradient(y, x).defined());
}

TEST_CASE("stop_gradient makes a constant", "[tape]") {
  Tensor x = Tensor::scalar(3.0);
  GradientTape t;
  t.watch(x);
  Tensor y = x * stop_gradient(x);  // d/dx = stop_gradient(x) = 3
  REQUIRE(t.gradient(y, x).item() == 3.0);
}

TEST_CASE("reset forgets what was recorded", "[tape]") {
  Tensor x = Tensor::scalar(3.0);
  GradientTape t({.persistent = true});
  t.watch(x);
  Tensor y = x * x;
  t.reset();
  t.watch(x);
  Tensor z = x * 5.0;
  REQUIRE_FALSE(t.gradient(y, x).defined());
  REQUIRE(t.gradient(z, x).item() == 5.0);
}

TEST_CASE("several tapes at once, each with its own watch set", "[tape]") {
  Tensor x = Tensor::scalar(3.0), w = Tensor::scalar(2.0);
  GradientTape tx, tw;
  tx.watch(x);
  tw.watch(w);
  Tensor y = x * x * w;
  REQUIRE(tx.gradient(y, x).item() == 12.0);
  REQUIRE(tw.gradient(y, w).item() == 9.0);
}

TEST_CASE("custom_gradient: log1pexp is finite at x = 100 where the naive form is NaN", "[tape][custom]") {
  auto log1pexp = [](const Tensor& x) {
    return custom_gradient("log1pexp", {x}, [](const std::vector<Tensor>& in) {
      Tensor e = exp(in[0]);
      return CustomGradientResult{log(1.0 + e), [e](const Tensor& up) {
                                    return std::vector<Tensor>{up * (1.0 - 1.0 / (1.0 + e))};
                                  }};
    });
  };
  Tensor x = Tensor::scalar(100.0f);
  {
    GradientTape t;
    t.watch(x);
    Tensor y = log(1.0 + exp(x));
    REQUIRE(std::isnan(t.gradient(y, x).item()));
  }
  {
    GradientTape t;
    t.watch(x);
    Tensor y = log1pexp(x);
    REQUIRE(t.gradient(y, x).item() == 1.0);
  }
  Tensor x0 = Tensor::scalar(0.0);
  GradientTape t;
  t.watch(x0);
  REQUIRE(t.gradient(log1pexp(x0), x0).item() == Approx(0.5));
}

TEST_CASE("custom_gradient's backward is what the tape uses", "[tape][custom]") {
  // Gradient clipping: identity forward, backward clipped to [-1, 1].
  Tensor x = Tensor::from_vector(std::vector<double>{1.0, 2.0});
  GradientTape t;
  t.watch(x);
  Tensor y = custom_gradient("clip_grad", {x}, [](const std::vector<Tensor>& in) {
    return CustomGradientResult{in[0], [](const Tensor& up) { return std::vector<Tensor>{clip(up, -1.0, 1.0)}; }};
  });
  Tensor g = t.gradient(y * 10.0, x);
  REQUIRE(g.to_vector<double>() == std::vector<double>{1.0, 1.0});
}

TEST_CASE("custom_gradient written with tape ops is differentiable again", "[tape][custom]") {
  Tensor x = Tensor::scalar(1.5);
  GradientTape outer;
  outer.watch(x);
  Tensor g;
  {
    GradientTape inner;
    inner.watch(x);
    Tensor y = custom_gradient("cube", {x}, [](const std::vector<Tensor>& in) {
      Tensor v = in[0];
      return CustomGradientResult{v * v * v, [v](const Tensor& up) { return std::vector<Tensor>{up * 3.0 * v * v}; }};
    });
    g = inner.gradient(y, x);
  }
  REQUIRE(g.item() == Approx(3.0 * 1.5 * 1.5));
  REQUIRE(outer.gradient(g, x).item() == Approx(6.0 * 1.5));
}

TEST_CASE("jacobian of an elementwise op is diagonal", "[tape][jacobian]") {
  Tensor x = Tensor::from_vector(std::vector<double>{1.0, 2.0, 3.0});
  GradientTape t;
  t.watch(x);
  Tensor y = x * x;
  Tensor j = t.jacobian(y, x);
  REQUIRE(j.shape() == Shape({3, 3}));
  REQUIRE(j.to_vector<double>() == std::vector<double>{2, 0, 0, 0, 4, 0, 0, 0, 6});
}

TEST_CASE("jacobian of a matmul is the matrix", "[tape][jacobian]") {
  Tensor a = test::rand({2, 3}, 7);
  Tensor x = test::rand({3, 1}, 8);
  GradientTape t({.persistent = true});
  t.watch(x);
  Tensor y = matmul(a, x);
  Tensor j = t.jacobian(y, x);
  REQUIRE(j.shape() == Shape({2, 1, 3, 1}));
  test::require_close(reshape(j, {2, 3}), a, 1e-15);
  REQUIRE_FALSE(t.jacobian(y, Tensor::scalar(1.0)).defined());
}

TEST_CASE("batch_jacobian gives per-example jacobians", "[tape][jacobian]") {
  Tensor x = test::rand({4, 3}, 9);
  Tensor w = test::rand({3, 2}, 10);
  GradientTape t;
  t.watch(x);
  Tensor y = tanh(matmul(x, w));  // [4, 2]
  Tensor j = t.batch_jacobian(y, x);
  REQUIRE(j.shape() == Shape({4, 2, 3}));
  // Check example 2 against the analytic (1 - y^2) w^T.
  const auto yv = y.to_vector<double>();
  const auto wv = w.to_vector<double>();
  for (int o = 0; o < 2; ++o) {
    for (int i = 0; i < 3; ++i) {
      const double expected = (1.0 - yv[2 * 2 + o] * yv[2 * 2 + o]) * wv[i * 2 + o];
      REQUIRE(j.at({2, o, i}) == Approx(expected).epsilon(1e-12));
    }
  }
}

TEST_CASE("gradient of a gradient penalty through matmul and tanh", "[tape]") {
  // d/dw of ||d tanh(x w)/dx||^2 checked against float64 finite differences.
  Tensor x = test::rand({3, 4}, 11);
  Tensor w = test::rand({4, 2}, 12);
  auto penalty = [&x](const std::vector<Tensor>& in) {
    GradientTape inner;
    inner.watch(x);
    Tensor y = tanh(matmul(x, in[0]));
    Tensor gx = inner.gradient(sum(y), x);
    return sum(square(gx));
  };
  REQUIRE_GRADCHECK(penalty, std::vector<Tensor>{w});
}

TEST_CASE("a non-persistent tape frees what it saved after gradient()", "[tape]") {
  Tensor x = Tensor::scalar(3.0);
  std::weak_ptr<detail::TensorImpl> saved;
  {
    GradientTape t;
    t.watch(x);
    Tensor y;
    {
      Tensor h = exp(x);  // exp saves its output
      saved = h.impl();
      y = h * 2.0;
    }
    REQUIRE_FALSE(saved.expired());
    t.gradient(y, x);
    y = Tensor();
    REQUIRE(saved.expired());
  }
}
