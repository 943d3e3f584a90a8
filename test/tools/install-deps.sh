#!/usr/bin/env bash
# Installs the Debian packages Twill's tests and lab use. Idempotent; run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(iproute2 iptables ipset etcd-server etcd-client bird2 gobgpd frr socat netcat-openbsd
      tcpdump iputils-ping containernetworking-plugins procps util-linux openssl
      podman runc busybox-static)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's packages may start daemons on install; the tests start their own, by PID.
for svc in etcd bird frr; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
echo "system dependencies ready"
