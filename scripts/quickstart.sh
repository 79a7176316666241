#!/usr/bin/env bash
# quickstart.sh: the main command. Installs missing Debian packages, builds tape, fetches MNIST
# and trains the DCGAN (examples/dcgan) with its default recipe (the preset measured best for 15
# minutes of 2 cores, docs/results.md), writing sample grids, progress.gif, losses.csv/png and
# checkpoints to runs/quickstart.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

install_deps() {
  bash "$root/scripts/install-deps.sh"
}

build() {
  BUILD_DIR="$build_dir" BUILD_TARGETS="dcgan mnist_classifier" bash "$root/scripts/build.sh"
}

# The main job: MNIST, then a DCGAN trained with the default preset (`dcgan presets` lists them).
# DCGAN_ARGS replaces the training options; the output folder is runs/quickstart.
run_main() {
  local dcgan="$build_dir/examples/dcgan/dcgan"
  if [[ ! -x "$dcgan" ]]; then
    echo "quickstart: $dcgan was not built" >&2
    exit 1
  fi
  bash "$root/scripts/fetch-mnist.sh" "$root/data/mnist"
  local args=(${DCGAN_ARGS:---sample-every 500})
  echo "quickstart: $dcgan train --data $root/data/mnist --out $root/runs/quickstart ${args[*]}"
  "$dcgan" train --data "$root/data/mnist" --out "$root/runs/quickstart" "${args[@]}"
  echo
  echo "quickstart: done. Look at runs/quickstart/samples/, runs/quickstart/progress.gif and"
  echo "runs/quickstart/losses.png. Train further from the last checkpoint with"
  echo "  $dcgan train --data $root/data/mnist --out $root/runs/quickstart --resume --sample-every 500 --steps 15000"
  echo "sample from the newest checkpoint with"
  echo "  $dcgan sample --checkpoint \$(ls $root/runs/quickstart/checkpoints/*.safetensors | tail -1) --out grid.png"
  echo "or measure it (README: Measuring what it learned) with"
  echo "  $build_dir/examples/mnist_classifier/mnist_classifier --epochs 3 --seed 1"
  echo "  $dcgan eval --checkpoint \$(ls $root/runs/quickstart/checkpoints/*.safetensors | tail -1)"
}

install_deps
build
run_main
