#!/usr/bin/env bats
# The kubelet's streaming endpoints (kubelet/streaming) with the real kubectl:
# logs, exec, attach and port-forward into a busybox pod run by
# kubelet/runtime under real runc. tests/integration/streaming-probe.c serves
# the kubelet's paths and just enough of the API server's for kubectl to
# reach the same handlers, so that WebSocket (v5, the tunnel for
# port-forward) and the SPDY fallback are both driven by kubectl itself.
# Every container, monitor, cgroup, namespace and process is removed in
# teardown. STREAMING_SAN=1 builds the probe under ASan+UBSan (a report fails
# the test).

load streaming-helpers

setup_file() {
	sp_setup_file
}

setup() {
	sp_setup
}

teardown() {
	sp_teardown
}

@test "exec over WebSocket: output, exit codes, stdin, a command that does not exist" {
	make_pod
	run k exec web -c c1 -- sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *out* ]]
	[[ "$output" == *err* ]]
	[[ "$output" == *"command terminated with exit code 3"* ]]
	run --separate-stderr k exec web -c c1 -- sh -c 'echo out; echo err >&2'
	[ "$status" -eq 0 ]
	[ "$output" = out ]
	[ "$stderr" = err ]
	# -i: stdin piped through, closed at its end (v5's close signal)
	run k exec -i web -c c1 -- sh -c 'tr a-z A-Z; echo eof seen' <<<"some input"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "SOME INPUT" ]
	[ "${lines[1]}" = "eof seen" ]
	# a megabyte through stdin and back, byte for byte
	head -c 1048576 /dev/urandom >"$T/in.bin"
	k exec -i web -c c1 -- cat <"$T/in.bin" >"$T/out.bin"
	cmp "$T/in.bin" "$T/out.bin"
	run k exec web -c c1 -- nosuchcommand
	[ "$status" -eq 127 ]
	[[ "$output" == *'executable file not found'* ]]
	[[ "$output" == *"command terminated with exit code 127"* ]]
	run k exec web -c c1 -- /etc/passwd
	[ "$status" -eq 126 ]
}

@test "exec falls back to SPDY when WebSocket is turned off" {
	make_pod
	export KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false
	run k exec web -c c1 -- sh -c 'echo spdy out; exit 4'
	[ "$status" -eq 4 ]
	[[ "$output" == *"spdy out"* ]]
	[[ "$output" == *"command terminated with exit code 4"* ]]
	run k exec -i web -c c1 -- sh -c 'cat; echo done' <<<"over spdy"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "over spdy" ]
	[ "${lines[1]}" = done ]
	head -c 1048576 /dev/urandom >"$T/in.bin"
	k exec -i web -c c1 -- cat <"$T/in.bin" >"$T/out.bin"
	cmp "$T/in.bin" "$T/out.bin"
}

@test "exec -it under a pty: the terminal's size and input" {
	make_pod
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	# kubectl sends the size first; the command starts once it came (or
	# after a second on a slow machine, the size then follows by SIGWINCH)
	local sh="$WAIT_TTY_40x132"
	sh+='; stty size; tty; read x; echo got $x'
	local cmd="stty cols 132 rows 40; $T/k exec -it web -c c1 -- sh -c '$sh'"
	run timeout 30 script -qec "$cmd" /dev/null <<<"typed"
	[ "$status" -eq 0 ]
	[[ "$output" == *"40 132"* ]]
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *"got typed"* ]]
	# and over SPDY, whose resize stream carries the size
	run env KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false timeout 30 script -qec "$cmd" /dev/null <<<"typed"
	[ "$status" -eq 0 ]
	[[ "$output" == *"40 132"* ]]
	[[ "$output" == *"got typed"* ]]
}

