#!/usr/bin/env bash
# efs demo: a sample plaintext tree → encrypted reverse view → rsync to a
# "cloud" folder → efs mount of that upload → diff -r against the original.
# Everything lives in a temp dir that is unmounted and removed on exit, also
# when interrupted. Usage: scripts/demo.sh [path/to/efs]
set -euo pipefail
EFS=$(realpath "${1:-bin/efs}")
work=$(mktemp -d "${TMPDIR:-/tmp}/efs-demo.XXXXXX")
home=$work/home view=$work/view cloud=$work/cloud restore=$work/restore

cleanup() {
  for m in "$view" "$restore"; do
    if mountpoint -q "$m" 2>/dev/null; then
      "$EFS" unmount "$m" 2>/dev/null || "$EFS" unmount --lazy "$m" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A sample plaintext tree in $home"
mkdir -p "$home/Documents/taxes 2025" "$home/Photos/holiday" "$home/code/efs"
echo "Dear diary, the launch code is 0000." > "$home/Documents/diary.txt"
printf 'income,42\nrefund,7\n' > "$home/Documents/taxes 2025/return.csv"
head -c 3000000 /dev/urandom > "$home/Photos/holiday/beach.jpg"
head -c 4097 /dev/urandom > "$home/Photos/holiday/edge-of-a-block.raw"
: > "$home/Documents/empty file"
echo 'package main' > "$home/code/efs/main.go"
ln -s ../Documents/diary.txt "$home/code/diary-link"
long=$(printf 'a%.0s' $(seq 1 200)); echo "a file with a 200-byte name" > "$home/Documents/$long.txt"
find "$home" -mindepth 1 | sed "s|$home/|    |" | sort

step "2. efs init (demo password; a real user types theirs twice)"
echo "demo password" > "$work/pw"
"$EFS" init --passfile "$work/pw" "$home"

step "3. efs reverse: the encrypted, read-only view at $view"
mkdir -p "$view"
"$EFS" reverse --passfile "$work/pw" "$home" "$view"
for rel in Documents/diary.txt "Documents/taxes 2025/return.csv" Photos/holiday/beach.jpg code/diary-link; do
  c=$("$EFS" encrypt-path --passfile "$work/pw" "$home" "$rel")
  printf '    %-34s -> %s\n' "$rel" "$c"
done
echo "    view root:"; ls "$view" | sed 's/^/        /'
if grep -rqa -e "launch code" -e "diary" -e "taxes" "$view" 2>/dev/null; then
  echo "FAIL: plaintext visible in the view" >&2; exit 1
fi
echo "    grep finds no plaintext name or content in the view."

step "4. rsync the view to the 'cloud' ($cloud)"
rsync -a --stats "$view/" "$cloud/" | grep -E "Number of regular files transferred|Total bytes sent"
echo "    second run (nothing changed, the view is deterministic):"
rsync -a --stats "$view/" "$cloud/" | grep -E "Number of regular files transferred"

step "5. efs mount the upload at $restore and compare"
mkdir -p "$restore"
"$EFS" mount --passfile "$work/pw" "$cloud" "$restore"
if diff -r --no-dereference --exclude=.efs.toml "$home" "$restore"; then
  echo "    diff -r: the restored tree is identical to the original."
else
  echo "FAIL: the restored tree differs" >&2; exit 1
fi

step "6. efs fsck of the upload"
"$EFS" fsck --passfile "$work/pw" "$cloud"

files=$(find "$home" -type f ! -name .efs.toml | wc -l)
bytes=$(du -sb --apparent-size "$home" | cut -f1)
cbytes=$(du -sb --apparent-size "$cloud" | cut -f1)
step "Summary"
echo "    $files files, $bytes plaintext bytes -> $cbytes ciphertext bytes uploaded"
echo "    names, contents and symlink targets encrypted; restore authenticated and identical."
"$EFS" unmount "$restore"
"$EFS" unmount "$view"
echo "    unmounted; $work is removed on exit."
