#!/usr/bin/env bats
# kube-proxy --explain against the rules a live kube-proxy wrote, in both
# modes, inside the network namespaces of proxy-common.bash.

load proxy-common

setup() {
	cluster_setup
}

teardown() {
	cluster_teardown
}

# pods web-1..4 on node1 with the endpoints' addresses, as the API knows them
make_pods() {
	local i
	make_node node1 10.244.1.0/24 192.168.77.2
	for i in 1 2 3 4; do
		cat >"$TMP/pod$i.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: web-$i
  namespace: default
spec:
  nodeName: node1
  containers:
  - name: httpd
    image: busybox
YAML
		kc apply -f "$TMP/pod$i.yaml" >/dev/null
		kc patch pod "web-$i" --subresource=status --type=merge \
			-p "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.1$i\",\"podIPs\":[{\"ip\":\"10.244.1.1$i\"}]}}" >/dev/null
	done
}

explain() {
	innode "$MK_BIN/kube-proxy" --master "http://127.0.0.1:$API_PORT" "$@"
}

# the ClusterIP's endpoint table: 4 lines, 25 % each, the pods named
check_web() {
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep -qx "Service default/web:http (tcp), $MODE mode"
	echo "$output" | grep -qx "  ClusterIP $CIP:80/tcp"
	echo "$output" | grep -qx "  NodePort 192.168.77.2:$NODEPORT/tcp"
	local i table
	table=$(echo "$output" | grep -E '^ +[0-9a-z.]+ +25\.0 %  -> ')
	[ "$(echo "$table" | wc -l)" = 4 ]
	for i in 1 2 3 4; do
		echo "$table" | grep -q "DNAT 10.244.1.1$i:80  pod default/web-$i on node node1\$"
	done
	if [ "$MODE" = iptables ]; then
		[ "$(echo "$table" | awk '{print $1}' | tr '\n' ' ')" = "0.25000000000 0.33333333349 0.50000000000 rest " ]
		echo "$output" | grep -q "KUBE-SVC-[A-Z0-9]*: 4 endpoints, one chosen at random (-m statistic --mode random):"
	else
		[ "$(echo "$table" | awk '{print $1}' | tr '\n' ' ')" = "0 1 2 3 " ]
		echo "$output" | grep -q ": numgen random mod 4 vmap { ... }"
	fi
	# the node port goes to the same endpoints
	echo "$output" | grep -q "the same 4 endpoints as above"
}

test_explain() {
	make_pods
	start_proxy
	create_service
	set_endpoints 4
	wait_until 10 answers
	run explain --proxy-mode="$MODE" --explain default/web
	check_web
	# without --proxy-mode: the mode whose rules the kernel holds
	run explain --explain=default/web:80
	check_web
	# an address: the ClusterIP, and the same endpoints
	run explain --explain="$CIP:80/TCP"
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | head -1 | grep -qx "$CIP:80/tcp, $MODE mode: ClusterIP of Service default/web:http"
	[ "$(echo "$output" | grep -c '25\.0 %  -> ')" = 4 ]
	# what matches nothing: one line, exit 1
	local where="the nat or filter table"
	[ "$MODE" = nftables ] && where="table ip kube-proxy"
	run explain --explain default/nothere
	[ "$status" -eq 1 ]
	[ "$output" = "no rule for Service default/nothere in $where" ]
	run explain --proxy-mode="$MODE" --explain 192.0.2.1:80
	[ "$status" -eq 1 ]
	[ "$output" = "no rule for 192.0.2.1:80/tcp in $where" ]
	run explain --explain 10.96.0.1
	[ "$status" -eq 1 ]
	[ "$output" = "Error: --explain 10.96.0.1: a port is needed: IP:port[/protocol]" ]
	# only the kernel is read: with kube-proxy gone, a change in the API
	# leaves the explanation as the rules still are
	stop_proxy
	set_endpoints 1
	[ "$(kc get endpointslice web-abcde -o jsonpath='{.endpoints[*].addresses[0]}')" = 10.244.1.11 ]
	run explain --explain default/web
	check_web
}

@test "explain: iptables mode, 4 endpoints, probabilities, shares and pods" {
	MODE=iptables
	test_explain
}

@test "explain: nftables mode, 4 endpoints, shares and pods" {
	MODE=nftables
	test_explain
}
