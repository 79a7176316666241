// Error tests: every error tape throws (ShapeError, DTypeError, ValueError, TapeError) has the
// right type and a message that names the op and the shapes involved; failed calls leave tensors,
// variables and tapes usable.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace {

using Catch::Contains;
using tape::DTypeError;
using tape::ShapeError;
using tape::Tensor;
using tape::TapeError;
using tape::ValueError;

Tensor zeros(const tape::Shape& shape, tape::DType dtype = tape::DType::f32) { return Tensor::zeros(shape, dtype); }

// y = x^3 with a hand-written backward g * 3x^2 (built from tape ops, so differentiable again
// unless `once`).
Tensor cube(const Tensor& x, bool once) {
  tape::CustomGradientOptions options;
  options.once_differentiable = once;
  return tape::custom_gradient(
      "cube", {x},
      [](const std::vector<Tensor>& in) {
        const Tensor x0 = in[0];
        tape::CustomGradientResult r;
        r.output = x0 * x0 * x0;
        r.backward = [x0](const Tensor& g) { return std::vector<Tensor>{g * 3.0 * x0 * x0}; };
        return r;
      },
      options);
}

}  // namespace

// ---------------------------------------------------------------- convolution

TEST_CASE("conv2d channel mismatch: the exact message", "[errors]") {
  const Tensor x = zeros({8, 28, 28, 3});
  const Tensor w = zeros({5, 5, 4, 64});
  const tape::Conv2dOptions options{{2, 2}, tape::Padding::same()};
  REQUIRE_THROWS_AS(tape::conv2d(x, w, options), ShapeError);
  REQUIRE_THROWS_WITH(tape::conv2d(x, w, options),
                      "conv2d: x has 3 channels but w expects 4; x=[8, 28, 28, 3], w=[5, 5, 4, 64], stride=2, "
                      "padding=same");
  // With matching channels the same call works.
  REQUIRE(tape::conv2d(x, zeros({5, 5, 3, 64}), options).shape() == tape::Shape{8, 14, 14, 64});
}

TEST_CASE("a conv op's bias of the wrong size or dtype: the op, the shapes and the expected size", "[errors]") {
  const Tensor x = zeros({2, 8, 8, 3}), w = zeros({3, 3, 3, 16});
  const tape::Conv2dOptions options{{2, 2}, tape::Padding::same()};
  REQUIRE_THROWS_AS(tape::conv2d(x, w, zeros({3}), options), ShapeError);
  REQUIRE_THROWS_WITH(tape::conv2d(x, w, zeros({3}), options),
                      "conv2d: bias must be [16] (the output's channels), got [3]; x=[2, 8, 8, 3], w=[3, 3, 3, 16]");
  REQUIRE_THROWS_WITH(tape::conv2d(x, w, zeros({1, 16}), options), Contains("bias must be [16]") && Contains("[1, 16]"));
  REQUIRE_THROWS_AS(tape::conv2d(x, w, zeros({16}, tape::DType::f64), options), tape::DTypeError);
  // conv_transpose2d's bias has its output's channels: w's third axis
  const Tensor u = zeros({2, 4, 4, 16});
  const tape::ConvTranspose2dOptions t_options{{2, 2}, tape::Padding::same()};
  REQUIRE_THROWS_WITH(tape::conv_transpose2d(u, w, zeros({16}), t_options),
                      Contains("conv_transpose2d: bias must be [3]") && Contains("u=[2, 4, 4, 16]"));
  REQUIRE(tape::conv_transpose2d(u, w, zeros({3}), t_options).shape() == tape::Shape{2, 8, 8, 3});
  REQUIRE(tape::conv2d(x, w, zeros({16}), options).shape() == tape::Shape{2, 4, 4, 16});
}

