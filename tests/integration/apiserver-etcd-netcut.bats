#!/usr/bin/env bats
# kube-apiserver cut off from etcd by the network for MK_ETCD_CUT_S seconds
# (default 10): etcd (Debian's) runs in a network namespace of its own; the
# API server, a kube-controller-manager and the clients in another, joined by
# a veth pair whose link is taken down and brought up again. During the cut
# the server answers 5xx Status within its limits (never a crash, never a
# hang); afterwards it recovers by itself, a kubectl watch carries on (or
# gets 410 and relists) and the controller-manager acts on changes made
# after the cut. Both namespaces are made here with random names and removed
# in teardown_file; the host's own links and routes are never touched.

load lib/wait

: "${MK_BIN:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/bin}"
CUT_S=${MK_ETCD_CUT_S:-10}
ETCD_IP=10.99.0.1
API_IP=10.99.0.2
API=http://127.0.0.1:8080

# Processes started in the background run `ip netns exec` itself (which
# execs the command), so that $! is their PID.
innet() {
	ip netns exec "$NA" "$@"
}

kc() {
	innet kubectl -s "$API" "$@" </dev/null
}

setup_file() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-netcut.XXXXXX")
	local id
	id=$(tr -dc 'a-z0-9' </dev/urandom | head -c 6)
	NE=mk-etcd-$id
	NA=mk-api-$id
	export T NE NA KUBECACHEDIR=$T/cache
	ip netns add "$NE"
	ip netns add "$NA"
	ip -n "$NE" link set lo up
	ip -n "$NA" link set lo up
	ip -n "$NE" link add e0 type veth peer name a0 netns "$NA"
	ip -n "$NE" addr add "$ETCD_IP/30" dev e0
	ip -n "$NA" addr add "$API_IP/30" dev a0
	ip -n "$NE" link set e0 up
	ip -n "$NA" link set a0 up
	ip netns exec "$NE" etcd --name m1 --data-dir "$T/etcd" \
		--listen-client-urls "http://$ETCD_IP:2379" \
		--advertise-client-urls "http://$ETCD_IP:2379" \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster m1=http://127.0.0.1:2380 >"$T/etcd.log" 2>&1 3>&- &
	echo $! >"$T/etcd.pid"
	wait_until 30 innet curl -sf --max-time 2 "http://$ETCD_IP:2379/health"
	ip netns exec "$NA" "$MK_BIN/kube-apiserver" --insecure-port=8080 --etcd-servers="http://$ETCD_IP:2379" \
		--disable-admission-plugins=ServiceAccount >"$T/api.log" 2>&1 3>&- &
	echo $! >"$T/api.pid"
	wait_until 30 innet curl -sf --max-time 2 "$API/healthz"
	ip netns exec "$NA" "$MK_BIN/kube-controller-manager" --master="$API" --leader-elect=false \
		--secure-port=0 --controllers=deployment,replicaset >"$T/cm.log" 2>&1 3>&- &
	echo $! >"$T/cm.pid"
}

teardown_file() {
	local f pid
	for f in watch cm api etcd; do
		pid=$(cat "$T/$f.pid" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null || true
		wait_until 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
	done
	[ -z "${NA:-}" ] || ip netns del "$NA" 2>/dev/null || true
	[ -z "${NE:-}" ] || ip netns del "$NE" 2>/dev/null || true
	rm -rf "$T"
}

wait_diagnose() {
	echo "--- api.log"
	tail -20 "$T/api.log"
	echo "--- cm.log"
	tail -10 "$T/cm.log"
	echo "--- watch"
	cat "$T/watch" "$T/watch.err"
}

# create NAME: POSTs a ConfigMap; prints the answer's body, then its code on
# a line of its own. curl gives up after 60 s: the server must answer first.
create() {
	innet curl -s --max-time 60 -w '\n%{http_code}\n' -X POST \
		-H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$1\"}}" \
		"$API/api/v1/namespaces/default/configmaps"
}

# A try answered 5xx may still have been written: its retry then finds it.
stored() {
	local code
	code=$(create "$1" | tail -n1)
	[ "$code" = 201 ] || [ "$code" = 409 ]
}

# assert_5xx_status OUT: OUT is a body then a code; a 5xx Status.
assert_5xx_status() {
	local code body
	code=$(tail -n1 <<<"$1")
	body=$(sed '$d' <<<"$1")
	echo "answer $code: $body"
	[ "$code" -ge 500 ] && [ "$code" -le 599 ]
	[ "$(jq -r .kind <<<"$body")" = Status ]
	[ "$(jq -r .code <<<"$body")" = "$code" ]
}

# The kubectl watch printed NAME, or ended on 410 Gone: then a relist holds it.
watch_carried_on() {
	grep -qx "configmap/$1" "$T/watch" && return 0
	if grep -q "410\|too old resource version" "$T/watch.err"; then
		kc get configmap "$1" -o name
		return
	fi
	return 1
}

daemons_alive() { # the API server and the controller-manager still run
	kill -0 "$(cat "$T/api.pid")" && kill -0 "$(cat "$T/cm.pid")"
}

rs_ready() { # rs_ready DEPLOYMENT REPLICAS: its ReplicaSet made that many pods
	[ "$(kc get rs -l app="$1" -o jsonpath='{.items[0].spec.replicas}')" = "$2" ] &&
		[ "$(kc get pods -l app="$1" -o name | wc -l)" = "$2" ]
}

@test "etcd cut off by the network: 5xx Status, no hang, no crash; back, the server, a kubectl watch and a controller carry on" {
	ip netns exec "$NA" kubectl -s "$API" get configmaps --watch -o name \
		</dev/null >"$T/watch" 2>"$T/watch.err" 3>&- &
	echo $! >"$T/watch.pid"
	wait_until 20 stored before-cut
	wait_until 10 grep -qx configmap/before-cut "$T/watch"
	kc create deployment web --image=busybox
	wait_until 20 rs_ready web 1

	local cut_at=${EPOCHREALTIME/./} out start
	innet ip link set a0 down
	# a write and a read while etcd is unreachable: 5xx Status, in bounded time
	start=$SECONDS
	out=$(create during-cut)
	assert_5xx_status "$out"
	out=$(innet curl -s --max-time 60 -w '\n%{http_code}\n' \
		"$API/api/v1/namespaces/default/configmaps/before-cut")
	assert_5xx_status "$out"
	echo "5xx answers after $((SECONDS - start)) s"
	[ $((SECONDS - start)) -lt 30 ]
	daemons_alive
	# the rest of the cut: both daemons stay up throughout
	local left=$((CUT_S * 1000000 - (${EPOCHREALTIME/./} - cut_at)))
	if [ "$left" -gt 0 ]; then
		hold_for "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))" daemons_alive
	fi
	innet ip link set a0 up

	# back: the server recovers by itself, its clients carry on
	wait_until 30 stored after-cut
	wait_until 15 watch_carried_on after-cut
	cat "$T/watch" "$T/watch.err"
	kc scale deployment web --replicas=3
	wait_until 30 rs_ready web 3
	daemons_alive
}
