// Convolution tests: conv2d / conv_transpose2d forward values and gradients against PyTorch
// fixtures (float32 and float64), the optimized im2col/GEMM kernels against the plain reference
// loops on random geometries, and the "same"-padding / Keras Conv2DTranspose size rules.
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/kernels.h"
#include "support/test_support.h"

namespace {

using tape::DType;
using tape::Shape;
using tape::Tensor;
using json = nlohmann::json;

// ---------------------------------------------------------------- helpers

// test::max_rel_diff skips NaNs (std::max ignores them), so check finiteness separately.
void require_finite(const Tensor& t) {
  const auto v = t.to_vector<double>();
  std::size_t bad = 0;
  for (double x : v) bad += std::isfinite(x) ? 0 : 1;
  INFO("non-finite elements: " << bad << " of " << v.size());
  REQUIRE(bad == 0);
}

void require_rel_close(const char* what, const Tensor& actual, const Tensor& expected, double tol) {
  REQUIRE(actual.defined());
  INFO(what << ": actual shape " << actual.shape() << ", expected shape " << expected.shape());
  REQUIRE(actual.shape() == expected.shape());
  require_finite(actual);
  const double diff = test::max_rel_diff(actual, expected);
  INFO(what << ": max relative difference " << diff << " (tolerance " << tol << ")");
  REQUIRE(diff <= tol);
}

// The fixture file, parsed once.
const json& fixture_doc() {
  static const json doc = [] {
    std::ifstream in(TAPE_FIXTURES_DIR "/conv_fixtures.json");
    if (!in) return json();
    return json::parse(in);
  }();
  return doc;
}

Shape shape_of(const json& j) { return Shape(j.get<std::vector<std::int64_t>>()); }

// Fixture values are float32-exact, so the float32 conversion is exact.
Tensor tensor_of(const json& values, const json& shape, DType dtype) {
  return Tensor::from_vector(values.get<std::vector<double>>(), shape_of(shape)).to(dtype);
}

std::array<std::int64_t, 2> pair_of(const json& j) {
  const auto v = j.get<std::vector<std::int64_t>>();
  REQUIRE(v.size() == 2);
  return {v[0], v[1]};
}

tape::Padding padding_of(const json& c) {
  const std::string mode = c.at("padding").get<std::string>();
  if (mode == "valid") return tape::Padding::valid();
  if (mode == "same") return tape::Padding::same();
  REQUIRE(mode == "explicit");
  const auto p = c.at("pads").get<std::vector<std::int64_t>>();
  REQUIRE(p.size() == 4);
  return tape::Padding::explicit_pads(p[0], p[1], p[2], p[3]);
}

// Runs one fixture case in `dtype`: forward output and the gradients of sum(out * g).
void run_fixture_case(const json& c, DType dtype, double tol) {
  const std::string op = c.at("op").get<std::string>();
  const bool is_conv = op == "conv2d";
  REQUIRE((is_conv || op == "conv_transpose2d"));
  const char* in_key = is_conv ? "x" : "u";
  const char* out_key = is_conv ? "y" : "z";
  const char* gin_key = is_conv ? "gx" : "gu";

  const Tensor a = tensor_of(c.at(in_key), c.at(std::string(in_key) + "_shape"), dtype);
  const Tensor w = tensor_of(c.at("w"), c.at("w_shape"), dtype);
  const Shape out_shape = shape_of(c.at(std::string(out_key) + "_shape"));
  const Tensor g = tensor_of(c.at("g"), c.at(std::string(out_key) + "_shape"), dtype);
  const Tensor expected_out = tensor_of(c.at(out_key), c.at(std::string(out_key) + "_shape"), DType::f64);
  const Tensor expected_ga = tensor_of(c.at(gin_key), c.at(std::string(in_key) + "_shape"), DType::f64);
  const Tensor expected_gw = tensor_of(c.at("gw"), c.at("w_shape"), DType::f64);

  tape::GradientTape tape;
  tape.watch(a);
  tape.watch(w);
  Tensor out;
  if (is_conv) {
    tape::Conv2dOptions options;
    options.strides = pair_of(c.at("stride"));
    options.padding = padding_of(c);
    out = tape::conv2d(a, w, options);
  } else {
    tape::ConvTranspose2dOptions options;
    options.strides = pair_of(c.at("stride"));
    options.padding = padding_of(c);
    if (c.at("output_size_given").get<bool>()) {
      options.output_size = pair_of(c.at("output_size"));
    } else if (!c.at("output_padding").is_null()) {
      options.output_padding = pair_of(c.at("output_padding"));
    }  // else: neither, so the Keras default size rule decides the output size
    out = tape::conv_transpose2d(a, w, options);
  }
  REQUIRE(out.dtype() == dtype);
  REQUIRE(out.shape() == out_shape);
  const Tensor loss = tape::sum(out * g);
  const auto grads = tape.gradient(loss, std::vector<Tensor>{a, w});
  REQUIRE(grads.size() == 2);
  REQUIRE(grads[0].dtype() == dtype);
  REQUIRE(grads[1].dtype() == dtype);

  require_rel_close("forward", out, expected_out, tol);
  require_rel_close(is_conv ? "d/dx" : "d/du", grads[0], expected_ga, tol);
  require_rel_close("d/dw", grads[1], expected_gw, tol);
}

// ---------------------------------------------------------------- kernel comparison helpers

std::int64_t pick(tape::Generator& gen, std::int64_t low, std::int64_t high) {
  return low + static_cast<std::int64_t>(gen.next_u32() % static_cast<std::uint32_t>(high - low + 1));
}

std::int64_t out_len(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t before, std::int64_t after) {
  const std::int64_t span = in + before + after;
  return span >= k ? (span - k) / s + 1 : 0;
}

// A random geometry, the draws in this order: 1..max_n images of 1-12 x 1-12 pixels, 1..max_ci
// input channels, co_unit x (1..max_co_units) output channels, kernels 1-5 and strides 1-3 on each
// axis, paddings 0-2 on each side (asymmetric when they differ). Its output may be empty (ho or
// wo < 1): the caller skips those.
struct Geometry {
  tape::kernels::ConvShape s;
  bool asymmetric;
};
Geometry random_geometry(tape::Generator& gen, std::int64_t max_n, std::int64_t max_ci, std::int64_t co_unit,
                         std::int64_t max_co_units) {
  tape::kernels::ConvShape s{};
  s.n = pick(gen, 1, max_n);
  s.h = pick(gen, 1, 12);
  s.w = pick(gen, 1, 12);
  s.ci = pick(gen, 1, max_ci);
  s.co = co_unit * pick(gen, 1, max_co_units);
  s.kh = pick(gen, 1, 5);
  s.kw = pick(gen, 1, 5);
  s.sh = pick(gen, 1, 3);
  s.sw = pick(gen, 1, 3);
  const std::int64_t pt = pick(gen, 0, 2), pb = pick(gen, 0, 2), pl = pick(gen, 0, 2), pr = pick(gen, 0, 2);
  s.pt = pt;
  s.pl = pl;
  s.ho = out_len(s.h, s.kh, s.sh, pt, pb);
  s.wo = out_len(s.w, s.kw, s.sw, pl, pr);
  return {s, pt != pb || pl != pr};
}

std::string describe(const tape::kernels::ConvShape& s) {
  std::ostringstream os;
  os << "n=" << s.n << " h=" << s.h << " w=" << s.w << " ci=" << s.ci << " kh=" << s.kh << " kw=" << s.kw
     << " co=" << s.co << " ho=" << s.ho << " wo=" << s.wo << " sh=" << s.sh << " sw=" << s.sw << " pt=" << s.pt
     << " pl=" << s.pl;
  return os.str();
}

template <class T>
Tensor as_tensor(const std::vector<T>& v, const Shape& shape) {
  return Tensor::from_vector(v, shape);
}

template <class T>
std::vector<T> random_vector(std::int64_t n, tape::Generator& gen) {
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(2.0 * gen.uniform() - 1.0);
  return v;
}

// Optimized kernels vs the reference loops for one geometry in precision T. Output buffers of the
// optimized kernels start filled with a large sentinel, so an unwritten element fails the check.
template <class T>
void compare_kernels(const tape::kernels::ConvShape& s, std::uint64_t seed, double tol,
                     tape::kernels::ConvPath path = tape::kernels::ConvPath::automatic) {
  namespace k = tape::kernels;
  const char* path_name[] = {"automatic", "im2col + GEMM", "oneDNN convolution", "tape's direct AVX-512"};
  INFO(describe(s) << (sizeof(T) == 8 ? " float64" : " float32") << ", " << path_name[static_cast<int>(path)]);
  tape::Generator gen(seed);
  const Shape xs{s.n, s.h, s.w, s.ci}, ws{s.kh, s.kw, s.ci, s.co}, ys{s.n, s.ho, s.wo, s.co};
  const auto x = random_vector<T>(xs.numel(), gen);
  const auto w = random_vector<T>(ws.numel(), gen);
  const auto u = random_vector<T>(ys.numel(), gen);
  constexpr T sentinel = T(1e6);

  // Under ConvPath::onednn (float32, a build with oneDNN) the kernel must really be oneDNN's: a
  // silent fallback to the GEMM path would pass the comparison without testing it. The one
  // shape class oneDNN is refused for: 1x1 weight gradients (its racy "jit_1x1" kernel). Likewise
  // ConvPath::direct must run tape's direct kernels wherever they fit on this processor.
  const auto run = [&](k::ConvKind kind, const T* in1, const T* in2, T* out, auto&& dispatched) {
    if constexpr (std::is_same_v<T, float>) {
      if (path == k::ConvPath::onednn && k::have_onednn_conv()) {
        if (k::onednn_conv(kind, s, in1, in2, out)) return;
        REQUIRE((kind == k::ConvKind::weight && s.kh == 1 && s.kw == 1));
      }
      if (path == k::ConvPath::direct && k::have_direct_conv()) {
        REQUIRE(k::direct_conv(kind, s, in1, in2, out) == k::direct_conv_fits(s, kind));
        if (k::direct_conv_fits(s, kind)) return;
      }
    }
    dispatched();
  };

  std::vector<T> y(static_cast<std::size_t>(ys.numel()), sentinel), y_ref(y.size(), sentinel);
  run(k::ConvKind::forward, x.data(), w.data(), y.data(), [&] { k::conv2d_forward(s, x.data(), w.data(), y.data(), path); });
  k::conv2d_forward_reference(s, x.data(), w.data(), y_ref.data());
  require_rel_close("conv2d_forward", as_tensor(y, ys), as_tensor(y_ref, ys), tol);

  std::vector<T> z(static_cast<std::size_t>(xs.numel()), sentinel), z_ref(z.size(), sentinel);
  run(k::ConvKind::transpose, u.data(), w.data(), z.data(), [&] { k::conv2d_transpose(s, u.data(), w.data(), z.data(), path); });
  k::conv2d_transpose_reference(s, u.data(), w.data(), z_ref.data());
  require_rel_close("conv2d_transpose", as_tensor(z, xs), as_tensor(z_ref, xs), tol);

  // With a bias: the same bits as the output plus the bias in a separate add.
  const auto bias_co = random_vector<T>(s.co, gen), bias_ci = random_vector<T>(s.ci, gen);
  const auto plus_bias = [](std::vector<T> out, const std::vector<T>& bias) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += bias[i % bias.size()];
    return out;
  };
  std::vector<T> yb(y.size(), sentinel), zb(z.size(), sentinel);
  k::conv2d_forward(s, x.data(), w.data(), yb.data(), path, bias_co.data());
  CHECK((yb == plus_bias(y, bias_co)));
  k::conv2d_transpose(s, u.data(), w.data(), zb.data(), path, bias_ci.data());
  CHECK((zb == plus_bias(z, bias_ci)));

