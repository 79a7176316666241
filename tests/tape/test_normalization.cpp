// The fused ops batch_norm, dropout and adam_step: against their definitions in plain ops, the
// same bits for any thread count, and errors that name the op and the shapes. Their float64
// gradchecks (the fused backward) and gradgradchecks (the definition under an outer tape) come
// from the op table (op_table.cpp).
#include "support/test_support.h"
#include "uniform_bits.h"

using namespace tape;
using test::rand;
using Args = std::vector<Tensor>;

namespace {

// What batch_norm computes, from plain ops.
Tensor definition(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon) {
  std::vector<std::int64_t> axes;
  for (std::int64_t d = 0; d + 1 < x.rank(); ++d) axes.push_back(d);
  const Tensor centered = x - mean(x, axes);
  Tensor y = centered * rsqrt(mean(square(centered), axes) + epsilon);
  if (gamma.defined()) y = y * gamma;
  if (beta.defined()) y = y + beta;
  return y;
}

// Gradients of <f(inputs), v> for the inputs.
Args grads_of(const std::function<Tensor(const Args&)>& f, const Args& inputs, const Tensor& v) {
  GradientTape t;
  t.watch(inputs);
  return t.gradient({f(inputs)}, inputs, {.output_gradients = {v}});
}

}  // namespace

TEST_CASE("batch_norm equals its definition, with and without gamma and beta", "[normalization]") {
  for (const DType dtype : {DType::f64, DType::f32}) {
    const double tol = dtype == DType::f64 ? 1e-12 : 2e-5;
    const Tensor x = rand({3, 4, 4, 8}, 1, -2.0, 3.0, dtype);
    const Tensor gamma = rand({8}, 2, 0.5, 1.5, dtype), beta = rand({8}, 3, -1.0, 1.0, dtype);
    for (const auto& [g, b] : {std::pair{gamma, beta}, std::pair{gamma, Tensor()}, std::pair{Tensor(), Tensor()}}) {
      const BatchNormResult r = batch_norm(x, g, b, 1e-3);
      test::require_close(r.y, definition(x, g, b, 1e-3), tol);
      test::require_close(r.mean, mean(x, {0, 1, 2}), tol);
      test::require_close(r.variance, mean(square(x - mean(x, {0, 1, 2})), {0, 1, 2}), tol);
    }
  }
  // a dense layer's features: x[batch, features], and thousands of them (blocks of their own)
  for (const Shape& shape : {Shape{16, 300}, Shape{40, 5000}}) {
    const Tensor x = rand(shape, 4);
    test::require_close(batch_norm(x, Tensor(), Tensor(), 1e-5).y, definition(x, Tensor(), Tensor(), 1e-5), 1e-12);
  }
}

TEST_CASE("batch_norm's fused backward equals the definition's gradient", "[normalization]") {
  const Tensor x = rand({4, 3, 3, 5}, 5, -2.0, 2.0), gamma = rand({5}, 6, 0.5, 1.5), beta = rand({5}, 7);
  const Tensor v = rand({4, 3, 3, 5}, 8);
  const auto fused = grads_of([](const Args& in) { return batch_norm(in[0], in[1], in[2], 1e-3).y; }, {x, gamma, beta}, v);
  const auto defined = grads_of([](const Args& in) { return definition(in[0], in[1], in[2], 1e-3); }, {x, gamma, beta}, v);
  for (std::size_t i = 0; i < 3; ++i) test::require_close(fused[i], defined[i], 1e-12);
  // one input at a time, and without gamma
  GradientTape t;
  t.watch(gamma);
  test::require_close(t.gradient({batch_norm(x, gamma, beta, 1e-3).y}, gamma, {.output_gradients = {v}}), defined[1], 1e-12);
  const auto no_beta = grads_of([](const Args& in) { return batch_norm(in[0], in[1], Tensor(), 1e-3).y; }, {x, gamma}, v);
  const auto no_beta_def = grads_of([](const Args& in) { return definition(in[0], in[1], Tensor(), 1e-3); }, {x, gamma}, v);
  test::require_close(no_beta[0], no_beta_def[0], 1e-12);
  test::require_close(no_beta[1], no_beta_def[1], 1e-12);
  GradientTape only_beta;
  only_beta.watch(beta);
  test::require_close(only_beta.gradient({batch_norm(x, Tensor(), beta, 1e-3).y}, beta, {.output_gradients = {v}}),
                      grads_of([](const Args& in) { return definition(in[0], Tensor(), in[1], 1e-3); }, {x, beta}, v)[1],
                      1e-12);
  const auto no_gamma = grads_of([](const Args& in) { return batch_norm(in[0], Tensor(), in[1], 1e-3).y; }, {x, beta}, v);
  const auto no_gamma_def = grads_of([](const Args& in) { return definition(in[0], Tensor(), in[1], 1e-3); }, {x, beta}, v);
  test::require_close(no_gamma[0], no_gamma_def[0], 1e-12);
  test::require_close(no_gamma[1], no_gamma_def[1], 1e-12);
}

