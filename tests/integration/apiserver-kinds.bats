#!/usr/bin/env bats
# Per-kind behaviour seen through the real kubectl: defaults, validation
# messages, server-side printing, field selectors, and Service ClusterIP /
# NodePort allocation (also across a restart).

load lib/apiserver

setup_file() {
	apiserver_start --service-cluster-ip-range=10.96.0.0/16 --service-node-port-range=30000-30100
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

rand() {
	tr -dc 'a-z0-9' </dev/urandom | head -c 6
}

# put_status PATH JSON-OBJECT: replaces the status of the object at PATH.
put_status() {
	local obj
	obj=$(curl -fs "$MK_API_URL$1")
	obj=$(jq -c --argjson st "$2" '.status = $st' <<<"$obj")
	curl -fs -X PUT -H 'Content-Type: application/json' --data-binary "$obj" \
		"$MK_API_URL$1/status" >/dev/null
}

@test "defaults: pods, deployments and services as upstream" {
	p=p-$(rand)
	kubectl run "$p" --image=nginx
	[ "$(kubectl get pod "$p" -o jsonpath='{.spec.restartPolicy} {.spec.dnsPolicy} {.spec.terminationGracePeriodSeconds} {.spec.schedulerName} {.spec.containers[0].imagePullPolicy} {.status.phase} {.status.qosClass}')" = \
		"Always ClusterFirst 30 default-scheduler Always Pending BestEffort" ]
	d=d-$(rand)
	kubectl create deployment "$d" --image=nginx:1.25
	[ "$(kubectl get deploy "$d" -o jsonpath='{.spec.replicas} {.spec.strategy.type} {.spec.strategy.rollingUpdate.maxSurge} {.spec.strategy.rollingUpdate.maxUnavailable} {.spec.revisionHistoryLimit} {.spec.progressDeadlineSeconds} {.spec.template.spec.containers[0].imagePullPolicy}')" = \
		"1 RollingUpdate 25% 25% 10 600 IfNotPresent" ]
	kubectl expose deployment "$d" --port=80
	[ "$(kubectl get svc "$d" -o jsonpath='{.spec.type} {.spec.sessionAffinity} {.spec.ports[0].protocol} {.spec.ports[0].targetPort} {.spec.ipFamilyPolicy} {.spec.internalTrafficPolicy}')" = \
		"ClusterIP None TCP 80 SingleStack Cluster" ]
	[[ "$(kubectl get svc "$d" -o jsonpath='{.spec.clusterIP}')" =~ ^10\.96\.[0-9]+\.[0-9]+$ ]]
}

@test "validation: kubectl prints upstream's messages" {
	d=v-$(rand)
	cat >"$MK_API_TMP/bad.yaml" <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: $d}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: web, image: nginx}]}
Y
	run kubectl apply -f "$MK_API_TMP/bad.yaml"
	[ "$status" -ne 0 ]
	[ "$output" = "The Deployment \"$d\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"api\"}: \`selector\` does not match template \`labels\`" ]

	cat >"$MK_API_TMP/pod.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: $d}
spec: {containers: [{name: a, image: ""}, {name: a, image: x, ports: [{containerPort: 70000}]}]}
Y
	run kubectl apply -f "$MK_API_TMP/pod.yaml"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = "The Pod \"$d\" is invalid: " ]
	[ "${lines[1]}" = "* spec.containers[0].image: Required value" ]
	[ "${lines[2]}" = "* spec.containers[1].name: Duplicate value: \"a\"" ]
	[ "${lines[3]}" = "* spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive" ]

	r=$(curl -s -X POST -H 'Content-Type: application/json' "$MK_API_URL/api/v1/namespaces/default/services" \
		--data-binary "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$d\"},\"spec\":{}}")
	[ "$(jq -r .code <<<"$r")" = 422 ]
	[ "$(jq -r .message <<<"$r")" = "Service \"$d\" is invalid: spec.ports: Required value" ]
	[ "$(jq -c '.details.causes' <<<"$r")" = '[{"reason":"FieldValueRequired","message":"Required value","field":"spec.ports"}]' ]
}

