#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages tape needs to build and test, but only when
# one of them is missing (it does nothing, and needs no root, when all are there). Uses sudo when
# not run as root. On a pristine Debian 12 there are no apt lists yet, so it runs apt-get update
# first whenever something has to be installed.
#
# Usage: scripts/install-deps.sh [--with-python] [--with-clang]
#   --with-python  also install python3-numpy, python3-torch and libopenblas0-openmp, needed only
#                  to regenerate the PyTorch test fixtures (tests/fixtures/gen_conv_fixtures.py)
#                  and for PyTorch comparisons. Off by default.
#   --with-clang   also install Clang 14 with its sanitizer runtimes, libFuzzer and LLVM's OpenMP
#                  (with the Archer tool): scripts/fuzz.sh and scripts/tsan.sh need them.
set -euo pipefail

packages=(
  build-essential cmake ninja-build g++ pkg-config
  libeigen3-dev catch2 libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libpng-dev zlib1g-dev libgif-dev libssl-dev libopenblas-openmp-dev libdnnl-dev ca-certificates
  libcairo2-dev fonts-dejavu-core  # tape::io's line plots
  protobuf-compiler  # tests decode the TensorBoard event files with protoc
  dataset-fashion-mnist  # dcgan --dataset fashion-mnist
  libopenmpi-dev openmpi-bin  # tape::distributed and its tests under mpirun
)
python_packages=(python3-numpy python3-torch libopenblas0-openmp)
clang_packages=(clang-14 libclang-rt-14-dev libomp-14-dev)

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

for arg in "$@"; do
  case "$arg" in
    --with-python) packages+=("${python_packages[@]}") ;;
    --with-clang) packages+=("${clang_packages[@]}") ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-deps: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: dpkg/apt-get not found; this script is for Debian 12. Install these by hand:" >&2
  echo "  ${packages[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} required Debian packages are installed."
  exit 0
fi

echo "install-deps: missing Debian packages: ${missing[*]}"
sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: not root and sudo is not available; as root, run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: running apt-get update"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: done."