TEST_CASE("batch_norm gives the same bits on one thread and on two", "[normalization][threads]") {
  // a conv layer's channels, and a dense layer's 12,544 features (the wide layout's blocks)
  const Shape shape = GENERATE(Shape{64, 7, 7, 32}, Shape{64, 12544});
  const std::int64_t c = shape[-1];
  INFO("x " << shape);
  const Tensor x = rand(shape, 13, -1.0, 1.0, DType::f32), gamma = rand({c}, 14, 0.5, 1.5, DType::f32);
  const Tensor beta = rand({c}, 15, -1.0, 1.0, DType::f32), v = rand(shape, 16, -1.0, 1.0, DType::f32);
  const auto run = [&] {
    const BatchNormResult r = batch_norm(x, gamma, beta, 1e-3);
    Args out{r.y, r.mean, r.variance};
    for (const auto& g : grads_of([](const Args& in) { return batch_norm(in[0], in[1], in[2], 1e-3).y; }, {x, gamma, beta}, v)) {
      out.push_back(g);
    }
    return out;
  };
  Args one, two;
  {
    const test::Threads threads(1);
    one = run();
  }
  {
    const test::Threads threads(2);
    two = run();
  }
  for (std::size_t i = 0; i < one.size(); ++i) REQUIRE(one[i].to_vector<float>() == two[i].to_vector<float>());
}

TEST_CASE("errors: batch_norm and dropout name the op and the shapes", "[normalization][errors]") {
  const Tensor x = rand({2, 3, 4}, 17);
  REQUIRE_THROWS_WITH(batch_norm(x, rand({3}, 18), Tensor(), 1e-3),
                      Catch::Contains("batch_norm") && Catch::Contains("[2, 3, 4]") && Catch::Contains("[3]"));
  REQUIRE_THROWS_AS(batch_norm(x, rand({4}, 18, -1.0, 1.0, DType::f32), Tensor(), 1e-3), DTypeError);
  REQUIRE_THROWS_AS(batch_norm(x, Tensor(), Tensor(), 0.0), ValueError);
  REQUIRE_THROWS_AS(batch_norm(Tensor(), Tensor(), Tensor(), 1e-3), ValueError);
  Generator gen(1);
  REQUIRE_THROWS_WITH(dropout(x, 1.0, gen), Catch::Contains("dropout") && Catch::Contains("[2, 3, 4]"));
  REQUIRE_THROWS_AS(dropout(x, -0.1, gen), ValueError);
}

TEST_CASE("dropout keeps x * (u > rate) / (1 - rate) for the generator's uniform draws", "[normalization][dropout]") {
  for (const DType dtype : {DType::f32, DType::f64}) {
    const Tensor x = rand({8, 64, 64, 3}, 19, -1.0, 1.0, dtype);  // enough for the parallel path
    Generator a(42), b(42);
    a.uniform();  // half way through a block: one draw one by one, then whole blocks
    b.uniform();
    for (const double rate : {0.0, 0.5, 0.1 + 1e-9, 1.0 - 1e-9}) {  // the mask compares integers: exact at any rate
      Generator c = a, d = b;
      const Tensor u = Tensor::uniform(x.shape(), d, 0.0, 1.0, dtype);
      INFO("rate " << rate);
      REQUIRE(dropout(x, rate, c).to_vector<double>() ==
              (x * (greater(u, Tensor::scalar(rate, dtype)) * (1.0 / (1.0 - rate)))).to_vector<double>());
    }
    const Tensor y = dropout(x, 0.3, a);
    const Tensor u = Tensor::uniform(x.shape(), b, 0.0, 1.0, dtype);
    const Tensor expected = x * (greater(u, Tensor::scalar(0.3, dtype)) * (1.0 / 0.7));
    REQUIRE(y.to_vector<double>() == expected.to_vector<double>());
    REQUIRE(a.state() == b.state());
    // the gradient is the same mask, scaled
    Generator c(42);
    c.uniform();
    GradientTape t;
    t.watch(x);
    const Tensor v = rand(x.shape(), 20, -1.0, 1.0, dtype);
    const Tensor g = t.gradient({dropout(x, 0.3, c)}, x, {.output_gradients = {v}});
    REQUIRE(g.to_vector<double>() == (v * (greater(u, Tensor::scalar(0.3, dtype)) * (1.0 / 0.7))).to_vector<double>());
  }
}

