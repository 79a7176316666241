// Internal: how ops talk to the active tapes. An op computes its output, then (only when some
// active tape tracks one of its inputs) records a backward function built from public ops.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tape/gradient_tape.h"
#include "tape/profiler.h"
#include "tape/tensor.h"

namespace tape::detail {

// Upstream gradients (one per output, never undefined) and which inputs need a gradient ->
// one gradient per input (undefined where not needed or not connected).
using BackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& grads,
                                                     const std::vector<bool>& needs)>;
// Single-output form.
using Backward1 = std::function<std::vector<Tensor>(const Tensor& grad, const std::vector<bool>& needs)>;

// True when some active, recording tape on this thread tracks one of `inputs`.
bool should_record(const std::vector<Tensor>& inputs);
bool should_record(const Tensor& a);
bool should_record(const Tensor& a, const Tensor& b);

// Records the op on every active tape that tracks one of its inputs. An empty backward means
// "no gradient rule": differentiating through it throws a TapeError naming `op` and `why`.
void record(std::string op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward, std::string why_no_gradient = "");
void record(std::string op, const std::vector<Tensor>& inputs, const Tensor& output, Backward1 backward);

// One op, named once: while alive it times the op for an active Profiler, and it records the op
// on the tapes under the same name. Ops pass name() to their argument checks too.
class OpScope {
 public:
  explicit OpScope(const char* name) : name_(name), profile_(name) {}
  const char* name() const { return name_; }
  void record(const std::vector<Tensor>& inputs, const Tensor& output, Backward1 backward) const {
    detail::record(name_, inputs, output, std::move(backward));
  }

 private:
  const char* name_;
  ProfileScope profile_;
};

// Called by Variable::value(): active tapes that watch accessed variables watch it.
void on_variable_read(const Variable& variable, const Tensor& value);

}  // namespace tape::detail