  std::vector<T> v(static_cast<std::size_t>(ws.numel()), sentinel), v_ref(v.size(), sentinel);
  run(k::ConvKind::weight, x.data(), u.data(), v.data(), [&] { k::conv2d_weight(s, x.data(), u.data(), v.data(), path); });
  k::conv2d_weight_reference(s, x.data(), u.data(), v_ref.data());
  require_rel_close("conv2d_weight", as_tensor(v, ws), as_tensor(v_ref, ws), tol);
}

// float64, and float32 on each path a float32 kernel can take (the GEMM one, oneDNN's
// convolutions, tape's direct one, and the per-shape choice between them).
void compare_kernels_both(const tape::kernels::ConvShape& s, std::uint64_t seed) {
  using tape::kernels::ConvPath;
  compare_kernels<double>(s, seed, 1e-12);
  for (const ConvPath path : {ConvPath::automatic, ConvPath::gemm, ConvPath::onednn, ConvPath::direct}) {
    compare_kernels<float>(s, seed, 1e-5, path);
  }
}

}  // namespace

// ---------------------------------------------------------------- PyTorch fixtures

TEST_CASE("conv2d and conv_transpose2d match the PyTorch fixtures in float32 and float64", "[conv]") {
  const json& doc = fixture_doc();
  INFO("fixture file: " TAPE_FIXTURES_DIR "/conv_fixtures.json");
  REQUIRE(doc.is_object());
  REQUIRE(doc.contains("cases"));
  const json& cases = doc.at("cases");
  REQUIRE(cases.is_array());
  REQUIRE(cases.size() >= 40);

  std::size_t n_conv = 0, n_transpose_default = 0, n_transpose_output_padding = 0, n_transpose_output_size = 0;
  for (const auto& c : cases) {
    if (c.at("op") == "conv2d") {
      ++n_conv;
    } else if (c.at("output_size_given").get<bool>()) {
      ++n_transpose_output_size;
    } else if (!c.at("output_padding").is_null()) {
      ++n_transpose_output_padding;
    } else {
      ++n_transpose_default;
    }
  }
  // Every way of choosing the conv_transpose2d output size is exercised.
  REQUIRE(n_conv >= 15);
  REQUIRE(n_transpose_default >= 5);
  REQUIRE(n_transpose_output_padding >= 5);
  REQUIRE(n_transpose_output_size >= 3);

  for (const auto& [dtype, tol] : {std::pair{DType::f32, 1e-5}, std::pair{DType::f64, 1e-10}}) {
    for (const auto& c : cases) {
      DYNAMIC_SECTION(c.at("name").get<std::string>() << " [" << tape::to_string(dtype) << "]") {
        run_fixture_case(c, dtype, tol);
      }
    }
  }
}

