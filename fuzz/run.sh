#!/usr/bin/env bash
# A fuzz campaign of one target: builds the libFuzzer targets with clang (ASan + UBSan, in
# build-fuzz/ or $FUZZ_BUILD), runs TARGET for MINUTES on a copy of its seed corpus
# (fuzz/corpus/TARGET is never written), then prints the figures of the run.
#
#   fuzz/run.sh TARGET MINUTES      e.g.  fuzz/run.sh fuzz_fix 2
#
# TARGET: fuzz_image, fuzz_exif, fuzz_metadata, fuzz_fix, fuzz_http. The campaign's folder
# (build-fuzz/campaign/TARGET-TIME/) keeps the grown corpus, libFuzzer's log and any crash-,
# leak-, timeout- or oom- input, which `build-fuzz/fuzz/TARGET FILE` (or TARGET_replay) reruns.
# Exit status: 0 when the run found nothing, 1 when it left a finding, 2 on a usage or build error.
# Environment: FUZZ_BUILD (the build folder), FUZZ_JOBS (build jobs, default 2), FUZZ_MAX_LEN
# (longest input, default 65536), FUZZ_CMAKE_ARGS (more -D options, e.g. -DFACEUP_MODEL=...).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then
    echo "usage: fuzz/run.sh TARGET MINUTES" >&2
    exit 2
fi
target=$1
minutes=$2
if [ ! -d "fuzz/corpus/$target" ]; then
    echo "fuzz/run.sh: no seed corpus fuzz/corpus/$target: not a fuzz target" >&2
    exit 2
fi
command -v clang >/dev/null || { echo "fuzz/run.sh: clang is needed (apt-get install clang)" >&2; exit 2; }

build=${FUZZ_BUILD:-build-fuzz}
model=build/model/face_detection_yunet_2023mar.onnx
extra=()
# shellcheck disable=SC2206 # FUZZ_CMAKE_ARGS is a list of words
[ -n "${FUZZ_CMAKE_ARGS:-}" ] && extra=($FUZZ_CMAKE_ARGS)
[ -f "$model" ] && extra=("-DFACEUP_MODEL=$PWD/$model" "${extra[@]}")
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFACEUP_BUILD_FUZZERS=ON -DFACEUP_BUILD_TESTS=OFF "${extra[@]}" >"$build/run.configure.log" 2>&1 ||
    { cat "$build/run.configure.log" >&2; exit 2; }
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "$target" >"$build/run.build.log" 2>&1 ||
    { tail -40 "$build/run.build.log" >&2; exit 2; }

work="$build/campaign/$target-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$work/corpus" "$work/findings"
cp fuzz/corpus/"$target"/* "$work/corpus/"
seeds=$(find "$work/corpus" -type f | wc -l)
echo "fuzz/run.sh: $target for $minutes min on $seeds seeds in $work"

set +e
start=$SECONDS
# the third-party leaks tools/lsan.supp names (each with its reason) are not findings of ours
LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
"$build/fuzz/$target" "$work/corpus" -max_total_time=$((minutes * 60)) -print_final_stats=1 \
    -max_len="${FUZZ_MAX_LEN:-65536}" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/findings/" >"$work/libfuzzer.log" 2>&1
rc=$?
elapsed=$((SECONDS - start))
set -e

# The figures: libFuzzer's final stats, and its last status line for coverage.
stat() { sed -n "s/^stat::$1: *//p" "$work/libfuzzer.log" | tail -1; }
last=$(grep -E '^#[0-9]+' "$work/libfuzzer.log" | grep ' cov: ' | tail -1 || true)
field() { sed -n "s/.* $1: \([0-9a-zA-Z/]*\).*/\1/p" <<<"$last"; }
findings=$(find "$work/findings" -type f | wc -l)
echo "target:      $target"
echo "time:        $elapsed s"
echo "executions:  $(stat number_of_executed_units)"
echo "exec/s:      $(stat average_exec_per_sec)"
echo "edges (cov): $(field cov)"
echo "features:    $(field ft)"
echo "corpus:      $seeds seeds -> $(find "$work/corpus" -type f | wc -l) files ($(field corp) units/bytes in memory)"
echo "new units:   $(stat new_units_added)"
echo "peak RSS:    $(stat peak_rss_mb) MB"
echo "findings:    $findings"
find "$work/findings" -type f -printf '             %p\n'
if [ "$findings" -gt 0 ] || [ "$rc" -ne 0 ]; then
    echo "fuzz/run.sh: libFuzzer exited $rc; the end of its log:" >&2
    tail -30 "$work/libfuzzer.log" >&2
    exit 1
fi
