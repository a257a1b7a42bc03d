#!/usr/bin/env bash
# `make bench`: every bench script, each printing its figures (medians of
# several runs) beside the reference it names, then one table of rows a-f
# headed by the machine it ran on:
#
#   a  trigger latency, text stored -> dialer -> forward   bench/trigger.sh
#   b  AT commands and bytes per idle hour                 bench/idle.sh
#   c  tunnel throughput and keystroke round trip          bench/tunnel.sh
#   d  forward back after the jump host's sshd restarts    bench/restart.sh
#   e  link bytes per idle tunnel hour                     bench/idle.sh
#   f  binary size, idle RSS and CPU                       bench/footprint.sh, bench/idle.sh
#   (and bench/decode.sh: SMS decoding and the trigger's decision)
#
# The idle rows (b, e) count over a window: they run first, side by side
# in the background, and the timed rows run while their windows pass.
#
# Needs root (network namespaces, sshd) and OpenSSH (make test-deps);
# installs autossh when missing. About 11 minutes:
#   make bench                      5 runs (3 for d and e), 10-minute windows
#   BENCH_WINDOW=2m make bench      the same with shorter idle windows
#   BENCH_QUICK=1 make bench        a smoke run: 1 run each, 1-minute windows (< 3 min)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
. bench/harness.sh
bench_need_root

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	mode="quick (BENCH_QUICK=1): 1 run each, not figures to quote"
	window=${BENCH_WINDOW:-1m} runs_a=1 runs_b=1 runs_e=1 runs_d=1 hold=5s gate=0
	tunnel_time=200ms tunnel_count=1 decode_time=100ms decode_count=1 polls=2
else
	mode="full"
	window=${BENCH_WINDOW:-10m} runs_a=5 runs_b=5 runs_e=3 runs_d=3 hold=35s gate=
	tunnel_time=1s tunnel_count=5 decode_time=500ms decode_count=5 polls=5
fi
export BENCH_TABLE=$bench_tmp/table.tsv
: >"$BENCH_TABLE"

started=$(date +%s)
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
system="$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(go env GOVERSION)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with changes)')"
echo "bench: $mode"
echo "machine: $machine; $system"
echo "commit: $commit; $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

harness_build
export BENCH_HARNESS=$harness_dir

# The idle windows first; the timed rows wait until every idle world is
# set up (setting one up is busy), then run while the windows pass.
ready=$bench_tmp/ready
: >"$ready"
echo "== b, e: idle windows of $window started in the background (bench/idle.sh $window $runs_b $runs_e)"
bench_start bench/idle.sh "$window" "$runs_b" "$runs_e" "$ready" >"$bench_tmp/idle.txt" 2>&1
idle_pid=$bench_pid
for ((i = 0; i < 3000; i++)); do
	[ "$(wc -l <"$ready")" -ge $((runs_b + runs_e)) ] && break
	kill -0 "$idle_pid" 2>/dev/null || break
	sleep 0.1
done
echo

failed=()
section() {
	local title=$1
	shift
	echo "== $title (bench/${1#bench/} ${*:2})"
	bench_start "$@"
	bench_wait "$bench_pid" || failed+=("${1#bench/}")
	echo
}
section "a: trigger latency" bench/trigger.sh "$runs_a"
section "c: a remote forward" bench/tunnel.sh "$tunnel_time" "$tunnel_count"
section "d: the jump host's sshd restarts" bench/restart.sh "$runs_d" "$hold" "$gate"
section "decoding and deciding texts" bench/decode.sh "$decode_time" "$decode_count"
section "f: footprint" bench/footprint.sh "$polls"

echo "== b, e, f (idle CPU): the idle windows (bench/idle.sh $window $runs_b $runs_e)"
bench_wait "$idle_pid" || failed+=(idle.sh)
cat "$bench_tmp/idle.txt"
echo

echo "== summary: median figures beside their references ($mode)"
echo "machine: $machine; $system; commit $commit"
{
	printf '#\tmeasure\toobd\treference\ttarget\n'
	sort -s -t "$(printf '\t')" -k1,1 "$BENCH_TABLE"
} | awk -F '\t' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
	NF > nf { nf = NF }
	END {
		for (r = 1; r <= NR; r++) {
			line = ""
			for (i = 1; i <= nf; i++) line = line sprintf("%-" w[i] "s", cell[r, i]) (i < nf ? " | " : "")
			print line
			if (r == 1) { gsub(/[^|]/, "-", line); gsub(/\|/, "+", line); print line }
		}
	}'
echo "a: runs=$runs_a, b: runs=$runs_b window=$window, c: runs=$tunnel_count x $tunnel_time," \
	"d: runs=$runs_d hold=$hold, e: runs=$runs_e window=$window; took $((($(date +%s) - started) / 60)) min;" \
	"load average now $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ${#failed[@]} -gt 0 ]; then
	bench_fail "failed: ${failed[*]}"
fi
