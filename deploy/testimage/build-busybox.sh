#!/usr/bin/env bash
# Builds the busybox test image from Debian's busybox-static, since no image can be
# pulled on the machines this project is tested on. Idempotent: does nothing when the
# image is already there (pass --force to rebuild).
#
#   deploy/testimage/build-busybox.sh [--force]   → image ecs-agent-test/busybox:latest
set -euo pipefail
IMAGE=${BUSYBOX_IMAGE:-ecs-agent-test/busybox:latest}
if [[ "${1:-}" != "--force" ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi
BB=$(command -v busybox || true)
if [[ -z "$BB" ]] || ! file -L "$BB" 2>/dev/null | grep -q 'statically linked'; then
  [[ -x /bin/busybox ]] && BB=/bin/busybox
fi
if [[ -z "$BB" ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    BB=/bin/busybox
  else
    echo "busybox-static is not installed: sudo apt-get install busybox-static" >&2
    exit 1
  fi
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,var/www,root}
cp "$BB" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >> "$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' -c 'CMD ["sh"]' - "$IMAGE" >/dev/null
echo "built $IMAGE"
