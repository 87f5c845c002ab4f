#!/usr/bin/env bats
# kube-apiserver object semantics checked over plain HTTP: metadata, updates,
# patches, subresources, deletion, lists and watches.

load lib/apiserver

setup_file() {
	MINK8S_WATCH_BOOKMARK_SECONDS=1 apiserver_start
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

# api METHOD PATH [BODY [CONTENT-TYPE]]: body on stdout, then "\n<code>" on the last line.
api() {
	local method=$1 path=$2 body=${3:-} ctype=${4:-application/json}
	if [ -n "$body" ]; then
		curl -s -X "$method" -H "Content-Type: $ctype" --data-binary "$body" \
			-w '\n%{http_code}' "$MK_API_URL$path"
	else
		curl -s -X "$method" -w '\n%{http_code}' "$MK_API_URL$path"
	fi
}

code() { tail -n1 <<<"$1"; }
body() { sed '$d' <<<"$1"; }
field() { body "$1" | jq -r "$2"; }

pod_json() {
	echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\",\"labels\":{\"app\":\"${2:-x}\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}"
}

PODS=/api/v1/namespaces/default/pods

@test "create sets uid, creationTimestamp, resourceVersion, generation; generateName" {
	r=$(api POST $PODS "$(pod_json m-$(rand))")
	[ "$(code "$r")" = 201 ]
	[[ "$(field "$r" .metadata.uid)" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
	[[ "$(field "$r" .metadata.creationTimestamp)" =~ ^20[0-9-]+T[0-9:]+Z$ ]]
	[[ "$(field "$r" .metadata.resourceVersion)" =~ ^[0-9]+$ ]]
	[ "$(field "$r" .metadata.generation)" = 1 ]
	r=$(api POST $PODS '{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"gen-"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}')
	[ "$(code "$r")" = 201 ]
	[[ "$(field "$r" .metadata.name)" =~ ^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$ ]]
}

@test "YAML bodies are accepted; namespace mismatch is 400; missing namespace is 404" {
	n=y-$(rand)
	r=$(api POST /api/v1/namespaces/default/configmaps "$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: "1"\n' "$n")" application/yaml)
	[ "$(code "$r")" = 201 ]
	[ "$(field "$r" .data.k)" = 1 ]
	r=$(api POST /api/v1/namespaces/default/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"q","namespace":"other"}}')
	[ "$(code "$r")" = 400 ]
	[[ "$(field "$r" .message)" == "the namespace of the provided object does not match the namespace sent on the request" ]]
	r=$(api POST /api/v1/namespaces/nowhere/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"q"}}')
	[ "$(code "$r")" = 404 ]
	[ "$(field "$r" .message)" = 'namespaces "nowhere" not found' ]
}

@test "dryRun=All validates and answers but stores nothing" {
	n=dry-$(rand)
	r=$(api POST "$PODS?dryRun=All" "$(pod_json "$n")")
	[ "$(code "$r")" = 201 ]
	[ "$(field "$r" .metadata.name)" = "$n" ]
	r=$(api GET "$PODS/$n")
	[ "$(code "$r")" = 404 ]
}

@test "422 Invalid carries upstream's message and causes" {
	d=inv-$(rand)
	r=$(api POST /apis/apps/v1/namespaces/default/deployments "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"$d\"},\"spec\":{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .reason)" = Invalid ]
	[[ "$(field "$r" .message)" == "Deployment.apps \"$d\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0" ]]
	[ "$(field "$r" '.details.causes[0].field')" = spec.replicas ]
	r=$(api POST $PODS "$(pod_json Bad_Name)")
	[ "$(code "$r")" = 422 ]
	[[ "$(field "$r" .message)" == 'Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '* ]]
}

@test "generation moves on spec changes only; stale PUT is a Conflict" {
	d=g-$(rand)
	dep="{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"$d\"},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}"
	D=/apis/apps/v1/namespaces/default/deployments
	r=$(api POST $D "$dep")
	rv1=$(field "$r" .metadata.resourceVersion)
	r=$(api PATCH "$D/$d" '{"metadata":{"labels":{"l":"1"}}}' application/merge-patch+json)
	[ "$(code "$r")" = 200 ]
	[ "$(field "$r" .metadata.generation)" = 1 ]
	rv2=$(field "$r" .metadata.resourceVersion)
	[ "$rv2" -gt "$rv1" ]
	r=$(api PATCH "$D/$d" '{"spec":{"replicas":3}}' application/strategic-merge-patch+json)
	[ "$(field "$r" .metadata.generation)" = 2 ]
	# the same patch again changes nothing: no new resourceVersion
	rv3=$(field "$r" .metadata.resourceVersion)
	r=$(api PATCH "$D/$d" '{"spec":{"replicas":3}}' application/strategic-merge-patch+json)
	[ "$(field "$r" .metadata.resourceVersion)" = "$rv3" ]
	# a PUT with the first resourceVersion is stale
	stale=$(jq -c ".metadata.resourceVersion=\"$rv1\"" <<<"$dep")
	r=$(api PUT "$D/$d" "$stale")
	[ "$(code "$r")" = 409 ]
	[ "$(field "$r" .reason)" = Conflict ]
	[ "$(field "$r" .message)" = "Operation cannot be fulfilled on deployments.apps \"$d\": the object has been modified; please apply your changes to the latest version and try again" ]
	r=$(api PATCH "$D/$d" '[{"op":"replace","path":"/spec/replicas","value":5}]' application/json-patch+json)
	[ "$(code "$r")" = 200 ]
	[ "$(field "$r" .spec.replicas)" = 5 ]
	r=$(api PATCH "$D/$d" '[{"op":"test","path":"/spec/replicas","value":9}]' application/json-patch+json)
	[ "$(code "$r")" = 422 ]
	r=$(api GET "$D/$d/scale")
	[ "$(field "$r" .kind)" = Scale ]
	[ "$(field "$r" .spec.replicas)" = 5 ]
	[ "$(field "$r" .status.selector)" = "a=b" ]
	r=$(api PATCH "$D/$d" '{}' text/plain)
	[ "$(code "$r")" = 415 ]
}

@test "server-side apply creates then merges" {
	n=ssa-$(rand)
	P=/api/v1/namespaces/default/configmaps/$n
	r=$(api PATCH "$P?fieldManager=kubectl" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"},\"data\":{\"a\":\"1\"}}" application/apply-patch+yaml)
	[ "$(code "$r")" = 201 ]
	r=$(api PATCH "$P?fieldManager=kubectl" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"},\"data\":{\"b\":\"2\"}}" application/apply-patch+yaml)
	[ "$(code "$r")" = 200 ]
	[ "$(field "$r" .data.b)" = 2 ]
}

@test "status subresource: main updates keep status, status updates keep spec" {
	p=st-$(rand)
	api POST $PODS "$(pod_json "$p")" >/dev/null
	r=$(api PATCH "$PODS/$p/status" '{"status":{"phase":"Running"},"spec":{"nodeName":"sneaky"}}' application/merge-patch+json)
	[ "$(code "$r")" = 200 ]
	[ "$(field "$r" .status.phase)" = Running ]
	[ "$(field "$r" .spec.nodeName)" = null ]
	r=$(api PATCH "$PODS/$p" '{"status":{"phase":"Failed"},"metadata":{"labels":{"z":"1"}}}' application/merge-patch+json)
	[ "$(field "$r" .status.phase)" = Running ]
	[ "$(field "$r" .metadata.labels.z)" = 1 ]
}

@test "binding sets spec.nodeName once; bound pods are deleted gracefully" {
	p=b-$(rand)
	api POST $PODS "$(pod_json "$p")" >/dev/null
	r=$(api POST "$PODS/$p/binding" "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"$p\"},\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}")
	[ "$(code "$r")" = 201 ]
	r=$(api POST "$PODS/$p/binding" "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"$p\"},\"target\":{\"kind\":\"Node\",\"name\":\"n2\"}}")
	[ "$(code "$r")" = 409 ]
	[ "$(field "$r" .message)" = "Operation cannot be fulfilled on pods/binding \"$p\": pod $p is already assigned to node \"n1\"" ]
	r=$(api DELETE "$PODS/$p" '{"propagationPolicy":"Background"}')
	[ "$(code "$r")" = 200 ]
	[ "$(field "$r" .metadata.deletionGracePeriodSeconds)" = 30 ]
	[ "$(field "$r" .metadata.deletionTimestamp)" != null ]
	r=$(api GET "$PODS/$p")
	[ "$(code "$r")" = 200 ]
	r=$(api DELETE "$PODS/$p" '{"gracePeriodSeconds":0}')
	[ "$(code "$r")" = 200 ]
	r=$(api GET "$PODS/$p")
	[ "$(code "$r")" = 404 ]
}

@test "finalizers hold an object until the last one is removed; preconditions" {
	n=f-$(rand)
	C=/api/v1/namespaces/default/configmaps
	r=$(api POST $C "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\",\"finalizers\":[\"example.com/hold\"]}}")
	uid=$(field "$r" .metadata.uid)
	r=$(api DELETE "$C/$n" '{"preconditions":{"uid":"00000000-0000-0000-0000-000000000000"}}')
	[ "$(code "$r")" = 409 ]
	[[ "$(field "$r" .message)" == *"Precondition failed: UID in precondition: 00000000-0000-0000-0000-000000000000, UID in object meta: $uid"* ]]
	r=$(api DELETE "$C/$n" "{\"preconditions\":{\"uid\":\"$uid\"}}")
	[ "$(code "$r")" = 200 ]
	[ "$(field "$r" .metadata.deletionTimestamp)" != null ]
	[ "$(code "$(api GET "$C/$n")")" = 200 ]
	r=$(api PATCH "$C/$n" '{"metadata":{"finalizers":null}}' application/merge-patch+json)
	[ "$(code "$r")" = 200 ]
	[ "$(code "$(api GET "$C/$n")")" = 404 ]
}

@test "foreground deletion adds the foregroundDeletion finalizer" {
	n=fg-$(rand)
	C=/api/v1/namespaces/default/configmaps
	api POST $C "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"}}" >/dev/null
	r=$(api DELETE "$C/$n" '{"propagationPolicy":"Foreground"}')
	[ "$(field "$r" '.metadata.finalizers[0]')" = foregroundDeletion ]
	api PATCH "$C/$n" '{"metadata":{"finalizers":[]}}' application/merge-patch+json >/dev/null
	[ "$(code "$(api GET "$C/$n")")" = 404 ]
}

