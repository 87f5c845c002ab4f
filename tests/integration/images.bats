#!/usr/bin/env bats
# Images: mkimage's OCI layout, nodectl's store, pulls from Debian's
# docker-registry (distribution 2.8) started here on 127.0.0.1 with basic
# auth, images pushed to it with skopeo, and containers from each built image
# under runc in a network namespace of the test's own.

load lib/wait

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (layers, overlay mounts, runc)"
	local t
	for t in docker-registry skopeo htpasswd runc python3 jq curl; do
		command -v $t >/dev/null 2>&1 || skip "$t is not installed (tools/install-deps.sh)"
	done
	export MK_ROOT=${MK_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export MK_BIN=${MK_BIN:-$MK_ROOT/bin}
	export NODECTL=${NODECTL:-$MK_BIN/nodectl}
	export LAYOUT=$MK_ROOT/build/images
	# built once, rebuilt only when the packages or binaries changed
	"$MK_ROOT/tools/mkimage" --out "$LAYOUT" pause busybox nginx curl >/dev/null

	export T
	T=$(mktemp -d /tmp/mk-images.XXXXXX)
	htpasswd -Bbn tester secret >"$T/htpasswd"
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$T/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $T/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: mink8s-test
    path: $T/htpasswd
EOF
	setsid docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 </dev/null &
	echo $! >"$T/registry.pid"
	export REG=127.0.0.1:$port
	wait_until 30 registry_answers
	push docker.io/library/nginx:latest library/nginx:latest
	push docker.io/library/busybox:latest library/busybox:latest
	push docker.io/library/busybox:latest library/nginx:bb
	push registry.k8s.io/pause:3.10 pause:3.10
	push docker.io/curlimages/curl:latest curlimages/curl:latest
	push docker.io/library/nginx:latest library/nginx:v2s2 --format v2s2
	push docker.io/library/busybox:latest mirrored/busybox:latest
	# an OCI index and a Docker manifest list whose arm64 entry is busybox
	local nginx_md bb_md
	nginx_md=$(manifest_digest library/nginx latest)
	bb_md=$(manifest_digest library/nginx bb)
	put_list library/nginx multi application/vnd.oci.image.index.v1+json \
		application/vnd.oci.image.manifest.v1+json "$bb_md" "$nginx_md"
	put_list library/nginx list application/vnd.docker.distribution.manifest.list.v2+json \
		application/vnd.docker.distribution.manifest.v2+json \
		"$bb_md" "$(manifest_digest library/nginx v2s2)"
	cat >"$T/registries.yaml" <<EOF
mirrors:
  docker.io:
    endpoint:
      - "http://$REG"
configs:
  "$REG":
    auth:
      username: tester
      password: secret
EOF
}

teardown_file() {
	[ -n "${T:-}" ] && [ -d "$T" ] || return 0
	if [ -f "$T/registry.pid" ]; then
		kill "$(cat "$T/registry.pid")" 2>/dev/null || true
	fi
	rm -rf "$T"
}

setup() {
	ROOT=$T/root-$BATS_TEST_NUMBER
	mkdir -p "$ROOT"
	BG_PIDS=()
	MOUNTS=()
	CTRS=()
	NETNS=
}

teardown() {
	local c m p
	for c in "${CTRS[@]}"; do
		runc --root "$T/runc" kill "$c" KILL >/dev/null 2>&1 || true
		runc --root "$T/runc" delete -f "$c" >/dev/null 2>&1 || true
	done
	for p in "${BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for ((m = ${#MOUNTS[@]} - 1; m >= 0; m--)); do
		umount "${MOUNTS[$m]}" 2>/dev/null || umount -l "${MOUNTS[$m]}" 2>/dev/null || true
	done
	[ -z "$NETNS" ] || ip netns del "$NETNS" 2>/dev/null || true
	if [ -f "$T/tampered" ]; then
		read -r orig saved <"$T/tampered"
		mv "$saved" "$orig"
		rm -f "$T/tampered"
	fi
	rm -rf "$ROOT"
}

