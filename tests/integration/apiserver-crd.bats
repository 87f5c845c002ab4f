#!/usr/bin/env bats
# CustomResourceDefinitions through the real kubectl: served at once in
# discovery (kubectl's cache included), printer columns, schema defaulting,
# pruning and validation messages, status and scale subresources, explain,
# watch, cluster scope, and the CRD's deletion removing its objects.
# backends: sqlite etcd

load lib/apiserver

setup_file() {
	apiserver_start
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
	# kubectl's discovery cache is filled before any CRD exists
	kubectl get namespaces >/dev/null
	crd_write widgets Widget Namespaced >"$MK_API_TMP/widgets.yaml"
	kubectl apply -f "$MK_API_TMP/widgets.yaml" >/dev/null
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

# crd_write PLURAL KIND SCOPE: a CRD of group example.com with a printer
# column, status and scale subresources and a schema with defaults.
crd_write() {
	cat <<Y
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: $1.example.com}
spec:
  group: example.com
  scope: $3
  names: {plural: $1, kind: $2, shortNames: [${1:0:2}x]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color, description: the color}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [color]
            properties:
              color: {type: string, enum: [red, green, blue], description: The color of the widget.}
              replicas: {type: integer, minimum: 0, maximum: 10, default: 1}
              name: {type: string, pattern: '^[a-z]+\$', maxLength: 8}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
Y
}

widget() { # NAME COLOR [MORE-SPEC-YAML]
	printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: %s}\nspec: {color: %s%s}\n' \
		"$1" "$2" "${3:+, $3}"
}

@test "crd: established at once and served in discovery, kubectl's cache included" {
	run kubectl get crd widgets.example.com -o jsonpath='{range .status.conditions[*]}{.type}={.status} {end}'
	[ "$status" -eq 0 ]
	[[ "$output" == *"NamesAccepted=True"* ]]
	[[ "$output" == *"Established=True"* ]]
	[ "$(kubectl get crd widgets.example.com -o jsonpath='{.spec.names.singular} {.spec.names.listKind} {.status.storedVersions[0]} {.metadata.finalizers[0]}')" = \
		"widget WidgetList v1 customresourcecleanup.apiextensions.k8s.io" ]
	curl -fs "$MK_API_URL/apis/example.com/v1" >"$BATS_TEST_TMPDIR/rl"
	[ "$(jq -r '[.resources[].name] | join(",")' "$BATS_TEST_TMPDIR/rl")" = "widgets,widgets/scale,widgets/status" ]
	[ "$(jq -r '.resources[0] | "\(.kind) \(.namespaced) \(.shortNames[0])"' "$BATS_TEST_TMPDIR/rl")" = "Widget true wix" ]
	curl -fs -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' \
		"$MK_API_URL/apis" >"$BATS_TEST_TMPDIR/agg"
	[ "$(jq -r '.items[] | select(.metadata.name == "example.com") | .versions[0].resources[0] | "\(.resource) \(.scope) \([.subresources[].subresource] | join(","))"' "$BATS_TEST_TMPDIR/agg")" = \
		"widgets Namespaced scale,status" ]
	curl -fs "$MK_API_URL/apis" | jq -e '.groups[] | select(.name == "example.com")' >/dev/null
	run kubectl api-resources --api-group=example.com -o name
	[ "$status" -eq 0 ]
	[ "$output" = "widgets.example.com" ]
}

@test "crd: printer columns, defaults and preserved fields in kubectl get" {
	w=w-$(rand)
	widget "$w" green "extra: {any: {deep: [1, 2]}}" | kubectl apply -f -
	run kubectl get widgets "$w"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "NAME       COLOR   REPLICAS   AGE" ]
	[[ "${lines[1]}" =~ ^$w\ +green\ +1\ +[0-9]+s$ ]]
	[ "$(kubectl get wix "$w" -o jsonpath='{.spec.extra.any.deep[1]}')" = 2 ]
	curl -fs "$MK_API_URL/apis/example.com/v1/widgets" |
		jq -e --arg w "$w" '.kind == "WidgetList" and any(.items[]; .metadata.name == $w)' >/dev/null
}

