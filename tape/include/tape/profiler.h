// Profiler: while one is alive on a thread, every op run on that thread (forward, and the ops a
// backward pass runs) adds its exclusive wall time to a per-op table.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace tape {

struct OpProfile {
  double seconds = 0.0;  // exclusive: time inside ops this op called is not counted twice
  std::int64_t calls = 0;
};

class Profiler {
 public:
  Profiler();
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  const std::map<std::string, OpProfile>& ops() const { return ops_; }
  double total_seconds() const;
  // A table sorted by time: op, calls, total ms, ms per call, share.
  std::string report() const;

  // Used by ops (through ProfileScope).
  void add(const char* op, double seconds);

 private:
  std::map<std::string, OpProfile> ops_;
  Profiler* previous_;
};

namespace detail {

// Times the enclosing op when a Profiler is active on this thread (a thread-local check otherwise).
class ProfileScope {
 public:
  explicit ProfileScope(const char* op);
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  const char* op_;
  std::int64_t start_ns_ = 0;
  std::int64_t child_ns_ = 0;
  ProfileScope* parent_ = nullptr;
  bool active_ = false;
};

}  // namespace detail
}  // namespace tape
