// The op table's rows (see op_table.h), in ops.h's order. Sample values, seeds and options are
// the ones the per-op tests used before the table, so every earlier check is still made.
#include "op_table.h"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <utility>

#include "support/test_support.h"

namespace test {
namespace {

using namespace tape;
using Unary = std::function<Tensor(const Tensor&)>;
using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;
using Axes = std::vector<std::int64_t>;
using Reduce = std::function<Tensor(const Tensor&, const Axes&, bool)>;

// Where sample values are drawn from (uniform).
struct Range {
  double low = -1.0, high = 1.0;
};

const std::vector<Shape> kUnaryShapes = {{}, {7}, {3, 4}, {2, 3, 2}};

// Shape pairs that broadcast: same, scalar, row, column, rank-extending, both-sides.
const std::vector<std::pair<Shape, Shape>> kBroadcastPairs = {
    {{3, 4}, {3, 4}}, {{3, 4}, {}}, {{}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}},
    {{2, 3, 4}, {3, 1}}, {{2, 1, 4}, {1, 3, 1}}, {{5}, {5}},
};

std::string list_text(const std::vector<std::int64_t>& v) {
  std::ostringstream os;
  os << "{";
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os.str() + "}";
}

// "text on [3, 4], [4]": the call and its inputs' shapes.
Sample call(const std::string& text, TestFunction f, Args inputs) {
  std::ostringstream os;
  os << text << " on ";
  for (std::size_t i = 0; i < inputs.size(); ++i) os << (i ? ", " : "") << inputs[i].shape();
  return Sample{os.str(), std::move(f), std::move(inputs)};
}

// A call that is not linear although its row is (x + 1.0 in operator+'s row, a composite).
Sample nonlinear(Sample s) {
  s.linear = Linear::no;
  return s;
}

std::vector<Sample> nonlinear(std::vector<Sample> samples) {
  for (auto& s : samples) s.linear = Linear::no;
  return samples;
}

std::vector<Sample> join(std::initializer_list<std::vector<Sample>> parts) {
  std::vector<Sample> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TestFunction of_one(Unary op) {
  return [op](const Args& in) { return op(in[0]); };
}
TestFunction of_two(Binary op) {
  return [op](const Args& in) { return op(in[0], in[1]); };
}

// op(x) for x of each shape made by make(shape, seed) with seeds first, first + 1, ..., then for
// each of `more`.
std::vector<Sample> unary_from(const std::string& text, const Unary& op, const std::vector<Shape>& shapes,
                               const std::function<Tensor(const Shape&, std::uint64_t)>& make, std::uint64_t first,
                               const Args& more) {
  std::vector<Sample> out;
  std::uint64_t seed = first;
  for (const auto& s : shapes) out.push_back(call(text, of_one(op), {make(s, seed++)}));
  for (const auto& x : more) out.push_back(call(text, of_one(op), {x}));
  return out;
}

// x uniform in `range` (seeds 100, 101, ...).
std::vector<Sample> unary(const std::string& text, const Unary& op, Range range = {}, const Args& more = {}) {
  const auto make = [range](const Shape& s, std::uint64_t seed) { return rand(s, seed, range.low, range.high); };
  return unary_from(text, op, kUnaryShapes, make, 100, more);
}

// Ops with a kink at zero: |x| in [0.1, 1) (seeds 200, 201, ...).
std::vector<Sample> unary_away_from_zero(const std::string& text, const Unary& op, const Args& more = {}) {
  const auto make = [](const Shape& s, std::uint64_t seed) { return rand_away_from_zero(s, seed); };
  return unary_from(text, op, kUnaryShapes, make, 200, more);
}

// name(x) over the last axis: rank >= 1, values wide enough for softmax's max subtraction to
// matter (seeds 300, 301, ...).
std::vector<Sample> last_axis(const std::string& name, const Unary& op) {
  const auto make = [](const Shape& s, std::uint64_t seed) { return rand(s, seed, -3.0, 3.0); };
  return unary_from(name + "(x)", op, {{7}, {3, 5}, {2, 3, 4}, {4, 1}}, make, 300, {});
}

// A tensor drawn when the samples are made (uniform in `range`).
struct Draw {
  Shape shape;
  std::uint64_t seed;
  Range range = {};
};

// The row of a unary op without options: name(x) on every unary shape in `range`, then on `more`.
OpInfo unary_row(const std::string& name, const Unary& op, Range range = {}, const std::vector<Draw>& more = {},
                 Linear linear = Linear::no) {
  const auto samples = [name, op, range, more] {
    Args xs;
    for (const auto& d : more) xs.push_back(rand(d.shape, d.seed, d.range.low, d.range.high));
    return unary(name + "(x)", op, range, xs);
  };
  return {.name = name, .linear = linear, .samples = samples};
}

// op(a, b) over the broadcasting pairs, both uniform in `range` (seeds 1 and 2, 3 and 4, ...),
// then for each pair of `more`.
std::vector<Sample> binary(const std::string& text, const Binary& op, Range range = {},
                           const std::vector<Args>& more = {}) {
  std::vector<Sample> out;
  std::uint64_t seed = 1;
  for (const auto& [sa, sb] : kBroadcastPairs) {
    const Tensor a = rand(sa, seed, range.low, range.high), b = rand(sb, seed + 1, range.low, range.high);
    out.push_back(call(text, of_two(op), {a, b}));
    seed += 2;
  }
  for (const auto& in : more) out.push_back(call(text, of_two(op), in));
  return out;
}

// maximum / minimum: a in [-1, -0.1] u [0.1, 1] against b in [-0.05, 0.05], never within eps of
// a tie.
std::vector<Sample> binary_away_from_ties(const std::string& text, const Binary& op) {
  std::vector<Sample> out;
  for (const auto& [sa, sb] : kBroadcastPairs) {
    out.push_back(call(text, of_two(op), {rand_away_from_zero(sa, 3), rand(sb, 4, -0.05, 0.05)}));
  }
  return out;
}

// Over x[2, 3, 4] for several axes lists, with and without keepdims.
std::vector<Sample> reductions(const std::string& name, const Reduce& op) {
  const std::vector<Axes> axes_list = {{}, {0}, {1}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}};
  const Tensor x = rand({2, 3, 4}, 10);
  std::vector<Sample> out;
  for (const auto& axes : axes_list) {
    for (const bool keep : {false, true}) {
      const std::string text = name + "(x, " + list_text(axes) + (keep ? ", keepdims)" : ")");
      out.push_back(call(text, [op, axes, keep](const Args& in) { return op(in[0], axes, keep); }, {x}));
    }
  }
  return out;
}

// broadcast_to(x, big) (up) or sum_to(x, small) over shape pairs {small, big}; x from seeds 40, 42,
// ... when small, 41, 43, ... when big.
std::vector<Sample> broadcast_pair_samples(bool up) {
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {{3}, {2, 3}}, {{2, 1}, {2, 4}}, {{}, {3, 2}}, {{1, 3, 1}, {2, 3, 4}}};
  std::vector<Sample> out;
  std::uint64_t seed = 40;
  for (const auto& [small, big] : pairs) {
    const Shape to = up ? big : small;
    const std::string text = std::string(up ? "broadcast_to" : "sum_to") + "(x, " + to.to_string() + ")";
    const TestFunction f = [up, to](const Args& in) { return up ? broadcast_to(in[0], to) : sum_to(in[0], to); };
    out.push_back(call(text, f, {up ? rand(small, seed) : rand(big, seed + 1)}));
    seed += 2;
  }
  return out;
}