registry_answers() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/")" = 401 ]
}

# push LAYOUT-REF REPO:TAG [skopeo flags]
push() {
	local src=$1 dst=$2
	shift 2
	skopeo copy -q "$@" --dest-tls-verify=false --dest-creds tester:secret \
		"oci:$LAYOUT:$src" "docker://$REG/$dst"
}

# manifest_digest REPO TAG: the digest the registry gives for a tag
manifest_digest() {
	local accept='application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
	curl -sf -u tester:secret -I -H "Accept: $accept" "http://$REG/v2/$1/manifests/$2" |
		tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}'
}

manifest_size() {
	local accept='application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
	curl -sf -u tester:secret -H "Accept: $accept" "http://$REG/v2/$1/manifests/$2" | wc -c
}

# put_list REPO TAG LIST-TYPE ENTRY-TYPE ARM64-DIGEST AMD64-DIGEST
put_list() {
	local repo=$1 tag=$2 lt=$3 et=$4 arm=$5 amd=$6 armtag amdtag
	armtag=$(jq -nr --arg d "$arm" '$d')
	amdtag=$(jq -nr --arg d "$amd" '$d')
	local doc
	doc=$(jq -cn --arg lt "$lt" --arg et "$et" --arg arm "$armtag" --arg amd "$amdtag" \
		--argjson asz "$(manifest_size "$repo" "$arm")" --argjson ms "$(manifest_size "$repo" "$amd")" \
		'{schemaVersion: 2, mediaType: $lt, manifests: [
		   {mediaType: $et, digest: $arm, size: $asz, platform: {architecture: "arm64", os: "linux"}},
		   {mediaType: $et, digest: $amd, size: $ms, platform: {architecture: "amd64", os: "linux"}}]}')
	curl -sf -u tester:secret -X PUT -H "Content-Type: $lt" --data-binary "$doc" \
		"http://$REG/v2/$repo/manifests/$tag" >/dev/null
}

