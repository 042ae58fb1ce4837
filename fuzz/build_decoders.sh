#!/usr/bin/env bash
# Opt-in: libjpeg-turbo, libpng and libwebp built from Debian's own source packages with clang's
# libFuzzer coverage and ASan, so the fuzz targets see (and find bugs) inside the decoders too;
# Debian's binary packages are uninstrumented, and libFuzzer is blind in them.
#
#   fuzz/build_decoders.sh [PREFIX]          (default build-fuzz/decoders; about 3.5 CPU-minutes)
#   FUZZ_CMAKE_ARGS=-DFACEUP_FUZZ_DECODERS=$PWD/build-fuzz/decoders fuzz/run.sh fuzz_image 2
#
# The sources come through apt-get source from the deb-src twins of this system's own Debian
# suites, in a private apt state under PREFIX.work/ (the system's apt configuration is left
# alone): the revision installed here when the archive still has it, else the newest one there
# of the same package. Static archives only; the SIMD assembly of libjpeg-turbo is left out (it
# cannot be instrumented; libjpeg-turbo's C code does the same work). UBSan is not compiled into
# the decoders, so known harmless undefined behaviour upstream does not stop every campaign.
# Needs: clang, cmake, dpkg-dev, zlib1g-dev and network access to the Debian archive.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(realpath -m "${1:-build-fuzz/decoders}")
work="$prefix.work"
jobs=${FUZZ_JOBS:-2}
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"

# --- the sources ---------------------------------------------------------------------------------
. /etc/os-release
cat >"$work/apt/sources.list" <<LIST
deb-src http://deb.debian.org/debian $VERSION_CODENAME main
deb-src http://deb.debian.org/debian $VERSION_CODENAME-updates main
deb-src http://deb.debian.org/debian-security $VERSION_CODENAME-security main
LIST
apt=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o "Dir::Etc::SourceParts=$work/apt/none"
     -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache")
apt-get "${apt[@]}" -qq update

# fetch SOURCE_PACKAGE BINARY_PACKAGE: unpack the source into $work/src/SOURCE_PACKAGE
fetch() {
    local src=$1 bin=$2 installed versions v
    [ -d "$work/src/$src" ] && return 0 # fetched by an earlier run
    installed=$(dpkg-query -W -f='${source:Version}' "$bin" 2>/dev/null || true)
    versions=$(apt-cache "${apt[@]}" showsrc "$src" | sed -n 's/^Version: //p' | sort -rV)
    rm -rf "${work:?}/src/$src" "$work/src/dl" && mkdir -p "$work/src/dl"
    for v in $installed $versions; do
        if (cd "$work/src/dl" && apt-get "${apt[@]}" -qq source --download-only "$src=$v" >/dev/null 2>&1); then
            echo "build_decoders: $src $v (installed: ${installed:-none})"
            dpkg-source --no-check -x "$work/src/dl/"*.dsc "$work/src/$src" >/dev/null
            return 0
        fi
        rm -f "$work/src/dl/"*
    done
    echo "build_decoders: no source of $src could be fetched" >&2
    exit 1
}
fetch libjpeg-turbo libjpeg62-turbo
fetch libpng1.6 libpng16-16
fetch libwebp libwebp7

# --- the builds ----------------------------------------------------------------------------------
export CC=clang
export CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address"
export LDFLAGS="-fsanitize=address"
# (an absolute libdir: libjpeg-turbo takes a relative one from the current folder)
cm=(-DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR="$prefix/lib"
    -DCMAKE_INSTALL_BINDIR="$prefix/bin" -DCMAKE_POSITION_INDEPENDENT_CODE=ON)
# A library whose archive is already in PREFIX is not built again (delete PREFIX to rebuild).
built() { [ -f "$prefix/lib/$1" ]; }

built libturbojpeg.a || {
cmake -S "$work/src/libjpeg-turbo" -B "$work/build/jpeg" "${cm[@]}" -DENABLE_SHARED=OFF \
    -DENABLE_STATIC=ON -DWITH_SIMD=OFF -DWITH_TURBOJPEG=ON >"$work/jpeg.log" 2>&1
cmake --build "$work/build/jpeg" -j "$jobs" --target install >>"$work/jpeg.log" 2>&1
}

built libpng16.a || (cd "$work/src/libpng1.6" && ./configure -q --prefix="$prefix" --disable-shared --enable-static \
    >"$work/png.log" 2>&1 && make -s -j "$jobs" install >>"$work/png.log" 2>&1)

built libwebp.a || {
cmake -S "$work/src/libwebp" -B "$work/build/webp" "${cm[@]}" -DBUILD_SHARED_LIBS=OFF \
    -DWEBP_BUILD_ANIM_UTILS=OFF -DWEBP_BUILD_CWEBP=OFF -DWEBP_BUILD_DWEBP=OFF \
    -DWEBP_BUILD_GIF2WEBP=OFF -DWEBP_BUILD_IMG2WEBP=OFF -DWEBP_BUILD_VWEBP=OFF \
    -DWEBP_BUILD_WEBPINFO=OFF -DWEBP_BUILD_WEBPMUX=OFF -DWEBP_BUILD_EXTRAS=OFF \
    >"$work/webp.log" 2>&1
cmake --build "$work/build/webp" -j "$jobs" --target install >>"$work/webp.log" 2>&1
}

for lib in libturbojpeg.a libjpeg.a libpng16.a libwebp.a libwebpmux.a; do
    [ -f "$prefix/lib/$lib" ] || { echo "build_decoders: $prefix/lib/$lib was not built" >&2; exit 1; }
done
echo "build_decoders: instrumented decoders in $prefix"
echo "  use: cmake ... -DFACEUP_BUILD_FUZZERS=ON -DFACEUP_FUZZ_DECODERS=$prefix"
