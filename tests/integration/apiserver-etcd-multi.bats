#!/usr/bin/env bats
# Two kube-apiservers on one etcd (Debian's, on free loopback ports): the
# same objects with the same resourceVersions on both, each one's writes seen
# through the other's watches, allocators that never hand out an address or
# port twice, the `kubernetes` Endpoints listing every live server, one
# compaction per interval between them, upstream's key layout in etcd, and
# upstream's answer to an object etcd finds too large.
#
# Server I (1, 2) binds 127.0.0.(I+1) on one shared port, as upstream's
# servers share theirs, and advertises that address.

load lib/etcd
load lib/wait

# Starts server I; its PID in $BATS_FILE_TMPDIR/api<I>.pid.
srv_start() {
	local i=$1 ip=127.0.0.$(($1 + 1))
	MINK8S_ENDPOINT_RECONCILE_MS=300 MINK8S_MASTER_LEASE_TTL_S=3 \
		"$MK_BIN/kube-apiserver" --insecure-bind-address="$ip" --insecure-port="$MK_PORT" \
		--etcd-servers="$MK_ETCD_URL" --etcd-compaction-interval=1s -v=2 \
		>>"$BATS_FILE_TMPDIR/api$i.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/api$i.pid"
	wait_until 30 curl -sf "http://$ip:$MK_PORT/healthz"
}

# Stops server I with signal (default TERM) and waits for it.
srv_stop() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/api$1.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null || true
	wait_until 20 bash -c "! kill -0 $pid 2>/dev/null"
	: >"$BATS_FILE_TMPDIR/api$1.pid"
}

url() {
	echo "http://127.0.0.$(($1 + 1)):$MK_PORT"
}

