#!/usr/bin/env bats
# The admission chain through the real kubectl: upstream's plugin flags and
# messages for NamespaceLifecycle, ServiceAccount, DefaultTolerationSeconds,
# LimitRanger, ResourceQuota (with the controller-manager's quota controller)
# and PodSecurity. One API server with upstream's default chain and one
# controller-manager (serviceaccount and resourcequota controllers) serve the
# whole file; each test works in namespaces of its own.

load lib/apiserver

setup_file() {
	# upstream's default chain, ServiceAccount included
	MK_API_ADMISSION="" apiserver_start
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
	"$MK_BIN/kube-controller-manager" --master="$MK_API_URL" --leader-elect=false \
		--secure-port=0 --controllers=serviceaccount,resourcequota \
		>>"$MK_API_TMP/cm.log" 2>&1 3>&- &
	echo $! >"$MK_API_TMP/cm.pid"
}

teardown_file() {
	if [ -s "$MK_API_TMP/cm.pid" ]; then
		kill "$(cat "$MK_API_TMP/cm.pid")" 2>/dev/null || true
	fi
	apiserver_stop
}

setup() {
	NS=adm-$(tr -dc 'a-z0-9' </dev/urandom | head -c 6)
	OTHER_PIDS=()
}

teardown() {
	local p
	for p in "${OTHER_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${OTHER_TMP:-}" ]; then
		rm -rf "$OTHER_TMP"
	fi
}

wait_diagnose() {
	tail -20 "$MK_API_TMP/cm.log"
}

# ns_ready NAME: a namespace whose default ServiceAccount the controller made
ns_ready() {
	kubectl create namespace "$1" >/dev/null
	wait_until 10 kubectl -n "$1" get serviceaccount default
}

@test "admission flags: unknown names and the config file refuse to start, with upstream's words" {
	run "$MK_BIN/kube-apiserver" --enable-admission-plugins=NamespaceLifecycle,Foo
	[ "$status" -eq 1 ]
	[ "$output" = 'Error: enable-admission-plugins plugin "Foo" is unknown' ]
	run "$MK_BIN/kube-apiserver" --disable-admission-plugins=Bar,Baz
	[ "$status" -eq 1 ]
	[ "$output" = 'Error: [disable-admission-plugins plugin "Bar" is unknown, disable-admission-plugins plugin "Baz" is unknown]' ]
	run "$MK_BIN/kube-apiserver" --enable-admission-plugins=LimitRanger --disable-admission-plugins=LimitRanger
	[ "$status" -eq 1 ]
	[ "$output" = 'Error: [LimitRanger] in enable-admission-plugins and disable-admission-plugins overlapped' ]
	run "$MK_BIN/kube-apiserver" --admission-control-config-file=admission.yaml
	[ "$status" -eq 1 ]
	[[ "$output" == "Error: --admission-control-config-file is not supported"* ]]
	# the default chain in upstream's order, as the server logged it
	grep -q 'Loaded admission plugins in order: NamespaceLifecycle,LimitRanger,ServiceAccount,.*PodSecurity,.*DefaultTolerationSeconds,.*ResourceQuota$' "$MK_API_LOG"
}

@test "NamespaceLifecycle: no create in a missing or terminating namespace, no delete of default" {
	run kubectl delete namespace default
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted' ]
	run kubectl -n "$NS" create configmap c
	[ "$output" = "error: failed to create configmap: namespaces \"$NS\" not found" ]
	kubectl create namespace "$NS"
	kubectl -n "$NS" create configmap c
	# no namespace controller runs: the namespace stays Terminating
	kubectl delete namespace "$NS" --wait=false
	wait_eq 10 Terminating kubectl get namespace "$NS" -o jsonpath='{.status.phase}'
	run kubectl -n "$NS" create configmap d
	[ "$status" -eq 1 ]
	[ "$output" = "error: failed to create configmap: configmaps \"d\" is forbidden: unable to create new content in namespace $NS because it is being terminated" ]
}

