#!/usr/bin/env bash
# test.sh: the test command. Installs missing Debian packages (scripts/install-deps.sh), builds
# (scripts/build.sh; BUILD_DIR picks the build directory, default build/) and runs the whole
# ctest suite. Arguments go to the CMake configure step, e.g.
#   BUILD_DIR=build-asan bash scripts/test.sh -DTAPE_SANITIZE=ON
# TAPE_CTEST_ARGS sets the ctest arguments (default '-LE mnist': everything but the tests that
# need the MNIST files), e.g. TAPE_CTEST_ARGS='-L mnist' (after scripts/fetch-mnist.sh) or '-E examples'.
# Exits non-zero when any step or any test fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

bash "$root/scripts/install-deps.sh"
BUILD_DIR="$build_dir" bash "$root/scripts/build.sh" "$@"

# Word-split TAPE_CTEST_ARGS on purpose (quoting inside it is not supported).
read -r -a extra_args <<<"${TAPE_CTEST_ARGS--LE mnist}"
echo "test: ctest --test-dir $build_dir --output-on-failure -j2 ${extra_args[*]:-}"
ctest --test-dir "$build_dir" --output-on-failure -j2 "${extra_args[@]}"
