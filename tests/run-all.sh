#!/usr/bin/env bash
# Runs every test gridsync has: formatting and lints, the Rust test suites (unit,
# property, crash, end-to-end over real QUIC, fault and fuzz tests, the relay on a
# throwaway PostgreSQL server), the FFI bindings'
# Kotlin and Python tests, and the Android demo's JVM tests. Installs what it needs and
# is missing (tests/tools.sh): on a bare Debian 12 with rustup, as root or with sudo.
# Usage: bash tests/run-all.sh        (from the repository root or anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "docs: PROTOCOL.md's version is PROTOCOL_VERSION"
doc_version=$(sed -n 's/^# gridsync sync protocol, version \([0-9][0-9]*\)$/\1/p' docs/PROTOCOL.md)
code_version=$(sed -n 's/^pub const PROTOCOL_VERSION: u16 = \([0-9][0-9]*\);$/\1/p' core/src/sync/wire.rs)
if [ -z "$doc_version" ] || [ -z "$code_version" ] || [ "$doc_version" != "$code_version" ]; then
  echo "docs/PROTOCOL.md says version '${doc_version:-?}' (heading '# gridsync sync protocol, version N')," >&2
  echo "core/src/sync/wire.rs has PROTOCOL_VERSION '${code_version:-?}': update the one that is wrong" >&2
  exit 1
fi
echo "protocol version $code_version"

step "toolchain (installs what is missing: tests/tools.sh)"
# shellcheck source=tools.sh
source tests/tools.sh
cargo --version
ensure_cc
ensure_rust_tools

# A CI run builds once from clean: incremental caches only cost disk there (ADR 0010).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
disk_used() { du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1; }

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets -- -D warnings

step "browser: Chromium and playwright-core for the console test (tests/browser/setup.sh)"
bash tests/browser/setup.sh

# The export test reads CSV with Python's csv module.
command -v python3 >/dev/null || apt_install python3

step "PostgreSQL: a throwaway server for the relay-on-PostgreSQL tests (tests/pg/server.sh)"
# Installs Debian's postgresql when missing; the server listens on a Unix socket only and
# is stopped (its directory removed) when this script exits.
PG_DIR="${TMPDIR:-/tmp}/gridsync-test-pg-$$"
stop_pg() { bash tests/pg/server.sh stop "$PG_DIR" >/dev/null 2>&1 || true; rm -rf "$PG_DIR"; }
trap stop_pg EXIT
GRIDSYNC_TEST_PG=$(bash tests/pg/server.sh start "$PG_DIR")
# The PostgreSQL tests fail here rather than skip.
export GRIDSYNC_TEST_PG GRIDSYNC_TEST_PG_DIR="$PG_DIR" GRIDSYNC_REQUIRE_PG=1
echo "PostgreSQL at $GRIDSYNC_TEST_PG"

step "rust tests"
cargo nextest run --workspace --no-fail-fast
echo "target/ holds $(disk_used) after the Rust tests"

if [ -f ffi/test-bindings.sh ]; then
  step "ffi bindings: Kotlin on the JVM and Python"
  bash ffi/test-bindings.sh
fi

if [ -f android-demo/test-jvm.sh ]; then
  step "android-demo: the platform-free Kotlin layer on the JVM"
  bash android-demo/test-jvm.sh
fi

step "disk: target/ holds $(disk_used); $(df -h --output=avail . | tail -1 | tr -d ' ') free"
step "all tests passed"
