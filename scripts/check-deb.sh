#!/usr/bin/env bash
# Builds the Debian packages (make deb) and checks them for real. Run as root
# on a Debian machine (CI does, from .ci/run); it installs what it needs
# (lintian, dpkg-dev) and installs, removes and purges the package oobd, so
# don't run it on a box where oobd is in use.
#   1. Each package (armhf, arm64, amd64): its control fields, a binary for
#      its architecture (armhf: GOARM=6), the unit and the conffile exactly
#      as generated from configs/, every Go module in the binary named in
#      the copyright file, and lintian with no errors.
#   2. The amd64 package installed with apt-get (which pulls ppp): oobd runs,
#      the files are where they belong with their modes, nothing is enabled
#      or started, and check-config names the example's placeholders and
#      the missing secret file (exit 2).
#   3. dpkg -r leaves only /etc/oobd/oobd.yaml and /var/lib/oobd; dpkg
#      --purge leaves nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
GO=${GO:-go}

if [ "$(id -u)" != 0 ]; then
	echo "check-deb: run as root: it installs and removes the oobd package" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
need=()
command -v lintian >/dev/null || need+=(lintian)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v dpkg-architecture >/dev/null || need+=(dpkg-dev)
if [ ${#need[@]} -gt 0 ]; then
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

failures=0
ok() { echo "ok    $*"; }
fail() {
	echo "FAIL  $*"
	failures=$((failures + 1))
}
check() { # check WHAT COMMAND...: ok when the command succeeds
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
mode() { stat -c '%a %U:%G' "$1"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A clean slate: an earlier run (or a real install) must not hide anything.
if dpkg-query -W -f='${db:Status-Status}' oobd 2>/dev/null | grep -qv '^not-installed$'; then
	dpkg --purge oobd >/dev/null
fi

echo "== make deb"
make --no-print-directory deb GO="$GO" BIN="$tmp/debs" >/dev/null
sed -f packaging/deb/unit.sed configs/oobd.service >"$tmp/unit.want"
sed -f packaging/deb/config.sed configs/oobd.example.yaml >"$tmp/config.want"

echo "== each package"
declare -A goarch=([armhf]="GOARCH=arm GOARM=6" [arm64]="GOARCH=arm64" [amd64]="GOARCH=amd64")
for arch in armhf arm64 amd64; do
	debs=("$tmp"/debs/oobd_*_"$arch".deb)
	if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
		fail "$arch: want one package, have: ${debs[*]}"
		continue
	fi
	deb=${debs[0]}
	x=$tmp/x-$arch
	dpkg-deb -x "$deb" "$x"
	dpkg-deb -e "$deb" "$x/DEBIAN"
	check "$arch: Architecture $arch" [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ]
	check "$arch: Depends: ppp" [ "$(dpkg-deb -f "$deb" Depends)" = ppp ]
	check "$arch: Recommends usb-modeswitch, mobile-broadband-provider-info" \
		[ "$(dpkg-deb -f "$deb" Recommends)" = "usb-modeswitch, mobile-broadband-provider-info" ]
	info=$("$GO" version -m "$x/usr/bin/oobd")
	for kv in ${goarch[$arch]} GOOS=linux CGO_ENABLED=0; do
		check "$arch: binary built with $kv" grep -q "build	$kv\$" <<<"$info"
	done
	check "$arch: the unit is configs/oobd.service with Debian's paths" cmp -s "$tmp/unit.want" "$x/usr/lib/systemd/system/oobd.service"
	check "$arch: /etc/oobd/oobd.yaml is the example with Debian's paths" cmp -s "$tmp/config.want" "$x/etc/oobd/oobd.yaml"
	check "$arch: /etc/oobd/oobd.yaml is a conffile" grep -qx /etc/oobd/oobd.yaml "$x/DEBIAN/conffiles"
	for f in postinst postrm prerm; do
		check "$arch: $f neither enables nor starts oobd" \
			bash -c '! grep -v "^[[:space:]]*#" "$1" | grep -Eq "(systemctl|deb-systemd-invoke|deb-systemd-helper)[^#]* (enable|start|restart)"' _ "$x/DEBIAN/$f"
	done
	for m in $(awk '$1 == "dep" {print $2}' <<<"$info"); do
		check "$arch: copyright names $m" grep -q "^Files:.* $m/\*" "$x/usr/share/doc/oobd/copyright"
	done
	if lintian --fail-on error "$deb" >"$tmp/lintian-$arch" 2>&1; then
		ok "$arch: lintian: no errors"
	else
		fail "$arch: lintian: errors"
	fi
	sed -e 's/^/      /' "$tmp/lintian-$arch" | grep -v 'running with root privileges' || true
done

echo "== install (amd64)"
deb=$(echo "$tmp"/debs/oobd_*_amd64.deb)
apt-get install -y -qq "$deb" >"$tmp/apt.log" 2>&1 || {
	cat "$tmp/apt.log"
	fail "apt-get install $deb"
	exit 1
}
ok "apt-get install ./$(basename "$deb")"
check "ppp came with it" [ "$(dpkg-query -W -f='${db:Status-Status}' ppp)" = installed ]
check "oobd version" /usr/bin/oobd version
check "/usr/bin/oobd is the one on PATH" [ "$(command -v oobd)" = /usr/bin/oobd ]
check "/etc/oobd/oobd.yaml: mode 600 root:root" [ "$(mode /etc/oobd/oobd.yaml)" = "600 root:root" ]
check "/etc/oobd: mode 700" [ "$(mode /etc/oobd)" = "700 root:root" ]
check "/var/lib/oobd: a directory, mode 700" [ "$(stat -c '%F %a %U:%G' /var/lib/oobd)" = "directory 700 root:root" ]
check "unit: ExecStart=/usr/bin/oobd run --config /etc/oobd/oobd.yaml" \
	grep -qx 'ExecStart=/usr/bin/oobd run --config /etc/oobd/oobd.yaml' /usr/lib/systemd/system/oobd.service
if command -v systemd-analyze >/dev/null; then
	check "unit: systemd-analyze verify" bash -c '[ -z "$(systemd-analyze verify /usr/lib/systemd/system/oobd.service 2>&1)" ]'
fi
check "not enabled" [ ! -e /etc/systemd/system/multi-user.target.wants/oobd.service ]
# (Other oobd binaries may run on a shared machine: look for the package's.)
check "not running" bash -c 'for e in /proc/[0-9]*/exe; do [ "$(readlink "$e")" != /usr/bin/oobd ] || exit 1; done'
check "config: state_dir /var/lib/oobd" grep -qx 'state_dir: /var/lib/oobd' /etc/oobd/oobd.yaml
check "config: every file under /etc/oobd" bash -c '! grep -q /usr/local /etc/oobd/oobd.yaml'
check "udev rule installed" [ -f /usr/lib/udev/rules.d/99-oobd-modemmanager.rules ]
check "ppp examples under /usr/share/doc/oobd/examples" test -f /usr/share/doc/oobd/examples/ppp/peers/oob -a -f /usr/share/doc/oobd/examples/ppp/chat/oob
check "nothing in /etc/ppp of ours" test ! -e /etc/ppp/peers/oob -a ! -e /etc/ppp/chat/oob
check "copyright and changelog.Debian.gz" test -f /usr/share/doc/oobd/copyright -a -f /usr/share/doc/oobd/changelog.Debian.gz
check "manual page" [ -f /usr/share/man/man1/oobd.1.gz ]

rc=0
oobd check-config --config /etc/oobd/oobd.yaml >"$tmp/check.out" 2>&1 || rc=$?
check "check-config on the fresh config exits 2" [ $rc = 2 ]
for key in tunnel.jump_host 'trigger.senders\[0\]' notify.pushover.user_key trigger.secret_file; do
	check "check-config names $key" grep -q "$key: " "$tmp/check.out"
done
sed -e 's/^/      /' "$tmp/check.out"

# A reinstall keeps the owner's edits to the conffile, without a prompt.
echo "# edited" >>/etc/oobd/oobd.yaml
dpkg -i "$deb" >/dev/null
check "reinstall keeps the edited config" grep -qx '# edited' /etc/oobd/oobd.yaml

echo "== dpkg -r"
dpkg -r oobd >/dev/null
left=()
while read -r f; do
	f=/${f#./}
	if [ "$f" != /etc/oobd/oobd.yaml ] && { [ -f "$f" ] || [ -L "$f" ]; }; then
		left+=("$f")
	fi
done < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$')
check "removed every file but the config (left: ${left[*]:-none})" [ ${#left[@]} = 0 ]
check "kept /etc/oobd/oobd.yaml, alone in /etc/oobd" [ "$(ls -A /etc/oobd)" = oobd.yaml ]
check "kept /var/lib/oobd" [ -d /var/lib/oobd ]
check "state: config-files" [ "$(dpkg-query -W -f='${db:Status-Status}' oobd)" = config-files ]

echo "== dpkg --purge"
dpkg --purge oobd >/dev/null
check "/etc/oobd gone" [ ! -e /etc/oobd ]
check "/var/lib/oobd gone" [ ! -e /var/lib/oobd ]
check "state: not installed" bash -c '! dpkg-query -W -f="\${db:Status-Status}" oobd 2>/dev/null | grep -qv "^not-installed$"'

echo
if [ $failures -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all Debian package checks passed"
