// Optimizers: slot bookkeeping, checkpointable state, Adam and SGD updates (run with no tape);
// moving averages of weights.
#include "tape/nn/optimizers.h"

#include <algorithm>
#include <cmath>

#include "tape/nn/layers.h"
#include "tape/nn/module.h"

namespace tape::nn {

void Optimizer::apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars) {
  if (grads.size() != vars.size()) {
    throw ValueError(type_name() + ".apply_gradients: " + std::to_string(grads.size()) + " gradients for " +
                     std::to_string(vars.size()) + " variables");
  }
  NoRecord no_record;
  if (schedule_) lr_ = (*schedule_)(iterations_);
  ++iterations_;
  for (std::size_t i = 0; i < vars.size(); ++i) {
    if (!grads[i].defined()) continue;
    Variable var = vars[i];
    if (grads[i].shape() != var.shape()) {
      throw ShapeError(type_name() + ".apply_gradients: gradient for '" + var.name() + "' has shape " +
                       grads[i].shape().to_string() + ", variable has " + var.shape().to_string());
    }
    if (grads[i].dtype() != var.dtype()) {
      throw DTypeError(type_name() + ".apply_gradients: gradient for '" + var.name() + "' is " +
                       to_string(grads[i].dtype()) + ", variable is " + to_string(var.dtype()) +
                       "; shape=" + var.shape().to_string());
    }
    auto [it, inserted] = slots_.try_emplace(var.handle());
    if (inserted) {
      it->second.first = var.name();
      auto pending = pending_.find(var.name());
      if (pending != pending_.end()) {
        it->second.second = std::move(pending->second);
        pending_.erase(pending);
      }
    }
    update(var, grads[i], it->second.second);
  }
}

std::vector<SlotTensor> Optimizer::state() const {
  std::vector<SlotTensor> out;
  for (const auto& [handle, entry] : slots_) {
    for (const auto& [slot, value] : entry.second) out.push_back({entry.first, slot, value});
  }
  for (const auto& [name, slots] : pending_) {
    for (const auto& [slot, value] : slots) out.push_back({name, slot, value});
  }
  std::sort(out.begin(), out.end(), [](const SlotTensor& a, const SlotTensor& b) {
    return a.variable != b.variable ? a.variable < b.variable : a.slot < b.slot;
  });
  return out;
}

void Optimizer::load_state(const std::vector<SlotTensor>& slots, std::int64_t iterations) {
  slots_.clear();
  pending_.clear();
  for (const auto& s : slots) pending_[s.variable][s.slot] = s.value;
  iterations_ = iterations;
}

namespace {

// The optimizer's slot `name` for var (zeros the first time); a restored slot of another shape is
// an error naming the variable.
Tensor slot(std::map<std::string, Tensor>& slots, const std::string& name, const Variable& var) {
  auto it = slots.find(name);
  if (it == slots.end()) it = slots.emplace(name, Tensor::zeros(var.shape(), var.dtype())).first;
  if (it->second.shape() != var.shape()) {
    throw ShapeError("optimizer slot '" + name + "' of variable '" + var.name() + "' has shape " +
                     it->second.shape().to_string() + ", the variable " + var.shape().to_string());
  }
  return it->second;
}

}  // namespace

Adam::Adam(AdamOptions options) : Optimizer(options.learning_rate), options_(options) {}

void Adam::update(Variable& var, const Tensor& g, std::map<std::string, Tensor>& slots) {
  // one fused pass: var -= (lr / c1) m / (sqrt(v / c2) + epsilon) after the moment updates
  const AdamStep s = adam_step(var.peek(), g, slot(slots, "m", var), slot(slots, "v", var), lr_, options_.beta1,
                               options_.beta2, options_.epsilon, iterations_);
  slots["m"] = s.m;
  slots["v"] = s.v;
  var.assign(s.var);
}

AdamW::AdamW(AdamWOptions o)
    : Adam({.learning_rate = o.learning_rate, .beta1 = o.beta1, .beta2 = o.beta2, .epsilon = o.epsilon}),
      weight_decay_(o.weight_decay) {
  if (!(o.weight_decay >= 0.0)) throw ValueError("AdamW: weight_decay must be >= 0, got " + std::to_string(o.weight_decay));
}

void AdamW::update(Variable& var, const Tensor& g, std::map<std::string, Tensor>& slots) {
  if (weight_decay_ != 0.0) var.assign(var.peek() * (1.0 - lr_ * weight_decay_));  // decoupled decay first
  Adam::update(var, g, slots);
}

RMSprop::RMSprop(RMSpropOptions options) : Optimizer(options.learning_rate), options_(options) {
  if (!(options.rho >= 0.0 && options.rho < 1.0)) throw ValueError("RMSprop: rho must be in [0, 1), got " + std::to_string(options.rho));
  if (!(options.momentum >= 0.0)) throw ValueError("RMSprop: momentum must be >= 0, got " + std::to_string(options.momentum));
  if (!(options.epsilon >= 0.0)) throw ValueError("RMSprop: epsilon must be >= 0, got " + std::to_string(options.epsilon));
}

