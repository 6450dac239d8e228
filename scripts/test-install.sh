#!/usr/bin/env bash
# `make test-install`: `make install` into a new temporary prefix puts the binary (stripped),
# the man page and the three completions there, and the installed binary runs; `make uninstall`
# then leaves the prefix as it was: empty, or with only what was there before.
set -euo pipefail
cd "$(dirname "$0")/.."

failures=0
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, reports a failure without stopping
  local description=$1
  shift
  if "$@"; then
    echo "ok: $description"
  else
    echo "FAILED: $description" >&2
    failures=$((failures + 1))
  fi
}

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
version=$(sed -n 's/^public let trellisVersion = "\(.*\)"$/\1/p' Sources/Trellis/Trellis.swift)

make --no-print-directory install PREFIX="$prefix"
check "binary installed and executable" test -x "$prefix/bin/trellis"
check "binary installed without debugging sections" \
  bash -c '! readelf -S "$1" | grep -q "\.debug_info"' _ "$prefix/bin/trellis"
check "man page installed" grep -q '^\.Dt TRELLIS 1$' "$prefix/share/man/man1/trellis.1"
check "man page documents train" grep -q '^\.It Em train$' "$prefix/share/man/man1/trellis.1"
check "man page has no empty line (mdoc warns of each)" \
  bash -c '! grep -qn "^$" "$1"' _ "$prefix/share/man/man1/trellis.1"
check "bash completion installed" grep -q 'complete .*trellis' \
  "$prefix/share/bash-completion/completions/trellis"
check "bash completion parses" bash -n "$prefix/share/bash-completion/completions/trellis"
check "zsh completion installed" grep -q '^#compdef trellis' \
  "$prefix/share/zsh/site-functions/_trellis"
check "fish completion installed" grep -q "^complete -c 'trellis'" \
  "$prefix/share/fish/vendor_completions.d/trellis.fish"
# generate-manual drops every character outside ASCII from the help it turns into the man page
# ("{"id": …}" became "{"id": }").
non_ascii=$(for command in "" train tag eval score info bench; do
  "$prefix/bin/trellis" $command --help
done | grep -cP '[^\x00-\x7F]' || true)
check "help texts are ASCII, as the man page keeps them (lines with others: $non_ascii)" \
  test "$non_ascii" = 0
for licence in LICENSE NOTICE LICENSE-ICU; do
  check "$licence installed" cmp -s "$licence" "$prefix/share/doc/trellis/$licence"
done
# From another directory, so nothing of the checkout is found by accident.
installed_version=$(cd / && "$prefix/bin/trellis" --version)
check "installed binary prints version $version (got: $installed_version)" \
  test "${installed_version%% *}" = "$version"

make --no-print-directory uninstall PREFIX="$prefix"
left=$(find "$prefix" -mindepth 1)
check "uninstall leaves the prefix empty${left:+ (left: $left)}" test -z "$left"

# Directories that were there before install stay, with what they held.
mkdir -p "$prefix/bin" "$prefix/share/man/man1"
touch "$prefix/bin/other-tool"
make --no-print-directory install PREFIX="$prefix" > /dev/null
make --no-print-directory uninstall PREFIX="$prefix"
left=$(cd "$prefix" && find . -mindepth 1 | sort | tr '\n' ' ')
check "uninstall keeps what was there before (left: $left)" \
  test "$left" = "./bin ./bin/other-tool ./share ./share/man ./share/man/man1 "

# A file of the same name that install did not put there is refused, and kept as it was.
echo "someone else's" > "$prefix/bin/trellis"
check "install refuses to replace a file it did not install" \
  bash -c '! make --no-print-directory install PREFIX="$1" > /dev/null 2>&1' _ "$prefix"
check "that file is kept" grep -qx "someone else's" "$prefix/bin/trellis"

