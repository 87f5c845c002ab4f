# Shared by proxy-iptables.bats and proxy-nftables.bats: a "node" network
# namespace running kube-apiserver and kube-proxy, four busybox httpd
# endpoints in namespaces of their own behind a bridge in the node namespace.
#
#   node ns: lo, br0 10.244.1.1/24 (pod network), eth0 (veth) 192.168.77.2/24
#            (node IP, default route), API server on 127.0.0.1:$API_PORT
#   ep ns i: eth0 10.244.1.1$i/24, busybox httpd :80 answering "ep$i"
#
# Everything lives in namespaces with random names, removed in teardown.

load lib/wait
load lib/store

need() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	for b in "$MK_BIN/kube-proxy" "$MK_BIN/kube-apiserver"; do
		[ -x "$b" ] || skip "$b not built"
	done
	command -v kubectl >/dev/null || skip "kubectl missing"
	command -v busybox >/dev/null || skip "busybox missing"
	command -v iptables-legacy-save >/dev/null || skip "iptables-legacy missing"
	command -v nft >/dev/null || skip "nft missing"
}

# Runs a command inside the node namespace.
innode() {
	ip netns exec "$NODE" "$@"
}

kc() {
	ip netns exec "$NODE" env KUBECACHEDIR="$TMP/kcache" kubectl -s "http://127.0.0.1:$API_PORT" "$@"
}

cluster_setup() {
	need
	ID=$(printf '%04x%04x' $RANDOM $RANDOM)
	NODE=mkpn-$ID
	TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-proxy.XXXXXX")
	EPS=()
	PIDS=()
	ip netns add "$NODE"
	innode ip link set lo up
	innode ip link add br0 type bridge
	innode ip addr add 10.244.1.1/24 dev br0
	innode ip link set br0 up
	# the node's uplink: a veth pair whose far end stays in the node namespace
	innode ip link add eth0 type veth peer name uplink
	innode ip addr add 192.168.77.2/24 dev eth0
	innode ip link set uplink up
	innode ip link set eth0 up
	innode ip route add default via 192.168.77.1 dev eth0
	innode sysctl -qw net.ipv4.ip_forward=1
	for i in 1 2 3 4; do
		local ns=mkpe$i-$ID
		EPS+=("$ns")
		ip netns add "$ns"
		ip netns exec "$ns" ip link set lo up
		innode ip link add "veth$i" type veth peer name eth0 netns "$ns"
		innode ip link set "veth$i" master br0 up
		ip netns exec "$ns" ip addr add "10.244.1.1$i/24" dev eth0
		ip netns exec "$ns" ip link set eth0 up
		ip netns exec "$ns" ip route add default via 10.244.1.1
		mkdir -p "$TMP/www$i"
		echo "ep$i" >"$TMP/www$i/index.html"
		head -c 3000000 /dev/zero >"$TMP/www$i/big"
		ip netns exec "$ns" busybox httpd -f -p 80 -h "$TMP/www$i" 3>&- &
		PIDS+=($!)
	done
	API_PORT=$((20000 + RANDOM % 20000))
	mkdir -p "$TMP/data" "$TMP/kcache"
	api_start
	HEALTHZ_PORT=$((40000 + RANDOM % 10000))
	METRICS_PORT=$((50000 + RANDOM % 10000))
	PROXY_PID=
}

# The node's API server, on $TMP/data; api_stop and api_start again keep
# its objects.
api_start() {
	# `ip netns exec` execs the program: $! is the server itself
	ip netns exec "$NODE" "$MK_BIN/kube-apiserver" --insecure-bind-address=0.0.0.0 --insecure-port="$API_PORT" --data-dir="$TMP/data" \
		--service-cluster-ip-range=10.96.0.0/16 --disable-admission-plugins=ServiceAccount \
		>>"$TMP/apiserver.log" 2>&1 3>&- &
	API_PID=$!
	wait_until 10 innode curl -fs "http://127.0.0.1:$API_PORT/healthz"
}

api_stop() {
	kill "$API_PID"
	wait "$API_PID" || true
	API_PID=
}

