#!/usr/bin/env bash
# Streaming benchmark through the whole path kubectl takes: kubectl ->
# kube-apiserver (apiserver/nodeproxy) -> the real kubelet's streaming
# endpoints -> runc and the container monitor, on one node set up as the
# bats suites set it up (tests/integration/lib/kubelet.bash), each against
# its anchor in the same run:
#   - exec round trip: `kubectl exec bench -- true` against `runc exec <id>
#     true` on the same container (medians of N);
#   - port-forward: 1 GiB through `kubectl port-forward` against the same GET
#     straight to the pod's address from the node (target >= 0.5x);
#   - logs: `kubectl logs` of a 100 MB log the container wrote, against
#     `cat` of its CRI file, both read to the end of a pipe (target >= 0.5x);
#     and the same log through the API server by curl, without kubectl's own
#     cost (it writes each line on its own).
# usage: tests/bench/streaming.sh [N]   (default 20)
set -u
cd "${MK_ROOT:-$(dirname "$0")/../..}"
export MK_ROOT=$PWD MK_BIN=$PWD/bin
N=${1:-20}

if [ "$(id -u)" != 0 ]; then
	echo "streaming bench: skipped (needs root for runc and namespaces)"
	exit 0
fi
for c in runc kubectl curl jq bc; do
	if ! command -v $c >/dev/null; then
		echo "streaming bench: skipped ($c is not installed)"
		exit 0
	fi
done
make -s all >/dev/null || exit 1

BATS_FILE_TMPDIR=$(mktemp -d /var/tmp/mk-stream-bench.XXXXXX)
skip() {
	echo "streaming bench: skipped ($*)"
	exit 0
}
# shellcheck source=tests/integration/lib/kubelet.bash
. tests/integration/lib/kubelet.bash

PF_PID=
cleanup() {
	if [ -n "$PF_PID" ]; then
		kill "$PF_PID" 2>/dev/null
		wait "$PF_PID" 2>/dev/null
	fi
	node_teardown >/dev/null 2>&1
	rm -rf "$BATS_FILE_TMPDIR"
}
trap cleanup EXIT

node_setup
# the 100 MB log stays in one file: no rotation during the run
echo "containerLogMaxSize: 500Mi" >>"$T/config.yaml"
node_apiserver_start
kubelet_start --kubeconfig "$T/kubeconfig"
node_ready() {
	[ "$(k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_until 90 node_ready >/dev/null || {
	echo "streaming bench: the node did not get Ready"
	exit 1
}
# a sparse GiB: the pod's disk reads cost nothing, the transport is measured
k apply -f - >/dev/null <<-YAML
apiVersion: v1
kind: Pod
metadata:
  name: bench
spec:
  nodeName: $NODE
  containers:
  - name: http
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /srv; truncate -s 1G /srv/gib.bin; exec httpd -f -p 8080 -h /srv"]
  - name: talker
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 1000000"]
YAML
pod_ready() {
	[ "$(k get pod bench -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_until 180 pod_ready >/dev/null || {
	echo "streaming bench: the pod did not get Ready"
	exit 1
}
k get pod bench >/dev/null # warms kubectl's discovery cache

ms() { echo $(((${EPOCHREALTIME/./} - $1) / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "streaming: kubectl $(kubectl version --client -o json 2>/dev/null | jq -r .clientVersion.gitVersion)," \
	"$(runc --version | head -1), $N rounds, real kubelet"

# exec round trip
id=$(container_id bench talker)
for _ in $(seq "$N"); do
	t0=${EPOCHREALTIME/./}
	k exec bench -c talker -- true || exit 1
	ms "$t0"
done | median >"$T/kexec"
for _ in $(seq "$N"); do
	t0=${EPOCHREALTIME/./}
	node_runc exec "$id" true || exit 1
	ms "$t0"
done | median >"$T/rexec"
printf 'exec true:          kubectl %s ms, runc exec %s ms (%.1fx the runtime alone)\n' \
	"$(cat "$T/kexec")" "$(cat "$T/rexec")" "$(echo "$(cat "$T/kexec") / $(cat "$T/rexec")" | bc -l)"

# port-forward throughput
ip=$(k get pod bench -o jsonpath='{.status.podIP}')
wait_until 10 on_node curl -sf -o /dev/null -r 0-0 "http://$ip:8080/gib.bin" >/dev/null
on_node kubectl -s http://127.0.0.1:8080 port-forward pod/bench :8080 >"$T/pf.out" 2>&1 3>&- &
PF_PID=$!
wait_until 30 grep -q '^Forwarding from 127.0.0.1:' "$T/pf.out"
LPORT=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$T/pf.out" | head -1)
pf=$(on_node curl -s -o /dev/null -w '%{size_download} %{speed_download}' "http://127.0.0.1:$LPORT/gib.bin")
direct=$(on_node curl -s -o /dev/null -w '%{size_download} %{speed_download}' "http://$ip:8080/gib.bin")
read -r pf_size pf_speed <<<"$pf"
read -r d_size d_speed <<<"$direct"
if [ "$pf_size" != 1073741824 ] || [ "$d_size" != 1073741824 ]; then
	echo "port-forward: short transfer ($pf_size, $d_size bytes)"
	exit 1
fi
printf 'port-forward 1 GiB: %.0f MB/s, direct TCP %.0f MB/s (%.2fx, target >= 0.5x)\n' \
	"$(echo "$pf_speed / 1000000" | bc -l)" "$(echo "$d_speed / 1000000" | bc -l)" \
	"$(echo "$pf_speed / $d_speed" | bc -l)"
kill "$PF_PID"
wait "$PF_PID" 2>/dev/null
PF_PID=

# logs of 100 MB the container wrote (120-byte lines), through its monitor
k exec bench -c talker -- sh -c 's=xxxxxxxxxx; s=$s$s$s$s$s$s$s$s$s$s$s$s; yes $s | head -c 100000000 >/proc/1/fd/1; echo done >/proc/1/fd/1'
log=$(ls "$LOGS"/default_bench_*/talker/0.log)
# head cuts the last line: "done" ends it
log_done() { tail -c 100 "$log" | grep -q 'done$'; }
wait_until 60 log_done
size=$(stat -c %s "$log")
t0=${EPOCHREALTIME/./}
text=$(k logs bench -c talker | wc -c) || exit 1
klogs=$(ms "$t0")
# the same through the API server without kubectl, which writes line by line
t0=${EPOCHREALTIME/./}
on_node curl -sf "http://127.0.0.1:8080/api/v1/namespaces/default/pods/bench/log?container=talker" |
	wc -c >/dev/null || exit 1
curl_ms=$(ms "$t0")
t0=${EPOCHREALTIME/./}
cat "$log" | wc -c >/dev/null
cat_ms=$(ms "$t0")
[ "$cat_ms" -gt 0 ] || cat_ms=1
[ "$klogs" -gt 0 ] || klogs=1
printf 'logs %d MB (%d MB of text): kubectl logs %d ms (%.0f MB/s), cat %d ms (%.2fx, target >= 0.5x)\n' \
	$((size / 1000000)) $((text / 1000000)) "$klogs" "$(echo "$size / 1000 / $klogs" | bc -l)" \
	"$cat_ms" "$(echo "$cat_ms / $klogs" | bc -l)"
[ "$curl_ms" -gt 0 ] || curl_ms=1
printf 'logs, API server:   curl of pods/log %d ms (%.0f MB/s, %.2fx cat)\n' \
	"$curl_ms" "$(echo "$size / 1000 / $curl_ms" | bc -l)" "$(echo "$cat_ms / $curl_ms" | bc -l)"