# the image id (config digest) of a layout reference
layout_id() {
	local md
	md=$(jq -r --arg r "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' \
		"$LAYOUT/index.json")
	jq -r .config.digest "$LAYOUT/blobs/sha256/${md#sha256:}"
}

layout_layers() {
	local md
	md=$(jq -r --arg r "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' \
		"$LAYOUT/index.json")
	jq -r '.layers[].digest' "$LAYOUT/blobs/sha256/${md#sha256:}"
}

nodectl() {
	"$NODECTL" --root-dir "$ROOT" --registry-config "$T/registries.yaml" "$@"
}

@test "mkimage: the same inputs give the same digests, and names mean what they mean upstream" {
	local out1=$T/layout1 out2=$T/layout2
	run "$MK_ROOT/tools/mkimage" --out "$out1" busybox pause
	[ "$status" -eq 0 ]
	run "$MK_ROOT/tools/mkimage" --out "$out2" busybox pause
	[ "$status" -eq 0 ]
	local q='[.manifests[] | {r: .annotations["org.opencontainers.image.ref.name"], d: .digest}] | sort_by(.r)'
	[ "$(jq -c "$q" "$out1/index.json")" = "$(jq -c "$q" "$out2/index.json")" ]
	# and the same as the suite's own layout, built earlier
	local d
	d=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "docker.io/library/busybox:latest") | .digest' "$out1/index.json")
	[ "$d" = "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "docker.io/library/busybox:latest") | .digest' "$LAYOUT/index.json")" ]
	# full references in the annotation; layers are gzip, the config has the image's command
	jq -e '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | index("registry.k8s.io/pause:3.10") != null' "$out1/index.json"
	local cfg
	cfg=$(jq -r .config.digest "$out1/blobs/sha256/${d#sha256:}")
	jq -e '.config.Cmd == ["sh"] and .os == "linux" and .architecture == "amd64"' "$out1/blobs/sha256/${cfg#sha256:}"
	jq -e '.layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+gzip"' "$out1/blobs/sha256/${d#sha256:}"
	rm -rf "$out1" "$out2"
}

@test "mkimage: an unknown image or a missing package is one clear line and no half image" {
	run "$MK_ROOT/tools/mkimage" --out "$T/bad" nosuchimage
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "mkimage: unknown image nosuchimage"* ]]
	# apt as it answers for a package the archive does not have, then for a
	# download that fails; the layout keeps what it had
	mkdir -p "$T/fakeapt"
	printf '%s\n' '#!/bin/sh' 'case "$*" in' \
		'*--print-uris*nginx*) echo "E: Unable to locate package nginx-common" >&2; exit 100 ;;' \
		'*--print-uris*) exec /usr/bin/apt-get "$@" ;;' \
		'*) echo "E: Failed to fetch http://archive.invalid/busybox-static.deb  404  Not Found" >&2; exit 100 ;;' \
		'esac' >"$T/fakeapt/apt-get"
	chmod +x "$T/fakeapt/apt-get"
	cp -r "$LAYOUT" "$T/keep"
	local before
	before=$(sha256sum <"$T/keep/index.json")
	PATH=$T/fakeapt:$PATH run "$MK_ROOT/tools/mkimage" --out "$T/keep" nginx
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "mkimage: package nginx-common: not available from apt (is it in the archive? run apt-get update first)" ]
	[ "$(sha256sum <"$T/keep/index.json")" = "$before" ]
	MKIMAGE_CACHE=$T/emptycache PATH=$T/fakeapt:$PATH run "$MK_ROOT/tools/mkimage" --out "$T/fresh" busybox
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "mkimage: packages busybox-static: download failed: E: Failed to fetch"* ]]
	[ "$(jq '.manifests | length' "$T/fresh/index.json")" -eq 0 ]
	[ -z "$(find "$T/keep" "$T/fresh" -name '.mkimage.*')" ]
	rm -rf "$T/keep" "$T/fresh" "$T/emptycache" "$T/fakeapt"
}

@test "import an OCI layout; images prints crictl's columns" {
	run nodectl import "$LAYOUT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Imported docker.io/library/nginx:latest"* ]]
	run nodectl images
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "${lines[0]}" =~ ^IMAGE\ +TAG\ +IMAGE\ ID\ +SIZE$ ]]
	local id
	id=$(layout_id docker.io/library/nginx:latest)
	[[ "$output" =~ docker.io/library/nginx\ +latest\ +${id:7:13}\ +[0-9.]+MB ]]
	[[ "$output" =~ registry.k8s.io/pause\ +3.10\ +[0-9a-f]{13}\ +[0-9.]+kB ]]
	run nodectl images -q
	[[ "$output" == *"$id"* ]]
}

@test "import a tar of an OCI layout" {
	tar -C "$LAYOUT" -cf "$T/layout.tar" oci-layout index.json blobs
	run nodectl import "$T/layout.tar"
	rm -f "$T/layout.tar"
	[ "$status" -eq 0 ]
	run nodectl inspecti busybox
	[ "$status" -eq 0 ]
	[ "$(jq -r .id <<<"$output")" = "$(layout_id docker.io/library/busybox:latest)" ]
	# the unpacked layer is the real busybox
	[ -x "$(jq -r '.layers[0]' <<<"$output")/bin/busybox" ]
	[ -z "$(ls "$ROOT/images/tmp")" ]
}

