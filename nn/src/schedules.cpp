// Learning-rate schedules: constant, delayed linear decay, delayed cosine decay, step decay; a
// linear warm-up in front of any of them.
#include "tape/nn/schedules.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tape/tape.h"

namespace tape::nn {

LearningRateSchedule::LearningRateSchedule(Kind kind, double initial, std::int64_t start, std::int64_t end,
                                           double final_factor)
    : kind_(kind), initial_(initial), start_(start), end_(end), final_factor_(final_factor) {
  if (!(initial >= 0.0) || !std::isfinite(initial)) {
    throw ValueError("LearningRateSchedule: the initial rate must be finite and >= 0, got " + std::to_string(initial));
  }
  if (kind != Kind::constant && (start < 0 || end <= start)) {
    throw ValueError("LearningRateSchedule(" + kind_name() + "): needs 0 <= start < end, got start=" +
                     std::to_string(start) + ", end=" + std::to_string(end));
  }
  if (!(final_factor >= 0.0) || !std::isfinite(final_factor)) {
    throw ValueError("LearningRateSchedule(" + kind_name() + "): final_factor must be finite and >= 0, got " +
                     std::to_string(final_factor));
  }
}

LearningRateSchedule LearningRateSchedule::constant(double initial) {
  return {Kind::constant, initial, 0, 0, 1.0};
}
LearningRateSchedule LearningRateSchedule::linear(double initial, std::int64_t start, std::int64_t end,
                                                  double final_factor) {
  return {Kind::linear, initial, start, end, final_factor};
}
LearningRateSchedule LearningRateSchedule::cosine(double initial, std::int64_t start, std::int64_t end,
                                                  double final_factor) {
  return {Kind::cosine, initial, start, end, final_factor};
}

LearningRateSchedule LearningRateSchedule::step(double initial, std::int64_t step_size, double gamma) {
  if (step_size < 1) throw ValueError("LearningRateSchedule(step): step_size must be >= 1, got " + std::to_string(step_size));
  return {Kind::step, initial, 0, step_size, gamma};
}

LearningRateSchedule LearningRateSchedule::with_warmup(std::int64_t steps, double start_factor) const {
  if (steps < 0 || !(start_factor >= 0.0 && start_factor <= 1.0)) {
    throw ValueError("LearningRateSchedule::with_warmup: needs steps >= 0 and start_factor in [0, 1], got " +
                     std::to_string(steps) + " and " + std::to_string(start_factor));
  }
  LearningRateSchedule s = *this;
  s.warmup_steps_ = steps;
  s.warmup_start_factor_ = start_factor;
  return s;
}

LearningRateSchedule LearningRateSchedule::from_name(const std::string& kind, double initial, std::int64_t start,
                                                     std::int64_t end, double final_factor) {
  if (kind == "constant") return constant(initial);
  if (kind == "linear") return linear(initial, start, end, final_factor);
  if (kind == "cosine") return cosine(initial, start, end, final_factor);
  throw ValueError("LearningRateSchedule: unknown schedule '" + kind + "' (constant, linear, cosine)");
}

std::string LearningRateSchedule::kind_name() const {
  switch (kind_) {
    case Kind::linear: return "linear";
    case Kind::cosine: return "cosine";
    case Kind::step: return "step";
    default: return "constant";
  }
}

double LearningRateSchedule::operator()(std::int64_t step) const {
  double rate = initial_;
  if (kind_ == Kind::step) {
    rate = initial_ * std::pow(final_factor_, static_cast<double>(std::max<std::int64_t>(step, 0) / end_));
  } else if (kind_ != Kind::constant && step > start_) {
    const double t = std::min(1.0, static_cast<double>(step - start_) / static_cast<double>(end_ - start_));
    const double f = final_factor_;
    const double factor = kind_ == Kind::linear ? 1.0 + (f - 1.0) * t
                                                : f + (1.0 - f) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
    rate = initial_ * factor;
  }
  if (step < warmup_steps_) {
    const double f = warmup_start_factor_;
    rate *= f + (1.0 - f) * static_cast<double>(std::max<std::int64_t>(step, 0)) / static_cast<double>(warmup_steps_);
  }
  return rate;
}

}  // namespace tape::nn
