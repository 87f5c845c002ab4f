#!/usr/bin/env bats
# kubectl logs, exec, attach, cp, port-forward and top against the real
# kubelet, through the real API server: one node (a network namespace of its
# own, lib/kubelet) with kube-apiserver, kube-controller-manager and the
# kubelet, and a handful of busybox pods started once for the whole file.
# The kubelet's /metrics/resource is read back against the kernel's cgroup
# counters. Every process, namespace, mount and cgroup is removed in
# teardown_file.

load lib/kubelet

bats_require_minimum_version 1.5.0

setup_file() {
	node_setup
	export T NODE ROOT LOGS MANIFESTS CGROOT
	node_apiserver_start
	node_daemon_start kube-controller-manager "$MK_BIN/kube-controller-manager" \
		--master=http://127.0.0.1:8080
	kubelet_start --kubeconfig "$T/kubeconfig"
	export KUBELET_PID
	: >"$T/extra.pids"
	wait_until 90 node_ready
	k apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: talk
	spec:
	  nodeName: $NODE
	  containers:
	  - name: app
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    command: ["sh", "-c", "mkdir -p /srv/a /srv/b; echo port-a >/srv/a/index.html; echo port-b >/srv/b/index.html; httpd -p 8081 -h /srv/b; exec httpd -f -p 8080 -h /srv/a"]
	  - name: side
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    command: ["sleep", "100000"]
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: ticker
	spec:
	  nodeName: $NODE
	  containers:
	  - name: ticker
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    command: ["sh", "-c", "echo start; n=0; while :; do n=\$((n+1)); echo line \$n; sleep 0.2; done"]
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: counter
	spec:
	  nodeName: $NODE
	  containers:
	  - name: counter
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    command: ["sh", "-c", "echo start; n=0; while [ ! -e /tmp/stop ]; do n=\$((n+1)); echo line \$n; sleep 0.2; done; echo bye"]
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: chat
	spec:
	  nodeName: $NODE
	  containers:
	  - name: chat
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    stdin: true
	    command: ["sh", "-c", "echo ready; while read l; do echo \"echo: \$l\"; done; echo stdin closed; exec sleep 100000"]
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: stuck
	spec:
	  nodeName: $NODE
	  containers:
	  - name: app
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    command: ["sleep", "100000"]
	    env:
	    - name: MISSING
	      valueFrom:
	        configMapKeyRef: {name: nothere, key: nokey}
	---
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: web
	spec:
	  replicas: 2
	  selector:
	    matchLabels: {app: web}
	  template:
	    metadata:
	      labels: {app: web}
	    spec:
	      nodeName: $NODE
	      containers:
	      - name: web
	        image: busybox
	        imagePullPolicy: IfNotPresent
	        command: ["sh", "-c", "echo hello from \$(hostname); exec sleep 100000"]
	YAML
	wait_until 270 all_ready
	wait_eq 90 CreateContainerConfigError \
		k get pod stuck -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}'
}

teardown_file() {
	local p
	if [ -n "${T:-}" ] && [ -f "$T/extra.pids" ]; then
		while read -r p; do KUBELET_PIDS+=("$p"); done <"$T/extra.pids"
	fi
	node_teardown
}

setup() {
	BG_PIDS=()
}

teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	exec 5>&- 2>/dev/null || true
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$T/kubelet.log" ]; then
		echo "--- the last output: ${output:-}" >&2
		echo "--- kubelet.log (last 30 lines)" >&2
		tail -30 "$T/kubelet.log" >&2
	fi
}

