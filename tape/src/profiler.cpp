// Profiler: exclusive per-op wall time, kept per thread.
#include "tape/profiler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace tape {
namespace {

thread_local Profiler* t_profiler = nullptr;
thread_local detail::ProfileScope* t_scope = nullptr;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Profiler::Profiler() : previous_(t_profiler) { t_profiler = this; }
Profiler::~Profiler() { t_profiler = previous_; }

void Profiler::add(const char* op, double seconds) {
  OpProfile& p = ops_[op];
  p.seconds += seconds;
  ++p.calls;
}

double Profiler::total_seconds() const {
  double s = 0.0;
  for (const auto& [name, p] : ops_) s += p.seconds;
  return s;
}

std::string Profiler::report() const {
  std::vector<std::pair<std::string, OpProfile>> rows(ops_.begin(), ops_.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  const double total = std::max(total_seconds(), 1e-12);
  std::string out = "op                      calls    total ms   ms/call   share\n";
  char line[160];
  for (const auto& [name, p] : rows) {
    std::snprintf(line, sizeof line, "%-22s %6lld %11.2f %9.3f %6.1f%%\n", name.c_str(), static_cast<long long>(p.calls),
                  p.seconds * 1e3, p.seconds * 1e3 / double(std::max<std::int64_t>(p.calls, 1)),
                  100.0 * p.seconds / total);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-22s %6s %11.2f\n", "total", "", total * 1e3);
  return out + line;
}

namespace detail {

ProfileScope::ProfileScope(const char* op) : op_(op) {
  if (t_profiler == nullptr) return;
  active_ = true;
  parent_ = t_scope;
  t_scope = this;
  start_ns_ = now_ns();
}

ProfileScope::~ProfileScope() {
  if (!active_) return;
  const std::int64_t elapsed = now_ns() - start_ns_;
  t_scope = parent_;
  if (parent_) parent_->child_ns_ += elapsed;
  if (t_profiler) t_profiler->add(op_, double(elapsed - child_ns_) * 1e-9);
}

}  // namespace detail
}  // namespace tape