@test "a client that goes away ends its command" {
	make_pod
	"$T/k" exec web -c c1 -- sh -c 'echo $$ >/tmp/pid; exec sleep 777' 2>/dev/null &
	local kpid=$!
	PF_PIDS+=("$kpid")
	wait_until 10 $P exec "$(rt_id c1)" 2000 100 test -s /tmp/pid
	wait_until 10 sh -c "$P exec $(rt_id c1) 2000 4096 ps | grep -q 'sleep 777'"
	kill -9 "$kpid"
	# the command is killed once the connection drops
	wait_until 10 sh -c "! $P exec $(rt_id c1) 2000 4096 ps | grep -q 'sleep 777'"
	[ "$(curl -s "http://127.0.0.1:$PORT/version" | jq -r .minor)" = 32 ]
}

@test "logs: all, tail, timestamps, since, limit, follow until the container stops" {
	make_pod
	local id
	id=$(rt_id c1)
	wait_until 10 grep -q to-stderr "$LOGS/c1.log"
	run k logs web -c c1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = started ]
	[ "${lines[1]}" = to-stderr ]
	# more lines through exec: the container's own output only
	$P exec "$id" 2000 100 sh -c 'for i in 1 2 3; do echo line$i >/proc/1/fd/1; done' >/dev/null
	wait_until 10 grep -q line3 "$LOGS/c1.log"
	run k logs web -c c1 --tail=2
	[ "$output" = "$(printf 'line2\nline3')" ]
	run k logs web -c c1 --tail=1 --timestamps
	[[ "$output" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ line3$ ]]
	run k logs web -c c1 --limit-bytes=10
	[ "$output" = "$(printf 'started\nto')" ]
	run k logs web -c c1 --since=1h
	[ "${#lines[@]}" -eq 5 ]
	run k logs web -c c1 --since-time=2099-01-01T00:00:00Z
	[ "$output" = "" ]
	# follow: new lines arrive, and the stream ends when the container stops
	k logs -f web -c c1 >"$T/follow.out" 2>&1 &
	local fpid=$!
	PF_PIDS+=("$fpid")
	wait_until 10 grep -q line3 "$T/follow.out"
	$P exec "$id" 2000 100 sh -c 'echo followed >/proc/1/fd/1' >/dev/null
	wait_until 10 grep -q followed "$T/follow.out"
	$P exec "$id" 2000 100 sh -c 'echo last words >/proc/1/fd/1' >/dev/null
	wait_until 10 grep -q 'last words' "$LOGS/c1.log"
	$P stop "$id" 9 0 >/dev/null
	wait_until 15 sh -c "! kill -0 $fpid"
	wait "$fpid"
	grep -q 'last words' "$T/follow.out"
	# the kubelet's own endpoint and its errors
	run curl -s "http://127.0.0.1:$PORT/containerLogs/default/web/c1?tailLines=1"
	[ "$output" = "last words" ]
	run curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/containerLogs/default/web/nope"
	[ "$output" = 'container "nope" not found in pod "web" 404' ]
	run curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/containerLogs/default/gone/c1"
	[ "$output" = 'pod "gone" does not exist 404' ]
	run curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/containerLogs/default/web/c1?tailLines=-1"
	[ "$output" = '{"message": "Invalid request."} 422' ]
	run curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/containerLogs/default/web/c1?previous=true"
	[ "$output" = 'previous terminated container "c1" in pod "web" not found 400' ]
}

@test "port-forward through the WebSocket tunnel and through SPDY, several at once" {
	make_pod http
	wait_until 10 ip netns exec "$NS" bash -c 'echo >/dev/tcp/127.0.0.1/8080'
	port_forward 8080
	local p1=$LPORT
	run curl -s --max-time 10 "http://127.0.0.1:$p1/index.html"
	[ "$output" = "hello from the pod" ]
	# a second forward over SPDY, and parallel requests on both
	KUBECTL_PORT_FORWARD_WEBSOCKETS=false port_forward 8080
	local p2=$LPORT
	local i
	for i in 1 2 3 4; do
		curl -s --max-time 20 "http://127.0.0.1:$p1/big.bin" -o "$T/a$i" &
		curl -s --max-time 20 "http://127.0.0.1:$p2/big.bin" -o "$T/b$i" &
	done
	wait_until 30 sh -c "[ \$(ls $T/a? $T/b? 2>/dev/null | wc -l) -eq 8 ]"
	for i in 1 2 3 4; do
		wait_until 30 cmp -s "$BATS_FILE_TMPDIR/rootfs/big.bin" "$T/a$i"
		wait_until 30 cmp -s "$BATS_FILE_TMPDIR/rootfs/big.bin" "$T/b$i"
	done
	# a port nothing listens on: kubectl reports the kubelet's error
	port_forward 9
	run curl -s --max-time 10 "http://127.0.0.1:$LPORT/"
	[ "$status" -ne 0 ]
	wait_until 10 grep -q 'error forwarding port 9 to pod web' "$PF_OUT"
	grep -q 'connect: connection refused' "$PF_OUT"
}

