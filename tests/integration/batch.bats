#!/usr/bin/env bats
# batch/v1 Jobs and CronJobs: the real kubectl against kube-apiserver and
# kube-controller-manager. No kubelet: the tests play the pods, setting their
# phase through the status subresource as a kubelet would.

load lib/apiserver
load lib/wait

setup_file() {
	apiserver_start
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
	# one controller-manager for the file; each test works in a namespace of its own
	export CM_LOG=$MK_API_TMP/cm.log
	"$MK_BIN/kube-controller-manager" --master="$MK_API_URL" --leader-elect=false -v=2 \
		>>"$CM_LOG" 2>&1 3>&- &
	echo $! >"$MK_API_TMP/cm.pid"
}

teardown_file() {
	local pid
	pid=$(cat "$MK_API_TMP/cm.pid" 2>/dev/null)
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	apiserver_stop
}

setup() {
	NS=t-$(tr -dc 'a-z0-9' </dev/urandom | head -c 6)
	kubectl create namespace "$NS" >/dev/null
}

teardown() {
	kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
	true
}

wait_diagnose() {
	tail -20 "$CM_LOG"
	kubectl get jobs,pods -n "$NS" -o wide
}

# pods_of JOB [field-selector]: names of the job's pods
pods_of() {
	kubectl get pods -n "$NS" -l "job-name=$1" ${2:+--field-selector="$2"} \
		-o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
}

npods() {
	pods_of "$@" | grep -c . || true
}

npods_is() {
	[ "$(npods "$2" "${3:-}")" = "$1" ]
}

# set_phase PHASE POD...: what a kubelet reports when the containers end
set_phase() {
	local phase=$1 p
	shift
	for p in "$@"; do
		kubectl patch pod "$p" -n "$NS" --subresource=status --type=merge \
			-p "{\"status\":{\"phase\":\"$phase\"}}" >/dev/null
	done
}

job_gone() {
	! kubectl get job "$1" -n "$NS" -o name 2>/dev/null || false
}

job_field() {
	kubectl get job "$1" -n "$NS" -o jsonpath="$2"
}

@test "kubectl create job: one pod owned and tracked, Complete once it succeeded, kubectl wait and get jobs" {
	run kubectl create job hello -n "$NS" --image=busybox -- sh -c 'exit 0'
	[ "$status" -eq 0 ]
	[ "$output" = "job.batch/hello created" ]
	wait_until 10 npods_is 1 hello
	pod=$(pods_of hello)
	[[ "$pod" =~ ^hello-[a-z0-9]{5}$ ]]
	run kubectl get pod "$pod" -n "$NS" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller} {.metadata.finalizers} {.metadata.labels.batch\.kubernetes\.io/job-name} {.spec.restartPolicy}'
	[ "$output" = 'Job/hello true ["batch.kubernetes.io/job-tracking"] hello Never' ]
	wait_eq 10 1 job_field hello '{.status.active}'
	run kubectl get jobs -n "$NS"
	[ "${lines[0]}" = "NAME    STATUS    COMPLETIONS   DURATION   AGE" ]
	[[ "${lines[1]}" =~ ^hello\ +Running\ +0/1\ + ]]

	set_phase Succeeded "$pod"
	run kubectl wait --for=condition=complete "job/hello" -n "$NS" --timeout=20s
	[ "$status" -eq 0 ]
	[ "$output" = "job.batch/hello condition met" ]
	run job_field hello '{.status.succeeded} {.status.active} {range .status.conditions[*]}{.type}={.status}/{.reason} {end}'
	[ "$output" = "1  SuccessCriteriaMet=True/CompletionsReached Complete=True/CompletionsReached " ]
	run job_field hello '{.status.uncountedTerminatedPods}|{.status.completionTime}'
	[[ "$output" =~ ^\{\}\|20[0-9-]+T[0-9:]+Z$ ]]
	# counted, so its finalizer is gone; the pod itself stays, as upstream's
	run kubectl get pod "$pod" -n "$NS" -o jsonpath='{.metadata.finalizers}{.status.phase}'
	[ "$output" = "Succeeded" ]
	run kubectl get jobs -n "$NS"
	[[ "${lines[1]}" =~ ^hello\ +Complete\ +1/1\ +[0-9]+s\ + ]]
	run kubectl describe job hello -n "$NS"
	[[ "$output" == *"Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed"* ]]
	[[ "$output" == *"Created pod: $pod"* ]]
	[[ "$output" == *"Job completed"* ]]
	# no other pod was ever made
	[ "$(npods hello)" = 1 ]
}

