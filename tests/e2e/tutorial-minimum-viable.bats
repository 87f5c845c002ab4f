#!/usr/bin/env bats
# "Minimum viable Kubernetes", step by step, with our binaries: a kubelet on
# static pods, etcd and the API server as static pods on the host network,
# the kubelet connected through a hand-written kubeconfig, then pods through
# the API. Commands are typed as the tutorial prints them; what a test must
# change: the machine is a network namespace of the test's own, /var/lib/etcd
# is a directory of the test, `docker ps` / `docker logs` are the node's
# crictl (nodectl), and the kubelet gets the test's root directory and
# registry mirror (lib/tutorial.bash). One @test per section; each builds on
# the ones before.

load lib/tutorial

setup_file() {
	tut_setup_file busybox nginx curl etcd kube-apiserver
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

needs_etcd_servers() {
	if "$MK_BIN/kube-apiserver" --help 2>&1 | grep -q -- '--etcd-servers.*not supported yet'; then
		skip "needs --etcd-servers"
	fi
}

# attempts POD NAME: the highest attempt number of container NAME of the pod
# whose name starts with POD (-1: none yet)
attempts() {
	nodectl ps -a -o json | jq -r --arg p "$1" --arg n "$2" \
		'[.[] | select((.podName|startswith($p)) and .name == $n) | .attempt] | max // -1'
}

running() { # POD NAME
	[ "$(nodectl ps -o json | jq -r --arg p "$1" --arg n "$2" \
		'[.[] | select((.podName|startswith($p)) and .name == $n)][0].state // empty')" = Running ]
}

@test "minimum-viable: the kubelet binary, its version, and why it wants root" {
	run ./kubelet --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^Kubernetes\ v1\.[0-9]+\.[0-9]+ ]]
	# as a user: the kubelet cannot make its root directory, and says so
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$MK_BIN/kubelet"
	[ "$status" -ne 0 ]
	[[ "${output,,}" == *"mkdir /var/lib/kubelet: permission denied"* ]]
	run ./kubelet -h
	[ "$status" -eq 0 ]
	[[ "$output" == *"--pod-manifest-path string"* ]]
	[ "$(./kubelet -h | wc -l)" -gt 40 ]
}

@test "minimum-viable: a static pod says hello world! and is restarted" {
	mkdir pods
	tut_kubelet --pod-manifest-path=pods
	cat <<EOF >pods/hello.yaml
apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  containers:
  - image: busybox
    name: hello
    command: ["echo", "hello world!"]
EOF
	# the container runs, exits 0 and is started again (restartPolicy Always)
	wait_until 30 eval '[ "$(attempts hello hello)" -ge 1 ]'
	run nodectl ps -a
	[ "$status" -eq 0 ]
	[[ "$output" == *"k8s_hello_hello-${NODE}_default_"*Exited* ]]
	[[ "$output" == *"k8s_POD_hello-${NODE}_default_"* ]]
	id=$(nodectl ps -a -o json | jq -r '[.[] | select(.name == "hello")][0].id')
	[[ "$id" =~ ^k8s_hello_hello-${NODE}_default_[0-9a-f]{32}_[0-9]+$ ]]
	run nodectl logs "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "hello world!" ]
	# the pause container holds the pod, from the pause image
	run nodectl pods
	[[ "$output" == *"hello-$NODE"* ]]
}