@test "namespaces: empty ones go at once, others become Terminating" {
	a=nsa-$(rand)
	b=nsb-$(rand)
	api POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$a\"}}" >/dev/null
	api POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$b\"}}" >/dev/null
	api POST "/api/v1/namespaces/$b/configmaps" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep"}}' >/dev/null
	r=$(api DELETE "/api/v1/namespaces/$a")
	[ "$(code "$r")" = 200 ]
	[ "$(code "$(api GET "/api/v1/namespaces/$a")")" = 404 ]
	r=$(api DELETE "/api/v1/namespaces/$b")
	[ "$(field "$r" .status.phase)" = Terminating ]
	r=$(api POST "/api/v1/namespaces/$b/configmaps" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"new"}}')
	[ "$(code "$r")" = 403 ]
	api DELETE "/api/v1/namespaces/$b/configmaps/keep" >/dev/null
	r=$(api DELETE "/api/v1/namespaces/$b")
	[ "$(code "$(api GET "/api/v1/namespaces/$b")")" = 404 ]
}

@test "lists: selectors, limit/continue, deletecollection" {
	ns=l-$(rand)
	api POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >/dev/null
	for i in 1 2 3 4 5; do
		api POST "/api/v1/namespaces/$ns/pods" "$(pod_json p$i $([ $i -le 3 ] && echo web || echo db))" >/dev/null
	done
	r=$(api GET "/api/v1/namespaces/$ns/pods?labelSelector=app%3Dweb")
	[ "$(field "$r" '.items|length')" = 3 ]
	r=$(api GET "/api/v1/namespaces/$ns/pods?labelSelector=app!%3Dweb")
	[ "$(field "$r" '[.items[].metadata.name]|join(",")')" = "p4,p5" ]
	r=$(api GET "/api/v1/namespaces/$ns/pods?fieldSelector=metadata.name%3Dp2")
	[ "$(field "$r" '[.items[].metadata.name]|join(",")')" = "p2" ]
	r=$(api GET "/api/v1/pods?fieldSelector=metadata.namespace%3D$ns&limit=2")
	[ "$(field "$r" '[.items[].metadata.name]|join(",")')" = "p1,p2" ]
	cont=$(field "$r" .metadata.continue)
	rv=$(field "$r" .metadata.resourceVersion)
	r=$(api GET "/api/v1/namespaces/$ns/pods?limit=2")
	[ "$(field "$r" .metadata.remainingItemCount)" = 3 ]
	cont=$(field "$r" .metadata.continue)
	r=$(api GET "/api/v1/namespaces/$ns/pods?limit=2&continue=$cont")
	[ "$(field "$r" '[.items[].metadata.name]|join(",")')" = "p3,p4" ]
	cont=$(field "$r" .metadata.continue)
	r=$(api GET "/api/v1/namespaces/$ns/pods?limit=2&continue=$cont")
	[ "$(field "$r" '[.items[].metadata.name]|join(",")')" = "p5" ]
	[ "$(field "$r" .metadata.continue)" = null ]
	r=$(api GET "/api/v1/namespaces/$ns/pods?labelSelector=a+in+%28b")
	[ "$(code "$r")" = 400 ]
	r=$(api DELETE "/api/v1/namespaces/$ns/pods?labelSelector=app%3Ddb")
	[ "$(code "$r")" = 200 ]
	r=$(api GET "/api/v1/namespaces/$ns/pods")
	[ "$(field "$r" '[.items[].metadata.name]|join(",")')" = "p1,p2,p3" ]
}

