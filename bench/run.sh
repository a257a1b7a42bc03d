#!/usr/bin/env bash
# Every bench script in turn (`make bench`): tunnel throughput, decode
# speed, footprint. Each prints its figures beside the reference it names.
# Exits non-zero if any of them failed, after running the rest.
#
#   bench/run.sh
set -uo pipefail
cd "$(dirname "$0")"
failed=()
run() {
	echo "== bench/$*"
	if ! ./"$@"; then
		failed+=("$1")
	fi
	echo
}
run tunnel.sh 1s 2
run decode.sh 500ms 5
run footprint.sh 5
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench: failed: ${failed[*]}" >&2
	exit 1
fi
