#!/bin/sh
# Checks the deployment files (CI runs this from the repository root):
#   1. rc.d/oobd parses (sh -n) and, run against a stub rc.subr, sets what
#      rc.subr needs (daemon(8) with both pidfiles, -r, syslog, check-config).
#   2. configs/oobd.service and the Debian package's unit generated from it
#      (packaging/deb/unit.sed) pass `systemd-analyze verify` (skipped with a
#      note where systemd-analyze is absent), and their settings are the
#      same apart from the paths.
#   3. The pppd peer file has no persist/defaultroute (oobd does retries and
#      routes), and the chat script has the APN placeholder and the dial.
#   4. The jump host's sshd_config block passes `sshd -t`, and `sshd -T`
#      for user oob shows the restrictions (skipped without sshd).
#   5. As root with unshare(1): a real sshd with the block and the
#      authorized_keys example accepts the reverse forward and the self-check's
#      direct-tcpip to localhost:31337 and refuses anything else (skipped
#      otherwise).
# The example oobd.yaml is parsed by oob/config's tests, not here.
set -eu

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$self")/.."

# jumphost_live DIR SSHD: step 5, run by this script inside `unshare -n`.
# DIR holds step 4's host key.
jumphost_live() {
	d=$1
	sshd=$2
	ip link set lo up
	ssh-keygen -q -t ed25519 -N '' -C oobd@oob-box -f "$d/id"
	sed "s|ssh-ed25519 AAAA[^ ]* oobd@oob-box|$(cat "$d/id.pub")|" configs/jumphost/authorized_keys.example >"$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	{
		echo "HostKey $d/hostkey"
		echo "ListenAddress 127.0.0.1:2222"
		echo "UsePAM no"
		echo "PermitRootLogin prohibit-password"
		echo "AuthorizedKeysFile $d/authorized_keys"
		echo "StrictModes no"
		echo "PidFile $d/sshd.pid"
		sed 's/^Match User oob$/Match User root/' configs/jumphost/sshd_config.oob
	} >"$d/sshd_live"
	"$sshd" -f "$d/sshd_live" -E "$d/sshd.log" || return 1
	o="-i $d/id -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 -p 2222"
	# Wait for sshd, then for the agent's forward, by polling (bounded).
	i=0; until ss -ltn | grep -q '127.0.0.1:2222 '; do i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1; done
	# The agent: a reverse forward to the "box's sshd" (here the same sshd).
	# shellcheck disable=SC2086
	ssh $o -N -o ExitOnForwardFailure=yes -R localhost:31337:127.0.0.1:2222 root@127.0.0.1 &
	agent=$!
	i=0; until ss -ltn | grep -q '127.0.0.1:31337 '; do i=$((i + 1)); [ $i -lt 100 ] || { kill $agent; return 1; }; sleep 0.1; done
	rc=0
	# shellcheck disable=SC2086
	banner=$(timeout 10 ssh $o -W localhost:31337 root@127.0.0.1 </dev/null 2>/dev/null | head -c 8) || true
	[ "$banner" = "SSH-2.0-" ] || { echo "self-check got '$banner'"; rc=1; }
	# shellcheck disable=SC2086
	if timeout 10 ssh $o -W localhost:2222 root@127.0.0.1 </dev/null 2>/dev/null | grep -q SSH; then echo "direct-tcpip to another port allowed"; rc=1; fi
	# shellcheck disable=SC2086
	if timeout 10 ssh $o -N -o ExitOnForwardFailure=yes -R localhost:31338:127.0.0.1:2222 root@127.0.0.1 2>/dev/null; then echo "listen on another port allowed"; rc=1; fi
	# shellcheck disable=SC2086
	if timeout 10 ssh $o -N -o ExitOnForwardFailure=yes -R 0.0.0.0:31339:127.0.0.1:2222 root@127.0.0.1 2>/dev/null; then echo "public listen allowed"; rc=1; fi
	kill $agent 2>/dev/null || true
	kill "$(cat "$d/sshd.pid")" 2>/dev/null || true
	wait $agent 2>/dev/null || true
	[ $rc = 0 ] || tail -n 20 "$d/sshd.log"
	return $rc
}
if [ "${1:-}" = "--jumphost-live" ]; then
	jumphost_live "$2" "$3"
	exit $?
fi

failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()   { echo "ok    $*"; }
skip() { echo "skip  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

# expect_in FILE PATTERN WHAT: grep -E PATTERN in FILE or fail with WHAT.
expect_in() {
	if grep -Eq -- "$2" "$1"; then ok "$3"; else fail "$3 (no /$2/ in $1)"; fi
}

# --- 1. rc.d/oobd ---------------------------------------------------------
if sh -n rc.d/oobd; then ok "rc.d/oobd: sh -n"; else fail "rc.d/oobd: sh -n"; fi
# Run it with a stub rc.subr that prints what run_rc_command would use.
cat >"$tmp/rc.subr" <<'STUB'
load_rc_config() { :; }
run_rc_command() {
	echo "name=$name"
	echo "rcvar=$rcvar"
	echo "command=$command"
	echo "procname=$procname"
	echo "pidfile=$pidfile"
	echo "command_args=$command_args"
	echo "required_files=$required_files"
	echo "start_precmd=$start_precmd"
	echo "enable=$oobd_enable"
}
STUB
sed "s|^\. /etc/rc.subr|. $tmp/rc.subr|" rc.d/oobd >"$tmp/oobd.rc"
if sh "$tmp/oobd.rc" start >"$tmp/rc.out" 2>&1; then
	expect_in "$tmp/rc.out" '^name=oobd$' "rc.d: name=oobd"
	expect_in "$tmp/rc.out" '^rcvar=oobd_enable$' "rc.d: rcvar=oobd_enable"
	expect_in "$tmp/rc.out" '^enable=NO$' "rc.d: oobd_enable defaults to NO"
	expect_in "$tmp/rc.out" '^command=/usr/sbin/daemon$' "rc.d: runs daemon(8)"
	expect_in "$tmp/rc.out" '^pidfile=/var/run/oobd.pid$' "rc.d: pidfile /var/run/oobd.pid"
	expect_in "$tmp/rc.out" '^command_args=.*-P /var/run/oobd.pid ' "rc.d: daemon -P supervisor pidfile"
	expect_in "$tmp/rc.out" '^command_args=.*-p /var/run/oobd.child.pid ' "rc.d: daemon -p child pidfile"
	expect_in "$tmp/rc.out" '^command_args=.* -r ' "rc.d: daemon -r"
	expect_in "$tmp/rc.out" '^command_args=.* -S -T oobd ' "rc.d: daemon -S -T oobd"
	expect_in "$tmp/rc.out" '^command_args=.*/usr/local/bin/oobd run --config /usr/local/etc/oobd/oobd.yaml' "rc.d: oobd run --config default"
	expect_in "$tmp/rc.out" '^required_files=/usr/local/etc/oobd/oobd.yaml$' "rc.d: required_files"
	expect_in "$tmp/rc.out" '^start_precmd=oobd_checkconfig$' "rc.d: start_precmd"
else
	fail "rc.d/oobd under a stub rc.subr: $(cat "$tmp/rc.out")"
fi
if oobd_config=/etc/other.yaml sh "$tmp/oobd.rc" start 2>&1 | grep -q -- '--config /etc/other.yaml'; then
	ok "rc.d: oobd_config from rc.conf wins"
else
	fail "rc.d: oobd_config is not used"
fi
expect_in rc.d/oobd 'check-config --config' "rc.d: checkconfig runs oobd check-config"

# --- 2. systemd unit ------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify insists that ExecStart's binary exists: point it at a stub,
	# everything else is the unit as shipped. Any output is a finding.
	printf '#!/bin/sh\nexit 0\n' >"$tmp/oobd"
	chmod 755 "$tmp/oobd"
	sed "s|/usr/local/bin/oobd|$tmp/oobd|g" configs/oobd.service >"$tmp/oobd.service"
	if out=$(systemd-analyze verify "$tmp/oobd.service" 2>&1) && [ -z "$out" ]; then
		ok "configs/oobd.service: systemd-analyze verify"
	else
		fail "configs/oobd.service: systemd-analyze verify: $out"
	fi
	mkdir "$tmp/deb"
	sed -f packaging/deb/unit.sed configs/oobd.service | sed "s|/usr/bin/oobd|$tmp/oobd|g" >"$tmp/deb/oobd.service"
	if out=$(systemd-analyze verify "$tmp/deb/oobd.service" 2>&1) && [ -z "$out" ]; then
		ok "package unit: systemd-analyze verify"
	else
		fail "package unit: systemd-analyze verify: $out"
	fi
else
	skip "configs/oobd.service: systemd-analyze not installed (units not verified)"
fi
# The Debian package's unit: generated from configs/oobd.service, so that
# a setting added to one (Type=notify, WatchdogSec=) is in both.
sed -f packaging/deb/unit.sed configs/oobd.service >"$tmp/oobd.deb.service"
expect_in "$tmp/oobd.deb.service" '^ExecStart=/usr/bin/oobd run --config /etc/oobd/oobd.yaml$' "package unit: ExecStart"
grep -Ev '^[[:space:]]*(#|$)' configs/oobd.service >"$tmp/settings.hand"
grep -Ev '^[[:space:]]*(#|$)' "$tmp/oobd.deb.service" | sed 's|/usr/bin/oobd|/usr/local/bin/oobd|g; s|/etc/oobd|/usr/local/etc/oobd|g' >"$tmp/settings.deb"
if cmp -s "$tmp/settings.hand" "$tmp/settings.deb"; then
	ok "package unit: the same settings as configs/oobd.service apart from paths"
else
	fail "package unit: settings differ from configs/oobd.service: $(diff "$tmp/settings.hand" "$tmp/settings.deb" | head -5)"
fi
expect_in configs/oobd.service '^ExecStart=/usr/local/bin/oobd run --config /usr/local/etc/oobd/oobd.yaml$' "unit: ExecStart"
expect_in configs/oobd.service '^KillMode=mixed$' "unit: KillMode=mixed"
expect_in configs/oobd.service '^ReadWritePaths=.*/etc/ppp' "unit: /etc/ppp writable"

# --- 3. pppd peer and chat script -----------------------------------------
if grep -Eq '^[[:space:]]*(persist|defaultroute|replacedefaultroute)([[:space:]]|$)' configs/ppp/peers/oob; then
	fail "ppp peer: persist/defaultroute must not be set (oobd retries and routes)"
else
	ok "ppp peer: no persist, no defaultroute"
fi
for opt in nodetach usepeerdns noipdefault 'unit 0' 'connect "/usr/sbin/chat -v -f /etc/ppp/chat/oob"'; do
	expect_in configs/ppp/peers/oob "^$opt\$" "ppp peer: $opt"
done
expect_in configs/ppp/chat/oob "^OK 'AT\+CGDCONT=1,\"IP\",\"APN_HERE\"'$" "chat: APN placeholder"
expect_in configs/ppp/chat/oob '^OK "ATD\*99#"$' "chat: dial *99#"
expect_in configs/ppp/chat/oob '^CONNECT ""$' "chat: expects CONNECT"

# --- 4. jump host sshd_config block ----------------------------------------
sshd=$(command -v sshd || true)
[ -n "$sshd" ] || [ ! -x /usr/sbin/sshd ] || sshd=/usr/sbin/sshd
if [ -n "$sshd" ]; then
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey"
	{
		echo "HostKey $tmp/hostkey"
		echo "UsePAM no"
		cat configs/jumphost/sshd_config.oob
	} >"$tmp/sshd_config"
	if out=$("$sshd" -t -f "$tmp/sshd_config" 2>&1); then
		ok "jumphost/sshd_config.oob: sshd -t"
	else
		fail "jumphost/sshd_config.oob: sshd -t: $out"
	fi
	"$sshd" -T -f "$tmp/sshd_config" -C user=oob,host=box,addr=192.0.2.1 >"$tmp/effective" 2>&1 || true
	for want in 'allowtcpforwarding yes' 'permitlisten localhost:31337' 'permitopen localhost:31337' \
		'gatewayports no' 'permittty no' 'forcecommand /bin/false' 'clientaliveinterval 15' 'clientalivecountmax 2'; do
		expect_in "$tmp/effective" "^$want\$" "jumphost: user oob gets $want"
	done
else
	skip "jumphost/sshd_config.oob: sshd not installed"
fi

# --- 5. the jump host for real (root, a private network namespace) --------
if [ -n "$sshd" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	command -v ss >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
	# A private network namespace: its own loopback, so fixed ports cannot
	# collide with anything else running on the machine.
	if out=$(unshare -n sh "$self" --jumphost-live "$tmp" "$sshd" 2>&1); then
		ok "jumphost: real sshd allows the forward and the self-check, refuses the rest"
	else
		fail "jumphost: real sshd: $out"
	fi
else
	skip "jumphost: live sshd check needs root, sshd, ss, ip and unshare -n"
fi

echo
if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all deployment file checks passed"
