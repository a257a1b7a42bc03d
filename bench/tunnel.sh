#!/usr/bin/env bash
# Tunnel throughput: bytes pushed from the jump host's end of a remote forward
# to a sink on this box, through oobd's tunnel package and through OpenSSH's
# own `ssh -R`, both against the same kind of real sshd on loopback
# (internal/sshdtest). Needs root and OpenSSH (make test-deps).
#
#   bench/tunnel.sh [benchtime] [count]      e.g. bench/tunnel.sh 3s 3
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${1:-3s}
count=${2:-3}
out=$(go test -run='^$' -bench='^BenchmarkForwardThroughput' -benchtime="$benchtime" -count="$count" ./tunnel)
echo "$out" | grep -E '^(goos|goarch|cpu|Benchmark)' || true
echo
echo "$out" | awk '
  /^BenchmarkForwardThroughput/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    for (i = 2; i <= NF; i++) if ($(i+1) == "MB/s") { sum[name] += $i; n[name]++ }
  }
  END {
    go  = "BenchmarkForwardThroughput"
    def = "BenchmarkForwardThroughputOpenSSH/cipher=default"
    gcm = "BenchmarkForwardThroughputOpenSSH/cipher=aes128-gcm@openssh.com"
    if (!n[go] || !n[def] || !n[gcm]) { print "tunnel.sh: missing benchmark results" > "/dev/stderr"; exit 1 }
    printf "%-44s %12s\n", "through a remote forward (mean of runs)", "MB/s"
    printf "%-44s %12.1f\n", "oobd tunnel (x/crypto, aes128-gcm)", sum[go]/n[go]
    printf "%-44s %12.1f\n", "OpenSSH ssh -R (default cipher, chacha20)", sum[def]/n[def]
    printf "%-44s %12.1f\n", "OpenSSH ssh -R -c aes128-gcm@openssh.com", sum[gcm]/n[gcm]
  }'
