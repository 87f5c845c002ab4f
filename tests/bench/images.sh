#!/usr/bin/env bash
# Images benchmark, in one run on this machine:
#  (a) pull of the nginx image (mkimage's) from a local docker-registry into an
#      empty store with nodectl -- download, digest checks, unpack -- against
#      `skopeo copy docker://... oci:...` of the same image (download and digest
#      checks only, no unpack); target ours/skopeo <= 1.0;
#  (b) unpack of nginx's largest layer by lib/layer against `tar -xzf` of the
#      same blob; target ours/tar <= 1.2.
# Runs are interleaved; medians of N (default 7) are compared. Every run writes
# into a directory of its own, all removed at the end: on ext4 a new inode
# skips those freed in the last seconds, one lookup each, so removing a run's
# hundreds of files just before the next would time the kernel's scan past
# them rather than the pull or the unpack.
# usage: tests/bench/images.sh [N]
set -eu
cd "${MK_ROOT:-$(dirname "$0")/../..}"
N=${1:-7}
[ "$(id -u)" = 0 ] || { echo "images bench: skipped (needs root)"; exit 0; }
for t in docker-registry skopeo jq; do
	command -v $t >/dev/null || { echo "images bench: skipped ($t missing)"; exit 0; }
done
make -s -j2 all >/dev/null
tools/mkimage --out build/images nginx >/dev/null
mkdir -p build/bench
B=build/bench/layer-unpack
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -D_GNU_SOURCE -Ilib -I. -o "$B" tests/bench/layer-unpack.c build/libmk.a \
	$(pkg-config --cflags --libs libarchive libcrypto zlib libisal jansson) -lpthread -lresolv

W=$(mktemp -d /var/tmp/imgbench.XXXXXX)
REGPID=
cleanup() {
	[ -z "$REGPID" ] || kill "$REGPID" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/registry.yml" <<Y
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $W/registry}}
http: {addr: 127.0.0.1:$port}
Y
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 </dev/null &
REGPID=$!
for _ in $(seq 1 200); do
	curl -fs -o /dev/null "http://127.0.0.1:$port/v2/" && break
	sleep 0.05
done
REG=127.0.0.1:$port
skopeo copy -q --dest-tls-verify=false oci:build/images:docker.io/library/nginx:latest \
	"docker://$REG/library/nginx:latest"

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now() { date +%s.%N; }

: >"$W/ours" && : >"$W/skopeo"
for i in $(seq 0 "$N"); do
	sync
	t0=$(now)
	bin/nodectl --root-dir "$W/store$i" --registry-config /dev/null pull "$REG/library/nginx:latest" >/dev/null
	t1=$(now)
	skopeo copy -q --src-tls-verify=false "docker://$REG/library/nginx:latest" "oci:$W/oci$i:nginx"
	t2=$(now)
	# the first round warms both up
	[ "$i" -eq 0 ] && continue
	echo "$t1 - $t0" | bc -l >>"$W/ours"
	echo "$t2 - $t1" | bc -l >>"$W/skopeo"
done
o=$(median <"$W/ours")
s=$(median <"$W/skopeo")
printf '(a) pull nginx (%s layers, %s bytes) into an empty store: nodectl %.3f s, skopeo copy %.3f s, ratio %.2f (target <= 1.0)\n' \
	"$(jq '.layers | length' "build/images/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "docker.io/library/nginx:latest") | .digest' build/images/index.json | cut -d: -f2)")" \
	"$(du -sb "$W/oci0/blobs" | cut -f1)" "$o" "$s" "$(echo "$o / $s" | bc -l)"

# (b) the largest layer
md=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "docker.io/library/nginx:latest") | .digest' build/images/index.json)
layer=$(jq -r '.layers | max_by(.size) | .digest' "build/images/blobs/sha256/${md#sha256:}")
blob=build/images/blobs/sha256/${layer#sha256:}
: >"$W/ul" && : >"$W/tar"
for i in $(seq 0 "$N"); do
	mkdir "$W/u$i" "$W/t$i" && sync
	"$B" "$blob" application/vnd.oci.image.layer.v1.tar+gzip "$W/u$i" 1 >>"$W/ul.all"
	sync
	t0=$(now)
	tar -xzf "$blob" -C "$W/t$i" --numeric-owner -p
	t1=$(now)
	[ "$i" -eq 0 ] && continue
	echo "$t1 - $t0" | bc -l >>"$W/tar"
done
tail -n +2 "$W/ul.all" >"$W/ul"
u=$(median <"$W/ul")
t=$(median <"$W/tar")
printf '(b) unpack of the %s-byte layer %s: lib/layer %.3f s, tar -xzf %.3f s, ratio %.2f (target <= 1.2)\n' \
	"$(stat -c %s "$blob")" "${layer:7:12}" "$u" "$t" "$(echo "$u / $t" | bc -l)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