# sysctl_record NS: the path of the record of the sysctls kube-proxy changed
# in namespace NS (see proxy/sysctls.h: named by the namespace's cookie)
sysctl_record() {
	local cookie
	cookie=$(ip netns exec "$1" python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))') || return 1
	echo "/run/kube-proxy/sysctl-netns-$cookie"
}

# forget_sysctls NS: the record goes with the namespace
forget_sysctls() {
	local r
	r=$(sysctl_record "$1" 2>/dev/null) && rm -f "$r"
	true
}

cluster_teardown() {
	[ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	[ -n "${PROXY2_PID:-}" ] && kill "$PROXY2_PID" 2>/dev/null && wait "$PROXY2_PID" 2>/dev/null
	[ -n "${API_PID:-}" ] && kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for ns in "${EPS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${NODE:-}" ] && forget_sysctls "$NODE" && ip netns del "$NODE" 2>/dev/null
	[ -n "${NODE2:-}" ] && forget_sysctls "$NODE2" && ip netns del "$NODE2" 2>/dev/null
	if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
		if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${PROXY_DEBUG:-}" ]; then
			rm -rf "$TMP"
		fi
	fi
	true
}

start_proxy() {
	ip netns exec "$NODE" "$MK_BIN/kube-proxy" --master "http://127.0.0.1:$API_PORT" --proxy-mode="$MODE" \
		--cluster-cidr=10.244.0.0/16 --hostname-override=node1 \
		--nodeport-addresses=192.168.77.0/24 --iptables-min-sync-period=100ms \
		--healthz-bind-address="127.0.0.1:$HEALTHZ_PORT" \
		--metrics-bind-address="127.0.0.1:$METRICS_PORT" -v=2 "$@" \
		>>"$TMP/proxy.log" 2>&1 3>&- &
	PROXY_PID=$!
}

stop_proxy() {
	kill "$PROXY_PID"
	wait "$PROXY_PID" || true
	PROXY_PID=
}

# create_service [extra spec yaml lines...]
create_service() {
	cat >"$TMP/svc.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  type: NodePort
  ports:
  - name: http
    port: 80
    targetPort: 80
    protocol: TCP
YAML
	for l in "$@"; do echo "  $l" >>"$TMP/svc.yaml"; done
	kc apply -f "$TMP/svc.yaml" >/dev/null
	CIP=$(kc get svc web -o jsonpath='{.spec.clusterIP}')
	NODEPORT=$(kc get svc web -o jsonpath='{.spec.ports[0].nodePort}')
	[ -n "$CIP" ] && [ -n "$NODEPORT" ]
}

# set_endpoints N [NODE]: the slice lists endpoints 1..N, on NODE (node1)
set_endpoints() {
	local node=${2:-node1}
	{
		cat <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  namespace: default
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports:
- name: http
  port: 80
  protocol: TCP
YAML
		if [ "$1" = 0 ]; then
			echo "endpoints: []"
		else
			echo "endpoints:"
			for i in $(seq 1 "$1"); do
				printf -- '- addresses: ["10.244.1.1%d"]\n  conditions: {ready: true}\n  nodeName: %s\n' "$i" "$node"
			done
		fi
	} >"$TMP/slice.yaml"
	kc apply -f "$TMP/slice.yaml" >/dev/null
}

# On a timeout: what the proxy last said.
wait_diagnose() {
	[ -n "${TMP:-}" ] && [ -f "$TMP/proxy.log" ] || return 0
	echo "--- last lines of the proxy's log:"
	tail -15 "$TMP/proxy.log"
}

answers() {
	innode curl -s --max-time 2 "http://$CIP/" | grep -q "^ep"
}

# hits N: curls the ClusterIP N times, prints "epX count" lines
hits() {
	innode bash -c "for i in \$(seq 1 $1); do curl -s --max-time 2 http://$CIP/; done" | sort | uniq -c
}

test_spread() {
	start_proxy
	create_service
	set_endpoints 4
	wait_until 30 answers
	local out
	out=$(hits 400)
	echo "$out"
	[ "$(echo "$out" | wc -l)" = 4 ]
	while read -r n ep; do
		[ "$n" -ge 60 ] && [ "$n" -le 140 ] || { echo "$ep answered $n of 400"; return 1; }
	done <<<"$out"
}

only_ep1() {
	[ "$(hits 5)" = "      5 ep1" ]
}