@test "pull by tag through the docker.io mirror with basic auth" {
	run nodectl pull nginx
	echo "$output"
	[ "$status" -eq 0 ]
	local id
	id=$(layout_id docker.io/library/nginx:latest)
	[ "$output" = "Image is up to date for $id" ]
	run nodectl inspecti nginx
	[ "$(jq -r '.repoTags[0]' <<<"$output")" = docker.io/library/nginx:latest ]
	[ "$(jq -r '.repoDigests[0]' <<<"$output")" = "docker.io/library/nginx@$(manifest_digest library/nginx latest)" ]
	[ "$(jq -r '.layers | length' <<<"$output")" -eq 3 ]
	[ -f "$(jq -r '.layers[0]' <<<"$output")/usr/sbin/nginx" ]
	# layers already present are not fetched again (the proxy logs each
	# request before it forwards it, so its log is complete when the pull ends)
	start_proxy pass
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull nginx
	[ "$status" -eq 0 ]
	grep -q '^GET /v2/library/nginx/manifests/latest ' "$P/log"
	[ "$(grep -c '^GET /v2/library/nginx/blobs/' "$P/log")" -eq 0 ]
}

@test "pull through a mirror that renames repositories (registries.yaml rewrite)" {
	cat >"$T/rewrite.yaml" <<EOF
mirrors:
  docker.io:
    endpoint: ["http://$REG"]
    rewrite:
      "^library/(.*)": "mirrored/\$1"
configs:
  "$REG":
    auth: {username: tester, password: secret}
EOF
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$T/rewrite.yaml" pull busybox
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Image is up to date for $(layout_id docker.io/library/busybox:latest)" ]
	wait_until 10 grep -q '"GET /v2/mirrored/busybox/manifests/latest HTTP/1.1" 200' "$T/registry.log"
	# the image keeps the name it was asked by
	run "$NODECTL" --root-dir "$ROOT" images busybox
	[[ "$output" =~ docker.io/library/busybox\ +latest ]]
}

@test "pull by digest, an OCI index and a Docker list pick linux/amd64, a Docker v2 manifest" {
	local md id
	md=$(manifest_digest library/nginx latest)
	id=$(layout_id docker.io/library/nginx:latest)
	run "$NODECTL" --root-dir "$ROOT" --registry-config /dev/null pull --creds tester:secret "$REG/library/nginx@$md"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Image is up to date for $id" ]
	run nodectl images
	[[ "$output" =~ $REG/library/nginx\ +"<none>"\ +${id:7:13} ]]
	run nodectl pull "nginx:multi"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Image is up to date for $id" ]
	run nodectl pull "nginx:list"
	[ "$status" -eq 0 ]
	[ "$output" = "Image is up to date for $id" ]
	run nodectl pull "nginx:v2s2"
	[ "$status" -eq 0 ]
	[ "$output" = "Image is up to date for $id" ]
	run nodectl inspecti nginx:multi
	[ "$(jq -r '.repoDigests | length' <<<"$output")" -ge 3 ]
}

@test "pull: authentication required, refused and given; not found; bad reference" {
	run "$NODECTL" --root-dir "$ROOT" --registry-config /dev/null pull "$REG/library/busybox"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "nodectl: pulling $REG/library/busybox:latest: no credentials for $REG: GET http://$REG/v2/library/busybox/manifests/latest: 401 UNAUTHORIZED: authentication required" ]
	run "$NODECTL" --root-dir "$ROOT" --registry-config /dev/null pull --creds tester:wrong "$REG/library/busybox"
	[ "$status" -eq 1 ]
	[[ "$output" == *"401 UNAUTHORIZED: authentication required" ]]
	run "$NODECTL" --root-dir "$ROOT" --registry-config /dev/null pull --creds tester:secret "$REG/library/busybox"
	[ "$status" -eq 0 ]
	# a dockerconfigjson, as imagePullSecrets carry it
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf tester:secret | base64)" >"$T/auth.json"
	run "$NODECTL" --root-dir "$ROOT" --registry-config /dev/null pull --auth-file "$T/auth.json" "$REG/pause:3.10"
	[ "$status" -eq 0 ]
	run nodectl pull nginx:nope
	[ "$status" -eq 1 ]
	[ "$output" = "nodectl: pulling docker.io/library/nginx:nope: GET http://$REG/v2/library/nginx/manifests/nope: 404 MANIFEST_UNKNOWN: manifest unknown" ]
	run nodectl pull Nginx
	[ "$status" -eq 1 ]
	[ "$output" = "nodectl: invalid reference format: repository name must be lowercase" ]
	run nodectl images -q
	[ "${#lines[@]}" -eq 2 ]
}