@test "ServiceAccount and DefaultTolerationSeconds: the default account, upstream's refusal, 300 s tolerations" {
	ns_ready "$NS"
	kubectl -n "$NS" run web --image=nginx
	run kubectl -n "$NS" get pod web -o jsonpath='{.spec.serviceAccountName} {range .spec.tolerations[*]}{.key}={.tolerationSeconds} {end}'
	[ "$output" = "default node.kubernetes.io/not-ready=300 node.kubernetes.io/unreachable=300 " ]
	run kubectl -n "$NS" run robot --image=nginx --overrides='{"spec":{"serviceAccountName":"robot"}}'
	[ "$status" -eq 1 ]
	[ "$output" = "Error from server (Forbidden): pods \"robot\" is forbidden: error looking up service account $NS/robot: serviceaccount \"robot\" not found" ]
	kubectl -n "$NS" create serviceaccount robot
	kubectl -n "$NS" run robot --image=nginx --overrides='{"spec":{"serviceAccountName":"robot"}}'
	[ "$(kubectl -n "$NS" get pod robot -o jsonpath='{.spec.serviceAccount}')" = robot ]
}

@test "LimitRanger: LimitRange defaults land in the pod; min and max refuse with upstream's text" {
	ns_ready "$NS"
	kubectl -n "$NS" apply -f - <<-'EOF'
	apiVersion: v1
	kind: LimitRange
	metadata:
	  name: limits
	spec:
	  limits:
	  - type: Container
	    default: {cpu: 500m, memory: 128Mi}
	    defaultRequest: {cpu: 250m}
	    max: {cpu: "1"}
	    min: {cpu: 100m}
	EOF
	# the LimitRange's own defaults: the default request of memory is its default limit
	[ "$(kubectl -n "$NS" get limitrange limits -o jsonpath='{.spec.limits[0].defaultRequest.memory}')" = 128Mi ]
	[[ "$(kubectl -n "$NS" get limits)" =~ ^NAME\ +CREATED\ AT$'\n'limits\ +[0-9]{4}-[0-9]{2}-[0-9]{2}T ]]
	kubectl -n "$NS" run web --image=nginx
	run kubectl -n "$NS" get pod web -o jsonpath='{.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.requests.memory} {.spec.containers[0].resources.limits.cpu} {.spec.containers[0].resources.limits.memory}'
	[ "$output" = "250m 128Mi 500m 128Mi" ]
	[ "$(kubectl -n "$NS" get pod web -o jsonpath='{.metadata.annotations.kubernetes\.io/limit-ranger}')" = \
		"LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web" ]
	run kubectl -n "$NS" run big --image=nginx --overrides='{"spec":{"containers":[{"name":"big","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}'
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2' ]
	run kubectl -n "$NS" run odd --image=nginx --overrides='{"spec":{"containers":[{"name":"odd","image":"nginx","resources":{"requests":{"cpu":"50m"},"limits":{"cpu":"2"}}}]}}'
	[ "$output" = 'Error from server (Forbidden): pods "odd" is forbidden: [minimum cpu usage per Container is 100m, but request is 50m, maximum cpu usage per Container is 1, but limit is 2]' ]
	[ "$(kubectl -n "$NS" get pods -o name)" = pod/web ]
}

@test "ResourceQuota: a pod over quota is refused with upstream's 403; the controller keeps status.used" {
	ns_ready "$NS"
	kubectl -n "$NS" create quota q --hard=pods=2,count/configmaps=5
	wait_eq 10 "0 2" kubectl -n "$NS" get quota q -o jsonpath='{.status.used.pods} {.status.hard.pods}'
	kubectl -n "$NS" run a --image=nginx
	kubectl -n "$NS" run b --image=nginx
	run kubectl -n "$NS" run c --image=nginx
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2' ]
	# the refusal is a Status with upstream's code and reason
	run curl -s -XPOST -H 'Content-Type: application/json' "$MK_API_URL/api/v1/namespaces/$NS/pods" \
		-d '{"metadata":{"name":"d"},"spec":{"containers":[{"name":"d","image":"nginx"}]}}'
	[ "$(jq -r '"\(.code) \(.reason)"' <<<"$output")" = "403 Forbidden" ]
	run kubectl -n "$NS" get quota q
	[[ "${lines[0]}" =~ ^NAME\ +AGE\ +REQUEST\ +LIMIT$ ]]
	[[ "${lines[1]}" =~ ^q\ +[0-9]+s\ +count/configmaps:\ 0/5,\ pods:\ 2/2\ *$ ]]
	# a pod gone frees its share: the controller lowers status.used
	kubectl -n "$NS" delete pod a --wait=false
	wait_eq 10 1 kubectl -n "$NS" get quota q -o jsonpath='{.status.used.pods}'
	kubectl -n "$NS" run c --image=nginx
	[ "$(kubectl -n "$NS" get quota q -o jsonpath='{.status.used.pods}')" = 2 ]
}

