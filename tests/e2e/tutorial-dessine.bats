#!/usr/bin/env bats
# "Dessine-moi un cluster", step by step, with our binaries: etcd, the API
# server on it, a Deployment that waits for the controller-manager, a
# kubelet joined through a kubeconfig made with `kubectl config`, the
# scheduler, a ClusterIP Service that answers once kube-proxy runs, its
# chains read with iptables (-legacy), the probability ladder after scaling
# to 4, and `kubectl get componentstatuses` telling the truth throughout.
# Commands are typed as the tutorial prints them, inside a node network
# namespace of the test's own (lib/tutorial.bash: `kubectl`, `curl` and
# `iptables` run there). One @test per step; each builds on the ones before.

load lib/tutorial

setup_file() {
	# no machine is set up for steps that would all skip
	if "$MK_BIN/kube-apiserver" --help 2>&1 | grep -q -- '--etcd-servers.*not supported yet'; then
		export TUT_SKIP="needs --etcd-servers"
		return 0
	fi
	if ! command -v etcd >/dev/null; then
		export TUT_SKIP="etcd is not installed (etcd-server, tools/install-deps.sh)"
		return 0
	fi
	tut_setup_file nginx
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

# cs NAME: "STATUS|message|error" of a component in componentstatuses
cs() {
	kubectl get componentstatus "$1" \
		-o jsonpath='{.conditions[0].status}|{.conditions[0].message}|{.conditions[0].error}'
}

# cs_row NAME: its row in `kubectl get componentstatuses`, spaces squeezed
cs_row() {
	kubectl get componentstatuses 2>/dev/null | grep "^$1 " | tr -s ' '
}

refused() { # PORT
	echo "False|Get \"https://127.0.0.1:$1/healthz\": dial tcp 127.0.0.1:$1: connect: connection refused|"
}

web_pods() { # the phases of the Deployment's pods, one a line
	kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}'
}

