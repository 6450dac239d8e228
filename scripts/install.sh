#!/usr/bin/env bash
# `make install` and `make uninstall`.
#
#   scripts/install.sh install PREFIX BINARY MANUAL   the binary, its man page and bash, zsh and
#                                                     fish completions (made by the binary)
#   scripts/install.sh uninstall PREFIX               removes exactly what install put there
#
# install lists every file it wrote and every directory it had to create in
# PREFIX/share/trellis/installed; uninstall removes those files, then those directories if
# they are empty again, so a directory that existed before (/usr/local/share/man) stays.
set -euo pipefail

usage() {
  echo "usage: $0 install PREFIX BINARY MANUAL | uninstall PREFIX" >&2
  exit 64
}

[ $# -ge 2 ] || usage
action=$1
prefix=${2%/}
[ -n "$prefix" ] || prefix=/
manifest=$prefix/share/trellis/installed

# Where each file goes, relative to PREFIX.
binary_path=bin/trellis
manual_path=share/man/man1/trellis.1
declare -A completion_paths=(
  [bash]=share/bash-completion/completions/trellis
  [zsh]=share/zsh/site-functions/_trellis
  [fish]=share/fish/vendor_completions.d/trellis.fish
)

# Entries of the manifest ("dir PATH" or "file PATH", PATH relative to PREFIX), old and new.
entries=()
record() {
  local entry
  for entry in "${entries[@]}"; do [ "$entry" = "$1" ] && return; done
  entries+=("$1")
}

# Creates DIR (relative to PREFIX) and its missing parents, recording each one it creates.
make_directory() {
  local missing=() dir=$1
  while [ "$dir" != . ] && [ ! -d "$prefix/$dir" ]; do
    missing=("$dir" "${missing[@]}")
    dir=$(dirname "$dir")
  done
  for dir in "${missing[@]}"; do
    mkdir "$prefix/$dir"
    record "dir $dir"
  done
}

# Installs FILE as PATH (relative to PREFIX) with MODE, through a temporary name in the same
# directory, so a failed copy never leaves a half-written file under the final name.
install_file() {
  local file=$1 path=$2 mode=$3
  make_directory "$(dirname "$path")"
  install -m "$mode" "$file" "$prefix/$path.tmp.$$"
  mv -f "$prefix/$path.tmp.$$" "$prefix/$path"
  record "file $path"
}

install_all() {
  local binary=$1 manual=$2 shell
  [ -x "$binary" ] || { echo "error: $binary: no such executable (run make build)" >&2; exit 1; }
  [ -s "$manual" ] || { echo "error: $manual: no such man page" >&2; exit 1; }
  [ -d "$prefix" ] || { mkdir -p "$prefix"; }
  if [ -f "$manifest" ]; then
    while IFS= read -r entry; do record "$entry"; done < "$manifest"
  fi
  # A file already at one of the paths that no earlier install wrote belongs to someone else
  # (another trellis, a package's): replacing it, and removing it at uninstall, would lose it.
  local path entry ours
  for path in "$binary_path" "$manual_path" "${completion_paths[@]}"; do
    [ -e "$prefix/$path" ] || [ -L "$prefix/$path" ] || continue
    ours=false
    for entry in "${entries[@]}"; do [ "$entry" = "file $path" ] && ours=true; done
    if [ "$ours" = false ]; then
      echo "error: $prefix/$path exists and was not installed by make install; remove it or" \
        "choose another PREFIX" >&2
      exit 1
    fi
  done
  scratch=$(mktemp -d)  # global: the EXIT trap runs after this function has returned
  trap 'rm -rf "$scratch"' EXIT
  for shell in bash zsh fish; do
    "$binary" --generate-completion-script "$shell" > "$scratch/$shell"
  done
  # Without its debugging sections, as `make dist` ships it: 61 MB instead of 81.
  strip -o "$scratch/trellis" "$binary"
  install_file "$scratch/trellis" "$binary_path" 755
  install_file "$manual" "$manual_path" 644
  for shell in bash zsh fish; do
    install_file "$scratch/$shell" "${completion_paths[$shell]}" 644
  done
  make_directory "$(dirname "${manifest#"$prefix"/}")"
  printf '%s\n' "${entries[@]}" > "$manifest.tmp.$$"
  mv -f "$manifest.tmp.$$" "$manifest"
  echo "installed under $prefix: $binary_path, $manual_path, ${completion_paths[*]}"
}

uninstall_all() {
  local entry path dirs=()
  if [ ! -f "$manifest" ]; then
    echo "nothing to uninstall: $manifest does not exist" >&2
    return 0
  fi
  while IFS= read -r entry; do
    path=${entry#* }
    case $entry in
      "file "*) rm -f "$prefix/$path" ;;
      "dir "*) dirs=("$path" "${dirs[@]}") ;;
    esac
  done < "$manifest"
  rm -f "$manifest"
  # Deepest first: a directory is created after its parent, so the reversed list has children
  # before parents; one that holds anything else stays.
  for path in "${dirs[@]}"; do
    rmdir "$prefix/$path" 2>/dev/null || true
  done
  echo "uninstalled from $prefix"
}

case $action in
  install) [ $# -eq 4 ] || usage; install_all "$3" "$4" ;;
  uninstall) [ $# -eq 2 ] || usage; uninstall_all ;;
  *) usage ;;
esac
