#!/usr/bin/env bats
# Server-side apply through the real kubectl: field ownership per manager in
# metadata.managedFields, conflicts between appliers worded as upstream's
# 409, --force-conflicts, removal of fields their only owner stops applying,
# migration from client-side apply, and `kubectl diff`.

load lib/apiserver

setup_file() {
	apiserver_start --endpoint-reconciler-type=none
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

# deployment NAME REPLICAS IMAGE [EXTRA-SPEC-LINE]: a Deployment manifest.
deployment() {
	cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
spec:
  replicas: $2
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1}
    spec:
      containers:
      - name: web
        image: $3
${4:+  $4}
EOF
}

# read_back NAME: the Deployment with its managedFields, into $OBJ.
read_back() {
	OBJ=$(kubectl get deployment "$1" -o json --show-managed-fields)
}

# managers: "manager/operation[/subresource]" of each entry of $OBJ, one a
# line, sorted (entries of the same second are ordered by name, not time).
managers() {
	jq -r '.metadata.managedFields[] | [.manager, .operation, .subresource // empty] | join("/")' <<<"$OBJ" |
		LC_ALL=C sort
}

# fields MANAGER: that manager's fieldsV1 in $OBJ, compact.
fields() {
	jq -c --arg m "$1" '.metadata.managedFields[] | select(.manager == $m) | .fieldsV1' <<<"$OBJ"
}

# at [-c] PATH: a jq path of $OBJ, raw (or compact).
at() {
	local opt=-r
	if [ "$1" = -c ]; then
		opt=-c
		shift
	fi
	jq "$opt" "$1" <<<"$OBJ"
}

@test "two appliers: the conflict shown with its fields and manager, then --force-conflicts moves them" {
	deployment two 2 nginx >"$BATS_TEST_TMPDIR/a.yaml"
	run kubectl apply --server-side --field-manager=alice -f "$BATS_TEST_TMPDIR/a.yaml"
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/two serverside-applied" ]

	deployment two 3 nginx:1.27 >"$BATS_TEST_TMPDIR/b.yaml"
	run kubectl apply --server-side --field-manager=bob -f "$BATS_TEST_TMPDIR/b.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *'error: Apply failed with 2 conflicts: conflicts with "alice":
- .spec.replicas
- .spec.template.spec.containers[name="web"].image'* ]]
	[[ "$output" == *'--force-conflicts'* ]]
	# nothing of bob's apply was kept
	read_back two
	[ "$(at .spec.replicas)" = 2 ]
	[ "$(managers)" = "alice/Apply" ]

	# the same values are co-owned without a conflict
	deployment two 2 nginx:1.27 >"$BATS_TEST_TMPDIR/c.yaml"
	run kubectl apply --server-side --field-manager=carol -f "$BATS_TEST_TMPDIR/c.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *'error: Apply failed with 1 conflict: conflict with "alice": .spec.template.spec.containers[name="web"].image'* ]]

	run kubectl apply --server-side --field-manager=bob --force-conflicts -f "$BATS_TEST_TMPDIR/b.yaml"
	[ "$status" -eq 0 ]
	read_back two
	[ "$(at '"\(.spec.replicas) \(.spec.template.spec.containers[0].image)"')" = "3 nginx:1.27" ]
	[ "$(managers)" = "$(printf 'alice/Apply\nbob/Apply')" ]
	# alice keeps what was not taken; bob owns what it forced
	[[ "$(fields alice)" != *'f:replicas'* ]]
	[[ "$(fields alice)" == *'"f:selector":{}'* ]]
	[[ "$(fields bob)" == *'"f:replicas":{}'* ]]
	[[ "$(fields bob)" == *'"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{}}'* ]]
}

