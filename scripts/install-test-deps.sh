#!/usr/bin/env bash
# Installs what the test suite needs from Debian on a fresh machine (Debian 12, root). Idempotent: packages
# already present are skipped, so a second run costs a few dpkg queries.
set -euo pipefail
packages=(python3-locust python3-zmq python3-msgpack nginx-light wrk chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "install-test-deps: need root for apt-get" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
/usr/bin/locust --version >/dev/null 2>&1 || { echo "install-test-deps: /usr/bin/locust does not run" >&2; exit 1; }
/usr/bin/chromium --version >/dev/null 2>&1 || { echo "install-test-deps: /usr/bin/chromium does not run" >&2; exit 1; }
bash "$(dirname "$0")/install-db-deps.sh" # PostgreSQL, pgbench and MariaDB for the database tests
bash "$(dirname "$0")/install-container-deps.sh" # podman + runc for the Kubernetes rehearsal
bash "$(dirname "$0")/install-firebase-tools.sh" >/dev/null # GCS emulator for test/report, kept out of package.json
echo "install-test-deps: ok"
