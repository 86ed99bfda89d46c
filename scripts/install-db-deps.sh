#!/usr/bin/env bash
# What the database tests (test/worker/db/, test/templates/) and bench/db-vs-pgbench need from Debian: the
# PostgreSQL server with pg_stat_statements and pgbench (postgresql-contrib) and MariaDB server + client. The
# postinst scripts do not start services here; every test starts its own throwaway server on loopback
# (test/helpers/db-servers.ts). Idempotent. apt may be locked by another install: retried, never unlocked.
set -euo pipefail
packages=(postgresql postgresql-contrib mariadb-server mariadb-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-db-deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "install-db-deps: need root for apt-get" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then break; fi
    [ "$attempt" = 10 ] && { echo "install-db-deps: apt-get failed 10 times (locked?)" >&2; exit 1; }
    sleep 6
  done
fi
ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || { echo "install-db-deps: pgbench missing" >&2; exit 1; }
command -v mariadbd >/dev/null || { echo "install-db-deps: mariadbd missing" >&2; exit 1; }
