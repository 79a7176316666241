#!/usr/bin/env bash
# tsan.sh: builds tape with Clang 14 and ThreadSanitizer in build-tsan/ (BUILD_DIR) and runs the
# test suite under it, every kernel on 2 threads. OpenMP is LLVM's libomp with its Archer tool
# loaded (OMP_TOOL_LIBRARIES), which tells TSan about OpenMP's barriers and tasks, so a report is
# a real race and not the runtime's own synchronization. Matrix products use Eigen's GEMM
# (TAPE_USE_OPENBLAS=OFF, TAPE_USE_ONEDNN=OFF): Debian's OpenBLAS and oneDNN are not instrumented
# and bring GCC's OpenMP runtime.
# The examples are left out (their tests train networks, too slow under TSan).
#
# Usage: scripts/tsan.sh [ctest arguments]   (default: -LE 'mnist|install|fuzz', every other test)
# Exits non-zero when the build fails, a test fails or TSan reports anything (halt_on_error).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build-tsan}"

bash "$root/scripts/install-deps.sh" --with-clang
CXX=clang++-14 CC=clang-14 BUILD_DIR="$build_dir" bash "$root/scripts/build.sh" \
  -DTAPE_SANITIZE=thread -DTAPE_USE_OPENBLAS=OFF -DTAPE_USE_ONEDNN=OFF -DTAPE_BUILD_EXAMPLES=OFF

archer=/usr/lib/llvm-14/lib/libarcher.so
[[ -f "$archer" ]] || { echo "tsan: $archer not found (libomp-14-dev)" >&2; exit 1; }
export OMP_TOOL_LIBRARIES="$archer" OMP_NUM_THREADS=2
# ignore_noninstrumented_modules: libomp itself is not instrumented; Archer reports its synchronization.
# No abort_on_error: Catch2's signal handler would deadlock inside TSan; halt_on_error exits with 66.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 ignore_noninstrumented_modules=1"


ctest_args=("$@")
((${#ctest_args[@]})) || ctest_args=(-LE 'mnist|install|fuzz')
echo "tsan: ctest --test-dir $build_dir --output-on-failure -j1 ${ctest_args[*]}"
ctest --test-dir "$build_dir" --output-on-failure -j1 --timeout 1800 "${ctest_args[@]}"