@test "attach: the output from then on, stdin to a container that keeps it open, the end" {
	make_pod
	# c3 reads its stdin (kept by its monitor) until it closes
	rt_container c3 '["sh","-c","while read l; do echo echo:$l; done; echo bye; sleep 1"]'
	jq '(.spec.containers[] | select(.name == "c3")) += {"stdin":true,"stdinOnce":true}' \
		"$T/pod.json" >"$T/pod.json.new"
	mv "$T/pod.json.new" "$T/pod.json"
	$P create-stdin "$(rt_id c3)" "$T/b/c3" "$LOGS/c3.log" >/dev/null
	$P start "$(rt_id c3)"

	# output only: what c1 prints while attached, then its end
	"$T/k" attach web -c c1 >"$T/attach.out" 2>&1 &
	local apid=$!
	PF_PIDS+=("$apid")
	wait_until 10 test -S "$STATE/$(rt_id c1)/attach"
	wait_until 10 sh -c "$P exec $(rt_id c1) 2000 100 sh -c 'echo tick >/proc/1/fd/1' >/dev/null; grep -q tick $T/attach.out"
	! grep -q started "$T/attach.out" || false
	$P stop "$(rt_id c1)" 9 0 >/dev/null
	wait_until 15 sh -c "! kill -0 $apid"
	wait "$apid"

	# stdin: piped through the monitor; its end closes the container's stdin
	run timeout 30 "$T/k" attach -i web -c c3 <<<"$(printf 'one\ntwo')"
	[ "$status" -eq 0 ]
	[[ "$output" == *echo:one* ]]
	[[ "$output" == *echo:two* ]]
	[[ "$output" == *bye* ]]
	# and the log got the same lines
	grep -q 'stdout F echo:two' "$LOGS/c3.log"
}

@test "SIGTERM while exec, attach, port-forward and logs -f stream: a clean exit 0" {
	make_pod http
	wait_until 10 ip netns exec "$NS" bash -c 'echo >/dev/tcp/127.0.0.1/8080'
	# finished streams of every kind first
	k exec web -c c1 -- true
	KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false "$T/k" exec -i web -c c1 -- cat <<<"x" >/dev/null
	k logs web -c c1 >/dev/null
	port_forward 8080
	local p1=$LPORT
	KUBECTL_PORT_FORWARD_WEBSOCKETS=false port_forward 8080
	curl -s --max-time 20 "http://127.0.0.1:$p1/big.bin" -o /dev/null
	curl -s --max-time 20 "http://127.0.0.1:$LPORT/big.bin" -o /dev/null
	# and some still open when the signal comes (the exec's one line
	# shows while the command still runs)
	"$T/k" logs -f web -c c1 >"$T/follow.out" 2>&1 &
	PF_PIDS+=($!)
	"$T/k" attach web -c c1 >"$T/attach.out" 2>&1 &
	PF_PIDS+=($!)
	"$T/k" exec web -c c1 -- sh -c 'echo running; exec sleep 100' >"$T/exec.out" 2>&1 &
	PF_PIDS+=($!)
	wait_until 10 grep -q to-stderr "$T/follow.out"
	wait_until 10 grep -q running "$T/exec.out"
	wait_until 10 sh -c "$P exec $(rt_id c1) 2000 100 sh -c 'echo tick >/proc/1/fd/1' >/dev/null; grep -q tick $T/attach.out"
	curl -s --max-time 20 "http://127.0.0.1:$p1/big.bin" -o /dev/null &
	PF_PIDS+=($!)
	kill -TERM "$SP_PID"
	local rc=0
	wait "$SP_PID" || rc=$?
	SP_PID=
	cat "$T/probe.err" >&2
	[ "$rc" -eq 0 ]
	! grep -q 'libmicrohttpd\|Close socket failed\|Sanitizer' "$T/probe.err" || false
}
