#!/usr/bin/env bash
# packaging/deb/build.sh ARCH OUTDIR: cross-builds oobd for ARCH (armhf,
# arm64 or amd64) and packs it with dpkg-deb into OUTDIR/oobd_VERSION_ARCH.deb.
# `make deb` runs it for each architecture; it needs Go and dpkg-deb only.
#
# Environment: GO (default go), DEB_VERSION (default from git: see below),
# DEB_MAINTAINER (default the last commit's author), SOURCE_DATE_EPOCH
# (default the last commit's time: the same commit gives the same .deb).
set -euo pipefail
umask 022

if [ $# -ne 2 ]; then
	echo "usage: $0 ARCH OUTDIR   (ARCH: armhf, arm64 or amd64)" >&2
	exit 2
fi
arch=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
mkdir -p "$out"
out=$(cd "$out" && pwd)

GO=${GO:-go}
case $arch in
amd64) goarch=(GOARCH=amd64) ;;
arm64) goarch=(GOARCH=arm64) ;;
# ARMv6 code runs on every Raspberry Pi (Zero and 1 are ARMv6, Debian's
# armhf assumes ARMv7): one package serves them all.
armhf) goarch=(GOARCH=arm GOARM=6) ;;
*)
	echo "$0: unknown ARCH $arch (armhf, arm64 or amd64)" >&2
	exit 2
	;;
esac

epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH=$epoch
# 0.0~gitYYYYMMDDhhmmss.REV-1: no release yet, so the version orders
# builds by commit time; "~" sorts it before a future 0.0 release.
version=${DEB_VERSION:-0.0~git$(TZ=UTC git log -1 --date=format-local:%Y%m%d%H%M%S --format=%cd).$(git rev-parse --short=7 HEAD)-1}
maintainer=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>')}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/oobd
mkdir -p "$pkg/DEBIAN"

# The binary: static, stripped (lintian wants no symbols in /usr/bin),
# paths trimmed so the build is reproducible.
env CGO_ENABLED=0 GOOS=linux "${goarch[@]}" "$GO" build -trimpath -ldflags='-s -w -buildid=' \
	-o "$pkg/usr/bin/oobd" ./cmd/oobd

# The unit and the config are generated from the hand install's files, so
# the two installs cannot drift apart.
install -d "$pkg/usr/lib/systemd/system" "$pkg/usr/lib/udev/rules.d"
sed -f packaging/deb/unit.sed configs/oobd.service >"$pkg/usr/lib/systemd/system/oobd.service"
sed '1s|^# /etc/udev/rules.d/|# /usr/lib/udev/rules.d/ (from the oobd package; copy it to /etc/udev/rules.d/ to change it): |' \
	configs/udev/99-oobd-modemmanager.rules >"$pkg/usr/lib/udev/rules.d/99-oobd-modemmanager.rules"
install -d -m 0700 "$pkg/etc/oobd"
sed -f packaging/deb/config.sed configs/oobd.example.yaml >"$pkg/etc/oobd/oobd.yaml"
chmod 0600 "$pkg/etc/oobd/oobd.yaml"

# Examples: /etc/ppp belongs to the admin (and to ppp's own files).
doc=$pkg/usr/share/doc/oobd
install -d "$doc/examples/ppp/peers" "$doc/examples/ppp/chat" "$doc/examples/jumphost" "$pkg/usr/share/lintian/overrides" \
	"$pkg/usr/share/man/man1"
gzip -9n <packaging/oobd.1 >"$pkg/usr/share/man/man1/oobd.1.gz"
chmod 0644 "$pkg/usr/share/man/man1/oobd.1.gz"
install -m 0644 configs/ppp/peers/oob "$doc/examples/ppp/peers/oob"
install -m 0644 configs/ppp/chat/oob "$doc/examples/ppp/chat/oob"
install -m 0644 configs/jumphost/* "$doc/examples/jumphost/"
install -m 0644 packaging/deb/copyright "$doc/copyright"
install -m 0644 packaging/deb/lintian-overrides "$pkg/usr/share/lintian/overrides/oobd"
{
	echo "oobd ($version) unstable; urgency=medium"
	echo
	echo "  * Built from commit $(git rev-parse --short=12 HEAD) of the oobd repository;"
	echo "    its history lists the changes."
	echo
	echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$epoch")"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$pkg/DEBIAN/"
echo /etc/oobd/oobd.yaml >"$pkg/DEBIAN/conffiles"
cat >"$pkg/DEBIAN/control" <<EOF
Package: oobd
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: ppp
Recommends: usb-modeswitch, mobile-broadband-provider-info
Section: net
Priority: optional
Homepage: https://github.com/oobd/oobd
Description: way back into a network by text message (SMS-triggered OOB agent)
 oobd runs on a small box next to a router, with a USB 3G/4G modem. When
 the wired internet is down, the owner texts a secret to the modem's SIM:
 oobd checks the sender and the secret, dials PPP over the modem, proves
 that traffic leaves through the cellular link, opens a reverse SSH tunnel
 to a jump host and pushes a notice. The session ends after a timeout and
 everything is torn down in reverse order.
 .
 The package installs the service but neither enables nor starts it: fill
 in /etc/oobd/oobd.yaml first (oobd check-config names what is missing).
EOF
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles" "$pkg/DEBIAN/md5sums"
find "$pkg" -exec touch -h -d "@$epoch" {} +

deb=$out/oobd_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
