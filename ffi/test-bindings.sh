#!/usr/bin/env bash
# Tests the generated bindings the way apps use them: a Kotlin program on the JVM (the
# Android app's language; JNA loads the host library) and pytest on the Python bindings.
# Each test starts a real gridsync-relay on 127.0.0.1:0 with a temporary data directory,
# enrolls two devices, and goes through the flow: open a store, register a household,
# log visits, report and act on a case, list due visits, hear a change callback, sync
# with the relay, see the household on a second device, and check errors.
#
#   ffi/test-bindings.sh     exits non-zero if any test fails
#
# Installs what is missing (tests/tools.sh): a JDK, libjna-java, nodejs and npm (apt),
# kotlin-compiler@2.4.20 (npm, into target/tools), pytest (pip, into a virtual environment
# in target/tools/pytest-venv; python3-venv from apt if needed). The Kotlin bindings are compiled into a jar once and
# reused until they change (kotlinc costs ~17 s of start-up per call).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
echo "== tools"
# shellcheck source=jvm-tools.sh
source "$root/ffi/jvm-tools.sh"
# pytest in a virtual environment under the target directory (PEP 668: Debian's Python
# takes no `pip install`); sets venv_python.
ensure_pytest_venv "$tools/pytest-venv"

echo "== build"
bash ffi/build-bindings.sh --debug
cargo build -p gridsync-server
relay="$target_dir/debug/gridsync-relay"
bindings="$target_dir/bindings"
libdir="$target_dir/debug"

echo "== kotlin"
kt_src="$bindings/kotlin/uniffi/gridsync_ffi/gridsync_ffi.kt"
bindings_jar="$tools/gridsync-bindings.jar"
stamp="$tools/gridsync-bindings.sha256"
sum="$( (sha256sum "$kt_src"; echo "$kotlin_version") | sha256sum | cut -d' ' -f1)"
if [ ! -f "$bindings_jar" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    echo "compiling the Kotlin bindings into $bindings_jar"
    "$kotlinc" "$kt_src" -cp "$jna" -nowarn -d "$bindings_jar"
    echo "$sum" >"$stamp"
else
    echo "Kotlin bindings unchanged: reusing $bindings_jar"
fi
test_jar="$tools/gridsync-kotlin-test.jar"
"$kotlinc" ffi/tests/kotlin/BindingsTest.kt -cp "$bindings_jar:$jna" -nowarn -d "$test_jar"

failed=0
GRIDSYNC_RELAY="$relay" java -Djna.library.path="$libdir" \
    -cp "$test_jar:$bindings_jar:$jna:$stdlib" BindingsTestKt || failed=1

echo "== python"
GRIDSYNC_RELAY="$relay" PYTHONPATH="$bindings/python" \
    "$venv_python" -m pytest -q -p no:cacheprovider ffi/tests/python || failed=1

if [ "$failed" -ne 0 ]; then
    echo "test-bindings.sh: some binding tests failed" >&2
    exit 1
fi
echo "test-bindings.sh: all binding tests passed"