// x[N, H, W, C] with pools that tile it, drop a column and are not square (seeds 400, 401, ...).
using Pool = Tensor (*)(const Tensor&, std::array<std::int64_t, 2>);
using PoolWithOptions = Tensor (*)(const Tensor&, std::array<std::int64_t, 2>, const Pool2dOptions&);

std::vector<Sample> pooling(const std::string& name, Pool op, PoolWithOptions general) {
  const std::vector<std::pair<Shape, std::array<std::int64_t, 2>>> cases = {
      {{1, 4, 4, 1}, {2, 2}}, {{2, 4, 5, 2}, {2, 2}}, {{1, 6, 6, 3}, {3, 2}}, {{2, 3, 4, 1}, {1, 2}}};
  std::vector<Sample> out;
  std::uint64_t seed = 400;
  for (const auto& [shape, p] : cases) {
    const std::string text = name + "(x, " + list_text({p[0], p[1]}) + ")";
    out.push_back(call(text, [op, p = p](const Args& in) { return op(in[0], p); }, {rand(shape, seed++)}));
  }
  // Overlapping windows, strides other than the pool, "same" padding (windows across the border).
  struct General {
    Shape shape;
    std::array<std::int64_t, 2> pool;
    Pool2dOptions options;
    std::string text;
  };
  const std::vector<General> general_cases = {
      {{1, 5, 5, 2}, {3, 3}, {.strides = {2, 2}, .padding = "same"}, "{3, 3}, strides {2, 2}, same"},
      {{2, 4, 5, 1}, {2, 2}, {.strides = {1, 1}}, "{2, 2}, strides {1, 1}, valid"},
      {{1, 5, 4, 1}, {3, 2}, {.strides = {2, 1}, .padding = "same"}, "{3, 2}, strides {2, 1}, same"},
      {{1, 4, 4, 2}, {2, 2}, {.padding = "same"}, "{2, 2}, same"}};
  for (const auto& g : general_cases) {
    out.push_back(call(name + "(x, " + g.text + ")",
                       [general, pool = g.pool, options = g.options](const Args& in) { return general(in[0], pool, options); },
                       {rand(g.shape, seed++)}));
  }
  return out;
}

// ---------------------------------------------------------------- the convolution trio

// The trio are the gradients of <conv2d(x, w), u>: conv2d(x, w) with respect to u,
// conv_transpose2d(u, w) to x and conv2d_weight_grad(x, u) to w. So the transposes of each are the
// other two.
enum Slot { kX, kW, kU };
using Slots = std::array<Tensor, 3>;

// One geometry with its tensors by slot: x, w and u of conv2d(x, w)'s shape.
struct ConvSample {
  ConvCase c;
  Slots t;
};

// x, w, u from consecutive seeds.
std::vector<ConvSample> conv_samples(const std::vector<ConvCase>& cases, std::uint64_t seed) {
  std::vector<ConvSample> out;
  for (const auto& c : cases) {
    Tensor x = rand(c.x, seed++);
    Tensor w = rand(c.weight_shape(), seed++);
    Tensor u = rand(conv2d(x, w, c.conv()).shape(), seed++);
    out.push_back({c, {x, w, u}});
  }
  return out;
}

// The trio's op that gives slot `out` from the other two slots of t.
Tensor trio_op(const ConvCase& c, Slot out, const Slots& t) {
  switch (out) {
    case kU: return conv2d(t[kX], t[kW], c.conv());
    case kX: return conv_transpose2d(t[kU], t[kW], c.transpose());
    default: return conv2d_weight_grad(t[kX], t[kU], c.conv(), {c.kh, c.kw});
  }
}

// Inputs (in argument order) of the op that gives `out`.
std::array<Slot, 2> trio_inputs(Slot out) {
  if (out == kU) return {kX, kW};
  if (out == kX) return {kU, kW};
  return {kX, kU};
}

