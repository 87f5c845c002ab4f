#!/usr/bin/env bats
# Authorization on the secure port: --authorization-mode=Node,RBAC with
# upstream's bootstrap policy, RBAC objects and their escalation check, the
# authorization API behind `kubectl auth can-i`, impersonation, ClusterRole
# aggregation by the controller-manager, and a kubelet's credentials held to
# its own node by the Node authorizer and NodeRestriction. Real kubectl over
# TLS with tools/mk-certs' credentials, in a network namespace of the
# suite's own.
#
# Server A: 6443, Node,RBAC, NodeRestriction, anonymous requests allowed.
# Server B: 6445, RBAC, --anonymous-auth=false.

load lib/wait
load lib/secure

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v kubectl >/dev/null || skip "kubectl missing"
	secure_setup rbac --node n1 --node n2
	printf 'tok-bob,bob,u-2\ntok-eve,eve,u-3\n' >"$TMP/tokens.csv"
	local common=(--client-ca-file="$K8S/pki/ca.crt" --token-auth-file="$TMP/tokens.csv"
		--service-account-key-file="$K8S/pki/sa.pub"
		--service-account-signing-key-file="$K8S/pki/sa.key"
		--service-account-issuer=https://kubernetes.default.svc.cluster.local
		--tls-cert-file="$K8S/pki/apiserver.crt"
		--tls-private-key-file="$K8S/pki/apiserver.key" --insecure-port=0)
	secure_start a "$MK_BIN/kube-apiserver" --data-dir="$TMP/a" --secure-port=6443 \
		--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
		"${common[@]}"
	secure_start b "$MK_BIN/kube-apiserver" --data-dir="$TMP/b" --secure-port=6445 \
		--authorization-mode=RBAC --anonymous-auth=false "${common[@]}"
	wait_until 20 innet curl -fs --cacert "$K8S/pki/ca.crt" https://127.0.0.1:6443/version
	wait_eq 20 401 innet curl -s -o /dev/null -w '%{http_code}' --cacert "$K8S/pki/ca.crt" \
		https://127.0.0.1:6445/version
	# the aggregation controller alone, with the admin's credentials
	secure_start cm "$MK_BIN/kube-controller-manager" --kubeconfig "$K8S/admin.conf" \
		--leader-elect=false --controllers=clusterrole-aggregation
}

teardown_file() {
	secure_teardown
}

# kubectl against A with a bearer token and nothing else
ktok() {
	local token=$1
	shift
	innet kubectl --kubeconfig /dev/null --server https://127.0.0.1:6443 \
		--certificate-authority "$K8S/pki/ca.crt" --token "$token" "$@" </dev/null
}

kn1() {
	innet kubectl --kubeconfig "$K8S/kubelet-n1.conf" "$@" </dev/null
}

@test "admin allowed; no credentials 401 without anonymous; anonymous 403 as upstream" {
	run ka get clusterrolebinding cluster-admin -o jsonpath='{.roleRef.name}|{.subjects[0].name}'
	[ "$status" -eq 0 ]
	[ "$output" = "cluster-admin|system:masters" ]
	run innet curl -s --cacert "$K8S/pki/ca.crt" https://127.0.0.1:6445/api/v1/namespaces
	[ "$output" = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}' ]
	run innet curl -s --cacert "$K8S/pki/ca.crt" \
		https://127.0.0.1:6443/api/v1/namespaces/default/pods
	[ "$output" = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}' ]
	run innet curl -s --cacert "$K8S/pki/ca.crt" https://127.0.0.1:6443/apis
	[ "$output" = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \"system:anonymous\" cannot get path \"/apis\"","reason":"Forbidden","details":{},"code":403}' ]
	# system:public-info-viewer lets anyone read /version and /healthz
	innet curl -fs --cacert "$K8S/pki/ca.crt" https://127.0.0.1:6443/version >/dev/null
	run ktok tok-bob get nodes
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope' ]
	# discovery lists the authorization groups
	run ka api-resources --api-group=authorization.k8s.io -o name
	[ "$output" = "$(printf '%s\n' localsubjectaccessreviews.authorization.k8s.io \
		selfsubjectaccessreviews.authorization.k8s.io \
		selfsubjectrulesreviews.authorization.k8s.io \
		subjectaccessreviews.authorization.k8s.io)" ]
	run ka api-resources --api-group=authentication.k8s.io -o name
	[[ "$output" == *tokenreviews.authentication.k8s.io* ]]
}