@test "a failing job stops at backoffLimit: Failed, BackoffLimitExceeded, no further pods" {
	kubectl apply -n "$NS" -f - <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: boom}
	spec:
	  parallelism: 2
	  completions: 2
	  backoffLimit: 1
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: c, image: busybox}]
	EOF
	wait_until 10 npods_is 2 boom
	wait_eq 10 2 job_field boom '{.status.active}'
	# shellcheck disable=SC2046
	set_phase Failed $(pods_of boom)
	run kubectl wait --for=condition=failed job/boom -n "$NS" --timeout=20s
	[ "$status" -eq 0 ]
	run job_field boom '{.status.failed} {range .status.conditions[*]}{.type}={.reason}: {.message}; {end}'
	[ "$output" = "2 FailureTarget=BackoffLimitExceeded: Job has reached the specified backoff limit; Failed=BackoffLimitExceeded: Job has reached the specified backoff limit; " ]
	run kubectl get jobs -n "$NS"
	[[ "${lines[1]}" =~ ^boom\ +Failed\ +0/2\  ]]
	[ "$(npods boom)" = 2 ]
	run kubectl get events -n "$NS" --field-selector involvedObject.name=boom,reason=BackoffLimitExceeded -o jsonpath='{.items[0].type} {.items[0].message}'
	[ "$output" = "Warning Job has reached the specified backoff limit" ]
}

@test "completions 3 at parallelism 2: never more than two pods at once, three in all" {
	kubectl apply -n "$NS" -f - <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: par}
	spec:
	  completions: 3
	  parallelism: 2
	  template:
	    spec:
	      restartPolicy: OnFailure
	      containers: [{name: c, image: busybox}]
	EOF
	wait_eq 10 2 job_field par '{.status.active}'
	[ "$(npods par)" = 2 ]
	set_phase Succeeded "$(pods_of par | head -1)"
	# one done, one running: one more is made, for the last completion
	wait_until 10 npods_is 3 par
	wait_eq 10 "1 2" job_field par '{.status.succeeded} {.status.active}'
	# shellcheck disable=SC2046
	set_phase Succeeded $(pods_of par status.phase=Pending)
	run kubectl wait --for=condition=complete job/par -n "$NS" --timeout=20s
	[ "$status" -eq 0 ]
	[ "$(job_field par '{.status.succeeded}')" = 3 ]
	[ "$(npods par)" = 3 ]
	run kubectl get jobs -n "$NS"
	[[ "${lines[1]}" =~ ^par\ +Complete\ +3/3\  ]]
}

@test "activeDeadlineSeconds: the job fails with DeadlineExceeded and its pods are deleted" {
	kubectl apply -n "$NS" -f - <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: slow}
	spec:
	  activeDeadlineSeconds: 1
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: c, image: busybox}]
	EOF
	run kubectl wait --for=condition=failed job/slow -n "$NS" --timeout=20s
	[ "$status" -eq 0 ]
	run job_field slow '{range .status.conditions[?(@.type=="Failed")]}{.reason}: {.message}{end}'
	[ "$output" = "DeadlineExceeded: Job was active longer than specified deadline" ]
	# its one pod was made, then deleted at the deadline, and counted failed
	wait_until 10 npods_is 0 slow
	[ "$(job_field slow '{.status.failed}')" = 1 ]
	# events are posted after the fact: wait for the delete's, then count
	slow_events() {
		kubectl get events -n "$NS" --field-selector involvedObject.name=slow -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}'
	}
	deleted_event() { slow_events | grep -q '^SuccessfulDelete$'; }
	wait_until 10 deleted_event
	run slow_events
	[ "$(grep -c '^SuccessfulCreate$' <<<"$output")" = 1 ]
	[ "$(grep -c '^SuccessfulDelete$' <<<"$output")" = 1 ]
	[[ "$output" == *DeadlineExceeded* ]]
}

@test "ttlSecondsAfterFinished: the finished job is deleted, and its pods with it" {
	kubectl apply -n "$NS" -f - <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: brief}
	spec:
	  ttlSecondsAfterFinished: 1
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: c, image: busybox}]
	EOF
	wait_until 10 npods_is 1 brief
	set_phase Succeeded "$(pods_of brief)"
	run kubectl wait --for=condition=complete job/brief -n "$NS" --timeout=20s
	[ "$status" -eq 0 ]
	wait_until 15 job_gone brief
	wait_until 10 npods_is 0 brief
}