refused() {
	local rc=0
	innode curl -s --max-time 2 "http://$CIP/" || rc=$?
	[ "$rc" = 7 ]
}

test_scale() {
	start_proxy
	create_service
	set_endpoints 4
	wait_until 30 answers
	set_endpoints 1
	# rules follow within the min sync period; a loaded machine may take longer
	wait_until 10 only_ep1
	[ "$(hits 20)" = "     20 ep1" ]
	set_endpoints 0
	wait_until 10 refused
	local start end rc
	start=$(date +%s%N)
	rc=0
	innode curl -s --max-time 5 "http://$CIP/" || rc=$?
	end=$(date +%s%N)
	echo "curl exit $rc after $(((end - start) / 1000000)) ms"
	[ "$rc" = 7 ]  # connection refused
	[ $(((end - start) / 1000000)) -lt 1000 ]
	set_endpoints 4
	wait_until 10 answers
	[ "$(hits 100 | wc -l)" = 4 ]
}

test_nodeport() {
	start_proxy
	create_service
	set_endpoints 4
	wait_until 30 answers
	innode curl -s --max-time 2 "http://192.168.77.2:$NODEPORT/" | grep -q '^ep[1-4]$'
}

test_affinity() {
	start_proxy
	create_service "sessionAffinity: ClientIP"
	set_endpoints 4
	wait_until 30 answers
	local out
	out=$(hits 30)
	echo "$out"
	[ "$(echo "$out" | wc -l)" = 1 ]
}

test_cleanup() {
	start_proxy
	create_service
	set_endpoints 4
	wait_until 30 answers
	stop_proxy
	innode "$MK_BIN/kube-proxy" --cleanup
	# every table, mangle (the canary's) included; a bare `! cmd` would not
	# fail the test
	local t
	for t in filter nat mangle; do
		if innode iptables-legacy-save -t "$t" | grep KUBE-; then
			echo "KUBE-* chains left in $t"
			return 1
		fi
	done
	! innode nft list tables | grep -q kube-proxy || false
	! innode curl -s --max-time 1 "http://$CIP/" || false
}

# rules as the kernel has them, without counters
rules_now() {
	if [ "$MODE" = iptables ]; then
		innode iptables-legacy-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	else
		innode nft list table ip kube-proxy
	fi
}

# every endpoint of the slice is in the rules
all_endpoints_programmed() {
	[ "$(rules_now | grep -c -- "$1")" = "$2" ]
}

# a sync of the running kube-proxy has completed
proxy_synced() {
	innode curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" |
		grep -q '^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]'
}

# the download has started: bytes arrived
downloading() {
	[ -s "$TMP/big" ]
}

test_restart() {
	start_proxy
	create_service
	set_endpoints 4
	wait_until 30 answers
	# the state as a whole is in the rules before they are compared
	if [ "$MODE" = iptables ]; then
		wait_until 10 all_endpoints_programmed '-j DNAT .*--to-destination 10.244.1.1[1-4]:80' 4
	else
		wait_until 10 all_endpoints_programmed 'dnat to 10.244.1.1[1-4]:80' 4
	fi
	wait_until 10 proxy_synced
	rules_now >"$TMP/before"
	# a slow download through the ClusterIP survives the restart
	: >"$TMP/big"
	innode curl -s --max-time 30 --limit-rate 500k -o "$TMP/big" "http://$CIP/big" 3>&- &
	local dl=$!
	wait_until 10 downloading
	kill -9 "$PROXY_PID"
	wait "$PROXY_PID" 2>/dev/null || true
	start_proxy
	# the new process's first sync (a full one) is done
	wait_until 10 proxy_synced
	rules_now >"$TMP/after"
	if [ "$MODE" = nftables ]; then
		# objects re-created by a restart may be listed in another order
		diff <(sort "$TMP/before") <(sort "$TMP/after")
	else
		diff "$TMP/before" "$TMP/after"
	fi
	wait "$dl"
	[ "$(stat -c %s "$TMP/big")" = 3000000 ]
}