TEST_CASE("conv2d argument errors name the op, shapes and parameters", "[errors]") {
  SECTION("kernel larger than the padded input") {
    const Tensor x = zeros({1, 3, 4, 2});
    const Tensor w = zeros({5, 5, 2, 1});
    REQUIRE_THROWS_AS(tape::conv2d(x, w), ShapeError);
    REQUIRE_THROWS_WITH(tape::conv2d(x, w), Contains("conv2d: the kernel does not fit the padded input") &&
                                                Contains("x=[1, 3, 4, 2]") && Contains("w=[5, 5, 2, 1]") &&
                                                Contains("padding=valid"));
    // Padding just large enough makes it fit: (3 + 2 - 5) + 1 = 1, (4 + 1 - 5) + 1 = 1.
    const tape::Conv2dOptions padded{{1, 1}, tape::Padding::explicit_pads(1, 1, 0, 1)};
    REQUIRE(tape::conv2d(x, w, padded).shape() == tape::Shape{1, 1, 1, 1});
    // ... and one row short does not.
    const tape::Conv2dOptions short_pad{{1, 1}, tape::Padding::explicit_pads(1, 0, 0, 1)};
    REQUIRE_THROWS_AS(tape::conv2d(x, w, short_pad), ShapeError);
    REQUIRE_THROWS_WITH(tape::conv2d(x, w, short_pad), Contains("conv2d") && Contains("padding=[1, 0, 0, 1]"));
  }
  SECTION("stride 0") {
    const Tensor x = zeros({1, 6, 6, 2});
    const Tensor w = zeros({3, 3, 2, 1});
    const tape::Conv2dOptions options{{0, 1}, tape::Padding::valid()};
    REQUIRE_THROWS_AS(tape::conv2d(x, w, options), ValueError);
    REQUIRE_THROWS_WITH(tape::conv2d(x, w, options), Contains("conv2d: strides must be >= 1") &&
                                                         Contains("x=[1, 6, 6, 2]") && Contains("w=[3, 3, 2, 1]") &&
                                                         Contains("stride=[0, 1]"));
  }
  SECTION("negative explicit padding") {
    const Tensor x = zeros({1, 6, 6, 2});
    const Tensor w = zeros({3, 3, 2, 1});
    const tape::Conv2dOptions options{{1, 1}, tape::Padding::explicit_pads(0, -1, 0, 0)};
    REQUIRE_THROWS_AS(tape::conv2d(x, w, options), ValueError);
    REQUIRE_THROWS_WITH(tape::conv2d(x, w, options),
                        Contains("conv2d: padding must be >= 0") && Contains("x=[1, 6, 6, 2]"));
  }
  SECTION("rank other than 4") {
    const Tensor x = zeros({6, 6, 2});
    const Tensor w = zeros({3, 3, 2, 1});
    REQUIRE_THROWS_AS(tape::conv2d(x, w), ShapeError);
    REQUIRE_THROWS_WITH(tape::conv2d(x, w), Contains("conv2d") && Contains("rank 4") && Contains("x=[6, 6, 2]") &&
                                                Contains("w=[3, 3, 2, 1]"));
  }
  SECTION("mixed dtypes") {
    const Tensor x = zeros({1, 6, 6, 2});
    const Tensor w = zeros({3, 3, 2, 1}, tape::DType::f64);
    REQUIRE_THROWS_AS(tape::conv2d(x, w), DTypeError);
    REQUIRE_THROWS_WITH(tape::conv2d(x, w), Contains("conv2d: dtypes differ (float32 vs float64)") &&
                                                Contains("x=[1, 6, 6, 2]") && Contains("w=[3, 3, 2, 1]"));
  }
}

TEST_CASE("conv_transpose2d errors: channels, output size, output_padding", "[errors]") {
  const Tensor u = zeros({2, 7, 7, 4});
  SECTION("u's channels differ from w's last axis") {
    const Tensor w = zeros({5, 5, 2, 3});
    tape::ConvTranspose2dOptions o;
    o.strides = {2, 2};
    o.padding = tape::Padding::same();
    REQUIRE_THROWS_AS(tape::conv_transpose2d(u, w, o), ShapeError);
    REQUIRE_THROWS_WITH(tape::conv_transpose2d(u, w, o),
                        Contains("conv_transpose2d: u has 4 channels but w expects 3") &&
                            Contains("u=[2, 7, 7, 4]") && Contains("w=[5, 5, 2, 3]") && Contains("stride=2"));
  }
  SECTION("output_size inconsistent with u") {
    const Tensor w = zeros({5, 5, 2, 4});
    tape::ConvTranspose2dOptions o;
    o.strides = {2, 2};
    o.padding = tape::Padding::same();
    o.output_size = std::array<std::int64_t, 2>{20, 14};  // conv2d of 20 rows gives 10, not 7
    REQUIRE_THROWS_AS(tape::conv_transpose2d(u, w, o), ShapeError);
    REQUIRE_THROWS_WITH(tape::conv_transpose2d(u, w, o),
                        Contains("conv_transpose2d: conv2d of the output size gives 10x7, not u's 7x7") &&
                            Contains("u=[2, 7, 7, 4]") && Contains("w=[5, 5, 2, 4]") &&
                            Contains("output size=[20, 14]"));
    // 13 and 14 both give 7 rows: accepted.
    o.output_size = std::array<std::int64_t, 2>{13, 14};
    REQUIRE(tape::conv_transpose2d(u, w, o).shape() == tape::Shape{2, 13, 14, 2});
  }
  SECTION("output_padding outside [0, stride)") {
    const Tensor w = zeros({3, 3, 2, 4});
    tape::ConvTranspose2dOptions o;
    o.strides = {2, 2};
    o.output_padding = std::array<std::int64_t, 2>{2, 0};
    REQUIRE_THROWS_AS(tape::conv_transpose2d(u, w, o), ValueError);
    REQUIRE_THROWS_WITH(tape::conv_transpose2d(u, w, o),
                        Contains("conv_transpose2d: output_padding must be in [0, stride)") &&
                            Contains("u=[2, 7, 7, 4]") && Contains("w=[3, 3, 2, 4]"));
  }
}

