#!/usr/bin/env bats
# Compacted revisions: a watch from one gets an ERROR event with a 410 Expired
# Status; a continue token pinned to one is refused with 410.

load lib/apiserver

setup() {
	# no master lease rewritten in the background: with a compaction every
	# 300 ms a write between the list and the watch below would let the
	# compactor pass the revision the watch starts from
	MINK8S_COMPACT_INTERVAL_MS=300 apiserver_start --endpoint-reconciler-type=none
}

teardown() {
	watch_stop_all
	apiserver_stop
}

cm() {
	curl -s -X POST -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$1\"}}" \
		"$MK_API_URL/api/v1/namespaces/default/configmaps"
}

# compacted TOKEN: the continue token's revision and revision 2 are compacted
compacted() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' \
		"$MK_API_URL/api/v1/namespaces/default/configmaps?limit=1&continue=$1")" = 410 ] &&
		curl -s -N --max-time 2 "$MK_API_URL/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2" |
		head -n1 | grep -q '"type":"ERROR"'
}

@test "watch and continue from compacted revisions answer 410 Expired" {
	cm a >/dev/null
	cm b >/dev/null
	first=$(curl -s "$MK_API_URL/api/v1/namespaces/default/configmaps?limit=1")
	token=$(jq -r .metadata.continue <<<"$first")
	[ "$token" != null ]
	# Writes after the page, then wait for the compactor to pass them: both
	# the page's revision and revision 2 are gone.
	for i in 1 2 3 4 5; do cm "c$i" >/dev/null; done
	wait_until 20 compacted "$token"
	run curl -s -N --max-time 5 "$MK_API_URL/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2"
	[ "$(jq -r .type <<<"$output")" = ERROR ]
	[ "$(jq -r .object.code <<<"$output")" = 410 ]
	[ "$(jq -r .object.reason <<<"$output")" = Expired ]
	[[ "$(jq -r .object.message <<<"$output")" == "too old resource version: 2 ("*")" ]]
	run curl -s -w '\n%{http_code}' "$MK_API_URL/api/v1/namespaces/default/configmaps?limit=1&continue=$token"
	[ "$(tail -n1 <<<"$output")" = 410 ]
	[[ "$(sed '$d' <<<"$output" | jq -r .message)" == "The provided continue parameter is too old to display a consistent list result."* ]]
	# A watch from the current revision still works.
	rv=$(curl -s "$MK_API_URL/api/v1/namespaces/default/configmaps" | jq -r .metadata.resourceVersion)
	out=$MK_API_TMP/w
	watch_start "$out" "$MK_API_URL/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$rv"
	cm late >/dev/null
	wait_until 10 grep -q '"name":"late"' "$out"
	[ "$(jq -r .type "$out")" = ADDED ]
	[ "$(jq -r .object.metadata.name "$out")" = late ]
}
