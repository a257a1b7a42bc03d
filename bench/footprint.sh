#!/usr/bin/env bash
# Footprint: the size of the oobd binary for the targets (a Raspberry Pi
# ARMv6/v7/v8 and amd64), and the resident memory of an idle `oobd run`
# daemon polling a simulated modem, beside what an always-on autossh setup
# keeps resident: an OpenSSH `ssh -N -R` client holding one remote forward
# to a throw-away sshd on loopback. Memory is the median of POLLS readings
# (oobd: one after each poll; ssh: a second apart). The idle CPU (row f of
# `make bench`) comes from bench/idle.sh. Needs root and OpenSSH (make
# test-deps).
#
#   bench/footprint.sh [polls]      e.g. bench/footprint.sh 5
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
polls=${1:-5}
sshd_bin=${SSHD:-/usr/sbin/sshd}
tmp=$bench_tmp
# EOF on its stdin stops the simulator (before lib.sh's clean-up stops the
# rest).
trap 'rc=$?; exec 3>&-; bench_cleanup "$rc"' EXIT

fail() { bench_fail "$@"; }

# wait_for FILE PATTERN [COUNT [SECONDS]]: until FILE has COUNT (1) lines
# matching PATTERN, for at most SECONDS (30).
wait_for() {
	local n
	for _ in $(seq $((${4:-30} * 10))); do
		n=$(grep -c -- "$2" "$1" 2>/dev/null || true)
		[ "${n:-0}" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

# mem PID FIELD: a /proc/PID/status field (VmRSS, VmHWM) in kB, or from
# smaps_rollup (Pss).
mem() {
	local file=/proc/$1/status
	[ "$2" = Pss ] && file=/proc/$1/smaps_rollup
	awk -v f="$2:" '$1 == f { print $2 }' "$file"
}
# median N...: the median of integers (kB readings).
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# --- binary sizes -----------------------------------------------------------
echo "binary size, oobd (CGO_ENABLED=0)     default   -trimpath -s -w"
for target in linux/arm/6 linux/arm/7 linux/arm64 linux/amd64; do
	IFS=/ read -r goos goarch goarm <<<"$target"
	name=$goos/$goarch
	[ -n "${goarm:-}" ] && name=$goos/armv$goarm
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOARM=${goarm:-} \
		go build -o "$tmp/oobd-default" ./cmd/oobd
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOARM=${goarm:-} \
		go build -trimpath -ldflags='-s -w' -o "$tmp/oobd-stripped" ./cmd/oobd
	printf "%-36s %7s MiB %7s MiB\n" "$name" \
		"$(mib "$(stat -c %s "$tmp/oobd-default")")" "$(mib "$(stat -c %s "$tmp/oobd-stripped")")"
	[ "$name" = linux/armv6 ] && armv6_stripped=$(stat -c %s "$tmp/oobd-stripped")
done
ssh_bytes=$(stat -L -c %s "$(command -v ssh)")
lib_bytes=$(ldd "$(command -v ssh)" | awk '$3 ~ /^\// { print $3 }' | xargs -r stat -L -c %s | awk '{ s += $1 } END { print s + 0 }')
printf "%-36s %7s MiB  (+ %s MiB of shared libraries)\n" "ref: OpenSSH ssh, $(uname -m), this box" \
	"$(mib "$ssh_bytes")" "$(mib "$lib_bytes")"
rm -f "$tmp/oobd-default" "$tmp/oobd-stripped"
echo

# --- oobd run, idle ----------------------------------------------------------
[ "$(id -u)" -eq 0 ] || fail "must run as root (sshd for the reference)"
[ -x "$sshd_bin" ] || fail "OpenSSH server not found at $sshd_bin (make test-deps)"
go build -o "$tmp/oobd" ./cmd/oobd
# The simulator runs from a copy, so that it shares no text pages with the
# daemon (they would halve the daemon's Pss).
cp "$tmp/oobd" "$tmp/oobd-sim"

# The simulated modem, driven through a FIFO on its stdin.
mkfifo "$tmp/sim.in"
"$tmp/oobd-sim" modem simulate --link "$tmp/modem" <"$tmp/sim.in" >"$tmp/sim.out" 2>&1 &
bench_pids+=($!)
exec 3>"$tmp/sim.in"
wait_for "$tmp/sim.out" "type \"help\"" || fail "modem simulator did not start: $(cat "$tmp/sim.out")"
# One stray text waiting on the SIM, so that a poll decodes and deletes
# something, as it would on a box that gets the carrier's notices.
echo "sms --ucs2 +46709999999 Привет! Your data plan renews tomorrow." >&3
wait_for "$tmp/sim.out" "stored at" || fail "simulator did not store the text: $(cat "$tmp/sim.out")"

# The config: the shape of oob/demo's, a jump host that is never dialled
# while idle.
mkdir -m 700 "$tmp/state"
printf 'bench-s3cret-not-used\n' >"$tmp/secret"
chmod 600 "$tmp/secret"
ssh-keygen -q -t ed25519 -N '' -C oobd-bench -f "$tmp/id_agent"
ssh-keygen -q -t ed25519 -N '' -C jump-bench -f "$tmp/jump_host_key"
echo "[jump.invalid]:22 $(cut -d' ' -f1,2 "$tmp/jump_host_key.pub")" >"$tmp/known_hosts"
chmod 600 "$tmp/known_hosts"
cat >"$tmp/oobd.yaml" <<EOF
state_dir: $tmp/state
modem:
  port: $tmp/modem
trigger:
  schedule: "@every 1s"
  senders: ["+46701234567"]
  secret_file: $tmp/secret
link:
  up_command: [/bin/false]   # never run: no trigger arrives
  interface: ppp0
tunnel:
  jump_host: jump.invalid:22
  user: oob
  identity_file: $tmp/id_agent
  known_hosts: $tmp/known_hosts
  forwards:
    - remote: localhost:31337
      local: 127.0.0.1:22
EOF
bench_start "$tmp/oobd" run --config "$tmp/oobd.yaml" --log-level debug 2>"$tmp/oobd.log"
oobd_pid=$bench_pid
# One reading after each poll: the (i+1)-th scheduled run starts only
# after the i-th finished.
rss=() hwm=() pss=()
for ((i = 1; i <= polls; i++)); do
	wait_for "$tmp/oobd.log" 'msg="cron: run"' $((i + 1)) $((i + 30)) ||
		fail "oobd did not poll $i times: $(tail -5 "$tmp/oobd.log")"
	rss+=("$(mem "$oobd_pid" VmRSS)") hwm+=("$(mem "$oobd_pid" VmHWM)") pss+=("$(mem "$oobd_pid" Pss)")
done
oobd_rss=$(median "${rss[@]}") oobd_hwm=$(median "${hwm[@]}") oobd_pss=$(median "${pss[@]}")
echo status >&3
wait_for "$tmp/sim.out" "storage=" || fail "simulator status: $(cat "$tmp/sim.out")"
grep -q "storage=0/" "$tmp/sim.out" || fail "oobd did not read and delete the stored text: $(grep storage= "$tmp/sim.out")"
! grep -q 'level=ERROR' "$tmp/oobd.log" || fail "oobd logged errors: $(grep 'level=ERROR' "$tmp/oobd.log" | head -3)"

# --- reference: ssh -N -R to a throw-away sshd --------------------------------
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$tmp/sshd_host_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/client_key"
cp "$tmp/client_key.pub" "$tmp/authorized_keys"
for try in 1 2 3 4 5; do
	port=$(shuf -i 20000-60000 -n 1)
	cat >"$tmp/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $tmp/sshd_host_key
PidFile none
AuthorizedKeysFile $tmp/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
GatewayPorts no
UseDNS no
EOF
	: >"$tmp/sshd.log"
	bench_start "$sshd_bin" -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log"
	sshd_pid=$bench_pid
	if wait_for "$tmp/sshd.log" "Server listening on 127.0.0.1 port $port"; then
		break
	fi
	bench_stop "$sshd_pid" 5
	bench_wait "$sshd_pid" || true
	grep -q "Address already in use" "$tmp/sshd.log" && [ "$try" -lt 5 ] || fail "sshd: $(cat "$tmp/sshd.log")"
done
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$tmp/sshd_host_key.pub")" >"$tmp/ssh_known_hosts"
# As autossh would keep it: keepalives on, exit if the forward fails.
bench_start ssh -N -F /dev/null -i "$tmp/client_key" -o IdentitiesOnly=yes -o BatchMode=yes \
	-o UserKnownHostsFile="$tmp/ssh_known_hosts" -o StrictHostKeyChecking=yes \
	-o ExitOnForwardFailure=yes -o ServerAliveInterval=15 -o ServerAliveCountMax=3 \
	-p "$port" -R "127.0.0.1:0:127.0.0.1:$port" root@127.0.0.1 2>"$tmp/ssh.log"
ssh_pid=$bench_pid
wait_for "$tmp/ssh.log" "Allocated port" || fail "ssh -R: $(cat "$tmp/ssh.log")"
# As many readings, a second apart, once the session has settled.
rss=() hwm=() pss=()
for ((i = 1; i <= polls; i++)); do
	sleep 1
	rss+=("$(mem "$ssh_pid" VmRSS)") hwm+=("$(mem "$ssh_pid" VmHWM)") pss+=("$(mem "$ssh_pid" Pss)")
done
ssh_rss=$(median "${rss[@]}") ssh_hwm=$(median "${hwm[@]}") ssh_pss=$(median "${pss[@]}")

printf "%-36s %11s %11s %11s\n" "resident memory, median of $polls readings" "VmRSS" "VmHWM" "Pss"
printf "%-36s %7s MiB %7s MiB %7s MiB\n" "oobd run, idle, one after each poll" \
	"$(mib $((oobd_rss * 1024)))" "$(mib $((oobd_hwm * 1024)))" "$(mib $((oobd_pss * 1024)))"
printf "%-36s %7s MiB %7s MiB %7s MiB\n" "ref: ssh -N -R, one forward, idle" \
	"$(mib $((ssh_rss * 1024)))" "$(mib $((ssh_hwm * 1024)))" "$(mib $((ssh_pss * 1024)))"
echo "VmRSS: resident now; VmHWM: peak resident since start; Pss: resident with shared pages divided"
echo "among the processes sharing them. oobd: amd64 default build, modem open, polling every 1s (one"
echo "UCS-2 text read and deleted), no session up. ssh: the client alone, holding one remote forward"
echo "(autossh's own monitor process not counted); its RSS includes libc/libcrypto pages others share."

bench_row f "stripped binary, linux/arm GOARM=6 (-trimpath -s -w)" "$(mib "$armv6_stripped") MiB" \
	"ssh $(uname -m): $(mib "$ssh_bytes") MiB + $(mib "$lib_bytes") MiB libs" "-"
bench_row f "idle RSS, VmRSS / Pss (amd64, modem polled every 1 s)" \
	"$(mib $((oobd_rss * 1024))) / $(mib $((oobd_pss * 1024))) MiB" \
	"ssh -N -R: $(mib $((ssh_rss * 1024))) / $(mib $((ssh_pss * 1024))) MiB" "-"