TEST_CASE("conv2d_weight_grad errors: u does not match conv2d of x", "[errors]") {
  const Tensor x = zeros({2, 8, 8, 3});
  const tape::Conv2dOptions options{{1, 1}, tape::Padding::valid()};
  SECTION("spatial size") {
    const Tensor u = zeros({2, 4, 4, 5});  // conv2d with k3 gives 6x6
    REQUIRE_THROWS_AS(tape::conv2d_weight_grad(x, u, options, {3, 3}), ShapeError);
    REQUIRE_THROWS_WITH(tape::conv2d_weight_grad(x, u, options, {3, 3}),
                        Contains("conv2d_weight_grad: conv2d of x gives 6x6, not u's 4x4") &&
                            Contains("x=[2, 8, 8, 3]") && Contains("u=[2, 4, 4, 5]") && Contains("kernel=[3, 3]"));
    REQUIRE(tape::conv2d_weight_grad(x, zeros({2, 6, 6, 5}), options, {3, 3}).shape() ==
            tape::Shape{3, 3, 3, 5});
  }
  SECTION("batch size") {
    const Tensor u = zeros({3, 6, 6, 5});
    REQUIRE_THROWS_AS(tape::conv2d_weight_grad(x, u, options, {3, 3}), ShapeError);
    REQUIRE_THROWS_WITH(tape::conv2d_weight_grad(x, u, options, {3, 3}),
                        Contains("conv2d_weight_grad") && Contains("x=[2, 8, 8, 3]") && Contains("u=[3, 6, 6, 5]"));
  }
}

// ---------------------------------------------------------------- elementwise, matmul, reductions

TEST_CASE("broadcasting mismatches in add and mul name both shapes", "[errors]") {
  const Tensor a = zeros({2, 3});
  const Tensor b = zeros({4, 3});
  REQUIRE_THROWS_AS(tape::add(a, b), ShapeError);
  REQUIRE_THROWS_WITH(tape::add(a, b), Contains("add: shapes do not broadcast") && Contains("a=[2, 3]") &&
                                           Contains("b=[4, 3]"));
  REQUIRE_THROWS_AS(a * b, ShapeError);
  REQUIRE_THROWS_WITH(a * b, Contains("mul: shapes do not broadcast") && Contains("a=[2, 3]") &&
                                 Contains("b=[4, 3]"));
  // Broadcastable shapes are fine: [2, 3] with [1, 3] and [3].
  REQUIRE(tape::add(a, zeros({1, 3})).shape() == tape::Shape{2, 3});
  REQUIRE(tape::mul(a, zeros({3})).shape() == tape::Shape{2, 3});
}

TEST_CASE("mixed dtypes raise DTypeError naming the op and shapes", "[errors]") {
  const Tensor a = zeros({2, 3});
  const Tensor b = zeros({2, 3}, tape::DType::f64);
  REQUIRE_THROWS_AS(tape::add(a, b), DTypeError);
  REQUIRE_THROWS_WITH(tape::add(a, b), Contains("add: dtypes differ (float32 vs float64)") &&
                                           Contains("a=[2, 3]") && Contains("b=[2, 3]"));
  REQUIRE_THROWS_AS(tape::matmul(a, tape::transpose(b)), DTypeError);
  REQUIRE_THROWS_WITH(tape::matmul(a, tape::transpose(b)), Contains("matmul: dtypes differ"));
  SECTION("reading data as the wrong type") {
    REQUIRE_THROWS_AS(a.data<double>(), DTypeError);
    REQUIRE_THROWS_WITH(a.data<double>(), Contains("Tensor::data: tensor is float32, asked for float64") &&
                                              Contains("shape=[2, 3]"));
  }
}

TEST_CASE("matmul dimension mismatches name both shapes", "[errors]") {
  SECTION("inner dimensions") {
    const Tensor a = zeros({2, 3});
    const Tensor b = zeros({4, 5});
    REQUIRE_THROWS_AS(tape::matmul(a, b), ShapeError);
    REQUIRE_THROWS_WITH(tape::matmul(a, b), Contains("matmul: inner dimensions do not match") &&
                                                Contains("a=[2, 3]") && Contains("b=[4, 5]"));
  }
  SECTION("batch dimensions") {
    const Tensor a = zeros({2, 3, 4});
    const Tensor b = zeros({5, 4, 6});
    REQUIRE_THROWS_AS(tape::matmul(a, b), ShapeError);
    REQUIRE_THROWS_WITH(tape::matmul(a, b), Contains("matmul") && Contains("a=[2, 3, 4]") &&
                                                Contains("b=[5, 4, 6]"));
  }
}

