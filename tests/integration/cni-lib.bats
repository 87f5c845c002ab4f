#!/usr/bin/env bats
# lib/cni, the runtime side of CNI, driven as a runtime drives it
# (tests/integration/cni-lib-driver.c) against our plugins (bin/cni) and the
# reference plugins (/usr/lib/cni), and against small plugins written here
# that record what they receive or misbehave on purpose.

load cni-helpers

setup_file() {
	# Built like the Makefile builds test programs, against the repo's libmk.a.
	make -C "$MK_ROOT" -s build/libmk.a >&2
	local pkgs="jansson"
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 \
		-Wno-format-nonliteral -D_GNU_SOURCE -I"$MK_ROOT/lib" -I"$MK_ROOT" \
		$(pkg-config --cflags $pkgs) -O2 -g \
		-o "$BATS_FILE_TMPDIR/cni-lib-driver" "$MK_ROOT/tests/integration/cni-lib-driver.c" \
		"$MK_ROOT/build/libmk.a" $(pkg-config --libs $pkgs) -lpthread -lm -lresolv
}

setup() {
	DRIVER="$BATS_FILE_TMPDIR/cni-lib-driver"
	[ -x "$DRIVER" ] || skip "the driver did not build"
	T=$(mktemp -d /tmp/cnilib.XXXXXX)
	mkdir -p "$T/bin"
}

teardown() {
	cni_teardown
	[ -n "${T:-}" ] && rm -rf "$T"
	return 0
}

# needs_root: the tests that make network namespaces.
needs_root() {
	cni_setup
}

drive() {
	"$DRIVER" "$@"
}

# A plugin that records each call: its stdin to $T/rec/<type>.<CMD>.json, its
# exact environment (as exec'd, from /proc) to $T/rec/<type>.<CMD>.env and a
# line "<type> <CMD>" to $T/rec/log. ADD prints prevResult, or for the first
# plugin a result with an empty cniVersion (the runtime fills it in).
make_recorder() {
	mkdir -p "$T/rec"
	cat >"$T/bin/rec1" <<EOF
#!/bin/sh
t=\$(basename "\$0")
cat >"$T/rec/\$t.\$CNI_COMMAND.json"
tr '\\0' '\\n' </proc/\$\$/environ | sort >"$T/rec/\$t.\$CNI_COMMAND.env"
echo "\$t \$CNI_COMMAND" >>"$T/rec/log"
[ "\$CNI_COMMAND" = ADD ] || exit 0
jq -c '.prevResult // {"cniVersion":"","ips":[{"address":"10.70.0.5/24","gateway":"10.70.0.1"}]} | .ips[0].gateway = "by-'\$t'"' "$T/rec/\$t.\$CNI_COMMAND.json"
EOF
	chmod +x "$T/bin/rec1"
	ln -s rec1 "$T/bin/rec2"
}