node_ready() {
	[ "$(k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

all_ready() {
	local n
	n=$(k get pods -o json | jq '[.items[] | select(.metadata.name != "stuck") |
		select(.status.conditions // [] | any(.type == "Ready" and .status == "True"))] | length')
	[ "$n" = 6 ]
}

# Background commands of one test, ended in teardown.
bg() { # OUT COMMAND...
	local out=$1
	shift
	"$@" >"$out" 2>&1 3>&- &
	BG_PIDS+=($!)
	BG_PID=$!
}

lines_in() { # FILE MIN
	[ "$(grep -c . "$1")" -ge "$2" ]
}

@test "logs: --tail, --timestamps, --since and -f of a running container" {
	wait_until 30 sh -c "ip netns exec $NODE kubectl -s http://127.0.0.1:8080 logs ticker | grep -q 'line 20'"
	run k logs ticker
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = start ]
	[ "${lines[1]}" = "line 1" ]
	run k logs ticker --tail=3
	[ "${#lines[@]}" -eq 3 ]
	local n=${lines[0]#line }
	[ "${lines[1]}" = "line $((n + 1))" ]
	[ "${lines[2]}" = "line $((n + 2))" ]
	# --since: the lines of the last two seconds only, each with its time
	local t0
	t0=$(date +%s)
	run k logs ticker --since=2s --timestamps
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 2 ]
	[[ "$output" != *start* ]]
	[[ "$output" != *"line 1"$'\n'* ]]
	local l ts
	for l in "${lines[@]}"; do
		[[ "$l" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+Z\ line\ [0-9]+$ ]]
	done
	ts=$(date -d "${lines[0]%% *}" +%s)
	[ "$ts" -ge $((t0 - 4)) ]
	# -f: new lines keep coming
	bg "$T/follow.out" k logs -f ticker --tail=1
	wait_until 10 lines_in "$T/follow.out" 4
	run head -1 "$T/follow.out"
	[[ "$output" =~ ^line\ [0-9]+$ ]]
}

@test "logs: -f ends when the container stops; -p shows the instance before the restart" {
	wait_until 30 sh -c "ip netns exec $NODE kubectl -s http://127.0.0.1:8080 logs counter | grep -q 'line 2'"
	bg "$T/follow.out" k logs -f counter
	local fpid=$BG_PID
	wait_until 10 grep -q 'line 3' "$T/follow.out"
	k exec counter -- touch /tmp/stop
	wait_until 15 sh -c "! kill -0 $fpid"
	wait "$fpid"
	[ "$(head -1 "$T/follow.out")" = start ]
	[ "$(tail -1 "$T/follow.out")" = bye ]
	# the first restart comes at once, as upstream's
	wait_eq 120 1 k get pod counter -o jsonpath='{.status.containerStatuses[0].restartCount}'
	run k logs -p counter
	[ "$status" -eq 0 ]
	# every line of the stopped instance, in order, and its last word
	awk 'NR == 1 && $0 != "start" {exit 1} NR > 1 && $0 != "line " NR - 1 && $0 != "bye" {exit 1}
		END {if ($0 != "bye") exit 1}' <<<"$output"
	[ "$(tail -1 <<<"$output")" = bye ]
	wait_until 30 sh -c "ip netns exec $NODE kubectl -s http://127.0.0.1:8080 logs counter | grep -q 'line 1'"
	run k logs counter
	[ "${lines[0]}" = start ]
	[[ "$output" != *bye* ]]
}

@test "logs: deploy/web picks one of its pods; -l app=web reads them all" {
	local pods
	pods=$(k get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
	[ "$(wc -w <<<"$pods")" -eq 2 ]
	run --separate-stderr k logs deploy/web
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^hello\ from\ (web-[a-z0-9-]+)$ ]]
	local picked=${BASH_REMATCH[1]}
	[[ " $pods " == *" $picked "* ]]
	[[ "$stderr" == *"Found 2 pods, using pod/$picked"* ]]
	run k logs -l app=web --prefix
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	local l p
	for p in $pods; do
		[[ "$output" == *"[pod/$p/web] hello from $p"* ]]
	done
}

@test "exec: exit codes, stdin, a terminal under script, commands that cannot run" {
	run k exec talk -c app -- sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *out* && "$output" == *err* ]]
	[[ "$output" == *"command terminated with exit code 3"* ]]
	run --separate-stderr k exec talk -c app -- cat /srv/a/index.html
	[ "$status" -eq 0 ]
	[ "$output" = port-a ]
	# -i: stdin through, its end seen; a megabyte byte for byte
	run k exec -i talk -c app -- sh -c 'tr a-z A-Z; echo eof seen' <<<"piped in"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "PIPED IN" ]
	[ "${lines[1]}" = "eof seen" ]
	head -c 1048576 /dev/urandom >"$T/in.bin"
	k exec -i talk -c app -- cat <"$T/in.bin" >"$T/out.bin"
	cmp "$T/in.bin" "$T/out.bin"
	# -it under a pty: the terminal's size and input
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	local sh="$WAIT_TTY_40x132"
	sh+='; stty size; tty; read x; echo got $x'
	run timeout 60 script -qec "stty cols 132 rows 40; ip netns exec $NODE kubectl -s http://127.0.0.1:8080 exec -it talk -c app -- sh -c '$sh'" /dev/null <<<"typed"
	[ "$status" -eq 0 ]
	[[ "$output" == *"40 132"* ]]
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *"got typed"* ]]
	# a command that does not exist, one that is no executable
	run -127 k exec talk -c app -- nosuchcommand
	[ "$status" -eq 127 ]
	[[ "$output" == *'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcommand": executable file not found in $PATH: unknown'* ]]
	[[ "$output" == *"command terminated with exit code 127"* ]]
	run -126 k exec talk -c app -- /etc/passwd
	[ "$status" -eq 126 ]
	[[ "$output" == *"command terminated with exit code 126"* ]]
}

