#!/usr/bin/env bash
# Decode speed: a 30-PDU +CMGL listing (a 3-part GSM-7 text, UCS-2, GSM-7,
# an alphanumeric sender) decoded into messages by modem's parseCMGL +
# assemble, against the same PDUs decoded with warthog618/sms directly
# (pdumode + sms.Unmarshal + Collector + Decode, what a plain reader does);
# and the trigger's decision for one valid text, against a bare
# constant-time compare (+ one HMAC-SHA1 TOTP code).
#
#   bench/decode.sh [benchtime] [count]      e.g. bench/decode.sh 1s 5
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
benchtime=${1:-500ms}
count=${2:-5}
out=$bench_tmp/decode.out
med=$bench_tmp/decode.med
bench_start go test -run='^$' -bench='^(BenchmarkDecodeListing|BenchmarkDecide)' -benchmem \
	-benchtime="$benchtime" -count="$count" ./modem ./oob/trigger >"$out" 2>&1
bench_wait "$bench_pid" || bench_fail "go test failed:
$(tail -40 "$out")"
bench_medians "$out" >"$med"
awk '/^(goos|goarch|cpu):/ && !seen[$0]++ || /^Benchmark/' "$out"
echo
row() {
	local o r oa ra
	o=$(bench_get "$med" "$2" ns/op)
	r=$(bench_get "$med" "$3" ns/op)
	oa=$(bench_get "$med" "$2" allocs/op)
	ra=$(bench_get "$med" "$3" allocs/op)
	[ -n "$o" ] && [ -n "$r" ] || bench_fail "missing results for $2 or $3"
	printf "%-34s %11.1f %11.1f %7.1fx %8.0f %8.0f\n" "$1" "$o" "$r" "$(calc %.4f "$o / $r")" "$oa" "$ra"
}
printf "%-34s %11s %11s %8s %8s %8s\n" "median of $count runs" "ours ns/op" "ref ns/op" "ratio" "ours al" "ref al"
row "+CMGL listing, 30 PDUs" BenchmarkDecodeListing BenchmarkDecodeListingSMS
row "trigger decision, no TOTP" BenchmarkDecide/totp=off BenchmarkDecideReference/totp=off
row "trigger decision, TOTP" BenchmarkDecide/totp=on BenchmarkDecideReference/totp=on
echo "ref: listing = warthog618/sms directly (no header/length checks, no sort);"
echo "     trigger = constant-time compare of the pre-split secret (+ one HMAC-SHA1 code);"
echo "     ours checks allowlist, grammar, staleness, lockout, TOTP at +-1 step (3 HMACs)."
echo "al = allocs/op"