// ---------------------------------------------------------------- optimized vs reference kernels

TEST_CASE("optimized conv kernels match the reference loops on random geometries", "[conv]") {
  tape::Generator gen(20240611);
  int accepted = 0, strided = 0, asymmetric = 0, attempts = 0;
  while (accepted < 30) {
    REQUIRE(++attempts < 1000);
    const Geometry g = random_geometry(gen, 3, 5, 1, 5);
    const tape::kernels::ConvShape& s = g.s;
    if (s.ho < 1 || s.wo < 1) continue;  // empty output: conv2d rejects these
    ++accepted;
    strided += (s.sh > 1 || s.sw > 1) ? 1 : 0;
    asymmetric += g.asymmetric ? 1 : 0;
    DYNAMIC_SECTION("geometry " << accepted << ": " << describe(s)) {
      compare_kernels_both(s, 1000 + static_cast<std::uint64_t>(accepted));
    }
  }
  // The random set is not degenerate.
  REQUIRE(strided >= 5);
  REQUIRE(asymmetric >= 5);
}

TEST_CASE("optimized conv kernels match the reference on large shapes (OpenMP paths, image chunks)", "[conv]") {
  SECTION("N=8, 14x14, Ci=16, Co=8, k5 s2, pads (1, 2) / (2, 1): parallel im2col / col2im") {
    // im2col: 8 * 7 * 7 rows x 400 columns, above the 2 * kParallelGrain threshold.
    const tape::kernels::ConvShape s{8, 14, 14, 16, 5, 5, 8, 7, 7, 2, 2, 1, 2};
    REQUIRE(s.n * s.ho * s.wo * s.kh * s.kw * s.ci >= 2 * tape::kernels::kParallelGrain);
    compare_kernels_both(s, 77);
  }
  SECTION("N=3, 64x60, Ci=32, Co=3, k7 s1 pad 3: one image per chunk, 3 chunks") {
    const tape::kernels::ConvShape s{3, 64, 60, 32, 7, 7, 3, 64, 60, 1, 1, 3, 3};
    compare_kernels_both(s, 78);
  }
}

TEST_CASE("optimized conv kernels match the reference with 2 and 3 threads: uneven shares, partial chunks",
          "[conv][threads]") {
  // 7x7 outputs and K = 1,200: chunks of 6 images (288 GEMM rows); 13 images on 2 threads are
  // shares of 6 and 7 (chunks 6 | 6 + 1), 20 on 3 threads 6, 7, 7; conv_transpose zeroes per chunk.
  for (const auto& [threads, n] : {std::pair{2, 13}, std::pair{3, 20}, std::pair{2, 3}}) {
    const test::Threads scope(threads);
    INFO(threads << " threads, N=" << n);
    compare_kernels_both({n, 14, 14, 48, 5, 5, 8, 7, 7, 2, 2, 1, 2}, 80 + n);
  }
}

