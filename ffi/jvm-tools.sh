# Sourced by ffi/test-bindings.sh and android-demo/test-jvm.sh: installs what running
# Kotlin against the host library needs, if missing (a JDK, JNA from Debian's libjna-java,
# the JVM kotlinc from npm's kotlin-compiler into $target_dir/tools), and sets
# tools, kotlin_home, kotlinc, stdlib and jna. Expects $root to be the repository root.
target_dir="${CARGO_TARGET_DIR:-$root/target}"
tools="$target_dir/tools"
kotlin_version=2.4.20
jna=/usr/share/java/jna.jar

if ! command -v java >/dev/null || ! command -v javac >/dev/null; then
    apt-get update -qq && apt-get install -y -qq default-jdk-headless >/dev/null
fi
if [ ! -f "$jna" ]; then
    apt-get update -qq && apt-get install -y -qq libjna-java >/dev/null
fi
kotlin_home="$tools/node_modules/kotlin-compiler"
if [ ! -x "$kotlin_home/bin/kotlinc" ] ||
    ! grep -q "\"version\": \"$kotlin_version\"" "$kotlin_home/package.json" 2>/dev/null; then
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
        "kotlin-compiler@$kotlin_version" >/dev/null
fi
kotlinc="$kotlin_home/bin/kotlinc"
stdlib="$kotlin_home/lib/kotlin-stdlib.jar"
