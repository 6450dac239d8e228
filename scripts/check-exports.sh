#!/usr/bin/env bash
# The functions a built libTrellisC.so exports are the functions trellis.h declares, no more
# and no fewer (Sources/TrellisC/exports.map): a symbol the header does not name is the
# library's own, which a host or another copy of Trellis in the process could bind to or
# replace. Usage: scripts/check-exports.sh LIBRARY HEADER
set -euo pipefail
library=$1 header=$2
# Defined, global symbols (nm's upper-case kinds, less the version node's A, and its i and u:
# GNU indirect functions and unique globals), without their version (@@TRELLIS_0).
exported=$(nm -D --defined-only "$library" \
  | awk '$2 ~ /^([B-Z]|i|u)$/ { sub(/@.*/, "", $3); print $3 }' | sort -u)
# The header's declarations, less its inline helpers (compiled into the caller).
declared=$(grep -vE '^static inline|^#define' "$header" | grep -oE '\btrellis_[a-z_]+\(' \
  | tr -d '(' | sort -u)
if [ "$exported" != "$declared" ]; then
  extra=$(comm -13 <(echo "$declared") <(echo "$exported") | grep . || true)
  missing=$(comm -23 <(echo "$declared") <(echo "$exported") | grep . || true)
  [ -z "$extra" ] || echo "check-exports: $library exports $(echo "$extra" | wc -l) symbols" \
    "$header does not declare, such as $(echo "$extra" | head -3 | paste -sd ' ')" >&2
  [ -z "$missing" ] || echo "check-exports: $library does not export" \
    "$(echo "$missing" | paste -sd ' '), which $header declares" >&2
  exit 1
fi
echo "check-exports: $library exports the $(echo "$exported" | wc -l) functions of $header"