# events_are FILE TYPES: the watch stream in FILE holds events of these types
# ("ADDED MODIFIED "), in order
events_are() {
	[ "$(jq -r .type "$1" | tr '\n' ' ')" = "$2" ]
}

@test "watch: from a resourceVersion, synthetic ADDED without one, selector transitions" {
	ns=w-$(rand)
	api POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >/dev/null
	r=$(api POST "/api/v1/namespaces/$ns/pods" "$(pod_json a web)")
	rv=$(field "$r" .metadata.resourceVersion)
	out1=$MK_API_TMP/w1-$ns out2=$MK_API_TMP/w2-$ns out3=$MK_API_TMP/w3-$ns
	watch_start "$out1" "$MK_API_URL/api/v1/namespaces/$ns/pods?watch=1&resourceVersion=$rv"
	watch_start "$out2" "$MK_API_URL/api/v1/namespaces/$ns/pods?watch=true"
	watch_start "$out3" "$MK_API_URL/api/v1/namespaces/$ns/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=$rv"
	# the watch without a resourceVersion starts from the pod as it is now
	wait_until 10 events_are "$out2" "ADDED "
	api PATCH "/api/v1/namespaces/$ns/pods/a" '{"metadata":{"labels":{"app":"db"}}}' application/merge-patch+json >/dev/null
	api PATCH "/api/v1/namespaces/$ns/pods/a" '{"metadata":{"labels":{"app":"web"}}}' application/merge-patch+json >/dev/null
	api DELETE "/api/v1/namespaces/$ns/pods/a" >/dev/null
	wait_until 10 events_are "$out1" "MODIFIED MODIFIED DELETED "
	wait_until 10 events_are "$out2" "ADDED MODIFIED MODIFIED DELETED "
	wait_until 10 events_are "$out3" "DELETED ADDED DELETED "
	[ "$(jq -r '.object.metadata.name' "$out1" | sort -u)" = a ]
}