@test "a tampered blob is refused with its digest named, and nothing is recorded" {
	local layer
	layer=$(layout_layers registry.k8s.io/pause:3.10 | head -1)
	local data=$T/registry/docker/registry/v2/blobs/sha256/${layer:7:2}/${layer#sha256:}/data
	[ -f "$data" ]
	cp "$data" "$T/saved-blob"
	echo "$data $T/saved-blob" >"$T/tampered"
	# same size, one byte changed in the middle
	printf 'X' | dd of="$data" bs=1 seek=1000 conv=notrunc status=none
	run nodectl pull "$REG/pause:3.10"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"digest mismatch for blob $layer: got sha256:"* ]]
	run nodectl images -q
	[ -z "$output" ]
	[ -z "$(ls "$ROOT/images/layers")" ]
	[ -z "$(ls "$ROOT/images/ingest")" ]
}

start_proxy() {
	mkdir -p "$T/proxy-$BATS_TEST_NUMBER"
	P=$T/proxy-$BATS_TEST_NUMBER
	echo "$1" >"$P/mode"
	python3 "$BATS_TEST_DIRNAME/lib/blobproxy.py" "${REG#*:}" "$P" &
	BG_PIDS+=($!)
	wait_until 10 test -s "$P/port"
	PREG=127.0.0.1:$(cat "$P/port")
	cat >"$P/registries.yaml" <<EOF
mirrors:
  docker.io:
    endpoint: ["http://$PREG"]
configs:
  "$PREG":
    auth: {username: tester, password: secret}
EOF
}

@test "a pull interrupted mid-layer is retried and resumes where it stopped" {
	start_proxy cut
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull nginx
	echo "$output"
	cat "$P/log"
	[ "$status" -eq 0 ]
	[ "$output" = "Image is up to date for $(layout_id docker.io/library/nginx:latest)" ]
	# every large layer was cut once, then asked for again from where it stopped
	local cuts
	cuts=$(grep -c '^cut ' "$P/log")
	[ "$cuts" -ge 1 ]
	[ "$(grep -c 'range=bytes=[1-9][0-9]*-' "$P/log")" -eq "$cuts" ]
}

@test "a pull killed mid-layer leaves no layer that looks complete; the next pull completes" {
	start_proxy stall
	"$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull nginx >"$P/out" 2>&1 &
	local pid=$!
	BG_PIDS+=($pid)
	wait_until 30 grep -q '^stalled ' "$P/log"
	kill -KILL $pid
	wait $pid || true
	run nodectl images -q
	[ -z "$output" ]
	# only temporary names: nothing under a digest's own name
	local f
	for f in "$ROOT/images/layers"/* "$ROOT/images/blobs/sha256"/*; do
		[ -e "$f" ] || continue
		case $f in *.tmp-*) ;; */blobs/sha256/*) grep -q "${f##*/}" <(layout_layers docker.io/library/nginx:latest) && false ;; *) false ;; esac
	done
	echo pass >"$P/mode"
	touch "$P/release"
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull nginx
	echo "$output"
	[ "$status" -eq 0 ]
	# the dead pull's leftovers were swept
	[ -z "$(find "$ROOT/images" -name '*.tmp-*')" ]
	run nodectl inspecti nginx
	[ "$status" -eq 0 ]
}

