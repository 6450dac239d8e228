#!/usr/bin/env bash
# Installs Debian's OpenBLAS and LAPACKE, which training opens at run time (or the packages
# named as arguments: `make spark-test` asks for openjdk-17-jre-headless, `make serve-bench`
# for wrk) when they are missing: apt-get as root, sudo otherwise, and a clear message when
# neither is possible.
set -euo pipefail
if [ $# -gt 0 ]; then packages=("$@"); else packages=(libopenblas0 liblapacke); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (Debian packages Trellis needs)" >&2
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo)
else
  verb=are; [ ${#missing[@]} -gt 1 ] || verb=is
  echo "error: ${missing[*]} $verb missing and this user can neither run apt-get as root nor sudo." >&2
  echo "       Ask an administrator to run: apt-get install ${missing[*]}" >&2
  exit 1
fi
"${run[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
