#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: OpenSSH (a real
# sshd plays the jump host), iproute2 (network namespaces), Prometheus and
# promtool (a real server scrapes /metrics; promtool checks the exposition
# and the alert rules), the provider database the APN hint reads
# (mobile-broadband-provider-info). Go modules come through the module
# proxy when the tests build.
set -euo pipefail
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v ip >/dev/null || need+=(iproute2)
prometheus_new=
if [ ! -x /usr/bin/prometheus ] || [ ! -x /usr/bin/promtool ]; then
  need+=(prometheus)
  prometheus_new=1
fi
[ -f /usr/share/mobile-broadband-provider-info/serviceproviders.xml ] || need+=(mobile-broadband-provider-info)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-test-deps: need root to install: ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# sshd refuses to start without its privilege-separation directory.
mkdir -p /run/sshd
# The package starts a Prometheus service where systemd runs; the tests
# start their own, so stop the one this script brought in.
if [ -n "$prometheus_new" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
