#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each, then keeps
# what the fuzzer learned: the inputs it found interesting (in the Go build
# cache) are copied into the package's testdata/fuzz/FuzzX/, capped per
# target, so every later `go test` replays them.
#
#   scripts/fuzz-all.sh [fuzztime] [keep-per-target]     e.g. scripts/fuzz-all.sh 60s 40
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-60s}
keep=${2:-40}
cache=$(go env GOCACHE)/fuzz
failed=()
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $f"
    # a finding is written to testdata/fuzz by go test itself; go on with
    # the other targets and report it at the end
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" "$pkg" || failed+=("$pkg $f")
    src="$cache/$pkg/$f"
    if [ -d "$src" ]; then
      mkdir -p "$dir/testdata/fuzz/$f"
      # the newest inputs, which cover what the older ones did not
      mapfile -t entries < <(ls -t "$src")
      for entry in "${entries[@]:0:$keep}"; do
        cp -n "$src/$entry" "$dir/testdata/fuzz/$f/$entry"
      done
    fi
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