TEST_CASE("oneDNN's convolutions run the DCGAN's layers, take the shapes they are faster on, and repeat their bits",
          "[conv][threads]") {
  namespace k = tape::kernels;
  using k::ConvKind;
  const k::ConvShape d_conv1{8, 28, 28, 1, 5, 5, 64, 14, 14, 2, 2, 1, 1};     // 28x28x1 -> 14x14x64
  const k::ConvShape d_conv2{8, 14, 14, 64, 5, 5, 128, 7, 7, 2, 2, 1, 1};    // 14x14x64 -> 7x7x128
  const k::ConvShape g_stride1{8, 7, 7, 128, 5, 5, 256, 7, 7, 1, 1, 2, 2};   // 7x7x128 -> 7x7x256
  const k::ConvShape to_1x1{8, 4, 4, 256, 4, 4, 100, 1, 1, 1, 1, 0, 0};      // 4x4x256 -> 1x1x100
  // oneDNN's forward convolution of more than 128 input channels runs in groups of them, each
  // group's output added to the others' (g_stride1's transposed one, as a forward one of 256
  // input channels, in 2 groups): 3 groups of 128, 2 of 100, and 129 channels in one
  const k::ConvShape in_3_groups{4, 7, 7, 384, 3, 3, 32, 7, 7, 1, 1, 1, 1};
  const k::ConvShape in_2_groups{4, 6, 6, 200, 3, 3, 16, 3, 3, 2, 2, 1, 1};
  const k::ConvShape in_1_group{4, 5, 5, 129, 3, 3, 16, 5, 5, 1, 1, 1, 1};
  SECTION("the per-shape choice") {
    CHECK(k::conv_uses_onednn(d_conv1, ConvKind::forward));
    CHECK_FALSE(k::conv_uses_onednn(d_conv1, ConvKind::transpose));  // into 1 channel: 12x slower
    CHECK(k::conv_uses_onednn(d_conv1, ConvKind::weight));
    CHECK(k::conv_uses_onednn(d_conv2, ConvKind::forward));
    CHECK(k::conv_uses_onednn(d_conv2, ConvKind::transpose));
    CHECK_FALSE(k::conv_uses_onednn(d_conv2, ConvKind::weight));
    CHECK(k::conv_uses_onednn(g_stride1, ConvKind::forward));
    CHECK(k::conv_uses_onednn(g_stride1, ConvKind::transpose));  // as the flipped forward
    CHECK(k::conv_uses_onednn(g_stride1, ConvKind::weight));
    for (const ConvKind kind : {ConvKind::forward, ConvKind::transpose, ConvKind::weight}) {
      CHECK_FALSE(k::conv_uses_onednn(to_1x1, kind));
    }
    // tape's direct kernels, where the processor has AVX-512, before either: the weight gradient
    // but on Co = 100, the forward convolution of 1-4 input channels, the
    // strided transposed one into 14x14 or more
    const bool avx512 = k::have_direct_conv();
    CHECK(k::conv_uses_direct(d_conv2, ConvKind::weight) == avx512);
    CHECK(k::conv_uses_direct(g_stride1, ConvKind::weight) == avx512);
    CHECK(k::conv_uses_direct(d_conv1, ConvKind::weight) == avx512);
    // (a thin input's tiles of 4 rows, 1 channel and 4 taps a kernel row, stay with oneDNN)
    CHECK_FALSE(k::conv_uses_direct({8, 28, 28, 1, 4, 4, 64, 14, 14, 2, 2, 1, 1}, ConvKind::weight));
    CHECK_FALSE(k::conv_uses_direct(to_1x1, ConvKind::weight));
    CHECK(k::conv_uses_direct(d_conv1, ConvKind::forward) == avx512);
    CHECK_FALSE(k::conv_uses_direct(d_conv2, ConvKind::forward));
    CHECK(k::conv_uses_direct(d_conv2, ConvKind::transpose) == avx512);
    CHECK(k::conv_uses_direct(d_conv1, ConvKind::transpose) == avx512);  // into 1 channel
    CHECK_FALSE(k::conv_uses_direct(g_stride1, ConvKind::transpose));
  }
  if (!k::have_onednn_conv()) {
    WARN("skipped: this build has no oneDNN");
    return;
  }
  for (const int threads : {1, 2}) {
    const test::Threads scope(threads);
    for (const k::ConvShape& s : {d_conv1, d_conv2, g_stride1, to_1x1, in_3_groups, in_2_groups, in_1_group}) {
      INFO(describe(s) << ", " << threads << " threads");
      compare_kernels<float>(s, 91, 1e-5, k::ConvPath::onednn);  // against the reference loops
      tape::Generator gen(91);
      const auto x = random_vector<float>(s.n * s.h * s.w * s.ci, gen);
      const auto w = random_vector<float>(s.kh * s.kw * s.ci * s.co, gen);
      const auto u = random_vector<float>(s.n * s.ho * s.wo * s.co, gen);
      // Twice the same bits (the two outputs start at different sentinels).
      const auto twice = [&](ConvKind kind, const std::vector<float>& a, const std::vector<float>& b, std::size_t size) {
        std::vector<float> first(size, 1e6f), second(size, -1e6f);
        REQUIRE(k::onednn_conv(kind, s, a.data(), b.data(), first.data()));
        REQUIRE(k::onednn_conv(kind, s, a.data(), b.data(), second.data()));
        CHECK(first == second);
      };
      twice(ConvKind::forward, x, w, u.size());
      twice(ConvKind::transpose, u, w, x.size());
      twice(ConvKind::weight, x, u, w.size());
    }
  }
}

namespace {

// tape's direct kernel of `kind` against the reference loop on 1, 2 and 3 threads, twice each:
// within 1e-5, every output written, and the same bits both times.
void check_direct(tape::kernels::ConvKind kind, const tape::kernels::ConvShape& s) {
  namespace k = tape::kernels;
  const char* kind_name[] = {"forward", "transposed", "weight gradient"};
  INFO(describe(s) << ", " << kind_name[static_cast<int>(kind)]);
  REQUIRE(k::direct_conv_fits(s, kind));
  const Shape xs{s.n, s.h, s.w, s.ci}, ws{s.kh, s.kw, s.ci, s.co}, ys{s.n, s.ho, s.wo, s.co};
  const Shape& a_shape = kind == k::ConvKind::transpose ? ys : xs;
  const Shape& b_shape = kind == k::ConvKind::weight ? ys : ws;
  const Shape& out_shape = kind == k::ConvKind::forward ? ys : kind == k::ConvKind::transpose ? xs : ws;
  tape::Generator gen(17);
  const auto a = random_vector<float>(a_shape.numel(), gen);
  const auto b = random_vector<float>(b_shape.numel(), gen);
  std::vector<float> expected(static_cast<std::size_t>(out_shape.numel()), 1e6f);
  switch (kind) {
    case k::ConvKind::forward: k::conv2d_forward_reference(s, a.data(), b.data(), expected.data()); break;
    case k::ConvKind::transpose: k::conv2d_transpose_reference(s, a.data(), b.data(), expected.data()); break;
    case k::ConvKind::weight: k::conv2d_weight_reference(s, a.data(), b.data(), expected.data()); break;
  }
  std::vector<float> first;
  for (const int threads : {1, 2, 3}) {
    const test::Threads scope(threads);
    INFO(threads << " threads");
    std::vector<float> out(expected.size(), 1e6f), again(expected.size(), -1e6f);  // an unwritten output fails
    REQUIRE(k::direct_conv(kind, s, a.data(), b.data(), out.data()));
    require_rel_close("direct conv", as_tensor(out, out_shape), as_tensor(expected, out_shape), 1e-5);
    REQUIRE(k::direct_conv(kind, s, a.data(), b.data(), again.data()));
    CHECK((out == again));  // (a bool: Catch would print both vectors)
    // The forward and transposed kernels: the same bits on any thread count, and for an image
    // alone as within the batch (the weight gradient's sums depend on the thread count).
    if (kind == k::ConvKind::weight) continue;
    if (first.empty()) first = out;
    CHECK((out == first));
    k::ConvShape one = s;
    one.n = 1;
    const std::size_t a_image = static_cast<std::size_t>(a_shape.numel() / s.n);
    const std::size_t out_image = static_cast<std::size_t>(out_shape.numel() / s.n);
    const std::vector<float> last_a(a.end() - static_cast<std::ptrdiff_t>(a_image), a.end());
    std::vector<float> alone(out_image, 1e6f);
    REQUIRE(k::direct_conv(kind, one, last_a.data(), b.data(), alone.data()));
    CHECK((alone == std::vector<float>(out.end() - static_cast<std::ptrdiff_t>(out_image), out.end())));
  }
}

}  // namespace

