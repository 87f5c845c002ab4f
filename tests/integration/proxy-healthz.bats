#!/usr/bin/env bats
# kube-proxy's /healthz as upstream's: 503 once a change has waited 2
# sync-periods without being written, 200 while syncs keep up. The proxy
# runs in a network namespace of its own, against our API server there;
# "every sync fails" is a kube-proxy without its capabilities, which the
# kernel refuses every table to.

load lib/wait
load proxy-common

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	for b in kube-proxy kube-apiserver; do
		[ -x "$MK_BIN/$b" ] || skip "$b not built"
	done
	command -v setpriv >/dev/null || skip "setpriv missing"
	NODE=mkph-$(printf '%04x%04x' $RANDOM $RANDOM)
	TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-proxy-healthz.XXXXXX")
	PIDS=()
	ip netns add "$NODE"
	ip netns exec "$NODE" ip link set lo up
	API_PORT=$((20000 + RANDOM % 20000))
	HEALTHZ_PORT=$((40000 + RANDOM % 10000))
	ip netns exec "$NODE" "$MK_BIN/kube-apiserver" --insecure-port="$API_PORT" \
		--data-dir="$TMP/data" >"$TMP/apiserver.log" 2>&1 3>&- &
	PIDS+=($!)
	wait_until 10 ip netns exec "$NODE" curl -fs --max-time 2 "http://127.0.0.1:$API_PORT/healthz"
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${NODE:-}" ]; then
		# kube-proxy's rules live in the namespace and go with it
		forget_sysctls "$NODE"
		ip netns del "$NODE" 2>/dev/null || true
	fi
	[ -z "${TMP:-}" ] || rm -rf "$TMP"
}

# proxy [setpriv args...]: starts kube-proxy with a 2 s sync period.
proxy() {
	ip netns exec "$NODE" "$@" "$MK_BIN/kube-proxy" --master="http://127.0.0.1:$API_PORT" \
		--hostname-override=node1 --iptables-sync-period=2s --iptables-min-sync-period=0s \
		--healthz-bind-address="127.0.0.1:$HEALTHZ_PORT" --metrics-bind-address= -v=2 \
		>>"$TMP/proxy.log" 2>&1 3>&- &
	PIDS+=($!)
}

healthz() {
	ip netns exec "$NODE" curl -s --max-time 2 -w '\n%{http_code}' "http://127.0.0.1:$HEALTHZ_PORT/healthz"
}

code_is() {
	[ "$(healthz | tail -n1)" = "$1" ]
}

sync_failed() {
	grep -q "Failed to sync iptables rules" "$TMP/proxy.log"
}

failures_over() {
	[ "$(grep -c 'Failed to sync iptables rules' "$TMP/proxy.log")" -gt "$1" ]
}

full_syncs_at_least() {
	[ "$(grep -c 'iptables full sync done' "$TMP/proxy.log")" -ge "$1" ]
}

# Go's time.Time text: "2024-05-03 14:54:34.183464574 +0000 UTC m=+2391.545187587"
GO_TIME='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? \+0000 UTC m=\+[0-9]+\.[0-9]{9}'

@test "every sync failing: 200 at first, 503 once the initial lists wait 2 sync-periods" {
	local t0=$SECONDS
	proxy setpriv --bounding-set=-all --inh-caps=-all --ambient-caps=-all
	wait_until 10 sync_failed
	r=$(healthz)
	# failed, but the change is younger than the 4 s timeout
	if [ $((SECONDS - t0)) -lt 3 ]; then
		[ "$(tail -n1 <<<"$r")" = 200 ]
	fi
	[[ "$(sed '$d' <<<"$r" | jq -r .lastUpdated)" =~ ^$GO_TIME$ ]]
	wait_until 15 code_is 503
	# at least the health timeout (2 x 2 s) after the first failure
	[ $((SECONDS - t0)) -ge 3 ]
	r=$(healthz)
	local body
	body=$(sed '$d' <<<"$r")
	[[ "$(jq -r .currentTime <<<"$body")" =~ ^$GO_TIME$ ]]
	# lastUpdated: the proxy's start, never 1970, before the current time
	local lu cur
	lu=$(jq -r .lastUpdated <<<"$body")
	cur=$(jq -r .currentTime <<<"$body")
	[[ "$lu" =~ ^$GO_TIME$ ]]
	[[ "$lu" != 1970* ]]
	[[ "$lu" < "$cur" ]]
	[ "$(jq -r .nodeEligible <<<"$body")" = true ]
	# and it stays so while syncs keep failing
	local failures
	failures=$(grep -c "Failed to sync iptables rules" "$TMP/proxy.log")
	wait_until 10 failures_over "$failures"
	code_is 503
}

@test "syncs that succeed: 200, lastUpdated the current time" {
	proxy
	# three periodic full syncs: past the health timeout from the start
	wait_until 20 full_syncs_at_least 3
	r=$(healthz)
	[ "$(tail -n1 <<<"$r")" = 200 ]
	local body
	body=$(sed '$d' <<<"$r")
	[ "$(jq -r .lastUpdated <<<"$body")" = "$(jq -r .currentTime <<<"$body")" ]
	! sync_failed || false
}