@test "ResourceQuota: a compute quota needs requests; cpu is charged in milli-units" {
	ns_ready "$NS"
	kubectl -n "$NS" create quota cpu --hard=requests.cpu=1
	wait_eq 10 0 kubectl -n "$NS" get quota cpu -o jsonpath='{.status.used.requests\.cpu}'
	run kubectl -n "$NS" run bare --image=nginx
	[ "$output" = 'Error from server (Forbidden): pods "bare" is forbidden: failed quota: cpu: must specify requests.cpu for: bare' ]
	kubectl -n "$NS" run half --image=nginx --overrides='{"spec":{"containers":[{"name":"half","image":"nginx","resources":{"requests":{"cpu":"600m"}}}]}}'
	[ "$(kubectl -n "$NS" get quota cpu -o jsonpath='{.status.used.requests\.cpu}')" = 600m ]
	run kubectl -n "$NS" run more --image=nginx --overrides='{"spec":{"containers":[{"name":"more","image":"nginx","resources":{"requests":{"cpu":"500m"}}}]}}'
	[ "$output" = 'Error from server (Forbidden): pods "more" is forbidden: exceeded quota: cpu, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1' ]
}

@test "PodSecurity: a privileged pod is refused in a restricted namespace; warn answers a Warning" {
	ns_ready "$NS"
	kubectl label namespace "$NS" pod-security.kubernetes.io/enforce=restricted
	run kubectl -n "$NS" run priv --image=nginx --privileged
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "priv" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "priv" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "priv" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "priv" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "priv" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")' ]
	# a pod that meets restricted is admitted
	kubectl -n "$NS" run ok --image=nginx --overrides='{"spec":{"securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"ok","image":"nginx","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}'
	# baseline enforced, restricted warned: admitted with kubectl's Warning line
	kubectl label namespace "$NS" --overwrite pod-security.kubernetes.io/enforce=baseline pod-security.kubernetes.io/warn=restricted
	run kubectl -n "$NS" run plain --image=nginx
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "plain" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "plain" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "plain" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "plain" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")' ]
	[ "${lines[1]}" = "pod/plain created" ]
	run kubectl -n "$NS" run host --image=nginx --overrides='{"spec":{"hostNetwork":true}}'
	[ "$output" = 'Error from server (Forbidden): pods "host" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)' ]
}

@test "the flags turn plugins off and set the toleration seconds" {
	OTHER_TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-adm.XXXXXX")
	local port
	port=$(_apiserver_free_port)
	"$MK_BIN/kube-apiserver" --insecure-port="$port" --data-dir="$OTHER_TMP" \
		--disable-admission-plugins=ServiceAccount,PodSecurity \
		--default-not-ready-toleration-seconds=60 >"$OTHER_TMP/log" 2>&1 3>&- &
	OTHER_PIDS+=($!)
	wait_until 10 curl -fs "http://127.0.0.1:$port/healthz"
	k() { kubectl -s "http://127.0.0.1:$port" "$@"; }
	k create namespace "$NS"
	k label namespace "$NS" pod-security.kubernetes.io/enforce=restricted
	# no ServiceAccount exists and none is asked for; PodSecurity is off
	run k -n "$NS" run priv --image=nginx --privileged
	[ "$output" = "pod/priv created" ]
	run k -n "$NS" get pod priv -o jsonpath='{.spec.serviceAccountName}|{range .spec.tolerations[*]}{.key}={.tolerationSeconds} {end}'
	[ "$output" = "|node.kubernetes.io/not-ready=60 node.kubernetes.io/unreachable=300 " ]
}
