#!/usr/bin/env bash
# build.sh: configures tape with CMake (Ninja, Release) and builds it with every core.
#   BUILD_DIR   build directory (default: build/ in the repository root)
#   CMAKE_BUILD_PARALLEL_LEVEL  build jobs (default: nproc, every core)
#   BUILD_TARGETS  space-separated targets to build (default: everything)
#   extra args  passed to the CMake configure step, e.g. -DTAPE_SANITIZE=ON -DTAPE_BUILD_BENCH=ON
# ccache is used as the compiler launcher when it is installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
jobs="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"

configure_args=(-S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release)
if command -v ccache >/dev/null 2>&1; then
  configure_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

echo "build: configuring into $build_dir"
cmake "${configure_args[@]}" "$@"
echo "build: building ${BUILD_TARGETS:-everything} with $jobs jobs"
target_args=()
for t in ${BUILD_TARGETS:-}; do target_args+=(--target "$t"); done
cmake --build "$build_dir" --parallel "$jobs" "${target_args[@]}"