TEST_CASE("tape's direct weight gradient matches the reference on 1, 2 and 3 threads and repeats its bits",
          "[conv][threads]") {
  namespace k = tape::kernels;
  // The DCGANs' layers it takes (Co a multiple of 64), a 4-channel tail tile (Ci = 64 = 10 x 6 + 4),
  // stride 1 and 3, asymmetric padding, more images than one chunk holds, and Co = 192.
  const k::ConvShape shapes[] = {
      {8, 14, 14, 64, 5, 5, 128, 7, 7, 2, 2, 1, 1},     // 14x14x64 -> 7x7x128, k5 s2 "same"
      {8, 7, 7, 128, 3, 3, 256, 4, 4, 2, 2, 1, 1},      // 7x7x128 -> 4x4x256, k3 s2 p1
      {8, 7, 7, 128, 5, 5, 256, 7, 7, 1, 1, 2, 2},      // 7x7x128 -> 7x7x256, stride 1
      {3, 9, 11, 13, 4, 3, 64, 3, 4, 3, 3, 2, 0},       // stride 3, padding top 2, bottom -1, right 1
      {37, 6, 6, 7, 3, 3, 192, 6, 6, 1, 1, 1, 1},       // 37 images: 14 a chunk, 3 chunks
      {2, 1, 1, 9, 3, 3, 64, 1, 1, 2, 2, 1, 1},         // 1x1 "same" k3 s2: taps past the input (3-row tail)
      {2, 2, 2, 11, 5, 5, 64, 1, 1, 2, 2, 1, 1},        // 2x2 -> 1x1 k5 s2 (5-row tail), 2 images on 3 threads
      // Thin inputs (1-4 channels), run on a copy padded in width, a kernel row's taps and
      // channels in even tiles of up to 6: the DCGANs' first layer, RGB (15 = 5 + 5 + 5), 2 channels at
      // stride 1 with padding wider than half the kernel, stride 3 with taps past the right edge
      // and none on the left, and a negative left padding (the first column read by no tap).
      {8, 28, 28, 1, 5, 5, 64, 14, 14, 2, 2, 1, 1},     // 28x28x1 -> 14x14x64, k5 s2 "same"
      {3, 32, 32, 3, 5, 5, 64, 16, 16, 2, 2, 1, 1},     // 32x32x3 -> 16x16x64
      {4, 9, 7, 2, 3, 4, 128, 9, 7, 1, 1, 1, 3},        // stride 1, left padding 3 of a 4-wide kernel
      {2, 7, 8, 4, 3, 3, 64, 2, 3, 3, 3, 0, 0},         // stride 3: columns 0-8 read, the input 0-7
      {3, 6, 9, 1, 2, 3, 64, 5, 3, 1, 3, 0, -1},        // left padding -1: column 0 unread
  };
  if (!k::have_direct_conv()) {
    WARN("skipped: this processor has no AVX-512");
    return;
  }
  for (const k::ConvShape& s : shapes) check_direct(k::ConvKind::weight, s);
  const k::ConvShape misfit{2, 8, 8, 16, 3, 3, 48, 8, 8, 1, 1, 1, 1};  // Co = 48: not a multiple of 64
  CHECK_FALSE(k::direct_conv_fits(misfit, k::ConvKind::weight));
  std::vector<float> w(16 * 9 * 48, 7.0f);
  const std::vector<float> x(2 * 8 * 8 * 16, 1.0f), u(2 * 8 * 8 * 48, 1.0f);
  CHECK_FALSE(k::direct_conv(k::ConvKind::weight, misfit, x.data(), u.data(), w.data()));
  CHECK(w == std::vector<float>(16 * 9 * 48, 7.0f));  // nothing written
}

TEST_CASE("tape's direct kernels for thin layers match the reference on random geometries", "[conv][threads]") {
  // 1-4 channels on the thin side, Co 64 or 128 on the other (the weight gradient's tiles),
  // kernels up to 5x5, strides 1-3, paddings 0-2 on each side: the weight gradient on a padded
  // copy and, where the taps are at most 64, the transposed convolution into the thin side,
  // through check_direct (1, 2 and 3 threads, every output written, the bits repeated).
  namespace k = tape::kernels;
  if (!k::have_direct_conv()) {
    WARN("skipped: this processor has no AVX-512");
    return;
  }
  tape::Generator gen(20261208);
  int accepted = 0, attempts = 0, transposes = 0;
  while (accepted < 24) {
    REQUIRE(++attempts < 1000);
    const k::ConvShape s = random_geometry(gen, 4, 4, 64, 2).s;
    if (s.ho < 1 || s.wo < 1) continue;
    ++accepted;
    const bool transposed = k::direct_conv_fits(s, k::ConvKind::transpose);  // at most 64 taps
    transposes += transposed ? 1 : 0;
    DYNAMIC_SECTION("geometry " << accepted << ": " << describe(s)) {
      check_direct(k::ConvKind::weight, s);
      if (transposed) check_direct(k::ConvKind::transpose, s);
    }
  }
  REQUIRE(transposes >= 12);
}

