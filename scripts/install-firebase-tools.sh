#!/usr/bin/env bash
# Installs firebase-tools (the GCS emulator used by test/report) into a cache folder outside the package, so a
# user's `npm install` never downloads its ~318 MB. Pinned exactly: the test drives internal emulator APIs.
# Prints the folder. Override the location with HORDE_FIREBASE_TOOLS_DIR.
set -euo pipefail
version=15.34.2
dir="${HORDE_FIREBASE_TOOLS_DIR:-${HOME}/.cache/horde/firebase-tools-${version}}"
marker="$dir/node_modules/firebase-tools/package.json"
if [ -f "$marker" ] && grep -q "\"version\": \"${version}\"" "$marker"; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name":"horde-test-firebase-tools","private":true}' >"$dir/package.json"
echo "install-firebase-tools: installing firebase-tools@${version} into $dir" >&2
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "firebase-tools@${version}" >&2
echo "$dir"