@test "Job and CronJob validation answers with upstream's messages, stores nothing" {
	run kubectl apply -n "$NS" -f - <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: always}
	spec:
	  template:
	    spec:
	      containers: [{name: c, image: busybox}]
	EOF
	[ "$status" -ne 0 ]
	[[ "$output" == *'The Job "always" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'* ]]
	run kubectl create cronjob c1 -n "$NS" --image=busybox --schedule='61 * * * *'
	[ "$status" -ne 0 ]
	[ "$output" = 'error: failed to create cronjob: CronJob.batch "c1" is invalid: spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61' ]
	run kubectl create cronjob c2 -n "$NS" --image=busybox --schedule='* * *'
	[[ "$output" == *'spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]'* ]]
	run kubectl apply -n "$NS" -f - <<-EOF
	apiVersion: batch/v1
	kind: CronJob
	metadata: {name: c3}
	spec:
	  schedule: "@hourly"
	  timeZone: Mars/Olympus
	  concurrencyPolicy: Sometimes
	  jobTemplate:
	    spec:
	      template:
	        spec:
	          restartPolicy: Never
	          containers: [{name: c, image: busybox}]
	EOF
	[ "$status" -ne 0 ]
	[[ "$output" == *'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'* ]]
	[[ "$output" == *'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'* ]]
	run kubectl apply -n "$NS" -f - <<-EOF
	apiVersion: batch/v1
	kind: Job
	metadata: {name: neg}
	spec:
	  backoffLimit: "six"
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: c, image: busybox}]
	EOF
	[[ "$output" == *'Job in version "v1" cannot be handled as a Job: json: cannot unmarshal string into Go struct field JobSpec.spec.backoffLimit of type int32'* ]]
	run kubectl get jobs,cronjobs -n "$NS" -o name
	[ "$output" = "" ]
}

@test "kubectl create job shows upstream's defaults and generated selector" {
	kubectl create job d -n "$NS" --image=busybox -- true >/dev/null
	uid=$(job_field d '{.metadata.uid}')
	run job_field d '{.spec.completions} {.spec.parallelism} {.spec.backoffLimit} {.spec.completionMode} {.spec.suspend} {.spec.manualSelector} {.spec.podReplacementPolicy}'
	[ "$output" = "1 1 6 NonIndexed false false TerminatingOrFailed" ]
	run job_field d '{.spec.selector.matchLabels}'
	[ "$output" = "{\"batch.kubernetes.io/controller-uid\":\"$uid\"}" ]
	run job_field d '{.spec.template.metadata.labels}'
	[ "$output" = "{\"batch.kubernetes.io/controller-uid\":\"$uid\",\"batch.kubernetes.io/job-name\":\"d\",\"controller-uid\":\"$uid\",\"job-name\":\"d\"}" ]
	# the selector may not change
	run kubectl patch job d -n "$NS" --type=merge -p '{"spec":{"selector":{"matchLabels":{"a":"b"}}}}'
	[ "$status" -ne 0 ]
	[[ "$output" == *"spec.selector: Invalid value:"*"field is immutable"* ]]
}

# minute_of RFC3339: minutes since the epoch
minute_of() {
	echo $(($(date -d "$1" +%s) / 60))
}

cj_active() {
	[ -n "$(kubectl get cronjob "$1" -n "$NS" -o jsonpath='{.status.active}')" ]
}

cj_idle() {
	[ -z "$(kubectl get cronjob "$1" -n "$NS" -o jsonpath='{.status.active}')" ]
}

cj_jobs() {
	kubectl get jobs -n "$NS" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
}