TEST_CASE("tape's direct forward and transposed kernels match the reference on 1, 2 and 3 threads",
          "[conv][threads]") {
  namespace k = tape::kernels;
  if (!k::have_direct_conv()) {
    WARN("skipped: this processor has no AVX-512");
    return;
  }
  SECTION("the forward convolution into a multiple of 16 channels") {
    // The DCGANs' first layers (1 channel, Co 32 and 64; 3 channels for CIFAR) and a wide one, Co
    // 16-80 (1-4 vectors a tile, and 80 = 5 x 1), rows wider than a tile, stride 1 and 3,
    // asymmetric padding, and a layer whose taps all fall past a 1x1 input but one.
    const k::ConvShape shapes[] = {
        {4, 28, 28, 1, 5, 5, 64, 14, 14, 2, 2, 1, 1},     // 28x28x1 -> 14x14x64, k5 s2 "same"
        {4, 28, 28, 1, 4, 4, 32, 14, 14, 2, 2, 1, 1},     // 28x28x1 -> 14x14x32, k4 s2 p1
        {3, 32, 32, 3, 4, 4, 48, 16, 16, 2, 2, 1, 1},     // 32x32x3 -> 16x16x48
        {2, 9, 30, 2, 3, 3, 16, 9, 30, 1, 1, 1, 1},       // stride 1, 30 columns
        {2, 12, 14, 4, 4, 3, 80, 4, 5, 3, 3, 2, 0},       // stride 3, padding top 2, bottom -1, right 1
        {3, 1, 1, 1, 3, 3, 16, 1, 1, 2, 2, 1, 1},         // 1x1 "same" k3 s2
        {3, 14, 14, 64, 5, 5, 128, 7, 7, 2, 2, 1, 1},     // 14x14x64 -> 7x7x128
        {2, 5, 6, 1, 2, 2, 16, 4, 4, 2, 1, 3, 0},         // strides 2 and 1; top padding 3: a row no tap reaches
    };
    for (const k::ConvShape& s : shapes) check_direct(k::ConvKind::forward, s);
    const k::ConvShape odd{2, 8, 8, 1, 3, 3, 24, 8, 8, 1, 1, 1, 1};  // Co = 24
    CHECK_FALSE(k::direct_conv_fits(odd, k::ConvKind::forward));
    std::vector<float> y(2 * 8 * 8 * 24, 7.0f);
    const std::vector<float> x(2 * 8 * 8, 1.0f), w(9 * 24, 1.0f);
    CHECK_FALSE(k::direct_conv(k::ConvKind::forward, odd, x.data(), w.data(), y.data()));
    CHECK(y == std::vector<float>(2 * 8 * 8 * 24, 7.0f));  // nothing written
  }
  SECTION("the transposed convolution into a multiple of 16 channels") {
    // The DCGANs' strided layers (k5 s2 "same", k4 s2 p1, k3 s2 p1), Ci 16-80 (1-4 vectors a
    // tile, and 80 = 5 x 1), any Co (3, 100), stride 1 and 3 with asymmetric padding, taps past a
    // 1x1 output, and pixels no tap reaches (stride 3 past a 1-wide kernel).
    const k::ConvShape shapes[] = {
        {3, 14, 14, 64, 5, 5, 128, 7, 7, 2, 2, 1, 1},     // 14x14x64 <- 7x7x128
        {3, 14, 14, 64, 4, 4, 128, 7, 7, 2, 2, 1, 1},     // 14x14x64 <- 7x7x128, k4 s2 p1
        {3, 7, 7, 128, 3, 3, 256, 4, 4, 2, 2, 1, 1},      // 7x7x128 <- 4x4x256
        {2, 9, 10, 32, 3, 3, 3, 9, 10, 1, 1, 1, 1},       // stride 1, Co 3
        {2, 12, 14, 48, 4, 3, 100, 4, 5, 3, 3, 2, 0},     // stride 3, padding top 2, bottom -1, right 1
        {2, 1, 1, 16, 3, 3, 16, 1, 1, 2, 2, 1, 1},        // 1x1 "same" k3 s2
        {2, 7, 7, 80, 1, 1, 16, 3, 3, 3, 3, 0, 0},        // 1x1 kernel, stride 3: most pixels get zeros
        {2, 5, 6, 16, 2, 2, 8, 4, 4, 2, 1, 3, 0},         // strides 2 and 1, top padding 3
    };
    for (const k::ConvShape& s : shapes) check_direct(k::ConvKind::transpose, s);
    const k::ConvShape odd{2, 8, 8, 24, 3, 3, 16, 8, 8, 1, 1, 1, 1};  // Ci = 24
    CHECK_FALSE(k::direct_conv_fits(odd, k::ConvKind::transpose));
  }
  SECTION("the transposed convolution into 1-4 channels: the GEMM path's bits") {
    // The DCGANs' output layers (k5 s2 "same": 25 taps in 2 vectors; k4 s2 p1: 16 in 1; Co 64
    // and 32), RGB (48 taps in 3 vectors), 64 taps in 4, stride 1, stride 3 with asymmetric
    // padding (pixels no tap reaches), taps past a 1x1 output, odd Co; within 1e-5 of the
    // reference in check_direct. The DCGANs' layers (the first three) bitwise the im2col + GEMM
    // + col2im path's too: the default run's bits (sgemm on a GEMM of a few rows, as the 1x1
    // output makes, may sum in another order).
    const k::ConvShape shapes[] = {
        {3, 28, 28, 1, 5, 5, 64, 14, 14, 2, 2, 1, 1},     // 28x28x1 <- 14x14x64
        {3, 28, 28, 1, 4, 4, 32, 14, 14, 2, 2, 1, 1},     // 28x28x1 <- 14x14x32, k4 s2 p1
        {2, 32, 32, 3, 4, 4, 64, 16, 16, 2, 2, 1, 1},     // 32x32x3 <- 16x16x64
        {2, 9, 9, 4, 4, 4, 24, 8, 8, 1, 1, 2, 1},         // 64 taps, stride 1
        {2, 12, 14, 2, 4, 3, 40, 4, 5, 3, 3, 2, 0},       // stride 3, padding top 2, bottom -1, right 1
        {2, 1, 1, 1, 3, 3, 16, 1, 1, 2, 2, 1, 1},         // 1x1 "same" k3 s2
        {2, 7, 7, 2, 1, 1, 5, 3, 3, 3, 3, 0, 0},          // 1x1 kernel, stride 3: most pixels get zeros
    };
    for (const k::ConvShape& s : shapes) check_direct(k::ConvKind::transpose, s);
    for (const k::ConvShape& s : {shapes[0], shapes[1], shapes[2]}) {
      tape::Generator gen(29);
      const auto u = random_vector<float>(s.n * s.ho * s.wo * s.co, gen);
      const auto w = random_vector<float>(s.kh * s.kw * s.ci * s.co, gen);
      const auto bias = random_vector<float>(s.ci, gen);
      for (const int threads : {1, 2}) {
        const test::Threads scope(threads);
        INFO(describe(s) << ", " << threads << " threads");
        std::vector<float> gemm(static_cast<std::size_t>(s.n * s.h * s.w * s.ci), 1e6f), direct(gemm.size(), -1e6f);
        k::conv2d_transpose(s, u.data(), w.data(), gemm.data(), k::ConvPath::gemm, bias.data());
        k::conv2d_transpose(s, u.data(), w.data(), direct.data(), k::ConvPath::direct, bias.data());
        CHECK((gemm == direct));
      }
    }
    const k::ConvShape many_taps{2, 8, 8, 3, 5, 5, 16, 8, 8, 1, 1, 2, 2};  // 75 taps
    CHECK_FALSE(k::direct_conv_fits(many_taps, k::ConvKind::transpose));
  }
}