@test "pull: the bearer token flow, a 503 retried, a 429 refused clearly" {
	start_proxy pass
	echo bearer >"$P/auth"
	cat >"$P/bearer.yaml" <<EOF
mirrors:
  docker.io:
    endpoint: ["http://$PREG"]
EOF
	# no credentials: the token server refuses
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$P/bearer.yaml" pull nginx
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"fetching token: GET http://$PREG/token: 401 incorrect username or password"* ]]
	# with them: a token, then every request carries it
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull nginx
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Image is up to date for $(layout_id docker.io/library/nginx:latest)" ]
	grep -q '^GET /token?service=mink8s-test&scope=repository%3Alibrary%2Fnginx%3Apull ' "$P/log"
	[ "$(grep -c '^GET /v2/library/nginx/blobs/.* auth=Bearer$' "$P/log")" -ge 4 ]
	rm -f "$P/auth"
	echo 503once >"$P/fail"
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull nginx:v2s2
	[ "$status" -eq 0 ]
	echo 429 >"$P/fail"
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull busybox
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "nodectl: pulling docker.io/library/busybox:latest: GET http://$PREG/v2/library/busybox/manifests/latest: 429 TOOMANYREQUESTS: too many requests" ]
}

@test "pull over TLS: the registry's CA from registries.yaml, or verification off" {
	command -v openssl >/dev/null || skip "openssl is not installed"
	local d=$T/tls-$BATS_TEST_NUMBER
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=mink8s-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/key.pem" \
		-out "$d/req.pem" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
	openssl x509 -req -in "$d/req.pem" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 1 -extfile "$d/ext" -out "$d/cert.pem" 2>/dev/null
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	# a second registry process on the same storage, serving TLS
	sed -e "s|addr: $REG|addr: 127.0.0.1:$port\n  tls:\n    certificate: $d/cert.pem\n    key: $d/key.pem|" \
		"$T/registry.yml" >"$d/registry.yml"
	docker-registry serve "$d/registry.yml" >"$d/registry.log" 2>&1 </dev/null &
	BG_PIDS+=($!)
	local TREG=127.0.0.1:$port
	wait_until 30 bash -c "[ \"\$(curl -s --cacert $d/ca.pem -o /dev/null -w '%{http_code}' https://$TREG/v2/)\" = 401 ]"
	# a loopback registry is plain http unless an endpoint says https
	cat >"$d/none.yaml" <<EOF
mirrors:
  "$TREG":
    endpoint: ["https://$TREG"]
configs:
  "$TREG":
    auth: {username: tester, password: secret}
EOF
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$d/none.yaml" pull "$TREG/library/busybox"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"GET https://$TREG/v2/library/busybox/manifests/latest: SSL certificate problem: unable to get local issuer certificate" ]]
	cat >"$d/ca.yaml" <<EOF
mirrors:
  "$TREG":
    endpoint: ["https://$TREG"]
configs:
  "$TREG":
    auth: {username: tester, password: secret}
    tls: {ca_file: $d/ca.pem}
EOF
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$d/ca.yaml" pull "$TREG/library/busybox"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Image is up to date for $(layout_id docker.io/library/busybox:latest)" ]
	cat >"$d/skip.yaml" <<EOF
mirrors:
  "$TREG":
    endpoint: ["https://$TREG"]
configs:
  "$TREG":
    auth: {username: tester, password: secret}
    tls: {insecure_skip_verify: true}
EOF
	run "$NODECTL" --root-dir "$ROOT" --registry-config "$d/skip.yaml" pull "$TREG/pause:3.10"
	[ "$status" -eq 0 ]
}

@test "two pulls of one image at once fetch each layer once" {
	start_proxy pass
	"$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull nginx >"$T/p1.out" 2>&1 &
	local p1=$!
	"$NODECTL" --root-dir "$ROOT" --registry-config "$P/registries.yaml" pull nginx >"$T/p2.out" 2>&1 &
	local p2=$!
	BG_PIDS+=($p1 $p2)
	wait $p1
	wait $p2
	cat "$T/p1.out" "$T/p2.out"
	grep -q "Image is up to date" "$T/p1.out"
	grep -q "Image is up to date" "$T/p2.out"
	# the proxy logs a request before forwarding it: its log is complete here
	local d
	for d in $(layout_layers docker.io/library/nginx:latest); do
		[ "$(grep -c "^GET /v2/library/nginx/blobs/$d " "$P/log")" -eq 1 ]
	done
}

