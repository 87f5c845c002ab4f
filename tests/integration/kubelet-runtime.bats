#!/usr/bin/env bats
# The kubelet's container layer against the real OCI runtime: kubelet/runtime
# (through mink8s-monitor), kubelet/ocispec and kubelet/cgroups, driven by
# tests/integration/runtime-probe.c. Containers run busybox in a network
# namespace made for the test, under a cgroup tree /mkrt-<random>; every
# container, monitor, cgroup and namespace is removed in teardown.

load kubelet-runtime-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v runc >/dev/null || return 0
	rt_build_probe
	rt_make_rootfs "$BATS_FILE_TMPDIR/rootfs"
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (runc, namespaces, cgroups)"
	command -v runc >/dev/null || skip "runc is not installed"
	[ -x "$MK_BIN/mink8s-monitor" ] || skip "bin/mink8s-monitor is not built"
	rt_setup
}

teardown() {
	rt_teardown
}

@test "exit code and CRI log lines: stdout, stderr, 16 KiB pieces, text at EOF" {
	rt_sandbox
	rt_container c1 '["sh","-c","echo out1; echo err1 >&2; head -c 20000 /dev/zero | tr \"\\\\0\" a; echo; printf partial; exit 3"]'
	rt_create_start c1
	wait_until 10 rt_status_is c1 exited
	run $P state "$(rt_id c1)"
	[ "$status" -eq 0 ]
	[ "$(jq -r .exitCode <<<"$output")" = 3 ]
	[ "$(jq -r .signal <<<"$output")" = 0 ]
	[ "$(jq -r .oomKilled <<<"$output")" = false ]
	[ "$(jq -r .exitUnknown <<<"$output")" = false ]
	[[ "$(jq -r .startedAt <<<"$output")" =~ ^20[0-9-]+T[0-9:.]+Z$ ]]
	[[ "$(jq -r .finishedAt <<<"$output")" =~ ^20[0-9-]+T[0-9:.]+Z$ ]]
	# the monitor wrote its record and left
	[ "$(jq -r .monitorPid <<<"$output")" = 0 ]
	[ "$(jq -r .exitCode "$STATE/$(rt_id c1)/exit.json")" = 3 ]

	log=$LOGS/c1.log
	# every line: RFC3339Nano UTC with Z, stream, tag, text
	run grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z (stdout|stderr) [PF] ' "$log"
	[ "$output" = 0 ]
	grep -qE ' stdout F out1$' "$log"
	grep -qE ' stderr F err1$' "$log"
	long=$(printf 'a%.0s' $(seq 16384))
	grep -qxE "[^ ]+ stdout P $long" "$log"
	grep -qxE "[^ ]+ stdout F $(printf 'a%.0s' $(seq 3616))" "$log"
	grep -qE ' stdout F partial$' "$log"
	[ "$(wc -l <"$log")" = 5 ]
}

@test "log reopen after rename (SIGUSR1 to the monitor) loses no line" {
	rt_sandbox
	rt_container c1 '["sh","-c","i=0; while [ $i -lt 300 ]; do echo tick $i; i=$((i+1)); usleep 3000; done"]'
	rt_create_start c1
	log=$LOGS/c1.log
	wait_until 10 grep -q ' stdout F tick 40$' "$log"
	mv "$log" "$log.1"
	# runtime_reopen_log returns once the monitor made the new file
	$P reopen-log "$(rt_id c1)"
	[ -e "$log" ]
	wait_until 10 test -s "$log"
	wait_until 20 rt_status_is c1 exited
	# the ticks of both files, in order, are exactly 0..299
	cat "$log.1" "$log" | sed -n 's/.* stdout F tick //p' >"$T/ticks"
	seq 0 299 >"$T/want"
	diff "$T/want" "$T/ticks"
	# the old file stopped growing: the new one has the last tick
	grep -q ' stdout F tick 299$' "$log"
	# no monitor once the container is gone
	run $P reopen-log "$(rt_id c1)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"has no running monitor"* ]]
}