@test "CronJob: a missed minute of '* * * * *' starts its Job at once, named <cronjob>-<minutes>, in status.active" {
	kubectl create cronjob tick -n "$NS" --image=busybox --schedule='* * * * *' -- true >/dev/null
	run kubectl get cronjobs -n "$NS"
	[ "${lines[0]}" = "NAME   SCHEDULE    TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE" ]
	[[ "${lines[1]}" =~ ^tick\ +\*\ \*\ \*\ \*\ \*\ +\<none\>\ +False\ +0\ + ]]
	# as after a controller outage: the last run was three minutes ago, so
	# the latest missed time runs now, without waiting for the next minute
	past=$(date -u -d '-3 min' +%Y-%m-%dT%H:%M:00Z)
	kubectl patch cronjob tick -n "$NS" --subresource=status --type=merge \
		-p "{\"status\":{\"lastScheduleTime\":\"$past\"}}" >/dev/null
	wait_until 10 cj_active tick
	# no further minute may add a job from here on
	kubectl patch cronjob tick -n "$NS" --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
	# a minute may have turned before the suspend: then the next job is
	# active beside the first, and lastScheduleTime names the newest
	run kubectl get cronjob tick -n "$NS" -o jsonpath='{range .status.active[*]}{.kind}/{.name} {end}|{.status.lastScheduleTime}'
	n=$(minute_of "${output#*|}")
	job=tick-$n
	[[ " ${output%%|*}" == *" Job/$job "* ]]
	now=$(($(date +%s) / 60))
	[ "$n" -le "$now" ] && [ "$n" -ge $((now - 2)) ]
	run kubectl get job "$job" -n "$NS" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.annotations.batch\.kubernetes\.io/cronjob-scheduled-timestamp}'
	[[ "$output" == "CronJob/tick "* ]]
	[ "$(minute_of "${output#* }")" = "$n" ]
	run kubectl get cronjobs -n "$NS"
	[[ "${lines[1]}" =~ ^tick\ +\*\ \*\ \*\ \*\ \*\ +\<none\>\ +True\ +[12]\ +[0-9]+s\  ]]
	# its jobs run their pods like any other; once they succeeded none is active
	local j
	for j in $(cj_jobs); do
		wait_until 10 npods_is 1 "$j"
		set_phase Succeeded "$(pods_of "$j")"
	done
	wait_until 10 cj_idle tick
	run kubectl get cronjob tick -n "$NS" -o jsonpath='{.status.lastSuccessfulTime}'
	[ -n "$output" ]
	run kubectl get events -n "$NS" --field-selector involvedObject.name=tick -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}'
	[[ "$output" == *"SuccessfulCreate: Created job $job"* ]]
	[[ "$output" == *"SawCompletedJob: Saw completed job: $job, condition: Complete"* ]]
}

@test "kubectl create job --from=cronjob, and successfulJobsHistoryLimit drops the oldest finished job" {
	kubectl create cronjob nightly -n "$NS" --image=busybox --schedule='0 3 * * *' -- true >/dev/null
	kubectl patch cronjob nightly -n "$NS" --type=merge -p '{"spec":{"successfulJobsHistoryLimit":1,"timeZone":"Europe/Berlin"}}' >/dev/null
	run kubectl get cronjobs -n "$NS"
	[[ "${lines[1]}" =~ ^nightly\ +0\ 3\ \*\ \*\ \*\ +Europe/Berlin\ +False\ +0\ +\<none\>\  ]]
	run kubectl create job first -n "$NS" --from=cronjob/nightly
	[ "$output" = "job.batch/first created" ]
	run kubectl get job first -n "$NS" -o jsonpath='{.metadata.annotations.cronjob\.kubernetes\.io/instantiate} {.metadata.ownerReferences[0].name}'
	[ "$output" = "manual nightly" ]
	wait_until 10 npods_is 1 first
	set_phase Succeeded "$(pods_of first)"
	kubectl wait --for=condition=complete job/first -n "$NS" --timeout=20s
	kubectl create job second -n "$NS" --from=cronjob/nightly >/dev/null
	wait_until 10 npods_is 1 second
	set_phase Succeeded "$(pods_of second)"
	kubectl wait --for=condition=complete job/second -n "$NS" --timeout=20s
	# two finished, one kept: the older goes
	wait_until 10 job_gone first
	kubectl get job second -n "$NS"
	run kubectl get events -n "$NS" --field-selector involvedObject.name=nightly,reason=SuccessfulDelete -o jsonpath='{.items[*].message}'
	[ "$output" = "Deleted job first" ]
}

pod_untracked_orphan() {
	[ "$(kubectl get pod "$1" -n "$NS" -o jsonpath='{.metadata.ownerReferences}{.metadata.finalizers}')" = "" ]
}

@test "a Job deleted without a propagation policy orphans its pods, as upstream's batch/v1, and they lose the tracking finalizer" {
	kubectl create job keep -n "$NS" --image=busybox -- true >/dev/null
	wait_until 10 npods_is 1 keep
	pod=$(pods_of keep)
	run curl -sf -X DELETE "$MK_API_URL/apis/batch/v1/namespaces/$NS/jobs/keep"
	[ "$status" -eq 0 ]
	wait_until 10 job_gone keep
	wait_until 10 pod_untracked_orphan "$pod"
	run kubectl get pod "$pod" -n "$NS" -o jsonpath='{.metadata.deletionTimestamp}{.status.phase}'
	[ "$output" = "Pending" ]
}