@test "rmi, tag, and images in use are never removed" {
	nodectl import "$LAYOUT" >/dev/null
	run nodectl tag busybox localhost:5000/mine:v1
	[ "$status" -eq 0 ]
	run nodectl images localhost:5000/mine:v1
	[[ "$output" =~ localhost:5000/mine\ +v1 ]]
	run nodectl hold nginx ctr-1
	[ "$status" -eq 0 ]
	run nodectl rmi nginx
	[ "$status" -eq 1 ]
	[ "$output" = "nodectl: image nginx is in use by ctr-1" ]
	run nodectl prune
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted: docker.io/library/busybox:latest"* ]]
	run nodectl images -q
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "$(layout_id docker.io/library/nginx:latest)" ]
	# the held image is whole
	run nodectl inspecti nginx
	[ "$status" -eq 0 ]
	[ "$(jq -r .holders <<<"$output")" -eq 1 ]
	run nodectl release ctr-1
	run nodectl rmi nginx
	[ "$status" -eq 0 ]
	[ "$output" = "Deleted: docker.io/library/nginx:latest" ]
	[ -z "$(ls "$ROOT/images/layers")" ]
	[ -z "$(ls "$ROOT/images/blobs/sha256")" ]
}

@test "image GC by disk use removes unused images and keeps those in use" {
	# a small filesystem of the test's own
	mount -t tmpfs -o size=64m mk-images-gc "$ROOT"
	MOUNTS+=("$ROOT")
	nodectl pull nginx >/dev/null
	nodectl pull busybox >/dev/null
	nodectl pull "$REG/pause:3.10" >/dev/null
	nodectl hold nginx ctr-1
	# under the high mark: nothing to do
	run nodectl gc --minimum-image-gc-age 0
	[ "$status" -eq 0 ]
	[[ "$output" == *"to-free 0 freed 0 images-removed 0"* ]]
	# fill the filesystem to about 90%
	local avail total
	total=$(($(stat -f -c '%b*%S' "$ROOT")))
	avail=$(($(stat -f -c '%a*%S' "$ROOT")))
	local fill=$(((avail - total / 10) / 1048576))
	dd if=/dev/zero of="$ROOT/filler" bs=1M count=$fill status=none
	# too young to go
	run nodectl gc --minimum-image-gc-age 1h
	[ "$status" -eq 1 ]
	[[ "$output" == *"images-removed 0"* ]]
	run nodectl gc --minimum-image-gc-age 0
	echo "$output"
	# everything unused went; the held image could not, so not enough was freed
	[ "$status" -eq 1 ]
	[[ "$output" == *"nodectl: Failed to garbage collect required amount of images. Attempted to free "*" bytes, but only found "*" bytes eligible to free."* ]]
	run nodectl images -q
	[ "$output" = "$(layout_id docker.io/library/nginx:latest)" ]
	run nodectl inspecti nginx
	[ "$status" -eq 0 ]
	for d in $(jq -r '.layers[]' <<<"$output"); do [ -d "$d" ]; done
}

# ---- containers from the built images under runc ----