@test "a ServiceAccount may do exactly what its Role grants" {
	ka create namespace sa-ns
	ka create serviceaccount robot -n sa-ns
	ka create role pod-reader -n sa-ns --verb=get,list --resource=pods,configmaps
	ka create rolebinding robot-reads -n sa-ns --role=pod-reader --serviceaccount=sa-ns:robot
	run ka auth can-i --list --as=system:serviceaccount:sa-ns:robot -n sa-ns
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'"configmaps                                      []                                    []               [get list]"* ]]
	[[ "$output" == *$'\n'"pods                                            []                                    []               [get list]"* ]]
	# nothing else on any resource
	[ "$(grep -cv -e '^Resources' -e '^ *\[' -e 'selfsubject' <<<"$output")" = 2 ]
	[ "$(ka auth can-i list pods --as=system:serviceaccount:sa-ns:robot -n sa-ns)" = yes ]
	run ka auth can-i list pods --as=system:serviceaccount:sa-ns:robot -n default
	[ "$output" = no ]
	run ka auth can-i delete pods --as=system:serviceaccount:sa-ns:robot -n sa-ns
	[ "$output" = no ]
	# and the same with the ServiceAccount's own token
	local token
	token=$(ka create token robot -n sa-ns)
	run ktok "$token" get pods -n sa-ns
	[ "$status" -eq 0 ]
	run ktok "$token" get secrets -n sa-ns
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:sa-ns:robot" cannot list resource "secrets" in API group "" in the namespace "sa-ns"' ]
	# a binding to a role that does not exist says so
	ka create rolebinding dangling -n sa-ns --clusterrole=no-such-role \
		--serviceaccount=sa-ns:robot 2>/dev/null || true
	run ktok "$token" get secrets -n sa-ns
	[ "$output" = 'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:sa-ns:robot" cannot list resource "secrets" in API group "" in the namespace "sa-ns": RBAC: clusterrole.rbac.authorization.k8s.io "no-such-role" not found' ]
}

@test "SubjectAccessReview and LocalSubjectAccessReview answer for another user" {
	ka create clusterrolebinding eve-view --clusterrole=view --user=eve
	cat >"$TMP/sar.yaml" <<-EOF
	apiVersion: authorization.k8s.io/v1
	kind: SubjectAccessReview
	spec:
	  user: eve
	  resourceAttributes: {verb: list, resource: pods, namespace: default}
	EOF
	# kubectl validates kinds without a PATCH path against /openapi/v2,
	# which this server does not serve
	run ka create --validate=false -f "$TMP/sar.yaml" -o jsonpath='{.status.allowed}'
	[ "$output" = true ]
	sed -i 's/verb: list/verb: delete/' "$TMP/sar.yaml"
	run ka create --validate=false -f "$TMP/sar.yaml" -o jsonpath='{.status.allowed}'
	[ "$output" = false ]
	cat >"$TMP/lsar.yaml" <<-EOF
	apiVersion: authorization.k8s.io/v1
	kind: LocalSubjectAccessReview
	metadata: {namespace: kube-system}
	spec:
	  user: eve
	  resourceAttributes: {verb: get, resource: pods, namespace: default}
	EOF
	run ka create --validate=false -f "$TMP/lsar.yaml"
	[ "$status" -eq 1 ]
	[[ "$output" == *"spec.resourceAttributes.namespace must match namespace: kube-system"* ]]
	printf 'apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec: {resourceAttributes: {verb: get}}\n' >"$TMP/bad.yaml"
	run ka create --validate=false -f "$TMP/bad.yaml"
	[ "$output" = 'The SubjectAccessReview "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified' ]
}

@test "aggregation: a labelled ClusterRole's rules join view, then edit and admin" {
	ka create namespace agg
	ka create rolebinding carol-view -n agg --clusterrole=view --user=carol
	run ka auth can-i list leases.coordination.k8s.io --as=carol -n agg
	[ "$output" = no ]
	cat >"$TMP/agg.yaml" <<-EOF
	apiVersion: rbac.authorization.k8s.io/v1
	kind: ClusterRole
	metadata:
	  name: lease-viewer
	  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
	rules:
	- apiGroups: [coordination.k8s.io]
	  resources: [leases]
	  verbs: [get, list, watch]
	EOF
	ka apply -f "$TMP/agg.yaml"
	wait_eq 20 yes sh -c "ip netns exec $NET kubectl --kubeconfig $K8S/admin.conf auth can-i list leases.coordination.k8s.io --as=carol -n agg </dev/null; true"
	# admin aggregates edit, which aggregates view
	run ka get clusterrole admin -o jsonpath='{.rules[?(@.verbs[0]=="get")].resources}'
	[[ "$output" == *'["leases"]'* ]]
	# a rule taken away from the labelled role leaves view again
	ka delete clusterrole lease-viewer
	wait_eq 20 no sh -c "ip netns exec $NET kubectl --kubeconfig $K8S/admin.conf auth can-i list leases.coordination.k8s.io --as=carol -n agg </dev/null; true"
}

