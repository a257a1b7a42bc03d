#!/usr/bin/env bash
# Row c: a remote forward through oobd's tunnel package and through
# OpenSSH's own `ssh -R`, both against the same kind of real sshd on
# loopback (internal/sshdtest), forwarding to a server on this box:
#   throughput: bytes pushed from the jump host's end to a sink;
#   keystrokes: 1-byte writes from the jump host's end echoed back (a
#               person typing on the router's console), per round trip.
# The reference uses the cipher oobd negotiates (aes128-gcm); OpenSSH's
# default (chacha20-poly1305) is shown for throughput too. Medians of
# COUNT runs of BENCHTIME each; the runs take turns (oobd, then the
# references, COUNT times), so that a busy spell on the machine falls on
# both rather than on one. Needs root and OpenSSH (make test-deps).
#
#   bench/tunnel.sh [benchtime] [count]      e.g. bench/tunnel.sh 1s 5
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
benchtime=${1:-1s}
count=${2:-5}
bench_need_root
out=$bench_tmp/tunnel.out
med=$bench_tmp/tunnel.med
go test -c -o "$bench_tmp/tunnel.test" ./tunnel
: >"$out"
for ((i = 1; i <= count; i++)); do
	# In the package's directory, as go test runs it.
	bench_start env -C tunnel "$bench_tmp/tunnel.test" -test.run='^$' \
		-test.bench='^BenchmarkForward(Throughput|Echo)' -test.benchtime="$benchtime" >>"$out" 2>&1
	bench_wait "$bench_pid" || bench_fail "the tunnel benchmarks failed:
$(tail -40 "$out")"
done
bench_medians "$out" >"$med"
awk '/^(goos|goarch|cpu):/ && !seen[$0]++ || /^Benchmark/' "$out"
echo

get() { bench_get "$med" "$1" "$2"; }
gcm=aes128-gcm@openssh.com
tp=$(get BenchmarkForwardThroughput MB/s)
tp_gcm=$(get "BenchmarkForwardThroughputOpenSSH/cipher=$gcm" MB/s)
tp_def=$(get "BenchmarkForwardThroughputOpenSSH/cipher=default" MB/s)
ks=$(get BenchmarkForwardEcho ns/op)
ks_gcm=$(get "BenchmarkForwardEchoOpenSSH/cipher=$gcm" ns/op)
[ -n "$tp" ] && [ -n "$tp_gcm" ] && [ -n "$tp_def" ] && [ -n "$ks" ] && [ -n "$ks_gcm" ] ||
	bench_fail "missing benchmark results"
ratio=$(calc %.2f "$tp / $tp_gcm")

echo "through a remote forward, median of $count runs of $benchtime"
printf "%-44s %12s %16s\n" "" "MB/s" "keystroke (us)"
printf "%-44s %12s %16s\n" "oobd tunnel (x/crypto, aes128-gcm)" "$(calc %.1f "$tp")" "$(calc %.1f "$ks / 1000")"
printf "%-44s %12s %16s\n" "ref: OpenSSH ssh -R -c aes128-gcm" "$(calc %.1f "$tp_gcm")" "$(calc %.1f "$ks_gcm / 1000")"
printf "%-44s %12s %16s\n" "OpenSSH ssh -R, default cipher (chacha20)" "$(calc %.1f "$tp_def")" "-"
echo "throughput: oobd / ssh -R same cipher = ${ratio}x; target >= 0.9x: $(verdict "$ratio" ">=" 0.9)"
echo "keystroke: one byte written at the jump host's end of the forward until its echo is read back."

bench_row c "throughput through a forward" "$(calc "%.0f MB/s" "$tp")" \
	"ssh -R aes128-gcm: $(calc "%.0f MB/s" "$tp_gcm")" ">= 0.9x: ${ratio}x $(verdict "$ratio" ">=" 0.9)"
bench_row c "keystroke round trip (1 byte, echoed)" "$(calc "%.0f us" "$ks / 1000")" \
	"ssh -R aes128-gcm: $(calc "%.0f us" "$ks_gcm / 1000")" "-"