setup_file() {
	etcd_start 1
	MK_PORT=$(python3 -c 'import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.2", 0))
p = a.getsockname()[1]
b.bind(("127.0.0.3", p))
print(p)')
	export MK_PORT MK_ETCD_URL MK_ETCD_TMP
	srv_start 1
	srv_start 2
}

teardown_file() {
	srv_stop 1
	srv_stop 2
	etcd_stop
}

cm() { # cm SERVER NAME
	curl -s -X POST -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$2\"},\"data\":{\"k\":\"v\"}}" \
		"$(url "$1")/api/v1/namespaces/default/configmaps"
}

@test "both servers serve the same objects with the same resourceVersions" {
	a=$(cm 1 same-a)
	rv=$(jq -r .metadata.resourceVersion <<<"$a")
	b=$(curl -s "$(url 2)/api/v1/namespaces/default/configmaps/same-a")
	[ "$(jq -r .metadata.resourceVersion <<<"$b")" = "$rv" ]
	[ "$(jq -r .metadata.uid <<<"$b")" = "$(jq -r .metadata.uid <<<"$a")" ]
	# an update on 2 with the version read from 1 goes through; the stale one
	# is then refused on 1 with upstream's 409
	run curl -s -X PUT -H 'Content-Type: application/json' \
		-d "$(jq -c '.data.k = "w"' <<<"$a")" "$(url 2)/api/v1/namespaces/default/configmaps/same-a"
	[ "$(jq -r .data.k <<<"$output")" = w ]
	rv2=$(jq -r .metadata.resourceVersion <<<"$output")
	[ "$rv2" -gt "$rv" ]
	run curl -s -X PUT -H 'Content-Type: application/json' \
		-d "$(jq -c '.data.k = "x"' <<<"$a")" "$(url 1)/api/v1/namespaces/default/configmaps/same-a"
	[ "$(jq -r .code <<<"$output")" = 409 ]
	[[ "$(jq -r .message <<<"$output")" == *"the object has been modified; please apply your changes to the latest version and try again"* ]]
	# lists agree item by item
	l1=$(curl -s "$(url 1)/api/v1/configmaps" | jq -c '[.items[] | [.metadata.name, .metadata.resourceVersion]]')
	l2=$(curl -s "$(url 2)/api/v1/configmaps" | jq -c '[.items[] | [.metadata.name, .metadata.resourceVersion]]')
	[ "$l1" = "$l2" ]
	[[ "$l1" == *"[\"same-a\",\"$rv2\"]"* ]]
	# and so does kubectl on each
	[ "$(kubectl -s "$(url 1)" get cm same-a -o jsonpath='{.metadata.resourceVersion}')" = "$rv2" ]
	[ "$(kubectl -s "$(url 2)" get cm same-a -o jsonpath='{.metadata.resourceVersion}')" = "$rv2" ]
}

@test "each server sees the other's writes through a watch within 100 ms" {
	for dir in "1 2" "2 1"; do
		set -- $dir
		run python3 "$BATS_TEST_DIRNAME/lib/watch-latency.py" "$(url "$1")" "$(url "$2")" 20 \
			default "lat-$2"
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$(wc -l <<<"$output")" -eq 20 ]
		# the event carries the resourceVersion the writer answered
		awk '$3 != $4 { exit 1 }' <<<"$output"
		# 19 of 20 within 100 ms of the write's answer (one may meet a
		# busy machine), none later than 1 s
		[ "$(awk '$2 <= 100' <<<"$output" | wc -l)" -ge 19 ]
		awk '$2 > 1000 { exit 1 }' <<<"$output"
	done
}

@test "500 Service creates on both servers at once: no ClusterIP or NodePort twice" {
	# one curl per server, 4 requests in flight on each
	local i n u
	for i in 1 2; do
		u=$(url "$i")
		for n in $(seq "$i" 2 500); do
			[ "$n" -le 2 ] || echo next
			printf 'url = "%s/api/v1/namespaces/default/services"\nrequest = "POST"\n' "$u"
			printf 'header = "Content-Type: application/json"\noutput = "/dev/null"\n'
			printf 'write-out = "%%{http_code}\\n"\n'
			printf 'data = "{\\"apiVersion\\":\\"v1\\",\\"kind\\":\\"Service\\",\\"metadata\\":{\\"name\\":\\"s-%d\\"},\\"spec\\":{\\"type\\":\\"NodePort\\",\\"ports\\":[{\\"port\\":80}],\\"selector\\":{\\"app\\":\\"x\\"}}}"\n' "$n"
		done >"$BATS_TEST_TMPDIR/creates$i"
	done
	codes=$BATS_TEST_TMPDIR/codes
	curl -s --no-progress-meter --parallel --parallel-max 4 -K "$BATS_TEST_TMPDIR/creates1" >"$codes.1" &
	local c1=$!
	curl -s --no-progress-meter --parallel --parallel-max 4 -K "$BATS_TEST_TMPDIR/creates2" >"$codes.2"
	wait "$c1"
	cat "$codes.1" "$codes.2" >"$codes"
	[ "$(grep -c '^201$' "$codes")" -eq 500 ]
	svcs=$(curl -s "$(url 1)/api/v1/namespaces/default/services")
	[ "$(jq '[.items[] | select(.metadata.name | startswith("s-"))] | length' <<<"$svcs")" -eq 500 ]
	[ "$(jq -r '.items[].spec.clusterIP' <<<"$svcs" | sort | uniq -d | wc -l)" -eq 0 ]
	[ "$(jq -r '.items[].spec.ports[].nodePort // empty' <<<"$svcs" | sort | uniq -d | wc -l)" -eq 0 ]
	[ "$(jq -r '.items[].spec.ports[].nodePort // empty' <<<"$svcs" | wc -l)" -eq 500 ]
	# the stored ranges hold them all: 501 addresses (with kubernetes), 500 ports
	# (the set bits of each RangeAllocation's data, read through etcd's gateway)
	bits() {
		python3 - "$MK_ETCD_URL" <<-'PY'
			import base64, json, sys, urllib.request
			for key in ("/registry/ranges/serviceips", "/registry/ranges/servicenodeports"):
			    req = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
			    kvs = json.load(urllib.request.urlopen(sys.argv[1] + "/v3/kv/range", req))["kvs"]
			    data = json.loads(base64.b64decode(kvs[0]["value"]))["data"]
			    print(bin(int.from_bytes(base64.b64decode(data), "big")).count("1"), end=" ")
		PY
	}
	[ "$(bits)" = "501 500 " ]
	# deleting some on the other server frees them in the store
	local del=()
	for n in $(seq 1 50); do
		del+=("$(url $((n % 2 + 1)))/api/v1/namespaces/default/services/s-$((n * 10))")
	done
	# (one curl for all: the code on a line of its own after each body)
	run curl -s -w '\n%{http_code}\n' -X DELETE "${del[@]}"
	[ "$(grep -c '^200$' <<<"$output")" -eq 50 ]
	[ "$(bits)" = "451 450 " ]
}

@test "etcdctl sees upstream's layout: keys under /registry, JSON values, mod_revision = resourceVersion" {
	curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
		-d '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}' "$(url 2)/api/v1/nodes"
	keys=$(etcdctl --endpoints="$MK_ETCD_URL" get --prefix /registry --keys-only)
	for k in /registry/namespaces/default /registry/services/specs/default/kubernetes \
		/registry/services/endpoints/default/kubernetes /registry/endpointslices/default/kubernetes \
		/registry/minions/n1 /registry/configmaps/default/same-a /registry/ranges/serviceips \
		/registry/ranges/servicenodeports /registry/masterleases/127.0.0.2 \
		/registry/masterleases/127.0.0.3; do
		grep -qx "$k" <<<"$keys" || { echo "missing $k"; false; }
	done
	run etcdctl --endpoints="$MK_ETCD_URL" get /registry/minions/n1 --print-value-only
	[ "$(jq -r .kind <<<"$output")" = Node ]
	mod=$(etcdctl --endpoints="$MK_ETCD_URL" get /registry/minions/n1 -w json | jq -r '.kvs[0].mod_revision')
	rv=$(curl -s "$(url 1)/api/v1/nodes/n1" | jq -r .metadata.resourceVersion)
	[ "$mod" = "$rv" ]
	# resourceVersion itself is not stored, as upstream's
	[ "$(jq -r '.metadata.resourceVersion // "none"' <<<"$output")" = none ]
}

@test "one compaction per claim between the two servers; old revisions answer 410" {
	version() {
		etcdctl --endpoints="$MK_ETCD_URL" get compact_rev_key -w json | jq -r '.kvs[0].version // 0'
	}
	v0=$(version)
	wait_until 20 bash -c "[ \$(etcdctl --endpoints='$MK_ETCD_URL' get compact_rev_key -w json | jq -r '.kvs[0].version // 0') -ge $((v0 + 3)) ]"
	# every compaction logged by either server is of a revision no other
	# compaction took: the claims through compact_rev_key's version elect one
	revs=$(cat "$BATS_FILE_TMPDIR"/api[12].log | sed -n 's/.*compacted etcd to revision \([0-9]*\).*/\1/p')
	echo "$revs"
	[ "$(wc -l <<<"$revs")" -ge 2 ]
	[ -z "$(sort <<<"$revs" | uniq -d)" ]
	# a watch from before the compaction: 410 Expired inside the stream
	run curl -s -N --max-time 5 "$(url 2)/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2"
	[ "$(jq -r .type <<<"$output")" = ERROR ]
	[ "$(jq -r .object.code <<<"$output")" = 410 ]
	[[ "$(jq -r .object.message <<<"$output")" == "too old resource version: 2 ("*")" ]]
	# and a continue token pinned there
	token=$(printf '{"v":"meta.k8s.io/v1","rv":2,"start":"a"}' | base64 -w0 | tr '+/' '-_' | tr -d =)
	run curl -s -w '\n%{http_code}' "$(url 1)/api/v1/namespaces/default/configmaps?limit=1&continue=$token"
	[ "$(tail -n1 <<<"$output")" = 410 ]
}

@test "the kubernetes Endpoints lists every live server" {
	eps() {
		curl -s "$(url 1)/api/v1/namespaces/default/endpoints/kubernetes" |
			jq -r '[.subsets[0].addresses[].ip] | join(",")'
	}
	[ "$(eps)" = "127.0.0.2,127.0.0.3" ]
	[ "$(curl -s "$(url 1)/api/v1/namespaces/default/endpoints/kubernetes" | jq -r '.subsets[0].ports[0].port')" = "$MK_PORT" ]
	slice() {
		curl -s "$(url 1)/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes" |
			jq -r '[.endpoints[].addresses[0]] | join(",")'
	}
	[ "$(slice)" = "127.0.0.2,127.0.0.3" ]
	# a server that stops takes its address out
	srv_stop 2
	wait_until 10 bash -c "[ \"\$(curl -s '$(url 1)/api/v1/namespaces/default/endpoints/kubernetes' | jq -r '[.subsets[0].addresses[].ip] | join(\",\")')\" = 127.0.0.2 ]"
	srv_start 2
	wait_until 10 bash -c "[ \"\$(curl -s '$(url 1)/api/v1/namespaces/default/endpoints/kubernetes' | jq -r '[.subsets[0].addresses[].ip] | join(\",\")')\" = 127.0.0.2,127.0.0.3 ]"
	# one killed drops out when its lease expires (3 s here)
	srv_stop 2 KILL
	wait_until 20 bash -c "[ \"\$(curl -s '$(url 1)/api/v1/namespaces/default/endpoints/kubernetes' | jq -r '[.subsets[0].addresses[].ip] | join(\",\")')\" = 127.0.0.2 ]"
	[ "$(slice)" = "127.0.0.2" ]
	srv_start 2
}

# big NAME BYTES: a ConfigMap holding BYTES bytes, as JSON in $BATS_TEST_TMPDIR/NAME.json
big() {
	{
		printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s"},"data":{"a":"' "$1"
		head -c "$2" /dev/zero | tr '\0' y
		printf '"}}'
	} >"$BATS_TEST_TMPDIR/$1.json"
}

@test "an object over etcd's 1.5 MiB request limit and under our 3 MiB: upstream's 500 Status, nothing written" {
	local u cms out rv
	u=$(url 1)
	cms=$u/api/v1/namespaces/default/configmaps
	# a create etcd refuses (its "request is too large"), and one over the
	# 2 MiB its gRPC server reads at all: upstream passes etcd's words on
	for size in 1600000 2500000; do
		big "over-$size" "$size"
		out=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
			--data-binary "@$BATS_TEST_TMPDIR/over-$size.json" "$cms")
		echo "$size: $out" | cut -c1-300
		[ "$(tail -n1 <<<"$out")" = 500 ]
		sed '$d' <<<"$out" | jq -e '.kind == "Status" and .code == 500 and (has("reason") | not)'
		[ "$size" = 2500000 ] || [ "$(sed '$d' <<<"$out" | jq -r .message)" = "etcdserver: request is too large" ]
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$cms/over-$size")" = 404 ]
	done
	# an update that grows an object past the limit leaves it as it was
	big fits 10
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "@$BATS_TEST_TMPDIR/fits.json" "$cms")" = 201 ]
	rv=$(curl -sf "$cms/fits" | jq -r .metadata.resourceVersion)
	{
		printf '{"data":{"b":"'
		head -c 1600000 /dev/zero | tr '\0' z
		printf '"}}'
	} >"$BATS_TEST_TMPDIR/grow.json"
	out=$(curl -s -w '\n%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' \
		--data-binary "@$BATS_TEST_TMPDIR/grow.json" "$cms/fits")
	[ "$(tail -n1 <<<"$out")" = 500 ]
	[ "$(sed '$d' <<<"$out" | jq -r .message)" = "etcdserver: request is too large" ]
	[ "$(curl -sf "$cms/fits" | jq -r '"\(.metadata.resourceVersion) \(.data | keys | join(","))"')" = "$rv a" ]
	# kubectl shows etcd's words, as against upstream
	run kubectl --server="$u" create --validate=false -f "$BATS_TEST_TMPDIR/over-1600000.json"
	[ "$status" -ne 0 ]
	[ "$output" = "Error from server: error when creating \"$BATS_TEST_TMPDIR/over-1600000.json\": etcdserver: request is too large" ]
	curl -sf "$u/healthz"
}
