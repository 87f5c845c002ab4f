#!/usr/bin/env bash
# kubelet benchmark, in a node network namespace made here (lib/kubelet.bash:
# an API server in the node, our CNI plugins, the tools/mkimage images):
#   floor     netns + our CNI ADD (bridge, host-local) + overlayfs root +
#             `runc create` + `runc start` of the nginx image's container
#             (its config.json built by kubelet/ocispec), done directly, to
#             the first HTTP 200 from the node; FLOOR_N runs, median
#   seq       N pods (one nginx container each, local image) created one
#             after another through the API, each timed from its POST to
#             the watch event showing it Running and Ready: p50, p99
#   burst     30 pods created at once: first POST to the last one Ready
#   rss       the kubelet's peak RSS (VmHWM, which the kernel keeps over
#             the process's life) over the whole run: the first kubelet's
#             after the sequential pods, the burst and the idle window, and
#             the restarted one's once it has the 30 pods back; its VmRSS
#             with the 30 pods beside it
#   idle cpu  the kubelet's CPU (its own and its reaped children's, from
#             /proc/PID/stat) over 30 s with the 30 pods and nothing to do
#   restart   SIGKILL of the kubelet and a new one: time from its start to
#             the 30 pods Running and Ready at its /pods; no container may
#             be restarted (same container ids, restartCount 0)
# Targets (issue "kubelet: pods run for real"): seq p50 <= 1.5x the floor,
# p99 <= 1 s (printed beside the floor's own p99, which load moves as much),
# peak RSS <= 25 MB, idle CPU <= 1 % of a core, restart <= 2 s.
# usage: tests/bench/kubelet.sh [N [FLOOR_N]]   (default 50 10)
# KBENCH_KUBELET_FLAGS: more kubelet flags (e.g. "-v 4"); KBENCH_LOGS=DIR:
# the kubelet's and the API server's logs, and the per-pod times (seq,
# burst), are copied there at the end.
set -u
cd "${MK_ROOT:-$(dirname "$0")/../..}" || exit 1
MK_ROOT=$PWD
MK_BIN=${MK_BIN:-$PWD/bin}
N=${1:-50}
FLOOR_N=${2:-10}
BURST=30
IDLE_S=${KBENCH_IDLE_S:-30}