@test "dessine: etcd and the API server make a zero-node cluster" {
	tut_bg etcd etcd
	wait_until 10 curl -sf localhost:2379/version
	tut_bg kube-apiserver kube-apiserver --etcd-servers http://localhost:2379
	wait_until 10 curl -sf localhost:8080/healthz
	run kubectl get all
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^NAME\ +TYPE\ +CLUSTER-IP\ +EXTERNAL-IP\ +PORT\(S\)\ +AGE$ ]]
	[[ "${lines[1]}" =~ ^service/kubernetes\ +ClusterIP\ +10\.96\.0\.1\ +\<none\>\ +443/TCP\ + ]]
	run kubectl get nodes
	[ "$output" = "No resources found" ]
	# nothing but etcd runs yet, and componentstatuses says so
	run kubectl get componentstatuses
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" =~ scheduler\ +Unhealthy\ +Get\ \"https://127.0.0.1:10259/healthz\":\ dial\ tcp\ 127.0.0.1:10259:\ connect:\ connection\ refused ]]
	[[ "$output" =~ controller-manager\ +Unhealthy\ +Get\ \"https://127.0.0.1:10257/healthz\":\ dial\ tcp\ 127.0.0.1:10257:\ connect:\ connection\ refused ]]
	[[ "$output" =~ etcd-0\ +Healthy\ +ok ]]
}

@test "dessine: a Deployment is stored, and nothing else happens" {
	run kubectl create deployment web --image=nginx
	[ "$output" = "deployment.apps/web created" ]
	run kubectl get all
	[[ "$output" == *"deployment.apps/web   0/1     0            0           "* ]]
	[[ "$output" != *replicaset* ]] || false
	run kubectl get pods
	[ "$output" = "No resources found in default namespace." ]
}

@test "dessine: the controller-manager makes a ReplicaSet and a Pending pod, with no service account trouble" {
	tut_bg kube-controller-manager kube-controller-manager --master http://localhost:8080
	wait_eq 20 Pending web_pods
	run kubectl get all
	[[ "$output" =~ pod/web-[a-z0-9]+-[a-z0-9]+\ +0/1\ +Pending ]]
	[[ "$output" =~ replicaset.apps/web-[a-z0-9]+\ +1\ +1\ +0 ]]
	# upstream's ServiceAccount admission made this step fail until the
	# API server lost the plugin or the pod its token: here the pod was made
	wait_until 10 eval 'kubectl get events | grep -q "SuccessfulCreate.*Created pod: web-"'
	run kubectl get events
	echo "$output"
	[[ "${output,,}" != *"service account"* && "${output,,}" != *serviceaccount* ]] || false
	# the tutorial's first way out, typed as it prints it: the API server
	# restarted without the ServiceAccount admission plugin; nothing is lost
	tut_stop kube-apiserver
	tut_bg kube-apiserver kube-apiserver --etcd-servers http://localhost:2379 \
		--disable-admission-plugins=ServiceAccount
	wait_until 10 curl -sf localhost:8080/healthz
	wait_eq 10 Pending web_pods
	wait_eq 10 "True|ok|" cs controller-manager
}

@test "dessine: a kubelet joins with a kubeconfig made by kubectl config; the pod stays Pending" {
	kubectl --kubeconfig kubeconfig.kubelet config set-cluster localhost --server http://localhost:8080
	kubectl --kubeconfig kubeconfig.kubelet config set-context localhost --cluster localhost
	kubectl --kubeconfig kubeconfig.kubelet config use-context localhost
	tut_kubelet --kubeconfig kubeconfig.kubelet
	wait_until 30 eval 'kubectl get nodes | grep -q "^$NODE  *Ready "'
	run kubectl get nodes
	[[ "${lines[1]}" =~ ^$NODE\ +Ready\ +\<none\>\ + ]]
	# the node is Ready and the pod is still nobody's: no scheduler yet
	run kubectl get pod
	[[ "${lines[1]}" =~ ^web-[a-z0-9]+-[a-z0-9]+\ +0/1\ +Pending ]]
	[ -z "$(kubectl get pods -l app=web -o jsonpath='{.items[0].spec.nodeName}')" ]
}

@test "dessine: the scheduler binds the pod; it runs and its IP serves nginx's page" {
	tut_bg kube-scheduler kube-scheduler --master http://localhost:8080
	wait_eq 60 Running web_pods
	run kubectl get pods -o wide
	echo "$output"
	[[ "${lines[1]}" =~ ^web-[a-z0-9]+-[a-z0-9]+\ +1/1\ +Running\ +0\ +[0-9a-z]+\ +10\.88\.0\.[0-9]+\ +$NODE\  ]]
	ip=$(kubectl get pods -l app=web -o jsonpath='{.items[0].status.podIP}')
	run curl -s "$ip"
	[[ "$output" == *"<title>Welcome to nginx!</title>"* ]]
	wait_eq 10 "True|ok|" cs scheduler
	run kubectl get componentstatuses
	[[ "$output" =~ scheduler\ +Healthy\ +ok ]]
	[[ "$output" =~ controller-manager\ +Healthy\ +ok ]]
	[[ "$output" =~ etcd-0\ +Healthy\ +ok ]]
}

@test "dessine: expose makes a ClusterIP, which does not answer without kube-proxy" {
	run kubectl expose deployment web --port=80
	[ "$output" = "service/web exposed" ]
	run kubectl get svc web
	echo "$output"
	[[ "${lines[1]}" =~ ^web\ +ClusterIP\ +10\.[0-9]+\.[0-9]+\.[0-9]+\ +\<none\>\ +80/TCP\ + ]]
	cip=$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')
	echo "$cip" >"$T/cip"
	# its endpoint is the pod (the controller-manager's part is done)...
	wait_until 10 eval '[ -n "$(kubectl get endpoints web -o jsonpath="{.subsets[0].addresses[0].ip}")" ]'
	# ...yet nothing on the node knows the ClusterIP: the tutorial's time-out
	run curl -s --max-time 1 "$cip"
	[ "$status" -ne 0 ]
}

@test "dessine: kube-proxy makes the ClusterIP answer" {
	cip=$(cat "$T/cip")
	tut_bg kube-proxy kube-proxy --master http://localhost:8080
	wait_until 20 curl -sf --max-time 1 "$cip"
	run curl -s "$cip"
	[[ "$output" == *"<title>Welcome to nginx!</title>"* ]]
}

@test "dessine: iptables shows OUTPUT -> KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP -> DNAT to the pod" {
	run iptables -t nat -L OUTPUT
	echo "$output"
	[[ "$output" =~ KUBE-SERVICES\ +all\ +--\ +anywhere\ +anywhere\ +/\*\ kubernetes\ service\ portals\ \*/ ]]
	run iptables -t nat -L KUBE-SERVICES
	echo "$output"
	[[ "$output" =~ KUBE-SVC-[A-Z0-9]{16}\ +tcp\ +--\ +anywhere\ +10\.96\.0\.1\ +/\*\ default/kubernetes:https\ cluster\ IP\ \*/ ]]
	[[ "$output" =~ KUBE-SVC-[A-Z0-9]{16}\ +tcp\ +--\ +anywhere\ +[0-9.]+\ +/\*\ default/web\ cluster\ IP\ \*/ ]]
	svc=$(awk '/default\/web cluster IP/ {print $1}' <<<"$output")
	echo "$svc" >"$T/svc-chain"
	run iptables -t nat -L "$svc"
	echo "$output"
	[[ "${lines[0]}" == "Chain $svc (1 references)" ]]
	sep=$(grep -o 'KUBE-SEP-[A-Z0-9]*' <<<"$output" | head -1)
	[ -n "$sep" ]
	ip=$(kubectl get pods -l app=web -o jsonpath='{.items[0].status.podIP}')
	run iptables -t nat -L "$sep"
	echo "$output"
	[[ "$output" =~ DNAT\ +tcp\ +--\ +anywhere\ +anywhere\ +/\*\ default/web\ \*/\ tcp\ to:$ip:80 ]]
}

@test "dessine: scaled to 4, the KUBE-SVC chain reads 0.25 / 0.333 / 0.5" {
	svc=$(cat "$T/svc-chain")
	run kubectl scale deployment web --replicas=4
	[ "$output" = "deployment.apps/web scaled" ]
	wait_eq 60 "$(printf 'Running\nRunning\nRunning\nRunning')" web_pods
	wait_until 20 eval '[ "$(iptables -t nat -L "$svc" | grep -c "^KUBE-SEP-")" -eq 4 ]'
	run iptables -t nat -L "$svc"
	echo "$output"
	[[ "${lines[2]}" =~ ^KUBE-SEP-[A-Z0-9]{16}\ +all\ +--\ +anywhere\ +anywhere\ +/\*\ default/web\ -\>\ 10\.88\.0\.[0-9]+:80\ \*/\ statistic\ mode\ random\ probability\ 0\.25000000000$ ]]
	[[ "${lines[3]}" =~ \ statistic\ mode\ random\ probability\ 0\.33333333349$ ]]
	[[ "${lines[4]}" =~ \ statistic\ mode\ random\ probability\ 0\.50000000000$ ]]
	[[ "${lines[5]}" =~ ^KUBE-SEP-[A-Z0-9]{16}\ +all\ +--\ +anywhere\ +anywhere\ +/\*\ default/web\ -\>\ 10\.88\.0\.[0-9]+:80\ \*/$ ]]
	# and the Service answers through any of them
	cip=$(cat "$T/cip")
	run curl -s "$cip"
	[[ "$output" == *"<title>Welcome to nginx!</title>"* ]]
}

@test "dessine: componentstatuses tells the truth when the scheduler and etcd stop" {
	tut_stop kube-scheduler
	[ "$(cs scheduler)" = "$(refused 10259)" ]
	run kubectl get componentstatuses
	[[ "$output" =~ scheduler\ +Unhealthy\ +Get\ \"https://127.0.0.1:10259/healthz\":\ dial\ tcp\ 127.0.0.1:10259:\ connect:\ connection\ refused ]]
	[ "$(cs controller-manager)" = "True|ok|" ]
	tut_stop etcd
	wait_until 20 eval '[ "$(cs etcd-0 | cut -d"|" -f1)" = False ]'
	run cs etcd-0
	echo "$output"
	# as upstream: no message, the store's error in the error field
	[[ "$output" =~ ^False\|\|.*localhost.*2379 ]]
	run kubectl get componentstatuses
	[[ "$output" =~ etcd-0\ +Unhealthy\ +[^\ ].*2379 ]]
}
