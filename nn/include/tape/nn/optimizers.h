// Optimizers: Adam (bias-corrected, as in Keras and PyTorch) and SGD with momentum; weight
// averaging (an exponential moving average of a model in a twin model).
// apply_gradients(grads, vars) updates Variables outside any tape; undefined gradients are skipped.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tape/nn/schedules.h"
#include "tape/tape.h"

namespace tape::nn {

class Module;

// A named tensor of optimizer state ("m", "v", "momentum") for one variable.
struct SlotTensor {
  std::string variable;  // the variable's name
  std::string slot;
  Tensor value;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates each variable with its gradient (same order); an undefined gradient skips that
  // variable. Throws ShapeError/DTypeError naming the variable on a mismatch.
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);
  std::int64_t iterations() const { return iterations_; }
  double learning_rate() const { return lr_; }
  // A fixed rate from now on (drops any schedule).
  void set_learning_rate(double lr) {
    lr_ = lr;
    schedule_.reset();
  }
  // The rate of each update from now on is schedule(iterations()) (the count before the update).
  void set_learning_rate_schedule(const LearningRateSchedule& schedule) {
    schedule_ = schedule;
    lr_ = schedule(iterations_);
  }
  const std::optional<LearningRateSchedule>& learning_rate_schedule() const { return schedule_; }

  // State for checkpoints: every slot tensor plus the step count.
  std::vector<SlotTensor> state() const;
  // Restores state saved by state(); slots are matched by variable name and slot.
  void load_state(const std::vector<SlotTensor>& slots, std::int64_t iterations);
  virtual std::string type_name() const = 0;

 protected:
  explicit Optimizer(double lr) : lr_(lr) {}
  // Updates one variable; `slots` holds this variable's state (created on first use).
  virtual void update(Variable& var, const Tensor& grad, std::map<std::string, Tensor>& slots) = 0;
  double lr_;
  std::int64_t iterations_ = 0;
  std::optional<LearningRateSchedule> schedule_;

 private:
  std::map<const void*, std::pair<std::string, std::map<std::string, Tensor>>> slots_;
  std::map<std::string, std::map<std::string, Tensor>> pending_;  // loaded before the variables were seen
};

struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-7;  // Keras' default (PyTorch uses 1e-8)
};

// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// var -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)   (PyTorch's form)
class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions options = {});
  std::string type_name() const override { return "Adam"; }
  const AdamOptions& options() const { return options_; }

 protected:
  void update(Variable& var, const Tensor& grad, std::map<std::string, Tensor>& slots) override;

 private:
  AdamOptions options_;
};

struct SGDOptions {
  double learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
};

// Keras: velocity = momentum * velocity - lr * g; var += velocity (nesterov: var += momentum *
// velocity - lr * g).
class SGD : public Optimizer {
 public:
  explicit SGD(SGDOptions options = {});
  std::string type_name() const override { return "SGD"; }

 protected:
  void update(Variable& var, const Tensor& grad, std::map<std::string, Tensor>& slots) override;

 private:
  SGDOptions options_;
};

// Weight averaging (Polyak; the EMA generator of GAN training): average's trainable variables
// become decay * average + (1 - decay) * model's, matched in order; its non-trainable ones
// (BatchNorm's moving statistics) are copied. `average` is a built twin of `model` (the same
// layers). Throws ShapeError naming the first variable that does not match; decay in [0, 1].
void update_moving_average(Module& average, const Module& model, double decay);

// BatchNorm statistics that match a model's current weights (PyTorch's swa_utils.update_bn, the
// "standing statistics" of BigGAN): every BatchNorm layer in `model` gets as moving mean and
// variance the plain average of its batch statistics over `inputs`, each run through the model in
// training mode with no tape recording. A weight average's copied statistics belong to other
// weights; this recomputes them. Momenta are restored afterwards; nothing else changes (a model
// with Dropout draws from its generators; SpectralNorm layers step their power iteration, as in
// PyTorch's update_bn). Throws ValueError for no inputs.
void recompute_batch_norm_statistics(Module& model, const std::vector<Tensor>& inputs);

// TensorFlow's warm-up for moving averages: min(decay, (1 + updates) / (10 + updates)), so that
// the first updates are not dominated by the initial weights.
double moving_average_decay(double decay, std::int64_t updates);

}  // namespace tape::nn
