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

@test "iptables: --cleanup leaves no KUBE-* chain" {
	test_cleanup
}

@test "iptables: restart rewrites identical rules, keeps connections" {
	test_restart
}

@test "iptables: healthz and metrics" {
	test_metrics
}

@test "iptables: a second node gets the route to the first node's podCIDR" {
	test_routes
}

@test "iptables: health check node port of an eTP Local load balancer follows local endpoints" {
	test_hc_node_port
}
