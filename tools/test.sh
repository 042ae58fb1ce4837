#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. ctest on a normal build (unit tests, the network against ONNX Runtime, the CLI, fix, serve,
#      fuzz corpus replays);
#   2. the core tests again on the scalar reference kernels (FACEUP_FORCE_SCALAR=1);
#   3. everything again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   4. the Debian package: build, lint, install, run as the systemd unit does, remove;
#   5. the Python package: its wheel built as `pip install .` builds it, installed in .venv,
#      and its tests (python/tests: against the CLI, a fresh venv, a two-node Ray cluster).
# Usage: tools/test.sh [--quick]   (--quick: steps 1 and 2 only)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

tools/setup.sh --no-build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
model="$PWD/build/model/face_detection_yunet_2023mar.onnx"

echo "== 1. test suite"
(cd build && ctest --output-on-failure -j 2)

echo "== 2. core tests on the scalar reference kernels"
(cd build && FACEUP_FORCE_SCALAR=1 ctest --output-on-failure -R '^(test_kernels|test_image|test_api|test_cli)$')

[ "${1:-}" = "--quick" ] && exit 0

echo "== 3. test suite under ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFACEUP_SANITIZE=ON -DFACEUP_MODEL="$model"
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   LSAN_OPTIONS="suppressions=$PWD/../tools/lsan.supp" ctest --output-on-failure -j 2)

echo "== 4. Debian package"
bash tests/test_package.sh

echo "== 5. Python package"
rm -rf build-py/dist
.venv/bin/pip wheel -q --no-deps -w build-py/dist . -Ccmake.define.FACEUP_MODEL="$model"
.venv/bin/pip install -q --force-reinstall --no-deps build-py/dist/faceup-*.whl
FACEUP_BUILD="$PWD/build" FACEUP_WHEEL="$(ls build-py/dist/faceup-*.whl)" \
  .venv/bin/python -m pytest -q -p no:cacheprovider python/tests
