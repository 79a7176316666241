// BatchSchedule: a batch size that grows during training (larger batches later in a run, as in
// Smith et al. 2018, "Don't decay the learning rate, increase the batch size"): `initial` images
// per step, then from a given step on another size. Written "5000:128,8000:256" on command lines.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tape::data {

// From `step` steps done on, `batch` images per step.
struct BatchChange {
  std::int64_t step = 0, batch = 0;
  bool operator==(const BatchChange&) const = default;
};

class BatchSchedule {
 public:
  // ValueError unless initial >= 1, the changes' steps are >= 1 and increasing and their batches >= 1.
  explicit BatchSchedule(std::int64_t initial, std::vector<BatchChange> changes = {});
  // "5000:128,8000:256" -> {{5000, 128}, {8000, 256}}; "" or "none" -> none. ValueError naming the
  // part that is not STEP:BATCH with positive integers.
  static std::vector<BatchChange> parse(const std::string& text);

  // The batch size of the step taken after `steps_done` steps.
  std::int64_t batch_at(std::int64_t steps_done) const;
  // Images drawn by the first `steps` steps (>= 0); ValueError when the count passes 2^63 - 1.
  std::int64_t images_in(std::int64_t steps) const;
  // The largest batch of the schedule.
  std::int64_t largest() const;
  const std::vector<BatchChange>& changes() const { return changes_; }

 private:
  std::int64_t initial_;
  std::vector<BatchChange> changes_;
};

}  // namespace tape::data
