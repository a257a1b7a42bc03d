#!/usr/bin/env bash
# Row a: trigger latency. The real oobd (`oobd run`, production defaults)
# in the agent namespace of a netnstest topology, the modem simulator on a
# pty, the test dialer (fakeppp, through a wrapper that reports its start)
# as link.up_command, a real sshd as the jump host. A text from the owner
# is stored on the SIM; timed: until the dialer starts, and until the
# forward answers on the jump host (the box's SSH banner, read from inside
# the jump namespace). A fast modem and one that answers every command
# 300 ms late; a single-port and a two-port modem. Each run is a fresh
# world (bench/agentbench BenchmarkTrigger).
#
# Beside it: the floor (the simulator's delay x the round trips the work
# needs: one +CMGL, one +CMGD; closing the port and starting the dialer
# cost no modem round trip), the AT commands the run actually sent between
# the text and the dialer, and the worst case of the classic 2-minute cron
# poll (120 s, then the same dial).
#
# Needs root (network namespaces, sshd).
#
#   bench/trigger.sh [runs]      e.g. bench/trigger.sh 5
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
. bench/harness.sh
runs=${1:-5}
bench_need_root
harness_build

out=$bench_tmp/trigger.out
med=$bench_tmp/trigger.med
harness_start "$out" '^BenchmarkTrigger$' -test.count="$runs"
harness_wait "$bench_pid" "$out"
bench_medians "$out" >"$med"
grep -E '^(goos|goarch|cpu|Benchmark)' "$out" | grep -v '^--- BENCH' || true
echo

echo "trigger latency, median of $runs runs (ms)"
printf "%-22s %9s %9s %15s %10s %16s\n" "modem" "->dialer" "floor" "target" "->forward" "ref: 2-min cron"
declare -A dial fwd floor
for delay in 0s 300ms; do
	for ports in 1 2; do
		n="BenchmarkTrigger/delay=$delay/ports=$ports"
		k=$delay/$ports
		dial[$k]=$(bench_get "$med" "$n" ms-to-dialer)
		fwd[$k]=$(bench_get "$med" "$n" ms-to-forward)
		floor[$k]=$(bench_get "$med" "$n" ms-floor)
		[ -n "${dial[$k]}" ] && [ -n "${fwd[$k]}" ] || bench_fail "no figures for $n"
		limit=100
		what="fast"
		if [ "$delay" != 0s ]; then
			limit=1500
			what="$delay replies"
		fi
		label="$what, $ports port"
		[ "$ports" = 2 ] && label+="s"
		printf "%-22s %9s %9s %15s %10s %16s\n" "$label" \
			"$(calc %.1f "${dial[$k]}")" "$(calc %.0f "${floor[$k]}")" \
			"<= $limit: $(verdict "${dial[$k]}" "<=" "$limit")" \
			"$(calc %.0f "${fwd[$k]}")" \
			"$(calc "120 s + %.2f s" "(${fwd[$k]} - ${dial[$k]}) / 1000")"
	done
done
echo
echo "AT commands the modem was sent between the text and the dialer (runs):"
harness_logs "$out" "AT between text and dialer" | sed 's/^BenchmarkTrigger\///; s/: AT between text and dialer:/:/' |
	sort | uniq -c | sed 's/^ */  /'
cat <<'EOF'
->dialer: text stored on the SIM (Deliver returned) until the dialer's first
  line ran; ->forward: until the box's SSH banner came back through the jump
  host's end of the forward. floor: the simulator's delay x 2 (+CMGL, +CMGD).
ref: the classic script's cron poll every 2 minutes: a text waits up to 120 s
  before the dial starts, then the same dial (here: ->forward minus ->dialer).
EOF

b1=0s/1 b2=0s/2 s1=300ms/1 s2=300ms/2
cmds=$(harness_logs "$out" "AT between text and dialer" | sed 's/.*dialer: //' | sort | uniq -c | sort -rn | head -1 |
	awk '{ n = NF - 1; $1 = ""; print n " (" substr($0, 2) ")" }')
bench_row a "text stored -> dialer, fast modem, 1 / 2 ports" \
	"$(calc %.1f "${dial[$b1]}") / $(calc %.1f "${dial[$b2]}") ms" \
	"floor $(calc %.0f "${floor[$b1]}") ms; cron <= 120 s" \
	"<= 100 ms: $(verdict "${dial[$b1]}" "<=" 100) / $(verdict "${dial[$b2]}" "<=" 100)"
bench_row a "text stored -> dialer, 300 ms replies, 1 / 2 ports" \
	"$(calc %.0f "${dial[$s1]}") / $(calc %.0f "${dial[$s2]}") ms" \
	"floor $(calc %.0f "${floor[$s1]}") ms; cron <= 120 s" \
	"<= 1.5 s: $(verdict "${dial[$s1]}" "<=" 1500) / $(verdict "${dial[$s2]}" "<=" 1500)"
bench_row a "text stored -> forward answers, fast modem, 1 / 2 ports" \
	"$(calc %.2f "${fwd[$b1]} / 1000") / $(calc %.2f "${fwd[$b2]} / 1000") s" \
	"cron <= $(calc "%.1f s" "120 + (${fwd[$b1]} - ${dial[$b1]}) / 1000")" "-"
bench_row a "text stored -> forward answers, 300 ms replies, 1 / 2 ports" \
	"$(calc %.2f "${fwd[$s1]} / 1000") / $(calc %.2f "${fwd[$s2]} / 1000") s" \
	"cron <= $(calc "%.1f s" "120 + (${fwd[$s1]} - ${dial[$s1]}) / 1000")" "-"
bench_row a "AT commands, text -> dialer (most runs)" "$cmds" "2 (+CMGL, +CMGD)" "-"