@test "crd: objects validated against the schema with upstream's messages" {
	w=bad-$(rand)
	run kubectl apply -f - <<<"$(widget "$w" purple "replicas: 20, name: ABC")"
	[ "$status" -ne 0 ]
	# (kubectl sends the fields in key order)
	[ "$output" = "The Widget \"$w\" is invalid: 
* spec.color: Unsupported value: \"purple\": supported values: \"red\", \"green\", \"blue\"
* spec.name: Invalid value: \"ABC\": spec.name in body should match '^[a-z]+\$'
* spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10" ]
	run kubectl create -f - <<<"$(printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: %s}\nspec: {replicas: "3"}\n' "$w")"
	[ "$status" -ne 0 ]
	[ "$output" = "The Widget \"$w\" is invalid: 
* spec.color: Required value
* spec.replicas: Invalid value: \"3\": spec.replicas in body must be of type integer: \"string\"" ]
	# kubectl's Strict field validation: an unknown field is refused...
	run kubectl create -f - <<<"$(widget "$w" red "bogus: 1")"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.bogus\""* ]]
	curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL/apis/example.com/v1/namespaces/default/widgets/$w" | grep -qx 404
	# ...and pruned when validation is off
	kubectl create --validate=false -f - <<<"$(widget "$w" red "bogus: 1")"
	[ "$(curl -fs "$MK_API_URL/apis/example.com/v1/namespaces/default/widgets/$w" | jq -c .spec)" = '{"color":"red","replicas":1}' ]
}

@test "crd: invalid definitions are refused with upstream's messages" {
	crd_write gadgets Gadget Namespaced | sed 's/storage: true/storage: false/' >"$BATS_TEST_TMPDIR/c.yaml"
	run kubectl apply -f "$BATS_TEST_TMPDIR/c.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == "The CustomResourceDefinition \"gadgets.example.com\" is invalid: spec.versions: Invalid value: "*": must have exactly one version marked as storage version" ]]
	crd_write gadgets Gadget Namespaced | sed 's/name: gadgets.example.com/name: gizmos.example.com/' >"$BATS_TEST_TMPDIR/c.yaml"
	run kubectl apply -f "$BATS_TEST_TMPDIR/c.yaml"
	[ "$status" -ne 0 ]
	[ "$output" = "The CustomResourceDefinition \"gizmos.example.com\" is invalid: metadata.name: Invalid value: \"gizmos.example.com\": must be spec.names.plural+\".\"+spec.group" ]
	crd_write gadgets Gadget Sideways | sed 's/selector: {type: string}/selector: {}/; s/group: example.com/group: example/; s/name: gadgets.example.com/name: gadgets.example/' >"$BATS_TEST_TMPDIR/c.yaml"
	run kubectl apply -f "$BATS_TEST_TMPDIR/c.yaml"
	[ "$status" -ne 0 ]
	[ "$output" = "The CustomResourceDefinition \"gadgets.example\" is invalid: 
* spec.group: Invalid value: \"example\": should be a domain with at least one dot
* spec.scope: Unsupported value: \"Sideways\": supported values: \"Cluster\", \"Namespaced\"
* spec.versions[0].schema.openAPIV3Schema.properties[status].properties[selector].type: Required value: must not be empty for specified object fields" ]
	curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com" | grep -qx 404
}

@test "crd: status and scale subresources, kubectl scale" {
	w=s-$(rand)
	widget "$w" red | kubectl apply -f -
	# the main endpoint leaves status alone, the status endpoint all but status
	u=$MK_API_URL/apis/example.com/v1/namespaces/default/widgets/$w
	kubectl patch widget "$w" --type=merge -p '{"status":{"replicas":7}}'
	[ "$(curl -fs "$u" | jq -r .status.replicas)" = null ]
	kubectl patch widget "$w" --subresource=status --type=merge -p '{"spec":{"color":"blue"},"status":{"replicas":2,"selector":"app=w"}}'
	[ "$(curl -fs "$u" | jq -r '"\(.spec.color) \(.status.replicas)"')" = "red 2" ]
	run kubectl scale widget "$w" --replicas=4
	[ "$status" -eq 0 ]
	[ "$output" = "widget.example.com/$w scaled" ]
	[ "$(curl -fs "$u" | jq -r '"\(.spec.replicas) \(.metadata.generation)"')" = "4 2" ]
	curl -fs "$u/scale" >"$BATS_TEST_TMPDIR/scale"
	[ "$(jq -r '"\(.kind) \(.apiVersion) \(.spec.replicas) \(.status.replicas) \(.status.selector)"' "$BATS_TEST_TMPDIR/scale")" = \
		"Scale autoscaling/v1 4 2 app=w" ]
	run kubectl scale widget "$w" --replicas=11
	[ "$status" -ne 0 ]
	[[ "$output" == *"spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"* ]]
}

