#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets (fuzz/) with Clang 14, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/ (BUILD_DIR), then runs each for FUZZ_SECONDS
# (default 600), FUZZ_JOBS targets at a time (default 1; each is one process, one thread), and
# prints a table: runs, executions per second, coverage, corpus size and findings per target.
#
# Usage: scripts/fuzz.sh [TARGET...]     (default: every target: idx cifar10 png csv options
#                                          checkpoint dcgan_checkpoint run_config)
# Each target starts from the committed corpus (fuzz/corpus/TARGET, only read) and the inputs
# earlier runs found (BUILD_DIR/fuzz/work/TARGET, kept, so a second run goes on from there).
# Logs: BUILD_DIR/fuzz/logs/TARGET.log. A finding (crash, leak, sanitizer report, timeout, out of
# memory) is saved as BUILD_DIR/fuzz/findings/TARGET/<kind>-<sha1>; pin it by copying it to
# fuzz/regressions/TARGET/ (every build's ctest -L fuzz replays that folder) and fix it.
# Exits non-zero when any target had a finding.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-600}"
jobs="${FUZZ_JOBS:-1}"
all_targets=(idx cifar10 png csv options checkpoint dcgan_checkpoint run_config)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

bash "$root/scripts/install-deps.sh" --with-clang
CXX=clang++-14 CC=clang-14 BUILD_DIR="$build_dir" \
  BUILD_TARGETS="$(printf 'fuzz_%s ' "${targets[@]}")" bash "$root/scripts/build.sh" -DTAPE_FUZZ=ON -DTAPE_BUILD_TESTS=OFF

out="$build_dir/fuzz"
mkdir -p "$out/logs"
# One thread per process: the targets read files; the library's kernels need no threads here.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

run_one() {
  local t="$1"
  mkdir -p "$out/work/$t" "$out/findings/$t"
  # -rss_limit_mb: a reader must not need gigabytes for a few kilobytes of input.
  "$build_dir/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/findings/$t/" "$out/work/$t" "$root/fuzz/corpus/$t" >"$out/logs/$t.log" 2>&1 || true
}

running=0
for t in "${targets[@]}"; do
  echo "fuzz: $t for $seconds s (log $out/logs/$t.log)"
  run_one "$t" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
printf '\n| target | seconds | runs | exec/s | coverage | corpus | findings |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for t in "${targets[@]}"; do
  log="$out/logs/$t.log"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$out/work/$t" -type f | wc -l)
  findings=$(find "$out/findings/$t" -type f | wc -l)
  ((findings == 0)) || status=1
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$seconds" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$corpus" "$findings"
  if [[ -z "$runs" ]]; then
    echo "fuzz: $t did not finish normally; see $log" >&2
    status=1
  fi
done
exit "$status"