TEST_CASE("reductions with an axis out of range", "[errors]") {
  const Tensor x = zeros({2, 3});
  REQUIRE_THROWS_AS(tape::sum(x, {2}), ValueError);
  REQUIRE_THROWS_WITH(tape::sum(x, {2}), Contains("sum: axis 2 out of range for rank 2") && Contains("x=[2, 3]"));
  REQUIRE_THROWS_AS(tape::mean(x, {-3}), ValueError);
  REQUIRE_THROWS_WITH(tape::mean(x, {-3}), Contains("mean: axis -3 out of range") && Contains("x=[2, 3]"));
  REQUIRE_THROWS_AS(tape::max(x, {0, 5}), ValueError);
  REQUIRE_THROWS_WITH(tape::max(x, {0, 5}), Contains("max: axis 5 out of range") && Contains("x=[2, 3]"));
  // The extremes of the valid range are accepted.
  REQUIRE(tape::sum(x, {-2}).shape() == tape::Shape{3});
  REQUIRE(tape::sum(x, {1}).shape() == tape::Shape{2});
  SECTION("max over an empty axis") {
    const Tensor e = zeros({2, 0});
    REQUIRE_THROWS_AS(tape::max(e, {1}), ShapeError);
    REQUIRE_THROWS_WITH(tape::max(e, {1}), Contains("max: cannot reduce an empty axis") && Contains("x=[2, 0]"));
  }
  SECTION("sum_to a shape that does not broadcast") {
    REQUIRE_THROWS_AS(tape::sum_to(x, {4}), ShapeError);
    REQUIRE_THROWS_WITH(tape::sum_to(x, {4}), Contains("sum_to") && Contains("[4]") && Contains("[2, 3]"));
  }
}

// ---------------------------------------------------------------- shape ops

TEST_CASE("reshape to a wrong number of elements", "[errors]") {
  const Tensor x = zeros({2, 3});
  REQUIRE_THROWS_AS(tape::reshape(x, {4, 2}), ShapeError);
  REQUIRE_THROWS_WITH(tape::reshape(x, {4, 2}), Contains("reshape: 6 elements do not fit [4, 2]") &&
                                                    Contains("x=[2, 3]"));
  REQUIRE_THROWS_AS(tape::reshape(x, {4, -1}), ShapeError);
  REQUIRE_THROWS_WITH(tape::reshape(x, {4, -1}), Contains("reshape: cannot infer -1 in [4, -1]") &&
                                                     Contains("x=[2, 3]"));
  REQUIRE_THROWS_AS(tape::reshape(x, {-2, 3}), ShapeError);
  REQUIRE_THROWS_WITH(tape::reshape(x, {-2, 3}), Contains("reshape") && Contains("x=[2, 3]"));
  REQUIRE(tape::reshape(x, {3, -1}).shape() == tape::Shape{3, 2});
}

TEST_CASE("permute with a bad permutation", "[errors]") {
  const Tensor x = zeros({2, 3, 4});
  REQUIRE_THROWS_AS(tape::permute(x, {0, 0, 1}), ValueError);
  REQUIRE_THROWS_WITH(tape::permute(x, {0, 0, 1}), Contains("permute: [0, 0, 1] is not a permutation") &&
                                                       Contains("x=[2, 3, 4]"));
  REQUIRE_THROWS_AS(tape::permute(x, {1, 0}), ValueError);
  REQUIRE_THROWS_WITH(tape::permute(x, {1, 0}), Contains("permute: [1, 0]") && Contains("x=[2, 3, 4]"));
  REQUIRE(tape::permute(x, {2, 0, 1}).shape() == tape::Shape{4, 2, 3});
  SECTION("transpose of a vector") {
    REQUIRE_THROWS_AS(tape::transpose(zeros({5})), ShapeError);
    REQUIRE_THROWS_WITH(tape::transpose(zeros({5})), Contains("transpose: needs rank >= 2") && Contains("x=[5]"));
  }
}

TEST_CASE("slice out of range", "[errors]") {
  const Tensor x = zeros({4, 5});
  REQUIRE_THROWS_AS(tape::slice(x, {1, 2}, {2, 4}), ShapeError);
  REQUIRE_THROWS_WITH(tape::slice(x, {1, 2}, {2, 4}), Contains("slice: begin [1, 2], size [2, 4] out of range") &&
                                                          Contains("x=[4, 5]"));
  REQUIRE_THROWS_AS(tape::slice(x, {-1, 0}, {1, 1}), ShapeError);
  REQUIRE_THROWS_WITH(tape::slice(x, {-1, 0}, {1, 1}), Contains("slice") && Contains("x=[4, 5]"));
  REQUIRE_THROWS_AS(tape::slice(x, {0}, {1}), ShapeError);
  REQUIRE_THROWS_WITH(tape::slice(x, {0}, {1}), Contains("slice") && Contains("one entry per axis") &&
                                                    Contains("x=[4, 5]"));
  REQUIRE(tape::slice(x, {1, 2}, {3, -1}).shape() == tape::Shape{3, 3});
}

