#!/usr/bin/env bash
# The relay's web console in a real browser: sets up what it needs (setup.sh), then runs
# tests/tests/relay_console.rs, which starts a real relay and runs console.test.mjs
# against it.
# Usage: bash tests/browser/run.sh        (from the repository root or anywhere)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/setup.sh"
cd "$here/../.."
cargo nextest run -p gridsync-tests --test relay_console --no-fail-fast
