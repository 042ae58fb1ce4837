#!/bin/bash
# test_package.sh - the Debian package, end to end (issue 5).
#
#   sudo tests/test_package.sh
#
# Builds faceup_<version>_<arch>.deb with cpack from a fresh build folder, checks what it holds
# and what lintian says, installs it with apt-get, runs the service's command line exactly as
# faceup.service does (as an unprivileged user, with its environment file) and calls /readyz,
# /v1/fix and /metrics, builds two programs against the installed library (pkg-config, and
# CMake's find_package), renders both man pages, then removes the package (only the
# configuration may stay) and purges it.
#
# For a Debian CI machine, as root: it installs the tools it needs with apt-get, and it refuses
# to run where a faceup package is already installed, since it would remove it. Everything it
# makes is under one temporary folder; on exit, pass or fail, it stops the server it started,
# purges the package it installed and deletes that folder. The tools installed stay.
#
# Environment: FACEUP_MODEL (a local face_detection_yunet_2023mar.onnx; default: the one in
# build/model/ if there, else the build fetches it), JOBS (build parallelism, default 2).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=
server_pid=
installed=0

step() { printf '\n=== %s\n' "$*"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cleanup() {
    local rc=$?
    set +e
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null
    fi
    if [ "$installed" = 1 ]; then
        apt-get purge -y -qq faceup >/dev/null 2>&1
    fi
    [ -n "$work" ] && rm -rf "$work"
    [ "$rc" = 0 ] && echo "PASS: test_package" || echo "test_package failed (exit $rc)" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fail "run as root: this test installs and removes the faceup package"
if dpkg-query -W -f='${db:Status-Abbrev}' faceup 2>/dev/null | grep -q '^[a-z][ic]'; then
    fail "a faceup package is already installed here; this test would replace and purge it"
fi
work=$(mktemp -d /tmp/faceup-pkg.XXXXXX)

step "tools"
tools=(cmake make gcc pkg-config dpkg-dev file binutils lintian man-db groff-base curl
    libjpeg-turbo-progs util-linux)
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${tools[@]}" >"$work/apt.log" 2>&1; then
    apt-get update -qq >>"$work/apt.log" 2>&1
    apt-get install -y -qq --no-install-recommends "${tools[@]}" >>"$work/apt.log" 2>&1 ||
        { cat "$work/apt.log" >&2; fail "apt-get install ${tools[*]}"; }
fi
echo "ok: ${tools[*]}"

step "build the package"
model=${FACEUP_MODEL:-}
if [ -z "$model" ] && [ -f "$repo/build/model/face_detection_yunet_2023mar.onnx" ]; then
    model=$repo/build/model/face_detection_yunet_2023mar.onnx
fi
build=$work/build
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DFACEUP_BUILD_TESTS=OFF ${model:+"-DFACEUP_MODEL=$model"} >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log" >&2; fail "cmake configure"; }
cmake --build "$build" -j"${JOBS:-2}" >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log" >&2; fail "cmake --build"; }
(cd "$build" && cpack -G DEB) >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log" >&2; fail "cpack"; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
deb=$build/faceup_${version}_${arch}.deb
[ -f "$deb" ] || fail "cpack made no $deb"
echo "ok: $(basename "$deb")"

step "one version everywhere: $version"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "package version $(dpkg-deb -f "$deb" Version)"
said=$("$build/faceup" --version)
[[ $said == "faceup $version "* ]] || fail "faceup --version: $said"
[[ $(head -1 "$repo/packaging/changelog") == "faceup ($version) "* ]] ||
    fail "packaging/changelog has no entry for $version on top"
echo "ok: control, faceup --version, changelog"

step "contents (dpkg-deb -c)"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print substr($1, 1, 1), p }' >"$work/contents"
cat "$work/contents"
required=(
    /usr/bin/faceup
    "/usr/lib/$ma/libfaceup.so.$version" "/usr/lib/$ma/libfaceup.so.0" "/usr/lib/$ma/libfaceup.so"
    "/usr/lib/$ma/libfaceup.a"
    /usr/include/faceup.h
    "/usr/lib/$ma/pkgconfig/faceup.pc"
    "/usr/lib/$ma/cmake/faceup/faceupConfig.cmake"
    "/usr/lib/$ma/cmake/faceup/faceupConfigVersion.cmake"
    "/usr/lib/$ma/cmake/faceup/faceupTargets.cmake"
    /usr/share/man/man1/faceup.1.gz
    /usr/share/man/man3/libfaceup.3.gz
    /usr/lib/systemd/system/faceup.service
    /usr/libexec/faceup/faceup-wait-ready
    /etc/default/faceup
    /usr/share/doc/faceup/copyright
    /usr/share/doc/faceup/changelog.gz
)
for f in "${required[@]}"; do
    grep -qx "[-l] $f" "$work/contents" || fail "the package lacks $f"
done
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/default/faceup "$work/control/conffiles" || fail "/etc/default/faceup is not a conffile"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libturbojpeg0 libjpeg62-turbo libpng16-16 libwebp7 libwebpmux3 \
    libheif1 libmicrohttpd12; do
    [[ ", $depends," == *", $lib "* ]] || fail "Depends lacks $lib: $depends"
done
echo "ok: ${#required[@]} files, conffiles, Depends: $depends"

step "SONAME and versioned symbols"
dpkg-deb -x "$deb" "$work/root"
so=$work/root/usr/lib/$ma/libfaceup.so.$version
[[ $(readelf -d "$so") == *"Library soname: [libfaceup.so.0]"* ]] || fail "SONAME is not libfaceup.so.0"
readelf --dyn-syms -W "$so" | awk '$5 == "GLOBAL" && $7 != "UND" { print $8 }' >"$work/exports"
[ -s "$work/exports" ] || fail "libfaceup exports nothing"
if grep -v -e '^faceup_[a-z0-9_]*@@FACEUP_0$' -e '^FACEUP_0$' "$work/exports"; then
    fail "symbols exported outside faceup_*@@FACEUP_0 (above)"
fi
echo "ok: $(wc -l <"$work/exports") symbols, all faceup_*@@FACEUP_0"

step "lintian"
# Warnings are expected and shown: one package holds the library, its development files, the
# tool and the service, where Debian would split them into libfaceup0, libfaceup-dev and faceup.
lintian --fail-on error "$deb" || fail "lintian reports errors"
echo "ok: no errors"

step "install: apt-get install ./$(basename "$deb")"
installed=1
(cd "$build" && apt-get install -y -qq "./$(basename "$deb")") >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "apt-get install"; }
for f in /usr/bin/faceup "/usr/lib/$ma/libfaceup.so.0" /usr/include/faceup.h /etc/default/faceup \
    /usr/lib/systemd/system/faceup.service; do
    [ -e "$f" ] || fail "$f missing after install"