TEST_CASE("leaky_relu_dropout gives dropout(leaky_relu(x)) bit for bit, and its gradients", "[normalization][dropout]") {
  for (const DType dtype : {DType::f32, DType::f64}) {
    // enough elements for the parallel path; exact zeros and the generator part way through a block
    const Tensor x = rand({8, 32, 32, 3}, 41, -1.0, 1.0, dtype) * greater(rand({8, 32, 32, 3}, 42, 0.0, 1.0, dtype),
                                                                           Tensor::scalar(0.1, dtype));
    const Tensor v = rand(x.shape(), 43, -1.0, 1.0, dtype), w = rand(x.shape(), 44, -1.0, 1.0, dtype);
    for (const double alpha : {0.2, 0.3, 0.0, -0.5}) {
      for (const double rate : {0.5, 0.3, 0.0}) {
        INFO(to_string(dtype) << ", alpha " << alpha << ", rate " << rate);
        Generator a(5), b(5);
        a.uniform();
        b.uniform();
        GradientTape outer_a, outer_b;
        outer_a.watch(v);
        outer_b.watch(v);
        GradientTape ta, tb;
        ta.watch(x);
        tb.watch(x);
        const Tensor fused = leaky_relu_dropout(x, alpha, rate, a);
        const Tensor two_ops = dropout(leaky_relu(x, alpha), rate, b);
        REQUIRE(fused.to_vector<double>() == two_ops.to_vector<double>());
        REQUIRE(a.state() == b.state());
        const Tensor ga = ta.gradient({fused}, x, {.output_gradients = {v}});
        const Tensor gb = tb.gradient({two_ops}, x, {.output_gradients = {v}});
        REQUIRE(ga.to_vector<double>() == gb.to_vector<double>());
        // the backward's own gradient (linear in v): the same again
        const Tensor gga = outer_a.gradient({ga}, v, {.output_gradients = {w}});
        const Tensor ggb = outer_b.gradient({gb}, v, {.output_gradients = {w}});
        REQUIRE(gga.to_vector<double>() == ggb.to_vector<double>());
      }
    }
  }
  // a shard of the global batch, as dropout's
  const Tensor x = rand({6, 3, 5}, 45, -1.0, 1.0, DType::f32);
  for (std::int64_t i = 0; i < 3; ++i) {
    Generator a(11), b(11);
    const Tensor part = slice(x, {2 * i, 0, 0}, {2, -1, -1});
    REQUIRE(leaky_relu_dropout(part, 0.2, 0.4, a, BatchShard{i, 3}).to_vector<float>() ==
            dropout(leaky_relu(part, 0.2), 0.4, b, BatchShard{i, 3}).to_vector<float>());
    REQUIRE(a.state() == b.state());
  }
  Generator gen(1);
  REQUIRE_THROWS_WITH(leaky_relu_dropout(x, 0.2, 1.0, gen),
                      Catch::Contains("leaky_relu_dropout") && Catch::Contains("[6, 3, 5]"));
  REQUIRE_THROWS_WITH(leaky_relu_dropout(Tensor(), 0.2, 0.5, gen), Catch::Contains("leaky_relu_dropout"));
  REQUIRE_THROWS_WITH(leaky_relu_dropout(x, 0.2, 0.5, gen, BatchShard{3, 3}), Catch::Contains("index 3 of 3"));
}

TEST_CASE("dropout's mask does not depend on the thread count", "[normalization][dropout][threads]") {
  const Tensor x = rand({128, 14, 14, 4}, 22, -1.0, 1.0, DType::f32);
  std::vector<float> one, two;
  {
    const test::Threads threads(1);
    Generator gen(3);
    one = dropout(x, 0.5, gen).to_vector<float>();
  }
  {
    const test::Threads threads(2);
    Generator gen(3);
    two = dropout(x, 0.5, gen).to_vector<float>();
  }
  REQUIRE(one == two);
}

