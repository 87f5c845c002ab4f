#!/usr/bin/env bash
# Installs, with apt-get, only the packages mink8s needs that are missing.
# Idempotent and silent when everything is already there.
set -euo pipefail

pkgs=(gcc make pkg-config libc6-dev
	libjansson-dev libyaml-dev libcurl4-openssl-dev libmicrohttpd-dev libgnutls28-dev libsqlite3-dev
	libmnl-dev libnftnl-dev libiptc-dev libcmocka-dev
	libssl-dev libarchive-dev zlib1g-dev libisal-dev
	bats curl jq iproute2 etcd-server etcd-client iptables nftables runc crun busybox-static containernetworking-plugins
	docker-registry skopeo golang-github-containers-common apache2-utils)

# one dpkg-query for all of them: this runs on every make
missing=()
declare -A ok=()
while read -r name st; do
	[ "$st" = "install ok installed" ] && ok[$name]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null || true)
for p in "${pkgs[@]}"; do
	[ -n "${ok[$p]:-}" ] || missing+=("$p")
done
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
# tests use python3 for free ports and small fixture servers
command -v python3 >/dev/null 2>&1 || missing+=(python3)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages (${missing[*]}); install them with: sudo tools/install-deps.sh" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