std::string trio_text(const ConvCase& c, Slot out) {
  const char* calls[] = {"conv_transpose2d(u, w, ", "conv2d_weight_grad(x, u, ", "conv2d(x, w, "};
  std::ostringstream os;
  os << calls[out] << "stride [" << c.strides[0] << ", " << c.strides[1] << "], padding " << c.padding.to_string() << ")";
  return os.str();
}

// Inputs with more elements than this are left to the adjoint test (finite differences would
// take seconds).
constexpr std::int64_t kFiniteDifferenceLimit = 1000;

// The op giving `out` on one geometry; u for the adjoint test is the geometry's tensor of that slot.
Sample trio_sample(const ConvSample& s, Slot out) {
  const ConvCase c = s.c;
  const auto in = trio_inputs(out);
  // The slots with args in the input slots and `value` in the output slot.
  const auto slots = [in, out](const Args& args, const Tensor& value) {
    Slots t;
    t[in[0]] = args[0];
    t[in[1]] = args[1];
    t[out] = value;
    return t;
  };
  const TestFunction f = [c, out, slots](const Args& a) { return trio_op(c, out, slots(a, Tensor())); };
  Sample sample = call(trio_text(c, out), f, {s.t[in[0]], s.t[in[1]]});
  sample.transpose = [c, in, slots](const Args& a, const Tensor& g) {
    return Args{trio_op(c, in[0], slots(a, g)), trio_op(c, in[1], slots(a, g))};
  };
  sample.upstream = s.t[out];
  sample.finite_differences = s.t[kX].numel() <= kFiniteDifferenceLimit;
  return sample;
}

// conv2d (out = kU) or conv_transpose2d (out = kX) of a geometry with a bias of the output's
// channels (seed `seed`): affine, so gradchecked and gradgradchecked, not adjoint-tested.
Sample biased_sample(const ConvSample& s, Slot out, std::uint64_t seed) {
  const ConvCase c = s.c;
  const auto in = trio_inputs(out);
  const Tensor bias = rand({s.t[out].dim(3)}, seed);
  const TestFunction f = [c, out](const Args& a) {
    return out == kU ? conv2d(a[0], a[1], a[2], c.conv()) : conv_transpose2d(a[0], a[1], a[2], c.transpose());
  };
  std::string label = trio_text(c, out);
  label.insert(label.find("stride"), "bias, ");
  Sample sample = call(label, f, {s.t[in[0]], s.t[in[1]], bias});
  sample.linear = Linear::no;
  return sample;
}

// square(f): second derivatives that are not zero.
Sample squared(Sample s) {
  const TestFunction f = s.f;
  s.label = "square(" + s.label + ")";
  s.f = [f](const Args& in) { return square(f(in)); };
  s.transpose = nullptr;
  return nonlinear(s);
}

// The op giving `out` on small geometries (seeds from 60), larger ones for the adjoint test (seeds
// from 1) and x[2, 5, 5, 2], w[3, 3, 2, 3] (seeds 30, 31, 32) alone and squared, with stride 2
// and same padding or stride 1 and valid padding (u fits both).
std::vector<Sample> trio(Slot out) {
  const auto small = conv_samples({{{2, 5, 5, 2}, 3, 3, 3, {1, 1}, Padding::same()},
                                   {{1, 6, 7, 3}, 3, 3, 2, {2, 2}, Padding::same()},
                                   {{2, 7, 6, 1}, 4, 4, 2, {2, 2}, Padding::valid()},
                                   {{1, 5, 5, 2}, 5, 5, 2, {2, 2}, Padding::same()},
                                   {{1, 7, 8, 2}, 3, 2, 2, {3, 1}, Padding::explicit_pads(1, 0, 0, 2)},
                                   {{2, 4, 4, 3}, 1, 1, 2, {1, 1}, Padding::valid()}},
                                  60);
  const auto large = conv_samples({{{2, 9, 9, 3}, 3, 3, 4, {1, 1}, Padding::same()},
                                   {{2, 28, 28, 1}, 5, 5, 4, {2, 2}, Padding::same()},
                                   {{3, 8, 7, 2}, 4, 4, 3, {2, 2}, Padding::valid()},
                                   {{1, 10, 11, 2}, 3, 5, 2, {3, 2}, Padding::explicit_pads(2, 0, 1, 3)},
                                   {{2, 7, 7, 5}, 1, 1, 3, {2, 2}, Padding::same()}},
                                  1);
  const ConvSample same2 = conv_samples({{{2, 5, 5, 2}, 3, 3, 3, {2, 2}, Padding::same()}}, 30)[0];
  ConvSample valid1 = same2;
  valid1.c.strides = {1, 1};
  valid1.c.padding = Padding::valid();
  std::vector<Sample> out_samples;
  for (const auto* list : {&small, &large}) {
    for (const auto& s : *list) out_samples.push_back(trio_sample(s, out));
  }
  for (const auto& s : {same2, valid1}) {
    out_samples.push_back(trio_sample(s, out));
    out_samples.push_back(squared(trio_sample(s, out)));
  }
  if (out != kW) {  // conv2d and conv_transpose2d with a bias (seeds from 90)
    for (std::size_t k = 0; k < 3; ++k) out_samples.push_back(biased_sample(small[k], out, 90 + k));
    out_samples.push_back(squared(biased_sample(same2, out, 93)));
  }
  return out_samples;
}

// ---------------------------------------------------------------- the rows