@test "kill -9 of the monitor leaves the container running; exit then unknown" {
	rt_sandbox
	rt_container c1 '["sleep","1000"]'
	rt_create_start c1
	id=$(rt_id c1)
	read -r pid mon < <($P state "$id" | jq -r '"\(.pid) \(.monitorPid)"')
	[ "$pid" -gt 0 ]
	[ "$mon" -gt 0 ]
	# the monitor is the container init's parent, in its own session
	[ "$(rt_ppid "$pid")" = "$mon" ]
	[ "$(ps -o sid= -p "$mon" | tr -d ' ')" = "$mon" ]
	kill -9 "$mon"
	wait_until 5 rt_gone "$mon"
	[ "$(runc --root "$ROOT" state "$id" | jq -r .status)" = running ]
	kill -0 "$pid"
	[ "$($P state "$id" | jq -r .status)" = running ]
	run $P stop "$id" 15 200
	[ "$status" -eq 0 ]
	run $P state "$id"
	[ "$(jq -r .status <<<"$output")" = exited ]
	[ "$(jq -r .exitUnknown <<<"$output")" = true ]
	[ "$(jq -r .exitCode <<<"$output")" = 255 ]
}

@test "stop: TERM honoured within the grace period" {
	rt_sandbox
	rt_container c1 '["sh","-c","trap \"echo got-term; exit 0\" TERM; echo ready; while :; do sleep 0.05; done"]'
	rt_create_start c1
	wait_until 10 grep -q ' stdout F ready$' "$LOGS/c1.log"
	run $P stop "$(rt_id c1)" 15 10000
	[ "$status" -eq 0 ]
	[ "$output" -lt 5000 ]
	run $P state "$(rt_id c1)"
	[ "$(jq -r .exitCode <<<"$output")" = 0 ]
	[ "$(jq -r .signal <<<"$output")" = 0 ]
	grep -q ' stdout F got-term$' "$LOGS/c1.log"
}

@test "stop: a process ignoring TERM is killed after the grace period" {
	rt_sandbox
	rt_container c1 '["sh","-c","trap \"\" TERM; echo ready; while :; do sleep 0.05; done"]'
	rt_create_start c1
	wait_until 10 grep -q ' stdout F ready$' "$LOGS/c1.log"
	run $P stop "$(rt_id c1)" 15 1000
	[ "$status" -eq 0 ]
	[ "$output" -ge 1000 ]
	[ "$output" -lt 5000 ]
	run $P state "$(rt_id c1)"
	[ "$(jq -r .exitCode <<<"$output")" = 137 ]
	[ "$(jq -r .signal <<<"$output")" = 9 ]
}

@test "exec_sync: exit code, combined output, bound, timeout, stopped container" {
	rt_sandbox
	rt_container c1 '["sleep","1000"]' '[{"name":"GREETING","value":"hi"}]'
	rt_create_start c1
	id=$(rt_id c1)
	run $P exec "$id" 5000 4096 sh -c 'echo out; echo err >&2; echo $GREETING; exit 7'
	[ "$status" -eq 0 ]
	# stdout first, then stderr, as the kubelet joins the two streams
	[ "${lines[0]}" = "exit 7" ]
	[ "${lines[1]}" = out ]
	[ "${lines[2]}" = hi ]
	[ "${lines[3]}" = err ]
	# the container's user and hostname, not the host's
	run $P exec "$id" 5000 4096 sh -c 'id -u; hostname'
	[ "${lines[0]}" = "exit 0" ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = web ]
	run $P exec "$id" 5000 10 sh -c 'head -c 100 /dev/zero | tr "\0" x'
	[ "${lines[0]}" = "exit 0 truncated" ]
	[ "${lines[1]}" = xxxxxxxxxx ]
	t0=$EPOCHREALTIME
	run $P exec "$id" 500 4096 sh -c 'echo before; sleep 10'
	t1=$EPOCHREALTIME
	[ "$status" -eq 124 ]
	[[ "$output" == *'command "sh -c echo before; sleep 10" timed out'* ]]
	[[ "$output" == *before* ]]
	[ $(((${t1/./} - ${t0/./}) / 1000)) -lt 4000 ]
	# the runtime's message whole, even with a tiny output bound
	run $P exec "$id" 5000 8 /no/such/binary
	[ "$status" -eq 1 ]
	[[ "$output" == *'runc exec: '*'exec: "/no/such/binary": stat /no/such/binary: no such file or directory'* ]]
	$P stop "$id" 9 0
	run $P exec "$id" 5000 4096 true
	[ "$status" -eq 1 ]
	[[ "$output" == *"runc exec: "*"stopped"* ]]
}

