#!/usr/bin/env bats
# kube-proxy in nftables mode against a live API server, in network namespaces.

load proxy-common

setup() {
	MODE=nftables
	cluster_setup
}

teardown() {
	cluster_teardown
}

@test "nftables: ClusterIP traffic spreads over 4 endpoints (each 15-35 %)" {
	test_spread
	run innode nft list table ip kube-proxy
	echo "$output" | grep -q "$CIP . tcp . 80 : goto service-[A-Z2-7]*-default/web/tcp/http"
	echo "$output" | grep -q "numgen random mod 4 vmap"
	[ "$(echo "$output" | grep -c 'dnat to 10.244.1.1[1-4]:80')" = 4 ]
}

@test "nftables: scaling 4 -> 1 -> 0 (refused at once) -> 4" {
	test_scale
}

@test "nftables: NodePort on the node IP" {
	test_nodeport
}

@test "nftables: ClientIP session affinity pins a client" {
	test_affinity
}

@test "nftables: --cleanup leaves no kube-proxy table" {
	test_cleanup
}

@test "nftables: restart rewrites identical rules, keeps connections" {
	test_restart
}

@test "nftables: healthz and metrics" {
	test_metrics
}

@test "nftables: --config KubeProxyConfiguration (kubeadm's shape), flags win, validation" {
	test_config_file
}

@test "nftables: a second node gets the route to the first node's podCIDR" {
	test_routes
}

@test "nftables: health check node port of an eTP Local load balancer follows local endpoints" {
	test_hc_node_port
}

@test "nftables: objects the API server would refuse are left out and logged once, the rest is programmed" {
	test_bad_objects
}
