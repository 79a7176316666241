// Optimizers: slot bookkeeping, checkpointable state, Adam and SGD updates (run with no tape).
#include "tape/nn/optimizers.h"

#include <algorithm>
#include <cmath>

namespace tape::nn {

void Optimizer::apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars) {
  if (grads.size() != vars.size()) {
    throw ValueError(type_name() + ".apply_gradients: " + std::to_string(grads.size()) + " gradients for " +
                     std::to_string(vars.size()) + " variables");
  }
  NoRecord no_record;
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

Tensor slot(std::map<std::string, Tensor>& slots, const std::string& name, const Variable& var) {
  auto it = slots.find(name);
  if (it == slots.end()) it = slots.emplace(name, Tensor::zeros(var.shape(), var.dtype())).first;
  return it->second;
}

}  // namespace

Adam::Adam(AdamOptions options) : Optimizer(options.learning_rate), options_(options) {}

void Adam::update(Variable& var, const Tensor& g, std::map<std::string, Tensor>& slots) {
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double t = static_cast<double>(iterations_);
  Tensor m = slot(slots, "m", var) * b1 + g * (1.0 - b1);
  Tensor v = slot(slots, "v", var) * b2 + square(g) * (1.0 - b2);
  slots["m"] = m;
  slots["v"] = v;
  const double c1 = 1.0 - std::pow(b1, t), c2 = 1.0 - std::pow(b2, t);
  var.assign_sub((m * (lr_ / c1)) / (sqrt(v * (1.0 / c2)) + options_.epsilon));
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

}  // namespace tape::nn