void RMSprop::update(Variable& var, const Tensor& g, std::map<std::string, Tensor>& slots) {
  const double rho = options_.rho;
  const Tensor v = slot(slots, "rms", var) * rho + square(g) * (1.0 - rho);
  slots["rms"] = v;
  Tensor denominator = v;
  if (options_.centered) {
    const Tensor a = slot(slots, "mg", var) * rho + g * (1.0 - rho);
    slots["mg"] = a;
    denominator = v - square(a);
  }
  Tensor step = g / (sqrt(denominator) + options_.epsilon);
  if (options_.momentum > 0.0) {
    step = slot(slots, "momentum", var) * options_.momentum + step;
    slots["momentum"] = step;
  }
  var.assign_sub(step * lr_);
}

SGD::SGD(SGDOptions options) : Optimizer(options.learning_rate), options_(options) {}

void SGD::update(Variable& var, const Tensor& g, std::map<std::string, Tensor>& slots) {
  if (options_.momentum == 0.0) {
    var.assign_sub(g * lr_);
    return;
  }
  Tensor velocity = slot(slots, "momentum", var) * options_.momentum - g * lr_;
  slots["momentum"] = velocity;
  var.assign_add(options_.nesterov ? velocity * options_.momentum - g * lr_ : velocity);
}

// ---------------------------------------------------------------- gradient clipping
std::vector<Tensor> clip_gradients_by_value(const std::vector<Tensor>& grads, double low, double high) {
  if (!(low <= high)) {
    throw ValueError("clip_gradients_by_value: low " + std::to_string(low) + " > high " + std::to_string(high));
  }
  NoRecord no_record;
  std::vector<Tensor> out;
  out.reserve(grads.size());
  for (const Tensor& g : grads) out.push_back(g.defined() ? clip(g, low, high) : g);
  return out;
}

ClippedGradients clip_gradients_by_global_norm(const std::vector<Tensor>& grads, double max_norm) {
  if (!(max_norm > 0.0)) throw ValueError("clip_gradients_by_global_norm: max_norm must be > 0, got " + std::to_string(max_norm));
  NoRecord no_record;
  double squares = 0.0;  // summed in double whatever the gradients' dtype
  for (const Tensor& g : grads) {
    if (g.defined()) squares += sum(square(g.to(DType::f64))).item();
  }
  ClippedGradients out{grads, std::sqrt(squares)};
  if (!std::isfinite(out.global_norm)) {
    throw NumericsError("clip_gradients_by_global_norm: the global norm of " + std::to_string(grads.size()) +
                        " gradients is " + std::to_string(out.global_norm));
  }
  if (out.global_norm <= max_norm) return out;
  const double scale = max_norm / out.global_norm;
  for (Tensor& g : out.grads) {
    if (g.defined()) g = g * scale;
  }
  return out;
}

// ---------------------------------------------------------------- weight averaging
void update_moving_average(Module& average, const Module& model, double decay) {
  if (!(decay >= 0.0 && decay <= 1.0)) throw ValueError("update_moving_average: decay must be in [0, 1], got " + std::to_string(decay));
  const std::vector<NamedVariable> avg = average.named_variables(), src = model.named_variables();
  if (avg.size() != src.size()) {
    throw ShapeError("update_moving_average: '" + average.name() + "' has " + std::to_string(avg.size()) +
                     " variables, '" + model.name() + "' " + std::to_string(src.size()));
  }
  NoRecord no_record;
  for (std::size_t i = 0; i < avg.size(); ++i) {
    Variable a = avg[i].variable;
    const Tensor v = src[i].variable.value();
    if (a.value().shape() != v.shape() || a.trainable() != src[i].variable.trainable()) {
      throw ShapeError("update_moving_average: " + avg[i].name + " " + a.value().shape().to_string() + " does not match " +
                       src[i].name + " " + v.shape().to_string());
    }
    // a[...] -> decay * a + (1 - decay) * v for weights; v for moving statistics
    a.assign(a.trainable() ? a.value() * decay + v * (1.0 - decay) : v);
  }
}

void recompute_batch_norm_statistics(Module& model, const std::vector<Tensor>& inputs) {
  if (inputs.empty()) throw ValueError("recompute_batch_norm_statistics: no inputs for '" + model.name() + "'");
  std::vector<BatchNorm*> layers = modules_of<BatchNorm>(model);
  std::vector<double> momenta;
  for (BatchNorm* bn : layers) momenta.push_back(bn->momentum());
  struct Restore {
    std::vector<BatchNorm*>& layers;
    std::vector<double>& momenta;
    ~Restore() {
      for (std::size_t i = 0; i < layers.size(); ++i) layers[i]->set_momentum(momenta[i]);
    }
  } restore{layers, momenta};
  NoRecord no_record;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    // moving = moving * (1 - 1/(k+1)) + batch / (k+1): the running mean of the batches so far
    for (BatchNorm* bn : layers) bn->set_momentum(1.0 - 1.0 / static_cast<double>(k + 1));
    model(inputs[k], true);
  }
}

double moving_average_decay(double decay, std::int64_t updates) {
  return std::min(decay, (1.0 + static_cast<double>(updates)) / (10.0 + static_cast<double>(updates)));
}

}  // namespace tape::nn
