# Sourced by ffi/test-bindings.sh and android-demo/test-jvm.sh: installs what running
# Kotlin against the host library needs, if missing (a JDK from openjdk-17-jdk-headless, JNA
# from libjna-java, Node and npm from Debian's nodejs and npm: tests/tools.sh; the JVM
# kotlinc from npm's kotlin-compiler into $target_dir/tools), and sets
# tools, kotlin_home, kotlinc, stdlib and jna. Expects $root to be the repository root.
target_dir="${CARGO_TARGET_DIR:-$root/target}"
tools="$target_dir/tools"
kotlin_version=2.4.20
jna=/usr/share/java/jna.jar

# shellcheck source=../tests/tools.sh
source "$root/tests/tools.sh"
ensure_jvm
ensure_node
kotlin_home="$tools/node_modules/kotlin-compiler"
if [ ! -x "$kotlin_home/bin/kotlinc" ] ||
    ! grep -q "\"version\": \"$kotlin_version\"" "$kotlin_home/package.json" 2>/dev/null; then
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
        "kotlin-compiler@$kotlin_version" >/dev/null
fi
kotlinc="$kotlin_home/bin/kotlinc"
stdlib="$kotlin_home/lib/kotlin-stdlib.jar"