TEST_CASE("adam_step equals Adam's update written with plain ops", "[normalization][adam]") {
  const Tensor var = rand({7, 5}, 23), g = rand({7, 5}, 24), m = rand({7, 5}, 25), v = rand({7, 5}, 26, 0.0, 1.0);
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  for (const std::int64_t t : {1, 10}) {
    const AdamStep s = adam_step(var, g, m, v, lr, b1, b2, eps, t);
    const Tensor m2 = m * b1 + g * (1.0 - b1), v2 = v * b2 + square(g) * (1.0 - b2);
    const double c1 = 1.0 - std::pow(b1, double(t)), c2 = 1.0 - std::pow(b2, double(t));
    test::require_close(s.m, m2, 1e-15);
    test::require_close(s.v, v2, 1e-15);
    test::require_close(s.var, var - (m2 * (lr / c1)) / (sqrt(v2 * (1.0 / c2)) + eps), 1e-15);
  }
  REQUIRE_THROWS_WITH(adam_step(var, rand({5, 7}, 27), m, v, lr, b1, b2, eps, 1),
                      Catch::Contains("adam_step") && Catch::Contains("[5, 7]") && Catch::Contains("[7, 5]"));
  REQUIRE_THROWS_AS(adam_step(var, g, m, v, lr, b1, b2, eps, 0), ValueError);
}

TEST_CASE("dropout's integer threshold is the first 53-bit draw above the rate in the dtype", "[normalization][dropout]") {
  const auto check = [](auto zero, double rate) {
    using T = decltype(zero);
    const std::uint64_t k = detail::first_bits_above<T>(rate), top = std::uint64_t{1} << 53;
    const auto above = [rate](std::uint64_t bits) { return static_cast<T>(detail::unit53(bits)) > static_cast<T>(rate); };
    INFO("rate " << rate << ", " << sizeof(T) << "-byte floats, k " << k);
    if (k < top) REQUIRE(above(k));
    if (k > 0) REQUIRE_FALSE(above(k - 1));
    if (k == top) REQUIRE_FALSE(above(top - 1));
  };
  for (const double rate : {0.0, 0.3, 0.5, 0.1 + 1e-9, 1.0 - 1e-9, 1.0 - 1e-17}) {
    check(0.0f, rate);
    check(0.0, rate);
  }
  REQUIRE(detail::first_bits_above<float>(1.0 - 1e-9) == std::uint64_t{1} << 53);  // rounds to 1.0f: none kept
}

// ---------------------------------------------------------------- data-parallel shards
TEST_CASE("Generator::discard(n) leaves the generator where n next_u32 calls would", "[random][shard]") {
  for (const std::uint64_t start : {0, 1, 2, 3, 4, 5, 7}) {
    for (const std::uint64_t n : {0, 1, 2, 3, 4, 5, 8, 9, 1001}) {
      Generator a(9), b(9);
      for (std::uint64_t i = 0; i < start; ++i) (void)a.next_u32(), (void)b.next_u32();
      for (std::uint64_t i = 0; i < n; ++i) (void)a.next_u32();
      b.discard(n);
      INFO("start " << start << ", n " << n);
      REQUIRE(a.state() == b.state());
      REQUIRE(a.next_u32() == b.next_u32());
      REQUIRE(a.next_u64() == b.next_u64());
    }
  }
}

TEST_CASE("dropout's shards together draw the global batch's mask", "[normalization][dropout][shard]") {
  for (const std::int64_t count : {1, 2, 3, 4}) {
    for (const int offset : {0, 1, 3}) {  // the generator part way through a block
      const Tensor x = rand({2 * count, 3, 5}, 31, -1.0, 1.0, DType::f32);
      Generator global(11);
      for (int i = 0; i < offset; ++i) (void)global.next_u32();
      Generator start = global;
      const Tensor expected = dropout(x, 0.4, global);
      for (std::int64_t i = 0; i < count; ++i) {
        Generator gen = start;
        const Tensor part = dropout(slice(x, {2 * i, 0, 0}, {2, -1, -1}), 0.4, gen, BatchShard{i, count});
        INFO("shard " << i << " of " << count << ", offset " << offset);
        REQUIRE(part.to_vector<float>() == slice(expected, {2 * i, 0, 0}, {2, -1, -1}).to_vector<float>());
        REQUIRE(gen.state() == global.state());
      }
    }
  }
  Generator gen(1);
  REQUIRE_THROWS_WITH(dropout(rand({2, 3}, 1), 0.5, gen, BatchShard{2, 2}), Catch::Contains("index 2 of 2"));
  REQUIRE_THROWS_WITH(BatchShard({0, 3}).rows(64), Catch::Contains("64") && Catch::Contains("3 equal shards"));
}

