#!/usr/bin/env bash
# `make install` and `make uninstall`.
#
#   scripts/install.sh install PREFIX BINARY MANUAL   the binary, its man page, bash, zsh and
#                                                     fish completions (made by the binary) and
#                                                     the licence files it ships under
#   scripts/install.sh uninstall PREFIX               removes exactly what install put there
#
# install lists every file it wrote, with its SHA-256, and every directory it had to create in
# PREFIX/share/trellis/installed, rewritten after each one, so an install that fails part way
# still names what it put there. uninstall removes those files, but not one whose content has
# changed since (someone else's now), then those directories if they are empty again, so a
# directory that existed before (/usr/local/share/man) stays.
set -euo pipefail

usage() {
  echo "usage: $0 install PREFIX BINARY MANUAL | uninstall PREFIX" >&2
  exit 64
}

[ $# -ge 2 ] || usage
action=$1
# The scratch folder and the temporary file being written, removed however the script ends: an
# install stopped by Ctrl-C left its temporary copy in the prefix, where neither make install
# nor make uninstall removed it.
scratch= writing=
trap '[ -z "$scratch" ] || rm -rf "$scratch"; [ -z "$writing" ] || rm -f "$writing"' EXIT
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
# The licences the binary is distributed under (Apache-2.0, and ICU's for the data linked in),
# as `make dist` ships them: from the repository's root.
licence_files=(LICENSE NOTICE LICENSE-ICU)
licence_directory=share/doc/trellis
root=$(cd "$(dirname "$0")/.." && pwd)

# Every file install writes, relative to PREFIX.
installed_paths=("$binary_path" "$manual_path" "${completion_paths[@]}"
  "${licence_files[@]/#/$licence_directory/}")

# Entries of the manifest, old and new: "dir PATH" or "file PATH SHA256" (or "file PATH",
# from an install by 0.4.0 or earlier), PATH relative to PREFIX.
entries=()
# Adds an entry, in place of one of the same kind and path.
record() {
  local i kind path old_kind old_path
  read -r kind path _ <<< "$1"
  for i in "${!entries[@]}"; do
    read -r old_kind old_path _ <<< "${entries[$i]}"
    if [ "$old_kind $old_path" = "$kind $path" ]; then
      entries[i]=$1
      return
    fi
  done
  entries+=("$1")
}

# Writes the manifest, atomically; its directory is made first (`install_all`).
save_manifest() {
  writing="$manifest.tmp.$$"
  printf '%s\n' "${entries[@]}" > "$writing"
  mv -f "$writing" "$manifest"
  writing=
}

# Whether ENTRY is one install writes: a file it installs, with its hash or (0.4.0 and earlier)
# without, or a directory on the way to one or to the manifest.
known_entry() {
  local kind path hash rest known
  read -r kind path hash rest <<< "$1"
  [ -z "$rest" ] || return 1
  for known in "${installed_paths[@]}" "${manifest#"$prefix"/}"; do
    case $kind in
      file) [ "$path" = "$known" ] && [[ $hash =~ ^([0-9a-f]{64})?$ ]] && return 0 ;;
      dir) [ -z "$hash" ] && [[ $known == "$path"/* ]] && return 0 ;;
    esac
  done
  return 1
}

# Reads the manifest's entries, after checking that every one is install's: a file of the
# user's own at its path was read as one, rewritten by install and deleted by uninstall.
read_manifest() {
  local entry
  while IFS= read -r entry; do
    if ! known_entry "$entry"; then
      echo "error: $manifest is not the list make install writes (it holds \"$entry\");" \
        "it was left as it is: move it away, or choose another PREFIX" >&2
      exit 1
    fi
    record "$entry"
  done < "$manifest"
}

sha256() { sha256sum < "$1" | cut -d' ' -f1; }

# The manifest's hash for the file at PATH (relative to PREFIX): empty for a file listed
# without one (an install by 0.4.0 or earlier) or not listed.
listed_hash() {
  local entry kind path hash
  for entry in "${entries[@]}"; do
    read -r kind path hash <<< "$entry"
    if [ "$kind $path" = "file $1" ]; then
      echo "$hash"
      return
    fi
  done
}

# Whether the file at PATH (relative to PREFIX) is as install wrote it: it has the manifest's
# hash. One listed without a hash cannot show it, so it is someone else's until its owner
# says otherwise: taken as unchanged, a script of the user's put in its place since was
# replaced by install and deleted by uninstall.
unchanged() {
  local hash
  hash=$(listed_hash "$1")
  [ -n "$hash" ] && [ "$(sha256 "$prefix/$1")" = "$hash" ]
}

# Whether the manifest lists the file at PATH without a hash (an install by 0.4.0 or earlier).
listed_without_hash() {
  local entry
  for entry in "${entries[@]}"; do
    if [ "$entry" = "file $1" ]; then return 0; fi
  done
  return 1
}
hashless_reason="an install by Trellis 0.4.0 or earlier listed it without a hash to tell"
hashless_reason+=" whether it changed since"

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
    # (Not while the manifest's own directory and its parents are being made.)
    if [ -d "$(dirname "$manifest")" ]; then save_manifest; fi
  done
}

# Installs FILE as PATH (relative to PREFIX) with MODE, through a temporary name in the same
# directory, so a failed copy never leaves a half-written file under the final name.
install_file() {
  local file=$1 path=$2 mode=$3
  make_directory "$(dirname "$path")"
  writing="$prefix/$path.tmp.$$"
  install -m "$mode" "$file" "$writing"
  mv -f "$writing" "$prefix/$path"
  writing=
  record "file $path $(sha256 "$prefix/$path")"
  save_manifest
}

install_all() {
  local binary=$1 manual=$2 shell
  [ -x "$binary" ] || { echo "error: $binary: no such executable (run make build)" >&2; exit 1; }
  [ -s "$manual" ] || { echo "error: $manual: no such man page" >&2; exit 1; }
  [ -d "$prefix" ] || { mkdir -p "$prefix"; }
  if [ -e "$manifest" ] || [ -L "$manifest" ]; then
    [ -f "$manifest" ] && [ ! -L "$manifest" ] || {
      echo "error: $manifest is not a file make install wrote; move it away," \
        "or choose another PREFIX" >&2
      exit 1
    }
    read_manifest
  fi
  # A file already at one of the paths that no earlier install wrote, or that was changed
  # since, belongs to someone else (another trellis, a package's, the user's own): replacing
  # it, and removing it at uninstall, would lose it.
  local path
  for path in "${installed_paths[@]}"; do
    [ -e "$prefix/$path" ] || [ -L "$prefix/$path" ] || continue
    if [ -L "$prefix/$path" ] || ! unchanged "$path"; then
      local reason="is not what make install put there"
      if listed_without_hash "$path"; then reason="is there, and $hashless_reason"; fi
      echo "error: $prefix/$path exists and $reason; remove it or choose another PREFIX" >&2
      exit 1
    fi
  done
  scratch=$(mktemp -d)
  for shell in bash zsh fish; do
    "$binary" --generate-completion-script "$shell" > "$scratch/$shell"
  done
  # Without its debugging sections, as `make dist` ships it: 61 MB instead of 81.
  strip -o "$scratch/trellis" "$binary"
  # The manifest's directory first, so each later step is recorded as soon as it is done.
  make_directory "$(dirname "${manifest#"$prefix"/}")"
  install_file "$scratch/trellis" "$binary_path" 755
  install_file "$manual" "$manual_path" 644
  for shell in bash zsh fish; do
    install_file "$scratch/$shell" "${completion_paths[$shell]}" 644
  done
  local licence
  for licence in "${licence_files[@]}"; do
    install_file "$root/$licence" "$licence_directory/$licence" 644
  done
  echo "installed under $prefix: $binary_path, $manual_path, ${completion_paths[*]}," \
    "$licence_directory/{${licence_files[*]}}"
}

uninstall_all() {
  local entry kind path dirs=() kept=() made=()
  if [ ! -f "$manifest" ]; then
    echo "nothing to uninstall: $manifest does not exist" >&2
    return 0
  fi
  read_manifest
  for entry in "${entries[@]}"; do
    read -r kind path _ <<< "$entry"
    case $kind in
      file)
        if [ -L "$prefix/$path" ] || { [ -e "$prefix/$path" ] && ! unchanged "$path"; }; then
          kept+=("$entry")
          if listed_without_hash "$path"; then
            echo "kept $prefix/$path: $hashless_reason; remove it if it is that install's" >&2
          else
            echo "kept $prefix/$path: changed since make install put it there" >&2
          fi
        else
          rm -f "$prefix/$path"
        fi
        ;;
      dir)
        dirs=("$path" "${dirs[@]}")
        made+=("$entry")
        ;;
    esac
  done
  # What was kept stays listed, with the directories, so that the list shows what to look at
  # and a later uninstall, once those files are gone, removes the directories.
  if [ ${#kept[@]} -gt 0 ]; then
    entries=("${kept[@]}" "${made[@]}")
    save_manifest
    echo "what it kept stays listed in $manifest" >&2
  else
    rm -f "$manifest"
  fi
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