@test "crd: kubectl explain reads the published schema" {
	run kubectl explain widgets.spec.color
	[ "$status" -eq 0 ]
	[[ "$output" == *"KIND:       Widget"* ]]
	[[ "$output" == *"FIELD: color <string>"* ]]
	[[ "$output" == *"The color of the widget."* ]]
	run kubectl explain widget.spec
	[ "$status" -eq 0 ]
	[[ "$output" == *"color	<string> -required-"* ]]
	[[ "$output" == *"replicas	<integer>"* ]]
}

@test "crd: watch sees custom objects change, and the CRD's deletion removes them" {
	crd_write things Thing Cluster | sed 's/kind: Widget/kind: Thing/' >"$BATS_TEST_TMPDIR/things.yaml"
	kubectl apply -f "$BATS_TEST_TMPDIR/things.yaml"
	watch_start "$BATS_TEST_TMPDIR/w" "$MK_API_URL/apis/example.com/v1/things?watch=1"
	printf 'apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t%s}\nspec: {color: red}\n---\n' 1 2 | kubectl apply -f -
	kubectl patch thing t1 --type=merge -p '{"spec":{"color":"green"}}'
	[ "$(kubectl get things -o name | sort | tr '\n' ' ')" = "thing.example.com/t1 thing.example.com/t2 " ]
	[ "$(curl -fs "$MK_API_URL/apis/example.com/v1/things/t1" | jq -r '.metadata.namespace')" = null ]
	wait_until 5 grep -q '"type":"MODIFIED".*"color":"green"' "$BATS_TEST_TMPDIR/w"
	kubectl delete crd things.example.com
	wait_eq 5 2 sh -c "grep -c '\"type\":\"DELETED\"' '$BATS_TEST_TMPDIR/w'"
	curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.example.com" | grep -qx 404
	# a CRD of the same name starts empty
	kubectl apply -f "$BATS_TEST_TMPDIR/things.yaml"
	[ "$(curl -fs "$MK_API_URL/apis/example.com/v1/things" | jq '.items | length')" = 0 ]
	kubectl delete crd things.example.com
}

@test "crd: two served versions, objects stored in the storage version" {
	crd_write gizmos Gizmo Namespaced | sed 's/kind: Widget/kind: Gizmo/' >"$BATS_TEST_TMPDIR/g.yaml"
	# a second, older version served beside the storage one
	sed -n '/^  - name: v1$/,$p' "$BATS_TEST_TMPDIR/g.yaml" |
		sed 's/- name: v1$/- name: v1beta1/; s/storage: true/storage: false/' >>"$BATS_TEST_TMPDIR/g.yaml"
	kubectl apply -f "$BATS_TEST_TMPDIR/g.yaml"
	[ "$(kubectl get crd gizmos.example.com -o jsonpath='{.status.storedVersions}')" = '["v1"]' ]
	b=$MK_API_URL/apis/example.com/v1beta1/namespaces/default/gizmos
	curl -fs -X POST -H 'Content-Type: application/json' "$b" --data-binary \
		'{"apiVersion":"example.com/v1beta1","kind":"Gizmo","metadata":{"name":"g1"},"spec":{"color":"red"}}' >/dev/null
	[ "$(curl -fs "$b/g1" | jq -r '"\(.apiVersion) \(.spec.replicas)"')" = "example.com/v1beta1 1" ]
	[ "$(curl -fs "$MK_API_URL/apis/example.com/v1/namespaces/default/gizmos/g1" | jq -r .apiVersion)" = example.com/v1 ]
	[ "$(curl -fs "$b" | jq -r '"\(.apiVersion) \(.items[0].apiVersion)"')" = "example.com/v1beta1 example.com/v1beta1" ]
	run kubectl get gizmos.v1beta1.example.com g1
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ ^g1\ +red\ +1\  ]]
	kubectl delete crd gizmos.example.com
}
