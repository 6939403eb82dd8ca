#!/usr/bin/env bash
# Installs the system packages efs's tests, demo or benchmark need, only when
# they are missing. Usage: scripts/deps.sh test|demo|bench|wine (wine:
# Wine, which test/windows runs the Windows build under; CI installs it).
set -euo pipefail
want=(fuse3 rsync)
case "${1:-test}" in
  test) want+=(rclone syncthing curl) ;;
  bench) want+=(gocryptfs encfs restic rclone) ;;
  wine) want=(wine64) ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "efs: missing packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