TEST_CASE("oneDNN's convolutions called from two threads at once give each caller its own result", "[conv][threads]") {
  namespace k = tape::kernels;
  if (!k::have_onednn_conv()) {
    WARN("skipped: this build has no oneDNN");
    return;
  }
  // Each call brings its own scratchpad and weight buffer: concurrent calls on one cached
  // primitive must not share them. Every kind: the weight gradient's scratchpad holds its
  // per-thread partial sums.
  const k::ConvShape s{6, 14, 14, 32, 5, 5, 48, 7, 7, 2, 2, 1, 1};
  tape::Generator gen(17);
  const auto x = random_vector<float>(s.n * s.h * s.w * s.ci, gen);
  const auto u = random_vector<float>(s.n * s.ho * s.wo * s.co, gen);
  const auto w1 = random_vector<float>(s.kh * s.kw * s.ci * s.co, gen);
  const auto w2 = random_vector<float>(s.kh * s.kw * s.ci * s.co, gen);
  const auto u2 = random_vector<float>(u.size(), gen);
  struct Case {
    k::ConvKind kind;
    const std::vector<float>&a1, &b1, &a2, &b2;
    std::size_t size;
  };
  for (const Case& c : {Case{k::ConvKind::forward, x, w1, x, w2, u.size()},
                        Case{k::ConvKind::transpose, u, w1, u, w2, x.size()},
                        Case{k::ConvKind::weight, x, u, x, u2, w1.size()}}) {
    INFO("kind " << static_cast<int>(c.kind));
    std::vector<float> alone1(c.size), alone2(c.size), together1(c.size), together2(c.size);
    REQUIRE(k::onednn_conv(c.kind, s, c.a1.data(), c.b1.data(), alone1.data()));
    REQUIRE(k::onednn_conv(c.kind, s, c.a2.data(), c.b2.data(), alone2.data()));
    bool ok1 = true, ok2 = true;
    // an exception inside a thread would terminate the process: caught there, reported here
    const auto guarded = [&](const std::vector<float>& a, const std::vector<float>& b, std::vector<float>& out, bool& ok) {
      try {
        ok = ok && k::onednn_conv(c.kind, s, a.data(), b.data(), out.data());
      } catch (...) {
        ok = false;
      }
    };
    for (int round = 0; round < 10; ++round) {
      std::thread t1([&] { guarded(c.a1, c.b1, together1, ok1); });
      std::thread t2([&] { guarded(c.a2, c.b2, together2, ok2); });
      t1.join();
      t2.join();
      REQUIRE(ok1);
      REQUIRE(ok2);
      REQUIRE(together1 == alone1);
      REQUIRE(together2 == alone2);
    }
  }
}

// ---------------------------------------------------------------- instruction-set paths

