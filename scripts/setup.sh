#!/usr/bin/env bash
# Install what onnxcomp needs to build and test on Debian 12 (run as root).
# Idempotent: apt is skipped when every package is installed already, and
# npm ci is skipped when tests/ort/node_modules holds the pinned onnxruntime-node.
set -euo pipefail

ORT_VERSION=1.30.0
APT_PACKAGES=(
  build-essential make pkg-config
  protobuf-c-compiler libprotobuf-c-dev
  libonnx-dev libopenblas-dev libonnx-testdata
  libpng-dev libjpeg-dev zlib1g-dev libcjson-dev dataset-fashion-mnist pocketsphinx-testdata
  python3-onnx python3-numpy
  nodejs npm
  time valgrind man-db clang  # clang: libFuzzer for scripts/fuzz.sh only
)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ORT_DIR="$ROOT/tests/ort"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# --- Debian packages --------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if installed "$p"; then continue; fi
  # A nodejs build that bundles npm (e.g. NodeSource's) provides and conflicts
  # with Debian's npm package: its own npm counts.
  if [ "$p" = npm ] && installed nodejs && command -v npm >/dev/null 2>&1; then continue; fi
  missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  say "apt: all ${#APT_PACKAGES[@]} packages already installed"
else
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "need root to install: ${missing[*]}"
    SUDO=sudo
  fi
  say "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
    die "apt-get update failed"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    die "apt-get install failed"
  say "apt: done"
fi

command -v node >/dev/null 2>&1 || die "node not found after install"
command -v npm >/dev/null 2>&1 || die "npm not found after install"

# --- onnxruntime-node into tests/ort/node_modules ---------------------------
[ -f "$ORT_DIR/package.json" ] && [ -f "$ORT_DIR/package-lock.json" ] ||
  die "missing $ORT_DIR/package.json or package-lock.json"

ort_version() {
  local pj="$ORT_DIR/node_modules/onnxruntime-node/package.json"
  [ -f "$pj" ] || return 0
  node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version || ""))' "$pj" 2>/dev/null || true
}

if [ "$(ort_version)" = "$ORT_VERSION" ]; then
  say "npm: onnxruntime-node $ORT_VERSION already in tests/ort/node_modules"
else
  say "npm: installing onnxruntime-node $ORT_VERSION into tests/ort/node_modules (npm ci)"
  # The package's install script would download GPU libraries; the CPU
  # runtime ships inside the package, so skip it.
  (cd "$ORT_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error) ||
    die "npm ci failed in tests/ort"
  [ "$(ort_version)" = "$ORT_VERSION" ] || die "tests/ort/node_modules has onnxruntime-node '$(ort_version)', want $ORT_VERSION"
fi

# --- smoke check ------------------------------------------------------------
v=$(cd "$ORT_DIR" && node -e 'const o = require("onnxruntime-node"); process.stdout.write(o.env.versions.node || "?")' 2>&1) ||
  die "onnxruntime-node does not load: $v"
say "ok: node $(node --version), onnxruntime-node $v"
