#!/usr/bin/env bats
# "Build a Minikube from scratch", step by step, with our binaries: a
# kubelet on ./manifests runs nginx and brings it back when its container
# is stopped; etcd and the API server join as static pods; the kubelet
# reconnects with a kubeconfig; a Deployment waits until the
# controller-manager and then the scheduler, both static pods from images of
# our own binaries, are dropped into ./manifests, and then its two pods run.
# The tutorial's /src files (its repository's resources) are written into
# src/ of the test's directory; its `docker ps` / `docker stop` /
# `docker inspect` are the node's crictl and runc. Commands run in a node
# network namespace of the test's own (lib/tutorial.bash). One @test per
# step; each builds on the ones before.

load lib/tutorial

setup_file() {
	if "$MK_BIN/kube-apiserver" --help 2>&1 | grep -q -- '--etcd-servers.*not supported yet'; then
		export TUT_SKIP="needs --etcd-servers"
		return 0
	fi
	tut_setup_file nginx etcd kube-apiserver kube-controller-manager kube-scheduler
	[ -n "${TUT_SKIP:-}" ] || write_src
}

teardown_file() {
	tut_teardown_file
}

setup() {
	tut_setup
}

teardown() {
	tut_teardown
}

# The tutorial's resources, as its repository has them; only the host paths
# of the kubeconfig mounts point into the test's directory, and the API
# server's manifest (the repository's is not shown) is the smallest one.
write_src() {
	mkdir -p "$T/home/src"
	cat >"$T/home/src/01-simple-nginx-pod.yml" <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata:
	  name: nginx
	spec:
	  containers:
	  - name: nginx
	    image: nginx
	    ports:
	    - containerPort: 80
	  hostName: k8s-master
	  # hostName: ubuntu-bionic
	EOF
	cat >"$T/home/src/02-api-server.yml" <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata:
	  labels:
	    component: kube-apiserver
	    tier: control-plane
	  name: kube-apiserver
	  namespace: kube-system
	spec:
	  containers:
	  - command:
	    - kube-apiserver
	    - --etcd-servers=http://127.0.0.1:2379
	    image: k8s.gcr.io/kube-apiserver:v1.17.0
	    imagePullPolicy: IfNotPresent
	    name: kube-apiserver
	  hostNetwork: true
	  priorityClassName: system-cluster-critical
	EOF
	cat >"$T/home/src/03-etcd.yml" <<-'EOF'
	apiVersion: v1
	kind: Pod
	metadata:
	  name: etcd
	  namespace: kube-system
	spec:
	  containers:
	  - name: etcd
	    image: bitnami/etcd
	    ports:
	    - containerPort: 2379
	    env:
	      - name: ALLOW_NONE_AUTHENTICATION
	        value: "yes"
	      - name: ETCD_ADVERTISE_CLIENT_URLS
	        value: http://0.0.0.0:2379
	  hostNetwork: true
	EOF
	cat >"$T/home/src/kubeconfig.yml" <<-'EOF'
	apiVersion: v1
	kind: Config
	clusters:
	- cluster:
	    server: http://127.0.0.1:8080
	  name: local
	contexts:
	- context:
	    cluster: local
	  name: local
	current-context: local
	EOF
	cat >"$T/home/src/04-nginx-deployment.yml" <<-'EOF'
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: nginx-deployment
	spec:
	  selector:
	    matchLabels:
	      app: nginx
	  replicas: 2
	  template:
	    metadata:
	      labels:
	        app: nginx
	    spec:
	      containers:
	      - name: nginx
	        image: nginx
	        ports:
	        - containerPort: 80
	EOF
	local c
	for c in controller-manager scheduler; do
		local file=05-controller-mngr.yml port=10257 cpu=200m extra="
    - --controllers=*,bootstrapsigner,tokencleaner"
		if [ $c = scheduler ]; then
			file=06-scheduler.yml port=10259 cpu=100m extra=
		fi
		cat >"$T/home/src/$file" <<-EOF
		apiVersion: v1
		kind: Pod
		metadata:
		  labels:
		    component: kube-$c
		    tier: control-plane
		  name: kube-$c
		  namespace: kube-system
		spec:
		  containers:
		  - command:
		    - kube-$c
		    - --bind-address=127.0.0.1$extra
		    - --kubeconfig=/etc/kubernetes/$c.conf
		    - --leader-elect=true
		    image: k8s.gcr.io/kube-$c:v1.17.0
		    imagePullPolicy: IfNotPresent
		    livenessProbe:
		      failureThreshold: 8
		      httpGet:
		        host: 127.0.0.1
		        path: /healthz
		        port: $port
		        scheme: HTTPS
		      initialDelaySeconds: 15
		      timeoutSeconds: 15
		    name: kube-$c
		    resources:
		      requests:
		        cpu: $cpu
		    volumeMounts:
		    - mountPath: /etc/kubernetes/$c.conf
		      name: kubeconfig
		      readOnly: true
		  hostNetwork: true
		  priorityClassName: system-cluster-critical
		  volumes:
		  - hostPath:
		      path: $T/home/src/kubeconfig.yml
		      type: FileOrCreate
		    name: kubeconfig
		EOF
	done
}