TEST_CASE("pad with negative or mismatched padding", "[errors]") {
  const Tensor x = zeros({2, 3});
  REQUIRE_THROWS_AS(tape::pad(x, {{0, -1}, {1, 1}}), ValueError);
  REQUIRE_THROWS_WITH(tape::pad(x, {{0, -1}, {1, 1}}), Contains("pad: negative padding") && Contains("x=[2, 3]") &&
                                                           Contains("pads=[0, -1, 1, 1]"));
  REQUIRE_THROWS_AS(tape::pad(x, {{1, 1}}), ShapeError);
  REQUIRE_THROWS_WITH(tape::pad(x, {{1, 1}}), Contains("pad: 1 (before, after) pairs for rank 2") &&
                                                  Contains("x=[2, 3]"));
  REQUIRE(tape::pad(x, {{0, 1}, {2, 0}}).shape() == tape::Shape{3, 5});
}

TEST_CASE("concat with shapes differing off the axis", "[errors]") {
  const Tensor a = zeros({2, 3});
  const Tensor b = zeros({3, 4});
  REQUIRE_THROWS_AS(tape::concat({a, b}, 0), ShapeError);
  REQUIRE_THROWS_WITH(tape::concat({a, b}, 0), "concat: shapes differ off axis 0; xs=[[2, 3], [3, 4]]");
  REQUIRE_THROWS_AS(tape::concat({a, zeros({2, 3, 1})}, 1), ShapeError);
  REQUIRE_THROWS_WITH(tape::concat({a, zeros({2, 3, 1})}, 1), Contains("concat") && Contains("[2, 3, 1]"));
  REQUIRE_THROWS_AS(tape::concat({a, a}, 2), ValueError);
  REQUIRE_THROWS_WITH(tape::concat({a, a}, 2), Contains("concat: axis 2 out of range for rank 2") &&
                                                   Contains("xs=[[2, 3], [2, 3]]"));
  REQUIRE_THROWS_AS(tape::concat({}, 0), ValueError);
  REQUIRE_THROWS_WITH(tape::concat({}, 0), Contains("concat: no tensors given"));
  REQUIRE(tape::concat({a, zeros({2, 4})}, 1).shape() == tape::Shape{2, 7});
}

TEST_CASE("squeeze, expand_dims and broadcast_to errors", "[errors]") {
  const Tensor x = zeros({2, 1, 3});
  REQUIRE_THROWS_AS(tape::squeeze(x, 0), ShapeError);
  REQUIRE_THROWS_WITH(tape::squeeze(x, 0), Contains("squeeze: axis 0 has size 2") && Contains("x=[2, 1, 3]"));
  REQUIRE_THROWS_AS(tape::squeeze(x, 3), ValueError);
  REQUIRE_THROWS_WITH(tape::squeeze(x, 3), Contains("squeeze: axis 3 out of range") && Contains("x=[2, 1, 3]"));
  REQUIRE_THROWS_AS(tape::expand_dims(x, 5), ValueError);
  REQUIRE_THROWS_WITH(tape::expand_dims(x, 5), Contains("expand_dims: axis 5 out of range") &&
                                                   Contains("x=[2, 1, 3]"));
  REQUIRE_THROWS_AS(tape::broadcast_to(x, {2, 4, 4}), ShapeError);
  REQUIRE_THROWS_WITH(tape::broadcast_to(x, {2, 4, 4}), Contains("broadcast_to") && Contains("[2, 1, 3]") &&
                                                            Contains("[2, 4, 4]"));
  REQUIRE(tape::squeeze(x, 1).shape() == tape::Shape{2, 3});
  REQUIRE(tape::expand_dims(x, 3).shape() == tape::Shape{2, 1, 3, 1});
}

// ---------------------------------------------------------------- tensors and variables

