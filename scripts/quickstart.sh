#!/usr/bin/env bash
# quickstart.sh: the main command. Installs missing Debian packages, builds tape, then runs the
# main program. For now that is the GradientTape tour (examples/gradient_tape_tour); the DCGAN
# trainer will take its place (fetch MNIST, then `dcgan train`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

install_deps() {
  bash "$root/scripts/install-deps.sh"
}

build() {
  BUILD_DIR="$build_dir" bash "$root/scripts/build.sh"
}

# The main job. Replace this with data fetching + `dcgan train` once the trainer exists.
run_main() {
  local tour="$build_dir/examples/gradient_tape_tour/gradient_tape_tour"
  if [[ ! -x "$tour" ]]; then
    echo "quickstart: $tour was not built" >&2
    exit 1
  fi
  echo "quickstart: running $tour"
  "$tour"
}

install_deps
build
run_main
