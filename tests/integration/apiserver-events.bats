#!/usr/bin/env bats
# events.k8s.io/v1 beside core/v1: one stored Event seen through both APIs
# with upstream's field mapping, the new API's validation, series updates,
# and the aggregation of repeated events by our recorder (count and
# lastTimestamp), as kubectl get events and kubectl events show them.
# backends: sqlite etcd

load lib/apiserver

setup_file() {
	make -C "$MK_ROOT" -s build/libmk.a >&2
	local pkgs="jansson yaml-0.1 libcurl"
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 \
		-Wno-format-nonliteral -D_GNU_SOURCE -I"$MK_ROOT/lib" -I"$MK_ROOT" \
		$(pkg-config --cflags $pkgs) -O2 -g \
		-o "$BATS_FILE_TMPDIR/events-probe" "$MK_ROOT/tests/integration/events-probe.c" \
		"$MK_ROOT/build/libmk.a" $(pkg-config --libs $pkgs) -lpthread -lm -lresolv
	apiserver_start
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

teardown() {
	watch_stop_all
}

rand() {
	tr -dc 'a-z0-9' </dev/urandom | head -c 6
}

NEW=/apis/events.k8s.io/v1/namespaces/default/events
CORE=/api/v1/namespaces/default/events

post_new() { # JSON
	curl -s -X POST -H 'Content-Type: application/json' --data-binary "$1" "$MK_API_URL$NEW"
}

@test "events: one object through both APIs, converted as upstream" {
	e=e-$(rand)
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
	watch_start "$BATS_TEST_TMPDIR/w" "$MK_API_URL$NEW?watch=1"
	run post_new "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"$e\"},\"eventTime\":\"$now\",\"reportingController\":\"example.com/ctl\",\"reportingInstance\":\"ctl-1\",\"action\":\"Sync\",\"reason\":\"Synced\",\"note\":\"it synced\",\"type\":\"Normal\",\"regarding\":{\"kind\":\"Pod\",\"name\":\"p1\",\"namespace\":\"default\",\"apiVersion\":\"v1\"}}"
	[ "$(jq -r '"\(.apiVersion) \(.note) \(.regarding.name)"' <<<"$output")" = "events.k8s.io/v1 it synced p1" ]
	core=$(curl -fs "$MK_API_URL$CORE/$e")
	[ "$(jq -r '"\(.apiVersion) \(.message) \(.involvedObject.name) \(.reportingComponent) \(.reportingInstance) \(.action) \(.eventTime)"' <<<"$core")" = \
		"v1 it synced p1 example.com/ctl ctl-1 Sync $now" ]
	[ "$(jq -r 'has("note") or has("regarding")' <<<"$core")" = false ]
	# a core event reads through the new API with the deprecated fields
	c=c-$(rand)
	curl -fs -X POST -H 'Content-Type: application/json' "$MK_API_URL$CORE" --data-binary \
		"{\"metadata\":{\"name\":\"$c\"},\"involvedObject\":{\"kind\":\"Node\",\"name\":\"n1\"},\"reason\":\"Starting\",\"message\":\"kubelet started\",\"type\":\"Normal\",\"source\":{\"component\":\"kubelet\",\"host\":\"n1\"},\"count\":2,\"firstTimestamp\":\"2026-01-01T00:00:00Z\",\"lastTimestamp\":\"2026-01-01T00:01:00Z\"}" >/dev/null
	[ "$(curl -fs "$MK_API_URL$NEW/$c" | jq -r '"\(.note) \(.regarding.kind) \(.deprecatedSource.component) \(.deprecatedCount) \(.deprecatedFirstTimestamp) \(.deprecatedLastTimestamp) \(has("message"))"')" = \
		"kubelet started Node kubelet 2 2026-01-01T00:00:00Z 2026-01-01T00:01:00Z false" ]
	# lists and watches of the new API see the new form
	curl -fs "$MK_API_URL$NEW" | jq -e --arg e "$e" '.kind == "EventList" and .apiVersion == "events.k8s.io/v1" and any(.items[]; .metadata.name == $e and .note == "it synced")' >/dev/null
	wait_until 5 grep -q "\"name\":\"$c\".*\"note\":\"kubelet started\"" "$BATS_TEST_TMPDIR/w"
	grep "\"name\":\"$e\"" "$BATS_TEST_TMPDIR/w" | grep -q '"reportingController":"example.com/ctl"'
	# both kubectl commands show them
	run kubectl get events.events.k8s.io "$e"
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ Normal\ +Synced\ +pod/p1\ +it\ synced$ ]]
	run kubectl events
	[ "$status" -eq 0 ]
	[[ "$output" == *"Normal    Synced     Pod/p1    it synced"* ]] || [[ "$output" =~ Normal\ +Synced\ +Pod/p1\ +it\ synced ]]
}