TEST_CASE("Tensor::item on a non-scalar and other tensor misuse", "[errors]") {
  const Tensor x = zeros({2, 3});
  REQUIRE_THROWS_AS(x.item(), ShapeError);
  REQUIRE_THROWS_WITH(x.item(), Contains("Tensor::item: tensor has 6 elements, not 1") && Contains("shape=[2, 3]"));
  REQUIRE(zeros({1, 1}).item() == 0.0);
  REQUIRE_THROWS_AS(x.at({0}), ShapeError);
  REQUIRE_THROWS_WITH(x.at({0}), Contains("Tensor::at") && Contains("[2, 3]"));
  REQUIRE_THROWS_AS(x.at({2, 0}), ValueError);
  REQUIRE_THROWS_WITH(x.at({2, 0}), Contains("Tensor::at: index out of range") && Contains("[2, 3]"));
  REQUIRE_THROWS_AS(Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}), ShapeError);
  REQUIRE_THROWS_WITH(Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}),
                      Contains("from_vector: 3 values do not fill shape [2, 2]"));
  REQUIRE_THROWS_AS(tape::Shape({2, -1}), ShapeError);
  REQUIRE_THROWS_WITH(tape::Shape({2, -1}), Contains("Shape: negative dimension in [2, -1]"));
  SECTION("undefined tensors") {
    REQUIRE_THROWS_AS(tape::add(Tensor(), x), ValueError);
    REQUIRE_THROWS_WITH(tape::add(Tensor(), x), Contains("add: a is undefined"));
    REQUIRE_THROWS_AS(tape::exp(Tensor()), ValueError);
    REQUIRE_THROWS_WITH(tape::exp(Tensor()), Contains("exp: x is undefined"));
    REQUIRE_THROWS_AS(Tensor().shape(), ValueError);
  }
  SECTION("bad scalar arguments") {
    REQUIRE_THROWS_AS(tape::clip(x, 1.0, -1.0), ValueError);
    REQUIRE_THROWS_WITH(tape::clip(x, 1.0, -1.0), Contains("clip: low > high"));
    REQUIRE_THROWS_AS(tape::Padding::from_string("full"), ValueError);
    REQUIRE_THROWS_WITH(tape::Padding::from_string("full"), Contains("Padding: unknown padding 'full'"));
    REQUIRE_THROWS_AS(Tensor::arange(0.0, 1.0, 0.0), ValueError);
  }
}

TEST_CASE("Variable::assign with a wrong shape or dtype leaves the variable unchanged", "[errors]") {
  tape::Variable v(Tensor::full({2, 3}, 1.5), "kernel");
  const tape::TensorId id = v.peek().id();
  REQUIRE_THROWS_AS(v.assign(zeros({3, 2})), ShapeError);
  REQUIRE_THROWS_WITH(v.assign(zeros({3, 2})), Contains("Variable::assign: variable 'kernel' has shape [2, 3]") &&
                                                   Contains("the value has shape [3, 2]"));
  REQUIRE_THROWS_AS(v.assign(zeros({2, 3}, tape::DType::f64)), DTypeError);
  REQUIRE_THROWS_WITH(v.assign(zeros({2, 3}, tape::DType::f64)),
                      Contains("Variable::assign: variable 'kernel' is float32") && Contains("[2, 3]"));
  REQUIRE_THROWS_AS(v.assign_add(zeros({4})), ShapeError);
  REQUIRE(v.peek().id() == id);
  REQUIRE(v.shape() == tape::Shape{2, 3});
  REQUIRE(v.peek().to_vector<double>() == std::vector<double>(6, 1.5));
  v.assign(Tensor::full({2, 3}, 2.0));
  REQUIRE(v.peek().at({1, 2}) == 2.0);
}

// ---------------------------------------------------------------- tape misuse

TEST_CASE("gradient() twice on a non-persistent tape", "[errors]") {
  const Tensor x = Tensor::from_vector(std::vector<double>{1.0, 2.0});
  tape::GradientTape tape;
  tape.watch(x);
  const Tensor y = tape::sum(x * x);
  const Tensor g = tape.gradient(y, x);
  REQUIRE(g.to_vector<double>() == std::vector<double>{2.0, 4.0});
  REQUIRE_THROWS_AS(tape.gradient(y, x), TapeError);
  REQUIRE_THROWS_WITH(tape.gradient(y, x), Contains("GradientTape::gradient: a non-persistent tape can only be used once"));
  REQUIRE_THROWS_AS(tape.jacobian(y, x), TapeError);

  SECTION("a persistent tape answers again") {
    tape::GradientTape persistent(tape::TapeOptions{.persistent = true});
    persistent.watch(x);
    const Tensor z = tape::sum(x * x);
    REQUIRE(persistent.gradient(z, x).to_vector<double>() == std::vector<double>{2.0, 4.0});
    REQUIRE(persistent.gradient(z, x).to_vector<double>() == std::vector<double>{2.0, 4.0});
  }
}