namespace {

// Whether this CPU has every instruction set in a comma-separated list ("sse3", "sse4.1", "avx2",
// "avx512f", "avx512bw", ...).
bool cpu_has_all(const std::string& features) {
  __builtin_cpu_init();
  std::stringstream list(features);
  std::string f;
  while (std::getline(list, f, ',')) {
    bool has = false;
    if (f == "sse3") has = __builtin_cpu_supports("sse3");
    else if (f == "sse4.1") has = __builtin_cpu_supports("sse4.1");
    else if (f == "avx2") has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    else if (f == "avx512f") has = __builtin_cpu_supports("avx512f");
    else if (f == "avx512bw") has = __builtin_cpu_supports("avx512bw");
    else if (f == "avx512dq") has = __builtin_cpu_supports("avx512dq");
    else if (f == "avx512vl") has = __builtin_cpu_supports("avx512vl");
    else FAIL("unknown CPU feature '" << f << "'");
    if (!has) return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// tape's im2col conv kernels are plain C++ around one GEMM; their instruction-set paths are the
// GEMM's: oneDNN (float32) and OpenBLAS (float64) pick kernels for the CPU at run time;
// DNNL_MAX_CPU_ISA caps oneDNN's, OPENBLAS_CORETYPE forces OpenBLAS's. (tape's direct weight
// gradient is AVX-512 whatever they say, on a processor that has it.) ctest runs this case once per path
// (tests/CMakeLists.txt) with TAPE_EXPECT_GEMM (text gemm_backend() must contain) and
// TAPE_EXPECT_CPU_FEATURES set; a path the CPU cannot run is skipped before any matrix product.
// Without them: the paths chosen for this CPU.
TEST_CASE("the conv kernels match the reference loops on the GEMM kernel set in use", "[conv][isa]") {
  const char* expected = std::getenv("TAPE_EXPECT_GEMM");
  const char* features = std::getenv("TAPE_EXPECT_CPU_FEATURES");
  if (features != nullptr && !cpu_has_all(features)) {
    WARN("skipped: this CPU has no " << features << " for " << (expected ? expected : "?"));
    return;
  }
  const std::string backend = tape::kernels::gemm_backend();
  INFO("GEMM: " << backend);
  if (expected != nullptr) REQUIRE_THAT(lower(backend), Catch::Contains(lower(expected)));
  tape::Generator gen(424242);
  for (int i = 0; i < 12; ++i) {
    tape::kernels::ConvShape s{};
    s.n = pick(gen, 1, 4), s.h = pick(gen, 3, 14), s.w = pick(gen, 3, 14), s.ci = pick(gen, 1, 40), s.co = pick(gen, 1, 40);
    s.kh = pick(gen, 1, 5), s.kw = s.kh, s.sh = pick(gen, 1, 2), s.sw = s.sh, s.pt = s.kh / 2, s.pl = s.kw / 2;
    s.ho = out_len(s.h, s.kh, s.sh, s.pt, s.pt);
    s.wo = out_len(s.w, s.kw, s.sw, s.pl, s.pl);
    DYNAMIC_SECTION("geometry " << i << ": " << describe(s)) { compare_kernels_both(s, 5000 + static_cast<std::uint64_t>(i)); }
  }
  SECTION("the DCGAN's 5x5 stride-2 layer at batch 16, 2 threads") {
    const test::Threads scope(2);
    compare_kernels_both({16, 14, 14, 64, 5, 5, 128, 7, 7, 2, 2, 1, 2}, 5100);
  }
}

// ---------------------------------------------------------------- padding and size rules

TEST_CASE("same padding follows TensorFlow: out = ceil(in / stride), extra pad at the end", "[conv]") {
  struct Expect {
    std::int64_t in, k, s, out, before, after;
  };
  for (const auto& e : {Expect{28, 5, 2, 14, 1, 2}, Expect{7, 5, 1, 7, 2, 2}, Expect{8, 4, 2, 4, 1, 1},
                        Expect{9, 4, 2, 5, 1, 2}, Expect{10, 1, 3, 4, 0, 0}, Expect{5, 3, 1, 5, 1, 1}}) {
    for (int axis = 0; axis < 2; ++axis) {
      INFO("in=" << e.in << " k=" << e.k << " s=" << e.s << " axis=" << axis);
      const tape::ConvGeometry g = tape::conv_geometry(e.in, e.k, e.s, tape::Padding::same(), axis);
      CHECK(g.out == e.out);
      CHECK(g.pad_before == e.before);
      CHECK(g.pad_after == e.after);
    }
  }
  SECTION("valid and explicit padding") {
    const auto v = tape::conv_geometry(10, 3, 2, tape::Padding::valid(), 0);
    CHECK(v.out == 4);
    CHECK(v.pad_before == 0);
    CHECK(v.pad_after == 0);
    const auto p = tape::Padding::explicit_pads(1, 2, 0, 3);
    const auto gh = tape::conv_geometry(6, 3, 2, p, 0);  // (6 + 3 - 3) / 2 + 1
    CHECK(gh.out == 4);
    CHECK(gh.pad_before == 1);
    CHECK(gh.pad_after == 2);
    const auto gw = tape::conv_geometry(6, 3, 2, p, 1);  // (6 + 3 - 3) / 2 + 1, pads from left/right
    CHECK(gw.out == 4);
    CHECK(gw.pad_before == 0);
    CHECK(gw.pad_after == 3);
    CHECK(tape::conv_geometry(2, 3, 1, tape::Padding::valid(), 0).out == 0);
  }
  SECTION("conv2d output shapes") {
    const Tensor x = Tensor::zeros({8, 28, 28, 3});
    const Tensor w = Tensor::zeros({5, 5, 3, 64});
    CHECK(tape::conv2d(x, w, {{2, 2}, tape::Padding::same()}).shape() == Shape{8, 14, 14, 64});
    CHECK(tape::conv2d(x, w, {{2, 2}, tape::Padding::valid()}).shape() == Shape{8, 12, 12, 64});
    CHECK(tape::conv2d(x, w, {{1, 2}, tape::Padding::same()}).shape() == Shape{8, 28, 14, 64});
  }
}

TEST_CASE("conv_transpose2d without output_size follows Keras Conv2DTranspose", "[conv]") {
  const auto out_shape = [](Shape u_shape, std::int64_t k, std::int64_t s, tape::Padding p) {
    const Tensor u = Tensor::zeros(u_shape);
    const Tensor w = Tensor::zeros({k, k, 2, u_shape[3]});
    tape::ConvTranspose2dOptions o;
    o.strides = {s, s};
    o.padding = p;
    return tape::conv_transpose2d(u, w, o).shape();
  };
  // same: in * stride
  CHECK(out_shape({1, 7, 7, 4}, 5, 2, tape::Padding::same()) == Shape{1, 14, 14, 2});
  // valid: in * stride + max(k - stride, 0)
  CHECK(out_shape({1, 7, 7, 4}, 5, 2, tape::Padding::valid()) == Shape{1, 17, 17, 2});
  CHECK(out_shape({2, 5, 5, 3}, 3, 1, tape::Padding::valid()) == Shape{2, 7, 7, 2});
  CHECK(out_shape({1, 4, 4, 1}, 2, 3, tape::Padding::valid()) == Shape{1, 12, 12, 2});  // k < stride
  // The DCGAN generator's 7 -> 14 -> 28 upsampling.
  CHECK(out_shape({1, 14, 14, 4}, 5, 2, tape::Padding::same()) == Shape{1, 28, 28, 2});

  SECTION("output_padding: (in - 1) * stride + k - pads + output_padding") {
    const Tensor u = Tensor::zeros({1, 7, 7, 4});
    const Tensor w = Tensor::zeros({5, 5, 2, 4});
    tape::ConvTranspose2dOptions o;
    o.strides = {2, 2};
    o.padding = tape::Padding::same();
    o.output_padding = std::array<std::int64_t, 2>{1, 0};
    // (7 - 1) * 2 + 5 - 2 * 2 + op = 13 + op
    CHECK(tape::conv_transpose2d(u, w, o).shape() == Shape{1, 14, 13, 2});
  }
}
