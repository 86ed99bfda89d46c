#!/usr/bin/env bash
# What the container rehearsal (test/k8s/containers*.test.ts) needs from Debian: podman with runc (podman alone
# brings crun, which refuses these machines' hybrid cgroup layout), buildah for `podman build`, and debootstrap
# for the stand-in base image (no registry is reachable; scripts/containers/stand-in-base.sh). Idempotent.
set -euo pipefail
packages=(podman buildah runc debootstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-container-deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "install-container-deps: need root for apt-get" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash "$(dirname "$0")/containers/podman.sh" --version >/dev/null