test_metrics() {
	start_proxy
	create_service
	set_endpoints 4
	wait_until 30 answers
	innode curl -fs "http://127.0.0.1:$HEALTHZ_PORT/healthz" | grep -q lastUpdated
	local m
	m=$(innode curl -fs "http://127.0.0.1:$METRICS_PORT/metrics")
	echo "$m" | grep -q '^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]'
	echo "$m" | grep -q '^kubeproxy_sync_proxy_rules_last_timestamp_seconds [1-9]'
	echo "$m" | grep -q '^kubeproxy_sync_proxy_rules_endpoint_changes_total [1-9]'
	echo "$m" | grep -q '^process_resident_memory_bytes [1-9]'
	echo "$m" | grep -q '^process_start_time_seconds [1-9]'
	# upstream's health of the kit on both servers: the sync freshness
	innode curl -fs "http://127.0.0.1:$METRICS_PORT/healthz" | grep -q lastUpdated
	innode curl -fs "http://127.0.0.1:$HEALTHZ_PORT/livez" | grep -q lastUpdated
}

healthz_in_use_logged() {
	grep -qF "\"Healthz server failed\" err=\"listen tcp 127.0.0.1:$HEALTHZ_PORT: bind: address already in use\"" "$TMP/proxy.log"
}

# The health port is taken when the proxy starts (a previous instance still
# exiting): upstream's line is logged, and the port is served once free.
test_healthz_port_in_use() {
	# not through innode: $! must be the holder itself (a function run in
	# the background is a subshell, and killing it would leave the holder)
	ip netns exec "$NODE" python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
time.sleep(600)' "$HEALTHZ_PORT" 3>&- &
	local blocker=$!
	PIDS+=("$blocker")
	wait_until 10 innode bash -c "ss -Hltn | grep -q '127.0.0.1:$HEALTHZ_PORT '"
	start_proxy
	wait_until 10 healthz_in_use_logged
	# metrics are served meanwhile, health is not
	wait_until 10 innode curl -fs --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics"
	run innode curl -fs --max-time 2 "http://127.0.0.1:$HEALTHZ_PORT/healthz"
	[ "$status" -ne 0 ]
	kill "$blocker"
	wait "$blocker" 2>/dev/null || true
	# the retry comes every 5 s
	wait_until 15 innode curl -fs --max-time 2 "http://127.0.0.1:$HEALTHZ_PORT/healthz"
	innode curl -fs --max-time 2 "http://127.0.0.1:$HEALTHZ_PORT/healthz" | grep -q lastUpdated
}

# A KubeProxyConfiguration as kubeadm writes it (every field present, zero
# values meaning "default"), with the settings of the mode under test in its
# own section and the other mode's section set to values that must be ignored.
write_config() {
	local mine=$MODE other=iptables
	[ "$MODE" = iptables ] && other=nftables
	cat >"$TMP/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: http://127.0.0.1:$API_PORT
contexts:
- name: c
  context:
    cluster: c
current-context: c
YAML
	cat >"$TMP/config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
bindAddress: 0.0.0.0
clientConnection:
  kubeconfig: $TMP/kubeconfig
  qps: 0
clusterCIDR: 10.244.0.0/16
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  tcpEstablishedTimeout: null
detectLocalMode: ""
healthzBindAddress: 127.0.0.1:$HEALTHZ_PORT
hostnameOverride: node1
$mine:
  masqueradeAll: false
  masqueradeBit: 13
  minSyncPeriod: 200ms
  syncPeriod: 0s
$other:
  masqueradeAll: true
  masqueradeBit: 3
  minSyncPeriod: 9s
  syncPeriod: 10s
ipvs:
  syncPeriod: 0s
logging:
  verbosity: 2
metricsBindAddress: 127.0.0.1
mode: $MODE
nodePortAddresses:
- 192.168.77.0/24
oomScoreAdj: null
YAML
}

