#!/usr/bin/env bash
# Tests the Android demo's platform-free Kotlin layer (android-demo/core-logic) on the JVM,
# against the host build of gridsync-ffi and a real gridsync-relay on 127.0.0.1: the same
# code the app runs, minus Android and Compose.
#
#   bash android-demo/test-jvm.sh      prints "N passed, N failed" last; non-zero on failure
#
# Installs what is missing (a JDK, libjna-java, nodejs and npm from apt: tests/tools.sh;
# kotlin-compiler@2.4.20 from npm into
# target/tools, shared with ffi/test-bindings.sh), builds the debug library, the bindgen and
# the relay, generates the Kotlin bindings into target/android-demo/, and compiles them and
# core-logic + its tests with kotlinc, each only when its sources changed (kotlinc has ~17 s
# of start-up). Then one JVM runs every test. Idempotent; safe to run again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
echo "== tools"
# shellcheck source=../ffi/jvm-tools.sh
source "$root/ffi/jvm-tools.sh"
out="$target_dir/android-demo"

echo "== build (debug library, bindgen, relay)"
case "$(uname -s)" in
    Darwin) libname=libgridsync_ffi.dylib ;;
    *) libname=libgridsync_ffi.so ;;
esac
# Separate invocations, as in ffi/build-bindings.sh: the bindgen's `cli` feature must not
# be unified into the library's uniffi dependency.
cargo build -p gridsync-ffi --lib
cargo build -p gridsync-ffi-bindgen
cargo build -p gridsync-server
lib="$target_dir/debug/$libname"
relay="$target_dir/debug/gridsync-relay"

echo "== bindings"
mkdir -p "$out"
rm -rf "$out/gen.tmp"
"$target_dir/debug/uniffi-bindgen" generate "$lib" --language kotlin --out-dir "$out/gen.tmp" --no-format >/dev/null
kt="$out/gen.tmp/uniffi/gridsync_ffi/gridsync_ffi.kt"
[ -f "$kt" ] || { echo "test-jvm.sh: the bindgen wrote no $kt" >&2; exit 1; }
bindings_jar="$out/gridsync-bindings.jar"
sum="$( (cat "$kt"; echo "$kotlin_version") | sha256sum | cut -d' ' -f1)"
if [ ! -f "$bindings_jar" ] || [ "$(cat "$bindings_jar.sha256" 2>/dev/null)" != "$sum" ]; then
    echo "compiling the Kotlin bindings"
    rm -f "$bindings_jar.sha256"
    "$kotlinc" "$kt" -cp "$jna" -nowarn -d "$bindings_jar"
    echo "$sum" >"$bindings_jar.sha256"
else
    echo "bindings unchanged: reusing $bindings_jar"
fi
rm -rf "$out/gen.tmp"

echo "== core-logic"
logic_jar="$out/core-logic-tests.jar"
mapfile -t sources < <(find android-demo/core-logic/src/main/kotlin android-demo/core-logic/src/test/kotlin -name '*.kt' | sort)
logic_sum="$( (echo "$sum"; for f in "${sources[@]}"; do echo "$f"; cat "$f"; done) | sha256sum | cut -d' ' -f1)"
if [ ! -f "$logic_jar" ] || [ "$(cat "$logic_jar.sha256" 2>/dev/null)" != "$logic_sum" ]; then
    echo "compiling core-logic and its tests (${#sources[@]} files)"
    rm -f "$logic_jar.sha256"
    "$kotlinc" "${sources[@]}" -cp "$bindings_jar:$jna" -d "$logic_jar"
    echo "$logic_sum" >"$logic_jar.sha256"
else
    echo "core-logic unchanged: reusing $logic_jar"
fi

echo "== tests (JVM, host library, real relay)"
exec env GRIDSYNC_RELAY="$relay" java -Djna.library.path="$(dirname "$lib")" \
    -cp "$logic_jar:$bindings_jar:$jna:$stdlib" dev.gridsync.demo.logic.LogicTestsKt