std::vector<OpInfo> make_table() {
  const std::string not_differentiable = "a 0/1 comparison: a constant, no gradient flows into a or b";
  return {
      // ---- elementwise, binary
      {.name = "add",
       .linear = Linear::jointly,
       .samples = [] {
         return join({binary("add(a, b)", [](const Tensor& a, const Tensor& b) { return add(a, b); }),
                      {nonlinear(call("add(a, b) * sub(a, b)",
                                      [](const Args& in) { return add(in[0], in[1]) * sub(in[0], in[1]); },
                                      {rand({3}, 16), rand({}, 17)}))}});
       }},
      {.name = "sub",
       .linear = Linear::jointly,
       .samples = [] { return binary("sub(a, b)", [](const Tensor& a, const Tensor& b) { return sub(a, b); }); }},
      {.name = "mul",
       .linear = Linear::in_each,
       .samples = [] {
         return binary("mul(a, b)", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, {},
                       {{rand({3, 4}, 12), rand({4}, 13)}});
       }},
      {.name = "div",
       .linear = Linear::in_first,
       .samples = [] {
         return binary("div(a, b)", [](const Tensor& a, const Tensor& b) { return div(a, b); }, {0.5, 2.0},
                       {{rand({2, 3}, 14), rand({2, 1}, 15, 0.5, 2.0)}});
       }},
      {.name = "maximum",
       .samples = [] {
         return binary_away_from_ties("maximum(a, b)", [](const Tensor& a, const Tensor& b) { return maximum(a, b); });
       }},
      {.name = "minimum",
       .samples = [] {
         return binary_away_from_ties("minimum(a, b)", [](const Tensor& a, const Tensor& b) { return minimum(a, b); });
       }},
      {.name = "where",
       .linear = Linear::jointly,
       .samples = [] {
         const Tensor cond = Tensor::from_vector(std::vector<double>{1, 0, 0, 1}, {4});
         const TestFunction f = [cond](const Args& in) { return where(cond, in[0], in[1]); };
         return std::vector<Sample>{call("where(cond[4], a, b)", f, {rand({3, 4}, 5), rand({4}, 6)}),
                                    call("where(cond[4], a, b)", f, {rand({}, 7), rand({2, 4}, 8)})};
       }},

      // ---- elementwise, unary
      unary_row("neg", [](const Tensor& x) { return neg(x); }, {}, {}, Linear::jointly),
      {.name = "pow",
       .samples = [] {
         return join({unary("pow(x, 3)", [](const Tensor& x) { return pow(x, 3.0); }, {}, {rand({4}, 9)}),
                      unary("pow(x, 2.5)", [](const Tensor& x) { return pow(x, 2.5); }, {0.2, 2.0}),
                      unary("pow(x, -1.5)", [](const Tensor& x) { return pow(x, -1.5); }, {0.2, 2.0})});
       }},
      unary_row("square", [](const Tensor& x) { return square(x); }, {}, {{{4}, 11}}),
      unary_row("sqrt", [](const Tensor& x) { return sqrt(x); }, {0.2, 3.0}, {{{4}, 7, {0.3, 2.0}}}),
      unary_row("rsqrt", [](const Tensor& x) { return rsqrt(x); }, {0.2, 3.0}, {{{4}, 8, {0.3, 2.0}}}),
      unary_row("exp", [](const Tensor& x) { return exp(x); }, {}, {{{5}, 3}}),
      unary_row("log", [](const Tensor& x) { return log(x); }, {0.2, 3.0}, {{{5}, 4, {0.3, 2.0}}}),
      unary_row("log1p", [](const Tensor& x) { return log1p(x); }, {-0.5, 3.0}, {{{4}, 10, {-0.5, 2.0}}}),
      {.name = "abs",
       .samples = [] { return unary_away_from_zero("abs(x)", [](const Tensor& x) { return abs(x); }); }},
      {.name = "clip",
       .samples = [] {
         return unary_away_from_zero("clip(x, -0.5, 0.5) * 1.0",
                                     [](const Tensor& x) { return clip(x, -0.5, 0.5) * 1.0; });
       }},
      unary_row("tanh", [](const Tensor& x) { return tanh(x); }, {-3.0, 3.0}, {{{3, 4}, 1, {-2.0, 2.0}}}),
      unary_row("sigmoid", [](const Tensor& x) { return sigmoid(x); }, {-4.0, 4.0}, {{{3, 4}, 2, {-3.0, 3.0}}}),
      {.name = "relu",
       .samples = [] { return unary_away_from_zero("relu(x)", [](const Tensor& x) { return relu(x); }); }},
      {.name = "leaky_relu",
       .samples = [] {
         // alpha < 0: the backward saves x, not y.
         return join({unary_away_from_zero("leaky_relu(x, 0.3)", [](const Tensor& x) { return leaky_relu(x, 0.3); },
                                           {rand_away_from_zero({6}, 6)}),
                      unary_away_from_zero("leaky_relu(x, 0.2)", [](const Tensor& x) { return leaky_relu(x, 0.2); }),
                      unary_away_from_zero("leaky_relu(x, -0.5)",
                                           [](const Tensor& x) { return leaky_relu(x, -0.5); })});
       }},
      unary_row("softplus", [](const Tensor& x) { return softplus(x); }, {-4.0, 4.0}, {{{2, 3}, 5, {-3.0, 3.0}}}),
      {.name = "greater",
       .order = 0,
       .samples = [] {
         return binary("greater(a, b)", [](const Tensor& a, const Tensor& b) { return greater(a, b); });
       },
       .why = not_differentiable},
      {.name = "equal",
       .order = 0,
       .samples = [] {
         return binary("equal(a, b)", [](const Tensor& a, const Tensor& b) { return equal(a, b); });
       },
       .why = not_differentiable},

      // ---- reductions
      {.name = "sum",
       .linear = Linear::jointly,
       .samples = [] {
         return join({reductions("sum", [](const Tensor& x, const Axes& a, bool k) { return sum(x, a, k); }),
                      {nonlinear(call("square(sum(x, {1}))", [](const Args& in) { return square(sum(in[0], {1})); },
                                      {rand({2, 3}, 18)}))}});
       }},
      {.name = "mean",
       .linear = Linear::jointly,
       .samples = [] {
         return join({reductions("mean", [](const Tensor& x, const Axes& a, bool k) { return mean(x, a, k); }),
                      {nonlinear(call("square(mean(x, {0}, keepdims))",
                                      [](const Args& in) { return square(mean(in[0], {0}, true)); },
                                      {rand({3, 2}, 19)}))}});
       }},
      {.name = "max",
       .samples = [] {
         return reductions("max", [](const Tensor& x, const Axes& a, bool k) { return max(x, a, k); });
       }},

      // ---- softmax
      {.name = "log_softmax",
       .samples = [] { return last_axis("log_softmax", [](const Tensor& x) { return log_softmax(x); }); }},
      {.name = "softmax", .samples = [] { return last_axis("softmax", [](const Tensor& x) { return softmax(x); }); }},

      // ---- linear algebra
      {.name = "matmul",
       .linear = Linear::in_each,
       .samples = [] {
         const std::vector<std::pair<Shape, Shape>> pairs = {
             {{3, 4}, {4, 2}}, {{1, 5}, {5, 1}}, {{2, 3, 4}, {2, 4, 5}}, {{2, 3, 4}, {4, 5}}, {{3, 4}, {2, 4, 2}},
             {{2, 1, 2, 3}, {1, 3, 3, 2}}};
         const TestFunction f = [](const Args& in) { return matmul(in[0], in[1]); };
         std::vector<Sample> out;
         std::uint64_t seed = 20;
         for (const auto& [sa, sb] : pairs) {
           out.push_back(call("matmul(a, b)", f, {rand(sa, seed), rand(sb, seed + 1)}));
           seed += 2;
         }
         out.push_back(nonlinear(call("tanh(matmul(a, b))", [](const Args& in) { return tanh(matmul(in[0], in[1])); },
                                      {rand({2, 3, 2}, 22), rand({2, 3}, 23)})));
         // transpose_a / transpose_b: op(a)[m, k] @ op(b)[k, n], unbatched, and batched with either
         // operand broadcast
         const std::vector<std::tuple<bool, bool, Shape, Shape>> flagged = {
             {true, false, {4, 3}, {4, 2}},        {false, true, {3, 4}, {2, 4}},
             {true, true, {4, 3}, {2, 4}},         {true, false, {2, 4, 3}, {4, 5}},
             {false, true, {3, 4}, {2, 5, 4}},     {true, true, {2, 1, 4, 3}, {1, 3, 2, 4}},
             {true, false, {4, 3}, {2, 4, 5}},     {false, true, {2, 3, 4}, {5, 4}}};
         for (const auto& [ta, tb, sa, sb] : flagged) {
           const std::string name = std::string("matmul(a, b, ") + (ta ? "true" : "false") + ", " + (tb ? "true" : "false") + ")";
           out.push_back(call(name, [ta, tb](const Args& in) { return matmul(in[0], in[1], ta, tb); },
                              {rand(sa, seed), rand(sb, seed + 1)}));
           seed += 2;
         }
         out.push_back(nonlinear(call("tanh(matmul(a, b, true, true))",
                                      [](const Args& in) { return tanh(matmul(in[0], in[1], true, true)); },
                                      {rand({3, 2}, 24), rand({3, 3}, 25)})));
         return out;
       },
       .declarations = 2},

      // ---- shape ops
      {.name = "reshape",
       .linear = Linear::jointly,
       .samples = [] {
         const Tensor x = rand({2, 3, 4}, 30);
         return std::vector<Sample>{
             call("reshape(x, {4, -1}) * 1.0", [](const Args& in) { return reshape(in[0], {4, -1}) * 1.0; }, {x}),
             call("reshape(x, {24})", [](const Args& in) { return reshape(in[0], {24}); }, {x}),
             nonlinear(call("square(reshape(x, {6}))", [](const Args& in) { return square(reshape(in[0], {6})); },
                            {rand({2, 3}, 25)}))};
       }},
      {.name = "permute",
       .linear = Linear::jointly,
       .samples = [] {
         const Tensor x = rand({2, 3, 4}, 30);
         Sample adjoint = call("permute(x, {2, 0, 3, 1})", [](const Args& in) { return permute(in[0], {2, 0, 3, 1}); },
                               {rand({2, 3, 4, 5}, 30)});
         adjoint.transpose = [](const Args&, const Tensor& u) { return Args{permute(u, {1, 3, 0, 2})}; };
         adjoint.upstream = rand({4, 2, 5, 3}, 31);
         return std::vector<Sample>{
             call("permute(x, {2, 0, 1})", [](const Args& in) { return permute(in[0], {2, 0, 1}); }, {x}),
             call("permute(x, {1, 0, 2})", [](const Args& in) { return permute(in[0], {1, 0, 2}); }, {x}), adjoint};
       }},
      {.name = "transpose",
       .linear = Linear::jointly,
       .samples = [] {
         return std::vector<Sample>{
             call("transpose(x)", [](const Args& in) { return transpose(in[0]); }, {rand({2, 3, 4}, 30)})};
       }},
      {.name = "broadcast_to",
       .linear = Linear::jointly,
       .samples = [] {
         std::vector<Sample> out = broadcast_pair_samples(true);
         // against sum_to, its public transpose (seeds 20, 21, ...)
         const std::vector<std::pair<Shape, Shape>> pairs = {{{3}, {4, 3}}, {{2, 1, 3}, {5, 2, 4, 3}}, {{}, {2, 2}}};
         std::uint64_t seed = 20;
         for (const auto& [small, big] : pairs) {
           Sample s = call("broadcast_to(x, " + big.to_string() + ")",
                           [big = big](const Args& in) { return broadcast_to(in[0], big); }, {rand(small, seed)});
           s.transpose = [small = small](const Args&, const Tensor& u) { return Args{sum_to(u, small)}; };
           s.upstream = rand(big, seed + 1);
           out.push_back(s);
           seed += 2;
         }
         out.push_back(nonlinear(call("square(broadcast_to(x, [3, 4]))",
                                      [](const Args& in) { return square(broadcast_to(in[0], {3, 4})); },
                                      {rand({4}, 24)})));
         return out;
       }},
      {.name = "sum_to", .linear = Linear::jointly, .samples = [] { return broadcast_pair_samples(false); }},
      {.name = "one_hot",
       .order = 0,
       .samples = [] {
         const Tensor ids = Tensor::from_vector(std::vector<double>{2, 0, 3, 3, 1, 0}, {2, 3});
         return std::vector<Sample>{call("one_hot(ids, 4)", [](const Args& in) { return one_hot(in[0], 4); }, {ids})};
       },
       .why = "indices in, 0/1 out: a constant, no gradient flows into the indices"},
      {.name = "concat",
       .linear = Linear::jointly,
       .samples = [] {
         Sample adjoint = call("concat({a, b}, 1)", [](const Args& in) { return concat(in, 1); },
                               {rand({2, 3}, 40), rand({2, 4}, 41)});
         adjoint.transpose = [](const Args&, const Tensor& u) {
           return Args{slice(u, {0, 0}, {2, 3}), slice(u, {0, 3}, {2, 4})};
         };
         adjoint.upstream = rand({2, 7}, 42);
         return std::vector<Sample>{
             call("concat(xs, 1)", [](const Args& in) { return concat(in, 1); },
                  {rand({2, 3}, 50), rand({2, 1}, 51), rand({2, 2}, 52)}),
             call("concat(xs, 0)", [](const Args& in) { return concat(in, 0); }, {rand({1, 3}, 53), rand({2, 3}, 54)}),
             adjoint,
             nonlinear(call("square(concat({a, b}, 1))",
                            [](const Args& in) { return square(concat({in[0], in[1]}, 1)); },
                            {rand({2, 2}, 28), rand({2, 1}, 29)}))};
       }},
      {.name = "slice",
       .linear = Linear::jointly,
       .samples = [] {
         Sample adjoint = call("slice(x, {1, 2}, {3, 3})", [](const Args& in) { return slice(in[0], {1, 2}, {3, 3}); },
                               {rand({5, 6}, 12)});
         adjoint.transpose = [](const Args&, const Tensor& v) { return Args{pad(v, {{1, 1}, {2, 1}})}; };
         adjoint.upstream = rand({3, 3}, 13);
         return std::vector<Sample>{
             call("slice(x, {1, 0, 2}, {2, -1, 2})", [](const Args& in) { return slice(in[0], {1, 0, 2}, {2, -1, 2}); },
                  {rand({3, 4, 5}, 55)}),
             adjoint,
             nonlinear(call("square(slice(x, {0, 1}, {2, 2}))",
                            [](const Args& in) { return square(slice(in[0], {0, 1}, {2, 2})); }, {rand({3, 4}, 27)}))};
       }},
      {.name = "pad",
       .linear = Linear::jointly,
       .samples = [] {
         Sample adjoint = call("pad(x, {{1, 2}, {0, 3}, {2, 0}})",
                               [](const Args& in) { return pad(in[0], {{1, 2}, {0, 3}, {2, 0}}); },
                               {rand({3, 4, 2}, 10)});
         adjoint.transpose = [](const Args&, const Tensor& u) { return Args{slice(u, {1, 0, 2}, {3, 4, 2})}; };
         adjoint.upstream = rand({6, 7, 4}, 11);
         return std::vector<Sample>{
             call("pad(x, {{1, 0}, {0, 2}, {2, 1}})",
                  [](const Args& in) { return pad(in[0], {{1, 0}, {0, 2}, {2, 1}}); }, {rand({3, 4, 5}, 55)}),
             adjoint,
             nonlinear(call("square(pad(x, {{1, 0}, {2, 1}}))",
                            [](const Args& in) { return square(pad(in[0], {{1, 0}, {2, 1}})); }, {rand({2, 3}, 26)}))};
       }},
      {.name = "squeeze",
       .linear = Linear::jointly,
       .samples = [] {
         return std::vector<Sample>{
             call("squeeze(expand_dims(x, 1), 1) * 2.0",
                  [](const Args& in) { return squeeze(expand_dims(in[0], 1), 1) * 2.0; }, {rand({2, 3, 4}, 30)}),
             call("squeeze(x, -2)", [](const Args& in) { return squeeze(in[0], -2); }, {rand({2, 1, 3}, 32)})};
       }},
      {.name = "expand_dims",
       .linear = Linear::jointly,
       .samples = [] {
         const Tensor x = rand({2, 3, 4}, 30);
         return std::vector<Sample>{
             call("expand_dims(x, 0)", [](const Args& in) { return expand_dims(in[0], 0); }, {x}),
             call("expand_dims(x, -1)", [](const Args& in) { return expand_dims(in[0], -1); }, {x})};
       }},

      // ---- convolution
      {.name = "conv2d", .linear = Linear::in_each, .samples = [] { return trio(kU); }, .declarations = 2, .tags = "[conv]"},
      {.name = "conv_transpose2d",
       .linear = Linear::in_each,
       .samples = [] { return trio(kX); },
       .declarations = 2,
       .tags = "[conv]"},
      {.name = "conv2d_weight_grad", .linear = Linear::in_each, .samples = [] { return trio(kW); }, .tags = "[conv]"},
      {.name = "conv_geometry",
       .order = 0,
       .why = "integer shape arithmetic without tensors: its values are tested in test_conv.cpp"},

      // ---- pooling
      {.name = "max_pool2d",
       .samples = [] { return pooling("max_pool2d", max_pool2d, max_pool2d); },
       .declarations = 2},
      {.name = "avg_pool2d",
       .linear = Linear::jointly,
       .samples = [] { return pooling("avg_pool2d", avg_pool2d, avg_pool2d); },
       .declarations = 2},

      // ---- resampling
      {.name = "upsample_nearest2d",
       .linear = Linear::jointly,
       .samples = [] {
         return std::vector<Sample>{
             call("upsample_nearest2d(x, {2, 2})", [](const Args& in) { return upsample_nearest2d(in[0], {2, 2}); },
                  {rand({2, 3, 4, 2}, 430)}),
             call("upsample_nearest2d(x, {1, 3})", [](const Args& in) { return upsample_nearest2d(in[0], {1, 3}); },
                  {rand({1, 2, 2, 3}, 431)}),
             nonlinear(call("square(upsample_nearest2d(x, {3, 2}))",
                            [](const Args& in) { return square(upsample_nearest2d(in[0], {3, 2})); }, {rand({1, 2, 3, 1}, 432)}))};
       },
       .tags = "[resample]"},
      {.name = "resize_bilinear2d",
       .linear = Linear::jointly,
       .samples = [] {
         return std::vector<Sample>{
             call("resize_bilinear2d(x, {6, 8})", [](const Args& in) { return resize_bilinear2d(in[0], {6, 8}); },
                  {rand({2, 3, 4, 2}, 440)}),
             call("resize_bilinear2d(x, {7, 3}) (rows up, columns down)",
                  [](const Args& in) { return resize_bilinear2d(in[0], {7, 3}); }, {rand({1, 5, 5, 1}, 441)}),
             call("resize_bilinear2d(x, {3, 2}) from 1x1", [](const Args& in) { return resize_bilinear2d(in[0], {3, 2}); },
                  {rand({2, 1, 1, 3}, 442)}),
             call("resize_bilinear2d(x, {6, 5}, TensorFlow 1's corner sampling)",
                  [](const Args& in) { return resize_bilinear2d(in[0], {6, 5}, false); }, {rand({1, 3, 4, 2}, 444)}),
             nonlinear(call("square(resize_bilinear2d(x, {4, 4}))",
                            [](const Args& in) { return square(resize_bilinear2d(in[0], {4, 4})); }, {rand({1, 2, 2, 2}, 443)}))};
       },
       .tags = "[resample]"},

      // ---- normalization and dropout
      {.name = "layer_norm",
       .samples = [] {
         return std::vector<Sample>{
             call("layer_norm(x, gamma, beta, 1e-3)", [](const Args& in) { return layer_norm(in[0], in[1], in[2], 1e-3); },
                  {rand({3, 5}, 450, -2.0, 2.0), rand({5}, 451, 0.5, 1.5), rand({5}, 452)}),
             call("layer_norm(x, no gamma, no beta, 1e-5)",
                  [](const Args& in) { return layer_norm(in[0], Tensor(), Tensor(), 1e-5); }, {rand({2, 2, 4}, 453)})};
       },
       .tags = "[normalization]"},
      {.name = "group_norm",
       .samples = [] {
         return std::vector<Sample>{
             call("group_norm(x, 2, gamma, beta, 1e-3)",
                  [](const Args& in) { return group_norm(in[0], 2, in[1], in[2], 1e-3); },
                  {rand({2, 3, 3, 4}, 460, -2.0, 2.0), rand({4}, 461, 0.5, 1.5), rand({4}, 462)}),
             call("group_norm(x, 3, no gamma, no beta, 1e-5) (instance norm)",
                  [](const Args& in) { return group_norm(in[0], 3, Tensor(), Tensor(), 1e-5); }, {rand({2, 2, 2, 3}, 463)}),
             call("group_norm(x, 1, gamma, no beta, 1e-3)",
                  [](const Args& in) { return group_norm(in[0], 1, in[1], Tensor(), 1e-3); },
                  {rand({3, 4}, 464), rand({4}, 465, 0.5, 1.5)})};
       },
       .tags = "[normalization]"},
      {.name = "batch_norm",
       .samples = [] {
         return std::vector<Sample>{
             call("batch_norm(x, gamma, beta, 1e-3).y",
                  [](const Args& in) { return batch_norm(in[0], in[1], in[2], 1e-3).y; },
                  {rand({3, 2, 2, 4}, 9, -2.0, 2.0), rand({4}, 10, 0.5, 1.5), rand({4}, 11)}),
             call("batch_norm(x, no gamma, no beta, 1e-3).y",
                  [](const Args& in) { return batch_norm(in[0], Tensor(), Tensor(), 1e-3).y; }, {rand({5, 3}, 12)}),
             // Cross-replica: two identical replicas (the sum doubles) normalize as one; and a
             // second replica whose sums are fixed numbers, so the global statistics differ.
             call("batch_norm(x, gamma, beta, 1e-3, 2 identical replicas).y",
                  [](const Args& in) {
                    return batch_norm(in[0], in[1], in[2], 1e-3, [](const Tensor& t) { return t * 2.0; }, 2).y;
                  },
                  {rand({3, 2, 4}, 13, -2.0, 2.0), rand({4}, 14, 0.5, 1.5), rand({4}, 15)}),
             call("batch_norm(x, gamma, no beta, 1e-3, + a replica of fixed sums).y",
                  [](const Args& in) {
                    const Tensor other = Tensor::from_vector(std::vector<double>{1.5, -0.5, 2.0}) * 4.0;
                    return batch_norm(in[0], in[1], Tensor(), 1e-3, [other](const Tensor& t) { return t + other; }, 2).y;
                  },
                  {rand({4, 3}, 16, -2.0, 2.0), rand({3}, 17, 0.5, 1.5)})};
       },
       .declarations = 2,
       .tags = "[normalization]"},
      {.name = "dropout",
       .linear = Linear::jointly,
       .samples = [] {
         // A generator of its own on every call: the same mask each time.
         const auto f = [](const Args& in) {
           Generator gen(7);
           return dropout(in[0], 0.4, gen);
         };
         return std::vector<Sample>{
             nonlinear(call("square(dropout(x, 0.4, Generator(7)))", [f](const Args& in) { return square(f(in)); },
                            {rand({3, 4, 5}, 21)})),
             call("dropout(x, 0.4, Generator(7))", f, {rand({3, 4, 5}, 21)}),
             call("dropout(x, 0.4, Generator(7), shard 1 of 3)",
                  [](const Args& in) {
                    Generator gen(7);
                    return dropout(in[0], 0.4, gen, BatchShard{1, 3});
                  },
                  {rand({2, 4, 5}, 22)})};
       },
       .declarations = 2,
       .tags = "[normalization][dropout]"},
      {.name = "leaky_relu_dropout",
       .samples = [] {
         // A generator of its own on every call: the same mask each time; x away from the kink.
         return std::vector<Sample>{
             call("leaky_relu_dropout(x, 0.2, 0.4, Generator(7))",
                  [](const Args& in) {
                    Generator gen(7);
                    return leaky_relu_dropout(in[0], 0.2, 0.4, gen);
                  },
                  {rand_away_from_zero({3, 4, 5}, 23)}),
             call("leaky_relu_dropout(x, -0.5, 0.3, Generator(7), shard 1 of 2)",
                  [](const Args& in) {
                    Generator gen(7);
                    return leaky_relu_dropout(in[0], -0.5, 0.3, gen, BatchShard{1, 2});
                  },
                  {rand_away_from_zero({2, 4, 5}, 24)})};
       },
       .tags = "[normalization][dropout]"},

      // ---- optimizer steps
      {.name = "adam_step",
       .order = 0,
       .samples = [] {
         const auto f = [](const Args& in) {
           const AdamStep s = adam_step(in[0], in[1], in[2], in[3], 1e-3, 0.9, 0.999, 1e-7, 1);
           return concat({reshape(s.var, {-1}), reshape(s.m, {-1}), reshape(s.v, {-1})}, 0);
         };
         const Args inputs{rand({7, 5}, 23), rand({7, 5}, 24), rand({7, 5}, 25), rand({7, 5}, 26, 0.0, 1.0)};
         return std::vector<Sample>{call("adam_step(var, grad, m, v, 1e-3, 0.9, 0.999, 1e-7, 1)", f, inputs)};
       },
       .why = "an optimizer step: it records nothing, so no gradient flows into var, grad, m or v",
       .tags = "[adam]"},

      // ---- operators
      {.name = "operator+",
       .linear = Linear::jointly,
       .samples = [] {
         return join({binary("a + b", [](const Tensor& a, const Tensor& b) { return a + b; }),
                      nonlinear(unary("x + 1.0", [](const Tensor& x) { return x + 1.0; })),
                      nonlinear(unary("1.0 + x", [](const Tensor& x) { return 1.0 + x; })),
                      nonlinear(unary("x * 2.0 + 1.0", [](const Tensor& x) { return x * 2.0 + 1.0; }))});
       },
       .declarations = 3},
      {.name = "operator-",
       .linear = Linear::jointly,
       .samples = [] {
         return join({binary("a - b", [](const Tensor& a, const Tensor& b) { return a - b; }),
                      unary("-x", [](const Tensor& x) { return -x; }),
                      nonlinear(unary("x - 1.0", [](const Tensor& x) { return x - 1.0; })),
                      nonlinear(unary("1.0 - x", [](const Tensor& x) { return 1.0 - x; }))});
       },
       .declarations = 4},
      {.name = "operator*",
       .linear = Linear::in_each,
       .samples = [] {
         return join({binary("a * b", [](const Tensor& a, const Tensor& b) { return a * b; }),
                      unary("x * 2.0", [](const Tensor& x) { return x * 2.0; }),
                      unary("2.0 * x", [](const Tensor& x) { return 2.0 * x; })});
       },
       .declarations = 3},
      {.name = "operator/",
       .linear = Linear::in_first,
       .samples = [] {
         return join({binary("a / b", [](const Tensor& a, const Tensor& b) { return a / b; }, {0.5, 2.0}),
                      unary("x / 2.0", [](const Tensor& x) { return x / 2.0; }),
                      nonlinear(unary("2.0 / x", [](const Tensor& x) { return 2.0 / x; }, {0.5, 2.0})),
                      nonlinear(unary("1.0 / (x + 3.0) - 2.0 * x",
                                      [](const Tensor& x) { return 1.0 / (x + 3.0) - 2.0 * x; }))});
       },
       .declarations = 3},
  };
}

}  // namespace

const std::vector<OpInfo>& op_table() {
  static const std::vector<OpInfo> table = make_table();
  return table;
}

}  // namespace test