# kube-proxy configured by --config alone: zero durations and a bind address
# without port take upstream's defaults, the mode's own section counts.
test_config_file() {
	write_config
	ip netns exec "$NODE" "$MK_BIN/kube-proxy" --config "$TMP/config.yaml" \
		>>"$TMP/proxy.log" 2>&1 3>&- &
	PROXY_PID=$!
	create_service
	set_endpoints 4
	wait_until 10 answers
	grep -q "Configuration: mode=$MODE syncPeriod=30000ms minSyncPeriod=200ms masqueradeAll=false masqueradeBit=13 clusterCIDR=10.244.0.0/16 hostnameOverride=node1 nodePortAddresses=192.168.77.0/24 healthzBindAddress=127.0.0.1:$HEALTHZ_PORT metricsBindAddress=127.0.0.1:10249" "$TMP/proxy.log"
	innode curl -fs "http://127.0.0.1:$HEALTHZ_PORT/healthz" | grep -q lastUpdated
	innode curl -fs "http://127.0.0.1:10249/metrics" | grep -q '^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]'
	# the masquerade bit of the file is the one in the rules
	if [ "$MODE" = iptables ]; then
		innode iptables-legacy-save -t nat | grep -q -- '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x2000/0x2000'
	else
		innode nft list chain ip kube-proxy mark-for-masquerade | grep -q 'meta mark set meta mark | 0x00002000'
	fi
	stop_proxy
	# a flag given on the command line wins over the file
	: >"$TMP/proxy.log"
	innode "$MK_BIN/kube-proxy" --config "$TMP/config.yaml" --iptables-min-sync-period=2s \
		--masquerade-all --proxy-mode=bogus 2>"$TMP/err.log" && false
	grep -q "invalid proxy mode bogus" "$TMP/err.log"
	# what upstream's validation refuses
	sed 's/masqueradeBit: 13/masqueradeBit: 40/' "$TMP/config.yaml" >"$TMP/bad-bit.yaml"
	innode "$MK_BIN/kube-proxy" --config "$TMP/bad-bit.yaml" 2>"$TMP/err.log" && false
	grep -q "masqueradeBit 40: must be within the range \[0, 31\]" "$TMP/err.log"
	innode "$MK_BIN/kube-proxy" --config "$TMP/config.yaml" --iptables-min-sync-period=1m \
		2>"$TMP/err.log" && false
	grep -q "minSyncPeriod 60000ms: must be less than or equal to syncPeriod 30000ms" "$TMP/err.log"
	sed 's|kubeproxy.config.k8s.io/v1alpha1|kubeproxy.config.k8s.io/v1beta9|' "$TMP/config.yaml" >"$TMP/bad-api.yaml"
	innode "$MK_BIN/kube-proxy" --config "$TMP/bad-api.yaml" 2>"$TMP/err.log" && false
	grep -q 'no kind "KubeProxyConfiguration" is registered for version "kubeproxy.config.k8s.io/v1beta9"' "$TMP/err.log"
	innode "$MK_BIN/kube-proxy" --config "$TMP/missing.yaml" 2>"$TMP/err.log" && false
	grep -q "missing.yaml" "$TMP/err.log"
}

# make_node NAME PODCIDR INTERNALIP
make_node() {
	cat >"$TMP/node-$1.yaml" <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $1
spec:
  podCIDR: $2
  podCIDRs: [$2]
YAML
	kc apply -f "$TMP/node-$1.yaml" >/dev/null
	kc patch node "$1" --subresource=status --type=merge \
		-p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$3\"}]}}" >/dev/null
}

test_routes() {
	make_node node1 10.244.1.0/24 192.168.77.2
	make_node node2 10.244.2.0/24 192.168.77.3
	# the second node: the far end of node1's uplink
	NODE2=mkpn2-$ID
	ip netns add "$NODE2"
	innode ip link set uplink netns "$NODE2"
	ip netns exec "$NODE2" ip link set lo up
	ip netns exec "$NODE2" ip addr add 192.168.77.3/24 dev uplink
	ip netns exec "$NODE2" ip link set uplink up
	ip netns exec "$NODE2" "$MK_BIN/kube-proxy" --master "http://192.168.77.2:$API_PORT" \
		--proxy-mode="$MODE" --cluster-cidr=10.244.0.0/16 --hostname-override=node2 \
		--healthz-bind-address= --metrics-bind-address= -v=2 >>"$TMP/proxy2.log" 2>&1 3>&- &
	PROXY2_PID=$!
	wait_until 10 bash -c "ip -n $NODE2 route show 10.244.1.0/24 | grep -q 'via 192.168.77.2 dev uplink proto 67'"
	# its own podCIDR is the CNI bridge's business
	[ -z "$(ip -n "$NODE2" route show 10.244.2.0/24)" ]
	# a node that goes away takes its route along
	kc delete node node1 >/dev/null
	wait_until 10 bash -c "[ -z \"\$(ip -n $NODE2 route show 10.244.1.0/24)\" ]"
	kill "$PROXY2_PID"
	wait "$PROXY2_PID" || true
	PROXY2_PID=
}

