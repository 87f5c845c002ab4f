# Helpers for the CNI suites: every plugin runs inside a "host" network
# namespace made by the test (bridge, veths and netfilter rules live there)
# with its containers in further namespaces; teardown removes them all.

load lib/wait

REF_DIR=/usr/lib/cni
OUR_DIR=${MK_BIN:-$PWD/bin}/cni

cni_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	[ -x "$REF_DIR/bridge" ] || skip "reference plugins not installed in $REF_DIR"
	[ -x "$OUR_DIR/bridge" ] || skip "bin/cni not built"
	command -v jq >/dev/null || skip "jq missing"
	CNI_T=$(mktemp -d /tmp/cnitest.XXXXXX)
	SFX=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	: >"$CNI_T/netns"
}

cni_teardown() {
	[ -n "${CNI_T:-}" ] || return 0
	local ns
	while read -r ns; do
		ip netns del "$ns" 2>/dev/null || true
	done <"$CNI_T/netns"
	rm -rf "$CNI_T"
}

# mkns TAG: creates netns "cni<TAG>-<suffix>", records it, prints its name.
mkns() {
	local n="cni$1-$SFX"
	ip netns add "$n" || return 1
	echo "$n" >>"$CNI_T/netns"
	echo "$n"
}

impl_dir() {
	case $1 in
	ref) echo "$REF_DIR" ;;
	our) echo "$OUR_DIR" ;;
	*) echo "$1" ;; # a directory
	esac
}

# conf_for IMPL TEMPLATE: the netconf with @DD@ replaced by IMPL's data dir.
conf_for() {
	local t=$2
	echo "${t//@DD@/$CNI_T/dd-$1}"
}

# plug IMPL HOSTNS CMD PLUGIN ID NETNS CONF [VAR=VALUE...]
# Runs one plugin call in HOSTNS; NETNS is a netns name ("" for none).
plug() {
	local impl=$1 host=$2 cmd=$3 plugin=$4 id=$5 ns=$6 conf=$7
	shift 7
	local dir nspath=""
	dir=$(impl_dir "$impl")
	[ -n "$ns" ] && nspath=/var/run/netns/$ns
	printf '%s' "$conf" | ip netns exec "$host" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" \
		CNI_NETNS="$nspath" CNI_IFNAME="${IFN:-eth0}" CNI_PATH="$dir" "$@" "$dir/$plugin"
}

# Result with what must differ between runs masked: MACs, veth names, sandbox.
norm_result() {
	jq -S 'walk(if type == "object" and has("mac") then .mac = "MAC" else . end)
	  | if has("interfaces") then .interfaces |= map(
	      (if (.name | test("^veth[0-9a-f]{8}$")) then .name = "vethX" else . end)
	      | (if has("sandbox") then .sandbox = "NETNS" else . end)) else . end'
}

# What a plugin left in the host namespace and in the container namespace.
snap() {
	local host=$1 cns=$2
	echo "## host links"
	# a bridge's operstate trails its last port's removal: not compared
	ip -n "$host" -j -d link show | jq -c '.[] | {ifname: (if (.ifname | test("^veth")) then "vethX" else .ifname end),
	   kind: .linkinfo.info_kind, mtu, operstate: (if .linkinfo.info_kind == "bridge" then null else .operstate end),
	   flags: (.flags | map(select(. == "UP" or . == "PROMISC"))), master, promiscuity,
	   hairpin: .linkinfo.info_slave_data.hairpin}' | sort
	echo "## host addresses"
	ip -n "$host" -j addr show | jq -c '.[] | select(.ifname | test("^veth") | not)
	   | {ifname, addr: [.addr_info[] | select(.scope != "link") | {local, prefixlen}]}' | sort
	echo "## host sysctl"
	ip netns exec "$host" cat /proc/sys/net/ipv4/ip_forward
	echo "## nat (iptables-nft)"
	ip netns exec "$host" iptables-nft-save -t nat 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	echo "## nat6 (ip6tables-nft)"
	ip netns exec "$host" ip6tables-nft-save -t nat 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	echo "## nat (legacy)"
	ip netns exec "$host" iptables-legacy-save -t nat 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	if [ -n "$cns" ] && [ -e "/var/run/netns/$cns" ]; then
		echo "## container links"
		ip -n "$cns" -j -d link show | jq -c '.[] | {ifname, kind: .linkinfo.info_kind, mtu, operstate}' | sort
		echo "## container addresses"
		ip -n "$cns" -j addr show | jq -c '.[] | {ifname, addr: [.addr_info[] | select(.scope != "link") | {family, local, prefixlen, scope}]}' | sort
		echo "## container routes"
		ip -n "$cns" route show
		ip -n "$cns" -6 route show | awk '!/^(fe80|multicast|local|anycast)/'
		echo "## container sysctl"
		# (a key the container lacks is listed as missing, not skipped)
		ip netns exec "$cns" sh -c 'for f in /proc/sys/net/ipv4/conf/eth0/arp_notify /proc/sys/net/ipv6/conf/eth0/accept_dad; do
			if [ -e $f ]; then echo "$f=$(cat $f)"; else echo "$f missing"; fi; done'
	fi
}

# Files of a host-local data dir: name=content (shell-quoted, so CR LF shows
# as $'\r\n'), and modes.
store_dump() {
	local d=$1
	[ -d "$d" ] || return 0
	(cd "$d" && for f in $(find . -type f | sort); do
		printf '%s=%q %s\n' "$f" "$(cat "$f")" "$(stat -c %a "$f")"
	done)
}

# with_prev CONF RESULT: CONF with prevResult set.
with_prev() {
	jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"
}

# Error JSON reduced to code and msg.
err_of() {
	jq -c '{code, msg}' 2>/dev/null <<<"$1" || echo "not json: $1"
}

# prc CMD...: runs a plugin call, prints its output and " rc=N", never fails.
prc() {
	local rc=0
	"$@" || rc=$?
	echo " rc=$rc"
}

# ping from a netns with busybox (raw socket, we are root)
nsping() {
	ip netns exec "$1" busybox ping -c1 -W2 "$2" >/dev/null
}

# no_veth NETNS: true when NETNS holds no veth. A deleted namespace's veth
# ends disappear asynchronously (the kernel dismantles the namespace in a
# work queue), so checks after `ip netns del` poll this with wait_until.
no_veth() {
	ip -n "$1" link show type veth | grep -q . && return 1
	return 0
}

# master_of NETNS LINK: name of LINK's master in NETNS ("" when none).
master_of() {
	ip -n "$1" -j link show "$2" | jq -r '.[0].master // ""'
}