TEST_CASE("gradient() argument errors", "[errors]") {
  const Tensor x = Tensor::from_vector(std::vector<double>{1.0, 2.0, 3.0});
  tape::GradientTape tape(tape::TapeOptions{.persistent = true});
  tape.watch(x);
  const Tensor y = x * x;
  tape::GradientOptions wrong_shape;
  wrong_shape.output_gradients = {Tensor::ones({2}, tape::DType::f64)};
  REQUIRE_THROWS_AS(tape.gradient(y, x, wrong_shape), ShapeError);
  REQUIRE_THROWS_WITH(tape.gradient(y, x, wrong_shape),
                      Contains("GradientTape::gradient: output_gradients[0] has shape [2]") &&
                          Contains("the target has shape [3]"));
  tape::GradientOptions wrong_count;
  wrong_count.output_gradients = {Tensor::ones({3}, tape::DType::f64), Tensor::ones({3}, tape::DType::f64)};
  REQUIRE_THROWS_AS(tape.gradient(y, x, wrong_count), ValueError);
  REQUIRE_THROWS_WITH(tape.gradient(y, x, wrong_count), Contains("GradientTape::gradient: 2 output_gradients for 1 targets"));
  REQUIRE_THROWS_AS(tape.batch_jacobian(y, tape::reshape(x, {1, 3})), ShapeError);
  REQUIRE_THROWS_WITH(tape.batch_jacobian(y, tape::reshape(x, {1, 3})),
                      Contains("GradientTape::batch_jacobian") && Contains("[3]") && Contains("[1, 3]"));
  REQUIRE_THROWS_AS(tape.watch(Tensor()), ValueError);
  // The failed calls did not use up or break the tape.
  REQUIRE(tape.gradient(tape::sum(y), x).to_vector<double>() == std::vector<double>{2.0, 4.0, 6.0});
}

TEST_CASE("stop_recording on a paused tape", "[errors]") {
  const Tensor x = Tensor::from_vector(std::vector<double>{3.0});
  tape::GradientTape tape;
  tape.watch(x);
  {
    auto pause = tape.stop_recording();
    REQUIRE_FALSE(tape.recording());
    REQUIRE_THROWS_AS(tape.stop_recording(), TapeError);
    REQUIRE_THROWS_WITH(tape.stop_recording(), Contains("GradientTape::stop_recording: the tape is not recording"));
    REQUIRE_FALSE(tape.recording());
  }
  // The failed calls did not disturb the outer guard: recording resumes when it ends.
  REQUIRE(tape.recording());
  const Tensor y = x * x;
  REQUIRE(tape.gradient(y, x).item() == 6.0);
}

TEST_CASE("custom_gradient misuse raises TapeError naming the op", "[errors]") {
  const Tensor a = Tensor::from_vector(std::vector<double>{1.0, 2.0});
  const Tensor b = Tensor::from_vector(std::vector<double>{3.0, 4.0});

  SECTION("backward returns the wrong number of gradients") {
    tape::GradientTape tape(tape::TapeOptions{.persistent = true});
    tape.watch(std::vector<Tensor>{a, b});
    const Tensor y = tape::custom_gradient("two_inputs", {a, b}, [](const std::vector<Tensor>& in) {
      tape::CustomGradientResult r;
      r.output = in[0] * in[1];
      r.backward = [](const Tensor& g) { return std::vector<Tensor>{g}; };  // one gradient for two inputs
      return r;
    });
    REQUIRE_THROWS_AS(tape.gradient(y, std::vector<Tensor>{a, b}), TapeError);
    REQUIRE_THROWS_WITH(tape.gradient(y, std::vector<Tensor>{a, b}),
                        "custom_gradient two_inputs: backward returned 1 gradients for 2 inputs");
  }

  SECTION("differentiating through a custom op with no backward") {
    tape::GradientTape tape(tape::TapeOptions{.persistent = true});
    tape.watch(a);
    const Tensor y = tape::custom_gradient("opaque_op", {a}, [](const std::vector<Tensor>& in) {
      tape::CustomGradientResult r;
      r.output = tape::exp(in[0]);
      return r;  // no backward
    });
    REQUIRE(y.to_vector<double>() == tape::exp(a).to_vector<double>());
    REQUIRE_THROWS_AS(tape.gradient(y, a), TapeError);
    REQUIRE_THROWS_WITH(tape.gradient(y, a), Contains("opaque_op: no gradient is defined for this op") &&
                                                 Contains("custom_gradient returned no backward function"));
    // Targets that do not pass through the op still differentiate.
    REQUIRE(tape.gradient(tape::sum(a * a), a).to_vector<double>() == std::vector<double>{2.0, 4.0});
  }

  SECTION("second derivative of a once-differentiable op via nested tapes") {
    const Tensor x = Tensor::from_vector(std::vector<double>{0.5, -1.5, 2.0});
    for (const bool once : {false, true}) {
      INFO("once_differentiable=" << once);
      tape::GradientTape outer;
      outer.watch(x);
      Tensor dydx;
      {
        tape::GradientTape inner;
        inner.watch(x);
        const Tensor y = cube(x, once);
        dydx = inner.gradient(y, x);
      }
      REQUIRE(dydx.to_vector<double>() == std::vector<double>{0.75, 6.75, 12.0});
      if (!once) {
        // Control: the same op without once_differentiable has a second derivative, 6x.
        REQUIRE(outer.gradient(dydx, x).to_vector<double>() == std::vector<double>{3.0, -9.0, 12.0});
      } else {
        REQUIRE_THROWS_AS(outer.gradient(dydx, x), TapeError);
        REQUIRE_THROWS_WITH(outer.gradient(dydx, x), Contains("cube/backward: no gradient is defined for this op") &&
                                                         Contains("once-differentiable"));
      }
    }
  }
}