@test "cp: a file and a directory into the container and back" {
	head -c 300000 /dev/urandom >"$T/up.bin"
	k cp "$T/up.bin" talk:/tmp/up.bin -c app
	run k exec talk -c app -- md5sum /tmp/up.bin
	[ "${output%% *}" = "$(md5sum <"$T/up.bin" | cut -d' ' -f1)" ]
	k cp talk:/tmp/up.bin "$T/down.bin" -c app
	cmp "$T/up.bin" "$T/down.bin"
	mkdir -p "$T/tree/sub"
	echo one >"$T/tree/a.txt"
	echo two >"$T/tree/sub/b.txt"
	k cp "$T/tree" talk:/tmp/tree -c app
	run k exec talk -c app -- cat /tmp/tree/a.txt /tmp/tree/sub/b.txt
	[ "$output" = "$(printf 'one\ntwo')" ]
	k cp talk:/tmp/tree "$T/tree-back" -c app
	diff -r "$T/tree" "$T/tree-back"
}

@test "attach: output as it comes, stdin to the container's own" {
	mkfifo "$T/attach.in"
	bg "$T/attach.out" sh -c "exec ip netns exec $NODE kubectl -s http://127.0.0.1:8080 attach -i chat <'$T/attach.in'"
	exec 5>"$T/attach.in"
	echo hello >&5
	wait_until 15 grep -q 'echo: hello' "$T/attach.out"
	echo world >&5
	wait_until 10 grep -q 'echo: world' "$T/attach.out"
	exec 5>&-
	# what went through attach is in the container's log too
	run k logs chat
	[ "$output" = "$(printf 'ready\necho: hello\necho: world')" ]
}

