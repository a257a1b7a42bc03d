#!/usr/bin/env bash
# Row d: the forward's return after the jump host's sshd restarts. oobd's
# session and, beside it in the same agent namespace over the same ppp0,
# autossh (-M 0, ServerAliveInterval = oobd's keepalive 15 s,
# ServerAliveCountMax 3, ExitOnForwardFailure, the same cipher) holding a
# forward to the same jump host. After both have been up for HOLD, the
# jump host's sshd is killed (SIGKILL: the listener and every session) and
# started again on the same port; timed from the kill until each forward
# answers again (the box's SSH banner through the jump host's end). Each
# run is a fresh world (bench/agentbench BenchmarkSSHDRestart).
#
# HOLD defaults to 35 s: autossh treats an ssh that dies within
# AUTOSSH_GATETIME (30 s) of its start as a failed start. GATETIME is
# passed to autossh as AUTOSSH_GATETIME (empty: autossh's default); the
# quick run uses a short HOLD with GATETIME 0.
#
# Needs root (network namespaces, sshd) and autossh (installed with apt-get
# when missing).
#
#   bench/restart.sh [runs] [hold] [gatetime]      e.g. bench/restart.sh 3 35s
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
. bench/harness.sh
runs=${1:-3}
hold=${2:-35s}
gate=${3:-}
bench_need_root
if ! command -v autossh >/dev/null; then
	echo "restart.sh: installing autossh (the reference)" >&2
	apt-get install -y autossh >/dev/null || bench_fail "apt-get install autossh failed"
fi
harness_build

out=$bench_tmp/restart.out
med=$bench_tmp/restart.med
harness_start "$out" '^BenchmarkSSHDRestart$' -test.count="$runs" -hold="$hold" -autossh-gatetime="$gate"
harness_wait "$bench_pid" "$out"
bench_medians "$out" >"$med"
grep -E '^(goos|goarch|cpu|Benchmark)' "$out" | grep -v '^--- BENCH' || true
echo
n=BenchmarkSSHDRestart
oobd_s=$(bench_get "$med" $n oobd-s)
auto_s=$(bench_get "$med" $n autossh-s)
sshd_s=$(bench_get "$med" $n sshd-s)
gate_note="AUTOSSH_GATETIME ${gate:-default (30 s)}"
echo "seconds from the jump host's sshd killed until the forward answers again, median of $runs runs"
printf "%-52s %8s\n" "oobd (tunnel.keepalive 15s)" "$(calc %.2f "$oobd_s")"
printf "%-52s %8s\n" "ref: autossh -M 0, ServerAliveInterval 15, CountMax 3" "$(calc %.2f "$auto_s")"
printf "%-52s %8s\n" "(sshd listening again after)" "$(calc %.2f "$sshd_s")"
echo "target: oobd no slower than autossh: $(verdict "$oobd_s" "<=" "$auto_s")"
echo "both up for $hold before the kill; $gate_note; the kill closes every"
echo "session's TCP connection (FIN), so both notice at once: the figure is their reconnect."
bench_row d "forward answers again after the jump sshd is killed and restarted" \
	"$(calc "%.2f s" "$oobd_s")" "autossh: $(calc "%.2f s" "$auto_s")" \
	"<= autossh: $(verdict "$oobd_s" "<=" "$auto_s")"
