#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's base image (node:22-slim) where no registry is reachable: a
# Debian bookworm minbase rootfs (debootstrap, ~50 s) with this machine's node + npm copied in and the user
# node (1000) the official images have, tagged with the exact name the Dockerfile's FROM uses. Cached by that
# tag: a second call costs one `podman image exists`. Prints the tag.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tag="$(sed -n 's/^ARG NODE_IMAGE=//p' "$root/Dockerfile" | head -1)"
[ -n "$tag" ] || { echo "stand-in-base: no ARG NODE_IMAGE= in $root/Dockerfile" >&2; exit 1; }
podman() { bash "$here/podman.sh" "$@"; }
if podman image exists "$tag"; then echo "$tag"; exit 0; fi
exec 9>/tmp/horde-stand-in-base.lock
flock 9 # two test files (or two worktrees) never debootstrap at once
if podman image exists "$tag"; then echo "$tag"; exit 0; fi
work="$(mktemp -d /tmp/horde-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
install -m 0755 "$node_bin" "$work/rootfs/usr/local/bin/node"
mkdir -p "$work/rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$work/rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
chroot "$work/rootfs" groupadd --gid 1000 node
chroot "$work/rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
printf 'FROM scratch\nADD rootfs.tar /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["node"]\n' >"$work/Containerfile"
podman build --quiet -t "$tag" -f "$work/Containerfile" "$work" >/dev/null
echo "$tag"
