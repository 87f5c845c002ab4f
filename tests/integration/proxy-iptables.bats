#!/usr/bin/env bats
# kube-proxy in iptables mode against a live API server, in network namespaces.

load proxy-common

setup() {
	MODE=iptables
	cluster_setup
}

teardown() {
	cluster_teardown
}

@test "iptables: ClusterIP traffic spreads over 4 endpoints (each 15-35 %)" {
	test_spread
	# the chains read like upstream's
	run innode iptables-legacy-save -t nat
	echo "$output" | grep -q -- "-A KUBE-SERVICES -d $CIP/32 -p tcp -m comment --comment \"default/web:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-"
	echo "$output" | grep -q -- "-m statistic --mode random --probability 0.25000000000 -j KUBE-SEP-"
	echo "$output" | grep -q -- "-m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-"
	echo "$output" | grep -q -- "-m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-"
	[ "$(echo "$output" | grep -c -- '-j DNAT --to-destination 10.244.1.1[1-4]:80')" = 4 ]
}

@test "iptables: scaling 4 -> 1 -> 0 (refused at once) -> 4" {
	test_scale
}

@test "iptables: NodePort on the node IP" {
	test_nodeport
}

@test "iptables: ClientIP session affinity pins a client" {
	test_affinity
}

# the empty flush-detector chain of upstream, in each table
canary_everywhere() {
	local t
	for t in mangle nat filter; do
		innode iptables-legacy -w -t "$t" -n -L KUBE-PROXY-CANARY >/dev/null || return 1
	done
}

@test "iptables: KUBE-PROXY-CANARY in mangle, nat and filter, remade after a flush" {
	start_proxy --iptables-sync-period=1s
	create_service
	set_endpoints 4
	wait_until 10 answers
	# mangle's is made right after the nat commit that lets traffic through
	wait_until 10 innode iptables-legacy -w -t mangle -L KUBE-PROXY-CANARY
	canary_everywhere
	[ "$(innode iptables-legacy -w -t nat -S KUBE-PROXY-CANARY)" = "-N KUBE-PROXY-CANARY" ]
	if innode iptables-legacy-save | grep -e "-j KUBE-PROXY-CANARY"; then
		return 1
	fi
	# what `iptables -F; iptables -X` does to each table, in one go so that
	# no sync lands between the flush and the chain deletes
	printf '*mangle\nCOMMIT\n*nat\nCOMMIT\n*filter\nCOMMIT\n' | innode iptables-legacy-restore -w
	# the next periodic full sync (1 s) puts back rules and canaries
	wait_until 10 canary_everywhere
	wait_until 10 answers
	grep -q "iptables mangle table was flushed" "$TMP/proxy.log"
}

@test "iptables: --cleanup leaves no KUBE-* chain" {
	test_cleanup
}

@test "iptables: restart rewrites identical rules, keeps connections" {
	test_restart
}

@test "iptables: healthz and metrics" {
	test_metrics
}

@test "iptables: a health port in use is served once free" {
	test_healthz_port_in_use
}

@test "iptables: --config KubeProxyConfiguration (kubeadm's shape), flags win, validation" {
	test_config_file
}

@test "iptables: a second node gets the route to the first node's podCIDR" {
	test_routes
}

@test "iptables: health check node port of an eTP Local load balancer follows local endpoints" {
	test_hc_node_port
}

@test "iptables: objects the API server would refuse are left out and logged once, the rest is programmed" {
	test_bad_objects
}