done
if ls /etc/systemd/system/*.wants/faceup.service 2>/dev/null; then
    fail "install enabled faceup.service"
fi
[ "$(faceup --version | cut -d' ' -f2)" = "$version" ] || fail "installed faceup --version"
echo "ok: installed, service not enabled"

step "the service, run as faceup.service runs it"
unit=/usr/lib/systemd/system/faceup.service
read -ra exec_start <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
read -ra exec_post <<<"$(sed -n 's/^ExecStartPost=//p' "$unit")"
env_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")
if [ "${#exec_start[@]}" = 0 ] || [ -z "$env_file" ]; then
    fail "cannot read ExecStart and EnvironmentFile of $unit"
fi
# The unit's environment: the assignments of the environment file (comments and blank lines
# skipped, as systemd does), then FACEUP_PORT=0 so that a service already on the configured
# port cannot get in the way; the port taken is read from the server's first line.
service_env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin)
while IFS= read -r line; do
    case $line in '' | '#'* | ';'*) continue ;; esac
    service_env+=("$line")
done <"$env_file"
service_env+=(FACEUP_PORT=0)
printf '  ExecStart: %s\n  environment: %s\n' "${exec_start[*]}" "${service_env[*]}"
# DynamicUser=yes, NoNewPrivileges=yes: an unprivileged user that cannot gain privileges.
env -i "${service_env[@]}" setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
    "${exec_start[@]}" 2>"$work/server.log" &
server_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's|^listening on http://.*:\([0-9]*\)$|\1|p' "$work/server.log")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "the server exited"; }
    sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; fail "the server never said where it listens"; }
env -i "${service_env[@]}" FACEUP_PORT="$port" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    --no-new-privs "${exec_post[@]}" || fail "ExecStartPost: not ready"
base=http://127.0.0.1:$port
echo "ok: listening on port $port, ExecStartPost says ready"

[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] || fail "/readyz is not 200"
# Grace Hopper's portrait turned 90 degrees clockwise: the service must turn it back.
jpegtran -rotate 90 -outfile "$work/turned.jpg" "$repo/samples/grace_hopper.jpg"
code=$(curl -s -D "$work/fix.headers" -o "$work/fixed.jpg" -w '%{http_code}' \
    -H 'Content-Type: image/jpeg' --data-binary @"$work/turned.jpg" "$base/v1/fix")
[ "$code" = 200 ] || { cat "$work/fix.headers" "$work/fixed.jpg" >&2; fail "/v1/fix answered $code"; }
grep -qix 'X-Faceup-Orientation: 90' <(tr -d '\r' <"$work/fix.headers") ||
    { cat "$work/fix.headers" >&2; fail "/v1/fix did not find the turn of 90"; }
# The first "orientation" of the JSON is the image's; the faces' come after it.
decided=$(faceup detect --json "$work/fixed.jpg")
[[ $decided =~ \"orientation\":\ *([a-z0-9]+) && ${BASH_REMATCH[1]} == 0 ]] ||
    fail "the image /v1/fix returned is not upright: $decided"
# A request is counted once its answer is sent, so the count may lag the answer a moment.
counted=0
for _ in $(seq 50); do
    curl -sf -o "$work/metrics" "$base/metrics" || fail "/metrics is not 200"
    if grep -q '^faceup_http_requests_total{endpoint="/v1/fix",status="200"} 1$' "$work/metrics"; then
        counted=1
        break
    fi
    sleep 0.1
done
[ "$counted" = 1 ] || { cat "$work/metrics" >&2; fail "/metrics does not count the /v1/fix request"; }
echo "ok: /readyz 200, /v1/fix turned the fixture upright, /metrics counts it"

kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
[ "$rc" = 0 ] || { cat "$work/server.log" >&2; fail "the server exited $rc on SIGTERM"; }
echo "ok: SIGTERM, exit 0"

step "programs built against the installed library"
cp "$repo/tests/pkg/consumer.c" "$repo/tests/pkg/CMakeLists.txt" "$work/"
# shellcheck disable=SC2046  # pkg-config's words are meant to split
gcc -Wall -Wextra -o "$work/consumer-pc" "$work/consumer.c" $(pkg-config --cflags --libs faceup)
"$work/consumer-pc" "$work/turned.jpg" 90
[[ $(readelf -d "$work/consumer-pc") == *"Shared library: [libfaceup.so.0]"* ]] ||
    fail "consumer-pc does not use libfaceup.so.0"
echo "ok: pkg-config --cflags --libs faceup"
# The static library through the same file: Requires.private and Libs.private must be complete.
# shellcheck disable=SC2046
gcc -o "$work/consumer-static" "$work/consumer.c" $(pkg-config --cflags faceup) \
    $(pkg-config --static --libs faceup | sed 's/-lfaceup\b/-l:libfaceup.a/')
if [[ $(readelf -d "$work/consumer-static") == *libfaceup* ]]; then
    fail "consumer-static links libfaceup.so"
fi
"$work/consumer-static" "$work/turned.jpg" 90
echo "ok: pkg-config --static --libs faceup with libfaceup.a"
if ! cmake -S "$work" -B "$work/consumer-cmake" -DFACEUP_EXPECTED_VERSION="$version" \
    >"$work/consumer-cmake.log" 2>&1 ||
    ! cmake --build "$work/consumer-cmake" >>"$work/consumer-cmake.log" 2>&1; then
    cat "$work/consumer-cmake.log" >&2
    fail "find_package(faceup $version)"
fi
"$work/consumer-cmake/consumer" "$work/turned.jpg" 90
echo "ok: find_package(faceup $version EXACT) and faceup::faceup"

step "man pages render without warnings"
for page in /usr/share/man/man1/faceup.1.gz /usr/share/man/man3/libfaceup.3.gz; do
    # Images with dpkg path-exclude rules for /usr/share/man install no pages: read the package's.
    [ -f "$page" ] || page=$work/root$page
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$page: $warnings"
    echo "ok: $page"
done

step "remove: only the configuration stays"
apt-get remove -y -qq faceup >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "apt-get remove"; }
[ "$(dpkg-query -W -f='${db:Status-Abbrev}' faceup)" = "rc " ] || fail "state after remove: $(dpkg-query -W -f='${db:Status-Abbrev}' faceup)"
while read -r type path; do
    [ "$path" = /etc/default/faceup ] && continue
    [ "$type" = d ] && continue
    if [ -e "$path" ] || [ -L "$path" ]; then
        fail "$path is left after remove"
    fi
done <"$work/contents"
for d in /usr/libexec/faceup /usr/share/doc/faceup "/usr/lib/$ma/cmake/faceup"; do
    if [ -e "$d" ]; then
        fail "$d is left after remove"
    fi
done
[ -f /etc/default/faceup ] || fail "remove deleted the configuration /etc/default/faceup"
echo "ok: only /etc/default/faceup is left"

step "purge"
apt-get purge -y -qq faceup >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "apt-get purge"; }
installed=0
if [ -e /etc/default/faceup ]; then
    fail "/etc/default/faceup is left after purge"
fi
if dpkg-query -W -f='${db:Status-Abbrev}' faceup 2>/dev/null | grep -q '^[a-z][ic]'; then
    fail "faceup is still known to dpkg after purge"
fi
if ls /etc/systemd/system/*.wants/faceup.service 2>/dev/null; then
    fail "enablement links are left after purge"
fi
echo "ok: nothing left"
