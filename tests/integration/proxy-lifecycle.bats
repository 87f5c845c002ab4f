#!/usr/bin/env bats
# What kube-proxy leaves behind and what it shows of itself: a switch of
# --proxy-mode removes the other mode's rules at start, --cleanup puts back
# the sysctls kube-proxy changed (and only those), and the process keeps its
# name. Rules and settings are read back from the kernel inside the node's
# network namespace (see proxy-common.bash).

load proxy-common

setup() {
	MODE=iptables
	cluster_setup
}

teardown() {
	cluster_teardown
}

# KUBE-* lines of the legacy tables but kubelet's KUBE-FIREWALL (kube-proxy
# adds its jumps when missing, and upstream's cleanup leaves them)
legacy_kube_lines() {
	innode iptables-legacy-save | grep -e KUBE- | grep -v -e '-j KUBE-FIREWALL$' -e '^:KUBE-FIREWALL ' |
		grep -v -e '^-A KUBE-FIREWALL ' || true
}

proxy_table_gone() {
	! innode nft list table ip kube-proxy >/dev/null 2>&1 || false
}

# pgrep's answer is the proxy itself, and its name in /proc is its own
named_kube_proxy() {
	[ "$(cat "/proc/$PROXY_PID/comm")" = kube-proxy ] &&
		pgrep -x kube-proxy | grep -qx "$PROXY_PID"
}

@test "lifecycle: iptables -> nftables removes the legacy rules, nftables -> iptables the table; named kube-proxy" {
	# rules of others in the same tables stay
	innode iptables-legacy -w -A INPUT -s 198.51.100.7/32 -j DROP
	innode iptables-legacy -w -t nat -N OTHER-CHAIN
	innode iptables-legacy -w -t nat -A OTHER-CHAIN -j RETURN
	start_proxy
	create_service
	set_endpoints 4
	wait_until 30 answers
	wait_until 10 proxy_synced
	# the iptables mode re-executes itself at start, under its own name
	named_kube_proxy
	[ "$(legacy_kube_lines | wc -l)" -gt 30 ]
	stop_proxy

	MODE=nftables
	start_proxy
	wait_until 10 proxy_synced
	wait_until 10 answers
	named_kube_proxy
	run legacy_kube_lines
	[ -z "$output" ] || { echo "left behind: $output"; return 1; }
	grep -q "Removed the rules of the iptables proxy mode" "$TMP/proxy.log"
	innode iptables-legacy-save -t filter | grep -qx -- '-A INPUT -s 198.51.100.7/32 -j DROP'
	innode iptables-legacy-save -t nat | grep -qx -- '-A OTHER-CHAIN -j RETURN'
	stop_proxy

	MODE=iptables
	start_proxy
	wait_until 10 proxy_synced
	wait_until 10 answers
	proxy_table_gone
	grep -q "Removed the rules of the nftables proxy mode" "$TMP/proxy.log"
	# the legacy rules are back, and only once
	[ "$(innode iptables-legacy-save -t nat | grep -c -- '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')" = 1 ]
}

route_localnet() {
	innode cat /proc/sys/net/ipv4/conf/all/route_localnet
}

@test "lifecycle: --cleanup puts route_localnet back to what kube-proxy found, over a restart" {
	local rec
	rec=$(sysctl_record "$NODE")
	[ "$(route_localnet)" = 0 ]
	# node ports on 127.0.0.1 need route_localnet
	start_proxy --nodeport-addresses=192.168.77.0/24,127.0.0.0/8
	wait_until 10 proxy_synced
	[ "$(route_localnet)" = 1 ]
	[ -f "$rec" ]
	# a restart finds its own 1 and keeps the 0 found first
	kill -9 "$PROXY_PID"
	wait "$PROXY_PID" 2>/dev/null || true
	PROXY_PID=
	start_proxy --nodeport-addresses=192.168.77.0/24,127.0.0.0/8
	wait_until 10 proxy_synced
	stop_proxy
	innode "$MK_BIN/kube-proxy" --cleanup 2>"$TMP/cleanup.log"
	[ "$(route_localnet)" = 0 ]
	grep -q "Restored sysctl net/ipv4/conf/all/route_localnet to 0" "$TMP/cleanup.log"
	[ ! -e "$rec" ]

	# a value kube-proxy found in place is not kube-proxy's to change back
	innode sysctl -qw net.ipv4.conf.all.route_localnet=1
	start_proxy --nodeport-addresses=192.168.77.0/24,127.0.0.0/8
	wait_until 10 proxy_synced
	stop_proxy
	[ ! -e "$rec" ]
	innode "$MK_BIN/kube-proxy" --cleanup
	[ "$(route_localnet)" = 1 ]

}
