#!/usr/bin/env bash
# Rows b and e, and the idle CPU of row f: what an idle oobd costs, counted
# over a window and scaled to an hour. The runs go side by side (one
# harness process each), so the window passes once, whatever the runs.
#
#   b: an idle `oobd run` (default schedule @every 1m, +CMTI on, no text)
#      against the modem simulator, through a pty that counts the bytes:
#      AT commands and bytes on the AT port (BenchmarkIdleModem).
#   e: a session held idle over the test dialer's ppp0: the bytes through
#      ppp0, oobd's tunnel beside OpenSSH's `ssh -N -R` with
#      ServerAliveInterval = oobd's keepalive (15 s) and the same cipher,
#      each in its own topology against the same sshd settings
#      (BenchmarkIdleLink).
#   f: the CPU time oobd and ssh used in those windows, and how often oobd
#      rewrote its state file (inotify on state_dir).
#
# Needs root (network namespaces, sshd).
#
#   bench/idle.sh [window] [runs-b] [runs-e] [ready-file]
#       e.g. bench/idle.sh 10m 5 3      (quick: bench/idle.sh 1m 1 1)
# ready-file gets a line as each run's window starts (run.sh waits for
# them before it starts timed benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
. bench/harness.sh
window=${1:-10m}
runs_b=${2:-5}
runs_e=${3:-3}
ready=${4:-$bench_tmp/ready}
bench_need_root
harness_build

runs=()
for ((i = 1; i <= runs_b; i++)); do
	harness_start "$bench_tmp/b$i.out" '^BenchmarkIdleModem$' -window="$window" -ready="$ready"
	runs+=("$bench_pid:$bench_tmp/b$i.out")
done
for ((i = 1; i <= runs_e; i++)); do
	harness_start "$bench_tmp/e$i.out" '^BenchmarkIdleLink$' -window="$window" -ready="$ready"
	runs+=("$bench_pid:$bench_tmp/e$i.out")
done
for r in "${runs[@]}"; do
	harness_wait "${r%%:*}" "${r#*:}"
done

med=$bench_tmp/idle.med
cat "$bench_tmp"/b*.out "$bench_tmp"/e*.out >"$bench_tmp/idle.out"
bench_medians "$bench_tmp/idle.out" >"$med"
grep -E '^(goos|goarch|cpu):' "$bench_tmp/idle.out" | sort -u
grep -E '^Benchmark' "$bench_tmp/idle.out" || true
echo
get() { bench_get "$med" "$1" "$2"; }

b=BenchmarkIdleModem
echo "the AT port of an idle oobd, over $window x $runs_b runs (medians), scaled to an hour"
at_h=$(get $b AT/h)
at_poll=$(get $b AT/poll)
bytes_h=$(get $b bytes/h)
printf "%-36s %10s\n" "AT commands per hour" "$(calc %.0f "$at_h")"
printf "%-36s %10s   target <= 3: %s\n" "AT commands per quiet poll" "$(calc %.1f "${at_poll:-0}")" "$(verdict "$at_poll" "<=" 3)"
printf "%-36s %10s   (to the modem %s, from it %s)\n" "bytes on the AT port per hour" "$(calc %.0f "$bytes_h")" \
	"$(calc %.0f "$(get $b to-modem-B/h)")" "$(calc %.0f "$(get $b from-modem-B/h)")"
printf "%-36s %10s\n" "polls in the window" "$(calc %.0f "$(get $b polls)")"
printf "%-36s %10s\n" "state.json writes per hour" "$(calc %.0f "$(get $b state-writes/h)")"
echo "commands in each window:"
harness_logs "$bench_tmp/idle.out" "AT commands in" | sed 's/^BenchmarkIdleModem: /  /'
echo "(identity, settings and operator are re-read hourly: a window shorter than an"
echo " hour may hold none of those reads, so the hourly figures are a floor then)"
echo

e=BenchmarkIdleLink
echo "bytes through ppp0 with a session up and idle, over $window x $runs_e runs (medians), per hour"
printf "%-44s %10s %10s %10s %10s %14s\n" "" "total" "received" "sent" "CPU ms" "packets in/out"
oobd_h=$(get $e oobd-B/h)
ssh_h=$(get $e ssh-B/h)
for who in oobd ssh; do
	label="oobd tunnel (keepalive 15s)"
	[ $who = ssh ] && label="ref: ssh -N -R, ServerAliveInterval 15"
	printf "%-44s %10s %10s %10s %10s %14s\n" "$label" "$(calc %.0f "$(get $e $who-B/h)")" \
		"$(calc %.0f "$(get $e $who-rx-B/h)")" "$(calc %.0f "$(get $e $who-tx-B/h)")" \
		"$(calc %.0f "$(get $e $who-cpu-ms/h)")" \
		"$(calc %.0f "$(get $e $who-rx-pkt/h)")/$(calc %.0f "$(get $e $who-tx-pkt/h)")"
done
echo "target: oobd <= ssh -R: $(verdict "$oobd_h" "<=" "$ssh_h")"
echo "each run, in the window:"
harness_logs "$bench_tmp/idle.out" "packets sent on ppp0" | sed 's/^BenchmarkIdleLink: /  /'
echo "both: aes128-gcm, the jump host's sshd with ClientAliveInterval 15, ClientAliveCountMax 2"
echo "(configs/jumphost/sshd_config.oob); bytes are IP packets on ppp0 (a real PPP link adds"
echo "its own framing and LCP echoes, the same for both)."
echo "state.json writes per hour with the session up: oobd $(calc %.0f "$(get $e oobd-state-writes/h)") (each a temporary"
echo "file, an fsync and a rename: on a Raspberry Pi, writes to its SD card)."
echo "idle CPU of oobd with no session (row b's daemon): $(calc %.0f "$(get $b cpu-ms/h)") ms per hour"

bench_row b "AT commands per idle hour / per quiet poll" \
	"$(calc %.0f "$at_h") / $(calc %.1f "${at_poll:-0}")" "-" "per poll <= 3: $(verdict "$at_poll" "<=" 3)"
bench_row b "bytes on the AT port per idle hour" "$(calc %.0f "$bytes_h") B" "-" "-"
bench_row e "bytes through ppp0 per idle tunnel hour" "$(calc %.0f "$oobd_h") B" \
	"ssh -R: $(calc %.0f "$ssh_h") B" "<= ssh -R: $(verdict "$oobd_h" "<=" "$ssh_h")"
bench_row f "idle CPU per hour: no session / tunnel up" \
	"$(calc %.0f "$(get $b cpu-ms/h)") / $(calc %.0f "$(get $e oobd-cpu-ms/h)") ms" \
	"ssh -R (tunnel up): $(calc %.0f "$(get $e ssh-cpu-ms/h)") ms" "-"
bench_row f "state.json writes per hour: no session / tunnel up" \
	"$(calc %.0f "$(get $b state-writes/h)") / $(calc %.0f "$(get $e oobd-state-writes/h)")" "ssh -R: none" "-"