@test "port-forward: two ports at once, many connections" {
	bg "$T/pf.log" on_node kubectl -s http://127.0.0.1:8080 port-forward pod/talk 18080:8080 18081:8081
	wait_eq 15 port-a on_node curl -sf http://127.0.0.1:18080/index.html
	run on_node curl -sf http://127.0.0.1:18081/index.html
	[ "$output" = port-b ]
	grep -q 'Forwarding from 127.0.0.1:18080 -> 8080' "$T/pf.log"
	grep -q 'Forwarding from 127.0.0.1:18081 -> 8081' "$T/pf.log"
	# twenty connections at once over both ports
	local urls=() i
	for i in $(seq 10); do
		urls+=(http://127.0.0.1:18080/index.html http://127.0.0.1:18081/index.html)
	done
	run --separate-stderr on_node curl -sf --parallel --parallel-max 20 "${urls[@]}"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^port-a$' <<<"$output")" -eq 10 ]
	[ "$(grep -c '^port-b$' <<<"$output")" -eq 10 ]
}

top_node_ok() {
	local out
	out=$(k top node "$NODE" --no-headers) || return 1
	[[ "$out" =~ ^$NODE\ +[1-9][0-9]*m\ +[0-9]+%\ +[1-9][0-9]*Mi\ +[0-9]+% ]]
}

top_pod_ok() {
	local out
	out=$(k top pod ticker --no-headers) || return 1
	[[ "$out" =~ ^ticker\ +[1-9][0-9]*m\ +[0-9]+Mi ]]
}

# The value of the first sample of METRIC whose labels are LABELS.
sample() { # METRIC LABELS
	on_node curl -sf http://127.0.0.1:10250/metrics/resource |
		awk -v m="$1$2" '$1 == m {print $2; exit}'
}

cpuacct() { # CGROUP-PATH (below the test's cgroup root)
	cat "/sys/fs/cgroup/cpuacct$CGROOT$1/cpuacct.usage"
}

@test "top nodes and pods from the kubelet's summary; /metrics/resource against the kernel" {
	# CPU usage takes two samples of the summary: poll until they are there
	wait_until 90 top_node_ok
	wait_until 90 top_pod_ok
	run k top pods --containers
	[ "$status" -eq 0 ]
	[[ "$output" =~ talk\ +app\ +[0-9]+m\ +[0-9]+Mi ]]
	[[ "$output" =~ talk\ +side\ +[0-9]+m\ +[0-9]+Mi ]]
	[[ "$output" =~ ticker\ +ticker\ +[1-9][0-9]*m ]]
	run k get --raw "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/ticker"
	[ "$(jq -r '.kind, .containers[0].name' <<<"$output")" = "$(printf 'PodMetrics\nticker')" ]

	run on_node curl -sf http://127.0.0.1:10250/metrics/resource
	[ "$status" -eq 0 ]
	local m
	for m in container_cpu_usage_seconds_total container_memory_working_set_bytes \
		container_start_time_seconds node_cpu_usage_seconds_total \
		node_memory_working_set_bytes pod_cpu_usage_seconds_total \
		pod_memory_working_set_bytes resource_scrape_error; do
		[[ "$output" == *"# HELP $m [STABLE] "* ]]
	done
	[[ "$output" == *$'# TYPE container_cpu_usage_seconds_total counter\n'* ]]
	[[ "$output" == *$'# TYPE pod_memory_working_set_bytes gauge\n'* ]]
	[[ "$output" == *$'\nresource_scrape_error 0' ]]
	[[ "$output" =~ $'\n'node_cpu_usage_seconds_total\ [0-9.e+]+\ [0-9]{13}$'\n' ]]
	[[ "$output" =~ $'\n'pod_memory_working_set_bytes\{namespace=\"default\",pod=\"ticker\"\}\ [0-9.e+]+\ [0-9]{13}$'\n' ]]
	# the pending pod has no container running: no sample of it
	[[ "$output" != *'container="app",namespace="default",pod="stuck"'* ]]

	# start time: the container's startedAt
	local want got labels='{container="ticker",namespace="default",pod="ticker"}'
	want=$(date -d "$(k get pod ticker -o jsonpath='{.status.containerStatuses[0].state.running.startedAt}')" +%s)
	got=$(sample container_start_time_seconds "$labels")
	[ "$(awk -v g="$got" 'BEGIN {printf "%d", g}')" = "$want" ]

	# CPU seconds: between two reads of the container's own cpuacct.usage
	local uid id before after
	uid=$(k get pod ticker -o jsonpath='{.metadata.uid}')
	id=$(container_id ticker ticker)
	local cg=/kubepods/besteffort/pod$uid/$id
	[ -f "/sys/fs/cgroup/cpuacct$CGROOT$cg/cpuacct.usage" ] || skip "no cgroup v1 cpuacct here"
	before=$(cpuacct "$cg")
	got=$(sample container_cpu_usage_seconds_total "$labels")
	after=$(cpuacct "$cg")
	awk -v b="$before" -v g="$got" -v a="$after" 'BEGIN {exit !(b / 1e9 <= g + 1e-9 && g <= a / 1e9 + 1e-9)}'
	# and the counter moves on
	wait_until 5 sh -c "[ \"\$(cat /sys/fs/cgroup/cpuacct$CGROOT$cg/cpuacct.usage)\" -gt $after ]"
	local later
	later=$(sample container_cpu_usage_seconds_total "$labels")
	awk -v g="$got" -v l="$later" 'BEGIN {exit !(l > g)}'
	# memory: the working set is at most the cgroup's usage
	local mem usage
	mem=$(sample container_memory_working_set_bytes "$labels")
	usage=$(cat "/sys/fs/cgroup/memory$CGROOT$cg/memory.usage_in_bytes")
	awk -v m="$mem" -v u="$usage" 'BEGIN {exit !(m > 0 && m <= u * 2)}'
}

@test "errors in upstream's words: a waiting container, a bad -c, no container named" {
	run k logs stuck
	[ "$status" -ne 0 ]
	[ "$output" = 'Error from server (BadRequest): container "app" in pod "stuck" is waiting to start: CreateContainerConfigError' ]
	run k logs talk -c nope
	[ "$status" -ne 0 ]
	[ "$output" = "error: container nope is not valid for pod talk" ]
	run k get --raw '/api/v1/namespaces/default/pods/talk/log'
	[ "$status" -ne 0 ]
	[ "$output" = 'Error from server (BadRequest): a container name must be specified for pod talk, choose one of: [app side]' ]
	run k exec talk -c nope -- true
	[ "$status" -ne 0 ]
	[[ "$output" == *"container nope is not valid for pod talk"* ]]
	run k logs nothere
	[ "$output" = 'error: error from server (NotFound): pods "nothere" not found in namespace "default"' ]
}

kubelet_down() {
	if on_node curl -s --max-time 2 -o /dev/null http://127.0.0.1:10250/healthz; then
		return 1
	fi
}

@test "a node whose kubelet is down: a 502 Status naming the node; back once it is up" {
	kill "$KUBELET_PID"
	wait_until 45 kubelet_down
	run k logs ticker --tail=1
	[ "$status" -ne 0 ]
	[[ "$output" == *"error dialing backend: dial tcp 192.168.231.2:10250: connect: connection refused (node \"$NODE\")"* ]]
	run k exec talk -c app -- true
	[ "$status" -ne 0 ]
	[[ "$output" == *"(node \"$NODE\")"* ]]
	run on_node curl -s -w '\n%{http_code}' http://127.0.0.1:8080/api/v1/namespaces/default/pods/ticker/log
	[ "${lines[-1]}" = 502 ]
	[ "$(jq -r '.kind, .code' <<<"${lines[0]}")" = "$(printf 'Status\n502')" ]
	# a restarted kubelet adopts its pods and serves them again
	kubelet_start --kubeconfig "$T/kubeconfig"
	echo "$KUBELET_PID" >>"$T/extra.pids"
	wait_until 90 sh -c "ip netns exec $NODE kubectl -s http://127.0.0.1:8080 logs ticker --tail=1 | grep -q '^line '"
	run k exec talk -c app -- cat /srv/b/index.html
	[ "$output" = port-b ]
}