@test "a field its only owner stops applying is removed; one another manager owns too stays" {
	deployment prune 2 nginx 'minReadySeconds: 5' >"$BATS_TEST_TMPDIR/full.yaml"
	sed 's/^  minReadySeconds: 5$/  paused: false/' "$BATS_TEST_TMPDIR/full.yaml" >"$BATS_TEST_TMPDIR/other.yaml"
	kubectl apply --server-side --field-manager=owner -f "$BATS_TEST_TMPDIR/full.yaml"
	# another applier sets replicas to the same value: co-owned
	kubectl apply --server-side --field-manager=helper -f "$BATS_TEST_TMPDIR/other.yaml"

	# owner drops minReadySeconds and replicas from its configuration
	deployment prune 2 nginx | grep -v '^  replicas:' >"$BATS_TEST_TMPDIR/less.yaml"
	kubectl apply --server-side --field-manager=owner -f "$BATS_TEST_TMPDIR/less.yaml"
	read_back prune
	[ "$(at '.spec | has("minReadySeconds")')" = false ]
	[ "$(at .spec.replicas)" = 2 ]
	[[ "$(fields owner)" != *'f:replicas'* ]]
	[[ "$(fields helper)" == *'"f:replicas":{}'* ]]
}

@test "client-side apply, then server-side apply: the last-applied fields migrate without conflicts" {
	deployment csa 1 nginx >"$BATS_TEST_TMPDIR/csa.yaml"
	run kubectl apply -f "$BATS_TEST_TMPDIR/csa.yaml"
	[ "$status" -eq 0 ]
	read_back csa
	[ "$(managers)" = "kubectl-client-side-apply/Update" ]
	[[ "$(fields kubectl-client-side-apply)" == *'"f:kubectl.kubernetes.io/last-applied-configuration":{}'* ]]

	deployment csa 4 nginx:1.27 >"$BATS_TEST_TMPDIR/ssa.yaml"
	run kubectl apply --server-side -f "$BATS_TEST_TMPDIR/ssa.yaml"
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/csa serverside-applied" ]
	read_back csa
	[ "$(at '"\(.spec.replicas) \(.spec.template.spec.containers[0].image)"')" = "4 nginx:1.27" ]
	# the applied fields belong to the applier now, no longer to client-side apply
	[[ "$(fields kubectl)" == *'"f:replicas":{}'* ]]
	[[ "$(fields kubectl-client-side-apply)" != *'f:replicas'* ]]
	# and the annotation follows the applied configuration
	[[ "$(at '.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]')" == *'"replicas":4'* ]]

	# the same migration by the server alone, when the client leaves the entries be
	deployment csa2 1 nginx >"$BATS_TEST_TMPDIR/csa2.yaml"
	kubectl apply -f "$BATS_TEST_TMPDIR/csa2.yaml"
	deployment csa2 6 nginx >"$BATS_TEST_TMPDIR/ssa2.yaml"
	run curl -s -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		--data-binary @"$BATS_TEST_TMPDIR/ssa2.yaml" -w '\n%{http_code}' \
		"$MK_API_URL/apis/apps/v1/namespaces/default/deployments/csa2?fieldManager=kubectl"
	[ "$(tail -n1 <<<"$output")" = 200 ]
	[ "$(sed '$d' <<<"$output" | jq -r .spec.replicas)" = 6 ]
	# a manager other than kubectl is not let through
	deployment csa2 7 nginx >"$BATS_TEST_TMPDIR/ssa3.yaml"
	run kubectl apply --server-side --field-manager=someone -f "$BATS_TEST_TMPDIR/ssa3.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *'conflict with "kubectl"'* ]]
}

