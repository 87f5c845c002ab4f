#!/usr/bin/env bats
# kube-apiserver refuses what would let a small request grow an object without
# bound: JSON patch copy amplification, too many patch operations, and writes
# whose result is larger than any request body could be.

load lib/apiserver

setup_file() {
	apiserver_start
	# A regression must not take the machine down with it: the server may
	# not reach for more than 1.5 GB of address space.
	prlimit --pid "$MK_API_PID" --as=1500000000
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

setup() {
	CM=$MK_API_URL/api/v1/namespaces/default/configmaps
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-limits.XXXXXX")
}

teardown() {
	rm -rf "$T"
}

rand() {
	tr -dc 'a-z0-9' </dev/urandom | head -c 6
}

# req METHOD URL CONTENT-TYPE FILE: the body lands in $T/out, the code on stdout
req() {
	curl -s -o "$T/out" -w '%{http_code}' -X "$1" -H "Content-Type: $3" --data-binary "@$4" "$2"
}

# configmap NAME FILE-WITH-VALUE-OF-a: creates it, prints nothing
configmap() {
	python3 -c 'import json, sys
print(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": sys.argv[1]},
                  "data": {"a": open(sys.argv[2]).read()}}))' "$1" "$2" >"$T/cm.json"
	[ "$(req POST "$CM" application/json "$T/cm.json")" = 201 ]
}

# The object as stored: size of its data and resourceVersion.
stored() {
	curl -fs "$CM/$1" | jq -r '"\(.data | tostring | length) \(.metadata.resourceVersion)"'
}

alive() {
	curl -fs "$MK_API_URL/healthz" >/dev/null
}

@test "a JSON patch of 24 copies that doubles the object each time is refused with upstream's error" {
	n=amp-$(rand)
	printf x >"$T/v"
	configmap "$n" "$T/v"
	before=$(stored "$n")
	python3 -c 'import json
print(json.dumps([{"op": "copy", "from": "/data", "path": "/data/c%d" % i} for i in range(24)]))' >"$T/patch"
	[ "$(stat -c %s "$T/patch")" -lt 1400 ]
	# What upstream's library counts: the compact JSON of each copied value,
	# summed, until the sum passes 3 MiB.
	want=$(python3 -c 'import copy, json
d, acc = {"a": "x"}, 0
for i in range(24):
    acc += len(json.dumps(d, separators=(",", ":")))
    if acc > 3145728:
        break
    d["c%d" % i] = copy.deepcopy(d)
print(acc)')
	code=$(req PATCH "$CM/$n" application/json-patch+json "$T/patch")
	cat "$T/out"
	[ "$code" = 422 ]
	[ "$(jq -r .reason "$T/out")" = Invalid ]
	[ "$(jq -r .message "$T/out")" = "the server rejected our request due to an error in our request: Unable to complete the copy, the accumulated size increase of copy is $want, exceeding the limit 3145728" ]
	alive
	[ "$(stored "$n")" = "$before" ]
	# kubectl shows the same refusal
	run kubectl patch configmap "$n" --type=json -p "$(cat "$T/patch")"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Unable to complete the copy, the accumulated size increase of copy is $want, exceeding the limit 3145728"* ]]
	# copies under the limit still work
	run kubectl patch configmap "$n" --type=json -p '[{"op":"copy","from":"/data/a","path":"/data/b"}]'
	[ "$status" -eq 0 ]
	[ "$(kubectl get configmap "$n" -o jsonpath='{.data.b}')" = x ]
}

@test "a JSON patch of more than 10000 operations is refused with 413 before any is applied" {
	n=ops-$(rand)
	printf x >"$T/v"
	configmap "$n" "$T/v"
	before=$(stored "$n")
	python3 -c 'import json
print(json.dumps([{"op": "add", "path": "/data/k%d" % i, "value": "v"} for i in range(10001)]))' >"$T/patch"
	code=$(req PATCH "$CM/$n" application/json-patch+json "$T/patch")
	cat "$T/out"
	[ "$code" = 413 ]
	[ "$(jq -r .reason "$T/out")" = RequestEntityTooLarge ]
	[ "$(jq -r .message "$T/out")" = "The allowed maximum operations in a JSON patch is 10000, got 10001" ]
	[ "$(stored "$n")" = "$before" ]
	# 10000 are fine
	python3 -c 'import json
print(json.dumps([{"op": "add", "path": "/data/k%d" % i, "value": "v"} for i in range(10000)]))' >"$T/patch"
	[ "$(req PATCH "$CM/$n" application/json-patch+json "$T/patch")" = 200 ]
	[ "$(jq '.data | length' "$T/out")" = 10001 ]
}

# grow TYPE FILE: a patch of the given type adding the value in FILE as data.b
grow_patch() {
	case $1 in
	application/json-patch+json)
		python3 -c 'import json, sys
print(json.dumps([{"op": "add", "path": "/data/b", "value": open(sys.argv[1]).read()}]))' "$2" ;;
	*)
		python3 -c 'import json, sys
print(json.dumps({"data": {"b": open(sys.argv[1]).read()}}))' "$2" ;;
	esac
}

@test "no patch (json, merge, strategic) or update stores an object larger than a request body may be" {
	n=big-$(rand)
	head -c 2000000 /dev/zero | tr '\0' y >"$T/v"
	configmap "$n" "$T/v"
	before=$(stored "$n")
	for type in application/json-patch+json application/merge-patch+json \
		application/strategic-merge-patch+json; do
		grow_patch "$type" "$T/v" >"$T/patch"
		# the request itself is well under the body limit
		[ "$(stat -c %s "$T/patch")" -lt 3145728 ]
		code=$(req PATCH "$CM/$n" "$type" "$T/patch")
		echo "$type: $code $(cat "$T/out")"
		[ "$code" = 413 ]
		[ "$(jq -r .reason "$T/out")" = RequestEntityTooLarge ]
		[ "$(jq -r .message "$T/out")" = "Request entity too large: limit is 3145728" ]
		[ "$(stored "$n")" = "$before" ]
	done
	# small growth is still fine, through kubectl too
	run kubectl patch configmap "$n" --type=merge -p '{"data":{"c":"z"}}'
	[ "$status" -eq 0 ]
	[ "$(kubectl get configmap "$n" -o jsonpath='{.data.c}')" = z ]
	alive
}

@test "repeated patches cannot grow an object step by step past the limit" {
	n=steps-$(rand)
	printf x >"$T/v"
	configmap "$n" "$T/v"
	head -c 1000000 /dev/zero | tr '\0' y >"$T/chunk"
	refused=
	for i in 1 2 3 4 5; do
		python3 -c 'import json, sys
print(json.dumps({"data": {"k" + sys.argv[2]: open(sys.argv[1]).read()}}))' "$T/chunk" "$i" >"$T/patch"
		code=$(req PATCH "$CM/$n" application/merge-patch+json "$T/patch")
		if [ "$code" = 413 ]; then
			refused=$i
			break
		fi
		[ "$code" = 200 ]
	done
	# three 1 MB values fit (with keys and metadata), a fourth does not
	[ "$refused" = 4 ]
	[ "$(curl -fs "$CM/$n" | jq '.data | length')" = 4 ]
}
