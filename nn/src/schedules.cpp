// Learning-rate schedules: constant, delayed linear decay and delayed cosine decay.
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
    default: return "constant";
  }
}

double LearningRateSchedule::operator()(std::int64_t step) const {
  if (kind_ == Kind::constant || step <= start_) return initial_;
  const double t = std::min(1.0, static_cast<double>(step - start_) / static_cast<double>(end_ - start_));
  const double f = final_factor_;
  const double factor = kind_ == Kind::linear ? 1.0 + (f - 1.0) * t
                                              : f + (1.0 - f) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  return initial_ * factor;
}

}  // namespace tape::nn