skip() {
	echo "kubelet bench: skipped ($*)"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root"
command -v runc >/dev/null || skip "runc is not installed"
make -s build/libmk.a bin/kubelet bin/mink8s-monitor bin/nodectl bin/kube-apiserver \
	bin/pause bin/cni/bridge bin/cni/host-local >/dev/null || exit 1

# shellcheck source=tests/integration/lib/kubelet.bash
. tests/integration/lib/kubelet.bash
fail() {
	echo "kubelet bench: $*" >&2
	exit 1
}
keep_logs() {
	if [ -n "${KBENCH_LOGS:-}" ] && [ -n "${T:-}" ]; then
		mkdir -p "$KBENCH_LOGS" && cp "$T"/*.log "$T/seq" "$T/burst" "$KBENCH_LOGS"/ 2>/dev/null
	fi
	node_teardown
}
trap keep_logs EXIT
node_setup || fail "node set-up failed"
pods() { ip netns exec "$NODE" python3 "$MK_ROOT/tests/bench/kubelet-pods.py" http://127.0.0.1:8080 "$NODE" "$@"; }
pct() { # P < numbers
	sort -n | awk -v p="$1" '{a[NR] = $1} END { i = int(p * NR + 0.999999); if (i < 1) i = 1; print a[i] }'
}

# ---- the floor ----
pkgs="jansson yaml-0.1 libcurl"
# shellcheck disable=SC2046,SC2086
cc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib -I. $(pkg-config --cflags $pkgs) -O2 \
	-o "$T/runtime-probe" tests/integration/runtime-probe.c kubelet/runtime.c \
	kubelet/ocispec.c kubelet/cgroups.c build/libmk.a $(pkg-config --libs $pkgs) -lpthread -lm ||
	exit 1
F=$T/floor
mkdir -p "$F/bundle/rootfs" "$F/upper" "$F/work"
"$MK_BIN/nodectl" --root-dir "$ROOT" inspecti nginx >"$F/image.json" || fail "no nginx image"
lower=$(jq -r '.layers | join(":")' "$F/image.json")
jq '{config: .config.config}' "$F/image.json" >"$F/config.json"
[ -n "$lower" ] || fail "nginx has no layers"
echo '{"metadata":{"name":"floor","namespace":"default","uid":"floor"},"spec":{"containers":[{"name":"web","image":"nginx"}]}}' \
	>"$F/pod.json"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$F/upper,workdir=$F/work" "$F/bundle/rootfs" || exit 1
"$T/runtime-probe" spec --pod "$F/pod.json" --container web --image "$F/config.json" \
	--rootfs "$F/bundle/rootfs" --cgroups-path "$CGROOT/floor" --netns "/var/run/netns/floor-$NODE" \
	--hostname floor --sandbox-pid 1 >"$F/spec.json" || fail "spec failed"
# no sandbox to join: the container's own IPC and UTS namespaces, as the
# sandbox's would be
jq '.linux.namespaces |= map(if .type == "ipc" or .type == "uts" then del(.path) else . end)' \
	"$F/spec.json" >"$F/bundle/config.json" || fail "spec failed"
umount "$F/bundle/rootfs"
rm -rf "$F/upper" "$F/work"
cat >"$F/net.conf" <<JSON
{"cniVersion":"1.0.0","name":"mink8s","type":"bridge","bridge":"cni0","isGateway":true,
 "ipMasq":false,"hairpinMode":true,
 "ipam":{"type":"host-local","dataDir":"$F/ipam","ranges":[[{"subnet":"10.88.0.0/24"}]],
         "routes":[{"dst":"0.0.0.0/0"}]}}
JSON

# The timed loop runs inside the node, so each step is a direct exec.
cat >"$F/inner.sh" <<'EOF'
set -u
F=$1 N=$2 NODE=$3 RUNC_ROOT=$4 BIN=$5
ns=floor-$NODE
export CNI_IFNAME=eth0 CNI_PATH=$BIN/cni CNI_NETNS=/var/run/netns/$ns
for i in $(seq 0 "$N"); do
	id=floor-$i
	mkdir -p "$F/upper" "$F/work"
	t0=$EPOCHREALTIME
	ip netns add "$ns" || exit 1
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=$id "$BIN/cni/bridge" <"$F/net.conf") || { echo "CNI ADD: $out" >&2; exit 1; }
	ip=$(jq -r '.ips[0].address | split("/")[0]' <<<"$out")
	mount -t overlay overlay -o "lowerdir=$(cat "$F/lower"),upperdir=$F/upper,workdir=$F/work" "$F/bundle/rootfs" || exit 1
	runc --root "$RUNC_ROOT" create --bundle "$F/bundle" "$id" </dev/null >"$F/ctr.log" 2>&1 || { cat "$F/ctr.log" >&2; exit 1; }
	runc --root "$RUNC_ROOT" start "$id" || exit 1
	k=0
	until curl -s -o /dev/null --max-time 1 "http://$ip/"; do
		k=$((k + 1))
		[ $k -lt 5000 ] || { echo "nginx did not answer at $ip" >&2; exit 1; }
	done
	t1=$EPOCHREALTIME
	# iteration 0 makes the bridge: a warm-up, not counted
	[ "$i" -gt 0 ] && echo "$(( (${t1/./} - ${t0/./}) / 100 ))" >>"$F/times"
	runc --root "$RUNC_ROOT" kill "$id" KILL
	while [ "$(runc --root "$RUNC_ROOT" state "$id" 2>/dev/null | jq -r .status)" = running ]; do :; done
	runc --root "$RUNC_ROOT" delete "$id" || exit 1
	CNI_COMMAND=DEL CNI_CONTAINERID=$id "$BIN/cni/bridge" <"$F/net.conf" || exit 1
	umount "$F/bundle/rootfs"
	ip netns del "$ns"
	rm -rf "$F/upper" "$F/work"
done
EOF
echo "$lower" >"$F/lower"
mkdir -p "$ROOT/run"
nsenter --net="/run/netns/$NODE" bash "$F/inner.sh" "$F" "$FLOOR_N" "$NODE" "$T/floor-runc" "$MK_BIN" ||
	fail "floor run failed"
for h in /sys/fs/cgroup/* /sys/fs/cgroup/unified; do
	[ -d "$h$CGROOT/floor" ] && rmdir "$h$CGROOT/floor" 2>/dev/null
done
floor=$(awk '{print $1 / 10}' "$F/times" | pct 0.5)
floor_p99=$(awk '{print $1 / 10}' "$F/times" | pct 0.99)

# ---- the kubelet ----
# shellcheck disable=SC2119
node_apiserver_start
# shellcheck disable=SC2086 # the extra flags are words
kubelet_start --kubeconfig "$T/kubeconfig" ${KBENCH_KUBELET_FLAGS:-}
node_ready() {
	[ "$(k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_until 30 node_ready || fail "node not Ready"

pods seq "$N" >"$T/seq" || fail "sequential pods failed"
p50=$(awk '{print $2}' "$T/seq" | pct 0.5)
p99=$(awk '{print $2}' "$T/seq" | pct 0.99)
pods delete >/dev/null || fail "deleting the sequential pods failed"

pods burst "$BURST" >"$T/burst" || fail "burst failed"
burst=$(awk '$1 == "all" {print $2}' "$T/burst")
burst_p50=$(awk '$1 != "all" {print $2}' "$T/burst" | pct 0.5)

pid=$KUBELET_PID
[ "$(cat "/proc/$pid/comm")" = kubelet ] || fail "pid $pid is not the kubelet"
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
cpu_ticks() { # own and reaped children's utime+stime, in ticks
	sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13, $14 + $15}'
}
read -r own0 ch0 <<<"$(cpu_ticks)"
t0=$EPOCHREALTIME
sleep "$IDLE_S" # the measurement window, not a wait
read -r own1 ch1 <<<"$(cpu_ticks)"
t1=$EPOCHREALTIME
hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$own0" -v b="$own1" -v c="$ch0" -v d="$ch1" -v hz="$hz" -v t0="${t0/./}" -v t1="${t1/./}" \
	'BEGIN { printf "%.2f %.2f", 100 * (b - a) / hz / ((t1 - t0) / 1e6), 100 * (b - a + d - c) / hz / ((t1 - t0) / 1e6) }')
cpu_own=${cpu% *}
cpu_all=${cpu#* }

# the first kubelet's peak, over everything it did
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
pods ids >"$T/ids.before" || fail "reading container ids failed"
# the poller is up before the kill, so its own start is not counted
coproc KREADY { pods kready http://127.0.0.1:10250/pods "$BURST" 20; }
read -r line <&"${KREADY[0]}"
[ "$line" = waiting ] || fail "the poller did not start"
kubelet_kill KILL
t0=$EPOCHREALTIME
# shellcheck disable=SC2086
kubelet_start --kubeconfig "$T/kubeconfig" ${KBENCH_KUBELET_FLAGS:-}
echo go >&"${KREADY[1]}"
t1=
read -r t1 <&"${KREADY[0]}"
[ -n "$t1" ] || fail "the restarted kubelet did not report the pods Ready"
restart_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
# the API's view once the new kubelet pushed its statuses
pods ready "$BURST" 10 >/dev/null || fail "pods not Ready in the API after the restart"
pods ids >"$T/ids.after" || fail "reading container ids failed"
[ "$(cat "/proc/$KUBELET_PID/comm")" = kubelet ] || fail "pid $KUBELET_PID is not the kubelet"
hwm2_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$KUBELET_PID/status")
[ "$hwm2_kb" -gt "$hwm_kb" ] && hwm_kb=$hwm2_kb
restarts=$(awk '$3 != 0' "$T/ids.after" | wc -l)
changed=$(diff "$T/ids.before" "$T/ids.after" | grep -c '^>')
running=$("$MK_BIN/nodectl" --root-dir "$ROOT" ps -a -o json | jq '[.[] | select(.name == "web")] | length')

load=$(cut -d' ' -f1-3 /proc/loadavg)
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b ? "PASS" : "MISS") }'; }
echo "kubelet bench: nginx pods, local image, $(runc --version | head -1), load average $load"
printf '%-44s %10s\n' "floor (netns+CNI+runc, to HTTP 200), p50" "${floor} ms"
printf '%-44s %10s   ratio %.2f (<= 1.5) %s\n' "pod start, $N one after another, p50" "${p50} ms" \
	"$(awk -v a="$p50" -v b="$floor" 'BEGIN { print a / b }')" \
	"$(verdict "$(awk -v a="$p50" -v b="$floor" 'BEGIN { print a / b }')" 1.5)"
printf '%-44s %10s   (<= 1000 ms) %s  (floor p99 %s ms)\n' "pod start, $N one after another, p99" "${p99} ms" \
	"$(verdict "$p99" 1000)" "$floor_p99"
printf '%-44s %10s   (each pod p50 %s ms)\n' "$BURST pods at once, first POST to all Ready" "${burst} ms" "$burst_p50"
printf '%-44s %10s   (<= 25 MB) %s  (%.1f MB with the %s pods running)\n' \
	"kubelet peak RSS (VmHWM), whole run" "$(awk -v k="$hwm_kb" 'BEGIN { printf "%.1f MB", k / 1024 }')" \
	"$(verdict "$hwm_kb" 25600)" "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" "$BURST"
printf '%-44s %10s   (<= 1 %%) %s  (own %s %%)\n' "kubelet idle CPU, ${IDLE_S} s, with children" "${cpu_all} %" \
	"$(verdict "$cpu_all" 1)" "$cpu_own"
printf '%-44s %10s   (<= 2000 ms) %s\n' "kubelet SIGKILL + start to $BURST pods Ready" "${restart_ms} ms" \
	"$(verdict "$restart_ms" 2000)"
printf '%-44s %10s   (0) %s  (%s containers on the node)\n' "containers restarted by the kubelet restart" \
	"$((restarts + changed))" "$(verdict "$((restarts + changed))" 0)" "$running"
BATS_TEST_COMPLETED=1
