// The op table: every op tape/include/tape/ops.h declares, listed once, with sample calls, its
// linearity and how many times it is differentiable. It drives the float64 gradcheck,
// gradgradcheck, adjoint and not-differentiable tests (test_op_table.cpp); test_op_coverage.cpp
// fails when ops.h and the table disagree. Adding an op means adding a row to op_table.cpp.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tape/tape.h"

namespace test {

using Args = std::vector<tape::Tensor>;

// How an op is linear in its inputs, for the adjoint test <A x, u> = <x, A^T u>.
enum class Linear {
  no,
  jointly,   // in all inputs together: add(a, b), concat(xs), where(cond, a, b)
  in_each,   // in each input with the others fixed: mul, matmul, conv2d
  in_first,  // in inputs[0] with the others fixed: div(a, b)
};

// A^T u written with other public ops: one tensor per input, undefined where there is none.
using Transpose = std::function<Args(const Args& inputs, const tape::Tensor& u)>;

// One call of an op: f applied to float64 `inputs`; constants (options, a condition) are captured.
struct Sample {
  std::string label;  // the call with its shapes and options, shown when a check fails
  tape::TestFunction f;
  Args inputs;
  std::optional<Linear> linear;    // overrides the row's linearity (x + 1.0 is affine, not linear)
  Transpose transpose;             // also checked against <A x, u> when given
  tape::Tensor upstream;           // u for the adjoint test; undefined: seeded uniform
  bool finite_differences = true;  // false: too large for gradcheck, adjoint test only
};

struct OpInfo {
  std::string name;  // as declared in ops.h
  // 0: not differentiable (the test checks that no gradient flows), 1: gradcheck,
  // 2: gradcheck and gradgradcheck.
  int order = 2;
  Linear linear = Linear::no;                    // for every sample that does not say otherwise
  std::function<std::vector<Sample>()> samples;  // empty only for a row without tensor inputs
  std::string why;                               // why the order is below 2, or there are no samples
  int declarations = 1;                          // how many overloads ops.h declares under `name`
  std::string tags;                              // extra Catch tags, e.g. "[conv]"
};

const std::vector<OpInfo>& op_table();

// The sample's linearity: its own, else its row's.
inline Linear linearity(const OpInfo& op, const Sample& s) { return s.linear.value_or(op.linear); }

}  // namespace test
