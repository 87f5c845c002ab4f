#!/usr/bin/env bats
# Bad input to kube-apiserver gets upstream's answer and reaches nothing:
# bodies whose fields have the wrong JSON type, invalid labels, bad query
# parameters, YAML alias bombs, NUL bytes in paths, the namespaces that may
# not be deleted, and clients that stop half-way through a request.

load lib/apiserver
load lib/wait

setup_file() {
	# stalled connections are cut after 2 s instead of 90, for the test
	# of half-sent requests
	MINK8S_IDLE_TIMEOUT_SECONDS=2 apiserver_start
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

setup() {
	CLIENT_PIDS=()
}

teardown() {
	local p
	for p in "${CLIENT_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
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

CMS=/api/v1/namespaces/default/configmaps
DEPLOYS=/apis/apps/v1/namespaces/default/deployments

deployment() { # name replicas-json
	echo "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"$1\"},\"spec\":{\"replicas\":$2,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}"
}

@test "fields of the wrong JSON type: 400 with upstream's decoder message, nothing stored" {
	local d=typ-$(rand)
	r=$(api POST $DEPLOYS "$(deployment "$d" '"abc"')")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$r" .reason)" = BadRequest ]
	[ "$(field "$r" .message)" = 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32' ]
	[ "$(code "$(api GET "$DEPLOYS/$d")")" = 404 ]

	r=$(api POST $CMS "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$d\",\"labels\":{\"a\":1}}}")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$r" .message)" = 'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string' ]
	[ "$(code "$(api GET "$CMS/$d")")" = 404 ]

	r=$(api POST /api/v1/namespaces/default/pods "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$d\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"resources\":{\"limits\":{\"cpu\":\"abc\"}}}]}}")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$r" .message)" = "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)\$'" ]
	[ "$(code "$(api GET "/api/v1/namespaces/default/pods/$d")")" = 404 ]

	# the same through a template and through a number out of int32's range
	r=$(api POST $DEPLOYS "$(deployment "$d" 3000000000)")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$r" .message)" = 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32' ]

	# kubectl, reading what it gets back, says what upstream's would
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  labels:\n    a: 1\n' "$d" >"$BATS_TEST_TMPDIR/cm.yaml"
	run kubectl create -f "$BATS_TEST_TMPDIR/cm.yaml" --validate=false
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"* ]]
}

@test "a patch that gives a field the wrong type is refused and changes nothing" {
	local d=pat-$(rand)
	r=$(api POST $DEPLOYS "$(deployment "$d" 2)")
	[ "$(code "$r")" = 201 ]
	r=$(api PATCH "$DEPLOYS/$d" '{"spec":{"replicas":"abc"}}' application/merge-patch+json)
	[ "$(code "$r")" = 422 ]
	[[ "$(field "$r" .message)" == ' "" is invalid: patch: Invalid value: "{'*'": json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32' ]]
	[ "$(field "$(api GET "$DEPLOYS/$d")" .spec.replicas)" = 2 ]
	# kubectl describe still reads it
	run kubectl describe deployment "$d"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Replicas:"*"2 desired"* ]]
}

@test "invalid label keys and values, annotation keys: 422 with upstream's metadata messages" {
	local n=lab-$(rand)
	r=$(api POST $CMS "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\",\"labels\":{\"a b\":\"ok\"}}}")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .message)" = "ConfigMap \"$n\" is invalid: metadata.labels: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')" ]
	[ "$(field "$r" '.details.causes[0].field')" = metadata.labels ]
	r=$(api POST $CMS "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\",\"labels\":{\"ok\":\"x y\"}}}")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .message)" = "ConfigMap \"$n\" is invalid: metadata.labels: Invalid value: \"x y\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')" ]
	r=$(api POST $CMS "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\",\"annotations\":{\"-x\":\"1\"}}}")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" '.details.causes[0].field')" = metadata.annotations ]
	[[ "$(field "$r" .message)" == "ConfigMap \"$n\" is invalid: metadata.annotations: Invalid value: \"-x\": name part must consist of"* ]]
	# annotation keys are checked in any case; upper case is fine there
	r=$(api POST $CMS "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\",\"annotations\":{\"Example.COM/Key\":\"1\"}}}")
	[ "$(code "$r")" = 201 ]
	# the labels of a pod template too
	r=$(api POST $DEPLOYS "$(deployment "tpl-$n" 1 | jq -c '.spec.template.metadata.labels["b c"]="x"')")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" '.details.causes[0].field')" = spec.template.metadata.labels ]
}

