#!/usr/bin/env bash
# Scheduler throughput: a 1,000-replica Deployment over 100 registered nodes,
# timed from the create until every pod is bound, with the API server, the
# controller-manager and the scheduler all running. Target: >= 500 pods/s
# (upstream's default scheduler is tuned for about 100-300 pods/s).
set -euo pipefail
root=${MK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MK_BIN:-$root/bin}
replicas=${BENCH_REPLICAS:-1000}
nodes=${BENCH_NODES:-100}

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
api=http://127.0.0.1:$port
"$bin/kube-apiserver" --insecure-port="$port" --data-dir="$work/data" \
	--disable-admission-plugins=ServiceAccount >"$work/api.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "$api/healthz" >/dev/null && break; sleep 0.1; done

# Registered nodes with capacity and a Ready condition, as kubelets would post.
for i in $(seq 1 "$nodes"); do
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"bench-%d","labels":{"kubernetes.io/hostname":"bench-%d"}},"status":{"capacity":{"cpu":"32","memory":"128Gi","pods":"110"},"allocatable":{"cpu":"32","memory":"128Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"}]}}' "$i" "$i" |
		curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- "$api/api/v1/nodes" >/dev/null
done

"$bin/kube-controller-manager" --master="$api" --leader-elect=false >"$work/cm.log" 2>&1 &
pids+=($!)
"$bin/kube-scheduler" --master="$api" --leader-elect=false >"$work/sched.log" 2>&1 &
pids+=($!)
sleep 1

start=$(date +%s.%N)
printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"bench"},"spec":{"replicas":%d,"selector":{"matchLabels":{"app":"bench"}},"template":{"metadata":{"labels":{"app":"bench"}},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}}}}' "$replicas" |
	curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- "$api/apis/apps/v1/namespaces/default/deployments" >/dev/null

bound=0
created_at=
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
	counts=$(curl -sf "$api/api/v1/namespaces/default/pods" | jq -r '"\(.items | length) \([.items[] | select(.spec.nodeName != null)] | length)"')
	created=${counts% *}
	bound=${counts#* }
	[ -z "$created_at" ] && [ "$created" -ge "$replicas" ] && created_at=$(date +%s.%N)
	[ "$bound" -ge "$replicas" ] && break
	sleep 0.1
done
end=$(date +%s.%N)
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
rate=$(awk -v n="$bound" -v t="$elapsed" 'BEGIN { print n / t }')
spread=$(curl -sf "$api/api/v1/namespaces/default/pods" | jq -r '[.items[].spec.nodeName] | group_by(.) | map(length) | "min \(min) max \(max) per node over \(length) nodes"')
printf 'scheduler: all %d pods created by the controller-manager after %.2f s\n' "$replicas" \
	"$(awk -v a="$start" -v b="${created_at:-$end}" 'BEGIN { print b - a }')"
printf 'scheduler: %d/%d pods bound in %.2f s = %.0f pods/s end to end (target >= 500); spread %s\n' \
	"$bound" "$replicas" "$elapsed" "$rate" "$spread"
printf 'scheduler: ratio to target %.2f (>= 1.00 meets it)\n' "$(awk -v r="$rate" 'BEGIN { print r / 500 }')"
