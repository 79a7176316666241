// Optimizers: Adam (bias-corrected, as in Keras and PyTorch), AdamW (decoupled weight decay),
// RMSprop and SGD with momentum; gradient clipping by value and by global norm; weight averaging
// (an exponential moving average of a model in a twin model).
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

struct AdamWOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-7;
  double weight_decay = 0.01;  // PyTorch's default (Keras' AdamW: 0.004)
};

// Adam with decoupled weight decay (Loshchilov & Hutter 2019; torch.optim.AdamW,
// keras.optimizers.AdamW): var *= 1 - lr * weight_decay, then Adam's update.
class AdamW : public Adam {
 public:
  explicit AdamW(AdamWOptions options = {});
  std::string type_name() const override { return "AdamW"; }
  double weight_decay() const { return weight_decay_; }

 protected:
  void update(Variable& var, const Tensor& grad, std::map<std::string, Tensor>& slots) override;

 private:
  double weight_decay_;
};

struct RMSpropOptions {
  double learning_rate = 1e-3;
  double rho = 0.9;        // Keras' decay of the squared-gradient average (PyTorch's alpha, default 0.99)
  double momentum = 0.0;
  double epsilon = 1e-7;   // Keras' default (PyTorch's 1e-8)
  bool centered = false;   // divide by the gradient's estimated variance instead of its second moment
};

// RMSprop (Hinton; torch.optim.RMSprop's form): v = rho v + (1 - rho) g^2 (centered: also
// a = rho a + (1 - rho) g and v - a^2 in place of v); step = g / (sqrt(v) + eps);
// with momentum: b = momentum b + step, var -= lr b; else var -= lr step.
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(RMSpropOptions options = {});
  std::string type_name() const override { return "RMSprop"; }
  const RMSpropOptions& options() const { return options_; }

 protected:
  void update(Variable& var, const Tensor& grad, std::map<std::string, Tensor>& slots) override;

 private:
  RMSpropOptions options_;
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

// Each gradient clipped elementwise to [low, high] (tf.clip_by_value, torch's clip_grad_value_
// with low = -high); undefined gradients stay undefined. ValueError unless low <= high.
std::vector<Tensor> clip_gradients_by_value(const std::vector<Tensor>& grads, double low, double high);

// The gradients scaled together so that their global norm sqrt(sum of every squared element) is
// at most max_norm: each times max_norm / max(global_norm, max_norm) (tf.clip_by_global_norm;
// torch's clip_grad_norm_ divides by global_norm + 1e-6). Undefined gradients are skipped and stay
// undefined. ValueError unless max_norm > 0; a non-finite global norm is a NumericsError.
struct ClippedGradients {
  std::vector<Tensor> grads;
  double global_norm = 0.0;  // before clipping
};
ClippedGradients clip_gradients_by_global_norm(const std::vector<Tensor>& grads, double max_norm);

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