@test "kubectl diff: the change shown with exit code 1, nothing and 0 when none" {
	deployment diffed 2 nginx >"$BATS_TEST_TMPDIR/d.yaml"
	kubectl apply --server-side -f "$BATS_TEST_TMPDIR/d.yaml"
	rv=$(kubectl get deployment diffed -o jsonpath='{.metadata.resourceVersion}')

	run kubectl diff --server-side -f "$BATS_TEST_TMPDIR/d.yaml"
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	deployment diffed 5 nginx >"$BATS_TEST_TMPDIR/d5.yaml"
	run kubectl diff --server-side -f "$BATS_TEST_TMPDIR/d5.yaml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'-  replicas: 2'* ]]
	[[ "$output" == *'+  replicas: 5'* ]]
	# client-side diff (a dry-run patch) sees it too
	run kubectl diff -f "$BATS_TEST_TMPDIR/d5.yaml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'+  replicas: 5'* ]]
	# a diff is a dry run: nothing stored
	[ "$(kubectl get deployment diffed -o jsonpath='{.metadata.resourceVersion} {.spec.replicas}')" = "$rv 2" ]
	# conflicts show as in apply
	run kubectl diff --server-side --field-manager=other -f "$BATS_TEST_TMPDIR/d5.yaml"
	[ "$status" -gt 1 ]
	[[ "$output" == *'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'* ]]
}

@test "managedFields: Update entries for create, scale, label and edit; shown only with --show-managed-fields" {
	kubectl create deployment made --image=nginx
	kubectl scale deployment made --replicas=3
	kubectl label deployment made tier=front
	read_back made
	[ "$(managers)" = "$(printf 'kubectl-create/Update\nkubectl-label/Update\nkubectl/Update/scale')" ]
	[ "$(fields kubectl)" = '{"f:spec":{"f:replicas":{}}}' ]
	[ "$(fields kubectl-label)" = '{"f:metadata":{"f:labels":{"f:tier":{}}}}' ]
	# the creator lost replicas to the scale
	[[ "$(fields kubectl-create)" != *'f:replicas'* ]]
	[[ "$(fields kubectl-create)" == *'"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}}'* ]]
	[ "$(at '.metadata.managedFields[0] | [.apiVersion, .fieldsType, (.time | test("^[0-9-]+T[0-9:]+Z$"))] | join(" ")')" = "apps/v1 FieldsV1 true" ]

	# kubectl edit takes replicas from the scale, whose entry goes with it
	printf '#!/bin/sh\nsed -i "s/^  replicas: 3$/  replicas: 5/" "$1"\n' >"$BATS_TEST_TMPDIR/editor"
	chmod +x "$BATS_TEST_TMPDIR/editor"
	EDITOR=$BATS_TEST_TMPDIR/editor kubectl edit deployment made
	read_back made
	[ "$(at .spec.replicas)" = 5 ]
	[ "$(managers)" = "$(printf 'kubectl-create/Update\nkubectl-edit/Update\nkubectl-label/Update')" ]
	[ "$(fields kubectl-edit)" = '{"f:spec":{"f:replicas":{}}}' ]

	# plain get hides them, -o yaml too
	run kubectl get deployment made -o yaml
	[[ "$output" != *managedFields* ]]
	run kubectl get deployment made -o yaml --show-managed-fields
	[[ "$output" == *'manager: kubectl-label'* ]]

	# a fieldManager query parameter names the updater
	run curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d '{"spec":{"minReadySeconds":2}}' -w '\n%{http_code}' \
		"$MK_API_URL/apis/apps/v1/namespaces/default/deployments/made?fieldManager=robot"
	[ "$(tail -n1 <<<"$output")" = 200 ]
	OBJ=$(sed '$d' <<<"$output")
	[ "$(fields robot)" = '{"f:spec":{"f:minReadySeconds":{}}}' ]
}

