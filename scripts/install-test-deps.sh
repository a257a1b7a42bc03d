#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: OpenSSH (a real
# sshd plays the jump host), iproute2 (network namespaces), the provider
# database the APN hint reads (mobile-broadband-provider-info). Go modules
# come through the module proxy when the tests build.
set -euo pipefail
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v ip >/dev/null || need+=(iproute2)
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