@test "bad selectors and query parameters: 400 with upstream's text" {
	r=$(api GET "/api/v1/namespaces/default/pods?labelSelector=a%3D%FF")
	[ "$(code "$r")" = 400 ]
	[[ "$(field "$r" .message)" == 'unable to parse requirement: values[0][a]: Invalid value: "\xff": a valid label must be'* ]]
	r=$(api GET "$CMS?resourceVersion=abc")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$r" .message)" = 'invalid resource version: resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax' ]
	r=$(api GET "$CMS?watch=1&resourceVersion=-1")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$r" .message)" = 'invalid resource version: resourceVersion: Invalid value: "-1": strconv.ParseUint: parsing "-1": invalid syntax' ]
	r=$(api GET "$CMS?limit=abc")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$r" .message)" = 'strconv.ParseInt: parsing "abc": invalid syntax' ]
	r=$(api GET "$CMS?watch=1&timeoutSeconds=99999999999999999999")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$r" .message)" = 'strconv.ParseInt: parsing "99999999999999999999": value out of range' ]
	# as upstream's storage, a limit of 0 or less is no limit
	api POST $CMS '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"lim-"}}' >/dev/null
	api POST $CMS '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"lim-"}}' >/dev/null
	r=$(api GET "$CMS?limit=-1")
	[ "$(code "$r")" = 200 ]
	[ "$(field "$r" '.items | length')" -ge 2 ]
	[ "$(field "$r" .metadata.continue)" = null ]
}

@test "dryRun other than All: 422 for every write, and nothing is written" {
	local n=dry-$(rand)
	r=$(api POST "$CMS?dryRun=garbage" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"}}")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .message)" = 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"garbage"}: supported values: "All"' ]
	[ "$(field "$r" .details.kind)" = CreateOptions ]
	[ "$(field "$r" .details.group)" = meta.k8s.io ]
	[ "$(code "$(api GET "$CMS/$n")")" = 404 ]
	r=$(api POST "$CMS" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"},\"data\":{\"k\":\"1\"}}")
	[ "$(code "$r")" = 201 ]
	r=$(api PUT "$CMS/$n?dryRun=All&dryRun=x" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"},\"data\":{\"k\":\"2\"}}")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .message)" = 'UpdateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"All", "x"}: supported values: "All"' ]
	r=$(api PATCH "$CMS/$n?dryRun=" '{"data":{"k":"3"}}' application/merge-patch+json)
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .message)" = 'PatchOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{""}: supported values: "All"' ]
	r=$(api DELETE "$CMS/$n?dryRun=garbage")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .message)" = 'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"garbage"}: supported values: "All"' ]
	r=$(api DELETE "$CMS/$n" '{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["Some"]}')
	[ "$(code "$r")" = 422 ]
	[ "$(field "$(api GET "$CMS/$n")" .data.k)" = 1 ]
	# and the other option checks of a write
	r=$(api POST "$CMS?fieldValidation=Loose" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n-2\"}}")
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .message)" = 'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"' ]
	r=$(api PATCH "$CMS/$n?force=true" '{"data":{"k":"3"}}' application/merge-patch+json)
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .message)" = 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch' ]
	r=$(api DELETE "$CMS/$n?gracePeriodSeconds=soon")
	[ "$(code "$r")" = 400 ]
	[ "$(field "$(api GET "$CMS/$n")" .data.k)" = 1 ]
}