@test "apply: a dry run stores nothing; no fieldManager, force on other patches and conflicts answered as upstream" {
	deployment dry 2 nginx >"$BATS_TEST_TMPDIR/dry.yaml"
	run kubectl apply --server-side --dry-run=server -f "$BATS_TEST_TMPDIR/dry.yaml"
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/dry serverside-applied (server dry run)" ]
	run kubectl get deployment dry
	[ "$status" -ne 0 ]

	run curl -s -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		--data-binary @"$BATS_TEST_TMPDIR/dry.yaml" -w '\n%{http_code}' \
		"$MK_API_URL/apis/apps/v1/namespaces/default/deployments/dry"
	[ "$(tail -n1 <<<"$output")" = 422 ]
	[[ "$output" == *'fieldManager: Required value: is required for apply patch'* ]]

	# force is only for apply patches
	kubectl apply --server-side -f "$BATS_TEST_TMPDIR/dry.yaml"
	run curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{}' \
		-w '\n%{http_code}' "$MK_API_URL/apis/apps/v1/namespaces/default/deployments/dry?force=true"
	[ "$(tail -n1 <<<"$output")" = 422 ]
	# an apply conflict is a 409 Status with one FieldManagerConflict cause a field
	run curl -s -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		-d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dry"},"spec":{"replicas":9}}' \
		-w '\n%{http_code}' "$MK_API_URL/apis/apps/v1/namespaces/default/deployments/dry?fieldManager=x"
	[ "$(tail -n1 <<<"$output")" = 409 ]
	[ "$(sed '$d' <<<"$output" | jq -c '[.reason, .details.causes]')" = '["Conflict",[{"type":"FieldManagerConflict","message":"conflict with \"kubectl\"","field":".spec.replicas"}]]' ]
	# a configuration must not carry managedFields, nor another version
	run curl -s -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		-d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dry","managedFields":[]}}' \
		-w '\n%{http_code}' "$MK_API_URL/apis/apps/v1/namespaces/default/deployments/dry?fieldManager=x"
	[ "$(tail -n1 <<<"$output")" = 400 ]
	[ "$(sed '$d' <<<"$output" | jq -r .message)" = "metadata.managedFields must be nil" ]
	run curl -s -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		-d '{"apiVersion":"apps/v1beta1","kind":"Deployment","metadata":{"name":"dry"}}' \
		-w '\n%{http_code}' "$MK_API_URL/apis/apps/v1/namespaces/default/deployments/dry?fieldManager=x"
	[ "$(tail -n1 <<<"$output")" = 400 ]
	[ "$(sed '$d' <<<"$output" | jq -r .message)" = "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1" ]
}

@test "custom resources: applied and owned key by key, conflicts and removal as for built-in kinds" {
	kubectl apply --server-side -f - <<-EOF
	apiVersion: apiextensions.k8s.io/v1
	kind: CustomResourceDefinition
	metadata: {name: gizmos.example.com}
	spec:
	  group: example.com
	  scope: Namespaced
	  names: {plural: gizmos, kind: Gizmo}
	  versions:
	  - name: v1
	    served: true
	    storage: true
	    schema:
	      openAPIV3Schema:
	        type: object
	        properties:
	          spec:
	            type: object
	            properties:
	              color: {type: string}
	              size: {type: integer}
	              tags: {type: array, items: {type: string}}
	EOF
	gizmo() { # SPEC-YAML
		printf 'apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g}\nspec: %s\n' "$1"
	}
	gizmo '{color: red, size: 2, tags: [a]}' | kubectl apply --server-side --field-manager=one -f -
	run kubectl apply --server-side --field-manager=two -f - <<<"$(gizmo '{color: blue}')"
	[ "$status" -ne 0 ]
	[[ "$output" == *'Apply failed with 1 conflict: conflict with "one": .spec.color'* ]]
	gizmo '{color: blue}' | kubectl apply --server-side --field-manager=two --force-conflicts -f -
	gizmo '{size: 2}' | kubectl apply --server-side --field-manager=one -f -
	OBJ=$(kubectl get gizmo g -o json --show-managed-fields)
	[ "$(at -c .spec)" = '{"color":"blue","size":2}' ]
	[ "$(jq -c '[.metadata.managedFields[] | [.manager, .operation, .fieldsV1]] | sort' <<<"$OBJ")" = \
		'[["one","Apply",{"f:spec":{"f:size":{}}}],["two","Apply",{"f:spec":{"f:color":{}}}]]' ]
}