@test "printing: pod, node and service columns and cells" {
	p=c-$(rand)
	kubectl run "$p" --image=busybox
	[[ "$(kubectl get pods -o wide | head -1)" =~ ^NAME\ +READY\ +STATUS\ +RESTARTS\ +AGE\ +IP\ +NODE\ +NOMINATED\ NODE\ +READINESS\ GATES$ ]]
	put_status "/api/v1/namespaces/default/pods/$p" "{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"10.244.1.7\"}],
		\"containerStatuses\":[{\"name\":\"$p\",\"image\":\"busybox\",\"imageID\":\"\",\"ready\":false,\"restartCount\":4,
		\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},
		\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\",\"finishedAt\":\"$(date -u -d '-3 min' +%Y-%m-%dT%H:%M:%SZ)\"}}}]}"
	run kubectl get pod "$p" -o wide --no-headers
	[[ "$output" =~ ^$p\ +0/1\ +CrashLoopBackOff\ +4\ \(3m[0-9]*s?\ ago\)\ +[0-9]+s\ +10\.244\.1\.7\ +\<none\>\ +\<none\>\ +\<none\>$ ]]

	n=n-$(rand)
	kubectl apply -f - <<Y
apiVersion: v1
kind: Node
metadata: {name: $n, labels: {node-role.kubernetes.io/control-plane: ""}}
spec: {unschedulable: true}
Y
	put_status "/api/v1/nodes/$n" '{"conditions":[{"type":"Ready","status":"True"}],"addresses":[{"type":"InternalIP","address":"192.0.2.4"}],"nodeInfo":{"kubeletVersion":"v1.32.0","osImage":"Test OS","kernelVersion":"6.1","containerRuntimeVersion":"mink8s://0.1","machineID":"","systemUUID":"","bootID":"","operatingSystem":"linux","architecture":"amd64","kubeProxyVersion":""}}'
	run kubectl get node "$n" -o wide --no-headers
	[[ "$output" =~ ^$n\ +Ready,SchedulingDisabled\ +control-plane\ +[0-9]+s\ +v1\.32\.0\ +192\.0\.2\.4\ +\<none\>\ +Test\ OS\ +6\.1\ +mink8s://0\.1$ ]]
	[ "$(kubectl get nodes --field-selector spec.unschedulable=true -o name)" = "node/$n" ]

	s=s-$(rand)
	kubectl create service nodeport "$s" --tcp=80:8080 --node-port=30042
	run kubectl get svc "$s" -o wide --no-headers
	[[ "$output" =~ ^$s\ +NodePort\ +10\.96\.[0-9.]+\ +\<none\>\ +80:30042/TCP\ +[0-9]+s\ +app=$s$ ]]
	[[ "$(kubectl get cs 2>/dev/null | head -1)" =~ ^NAME\ +STATUS\ +MESSAGE\ +ERROR$ ]]
	[[ "$(kubectl get cs 2>/dev/null | grep '^etcd-0')" =~ ^etcd-0\ +Healthy\ +ok ]]
}

@test "field selectors: pods by node and phase, events by involved object" {
	p=f-$(rand)
	kubectl run "$p" --image=busybox
	curl -fs -X POST -H 'Content-Type: application/json' "$MK_API_URL/api/v1/namespaces/default/pods/$p/binding" \
		--data-binary "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"$p\"},\"target\":{\"kind\":\"Node\",\"name\":\"node-$p\"}}" >/dev/null
	[ "$(kubectl get pods --field-selector spec.nodeName=node-$p -o name)" = "pod/$p" ]
	[ "$(kubectl get pods --field-selector spec.nodeName=node-$p,status.phase=Running -o name)" = "" ]
	uid=$(kubectl get pod "$p" -o jsonpath='{.metadata.uid}')
	kubectl apply -f - <<Y
apiVersion: v1
kind: Event
metadata: {name: $p.1}
involvedObject: {kind: Pod, namespace: default, name: $p, uid: $uid}
reason: Scheduled
message: assigned
type: Normal
source: {component: default-scheduler}
Y
	[ "$(kubectl get events --field-selector involvedObject.kind=Pod,involvedObject.name=$p -o name)" = "event/$p.1" ]
	[ "$(kubectl get events --field-selector involvedObject.uid=$uid,reason=Scheduled,source=default-scheduler -o name)" = "event/$p.1" ]
	run kubectl get events --field-selector "involvedObject.name=$p" --no-headers
	[[ "$output" =~ Normal\ +Scheduled\ +pod/$p\ +assigned$ ]]
}

@test "services: requested IPs and ports honoured or refused, released, kept across a restart" {
	a=a-$(rand)
	kubectl create service clusterip "$a" --tcp=80 --clusterip=10.96.200.1
	[ "$(kubectl get svc "$a" -o jsonpath='{.spec.clusterIPs[0]}')" = 10.96.200.1 ]
	b=b-$(rand)
	run kubectl create service clusterip "$b" --tcp=80 --clusterip=10.96.200.1
	[ "$status" -ne 0 ]
	[ "$output" = "error: failed to create ClusterIP service: Service \"$b\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.200.1\"}: failed to allocate IP 10.96.200.1: provided IP is already allocated" ]
	run kubectl create service clusterip "$b" --tcp=80 --clusterip=10.0.0.1
	[ "$output" = "error: failed to create ClusterIP service: Service \"$b\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.0.0.1\"}: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/16" ]
	kubectl create service clusterip "$b" --clusterip=None
	[ "$(kubectl get svc "$b" -o jsonpath='{.spec.clusterIPs[0]}')" = None ]

	n1=n-$(rand)
	kubectl create service nodeport "$n1" --tcp=80 --node-port=30077
	run kubectl create service nodeport "x$n1" --tcp=80 --node-port=30077
	[ "$output" = "error: failed to create NodePort service: Service \"x$n1\" is invalid: spec.ports[0].nodePort: Invalid value: 30077: provided port is already allocated" ]
	run kubectl create service nodeport "x$n1" --tcp=80 --node-port=31000
	[ "$output" = "error: failed to create NodePort service: Service \"x$n1\" is invalid: spec.ports[0].nodePort: Invalid value: 31000: provided port is not in the valid range. The range of valid ports is 30000-30100" ]

	# NodePort -> ClusterIP through apply gives the port back.
	kubectl get svc "$n1" -o json | jq '.spec.type = "ClusterIP" | del(.spec.ports[0].nodePort) | del(.metadata.resourceVersion)' >"$MK_API_TMP/n1.json"
	kubectl apply -f "$MK_API_TMP/n1.json"
	[ "$(kubectl get svc "$n1" -o jsonpath='{.spec.type}{.spec.ports[0].nodePort}')" = ClusterIP ]
	kubectl create service nodeport "y$n1" --tcp=80 --node-port=30077

	# Deleting releases the address.
	kubectl delete svc "$a"
	kubectl create service clusterip "$a" --tcp=80 --clusterip=10.96.200.1

	# After a restart the stored Services still hold theirs.
	apiserver_kill KILL
	apiserver_start --service-cluster-ip-range=10.96.0.0/16 --service-node-port-range=30000-30100
	run kubectl create service clusterip "z$a" --tcp=80 --clusterip=10.96.200.1
	[[ "$output" == *"provided IP is already allocated" ]]
	run kubectl create service nodeport "z$n1" --tcp=80 --node-port=30077
	[[ "$output" == *"provided port is already allocated" ]]
	[ "$(kubectl get svc kubernetes -o jsonpath='{.spec.clusterIP}')" = 10.96.0.1 ]
}

# lb NAME ETP [HC] [NODEPORT]: applies a LoadBalancer Service.
lb() {
	kubectl apply -f - <<Y
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  type: LoadBalancer
  externalTrafficPolicy: $2
${3:+  healthCheckNodePort: $3}
  selector: {app: $1}
  ports:
  - {port: 80${4:+, nodePort: $4}}
Y
}

hc_of() {
	kubectl get svc "$1" -o jsonpath='{.spec.healthCheckNodePort}'
}

@test "services: health check node port allocated, checked, kept, released as upstream" {
	# allocated when eTP becomes Local, from the node port range
	h1=h-$(rand)
	kubectl create service loadbalancer "$h1" --tcp=80:8080
	[ -z "$(hc_of "$h1")" ]
	kubectl patch svc "$h1" -p '{"spec":{"externalTrafficPolicy":"Local"}}'
	p1=$(hc_of "$h1")
	[[ "$p1" =~ ^[0-9]+$ ]] && [ "$p1" -ge 30000 ] && [ "$p1" -le 30100 ]
	kubectl get svc "$h1" -o yaml | grep -q "healthCheckNodePort: $p1"
	[ "$p1" != "$(kubectl get svc "$h1" -o jsonpath='{.spec.ports[0].nodePort}')" ]
	# an update that leaves it out keeps it; changing it is refused
	kubectl get svc "$h1" -o json | jq 'del(.spec.healthCheckNodePort) | del(.metadata.resourceVersion)' >"$MK_API_TMP/h1.json"
	kubectl replace -f "$MK_API_TMP/h1.json"
	[ "$(hc_of "$h1")" = "$p1" ]
	kubectl label svc "$h1" touched=yes
	[ "$(hc_of "$h1")" = "$p1" ]
	run kubectl patch svc "$h1" -p '{"spec":{"healthCheckNodePort":30009}}'
	[ "$status" -ne 0 ]
	[ "$output" = "The Service \"$h1\" is invalid: spec.healthCheckNodePort: Forbidden: field is immutable" ]

	# allocated on create, or taken as given
	h2=h-$(rand)
	lb "$h2" Local
	[[ "$(hc_of "$h2")" =~ ^300[0-9][0-9]$|^30100$ ]]
	h3=h-$(rand)
	lb "$h3" Local 30003 30004
	[ "$(hc_of "$h3")" = 30003 ]

	# a port another Service holds, or one out of range, is refused with
	# upstream's internal error, and nothing is left allocated
	h4=h-$(rand)
	run lb "$h4" Local 30004
	[ "$status" -ne 0 ]
	[[ "$output" == *"Error from server (InternalError): "*": Internal error occurred: failed to allocate requested HealthCheck NodePort 30004: provided port is already allocated" ]]
	run lb "$h4" Local 31000 30005
	[ "$status" -ne 0 ]
	[[ "$output" == *"Internal error occurred: failed to allocate requested HealthCheck NodePort 31000: provided port is not in the valid range. The range of valid ports is 30000-30100" ]]
	run kubectl get svc "$h4"
	[ "$status" -ne 0 ]
	kubectl create service nodeport "n$h4" --tcp=80 --node-port=30005
	# a nodePort cannot take a health check port either
	run kubectl create service nodeport "x$h4" --tcp=80 --node-port=30003
	[ "$output" = "error: failed to create NodePort service: Service \"x$h4\" is invalid: spec.ports[0].nodePort: Invalid value: 30003: provided port is already allocated" ]

	# only for a LoadBalancer with eTP Local
	run lb "$h4" Cluster 30006
	[ "$status" -ne 0 ]
	[[ "$output" == *"spec.healthCheckNodePort: Invalid value: 30006: may only be set when \`type\` is 'LoadBalancer' and \`externalTrafficPolicy\` is 'Local'" ]]
	run kubectl apply -f - <<Y
apiVersion: v1
kind: Service
metadata: {name: $h4}
spec: {healthCheckNodePort: 30006, ports: [{port: 80}]}
Y
	[ "$status" -ne 0 ]
	[[ "$output" == *"The Service \"$h4\" is invalid: spec.healthCheckNodePort: Invalid value: 30006: may only be set when \`type\` is 'LoadBalancer' and \`externalTrafficPolicy\` is 'Local'" ]]

	# eTP back to Cluster clears it and frees the port for someone else
	lb "$h3" Cluster
	[ -z "$(hc_of "$h3")" ]
	kubectl create service nodeport "y$h4" --tcp=80 --node-port=30003
	# and Local again takes a new one
	lb "$h3" Local 30007
	[ "$(hc_of "$h3")" = 30007 ]
	# a type change gives it back as well
	kubectl get svc "$h3" -o json | jq '.spec.type = "ClusterIP" | del(.spec.ports[0].nodePort) | del(.spec.externalTrafficPolicy) | del(.metadata.resourceVersion)' >"$MK_API_TMP/h3.json"
	kubectl apply -f "$MK_API_TMP/h3.json"
	[ "$(kubectl get svc "$h3" -o jsonpath='{.spec.type}{.spec.healthCheckNodePort}')" = ClusterIP ]
	kubectl create service nodeport "z$h4" --tcp=80 --node-port=30007

	# released by delete (kept across a restart: allocator unit tests)
	lb "$h4" Local 30008
	run kubectl create service nodeport "w$h4" --tcp=80 --node-port=30008
	[[ "$output" == *"provided port is already allocated" ]]
	kubectl delete svc "$h4"
	kubectl create service nodeport "w$h4" --tcp=80 --node-port=30008
	kubectl delete svc "$h1" "$h2" "$h3" "n$h4" "y$h4" "z$h4" "w$h4"
}

@test "validation: what kube-proxy cannot program (affinity timeouts, special external IPs, slice ports) is refused" {
	s=aff-$(rand)
	kubectl create service clusterip "$s" --tcp=80
	# ClientIP affinity gets upstream's default timeout
	kubectl patch svc "$s" -p '{"spec":{"sessionAffinity":"ClientIP"}}'
	[ "$(kubectl get svc "$s" -o jsonpath='{.spec.sessionAffinityConfig.clientIP.timeoutSeconds}')" = 10800 ]
	rv=$(kubectl get svc "$s" -o jsonpath='{.metadata.resourceVersion}')
	for t in -5 0 86401; do
		run kubectl patch svc "$s" -p "{\"spec\":{\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":$t}}}}"
		echo "$output"
		[ "$status" -ne 0 ]
		[ "$output" = "The Service \"$s\" is invalid: spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: $t: must be greater than 0 and less than 86400" ]
	done
	# what is no int32 does not even decode
	for t in 99999999999 '"abc"'; do
		run kubectl patch svc "$s" -p "{\"spec\":{\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":$t}}}}"
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"into Go struct field ClientIPConfig.spec.sessionAffinityConfig.clientIP.timeoutSeconds of type int32" ]]
	done
	# the same over plain HTTP: 422 Invalid, with the field in the causes
	code=$(curl -s -o "$MK_API_TMP/out" -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' \
		--data-binary '{"spec":{"sessionAffinityConfig":{"clientIP":{"timeoutSeconds":-5}}}}' \
		"$MK_API_URL/api/v1/namespaces/default/services/$s")
	[ "$code" = 422 ]
	[ "$(jq -r '.reason + " " + .details.causes[0].field' "$MK_API_TMP/out")" = "Invalid spec.sessionAffinityConfig.clientIP.timeoutSeconds" ]
	# nothing was stored
	[ "$(kubectl get svc "$s" -o jsonpath='{.metadata.resourceVersion}')" = "$rv" ]
	kubectl patch svc "$s" -p '{"spec":{"sessionAffinityConfig":{"clientIP":{"timeoutSeconds":86400}}}}'

	for ip in 0.0.0.0 127.0.0.1 224.0.0.1 169.254.169.254 ::1; do
		run kubectl patch svc "$s" -p "{\"spec\":{\"externalIPs\":[\"$ip\"]}}"
		echo "$output"
		[ "$status" -ne 0 ]
		case $ip in
		0.0.0.0) want="may not be unspecified (0.0.0.0)" ;;
		127.0.0.1 | ::1) want="may not be in the loopback range (127.0.0.0/8, ::1/128)" ;;
		224.0.0.1) want="may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)" ;;
		*) want="may not be in the link-local range (169.254.0.0/16, fe80::/10)" ;;
		esac
		[ "$output" = "The Service \"$s\" is invalid: spec.externalIPs[0]: Invalid value: \"$ip\": $want" ]
	done
	run kubectl patch svc "$s" -p '{"spec":{"externalIPs":["10.1.2.3","nope"]}}'
	[ "$output" = "The Service \"$s\" is invalid: spec.externalIPs[1]: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)" ]
	kubectl patch svc "$s" -p '{"spec":{"externalIPs":["10.1.2.3"]}}'
	[ "$(kubectl get svc "$s" -o jsonpath='{.spec.externalIPs[0]}')" = 10.1.2.3 ]

	e=$s-abcde
	cat >"$MK_API_TMP/slice.yaml" <<Y
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $e, labels: {kubernetes.io/service-name: $s}}
addressType: IPv4
ports: [{name: "", port: 70000, protocol: TCP}]
endpoints: [{addresses: [10.244.1.11]}]
Y
	run kubectl apply -f "$MK_API_TMP/slice.yaml"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"The EndpointSlice \"$e\" is invalid: ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive" ]]
	run kubectl get endpointslice "$e"
	[ "$status" -ne 0 ]
	sed -i 's/70000/8080/; s/10.244.1.11/127.0.0.1/' "$MK_API_TMP/slice.yaml"
	run kubectl apply -f "$MK_API_TMP/slice.yaml"
	[[ "$output" == *"endpoints[0].addresses[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)" ]]
	sed -i 's/127.0.0.1/10.244.1.11/' "$MK_API_TMP/slice.yaml"
	kubectl apply -f "$MK_API_TMP/slice.yaml"
	[ "$(kubectl get endpointslice "$e" -o jsonpath='{.ports[0].port}')" = 8080 ]
	kubectl delete endpointslice "$e"
	kubectl delete svc "$s"
}

