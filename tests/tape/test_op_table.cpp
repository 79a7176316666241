// The op table's tests, generated: one Catch test case per op and check, named
// "op table: <op>: <check>" and tagged [optable] and [<check>]. Checks: gradcheck (order >= 1),
// gradgradcheck (order 2), adjoint (linear ops: <A x, u> = <x, A^T u> with A^T from the tape and,
// where given, from other public ops) and "not differentiable" (order 0: no gradient flows).
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "op_table.h"
#include "support/test_support.h"

namespace {

using namespace tape;
using test::Args;
using test::Linear;
using test::OpInfo;
using test::Sample;

// ---------------------------------------------------------------- the checks

void check_finite_differences(const OpInfo& op, bool second_order) {
  for (const Sample& s : op.samples()) {
    if (!s.finite_differences) continue;
    INFO(op.name << ": " << s.label);
    const GradcheckResult r = second_order ? gradgradcheck(s.f, s.inputs) : gradcheck(s.f, s.inputs);
    INFO(r.report);
    CHECK(r.ok);
  }
}

double dot(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  return sum(mul(a, b)).item();
}

// The groups of inputs whose terms <x_i, (A^T u)_i> add up to <A x, u>.
std::vector<std::vector<std::size_t>> adjoint_groups(Linear linear, std::size_t inputs) {
  std::vector<std::vector<std::size_t>> groups;
  if (linear == Linear::jointly) groups.emplace_back();
  for (std::size_t i = 0; i < inputs; ++i) {
    if (linear == Linear::jointly) groups[0].push_back(i);
    if (linear == Linear::in_each || (linear == Linear::in_first && i == 0)) groups.push_back({i});
  }
  return groups;
}

// <A x, u> against the sum of <x_i, t_i> over each group; a group with an undefined t_i is skipped.
void check_adjoint_terms(const char* what, double lhs, const Args& x, const Args& t, Linear linear) {
  REQUIRE(t.size() == x.size());
  for (const auto& group : adjoint_groups(linear, x.size())) {
    double rhs = 0.0;
    bool complete = true;
    for (std::size_t i : group) {
      complete = complete && t[i].defined();
      if (t[i].defined()) rhs += dot(x[i], t[i]);
    }
    if (!complete) continue;
    INFO(what << ", inputs " << group.front() << ".." << group.back() << ": lhs=" << lhs << " rhs=" << rhs);
    CHECK(std::abs(lhs - rhs) <= 1e-12 * std::max(std::abs(lhs), 1.0));
  }
}

// The tape's vector-Jacobian product: d<f(x), u>/dx.
Args tape_transpose(const Sample& s, const Tensor& u) {
  GradientTape t;
  t.watch(s.inputs);
  const Tensor y = s.f(s.inputs);
  return t.gradient({y}, s.inputs, {.output_gradients = {u}, .unconnected = Unconnected::zero});
}

void check_adjoint(const OpInfo& op) {
  for (const Sample& s : op.samples()) {
    const Linear linear = test::linearity(op, s);
    if (linear == Linear::no) continue;
    INFO(op.name << ": " << s.label);
    const Tensor y = s.f(s.inputs);
    const Tensor u = s.upstream.defined() ? s.upstream : test::rand(y.shape(), 7);
    const double lhs = dot(y, u);
    check_adjoint_terms("A^T from the tape", lhs, s.inputs, tape_transpose(s, u), linear);
    if (s.transpose) check_adjoint_terms("A^T from public ops", lhs, s.inputs, s.transpose(s.inputs, u), linear);
  }
}

// The op records nothing: a tape watching every input finds no gradient for any of them.
void check_not_differentiable(const OpInfo& op) {
  for (const Sample& s : op.samples()) {
    INFO(op.name << ": " << s.label);
    GradientTape t;
    t.watch(s.inputs);
    const Args grads = t.gradient(s.f(s.inputs), s.inputs);
    for (std::size_t i = 0; i < grads.size(); ++i) {
      INFO("input " << i);
      CHECK_FALSE(grads[i].defined());
    }
  }
}

// ---------------------------------------------------------------- registration

class OpCheck : public Catch::ITestInvoker {
 public:
  OpCheck(const OpInfo& op, std::function<void(const OpInfo&)> run) : op_(op), run_(std::move(run)) {}
  void invoke() const override { run_(op_); }

 private:
  const OpInfo& op_;
  std::function<void(const OpInfo&)> run_;
};

void add_test(const OpInfo& op, const std::string& check, const std::function<void(const OpInfo&)>& run) {
  const std::string name = "op table: " + op.name + ": " + check;
  std::string tag = check;
  for (char& c : tag) c = c == ' ' ? '_' : c;
  const std::string tags = "[optable][" + tag + "]" + op.tags;
  const Catch::AutoReg registration(new OpCheck(op, run), CATCH_INTERNAL_LINEINFO, Catch::StringRef(),
                                    Catch::NameAndTags{name, tags});
}

bool register_op_tests() {
  for (const OpInfo& op : test::op_table()) {
    if (!op.samples) continue;
    if (op.order == 0) add_test(op, "not differentiable", check_not_differentiable);
    if (op.order >= 1) add_test(op, "gradcheck", [](const OpInfo& o) { check_finite_differences(o, false); });
    if (op.order >= 2) add_test(op, "gradgradcheck", [](const OpInfo& o) { check_finite_differences(o, true); });
    if (op.linear != Linear::no) add_test(op, "adjoint", check_adjoint);
  }
  return true;
}

[[maybe_unused]] const bool registered = register_op_tests();

}  // namespace