TEST_CASE("cross-replica batch_norm: the statistics of the global batch", "[normalization][shard]") {
  const Tensor a = rand({3, 2, 4}, 41, -2.0, 2.0), b = rand({3, 2, 4}, 42, -1.0, 3.0);
  const Tensor gamma = rand({4}, 43, 0.5, 1.5), beta = rand({4}, 44);
  SECTION("one replica with the identity as its sum is batch_norm") {
    const auto same = [](const Tensor& t) { return t; };
    const BatchNormResult r = batch_norm(a, gamma, beta, 1e-3, same, 1), f = batch_norm(a, gamma, beta, 1e-3);
    test::require_close(r.y, f.y, 1e-12);
    test::require_close(r.mean, f.mean, 1e-12);
    test::require_close(r.variance, f.variance, 1e-12);
    const Tensor v = rand(a.shape(), 45);
    const Args fused = grads_of([&](const Args& in) { return batch_norm(in[0], in[1], in[2], 1e-3).y; }, {a, gamma, beta}, v);
    const Args cross = grads_of([&](const Args& in) { return batch_norm(in[0], in[1], in[2], 1e-3, same, 1).y; },
                                {a, gamma, beta}, v);
    for (std::size_t i = 0; i < fused.size(); ++i) test::require_close(cross[i], fused[i], 1e-12);
  }
  SECTION("replica a, with b's sums added, normalizes as batch_norm of a and b together") {
    const BatchNormResult whole = batch_norm(concat({a, b}, 0), gamma, beta, 1e-3);
    int call = 0;  // the op sums the values, then the squared deviations from the global mean
    const auto with_b = [&](const Tensor& t) {
      const Tensor other = call++ == 0 ? sum(b, {0, 1}) : sum(square(b - whole.mean), {0, 1});
      return t + other;
    };
    const BatchNormResult r = batch_norm(a, gamma, beta, 1e-3, with_b, 2);
    test::require_close(r.y, slice(whole.y, {0, 0, 0}, {3, -1, -1}), 1e-12);
    test::require_close(r.mean, whole.mean, 1e-12);
    test::require_close(r.variance, whole.variance, 1e-12);
  }
  SECTION("errors name the op") {
    REQUIRE_THROWS_WITH(batch_norm(a, gamma, beta, 1e-3, ReplicaSum(), 2), Catch::Contains("cross-replica"));
    REQUIRE_THROWS_WITH(batch_norm(a, gamma, beta, 1e-3, [](const Tensor& t) { return reshape(t, {2, 2}); }, 2),
                        Catch::Contains("cross-replica") && Catch::Contains("[2, 2]"));
  }
}

TEST_CASE("fused softmax and log_softmax equal their definitions and stay finite for large logits", "[softmax]") {
  for (const DType dtype : {DType::f32, DType::f64}) {
    const Tensor x = rand({64, 70, 10}, 51, -20.0, 20.0, dtype);  // enough rows for the parallel path
    const Tensor shifted = x - max(x, {-1}, true);
    const Tensor definition = shifted - log(sum(exp(shifted), {-1}, true));
    const double tol = dtype == DType::f32 ? 1e-6 : 1e-14;
    test::require_close(log_softmax(x), definition, tol);
    test::require_close(softmax(x), exp(definition), tol);
  }
  const Tensor big = Tensor::from_vector(std::vector<double>{1000.0, 1001.0, 1002.0, -1e300}, Shape{1, 4});
  for (const double v : log_softmax(big).to_vector<double>()) REQUIRE(!std::isnan(v));
  REQUIRE(softmax(big).to_vector<double>()[2] == Approx(0.6652409557748219));
  REQUIRE_THROWS_WITH(softmax(Tensor::from_vector(std::vector<double>{}, Shape{2, 0})), Catch::Contains("softmax"));
}