@test "minimum-viable: etcd as a static pod on the host network, its data on the host" {
	mkdir -p "$T/var/lib/etcd"
	cat >pods/etcd.yaml <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  containers:
  - name: etcd
    command:
    - etcd
    - --data-dir=/var/lib/etcd
    image: k8s.gcr.io/etcd:3.4.3-0
    volumeMounts:
    - mountPath: /var/lib/etcd
      name: etcd-data
  hostNetwork: true
  volumes:
  - hostPath:
      path: $T/var/lib/etcd
      type: DirectoryOrCreate
    name: etcd-data
EOF
	wait_until 30 curl -sf localhost:2379/version
	run curl -s localhost:2379/version
	[[ "$output" =~ ^\{\"etcdserver\":\"3\.[0-9]+\.[0-9]+\",\"etcdcluster\":\"3\.[0-9]+\.0\"\}$ ]]
	# the data is on the host, where the tutorial's `tree` shows it
	[ -f "$T/var/lib/etcd/member/snap/db" ]
	ls "$T"/var/lib/etcd/member/wal/*.wal
}

@test "minimum-viable: the API server as a static pod on etcd, open on localhost:8080" {
	needs_etcd_servers
	cat >pods/kube-apiserver.yaml <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - name: kube-apiserver
    command:
    - kube-apiserver
    - --etcd-servers=http://127.0.0.1:2379
    image: k8s.gcr.io/kube-apiserver:v1.18.5
  hostNetwork: true
EOF
	wait_until 30 curl -sf localhost:8080/healthz
	run curl -s localhost:8080/healthz
	[ "$output" = ok ]
	run curl -s localhost:8080/api/v1/pods
	jq -e '.kind == "PodList" and .apiVersion == "v1" and .items == [] and
		(.metadata.resourceVersion | length > 0)' <<<"$output"
	# the API server keeps its objects in etcd
	run curl -s -X POST localhost:2379/v3/kv/range -d '{"key":"L3JlZ2lzdHJ5Lw==","range_end":"L3JlZ2lzdHJ5MA==","count_only":true}'
	jq -e '(.count | tonumber) > 0' <<<"$output"
}

@test "minimum-viable: kubectl works out of the box; the static pods are not in the API yet" {
	needs_etcd_servers
	run ./kubectl version
	[ "$status" -eq 0 ]
	[[ "$output" == *"Client Version: "* ]]
	[[ "$output" == *"Server Version: v1."* ]]
	run ./kubectl get pod
	[ "$output" = "No resources found in default namespace." ]
	run ./kubectl get pod -n kube-system
	[ "$output" = "No resources found in kube-system namespace." ]
	run ./kubectl get nodes
	[ "$output" = "No resources found" ]
}

@test "minimum-viable: the kubelet with a kubeconfig registers the node and mirrors its pods" {
	needs_etcd_servers
	cat >kubeconfig.yaml <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster:
    server: http://127.0.0.1:8080
  name: mink8s
contexts:
- context:
    cluster: mink8s
  name: mink8s
current-context: mink8s
EOF
	etcd_attempt=$(attempts etcd etcd)
	api_attempt=$(attempts kube-apiserver kube-apiserver)
	tut_stop kubelet
	# with the kubelet down the API still answers: it is not the pods' parent
	run curl -s localhost:8080/healthz
	[ "$output" = ok ]
	tut_kubelet --pod-manifest-path=pods --kubeconfig=kubeconfig.yaml
	wait_until 30 eval '[ "$(./kubectl get node "$NODE" -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = True ]'
	wait_until 30 eval './kubectl get pods -A | grep -q "^kube-system  *kube-apiserver-$NODE  *1/1  *Running"'
	wait_until 30 eval './kubectl get pods -A | grep -q "^kube-system  *etcd-$NODE  *1/1  *Running"'
	wait_until 30 eval './kubectl get pods -A | grep -q "^default  *hello-$NODE  *0/1 "'
	run ./kubectl get pods -A
	echo "$output"
	[[ "${lines[0]}" =~ ^NAMESPACE\ +NAME\ +READY\ +STATUS\ +RESTARTS\ +AGE$ ]]
	run ./kubectl get nodes -owide
	echo "$output"
	[[ "${lines[0]}" =~ ^NAME\ +STATUS\ +ROLES\ +AGE\ +VERSION\ +INTERNAL-IP\ +EXTERNAL-IP\ +OS-IMAGE\ +KERNEL-VERSION\ +CONTAINER-RUNTIME$ ]]
	re="^$NODE +Ready +<none> +[0-9a-z]+ +v1\\.[0-9.]+[^ ]* +192\\.168\\.231\\.2 +<none> +.+ +$(uname -r) +runc://"
	[[ "${lines[1]}" =~ $re ]]
	# the new kubelet adopted the running containers: none was restarted
	[ "$(attempts etcd etcd)" = "$etcd_attempt" ]
	[ "$(attempts kube-apiserver kube-apiserver)" = "$api_attempt" ]
}

@test "minimum-viable: the pod waits for its ServiceAccount as upstream's did, then stays Pending with no scheduler" {
	needs_etcd_servers
	cat >nginx.yaml <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: nginx
spec:
  containers:
  - image: nginx
    name: nginx
EOF
	run ./kubectl get serviceaccounts
	[ "$output" = "No resources found in default namespace." ]
	# no controller-manager makes the default ServiceAccount: the
	# ServiceAccount admission plugin refuses the pod, as the tutorial shows
	run ./kubectl apply -f nginx.yaml
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): error when creating "nginx.yaml": pods "nginx" is forbidden: error looking up service account default/default: serviceaccount "default" not found' ]
	# the tutorial's workaround; no token is ever needed here
	run ./kubectl apply -f - <<EOS
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: default
automountServiceAccountToken: false
EOS
	[ "$output" = "serviceaccount/default created" ]
	run ./kubectl apply -f nginx.yaml
	[ "$status" -eq 0 ]
	[ "$output" = "pod/nginx created" ]
	run ./kubectl get pods
	[[ "$(grep '^nginx ' <<<"$output")" =~ ^nginx\ +0/1\ +Pending\ +0\ + ]]
	[ -z "$(./kubectl get pod nginx -o jsonpath='{.spec.nodeName}')" ]
}

@test "minimum-viable: nodeName by hand runs nginx at its pod IP; a curl pod reaches it; kubectl logs" {
	needs_etcd_servers
	cat >nginx.yaml <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: nginx
spec:
  containers:
  - image: nginx
    name: nginx
  nodeName: $NODE
EOF
	run ./kubectl delete pod nginx
	[ "$output" = 'pod "nginx" deleted' ]
	run ./kubectl apply -f nginx.yaml
	[ "$output" = "pod/nginx created" ]
	wait_until 30 eval '[ "$(./kubectl get pod nginx -o jsonpath={.status.phase})" = Running ]'
	run ./kubectl get pods -owide
	echo "$output"
	[[ "${lines[0]}" =~ ^NAME\ +READY\ +STATUS\ +RESTARTS\ +AGE\ +IP\ +NODE\ +NOMINATED\ NODE\ +READINESS\ GATES$ ]]
	line=$(grep '^nginx ' <<<"$output")
	[[ "$line" =~ ^nginx\ +1/1\ +Running\ +0\ +[0-9a-z]+\ +10\.88\.0\.[0-9]+\ +$NODE\ +\<none\>\ +\<none\>$ ]]
	ip=$(./kubectl get pod nginx -o jsonpath='{.status.podIP}')
	run bash -c "ip netns exec $NODE curl -s $ip | head -4"
	[ "${lines[0]}" = "<!DOCTYPE html>" ]
	[ "${lines[3]}" = "<title>Welcome to nginx!</title>" ]
	run ./kubectl apply -f - <<EOS
apiVersion: v1
kind: Pod
metadata:
  name: curl
spec:
  containers:
  - image: curlimages/curl
    name: curl
    command: ["curl", "$ip"]
  nodeName: $NODE
EOS
	[ "$output" = "pod/curl created" ]
	# curl's progress meter (its stderr) and the page (its stdout), both in
	# the log; the monitor reads the two pipes as they come, so which comes
	# first, and which is in the log first, is timing: wait for both
	wait_until 30 eval './kubectl logs curl | grep -q "Welcome to nginx!" && ./kubectl logs curl | grep -q "% Total"'
	run kubectl logs curl
	echo "$output"
	[[ "$output" =~ \ +%\ Total\ +%\ Received ]]
	[[ "$output" == *"<!DOCTYPE html>"*"<title>Welcome to nginx!</title>"* ]]
}

@test "minimum-viable: ConfigMap and Secret work; a Deployment does nothing with no controller-manager" {
	needs_etcd_servers
	run ./kubectl create configmap greeting --from-literal=message="hello from a ConfigMap"
	[ "$output" = "configmap/greeting created" ]
	run ./kubectl create secret generic token --from-literal=token=s3cret
	[ "$output" = "secret/token created" ]
	run ./kubectl apply -f - <<EOS
apiVersion: v1
kind: Pod
metadata:
  name: show
spec:
  restartPolicy: Never
  containers:
  - image: busybox
    name: show
    command: ["sh", "-c", "cat /config/message; echo; echo \$TOKEN"]
    env:
    - name: TOKEN
      valueFrom:
        secretKeyRef: {name: token, key: token}
    volumeMounts:
    - {name: config, mountPath: /config}
  volumes:
  - name: config
    configMap: {name: greeting}
  nodeName: $NODE
EOS
	[ "$output" = "pod/show created" ]
	wait_until 30 eval '[ "$(./kubectl get pod show -o jsonpath={.status.phase})" = Succeeded ]'
	run ./kubectl logs show
	[ "$output" = "$(printf 'hello from a ConfigMap\ns3cret')" ]
	# "Service and Deployment don't": stored, and nothing comes of it
	run ./kubectl create deployment web --image=nginx
	[ "$output" = "deployment.apps/web created" ]
	run ./kubectl get replicasets
	[ "$output" = "No resources found in default namespace." ]
}
