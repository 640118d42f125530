#!/usr/bin/env bash
# What the browser test needs: Debian's Chromium, a Chinese font (the console's labels),
# node and npm, and playwright-core from npm (`npm ci`: the version package-lock.json
# pins; it drives the system browser and downloads none). tests/run-all.sh runs this
# before the Rust tests, so relay_console runs with them; run.sh runs it and the test.
# Usage: bash tests/browser/setup.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

# shellcheck source=../tools.sh
source tests/tools.sh
ensure_node
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  apt_install chromium
fi
# The page's labels are Chinese: without a CJK font the screenshot shows boxes.
if [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  echo "installing a Chinese font (fonts-wqy-microhei)"
  apt_install fonts-wqy-microhei fontconfig
fi
/usr/bin/chromium --version
echo "node $(node --version)"

(cd "$here" && npm ci --no-audit --no-fund)