# container FIELD POD NAME: a field of the newest container NAME of the pod
# whose name starts with POD, from the node's crictl
container() {
	nodectl ps -a -o json | jq -r --arg p "$2" --arg n "$3" --arg f "$1" \
		'[.[] | select((.podName|startswith($p)) and .name == $n)] | max_by(.attempt) | .[$f] // empty'
}

deployment_pods() { # their phases, sorted, one a line
	kubectl get pods -l app=nginx -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | sort
}

@test "minikube: the kubelet runs nginx from ./manifests and restarts it when stopped" {
	mkdir manifests
	tut_kubelet --pod-manifest-path ./manifests
	wait_until 10 grep -q "standalone mode, no API client" "$T/kubelet.log"
	# no containers
	run nodectl ps
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^CONTAINER\ +IMAGE\ +CREATED\ +STATE\ +NAME ]]
	cp src/01-simple-nginx-pod.yml ./manifests/
	wait_until 30 eval '[ "$(container state nginx nginx)" = Running ]'
	run nodectl ps
	[[ "$output" == *"k8s_nginx_nginx-${NODE}_default_"*Running*nginx* ]]
	# the tutorial's `docker stop`: the container ends behind the kubelet's back
	node_runc kill "$(container id nginx nginx)" KILL
	wait_until 30 eval '[ "$(container attempt nginx nginx)" = 1 ] && [ "$(container state nginx nginx)" = Running ]'
}

@test "minikube: the pause container holds the pod's network; its IP serves nginx" {
	ip=$(nodectl pods -o json | jq -r --arg p "nginx-$NODE" '.[] | select(.name == $p) | .podIP')
	[[ "$ip" == 10.88.0.* ]]
	run curl -s "$ip"
	[[ "$output" == "<!DOCTYPE html>"*"<title>Welcome to nginx!</title>"* ]]
	# nginx and pause share one network namespace (docker's --network=container:)
	nginx_pid=$(node_runc state "$(container id nginx nginx)" | jq .pid)
	sandbox=$(nodectl pods -o json | jq -r --arg p "nginx-$NODE" '.[] | select(.name == $p) | .id')
	pause_pid=$(node_runc state "$sandbox" | jq .pid)
	[ "$(readlink /proc/$nginx_pid/ns/net)" = "$(readlink /proc/$pause_pid/ns/net)" ]
	[ "$(readlink /proc/$nginx_pid/ns/net)" != "$(readlink /proc/self/ns/net)" ]
}

@test "minikube: kubectl needs an API server" {
	run kubectl get pods
	[ "$status" -eq 1 ]
	echo "$output"
	# (after kubectl's own log lines of the attempts)
	[ "${lines[-1]}" = "The connection to the server localhost:8080 was refused - did you specify the right host or port?" ]
}

@test "minikube: etcd and the API server as static pods answer kubectl" {
	cp src/02-api-server.yml ./manifests/
	cp src/03-etcd.yml ./manifests/
	wait_until 60 curl -sf localhost:8080/healthz
	run kubectl get nodes
	[ "$status" -eq 0 ]
	[ "$output" = "No resources found" ]
}

