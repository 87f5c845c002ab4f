#!/usr/bin/env bats
# Decoding as upstream's API server decodes: fields of the wrong type refused
# with the Go decoder's words, fieldValidation Strict / Warn / Ignore for
# unknown and duplicated fields (kubectl's typo'd apply refused, warned),
# `kubectl explain` reading the schemas the server enforces, and dryRun=All
# showing a Service's allocations without keeping them.

load lib/apiserver
load lib/wait

setup_file() {
	apiserver_start --endpoint-reconciler-type=none
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

# api METHOD PATH BODY [CONTENT-TYPE]: headers to $BATS_TEST_TMPDIR/h, the
# body on stdout, then "\n<code>" on the last line.
api() {
	curl -s -D "$BATS_TEST_TMPDIR/h" -X "$1" -H "Content-Type: ${4:-application/json}" \
		-d "$3" -w '\n%{http_code}' "$MK_API_URL$2"
}

code() { tail -n1 <<<"$1"; }
body() { sed '$d' <<<"$1"; }
warnings() { grep -i '^Warning:' "$BATS_TEST_TMPDIR/h" | tr -d '\r' || true; }

typo_yaml() { # NAME
	cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
spec:
  replica: 2
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1}
    spec:
      containers:
      - name: c
        image: nginx
EOF
}

@test "kubectl apply of a typo'd Deployment is refused (Strict), warned with --validate=warn" {
	typo_yaml web >"$BATS_TEST_TMPDIR/typo.yaml"
	run kubectl apply -f "$BATS_TEST_TMPDIR/typo.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica"'* ]]
	run kubectl get deployment web
	[ "$status" -ne 0 ]
	[[ "$output" == *'deployments.apps "web" not found'* ]]

	run kubectl apply --validate=warn -f "$BATS_TEST_TMPDIR/typo.yaml"
	[ "$status" -eq 0 ]
	[[ "$output" == *'Warning: unknown field "spec.replica"'* ]]
	[[ "$output" == *"deployment.apps/web created"* ]]
	# the unknown field was dropped, the rest kept
	run kubectl get deployment web -o json
	[ "$(jq -r '.spec | has("replica")' <<<"$output")" = false ]
	[ "$(jq -r .spec.replicas <<<"$output")" = 1 ]

	# the same typo as a patch of the existing object: refused, nothing changed
	rv=$(kubectl get deployment web -o jsonpath='{.metadata.resourceVersion}')
	run kubectl apply -f "$BATS_TEST_TMPDIR/typo.yaml"
	[ "$status" -ne 0 ]
	[[ "$output" == *'strict decoding error: unknown field "spec.replica"'* ]]
	[ "$(kubectl get deployment web -o jsonpath='{.metadata.resourceVersion}')" = "$rv" ]
}

@test "kubectl explain deployment.spec shows the fields the server enforces" {
	run kubectl explain deployment.spec
	[ "$status" -eq 0 ]
	[[ "$output" == *"KIND:       Deployment"* ]]
	[[ "$output" == *"FIELD: spec <DeploymentSpec>"* ]]
	for f in minReadySeconds paused progressDeadlineSeconds replicas revisionHistoryLimit selector strategy template; do
		grep -Eq "^  $f"$'\t'"<" <<<"$output"
	done
	[[ "$output" == *"Number of desired pods."* ]]
	run kubectl explain pod.spec.containers.livenessProbe.httpGet.port
	[ "$status" -eq 0 ]
	[[ "$output" == *"FIELD: port <"* ]]
	run kubectl explain service.spec.healthCheckNodePort
	[ "$status" -eq 0 ]
	[[ "$output" == *"FIELD: healthCheckNodePort <integer>"* ]]
}

@test "fields of the wrong type: 400 with the decoder's message, never stored" {
	run api POST /api/v1/namespaces/default/services \
		'{"apiVersion":"v1","kind":"Service","metadata":{"name":"hc"},"spec":{"type":"LoadBalancer","externalTrafficPolicy":"Local","healthCheckNodePort":"abc","ports":[{"port":80}]}}'
	[ "$(code "$output")" = 400 ]
	[ "$(body "$output" | jq -r .message)" = 'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServiceSpec.spec.healthCheckNodePort of type int32' ]
	run api POST /api/v1/namespaces/default/pods \
		'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x","readinessProbe":{"periodSeconds":"5"}}]}}'
	[ "$(code "$output")" = 400 ]
	[ "$(body "$output" | jq -r .message)" = 'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Probe.spec.containers.readinessProbe.periodSeconds of type int32' ]
	run api POST /api/v1/namespaces/default/pods \
		'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"volumes":[{"name":"v","emptyDir":{"sizeLimit":"lots"}}],"containers":[{"name":"c","image":"x"}]}}'
	[ "$(code "$output")" = 400 ]
	[[ "$(body "$output" | jq -r .message)" == 'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression'* ]]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL/api/v1/namespaces/default/services/hc")" = 404 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL/api/v1/namespaces/default/pods/p")" = 404 ]
}

