# Helpers of kubelet-runtime.bats: a busybox root file system, one pod per
# test (sandbox + containers built by kubelet/ocispec), bounded waits, and a
# teardown that removes every container, monitor, cgroup and namespace the
# test made.
#
#   rt_setup / rt_teardown      per-test state: $SFX, $T, $ROOT, $STATE, $LOGS,
#                               $CG (cgroup tree /mkrt-$SFX), $NS (netns), $P
#   rt_sandbox [POD_CGROUP]     creates and starts the sandbox (busybox sleep);
#                               with POD_CGROUP its monitor joins that cgroup
#   rt_container NAME CMD_JSON [ENV_JSON] [RESOURCES_JSON]
#                               adds the container to the pod and writes its bundle
#   rt_create_start NAME        create + start through runtime-probe
#
# Waits go through lib/wait.bash (wait_until SECONDS CMD...).

load lib/wait

rt_build_probe() {
	make -C "$MK_ROOT" -s build/libmk.a "bin/mink8s-monitor" >&2
	local pkgs="jansson yaml-0.1 libcurl"
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 \
		-Wno-format-nonliteral -D_GNU_SOURCE -I"$MK_ROOT/lib" -I"$MK_ROOT" \
		$(pkg-config --cflags $pkgs) -O2 -g \
		-o "$BATS_FILE_TMPDIR/runtime-probe" "$MK_ROOT/tests/integration/runtime-probe.c" \
		"$MK_ROOT/kubelet/runtime.c" "$MK_ROOT/kubelet/ocispec.c" "$MK_ROOT/kubelet/cgroups.c" \
		"$MK_ROOT/build/libmk.a" $(pkg-config --libs $pkgs) -lpthread -lm -lresolv
}

# A root file system of busybox-static with every applet linked.
rt_make_rootfs() {
	local r=$1
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,dev,sys}
	cp /bin/busybox "$r/bin/busybox"
	chroot "$r" /bin/busybox --install -s
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
}

rt_setup() {
	SFX=$(tr -dc a-z0-9 </dev/urandom | head -c 8)
	T=$BATS_TEST_TMPDIR
	ROOT=$T/runc
	STATE=$T/state
	LOGS=$T/logs
	CG=/mkrt-$SFX
	NS=mkrt-$SFX
	PROBE=$BATS_FILE_TMPDIR/runtime-probe
	P="$PROBE --root $ROOT --state-dir $STATE --monitor $MK_BIN/mink8s-monitor"
	mkdir -p "$LOGS" "$T/b" "$T/shm"
	ip netns add "$NS"
	cat >"$T/pod.json" <<-EOF
		{"metadata":{"name":"web","namespace":"default","uid":"rt$SFX"},
		 "spec":{"containers":[]}}
	EOF
	echo '{"config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}}' >"$T/image.json"
	echo '{"config":{"Entrypoint":["sleep"],"Cmd":["3600"]}}' >"$T/sandbox-image.json"
	SWAP=
	[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ] && SWAP=--swap
	SB_PID=
}

rt_id() {
	if [ "$1" = sb ]; then
		echo "k8s_POD_web_default_rt${SFX}_0"
	else
		echo "k8s_$1_web_default_rt${SFX}_0"
	fi
}

rt_status_is() {
	[ "$($P state "$(rt_id "$1")" | jq -r .status)" = "$2" ]
}

rt_ppid() {
	sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f2
}

rt_gone() {
	if kill -0 "$1" 2>/dev/null; then
		return 1
	fi
}

rt_sandbox() {
	local pcg=${1:-$CG/pod} id
	id=$(rt_id sb)
	mkdir -p "$T/b/sb"
	cp -a "$BATS_FILE_TMPDIR/rootfs" "$T/b/sb/rootfs"
	$PROBE spec --pod "$T/pod.json" --image "$T/sandbox-image.json" --rootfs "$T/b/sb/rootfs" \
		--cgroups-path "$pcg/$id" --netns "/var/run/netns/$NS" --hostname web \
		--shm "$T/shm" >"$T/b/sb/config.json"
	SB_PID=$($P create "$id" "$T/b/sb" "$LOGS/sb.log" ${1:+"$1"})
	$P start "$id"
}

rt_container() {
	local name=$1 cmd=$2 env=${3:-[]} res=${4:-}
	[ -n "$res" ] || res='{}'
	jq --arg n "$name" --argjson c "$cmd" --argjson e "$env" --argjson r "$res" \
		'.spec.containers += [{"name":$n,"image":"busybox","command":$c,"env":$e,"resources":$r}]' \
		"$T/pod.json" >"$T/pod.json.new"
	mv "$T/pod.json.new" "$T/pod.json"
	mkdir -p "$T/b/$name"
	cp -a "$BATS_FILE_TMPDIR/rootfs" "$T/b/$name/rootfs"
	: >"$T/b/$name/termination-log"
	$PROBE spec --pod "$T/pod.json" --container "$name" --image "$T/image.json" \
		--rootfs "$T/b/$name/rootfs" --cgroups-path "$CG/pod/$(rt_id "$name")" \
		--netns "/var/run/netns/$NS" --sandbox-pid "$SB_PID" --hostname web --shm "$T/shm" \
		--termination-log "$T/b/$name/termination-log" $SWAP >"$T/b/$name/config.json"
}

rt_create_start() {
	$P create "$(rt_id "$1")" "$T/b/$1" "$LOGS/$1.log" >/dev/null
	$P start "$(rt_id "$1")"
}

# Every cgroup directory of the test gone, deepest first, in every hierarchy.
_rt_cgroups_gone() {
	local h left=0
	for h in /sys/fs/cgroup/*/; do
		[ -d "$h${CG#/}" ] || continue
		find "$h${CG#/}" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$h${CG#/}" ] && left=1
	done
	[ $left = 0 ]
}

rt_teardown() {
	[ -n "${SFX:-}" ] || return 0
	local bin root id f pid
	for bin in runc crun; do
		root=$ROOT
		[ $bin = crun ] && root=$T/crun
		[ -d "$root" ] && command -v $bin >/dev/null || continue
		for id in $($bin --root "$root" list -q 2>/dev/null); do
			$bin --root "$root" kill "$id" KILL >/dev/null 2>&1
			$bin --root "$root" delete -f "$id" >/dev/null 2>&1
		done
	done
	# the monitors this test started: each names its container in its command line
	for f in "$STATE"/*/monitor.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		id=$(basename "$(dirname "$f")")
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--id $id "; then
			kill -9 "$pid" 2>/dev/null
		fi
	done
	wait_until 5 _rt_cgroups_gone || true
	ip netns del "$NS" 2>/dev/null || true
}
