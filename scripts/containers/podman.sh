#!/usr/bin/env bash
# podman as the test suite runs it: runc with cgroupfs (crun refuses the hybrid cgroup layout of these machines)
# and containers.conf without default ulimits. Use it like podman: scripts/containers/podman.sh images
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
exec podman --runtime runc --cgroup-manager cgroupfs "$@"
