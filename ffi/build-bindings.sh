#!/usr/bin/env bash
# Builds the gridsync-ffi library and the uniffi-bindgen binary, then generates the Kotlin,
# Swift and Python bindings into target/bindings/{kotlin,swift,python}.
#
#   ffi/build-bindings.sh            release library (target/release/libgridsync_ffi.so)
#   ffi/build-bindings.sh --debug    debug library (faster to build; what the tests use)
#
# The bindings are generated from the unstripped library (uniffi reads its metadata
# symbols; strip a copy for shipping), with --no-format (no ktlint/swift-format needed).
# The Python module loads the library from its own folder, so a copy is put beside it.
# The bindgen is a crate of its own, built in a separate cargo invocation, so the
# library's uniffi dependency never gets the `cli` feature (clap, askama: minutes more).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

profile=release
cargo_profile=(--release)
for arg in "$@"; do
    case "$arg" in
        --debug) profile=debug; cargo_profile=() ;;
        --release) profile=release; cargo_profile=(--release) ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "build-bindings.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$(uname -s)" in
    Darwin) libname=libgridsync_ffi.dylib ;;
    *) libname=libgridsync_ffi.so ;;
esac

echo "== building gridsync-ffi ($profile)"
cargo build -p gridsync-ffi --lib "${cargo_profile[@]}"
echo "== building uniffi-bindgen"
cargo build -p gridsync-ffi-bindgen

lib="$target_dir/$profile/$libname"
bindgen="$target_dir/debug/uniffi-bindgen"
out="$target_dir/bindings"
[ -f "$lib" ] || { echo "build-bindings.sh: $lib was not built" >&2; exit 1; }

for lang in kotlin swift python; do
    rm -rf "${out:?}/$lang"
    echo "== generating $lang bindings"
    "$bindgen" generate "$lib" --language "$lang" --out-dir "$out/$lang" --no-format
done
cp "$lib" "$out/python/"

echo "bindings in $out:"
find "$out/kotlin" "$out/swift" "$out/python" -type f | sed "s|^$root/||" | sort
