// GradientTape: records differentiable ops on a thread-local stack and computes gradients by a
// reverse sweep (tf.GradientTape semantics), plus stop_gradient, NoRecord and custom_gradient.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tape/tensor.h"
#include "tape/variable.h"

namespace tape {

// What gradient() returns for a source the target does not depend on.
enum class Unconnected { none, zero };

struct TapeOptions {
  // Allow several gradient()/jacobian() calls; what was recorded lives until the tape dies.
  bool persistent = false;
  // Watch trainable Variables read while this tape records.
  bool watch_accessed_variables = true;
};

struct GradientOptions {
  // One upstream gradient per target (shape of the target); default: ones (gradient of the sum).
  std::vector<Tensor> output_gradients;
  Unconnected unconnected = Unconnected::none;
};

class GradientTape;

// Pauses one tape while alive (GradientTape::stop_recording()).
class [[nodiscard]] StopRecording {
 public:
  explicit StopRecording(GradientTape& tape);
  ~StopRecording();
  StopRecording(const StopRecording&) = delete;
  StopRecording& operator=(const StopRecording&) = delete;

 private:
  GradientTape* tape_;
  bool was_recording_;
};

class GradientTape {
 public:
  explicit GradientTape(TapeOptions options = {});
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  // Start tracing tensors/variables: ops on them are recorded from now on.
  void watch(const Tensor& tensor);
  void watch(const std::vector<Tensor>& tensors);
  void watch(const Variable& variable);
  void watch(const std::vector<Variable>& variables);

  // d target / d source. A non-scalar target gives the gradient of its sum.
  Tensor gradient(const Tensor& target, const Tensor& source, const GradientOptions& options = {});
  Tensor gradient(const Tensor& target, const Variable& source, const GradientOptions& options = {});
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources,
                               const GradientOptions& options = {});
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Variable>& sources,
                               const GradientOptions& options = {});
  // Several targets: the gradient of their sum (output_gradients: one per target).
  std::vector<Tensor> gradient(const std::vector<Tensor>& targets, const std::vector<Tensor>& sources,
                               const GradientOptions& options = {});

  // Full Jacobian: shape target.shape + source.shape (one reverse sweep per element of target).
  Tensor jacobian(const Tensor& target, const Tensor& source, Unconnected unconnected = Unconnected::none);
  Tensor jacobian(const Tensor& target, const Variable& source, Unconnected unconnected = Unconnected::none);
  // Several sources in the same sweeps: one Jacobian per source, each target.shape + source.shape.
  std::vector<Tensor> jacobian(const Tensor& target, const std::vector<Tensor>& sources,
                               Unconnected unconnected = Unconnected::none);
  std::vector<Tensor> jacobian(const Tensor& target, const std::vector<Variable>& sources,
                               Unconnected unconnected = Unconnected::none);
  // Per-example Jacobian: target [b, y...], source [b, x...] -> [b, y..., x...]; assumes
  // target[i] depends on source[i] only.
  Tensor batch_jacobian(const Tensor& target, const Tensor& source,
                        Unconnected unconnected = Unconnected::none);

  // Pause this tape while the returned guard lives (throws TapeError if it is not recording).
  StopRecording stop_recording();
  // Forget everything recorded so far and keep recording.
  void reset();
  // Variables watched so far, in the order they were first watched.
  std::vector<Variable> watched_variables() const;
  bool persistent() const;
  bool recording() const;

  struct Impl;

 private:
  friend class StopRecording;
  std::vector<Tensor> compute(const std::vector<Tensor>& targets, const std::vector<TensorId>& source_ids,
                              const std::vector<Tensor>& source_values, const GradientOptions& options,
                              bool consume);
  std::unique_ptr<Impl> impl_;
};

// Pauses every tape on this thread while alive (optimizer steps, metrics, data preparation).
class [[nodiscard]] NoRecord {
 public:
  NoRecord();
  ~NoRecord();
  NoRecord(const NoRecord&) = delete;
  NoRecord& operator=(const NoRecord&) = delete;
};

// Identity forward; the result is a constant to every tape.
Tensor stop_gradient(const Tensor& x);

// ---- custom gradients ----
// The backward of a custom op: upstream gradient (shape of the output) -> one gradient per input
// (an undefined Tensor for "none").
using CustomBackward = std::function<std::vector<Tensor>(const Tensor& upstream)>;

struct CustomGradientResult {
  Tensor output;
  CustomBackward backward;  // empty: the op has no gradient rule (differentiating it throws)
};

struct CustomGradientOptions {
  // The backward is not itself differentiable: asking for a second derivative throws.
  bool once_differentiable = false;
};

// Runs `forward(inputs)` without recording its inner ops, then records one op named `name` whose
// gradient is the returned backward. Backwards written with tape ops are differentiable again.
Tensor custom_gradient(const std::string& name, const std::vector<Tensor>& inputs,
                       const std::function<CustomGradientResult(const std::vector<Tensor>&)>& forward,
                       const CustomGradientOptions& options = {});

}  // namespace tape
