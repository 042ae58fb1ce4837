#!/usr/bin/env bash
# Install what faceup needs on Debian 12 (apt + a pinned Python venv for build/test tools) and build.
# Usage: tools/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_PACKAGES=(
  build-essential cmake pkg-config clang llvm
  libturbojpeg0-dev libjpeg62-turbo-dev libjpeg-turbo-progs libpng-dev libwebp-dev libmicrohttpd-dev libcmocka-dev
  libheif-dev libheif-examples  # libheif1 1.15 with its codecs built in: libde265 (HEIC), x265, dav1d, libaom (AVIF)
  libnuma-dev  # x265.pc's Libs.private names -lnuma, which libx265-dev does not pull in: static links need it
  python3 python3-venv python3-pip python3-torch python3-numpy python3-pil
  curl chromium imagemagick
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt

if [ "${1:-}" != "--no-build" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build -j "$(nproc)"
fi