@test "exec_start: streaming exec with pipes, a tty, a kill, and commands that cannot run" {
	rt_sandbox
	rt_container c1 '["sleep","1000"]'
	rt_create_start c1
	id=$(rt_id c1)
	# pipes: stdin reaches the command, stdout and stderr stay apart
	run $P exec-stream "$id" stdin sh -c 'cat; echo err >&2; exit 3' <<<"piped input"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "exit 3" ]
	[ "${lines[1]}" = "stdout:" ]
	[ "${lines[2]}" = "piped input" ]
	[ "${lines[3]}" = "stderr:" ]
	[ "${lines[4]}" = err ]
	# without stdin the command reads /dev/null
	run $P exec-stream "$id" - sh -c 'cat; echo done'
	[ "${lines[0]}" = "exit 0" ]
	[ "${lines[2]}" = done ]
	# a tty of the size asked, TERM set, input echoed by the terminal; the
	# command starts once the size came, or after a second on a slow machine
	# and the size then follows by SIGWINCH: it polls for it (10 s at most)
	run $P exec-stream "$id" tty=132x40 sh -c "$WAIT_TTY_40x132"'
stty size; tty; echo $TERM; read x; echo got $x' <<<"typed"
	[ "${lines[0]}" = "exit 0" ]
	[[ "$output" == *"40 132"* ]]
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *xterm* ]]
	[[ "$output" == *"got typed"* ]]
	# the client going away kills the command: 128+9
	t0=$EPOCHREALTIME
	run $P exec-stream "$id" kill=300 sleep 100
	t1=$EPOCHREALTIME
	[ "${lines[0]}" = "exit 137" ]
	[ $(((${t1/./} - ${t0/./}) / 1000)) -lt 5000 ]
	# what cannot run: 127 when missing, 126 when not executable, the
	# runtime's message kept
	run $P exec-stream "$id" - /no/such/binary
	[ "${lines[0]%%:*}" = "not started 127" ]
	[[ "${lines[0]}" == *'exec: "/no/such/binary": stat /no/such/binary: no such file or directory'* ]]
	run $P exec-stream "$id" - nosuchcommand
	[[ "${lines[0]}" == "not started 127: "*"executable file not found"* ]]
	run $P exec-stream "$id" - /etc/passwd
	[[ "${lines[0]}" == "not started 126: "*"permission denied"* ]]
	# a stopped container: not started, no shell-like code
	$P stop "$id" 9 0
	run $P exec-stream "$id" - true
	[[ "${lines[0]}" == "not started -1: runc exec: "*"stopped"* ]]
}

@test "OOM kill under a 32 MiB limit is reported as oomKilled" {
	[ -e /sys/fs/cgroup/memory/memory.oom_control ] || [ -e /sys/fs/cgroup/memory.events ] ||
		skip "no memory cgroup here"
	rt_sandbox
	rt_container c1 '["sh","-c","x=$(dd if=/dev/zero bs=1M count=64 2>/dev/null | tr \"\\\\0\" a); echo survived"]' '[]' \
		'{"limits":{"memory":"32Mi"}}'
	rt_create_start c1
	wait_until 20 rt_status_is c1 exited
	run $P state "$(rt_id c1)"
	[ "$(jq -r .exitCode <<<"$output")" = 137 ]
	[ "$(jq -r .oomKilled <<<"$output")" = true ]
	! grep -q survived "$LOGS/c1.log" || false
	if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		[ "$(cat "/sys/fs/cgroup/memory$CG/pod/$(rt_id c1)/memory.limit_in_bytes")" = 33554432 ]
	fi
	# a container that exits normally under the same limit is not OOM-killed
	rt_container c2 '["sh","-c","exit 0"]' '[]' '{"limits":{"memory":"32Mi"}}'
	rt_create_start c2
	wait_until 10 rt_status_is c2 exited
	[ "$($P state "$(rt_id c2)" | jq -r .oomKilled)" = false ]
}