@test "watch: timeoutSeconds ends the stream, Table events when asked" {
	start=$(date +%s)
	run curl -s -N --max-time 10 "$MK_API_URL/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1&resourceVersion=1"
	[ "$status" -eq 0 ]
	[ $(($(date +%s) - start)) -le 4 ]
	p=t-$(rand)
	out=$MK_API_TMP/wt-$p
	rv=$(curl -s "$MK_API_URL$PODS" | jq -r .metadata.resourceVersion)
	watch_start "$out" "$MK_API_URL/api/v1/namespaces/default/pods?watch=1&resourceVersion=$rv&fieldSelector=metadata.name%3D$p" \
		-H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
	api POST $PODS "$(pod_json "$p")" >/dev/null
	wait_until 10 events_are "$out" "ADDED "
	[ "$(jq -r .type "$out")" = ADDED ]
	[ "$(jq -r .object.kind "$out")" = Table ]
	[ "$(jq -r '.object.rows[0].cells[0]' "$out")" = "$p" ]
}

# bookmarks FILE N: the stream in FILE holds at least N BOOKMARK events
bookmarks() {
	[ "$(grep -c '"type":"BOOKMARK"' "$1")" -ge "$2" ]
}

@test "watch: BOOKMARK events when allowed" {
	# the watch that does not ask for bookmarks opens first, so that two
	# bookmarks sent on the other one (every second here) mean a bookmark
	# tick passed while both were open
	out2=$MK_API_TMP/nobm-$(rand)
	watch_start "$out2" "$MK_API_URL/api/v1/namespaces/default/pods?watch=1&resourceVersion=1"
	out=$MK_API_TMP/bm-$(rand)
	watch_start "$out" "$MK_API_URL/api/v1/namespaces/default/pods?watch=1&allowWatchBookmarks=true&resourceVersion=1"
	wait_until 10 bookmarks "$out" 2
	[ "$(grep BOOKMARK "$out" | head -1 | jq -r .object.kind)" = Pod ]
	[[ "$(grep BOOKMARK "$out" | head -1 | jq -r .object.metadata.resourceVersion)" =~ ^[0-9]+$ ]]
	! grep -q BOOKMARK "$out2" || false
}