@test "fieldValidation: Strict 400, Warn Warning headers, Ignore silent; unknown fields dropped" {
	cm='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"NAME","name":"NAME","lables":{"a":"b"}},"data":{"k":"v"},"dta":{}}'
	run api POST '/api/v1/namespaces/default/configmaps?fieldValidation=Strict' "${cm//NAME/s}"
	[ "$(code "$output")" = 400 ]
	[ "$(body "$output" | jq -r .reason)" = BadRequest ]
	[ "$(body "$output" | jq -r .message)" = 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.name", unknown field "metadata.lables", unknown field "dta"' ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL/api/v1/namespaces/default/configmaps/s")" = 404 ]

	run api POST '/api/v1/namespaces/default/configmaps?fieldValidation=Warn' "${cm//NAME/w}"
	[ "$(code "$output")" = 201 ]
	[ "$(warnings)" = 'Warning: 299 - "duplicate field \"metadata.name\""
Warning: 299 - "unknown field \"metadata.lables\""
Warning: 299 - "unknown field \"dta\""' ]
	[ "$(body "$output" | jq -c '[.metadata.labels, .dta, .data.k]')" = '[null,null,"v"]' ]

	# no parameter is Warn, as upstream's default
	run api POST /api/v1/namespaces/default/configmaps "${cm//NAME/d}"
	[ "$(code "$output")" = 201 ]
	[ "$(warnings | wc -l)" = 3 ]

	run api POST '/api/v1/namespaces/default/configmaps?fieldValidation=Ignore' "${cm//NAME/i}"
	[ "$(code "$output")" = 201 ]
	[ -z "$(warnings)" ]
	[ "$(curl -s "$MK_API_URL/api/v1/namespaces/default/configmaps/i" | jq -c '[.metadata.labels, .dta]')" = '[null,null]' ]

	run api POST '/api/v1/namespaces/default/configmaps?fieldValidation=Loose' "${cm//NAME/l}"
	[ "$(code "$output")" = 422 ]
	[[ "$(body "$output" | jq -r .message)" == *'fieldValidation: Unsupported value: "Loose"'* ]]
}

@test "fieldValidation on patches: the patch's duplicates, then the patched object's unknown fields" {
	run api POST /api/v1/namespaces/default/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"pt"},"data":{"k":"v"}}'
	[ "$(code "$output")" = 201 ]
	patch='{"data":{"k":"1","k":"2"},"zz":1,"metadata":{"lables":{}}}'
	run api PATCH '/api/v1/namespaces/default/configmaps/pt?fieldValidation=Strict' "$patch" application/merge-patch+json
	[ "$(code "$output")" = 422 ]
	[[ "$(body "$output" | jq -r .message)" == *': strict decoding error: duplicate field "data.k", unknown field "metadata.lables", unknown field "zz"' ]]
	[ "$(curl -s "$MK_API_URL/api/v1/namespaces/default/configmaps/pt" | jq -r .data.k)" = v ]
	run api PATCH '/api/v1/namespaces/default/configmaps/pt?fieldValidation=Warn' "$patch" application/strategic-merge-patch+json
	[ "$(code "$output")" = 200 ]
	[ "$(warnings)" = 'Warning: 299 - "duplicate field \"data.k\""
Warning: 299 - "unknown field \"metadata.lables\""
Warning: 299 - "unknown field \"zz\""' ]
	[ "$(body "$output" | jq -c '[.data.k, .zz]')" = '["2",null]' ]
}

@test "dryRun=All shows a Service's clusterIP, nodePort and healthCheckNodePort without keeping them" {
	svc='{"apiVersion":"v1","kind":"Service","metadata":{"name":"NAME"},"spec":{"type":"LoadBalancer","externalTrafficPolicy":"Local","selector":{"app":"x"},"ports":[{"port":80}]}}'
	run api POST '/api/v1/namespaces/default/services?dryRun=All' "${svc//NAME/dry}"
	[ "$(code "$output")" = 201 ]
	ip=$(body "$output" | jq -r .spec.clusterIP)
	np=$(body "$output" | jq -r '.spec.ports[0].nodePort')
	hc=$(body "$output" | jq -r .spec.healthCheckNodePort)
	[[ "$ip" == 10.9[6-9].* || "$ip" == 10.10[0-9].* || "$ip" == 10.11[01].* ]]
	[ "$np" -ge 30000 ]
	[ "$np" -le 32767 ]
	[ "$hc" -ge 30000 ]
	[ "$hc" -le 32767 ]
	[ "$hc" != "$np" ]
	[ "$(body "$output" | jq -r '.spec.ports[0].targetPort')" = 80 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL/api/v1/namespaces/default/services/dry")" = 404 ]
	# nothing stays allocated: a real Service can claim exactly these
	real=$(jq -c --arg ip "$ip" --argjson np "$np" --argjson hc "$hc" \
		'.spec.clusterIP=$ip | .spec.ports[0].nodePort=$np | .spec.healthCheckNodePort=$hc' <<<"${svc//NAME/real}")
	run api POST /api/v1/namespaces/default/services "$real"
	[ "$(code "$output")" = 201 ]
	[ "$(body "$output" | jq -r .spec.clusterIP)" = "$ip" ]
	# a dry-run update shows the change and leaves the stored object alone
	run api PATCH '/api/v1/namespaces/default/services/real?dryRun=All' '{"spec":{"type":"ClusterIP","externalTrafficPolicy":null}}' application/merge-patch+json
	[ "$(code "$output")" = 200 ]
	[ "$(body "$output" | jq -r '.spec.ports[0].nodePort')" = null ]
	[ "$(body "$output" | jq -r .spec.healthCheckNodePort)" = null ]
	run curl -s "$MK_API_URL/api/v1/namespaces/default/services/real"
	[ "$(jq -r '.spec.ports[0].nodePort' <<<"$output")" = "$np" ]
	[ "$(jq -r .spec.healthCheckNodePort <<<"$output")" = "$hc" ]
	# and the ports it would have freed are still held
	run api POST /api/v1/namespaces/default/services "$(jq -c '.metadata.name="other" | del(.spec.clusterIP)' <<<"$real")"
	[ "$(code "$output")" = 422 ]
	[[ "$(body "$output" | jq -r .message)" == *"provided port is already allocated"* ]]
}