@test "state and list: created, running, exited, unknown after delete" {
	rt_sandbox
	rt_container c1 '["sleep","1000"]'
	id=$(rt_id c1)
	run $P create "$id" "$T/b/c1" "$LOGS/c1.log"
	[ "$status" -eq 0 ]
	pid=$output
	[ "$($P state "$id" | jq -r .status)" = created ]
	[ "$($P state "$id" | jq -r .pid)" = "$pid" ]
	$P start "$id"
	run $P state "$id"
	[ "$(jq -r .status <<<"$output")" = running ]
	[[ "$(jq -r .startedAt <<<"$output")" =~ Z$ ]]
	$P list | grep -qx "$id"
	$P list | grep -qx "$(rt_id sb)"
	# a running container cannot be deleted
	run $P delete "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"runc delete: "* ]]
	$P stop "$id" 9 0
	[ "$($P state "$id" | jq -r .status)" = exited ]
	$P delete "$id"
	[ "$($P state "$id" | jq -r .status)" = unknown ]
	[ ! -e "$STATE/$id" ]
	run $P list
	! grep -qx "$id" <<<"$output" || false
	# deleting again is fine; a bad id is refused
	$P delete "$id"
	run $P state 'bad/id'
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid container id "bad/id"'* ]]
}

@test "concurrent calls from several threads" {
	rt_sandbox
	pairs=()
	for i in 1 2 3 4 5 6; do
		rt_container "p$i" '["sleep","1000"]'
		pairs+=("$(rt_id "p$i")=$T/b/p$i")
	done
	run $P parallel "$LOGS" "${pairs[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' ok$' <<<"$output")" = 6 ]
	run $P list
	[ "$output" = "$(rt_id sb)" ]
}

@test "create errors come back with the runtime's message and leave nothing" {
	rt_sandbox
	mkdir -p "$T/b/empty/rootfs"
	run $P create "$(rt_id empty)" "$T/b/empty" "$LOGS/empty.log"
	[ "$status" -eq 1 ]
	[[ "$output" == "create: runc create: "*"config.json"* ]]
	[ ! -e "$STATE/$(rt_id empty)" ]
	! ps -eo args | grep -v grep | grep -q -- "--id $(rt_id empty)" || false
	# the sandbox's id is taken
	run $P create "$(rt_id sb)" "$T/b/sb" "$LOGS/sb2.log"
	[ "$status" -eq 1 ]
	[[ "$output" == *"already exists"* ]]
	[ "$($P state "$(rt_id sb)" | jq -r .status)" = running ]
	# a log directory that does not exist
	rt_container c1 '["true"]'
	run $P create "$(rt_id c1)" "$T/b/c1" "$T/nodir/c1.log"
	[ "$status" -eq 1 ]
	[[ "$output" == *"open log $T/nodir/c1.log: No such file or directory"* ]]
	[ ! -e "$STATE/$(rt_id c1)" ]
}