@test "server-side apply without a fieldManager: 422 PatchOptions, nothing created" {
	local n=ssa-$(rand)
	r=$(api PATCH "$CMS/$n" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"}}" application/apply-patch+yaml)
	[ "$(code "$r")" = 422 ]
	[ "$(field "$r" .reason)" = Invalid ]
	[ "$(field "$r" .message)" = 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' ]
	[ "$(code "$(api GET "$CMS/$n")")" = 404 ]
	r=$(api PATCH "$CMS/$n?fieldManager=tester" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"}}" application/apply-patch+yaml)
	[ "$(code "$r")" = 201 ]
	# kubectl sends its own manager
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: "1"\n' "$n" >"$BATS_TEST_TMPDIR/cm.yaml"
	run kubectl apply --server-side -f "$BATS_TEST_TMPDIR/cm.yaml"
	[ "$status" -eq 0 ]
}

@test "the namespaces default, kube-system and kube-public may not be deleted" {
	local ns
	for ns in default kube-system kube-public; do
		api POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >/dev/null
		r=$(api DELETE "/api/v1/namespaces/$ns")
		[ "$(code "$r")" = 403 ]
		[ "$(field "$r" .reason)" = Forbidden ]
		[ "$(field "$r" .message)" = "namespaces \"$ns\" is forbidden: this namespace may not be deleted" ]
		r=$(api GET "/api/v1/namespaces/$ns")
		[ "$(code "$r")" = 200 ]
		[ "$(field "$r" .metadata.deletionTimestamp)" = null ]
	done
	run kubectl delete namespace default
	[ "$status" -ne 0 ]
	[[ "$output" == *'Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted'* ]]
	# any other namespace may
	r=$(api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"mortal-'"$(rand)"'"}}')
	[ "$(code "$r")" = 201 ]
	r=$(api DELETE "/api/v1/namespaces/$(field "$r" .metadata.name)")
	[ "$(code "$r")" = 200 ]
}

@test "a NUL byte in a path segment reaches no object" {
	local n=nul-$(rand)
	r=$(api POST "$CMS" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"},\"data\":{\"k\":\"1\"}}")
	[ "$(code "$r")" = 201 ]
	r=$(api GET "$CMS/$n%00zzz")
	[ "$(code "$r")" = 400 ]
	r=$(api PUT "$CMS/$n%00zzz" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"},\"data\":{\"k\":\"2\"}}")
	[ "$(code "$r")" = 400 ]
	r=$(api DELETE "$CMS/$n%00zzz")
	[ "$(code "$r")" = 400 ]
	r=$(api GET "$CMS/$n")
	[ "$(code "$r")" = 200 ]
	[ "$(field "$r" .data.k)" = 1 ]
}

@test "20 YAML alias bombs at once: 400 excessive aliasing, server memory bounded" {
	local bomb="$BATS_TEST_TMPDIR/bomb.yaml" i
	# nine levels of nine aliases of the level before: 9^9 values expanded
	{
		printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n'
		printf '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
		local prev=a
		for i in b c d e f g h i; do
			printf '  %s: &%s [' "$i" "$i"
			printf '*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s' "$prev" "$prev" "$prev" "$prev" \
				"$prev" "$prev" "$prev" "$prev" "$prev"
			printf ']\n'
			prev=$i
		done
	} >"$bomb"
	for i in $(seq 20); do
		curl -s -X POST -H 'Content-Type: application/yaml' --data-binary "@$bomb" \
			-w '\n%{http_code}' "$MK_API_URL$CMS" >"$BATS_TEST_TMPDIR/out.$i" &
		CLIENT_PIDS+=($!)
	done
	for i in "${CLIENT_PIDS[@]}"; do
		wait "$i"
	done
	CLIENT_PIDS=()
	for i in $(seq 20); do
		r=$(cat "$BATS_TEST_TMPDIR/out.$i")
		[ "$(code "$r")" = 400 ]
		[[ "$(field "$r" .message)" == "the object provided is unrecognized (must be of type ConfigMap): yaml: document contains excessive aliasing ("*" ...)" ]]
	done
	# each was refused after a thousand values, not a billion
	local hwm
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$MK_API_PID/status")
	echo "VmHWM ${hwm} kB"
	[ "$hwm" -lt $((200 * 1024)) ]
	[ "$(code "$(api GET "$CMS/bomb")")" = 404 ]
}

@test "300 requests whose bodies stop half-way do not pin 300 connections" {
	run python3 - "$MK_API_URL" <<'PY'
import http.client, select, socket, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
socks = []
for i in range(300):
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"apiVers")
    socks.append(s)
# the server still answers others meanwhile
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
c.request("GET", "/healthz")
assert c.getresponse().status == 200
# and closes every stalled one after its idle timeout (2 s here)
open_ = list(socks)
deadline = time.time() + 30
while open_ and time.time() < deadline:
    r, _, _ = select.select(open_, [], [], 0.5)
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if not d:
            open_.remove(s)
print(len(socks) - len(open_), "closed by the server")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "300 closed by the server" ]
}
