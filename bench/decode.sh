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
benchtime=${1:-500ms}
count=${2:-5}
out=$(go test -run='^$' -bench='^(BenchmarkDecodeListing|BenchmarkDecide)' -benchmem \
	-benchtime="$benchtime" -count="$count" ./modem ./oob/trigger)
echo "$out" | awk '/^(goos|goarch|cpu):/ && !seen[$0]++ || /^Benchmark/'
echo
echo "$out" | awk '
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) {
      if ($(i+1) == "ns/op") ns[name] += $i
      if ($(i+1) == "allocs/op") al[name] += $i
    }
    n[name]++
  }
  function row(what, ours, ref) {
    if (!n[ours] || !n[ref]) { print "decode.sh: missing results for " ours " or " ref > "/dev/stderr"; bad = 1; return }
    o = ns[ours]/n[ours]; r = ns[ref]/n[ref]
    printf "%-34s %11.1f %11.1f %7.1fx %8.0f %8.0f\n", what, o, r, o/r, al[ours]/n[ours], al[ref]/n[ref]
  }
  END {
    printf "%-34s %11s %11s %8s %8s %8s\n", "mean of runs", "ours ns/op", "ref ns/op", "ratio", "ours al", "ref al"
    row("+CMGL listing, 30 PDUs", "BenchmarkDecodeListing", "BenchmarkDecodeListingSMS")
    row("trigger decision, no TOTP", "BenchmarkDecide/totp=off", "BenchmarkDecideReference/totp=off")
    row("trigger decision, TOTP", "BenchmarkDecide/totp=on", "BenchmarkDecideReference/totp=on")
    print "ref: listing = warthog618/sms directly (no header/length checks, no sort);"
    print "     trigger = constant-time compare of the pre-split secret (+ one HMAC-SHA1 code);"
    print "     ours checks allowlist, grammar, staleness, lockout, TOTP at +-1 step (3 HMACs)."
    print "al = allocs/op"
    exit bad
  }'