@test "services: a NodePort Service with more than 64 ports is updated and deleted without losing a port" {
	s=many-$(rand)
	python3 -c 'import json, sys
print(json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": sys.argv[1]},
                  "spec": {"type": "NodePort", "ports": [{"name": "p%d" % i, "port": 1000 + i}
                                                         for i in range(70)]}}))' "$s" >"$MK_API_TMP/many.json"
	kubectl apply -f "$MK_API_TMP/many.json"
	kubectl get svc "$s" -o json | jq -c '[.spec.ports[].nodePort] | sort' >"$MK_API_TMP/np"
	[ "$(jq 'unique | length' "$MK_API_TMP/np")" = 70 ]
	# an update keeps every one of them
	kubectl label svc "$s" touched=yes
	kubectl patch svc "$s" --type=json -p '[{"op":"replace","path":"/spec/ports/69/port","value":2000}]'
	[ "$(kubectl get svc "$s" -o json | jq -c '[.spec.ports[].nodePort] | sort')" = "$(cat "$MK_API_TMP/np")" ]
	# deleting gives back all 70: the same ports can be asked for again
	kubectl delete svc "$s"
	jq --slurpfile np "$MK_API_TMP/np" '.spec.ports |= [to_entries[] | .value + {nodePort: $np[0][.key]}]' \
		"$MK_API_TMP/many.json" >"$MK_API_TMP/again.json"
	kubectl apply -f "$MK_API_TMP/again.json"
	[ "$(kubectl get svc "$s" -o json | jq -c '[.spec.ports[].nodePort] | sort')" = "$(cat "$MK_API_TMP/np")" ]
	kubectl delete svc "$s"
}