TEST_CASE("gradcheck rejects non-float64 inputs", "[errors]") {
  const tape::TestFunction f = [](const std::vector<Tensor>& in) { return tape::sum(in[0] * in[0]); };
  REQUIRE_THROWS_AS(tape::gradcheck(f, {zeros({2})}), DTypeError);
  REQUIRE_THROWS_WITH(tape::gradcheck(f, {zeros({2})}), Contains("gradcheck: input 0 must be a defined float64 tensor"));
}

// ---------------------------------------------------------------- failed ops leave no partial state

TEST_CASE("a failed op inside a tape leaves the tape usable", "[errors]") {
  const Tensor x = Tensor::from_vector(std::vector<double>{1.0, -2.0, 3.0, 0.5}, {1, 2, 2, 1});
  const Tensor w = Tensor::from_vector(std::vector<double>{2.0}, {1, 1, 1, 1});
  tape::GradientTape tape;
  tape.watch(x);
  tape.watch(w);
  const Tensor y = tape::conv2d(x, w);  // 2x
  const Tensor z = y * y;               // 4x^2
  REQUIRE_THROWS_AS(tape::add(z, Tensor::zeros({3, 1}, tape::DType::f64)), ShapeError);
  REQUIRE_THROWS_AS(tape::add(z, Tensor::zeros({1, 2, 2, 1})), DTypeError);
  REQUIRE_THROWS_AS(tape::conv2d(z, Tensor::zeros({3, 3, 1, 1}, tape::DType::f64)), ShapeError);
  REQUIRE_THROWS_AS(tape::conv2d(z, Tensor::zeros({1, 1, 2, 1}, tape::DType::f64)), ShapeError);
  REQUIRE_THROWS_AS(tape::reshape(z, {3}), ShapeError);
  REQUIRE_THROWS_AS(tape::sum(z, {4}), ValueError);
  REQUIRE(tape.recording());
  const Tensor loss = tape::sum(z);
  const auto grads = tape.gradient(loss, std::vector<Tensor>{x, w});
  // d/dx sum(w^2 x^2) = 2 w^2 x = 8x; d/dw = 2 w sum(x^2) = 4 * 14.25.
  REQUIRE(grads[0].shape() == x.shape());
  REQUIRE(grads[0].to_vector<double>() == std::vector<double>{8.0, -16.0, 24.0, 4.0});
  REQUIRE(grads[1].to_vector<double>() == std::vector<double>{57.0});
}

TEST_CASE("a backward that throws leaves a persistent tape usable", "[errors]") {
  const Tensor x = Tensor::from_vector(std::vector<double>{1.0, 2.0});
  tape::GradientTape tape(tape::TapeOptions{.persistent = true});
  tape.watch(x);
  const Tensor bad = tape::custom_gradient("bad_backward", {x}, [](const std::vector<Tensor>& in) {
    tape::CustomGradientResult r;
    r.output = in[0] * 2.0;
    r.backward = [](const Tensor& g) { return std::vector<Tensor>{g, g}; };
    return r;
  });
  REQUIRE_THROWS_AS(tape.gradient(bad, x), TapeError);
  // The sweep was abandoned, but the tape records again and answers for other targets.
  REQUIRE(tape.recording());
  const Tensor y = x * x * x;  // recorded after the failure
  REQUIRE(tape.gradient(y, x).to_vector<double>() == std::vector<double>{3.0, 12.0});
}

TEST_CASE("errors: where names all three operands, and conv_transpose2d rejects size and padding together", "[errors]") {
  using Catch::Contains;
  tape::Tensor cond = tape::Tensor::ones({3}), a = tape::Tensor::ones({2}), b = tape::Tensor::ones({3});
  REQUIRE_THROWS_AS(tape::where(cond, a, b), tape::ShapeError);
  REQUIRE_THROWS_WITH(tape::where(cond, a, b), Contains("where") && Contains("cond=[3]") && Contains("a=[2]") &&
                                                   Contains("b=[3]"));
  tape::Tensor u = tape::Tensor::ones({1, 4, 4, 2}), w = tape::Tensor::ones({3, 3, 1, 2});
  tape::ConvTranspose2dOptions o{{2, 2}, tape::Padding::same(), std::array<std::int64_t, 2>{8, 8},
                                 std::array<std::int64_t, 2>{1, 1}};
  REQUIRE_THROWS_AS(tape::conv_transpose2d(u, w, o), tape::ValueError);
  REQUIRE_THROWS_WITH(tape::conv_transpose2d(u, w, o), Contains("conv_transpose2d") && Contains("u=[1, 4, 4, 2]"));
}