@test "escalation: no role or binding grants more than its writer holds" {
	ka create namespace esc
	ka create role role-writer -n esc --verb=create,get,list,update,patch,delete \
		--resource=roles,rolebindings
	ka create role pod-reader -n esc --verb=get,list --resource=pods
	ka create rolebinding bob-writes -n esc --role=role-writer --user=bob
	ka create rolebinding bob-reads -n esc --role=pod-reader --user=bob
	# within what bob holds
	ktok tok-bob create role pods-get -n esc --verb=get --resource=pods
	ktok tok-bob create rolebinding eve-reads -n esc --role=pod-reader --user=eve
	run ktok tok-bob create role more -n esc --verb=get,delete --resource=pods,secrets
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): roles.rbac.authorization.k8s.io "more" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}
{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}' ]
	run ktok tok-bob create rolebinding bob-admin -n esc --clusterrole=cluster-admin --user=bob
	[ "$status" -eq 1 ]
	[[ "$output" == *'rolebindings.rbac.authorization.k8s.io "bob-admin" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:'* ]]
	# an update may not add what bob lacks either
	run ktok tok-bob patch role pods-get -n esc --type=json \
		-p '[{"op":"add","path":"/rules/-","value":{"verbs":["list"],"apiGroups":[""],"resources":["secrets"]}}]'
	[ "$status" -eq 1 ]
	[[ "$output" == *'{APIGroups:[""], Resources:["secrets"], Verbs:["list"]}'* ]]
	# the bind verb on a role lets bob bind it, escalate lets him write any role
	ka create role binder -n esc --verb=bind --resource=clusterroles --resource-name=edit
	ka create rolebinding bob-binds -n esc --role=binder --user=bob
	ktok tok-bob create rolebinding eve-edits -n esc --clusterrole=edit --user=eve
	ka create role escalator -n esc --verb=escalate --resource=roles
	ka create rolebinding bob-escalates -n esc --role=escalator --user=bob
	ktok tok-bob create role more -n esc --verb=get,delete --resource=pods,secrets
}

@test "impersonation: allowed by the impersonate verb, refused without it" {
	run ktok tok-bob --as=alice get pods
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope' ]
	ka create clusterrole impersonator --verb=impersonate --resource=users,groups
	ka create clusterrolebinding bob-impersonates --clusterrole=impersonator --user=bob
	run ktok tok-bob --as=alice --as-group=dev auth whoami -o jsonpath='{.status.userInfo.username}|{.status.userInfo.groups}'
	[ "$status" -eq 0 ]
	[ "$output" = 'alice|["dev","system:authenticated"]' ]
	# what alice may do is what counts
	ka create clusterrolebinding dev-view --clusterrole=view --group=dev
	[ "$(ktok tok-bob --as=alice --as-group=dev auth can-i list pods)" = yes ]
	run ktok tok-bob --as=alice auth can-i list pods
	[ "$output" = no ]
	# ServiceAccounts are impersonated through their own resource
	run ktok tok-bob --as=system:serviceaccount:default:default get pods
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): serviceaccounts "default" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "default"' ]
	# a group without a user is refused
	run innet curl -s -o /dev/null -w '%{http_code}' --cacert "$K8S/pki/ca.crt" \
		-H 'Authorization: Bearer tok-bob' -H 'Impersonate-Group: dev' \
		https://127.0.0.1:6443/api/v1/namespaces/default/pods
	[ "$output" = 500 ]
}