@test "lib/cni: ADD in order, DEL in reverse, name/cniVersion/runtimeConfig/prevResult injected, explicit environment" {
	make_recorder
	cat >"$T/net.conflist" <<'EOF'
{"cniVersion":"1.0.0","name":"recnet","plugins":[
 {"type":"rec1","cniVersion":"0.3.1","name":"ignored","capabilities":{"portMappings":true,"ipRanges":false,"bandwidth":true}},
 {"type":"rec2","runtimeConfig":{"kept":1}}]}
EOF
	run drive --conf "$T/net.conflist" --bin /nonexistent --bin "$T/bin" --cache "$T/cache" \
		--netns /var/run/netns/nowhere --id rec-1 --arg IgnoreUnknown=1 --arg K8S_POD_NAME=web-0 \
		--cap '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"ipRanges":[[{"subnet":"10.9.0.0/24"}]]}' \
		--env PATH="$PATH" --env CNI_COMMAND=BOGUS --env KEEP=me add
	echo "$output"
	[ "$status" -eq 0 ]
	local res
	res=$(head -1 <<<"$output" | jq -c .result)
	# the first plugin's empty cniVersion became the list's; the second passed it on
	[ "$res" = '{"cniVersion":"1.0.0","ips":[{"address":"10.70.0.5/24","gateway":"by-rec2"}]}' ]
	[ "$(head -1 <<<"$output" | jq -r .pod_ip)" = 10.70.0.5 ]
	[ "$(tail -1 <<<"$output")" = '{"unreaped":0}' ]
	# what rec1 got: name and cniVersion of the list, the capabilities it declares true
	jq -e '.name == "recnet" and .cniVersion == "1.0.0" and (has("prevResult") | not)
		and .runtimeConfig == {"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}' "$T/rec/rec1.ADD.json"
	# rec2 declares nothing: its own runtimeConfig stays, prevResult is rec1's result
	jq -e '.runtimeConfig == {"kept":1} and .prevResult.ips[0].gateway == "by-rec1"
		and .prevResult.cniVersion == "1.0.0"' "$T/rec/rec2.ADD.json"
	# the environment is exactly the base one with the call's CNI variables
	diff -u - "$T/rec/rec1.ADD.env" <<EOF
CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=web-0
CNI_COMMAND=ADD
CNI_CONTAINERID=rec-1
CNI_IFNAME=eth0
CNI_NETNS=/var/run/netns/nowhere
CNI_PATH=/nonexistent:$T/bin
KEEP=me
PATH=$PATH
EOF
	run drive --conf "$T/net.conflist" --bin "$T/bin" --cache "$T/cache" --netns /var/run/netns/nowhere \
		--id rec-1 check
	[ "$status" -eq 0 ]
	run drive --conf "$T/net.conflist" --bin "$T/bin" --cache "$T/cache" --id rec-1 del
	[ "$status" -eq 0 ]
	# DEL in reverse; CHECK and DEL get the cached final result
	[ "$(cat "$T/rec/log")" = "$(printf 'rec1 ADD\nrec2 ADD\nrec1 CHECK\nrec2 CHECK\nrec2 DEL\nrec1 DEL')" ]
	for f in rec1.CHECK rec2.CHECK rec1.DEL rec2.DEL; do
		[ "$(jq -c .prevResult "$T/rec/$f.json")" = "$res" ]
	done
	grep -qx CNI_NETNS= "$T/rec/rec1.DEL.env"
	[ ! -e "$T/cache/results/recnet-rec-1-eth0" ]
	# a second DEL finds no cache entry: no prevResult, still fine
	run drive --conf "$T/net.conflist" --bin "$T/bin" --cache "$T/cache" --id rec-1 del
	[ "$status" -eq 0 ]
	jq -e 'has("prevResult") | not' "$T/rec/rec1.DEL.json"
}

@test "lib/cni: a failing plugin's code and message, a missing plugin, output that is not JSON" {
	cat >"$T/bin/fail" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "about to fail" >&2
echo '{"code":7,"msg":"bad thing","details":"the subnet"}'
exit 1
EOF
	cat >"$T/bin/quiet" <<'EOF'
#!/bin/sh
echo 'oops: "x"' >&2
exit 3
EOF
	cat >"$T/bin/garbage" <<'EOF'
#!/bin/sh
echo 'this is not json'
EOF
	chmod +x "$T/bin/"*
	for p in fail quiet garbage nope; do
		printf '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"%s"}]}' "$p" >"$T/$p.conflist"
	done
	run drive --conf "$T/fail.conflist" --bin "$T/bin" --cache "$T/cache" --id c1 add
	[ "$status" -eq 1 ]
	[ "$(head -1 <<<"$output" | jq -c '{error, cni_code}')" = '{"error":"plugin type=\"fail\" failed (add): bad thing; the subnet","cni_code":7}' ]
	[ ! -e "$T/cache/results/n-c1-eth0" ]
	run drive --conf "$T/quiet.conflist" --bin "$T/bin" --cache "$T/cache" --id c1 del
	[ "$status" -eq 1 ]
	[ "$(head -1 <<<"$output" | jq -c '{error, cni_code}')" = '{"error":"plugin type=\"quiet\" failed (delete): netplugin failed: \"oops: \\\"x\\\"\\n\": exit status 3","cni_code":0}' ]
	run drive --conf "$T/garbage.conflist" --bin "$T/bin" --cache "$T/cache" --id c1 add
	[ "$status" -eq 1 ]
	[[ "$(head -1 <<<"$output" | jq -r .error)" == 'plugin type="garbage" failed (add): failed to decode result: '* ]]
	# a DEL's output is not read, as libcni does not read it
	run drive --conf "$T/garbage.conflist" --bin "$T/bin" --cache "$T/cache" --id c1 del
	[ "$status" -eq 0 ]
	run drive --conf "$T/nope.conflist" --bin "$T/bin" --bin /usr/lib/cni --id c1 add
	[ "$status" -eq 1 ]
	[ "$(head -1 <<<"$output" | jq -r .error)" = "plugin type=\"nope\" failed (add): failed to find plugin \"nope\" in path [$T/bin /usr/lib/cni]" ]
	# the spec's checks come first, with the spec's codes
	run drive --conf "$T/fail.conflist" --bin "$T/bin" --id 'bad/id' add
	[ "$(head -1 <<<"$output" | jq -c '{error, cni_code}')" = '{"error":"invalid characters in containerID; bad/id","cni_code":4}' ]
	run drive --conf "$T/fail.conflist" --bin "$T/bin" --id ok --ifname 'this-is-too-long0' add
	[ "$(head -1 <<<"$output" | jq -r .cni_code)" = 4 ]
}

@test "lib/cni: a plugin past its deadline is killed with its children and reaped" {
	cat >"$T/bin/slow" <<EOF
#!/bin/sh
cat >/dev/null
echo \$\$ >"$T/slow.pid"
sleep 60 &
echo \$! >"$T/sleep.pid"
echo "still working" >&2
wait
EOF
	chmod +x "$T/bin/slow"
	echo '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"slow"}]}' >"$T/slow.conflist"
	local t0 t1
	t0=${EPOCHREALTIME/./}
	run drive --conf "$T/slow.conflist" --bin "$T/bin" --cache "$T/cache" --id c1 --timeout 500 add
	t1=${EPOCHREALTIME/./}
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$(head -1 <<<"$output" | jq -r .error)" = 'plugin type="slow" failed (add): netplugin timed out after 500 ms: "still working\n"' ]
	[ "$(head -1 <<<"$output" | jq -r .code)" = 11 ] # MK_ETIMEOUT
	[ "$(tail -1 <<<"$output")" = '{"unreaped":0}' ]
	# well before the sleep would have ended
	[ $((t1 - t0)) -lt 10000000 ]
	# the plugin and the child it started are gone (its whole process group was killed)
	local pid
	for pid in "$(cat "$T/slow.pid")" "$(cat "$T/sleep.pid")"; do
		wait_until 5 sh -c "! kill -0 $pid 2>/dev/null"
	done
}

@test "lib/cni: a plugin that exits without reading a large config does not end the caller (SIGPIPE), from 8 threads" {
	cat >"$T/bin/deaf" <<'EOF'
#!/bin/sh
exit 0
EOF
	chmod +x "$T/bin/deaf"
	# 4 MiB of configuration: far more than a pipe holds
	head -c 3145728 /dev/zero | base64 -w0 | jq -Rc '{cniVersion:"1.0.0",name:"n",plugins:[{type:"deaf",pad:.}]}' >"$T/big.conflist"
	[ "$(stat -c %s "$T/big.conflist")" -gt 4000000 ]
	run drive --conf "$T/big.conflist" --bin "$T/bin" --cache "$T/cache" --id 'c%d' --threads 8 del
	echo "${output:0:2000}"
	# an exit by SIGPIPE would be status 141
	[ "$status" -eq 0 ]
	[ "$(grep -c '"rc":0' <<<"$output")" -eq 8 ]
	[ "$(tail -1 <<<"$output")" = '{"unreaped":0}' ]
	# ADD wants a result: none is an error, still no signal
	run drive --conf "$T/big.conflist" --bin "$T/bin" --cache "$T/cache" --id 'c%d' --threads 8 add
	[ "$status" -eq 1 ]
	[ "$(grep -c 'failed to decode result' <<<"$output")" -eq 8 ]
}

@test "lib/cni: STATUS of a 1.1.0 list reports our host-local's full range with code 50" {
	printf '{"cniVersion":"1.1.0","name":"st","plugins":[{"type":"host-local","ranges":[[{"subnet":"10.71.0.0/30"}]],"dataDir":"%s"}]}' "$T/dd" \
		| jq -c '.plugins[0] |= {type, ipam: {type: "host-local", ranges, dataDir}}' >"$T/st.conflist"
	run drive --conf "$T/st.conflist" --bin "$OUR_DIR" --cache "$T/cache" status
	[ "$status" -eq 0 ]
	run drive --conf "$T/st.conflist" --bin "$OUR_DIR" --cache "$T/cache" --netns /x --id s1 add
	[ "$status" -eq 0 ]
	[ "$(head -1 <<<"$output" | jq -r .result.ips[0].address)" = 10.71.0.2/30 ]
	# an IPAM result names no sandbox interface: its address is the pod's
	[ "$(head -1 <<<"$output" | jq -r .pod_ip)" = 10.71.0.2 ]
	run drive --conf "$T/st.conflist" --bin "$OUR_DIR" --cache "$T/cache" status
	[ "$status" -eq 1 ]
	[ "$(head -1 <<<"$output" | jq -c '{error, cni_code}')" = '{"error":"plugin type=\"host-local\" failed (status): no IP addresses available in any range set","cni_code":50}' ]
	run drive --conf "$T/st.conflist" --bin "$OUR_DIR" --cache "$T/cache" --id s1 del
	[ "$status" -eq 0 ]
	run drive --conf "$T/st.conflist" --bin "$OUR_DIR" --cache "$T/cache" status
	[ "$status" -eq 0 ]
}

# bridge + portmap: the list a node runs, with the capability a runtime passes.
pod_list() {
	cat <<EOF
{"cniVersion":"1.0.0","name":"libnet","plugins":[
 {"type":"bridge","bridge":"cnl0","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","dataDir":"$1","ranges":[[{"subnet":"10.72.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}
EOF
}

bins_of() {
	case $1 in
	our) echo "--bin $OUR_DIR --bin $REF_DIR" ;; # our bridge and host-local, the reference portmap
	ref) echo "--bin $REF_DIR" ;;
	esac
}

@test "lib/cni: bridge + portmap with our plugins and with the reference: result, cache file as libcni writes it, CHECK, clean DEL" {
	needs_root
	[ -x "$REF_DIR/portmap" ] || skip "no portmap in $REF_DIR"
	local impl h c out cf
	# DEL gets the capability arguments again, as from a runtime (portmap needs them)
	local CAP='{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}'
	for impl in our ref; do
		h=$(mkns "lh$impl")
		c=$(mkns "lc$impl")
		pod_list "$T/dd-$impl" >"$T/$impl.conflist"
		# shellcheck disable=SC2046
		run ip netns exec "$h" "$DRIVER" --conf "$T/$impl.conflist" $(bins_of $impl) --cache "$T/cache-$impl" \
			--netns "/var/run/netns/$c" --id "lib-$SFX" --arg IgnoreUnknown=1 --arg K8S_POD_NAME=web-0 \
			--cap "$CAP" add
		echo "$impl: $output"
		[ "$status" -eq 0 ]
		out=$(head -1 <<<"$output" | jq -c .result)
		echo "$out" | norm_result >"$T/$impl.result"
		[ "$(head -1 <<<"$output" | jq -r .pod_ip)" = 10.72.0.2 ]
		# portmap got the mapping through runtimeConfig and the address through prevResult
		ip netns exec "$h" iptables-nft-save -t nat | grep -- '--dport 18080' | grep -q 'CNI-DN-'
		ip netns exec "$h" iptables-nft-save -t nat | grep -q -- '-j DNAT --to-destination 10.72.0.2:80'
		# the cache entry, field by field as libcni writes it
		cf="$T/cache-$impl/results/libnet-lib-$SFX-eth0"
		[ "$(stat -c %a "$cf")" = 600 ]
		[ "$(stat -c %a "$T/cache-$impl/results")" = 700 ]
		[ "$(jq -r 'keys_unsorted | join(",")' "$cf")" = kind,containerId,config,ifName,networkName,netns,cniArgs,capabilityArgs,result ]
		[ "$(jq -r .kind "$cf")" = cniCacheV1 ]
		[ "$(jq -r .containerId "$cf")" = "lib-$SFX" ]
		[ "$(jq -r .config "$cf" | base64 -d)" = "$(cat "$T/$impl.conflist")" ]
		[ "$(jq -r .ifName "$cf")/$(jq -r .networkName "$cf")/$(jq -r .netns "$cf")" = "eth0/libnet//var/run/netns/$c" ]
		[ "$(jq -c .cniArgs "$cf")" = '[["IgnoreUnknown","1"],["K8S_POD_NAME","web-0"]]' ]
		[ "$(jq -c .capabilityArgs "$cf")" = '{"portMappings":[{"containerPort":80,"hostPort":18080,"protocol":"tcp"}]}' ]
		[ "$(jq -S -c .result "$cf")" = "$(jq -S -c . <<<"$out")" ]
		# shellcheck disable=SC2046
		run ip netns exec "$h" "$DRIVER" --conf "$T/$impl.conflist" $(bins_of $impl) --cache "$T/cache-$impl" \
			--netns "/var/run/netns/$c" --id "lib-$SFX" --cap "$CAP" check
		echo "$impl check: $output"
		# our bridge's CHECK passes; the reference portmap (1.1.1) then fails
		# on an IPv4-only pod by looking for an IPv6 chain, whoever the bridge is
		[ "$status" -eq 1 ]
		head -1 <<<"$output" | jq -r .error >"$T/$impl.check"
		grep -q '^plugin type="portmap" failed (check): could not check ipv6 dnat: chain CNI-DN-' "$T/$impl.check"
		for i in 1 2; do
			# shellcheck disable=SC2046
			run ip netns exec "$h" "$DRIVER" --conf "$T/$impl.conflist" $(bins_of $impl) --cache "$T/cache-$impl" \
				--netns "/var/run/netns/$c" --id "lib-$SFX" --cap "$CAP" del
			echo "$impl del $i: $output"
			[ "$status" -eq 0 ]
		done
		[ ! -e "$cf" ]
		! ip -n "$c" link show eth0 2>/dev/null || false
		[ "$(ip -n "$h" -j link show type veth | jq length)" -eq 0 ]
		! ip netns exec "$h" iptables-nft-save -t nat | grep -q -- '18080\|CNI-DN-\|^:CNI-[0-9a-f]' || false
		[ -z "$(ls "$T/dd-$impl/libnet" | grep -v 'lock\|last_reserved')" ]
	done
	diff -u "$T/ref.result" "$T/our.result"
	diff -u "$T/ref.check" "$T/our.check"
}

@test "lib/cni: 8 threads ADD then DEL at once, through our plugins and through the reference" {
	needs_root
	local impl h i
	for impl in our ref; do
		h=$(mkns "lp$impl")
		for i in $(seq 0 7); do mkns "lp$impl$i" >/dev/null; done
		pod_list "$T/dd-$impl" | jq -c 'del(.plugins[1])' >"$T/$impl.conflist"
		# shellcheck disable=SC2046
		run ip netns exec "$h" "$DRIVER" --conf "$T/$impl.conflist" $(bins_of $impl) --cache "$T/cache-$impl" \
			--netns "/var/run/netns/cnilp$impl%d-$SFX" --id "par-%d-$SFX" --threads 8 add
		echo "$impl: $output"
		[ "$status" -eq 0 ]
		[ "$(grep -c '"rc":0' <<<"$output")" -eq 8 ]
		[ "$(grep -o '"pod_ip":"[^"]*"' <<<"$output" | sort -u | wc -l)" -eq 8 ]
		[ "$(tail -1 <<<"$output")" = '{"unreaped":0}' ]
		[ "$(ls "$T/cache-$impl/results" | wc -l)" -eq 8 ]
		[ "$(ip -n "$h" -j link show type veth | jq '[.[] | select(.master == "cnl0")] | length')" -eq 8 ]
		# shellcheck disable=SC2046
		run ip netns exec "$h" "$DRIVER" --conf "$T/$impl.conflist" $(bins_of $impl) --cache "$T/cache-$impl" \
			--netns "/var/run/netns/cnilp$impl%d-$SFX" --id "par-%d-$SFX" --threads 8 check
		echo "$impl check: $output"
		[ "$status" -eq 0 ]
		# shellcheck disable=SC2046
		run ip netns exec "$h" "$DRIVER" --conf "$T/$impl.conflist" $(bins_of $impl) --cache "$T/cache-$impl" \
			--netns "/var/run/netns/cnilp$impl%d-$SFX" --id "par-%d-$SFX" --threads 8 del
		echo "$impl del: $output"
		[ "$status" -eq 0 ]
		[ "$(ls "$T/cache-$impl/results" | wc -l)" -eq 0 ]
		[ "$(ip -n "$h" -j link show type veth | jq length)" -eq 0 ]
		[ -z "$(ls "$T/dd-$impl/libnet" | grep -v 'lock\|last_reserved')" ]
		! ip netns exec "$h" iptables-nft-save -t nat | grep -q '^:CNI-[0-9a-f]' || false
	done
}
