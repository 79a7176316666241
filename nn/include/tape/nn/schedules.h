// Learning-rate schedules (Keras' LearningRateSchedule, PyTorch's LR schedulers): the learning
// rate as a function of the optimizer's update count. An optimizer given a schedule sets its
// rate from it before every update, so a run restored from a checkpoint (which saves the count)
// follows the same rates.
#pragma once
#include <cstdint>
#include <string>

namespace tape::nn {

// lr(step) for step = 0, 1, 2, ... (the number of updates made before this one).
//   constant:  initial
//   linear:    initial until `start`, then linearly to initial * final_factor at `end`, then flat
//              (PyTorch LinearLR's shape, delayed; GAN recipes' "decay to zero")
//   cosine:    initial until `start`, then initial * (f + (1 - f) (1 + cos(pi t)) / 2) with
//              t = (step - start) / (end - start) clamped to [0, 1], f = final_factor
//              (Keras CosineDecay with alpha = f, PyTorch CosineAnnealingLR with eta_min = f * lr)
//   step:      initial * gamma^floor(step / step_size) (PyTorch StepLR, Keras ExponentialDecay with
//              staircase=True)
// Any of them with_warmup(w, f): for step < w the rate is scaled by f + (1 - f) step / w, a
// linear warm-up from f * rate (PyTorch LinearLR(start_factor=f, total_iters=w) in front); the
// schedule's own steps stay absolute (start a decay at w for "warm up, then decay").
class LearningRateSchedule {
 public:
  enum class Kind { constant, linear, cosine, step };

  LearningRateSchedule() = default;  // constant 1e-3
  static LearningRateSchedule constant(double initial);
  static LearningRateSchedule linear(double initial, std::int64_t start, std::int64_t end, double final_factor = 0.0);
  static LearningRateSchedule cosine(double initial, std::int64_t start, std::int64_t end, double final_factor = 0.0);
  static LearningRateSchedule step(double initial, std::int64_t step_size, double gamma);
  // This schedule behind a linear warm-up of `steps` updates from start_factor * rate.
  // ValueError unless steps >= 0 and start_factor in [0, 1].
  LearningRateSchedule with_warmup(std::int64_t steps, double start_factor = 0.0) const;
  // "constant", "linear" or "cosine" (the names a command line or config file uses); throws
  // ValueError naming the word otherwise.
  static LearningRateSchedule from_name(const std::string& kind, double initial, std::int64_t start,
                                        std::int64_t end, double final_factor = 0.0);

  double operator()(std::int64_t step) const;
  Kind kind() const { return kind_; }
  std::string kind_name() const;
  double initial() const { return initial_; }
  std::int64_t start() const { return start_; }
  std::int64_t end() const { return end_; }
  double final_factor() const { return final_factor_; }
  std::int64_t warmup_steps() const { return warmup_steps_; }
  double warmup_start_factor() const { return warmup_start_factor_; }

 private:
  LearningRateSchedule(Kind kind, double initial, std::int64_t start, std::int64_t end, double final_factor);
  Kind kind_ = Kind::constant;
  double initial_ = 1e-3;
  std::int64_t start_ = 0, end_ = 0;
  double final_factor_ = 1.0;  // step: gamma; end_: step_size
  std::int64_t warmup_steps_ = 0;
  double warmup_start_factor_ = 0.0;
};

}  // namespace tape::nn
