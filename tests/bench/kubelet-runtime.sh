#!/usr/bin/env bash
# kubelet container layer benchmark: N busybox containers (`sleep`, own netns
# made here) go through create+start and stop+delete twice per round, once
# through kubelet/runtime (mink8s-monitor, the start record, pidfd stop) and
# once through the runc binary alone (create, start, kill KILL, wait on a
# pidfd, delete) — the reference's floor. Prints the medians and the ratios.
# usage: tests/bench/kubelet-runtime.sh [N]   (default 20)
set -u
cd "${MK_ROOT:-$(dirname "$0")/../..}"
N=${1:-20}

if [ "$(id -u)" != 0 ]; then
	echo "kubelet-runtime bench: skipped (needs root for runc)"
	exit 0
fi
if ! command -v runc >/dev/null; then
	echo "kubelet-runtime bench: skipped (runc is not installed)"
	exit 0
fi
make -s build/libmk.a bin/mink8s-monitor >/dev/null || exit 1

sfx=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
ns=mkrt-bench-$sfx
cg=/mkrt-bench-$sfx
tmp=$(mktemp -d /var/tmp/mkrt-bench.XXXXXX)
cleanup() {
	local id
	for id in $(runc --root "$tmp/runc" list -q 2>/dev/null); do
		runc --root "$tmp/runc" kill "$id" KILL >/dev/null 2>&1
		runc --root "$tmp/runc" delete -f "$id" >/dev/null 2>&1
	done
	for h in /sys/fs/cgroup/*/; do
		[ -d "$h${cg#/}" ] && find "$h${cg#/}" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

pkgs="jansson yaml-0.1 libcurl"
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib -I. $(pkg-config --cflags $pkgs) -O2 \
	-o "$tmp/runtime-probe" tests/integration/runtime-probe.c kubelet/runtime.c \
	kubelet/ocispec.c kubelet/cgroups.c build/libmk.a $(pkg-config --libs $pkgs) -lpthread -lm -lresolv ||
	exit 1

r=$tmp/bundle/rootfs
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,dev,sys} "$tmp/logs"
cp /bin/busybox "$r/bin/busybox"
chroot "$r" /bin/busybox --install -s
ip netns add "$ns" || exit 1
echo '{"metadata":{"name":"bench","namespace":"default","uid":"bench"},"spec":{"containers":[]}}' \
	>"$tmp/pod.json"
echo '{"config":{"Entrypoint":["sleep"],"Cmd":["1000"]}}' >"$tmp/image.json"
"$tmp/runtime-probe" spec --pod "$tmp/pod.json" --image "$tmp/image.json" --rootfs "$r" \
	--cgroups-path "$cg/c" --netns "/var/run/netns/$ns" --hostname bench \
	>"$tmp/bundle/config.json" || exit 1

echo "kubelet-runtime: $N rounds, busybox sleep, $(runc --version | head -1)"
"$tmp/runtime-probe" --runtime "$(command -v runc)" --root "$tmp/runc" --state-dir "$tmp/state" \
	--monitor "$PWD/bin/mink8s-monitor" bench "$N" "$tmp/bundle" "$tmp/logs"