@test "events: the new API validates creates as upstream" {
	run post_new '{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"bad"},"note":"x","type":"Bad","deprecatedCount":3}'
	[ "$(jq -r .code <<<"$output")" = 422 ]
	[ "$(jq -r .message <<<"$output")" = 'Event.events.k8s.io "bad" is invalid: [reportingController: Required value, reportingInstance: Required value, action: Required value, reason: Required value, eventTime: Required value, type: Invalid value: "": has invalid value: Bad, deprecatedCount: Invalid value: "": needs to be unset]' ]
	run post_new '{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"bad2"},"eventTime":"2026-01-01T00:00:00.000000Z","reportingController":"c","reportingInstance":"i","action":"A","reason":"R","type":"Normal","bogus":1}'
	# the default (Warn) drops the unknown field and says so
	[ "$(jq -r '"\(.kind) \(.metadata.name)"' <<<"$output")" = "Event bad2" ]
	[ "$(curl -fs "$MK_API_URL$CORE/bad2" | jq -r 'has("bogus")')" = false ]
	run curl -s -X POST -H 'Content-Type: application/json' "$MK_API_URL$NEW?fieldValidation=Strict" --data-binary '{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"bad3"},"bogus":1}'
	[ "$(jq -r .message <<<"$output")" = 'Event in version "v1" cannot be handled as a Event: strict decoding error: unknown field "bogus"' ]
}

@test "events: a series updated through the new API reads through both" {
	e=s-$(rand)
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
	post_new "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"$e\"},\"eventTime\":\"$now\",\"reportingController\":\"example.com/ctl\",\"reportingInstance\":\"ctl-1\",\"action\":\"Pull\",\"reason\":\"BackOff\",\"note\":\"back-off\",\"type\":\"Warning\",\"regarding\":{\"kind\":\"Pod\",\"name\":\"p2\",\"namespace\":\"default\",\"apiVersion\":\"v1\"}}" >/dev/null
	# as upstream's recorder does for an isomorphic event: a series, patched
	curl -fs -X PATCH -H 'Content-Type: application/merge-patch+json' "$MK_API_URL$NEW/$e" \
		--data-binary "{\"series\":{\"count\":4,\"lastObservedTime\":\"$now\"}}" >/dev/null
	[ "$(curl -fs "$MK_API_URL$CORE/$e" | jq -r '"\(.series.count) \(.series.lastObservedTime) \(.message)"')" = "4 $now back-off" ]
	run kubectl events --for pod/p2
	[ "$status" -eq 0 ]
	[[ "$output" =~ \(x4\ over\ [0-9]+s\)\ +Warning\ +BackOff\ +Pod/p2\ +back-off ]]
}

@test "events: our recorder aggregates a repeated event into count and lastTimestamp" {
	p=agg-$(rand)
	"$BATS_FILE_TMPDIR/events-probe" "$MK_API_URL" default "$p" "uid-$p" 3
	run curl -fs "$MK_API_URL$CORE?fieldSelector=involvedObject.name=$p"
	[ "$(jq '.items | length' <<<"$output")" = 1 ]
	[ "$(jq -r '.items[0] | "\(.count) \(.reason) \(.type) \(.source.component)"' <<<"$output")" = "3 BackOff Warning probe-controller" ]
	[ "$(jq -r '.items[0] | .lastTimestamp >= .firstTimestamp' <<<"$output")" = true ]
	name=$(jq -r '.items[0].metadata.name' <<<"$output")
	[ "$(curl -fs "$MK_API_URL$NEW/$name" | jq -r .deprecatedCount)" = 3 ]
	run kubectl events --for "pod/$p"
	[ "$status" -eq 0 ]
	[[ "$output" =~ \(x3\ over\ [0-9]+s\)\ +Warning\ +BackOff\ +Pod/$p\ +Back-off\ restarting\ failed\ container\ web ]]
}