rm -rf "${prefix:?}"/*

# An install that fails part way (a file where a directory must go) records what it put
# there: once the obstacle is gone, install runs again, and uninstall removes it all. (It wrote
# its list only at the end, and the next install then refused its own files.)
mkdir "$prefix/share"
touch "$prefix/share/fish"
check "install fails where it cannot make a directory" \
  bash -c '! make --no-print-directory install PREFIX="$1" > /dev/null 2>&1' _ "$prefix"
check "what it installed so far is listed" grep -qx "file bin/trellis [0-9a-f]*" \
  "$prefix/share/trellis/installed"
rm "$prefix/share/fish"
check "install runs again once the obstacle is gone" \
  make --no-print-directory install PREFIX="$prefix" > /dev/null
make --no-print-directory uninstall PREFIX="$prefix"
left=$(cd "$prefix" && find . -mindepth 1 | sort | tr '\n' ' ')
check "uninstall then leaves what was there before (left: $left)" test "$left" = "./share "

# A file changed since install (the user's own script put in its place) is someone else's
# now: uninstall keeps it, and install refuses to replace it.
rm -rf "${prefix:?}"/*
make --no-print-directory install PREFIX="$prefix" > /dev/null
printf '#!/bin/sh\necho mine\n' > "$prefix/bin/trellis"
make --no-print-directory uninstall PREFIX="$prefix" 2> /dev/null
check "uninstall keeps a file changed since install" grep -qx "echo mine" "$prefix/bin/trellis"
check "uninstall removes the rest" test ! -e "$prefix/share/man/man1/trellis.1"
check "install refuses to replace it" \
  bash -c '! make --no-print-directory install PREFIX="$1" > /dev/null 2>&1' _ "$prefix"

# An install by 0.4.0 or earlier listed its files without hashes, so a file there cannot show
# that it is unchanged: install refuses to replace it and uninstall keeps it (both took it for
# unchanged, and replaced or deleted the user's script put in its place).
rm -rf "${prefix:?}"/*
make --no-print-directory install PREFIX="$prefix" > /dev/null
sed -i 's/^\(file [^ ]*\) .*/\1/' "$prefix/share/trellis/installed"
printf '#!/bin/sh\necho mine\n' > "$prefix/bin/trellis"
check "install refuses a file listed without a hash, naming why" \
  bash -c 'make --no-print-directory install PREFIX="$1" 2>&1 >/dev/null | grep -q "0.4.0"' _ \
  "$prefix"
check "and leaves it as it was" grep -qx "echo mine" "$prefix/bin/trellis"
make --no-print-directory uninstall PREFIX="$prefix" 2> /dev/null
check "uninstall keeps a file listed without a hash" grep -qx "echo mine" "$prefix/bin/trellis"
check "and lists what it kept" grep -qx "file bin/trellis" "$prefix/share/trellis/installed"
rm -f "$prefix"/bin/trellis "$prefix"/share/man/man1/trellis.1 "$prefix"/share/*/*/*trellis* \
  "$prefix"/share/doc/trellis/*
make --no-print-directory uninstall PREFIX="$prefix" > /dev/null
left=$(cd "$prefix" && find . -mindepth 1 | sort | tr '\n' ' ')
check "once they are removed, uninstall removes the rest (left: $left)" test "$left" = ""

# A file of the user's own where the list of installed files goes is not read as that list:
# install read it, rewrote it, and uninstall then deleted it.
rm -rf "${prefix:?}"/*
mkdir -p "$prefix/share/trellis"
printf 'my own list of things\nfile bin/foo\n' > "$prefix/share/trellis/installed"
check "install refuses a list it did not write" \
  bash -c 'make --no-print-directory install PREFIX="$1" 2>&1 >/dev/null |
    grep -q "is not the list make install writes"' _ "$prefix"
check "uninstall refuses it too" \
  bash -c '! make --no-print-directory uninstall PREFIX="$1" 2>/dev/null' _ "$prefix"
check "and it is kept as it was" \
  grep -qx "my own list of things" "$prefix/share/trellis/installed"
left=$(cd "$prefix" && find . -mindepth 1 | sort | tr '\n' ' ')
check "nothing else was installed (found: $left)" \
  test "$left" = "./share ./share/trellis ./share/trellis/installed "

# A packager's staged install: DESTDIR before PREFIX, nothing written under PREFIX itself.
rm -rf "${prefix:?}"/*
make --no-print-directory install DESTDIR="$prefix/stage" PREFIX=/usr/lib/trellis-staged \
  > /dev/null
check "DESTDIR stages the install under it" \
  test -x "$prefix/stage/usr/lib/trellis-staged/bin/trellis" -a ! -e /usr/lib/trellis-staged
make --no-print-directory uninstall DESTDIR="$prefix/stage" PREFIX=/usr/lib/trellis-staged
check "uninstall with the same DESTDIR removes it" \
  test ! -e "$prefix/stage/usr/lib/trellis-staged/bin/trellis"

if [ "$failures" -gt 0 ]; then
  echo "make test-install: $failures checks failed" >&2
  exit 1
fi
echo "make test-install: every check passed"