# bundle NAME IMAGE [ARGS...]: an overlay rootfs over the image's layers and a
# config.json from the image config (ARGS replace Cmd), in $NETNS.
bundle() {
	local name=$1 image=$2
	shift 2
	local b=$T/bundles/$BATS_TEST_NUMBER-$name
	mkdir -p "$b/rootfs" "$b/upper" "$b/work"
	local info
	info=$(nodectl inspecti "$image")
	local lower
	lower=$(jq -r '.layers | join(":")' <<<"$info")
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$b/upper,workdir=$b/work" "$b/rootfs"
	MOUNTS+=("$b/rootfs")
	local args
	if [ $# -gt 0 ]; then
		local extra
		# one argument a line (jq 1.6 stops reading raw input at a NUL)
		extra=$(printf '%s\n' "$@" | jq -Rsc 'split("\n")[:-1]')
		args=$(jq -c --argjson extra "$extra" '(.config.config.Entrypoint // []) + $extra' <<<"$info")
	else
		args=$(jq -c '(.config.config.Entrypoint // []) + (.config.config.Cmd // [])' <<<"$info")
	fi
	local user uid gid
	user=$(jq -r '.config.config.User // "0"' <<<"$info")
	uid=${user%%:*}
	gid=${user#*:}
	if ! [[ "$uid" =~ ^[0-9]+$ ]]; then
		uid=$(awk -F: -v u="$uid" '$1==u{print $3}' "$b/rootfs/etc/passwd")
		gid=$(awk -F: -v u="${user%%:*}" '$1==u{print $4}' "$b/rootfs/etc/passwd")
	fi
	[ "$gid" != "$user" ] || gid=$uid
	(cd "$b" && runc spec)
	local caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]'
	jq --argjson args "$args" --argjson env "$(jq -c '.config.config.Env // []' <<<"$info")" \
		--arg cwd "$(jq -r '.config.config.WorkingDir // "/"' <<<"$info")" \
		--argjson uid "$uid" --argjson gid "$gid" --argjson caps "$caps" \
		--arg ns "/var/run/netns/$NETNS" \
		'.process.terminal = false | .process.args = $args | .process.env = $env
		 | .process.cwd = (if $cwd == "" then "/" else $cwd end)
		 | .process.user = {uid: $uid, gid: $gid}
		 | .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}
		 | .root = {path: "rootfs", readonly: false}
		 | .linux.namespaces |= map(if .type == "network" then .path = $ns else . end)' \
		"$b/config.json" >"$b/config.json.new"
	mv "$b/config.json.new" "$b/config.json"
	BUNDLE=$b
}

ctr_status() {
	runc --root "$T/runc" state "$1" 2>/dev/null | jq -r .status
}

@test "containers from each built image run under runc and do their job" {
	nodectl import "$LAYOUT" >/dev/null
	NETNS=mk-images-$RANDOM$RANDOM
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up

	# pause: runs, and exits cleanly on SIGTERM
	bundle pause registry.k8s.io/pause:3.10
	local id=mkimg-pause-$$
	CTRS+=("$id")
	runc --root "$T/runc" run -d --bundle "$BUNDLE" "$id" >"$BUNDLE/out" 2>&1 </dev/null || { cat "$BUNDLE/out"; false; }
	[ "$(ctr_status "$id")" = running ]
	runc --root "$T/runc" kill "$id" TERM
	wait_until 10 bash -c "[ \"\$(runc --root $T/runc state $id | jq -r .status)\" = stopped ]"

	# nginx answers with its welcome page and logs the access to stdout
	bundle nginx nginx
	id=mkimg-nginx-$$
	CTRS+=("$id")
	runc --root "$T/runc" run -d --bundle "$BUNDLE" "$id" >"$BUNDLE/out" 2>&1 </dev/null || { cat "$BUNDLE/out"; false; }
	local nginx_out=$BUNDLE/out
	wait_until 20 ip netns exec "$NETNS" curl -sf -o /dev/null http://127.0.0.1/
	run ip netns exec "$NETNS" curl -s http://127.0.0.1/
	[[ "$output" == *"<title>Welcome to nginx!</title>"* ]]
	wait_until 10 grep -q '"GET / HTTP/1.1" 200' "$nginx_out"

	# curl (as curl_user, through the image's entrypoint) fetches it
	bundle curl curlimages/curl -s http://127.0.0.1/
	id=mkimg-curl-$$
	CTRS+=("$id")
	run runc --root "$T/runc" run --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Welcome to nginx!"* ]]

	# busybox runs sh and its applets
	bundle busybox busybox sh -c 'echo "hello from $(whoami)"; wget -q -O - http://127.0.0.1/ | grep -o "Welcome to nginx"'
	id=mkimg-busybox-$$
	CTRS+=("$id")
	run runc --root "$T/runc" run --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello from root"* ]]
	[[ "$output" == *"Welcome to nginx"* ]]
}
