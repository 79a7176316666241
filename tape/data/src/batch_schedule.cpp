// BatchSchedule (see batch_schedule.h): parsing, validation, the batch of a step, images drawn.
#include "tape/data/batch_schedule.h"

#include <algorithm>
#include <sstream>

#include "tape/error.h"

namespace tape::data {

BatchSchedule::BatchSchedule(std::int64_t initial, std::vector<BatchChange> changes)
    : initial_(initial), changes_(std::move(changes)) {
  if (initial_ < 1) throw ValueError("BatchSchedule: the batch must be >= 1, got " + std::to_string(initial_));
  std::int64_t previous = 0;
  for (const BatchChange& change : changes_) {
    const std::string what = "BatchSchedule: " + std::to_string(change.step) + ":" + std::to_string(change.batch);
    if (change.step <= previous) throw ValueError(what + ": steps must be > 0 and increasing");
    if (change.batch < 1) throw ValueError(what + ": the batch must be >= 1");
    previous = change.step;
  }
}

std::vector<BatchChange> BatchSchedule::parse(const std::string& text) {
  std::vector<BatchChange> changes;
  if (text == "none") return changes;
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    BatchChange change;
    char colon = 0;
    std::istringstream in(part);
    if (!(in >> change.step >> colon >> change.batch) || colon != ':' || !(in >> std::ws).eof() || change.step < 1 ||
        change.batch < 1) {
      throw ValueError("BatchSchedule: '" + part + "' in '" + text + "' is not STEP:BATCH with positive integers");
    }
    changes.push_back(change);
  }
  return changes;
}

std::int64_t BatchSchedule::batch_at(std::int64_t steps_done) const {
  std::int64_t batch = initial_;
  for (const BatchChange& change : changes_)
    if (steps_done >= change.step) batch = change.batch;
  return batch;
}

std::int64_t BatchSchedule::images_in(std::int64_t steps) const {
  // images += span * batch, refusing a count past 2^63 - 1 (a schedule with absurd steps).
  auto add = [&](std::int64_t& images, std::int64_t span, std::int64_t batch) {
    std::int64_t product = 0;
    if (__builtin_mul_overflow(span, batch, &product) || __builtin_add_overflow(images, product, &images)) {
      throw ValueError("BatchSchedule: the images drawn in " + std::to_string(steps) +
                       " steps do not fit in a 64-bit count");
    }
  };
  if (steps < 0) throw ValueError("BatchSchedule: images_in of a negative step count " + std::to_string(steps));
  std::int64_t images = 0, from = 0, batch = initial_;
  for (const BatchChange& change : changes_) {
    if (change.step >= steps) break;
    add(images, change.step - from, batch);
    from = change.step;
    batch = change.batch;
  }
  add(images, steps - from, batch);
  return images;
}

std::int64_t BatchSchedule::largest() const {
  std::int64_t batch = initial_;
  for (const BatchChange& change : changes_) batch = std::max(batch, change.batch);
  return batch;
}

}  // namespace tape::data