@test "Node authorizer and NodeRestriction: a kubelet is held to its own node" {
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1"}}}' >"$TMP/n1.json"
	kn1 create -f "$TMP/n1.json"
	local n
	: >"$TMP/objs.yaml"
	for n in 1 2; do
		cat >>"$TMP/objs.yaml" <<-EOF
		---
		{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s$n", "namespace": "nodes-ns"}}
		---
		{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p$n", "namespace": "nodes-ns"},
		 "spec": {"nodeName": "n$n", "serviceAccountName": "kubelet-test", "containers": [{"name": "c",
		  "image": "busybox", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s$n", "key": "k"}}}]}]}}
		EOF
	done
	printf -- '---\n{"apiVersion":"v1","kind":"Node","metadata":{"name":"n2"}}\n---\n{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"nodes-ns"}}\n---\n{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"kubelet-test","namespace":"nodes-ns"}}\n' >"$TMP/pre.yaml"
	ka create -f "$TMP/pre.yaml"
	ka create -f "$TMP/objs.yaml"
	# reads: the secret of its own pod, not another node's
	run kn1 get secret s1 -n nodes-ns -o name
	[ "$output" = secret/s1 ]
	run kn1 get secret s2 -n nodes-ns
	[ "$status" -eq 1 ]
	[ "$output" = "Error from server (Forbidden): secrets \"s2\" is forbidden: User \"system:node:n1\" cannot get resource \"secrets\" in API group \"\" in the namespace \"nodes-ns\": no relationship found between node 'n1' and this object" ]
	run kn1 get node n2
	[ "$status" -eq 1 ]
	[[ "$output" == 'Error from server (Forbidden): nodes "n2" is forbidden: User "system:node:n1" cannot get resource "nodes"'* ]]
	# writes: its own Node only, and only the kubelet's labels
	kn1 label node n1 topology.kubernetes.io/zone=z1
	run kn1 label node n1 node-role.kubernetes.io/control-plane=
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): nodes "n1" is forbidden: node "n1" is not allowed to modify labels: node-role.kubernetes.io/control-plane' ]
	run innet kubectl --kubeconfig "$K8S/kubelet-n1.conf" patch node n2 --type=merge \
		-p '{"metadata":{"labels":{"a":"b"}}}' </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *'nodes "n2" is forbidden'* ]]
	# pods: status of its own pods, never another node's
	grep client-certificate-data "$K8S/kubelet-n1.conf" | awk '{print $2}' | base64 -d >"$TMP/n1.crt"
	grep client-key-data "$K8S/kubelet-n1.conf" | awk '{print $2}' | base64 -d >"$TMP/n1.key"
	local url=https://127.0.0.1:6443/api/v1/namespaces/nodes-ns/pods
	run innet curl -s -o /dev/null -w '%{http_code}' --cacert "$K8S/pki/ca.crt" \
		--cert "$TMP/n1.crt" --key "$TMP/n1.key" -X PATCH \
		-H 'Content-Type: application/merge-patch+json' \
		-d '{"status":{"phase":"Running"}}' "$url/p1/status"
	[ "$output" = 200 ]
	run innet curl -s --cacert "$K8S/pki/ca.crt" --cert "$TMP/n1.crt" --key "$TMP/n1.key" \
		-X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d '{"status":{"phase":"Running"}}' "$url/p2/status"
	[[ "$output" == *'"message":"pods \"p2\" is forbidden: node \"n1\" can only update pod status for pods with spec.nodeName set to itself"'* ]]
	run kn1 delete pod p2 -n nodes-ns
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): pods "p2" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself' ]
	[ "$(ka get pod p2 -n nodes-ns -o jsonpath='{.spec.nodeName}')" = n2 ]
}

@test "RBAC objects: upstream's validation and printing" {
	run ka create role bad -n default --verb=get --resource=pods --dry-run=client -o json
	[ "$status" -eq 0 ]
	printf '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"bad","namespace":"default"},"rules":[{"verbs":[],"nonResourceURLs":["/x"]}]}' >"$TMP/bad-role.json"
	run ka create -f "$TMP/bad-role.json"
	[ "$status" -eq 1 ]
	[ "$output" = 'The Role "bad" is invalid: 
* rules[0].verbs: Required value: verbs must contain at least one value
* rules[0].nonResourceURLs: Invalid value: []string{"/x"}: namespaced rules cannot apply to non-resource URLs' ]
	run ka get clusterrolebinding system:node-proxier -o wide --no-headers
	[[ "$output" == "system:node-proxier "*"ClusterRole/system:node-proxier "*" system:kube-proxy "* ]]
	# roleRef is immutable
	ka create rolebinding rr -n default --clusterrole=view --user=x
	run ka patch rolebinding rr -n default --type=merge -p '{"roleRef":{"name":"edit"}}'
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot change roleRef"* ]]
}