# hc_status_is CODE: the health check port on the node IP answers CODE; the
# body lands in $TMP/hc.body, the headers in $TMP/hc.head
hc_status_is() {
	local code
	code=$(innode curl -s --max-time 2 -D "$TMP/hc.head" -o "$TMP/hc.body" -w '%{http_code}' \
		"http://192.168.77.2:$HC_PORT/any/path")
	[ "$code" = "$1" ]
}

hc_refused() {
	local rc=0
	innode curl -s --max-time 2 "http://192.168.77.2:$HC_PORT/" >/dev/null || rc=$?
	[ "$rc" = 7 ]
}

# hc_body N HEALTHY: upstream's answer for default/web
hc_body() {
	printf '{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": %d,\n\t"serviceProxyHealthy": %s\n}' "$1" "$2"
}

test_hc_node_port() {
	start_proxy
	HC_PORT=$((30000 + RANDOM % 2700))
	# the service's own node port set too, so that it cannot take HC_PORT
	cat >"$TMP/lb.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  healthCheckNodePort: $HC_PORT
  ports:
  - name: http
    port: 80
    targetPort: 80
    protocol: TCP
    nodePort: $((HC_PORT + 1))
YAML
	kc apply -f "$TMP/lb.yaml" >/dev/null
	[ "$(kc get svc web -o jsonpath='{.spec.healthCheckNodePort}')" = "$HC_PORT" ]
	set_endpoints 1
	wait_until 10 hc_status_is 200
	diff <(hc_body 1 true) "$TMP/hc.body"
	grep -qi '^content-type: application/json' "$TMP/hc.head"
	grep -qi '^x-content-type-options: nosniff' "$TMP/hc.head"
	# the endpoint now runs on another node: this one fails the check
	set_endpoints 1 node2
	wait_until 10 hc_status_is 503
	diff <(hc_body 0 true) "$TMP/hc.body"
	kc delete svc web >/dev/null
	wait_until 10 hc_refused
	grep -q "Opening healthcheck service=\"default/web\" port=$HC_PORT" "$TMP/proxy.log"
	grep -q "Closing healthcheck service=\"default/web\" port=$HC_PORT" "$TMP/proxy.log"
}

# slice_for SERVICE IP [PORT]: one endpoint on node1 for the service's port
# "80" (the name `kubectl create service --tcp=80` gives it)
slice_for() {
	kc apply -f - >/dev/null <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $1-abcde
  namespace: default
  labels:
    kubernetes.io/service-name: $1
addressType: IPv4
ports:
- name: "80"
  port: ${3:-80}
  protocol: TCP
endpoints:
- addresses: ["$2"]
  conditions: {ready: true}
  nodeName: node1
YAML
}

# curl_gets URL WANT: the answer through the rules is WANT
curl_gets() {
	[ "$(innode curl -s --max-time 2 "$1")" = "$2" ]
}

# logged_once TEXT: the kube-proxy log holds exactly one line with TEXT
logged_once() {
	[ "$(grep -cF -- "$1" "$TMP/proxy.log")" = 1 ]
}