@test "pod cgroups: limits, cpuset filled, monitor inside, usage, removal" {
	cat >"$T/gpod.json" <<-EOF
		{"metadata":{"name":"g","namespace":"default","uid":"$SFX-uid"},
		 "spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"1500m","memory":"200Mi"}}}]}}
	EOF
	path=$($PROBE cgroup-path "$CG" "$T/gpod.json")
	[ "$path" = "$CG/kubepods/pod$SFX-uid" ]
	$PROBE cgroup-create "$path" "$T/gpod.json"
	h=/sys/fs/cgroup
	if [ -d $h/memory ]; then
		[ "$(cat $h/memory$path/memory.limit_in_bytes)" = 209715200 ]
		[ "$(cat $h/cpu$path/cpu.cfs_quota_us)" = 150000 ]
		[ "$(cat $h/cpu$path/cpu.cfs_period_us)" = 100000 ]
		[ "$(cat $h/cpu$path/cpu.shares)" = 1536 ]
		[ -n "$(cat $h/cpuset$path/cpuset.cpus)" ]
		[ -n "$(cat $h/cpuset$CG/kubepods/cpuset.mems)" ]
		[ -d $h/unified$path ]
	fi
	# a container whose monitor joins the pod cgroup
	rt_sandbox "$path"
	mon=$($P state "$(rt_id sb)" | jq -r .monitorPid)
	grep -q ":memory:$path\$" /proc/"$mon"/cgroup
	grep -q "^0::$path\$" /proc/"$mon"/cgroup
	run $PROBE cgroup-usage "$path/$(rt_id sb)"
	[ "$status" -eq 0 ]
	[ "$(jq -r .hasMemory <<<"$output")" = true ]
	[ "$(jq -r .pids <<<"$output")" -ge 1 ]
	[ "$(jq -r .memory <<<"$output")" -gt 0 ]
	[ "$(jq -r '.workingSet <= .memory' <<<"$output")" = true ]
	$P stop "$(rt_id sb)" 9 0
	$P delete "$(rt_id sb)"
	$PROBE cgroup-remove "$path"
	for d in $h/*/; do [ ! -d "$d${path#/}" ]; done
	run $PROBE cgroup-usage "$path"
	[ "$status" -eq 1 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "crun: version, work-around on this hybrid host, a container end to end" {
	command -v crun >/dev/null || skip "crun is not installed"
	PC="$PROBE --runtime crun --root $T/crun --state-dir $STATE --monitor $MK_BIN/mink8s-monitor"
	run $PC version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^crun\ [0-9]+\.[0-9.]+\ workaround=[01]$ ]]
	hybrid=0
	if [ -s /sys/fs/cgroup/unified/cgroup.controllers ] && [ -d /sys/fs/cgroup/memory ]; then
		hybrid=1
		[[ "$output" == *"workaround=1" ]]
	fi
	P=$PC rt_sandbox
	P=$PC rt_container c1 '["sh","-c","echo from-crun; cat /proc/self/cgroup; exit 5"]'
	P=$PC rt_create_start c1
	P=$PC wait_until 10 rt_status_is c1 exited
	run $PC state "$(rt_id c1)"
	[ "$(jq -r .exitCode <<<"$output")" = 5 ]
	# crun's start also consumes exec.fifo: the monitor saw the start
	[[ "$(jq -r .startedAt <<<"$output")" =~ ^20[0-9-]+T[0-9:.]+Z$ ]]
	grep -q ' stdout F from-crun$' "$LOGS/c1.log"
	grep -qE " stdout F [0-9]+:memory:$CG/pod/$(rt_id c1)\$" "$LOGS/c1.log" || [ $hybrid = 0 ]
	# the hidden controllers file was private to crun's create
	[ -s /sys/fs/cgroup/unified/cgroup.controllers ] || [ $hybrid = 0 ]
	if [ $hybrid = 1 ]; then
		run $PROBE --runtime crun --root "$T/crun" --state-dir "$STATE" \
			--monitor "$MK_BIN/mink8s-monitor" --workaround off create "$(rt_id c2)" "$T/b/c1" "$LOGS/c2.log"
		[ "$status" -eq 1 ]
		[[ "$output" == *"crun create: "*"hybrid mode not supported"* ]]
	fi
	run $PC delete "$(rt_id c1)"
	[ "$status" -eq 0 ]
	$PC stop "$(rt_id sb)" 9 0
	$PC delete "$(rt_id sb)"
}