@test "minikube: the kubelet restarted with a kubeconfig registers its node" {
	tut_stop kubelet
	tut_kubelet --pod-manifest-path ./manifests --kubeconfig src/kubeconfig.yml
	wait_until 30 eval 'kubectl get nodes | grep -q "^$NODE  *Ready "'
	run kubectl get nodes
	[[ "${lines[0]}" =~ ^NAME\ +STATUS\ +ROLES\ +AGE\ +VERSION$ ]]
	[[ "${lines[1]}" =~ ^$NODE\ +Ready\ +\<none\>\ +[0-9a-z]+\ +v1\. ]]
}

@test "minikube: a Deployment makes no ReplicaSet without the controller-manager" {
	run kubectl apply -f src/04-nginx-deployment.yml
	[ "$output" = "deployment.apps/nginx-deployment created" ]
	run kubectl get pods
	[[ "$output" != *nginx-deployment* ]] || false
	run kubectl get replicaset
	[ "$output" = "No resources found in default namespace." ]
}

@test "minikube: the controller-manager static pod makes the ReplicaSet; its pods are Pending" {
	cp src/05-controller-mngr.yml ./manifests/
	wait_until 60 eval 'kubectl get replicaset | grep -q "^nginx-deployment-"'
	run kubectl get replicaset
	echo "$output"
	[[ "${lines[0]}" =~ ^NAME\ +DESIRED\ +CURRENT\ +READY\ +AGE$ ]]
	[[ "${lines[1]}" =~ ^nginx-deployment-[a-z0-9]+\ +2\ +2\ +0\  ]]
	wait_eq 10 "$(printf 'Pending\nPending')" deployment_pods
	run kubectl get pods
	[ "$(grep -cE '^nginx-deployment-[a-z0-9]+-[a-z0-9]+ +0/1 +Pending +0 ' <<<"$output")" -eq 2 ]
}

@test "minikube: the scheduler static pod binds them and they run" {
	cp src/06-scheduler.yml ./manifests/
	wait_eq 60 "$(printf 'Running\nRunning')" deployment_pods
	run kubectl get pods
	echo "$output"
	[ "$(grep -cE '^nginx-deployment-[a-z0-9]+-[a-z0-9]+ +1/1 +Running +0 ' <<<"$output")" -eq 2 ]
	run kubectl get pods -l app=nginx -o jsonpath='{.items[*].spec.nodeName}'
	[ "$output" = "$NODE $NODE" ]
	# the control plane: four static pods, each from an image of its own
	run kubectl get pods -n kube-system
	echo "$output"
	for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
		[[ "$output" =~ $c-$NODE\ +1/1\ +Running ]]
	done
	# what runs in each is our binary, from the image mkimage made of it
	for c in kube-apiserver kube-controller-manager kube-scheduler; do
		[ "$(kubectl get pod -n kube-system "$c-$NODE" -o jsonpath='{.spec.containers[0].image}')" = "k8s.gcr.io/$c:v1.17.0" ]
		pid=$(node_runc state "$(container id "$c-$NODE" "$c")" | jq .pid)
		cmp "/proc/$pid/exe" "$MK_BIN/$c"
	done
}

# probed_since POD SECS: the pod's container has run for SECS seconds
probed_since() {
	local started
	started=$(kubectl get pod -n kube-system "$1" \
		-o jsonpath='{.status.containerStatuses[0].state.running.startedAt}') || return
	[ -n "$started" ] && [ $(($(date +%s) - $(date -d "$started" +%s))) -ge "$2" ]
}

@test "minikube: the control plane's HTTPS liveness probes pass and restart nothing" {
	local c port
	for c in kube-controller-manager:10257 kube-scheduler:10259; do
		port=${c#*:} c=${c%:*}
		# what the kubelet's probe asks, answered over TLS by a self-signed certificate
		[ "$(curl -sk "https://127.0.0.1:$port/healthz")" = ok ]
		run curl -s "https://127.0.0.1:$port/healthz"
		[ "$status" -eq 60 ] # not a certificate curl trusts: the probe must not verify it
		# its first run is due initialDelaySeconds (15) after the start, then
		# every periodSeconds (10): once both passed, it has run
		wait_until 40 probed_since "$c-$NODE" 27
		[ "$(kubectl get pod -n kube-system "$c-$NODE" -o jsonpath='{.status.containerStatuses[0].restartCount}')" = 0 ]
		run kubectl get events -n kube-system \
			--field-selector "involvedObject.name=$c-$NODE,reason=Unhealthy" -o name
		[ "$status" -eq 0 ]
		[ -z "$output" ]
	done
}