# Objects the API server refuses today, but may hold from before (put into
# its store directly): kube-proxy leaves out each bad one, says so once, and
# programs all the rest.
test_bad_objects() {
	create_service
	set_endpoints 4
	local s
	for s in aff-neg aff-zero aff-str aff-big; do
		kc create service clusterip "$s" --tcp=80 >/dev/null
		kc patch svc "$s" -p '{"spec":{"sessionAffinity":"ClientIP"}}' >/dev/null
		slice_for "$s" 10.244.1.12
	done
	kc create service clusterip ext --tcp=80 >/dev/null
	kc patch svc ext -p '{"spec":{"externalIPs":["192.168.77.50"]}}' >/dev/null
	slice_for ext 10.244.1.13
	kc create service nodeport np --tcp=80 >/dev/null
	slice_for np 10.244.1.14
	kc create service clusterip sp --tcp=80 >/dev/null
	slice_for sp 10.244.1.14 8080
	api_stop
	local svcs=/registry/services/specs/default
	store_edit "$TMP/data" "$svcs/aff-neg" '.spec.sessionAffinityConfig.clientIP.timeoutSeconds = -5'
	store_edit "$TMP/data" "$svcs/aff-zero" '.spec.sessionAffinityConfig.clientIP.timeoutSeconds = 0'
	store_edit "$TMP/data" "$svcs/aff-str" '.spec.sessionAffinityConfig.clientIP.timeoutSeconds = "abc"'
	store_edit "$TMP/data" "$svcs/aff-big" '.spec.sessionAffinityConfig.clientIP.timeoutSeconds = 99999999999'
	store_edit "$TMP/data" "$svcs/ext" \
		'.spec.externalIPs = ["0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "192.168.77.50"]'
	store_edit "$TMP/data" "$svcs/np" '.spec.ports[0].nodePort = 70000'
	store_edit "$TMP/data" /registry/endpointslices/default/sp-abcde '.ports[0].port = 70000'
	api_start
	start_proxy

	# the good service, its node port, and the good external IP work
	wait_until 30 answers
	innode curl -s --max-time 2 "http://192.168.77.2:$NODEPORT/" | grep -q '^ep[1-4]$'
	wait_until 10 curl_gets http://192.168.77.50/ ep3
	# the loopback external IP captures nothing: local traffic stays local
	local rc=0
	innode curl -s --max-time 2 http://127.0.0.1/ || rc=$?
	[ "$rc" = 7 ]

	# each one refused is named, once
	logged_once "Skipping service default/aff-neg: spec.sessionAffinityConfig.clientIP.timeoutSeconds -5: must be greater than 0 and less than 86400"
	logged_once "Skipping service default/aff-zero: spec.sessionAffinityConfig.clientIP.timeoutSeconds 0: must be greater than 0 and less than 86400"
	logged_once 'Skipping service default/aff-str: spec.sessionAffinityConfig.clientIP.timeoutSeconds "abc": must be greater than 0 and less than 86400'
	logged_once "Skipping service default/aff-big: spec.sessionAffinityConfig.clientIP.timeoutSeconds 99999999999: must be greater than 0 and less than 86400"
	logged_once 'Skipping external IP "0.0.0.0" of service default/ext: may not be unspecified (0.0.0.0)'
	logged_once 'Skipping external IP "127.0.0.1" of service default/ext: may not be in the loopback range (127.0.0.0/8, ::1/128)'
	logged_once 'Skipping external IP "224.0.0.1" of service default/ext: may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'
	logged_once 'Skipping external IP "255.255.255.255" of service default/ext: may not be the broadcast address (255.255.255.255)'
	logged_once 'Skipping port "80" of service default/np: nodePort 70000: must be between 1 and 65535, inclusive'
	logged_once 'Skipping EndpointSlice default/sp-abcde for service port default/sp:80: port 70000: must be between 1 and 65535, inclusive'

	# and none of it is in the rules, neither cut nor wrapped
	rules_now >"$TMP/rules"
	grep -q 192.168.77.50 "$TMP/rules"
	local bad
	for bad in default/aff- default/np 127.0.0.1 0.0.0.0/32 "0.0.0.0 . " 224.0.0.1 255.255.255.255; do
		if grep -F -- "$bad" "$TMP/rules"; then
			echo "rules hold $bad"
			return 1
		fi
	done
	if grep -wE -- '70000|4464|99999999999|1215752191' "$TMP/rules"; then
		echo "rules hold a bad number"
		return 1
	fi

	# later changes are programmed, and do not bring the complaints back
	kc create service clusterip late --tcp=80 >/dev/null
	slice_for late 10.244.1.14
	local late
	late=$(kc get svc late -o jsonpath='{.spec.clusterIP}')
	wait_until 10 curl_gets "http://$late/" ep4
	logged_once "Skipping service default/aff-neg"
	logged_once 'Skipping EndpointSlice default/sp-abcde'
}