@test "malformed input never crashes the server and always gets a Status" {
	C=/api/v1/namespaces/default/configmaps
	n=g-$(rand)
	api POST $C "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"}}" >/dev/null
	python3 -c 'print("[" * 100000 + "]" * 100000)' >"$MK_API_TMP/deep"
	r=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @"$MK_API_TMP/deep" "$MK_API_URL$C")
	[ "$(code "$r")" = 400 ]
	for body in '[]' '"x"' '42' 'null' '{"metadata":7}' '{"metadata":{"name":7}}' \
		'{"kind":"Pod"}' '{"apiVersion":"v9"}' $'\xff\xfe{' '{"a":"\ud800"}'; do
		r=$(api POST $C "$body")
		[[ "$(code "$r")" =~ ^4[0-9][0-9]$ ]]
		[ "$(field "$r" .kind)" = Status ]
		r=$(api PUT "$C/$n" "$body")
		[[ "$(code "$r")" =~ ^4[0-9][0-9]$ ]]
		for t in application/merge-patch+json application/strategic-merge-patch+json application/json-patch+json application/apply-patch+yaml; do
			r=$(api PATCH "$C/$n" "$body" "$t")
			[[ "$(code "$r")" =~ ^[24][0-9][0-9]$ ]]
		done
		r=$(api DELETE "$C/nope-$n" "$body")
		[[ "$(code "$r")" =~ ^4[0-9][0-9]$ ]]
	done
	printf 'k8s\0\x0a\xff\xff\xff\xff\x0f' >"$MK_API_TMP/pb"
	r=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary @"$MK_API_TMP/pb" "$MK_API_URL$C")
	[ "$(code "$r")" = 400 ]
	r=$(api POST $C $'a: [\n  - b\n c: {' application/yaml)
	[ "$(code "$r")" = 400 ]
	r=$(api PATCH "$C/$n" '[{"op":"move","from":"/nope","path":"/x"}]' application/json-patch+json)
	[ "$(code "$r")" = 422 ]
	for path in '//api//v1' '/api/v1/namespaces//pods' '/api/v1/namespaces/default/pods/a/b/c/d' \
		'/apis/apps' '/apis/nope/v1/x' '/api/v2/pods' "/api/v1/$(head -c 5000 /dev/zero | tr '\0' a)" \
		'/api/v1/namespaces/default/pods?limit=abc&continue=%%%' '/api/v1/pods?continue=bm90LWpzb24'; do
		r=$(api GET "$path")
		[[ "$(code "$r")" =~ ^[24][0-9][0-9]$ ]]
	done
	r=$(curl -s -w '\n%{http_code}' -X OPTIONS "$MK_API_URL$C")
	[ "$(code "$r")" = 405 ]
	r=$(curl -s -w '\n%{http_code}' -X POST "$MK_API_URL/healthz")
	[ "$(code "$r")" = 405 ]
	[ "$(curl -s "$MK_API_URL/healthz")" = ok ]
}
