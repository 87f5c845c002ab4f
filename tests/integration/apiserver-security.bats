#!/usr/bin/env bats
# The secure port: kubectl over TLS with the kubeconfigs tools/mk-certs
# writes, authentication by client certificate, static token and
# ServiceAccount token (TokenRequest), 401 and 403 as upstream words them,
# certificates refused on either side, and a controller-manager that works
# through its own kubeconfig. Everything runs in a network namespace of the
# suite's own, so the fixed ports (6443, 10257) are its own.
#
# Server A: 6443 on 127.0.0.1 with mk-certs' certificate, AlwaysAllow, the
#   insecure port 8080 on loopback.
# Server B: 6444 with a certificate for another name only, AlwaysDeny, no
#   insecure port.

load lib/wait
load lib/secure

ISSUER=https://kubernetes.default.svc.cluster.local

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v kubectl >/dev/null || skip "kubectl missing"
	command -v openssl >/dev/null || skip "openssl missing"
	secure_setup sec --node n1 --node-ip 10.0.0.5
	printf 'tok-alice,alice,u-1,"dev,ops"\ntok-bob,bob,u-2\n' >"$TMP/tokens.csv"

	# B's certificate: signed by the cluster CA, for another name only
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/other.key" 2>/dev/null
	openssl req -new -key "$TMP/other.key" -subj /CN=elsewhere -out "$TMP/other.csr" 2>/dev/null
	printf 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:elsewhere.example,IP:10.9.9.9\n' >"$TMP/other.ext"
	openssl x509 -req -in "$TMP/other.csr" -CA "$K8S/pki/ca.crt" -CAkey "$K8S/pki/ca.key" \
		-set_serial 7 -days 1 -extfile "$TMP/other.ext" -out "$TMP/other.crt" 2>/dev/null

	local common=(--client-ca-file="$K8S/pki/ca.crt" --token-auth-file="$TMP/tokens.csv"
		--service-account-key-file="$K8S/pki/sa.pub"
		--service-account-signing-key-file="$K8S/pki/sa.key"
		--service-account-issuer="$ISSUER")
	secure_start a "$MK_BIN/kube-apiserver" --data-dir="$TMP/a" --insecure-port=8080 \
		--secure-port=6443 --tls-cert-file="$K8S/pki/apiserver.crt" \
		--tls-private-key-file="$K8S/pki/apiserver.key" "${common[@]}"
	secure_start b "$MK_BIN/kube-apiserver" --data-dir="$TMP/b" --insecure-port=0 \
		--secure-port=6444 --bind-address=127.0.0.1 --tls-cert-file="$TMP/other.crt" \
		--tls-private-key-file="$TMP/other.key" --authorization-mode=AlwaysDeny \
		"${common[@]}"
	wait_until 20 innet curl -fs --cacert "$K8S/pki/ca.crt" https://127.0.0.1:6443/healthz
	wait_eq 20 403 innet curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:6444/healthz
}

teardown_file() {
	secure_teardown
}

# kubectl against A with the cluster CA and a token
ktok() {
	local token=$1
	shift
	innet kubectl --server https://127.0.0.1:6443 --certificate-authority "$K8S/pki/ca.crt" \
		--token "$token" "$@" </dev/null
}

# code_with TOKEN: the HTTP code A answers a list of pods with
code_with() {
	innet curl -s -o /dev/null -w '%{http_code}' --cacert "$K8S/pki/ca.crt" \
		-H "Authorization: Bearer $1" https://127.0.0.1:6443/api/v1/namespaces/default/pods
}

b64url() {
	base64 -w0 | tr '+/' '-_' | tr -d '='
}

# jwt CLAIMS-JSON: a token signed RS256 with the cluster's sa.key
jwt() {
	local h c
	h=$(printf '{"alg":"RS256","kid":""}' | b64url)
	c=$(printf '%s' "$1" | b64url)
	printf '%s.%s.%s' "$h" "$c" \
		"$(printf '%s.%s' "$h" "$c" | openssl dgst -sha256 -sign "$K8S/pki/sa.key" | b64url)"
}

@test "mk-certs: kubeadm's files, upstream's SANs, idempotent" {
	for f in pki/ca.crt pki/ca.key pki/apiserver.crt pki/apiserver.key \
		pki/apiserver-kubelet-client.crt pki/apiserver-kubelet-client.key pki/sa.key \
		pki/sa.pub pki/front-proxy-ca.crt pki/front-proxy-ca.key pki/front-proxy-client.crt \
		pki/front-proxy-client.key admin.conf controller-manager.conf scheduler.conf \
		kube-proxy.conf kubelet-n1.conf; do
		[ -s "$K8S/$f" ] || { echo "missing $f"; false; }
	done
	[ "$(stat -c %a "$K8S/pki/ca.key")" = 600 ]
	run openssl x509 -in "$K8S/pki/apiserver.crt" -noout -ext subjectAltName
	[ "$status" -eq 0 ]
	for san in DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, \
		DNS:kubernetes.default.svc.cluster.local, DNS:localhost, DNS:n1, \
		"IP Address:10.96.0.1," "IP Address:127.0.0.1," "IP Address:10.0.0.5"; do
		[[ "$output" == *"$san"* ]] || { echo "no $san in $output"; false; }
	done
	openssl verify -CAfile "$K8S/pki/ca.crt" "$K8S/pki/apiserver.crt"
	run openssl x509 -in <(grep client-certificate-data "$K8S/kubelet-n1.conf" |
		awk '{print $2}' | base64 -d) -noout -subject
	[ "$output" = "subject=O = system:nodes, CN = system:node:n1" ]
	# a second run keeps every file and adds a node
	local before
	before=$(sha256sum "$K8S/pki/ca.crt" "$K8S/pki/sa.key" "$K8S/admin.conf")
	"$MK_ROOT/tools/mk-certs" "$K8S" --node n2 --encryption-algorithm ECDSA-P256
	[ "$(sha256sum "$K8S/pki/ca.crt" "$K8S/pki/sa.key" "$K8S/admin.conf")" = "$before" ]
	[ -s "$K8S/kubelet-n2.conf" ]
	run "$MK_ROOT/tools/mk-certs" "$TMP/x" --server http://127.0.0.1:6443
	[ "$status" -eq 1 ]
	[ "$output" = 'mk-certs: --server must be an https:// URL, not "http://127.0.0.1:6443"' ]
}

@test "kubectl over TLS with admin.conf: get, apply, watch" {
	sed -i 's#server: https://127.0.0.1:6443#server: https://127.0.0.1:6443#' "$K8S/admin.conf"
	run ka get namespaces
	[ "$status" -eq 0 ]
	[[ "$output" == *kube-system* ]]
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tls-cm}\ndata: {a: "1"}\n' >"$TMP/cm.yaml"
	run ka apply -f "$TMP/cm.yaml"
	[ "$status" -eq 0 ]
	[ "$output" = "configmap/tls-cm created" ]
	innet kubectl --kubeconfig "$K8S/admin.conf" get configmap tls-cm -w \
		-o jsonpath='{.data.a}{"\n"}' >"$TMP/watch.out" 2>&1 </dev/null &
	local wpid=$!
	wait_eq 10 1 cat "$TMP/watch.out"
	ka patch configmap tls-cm --type merge -p '{"data":{"a":"2"}}'
	wait_eq 10 "$(printf '1\n2')" cat "$TMP/watch.out"
	kill "$wpid"
	wait "$wpid" || true
	# the kubernetes Service leads to the secure port
	[ "$(ka get endpoints kubernetes -o jsonpath='{.subsets[0].ports[0].port}')" = 6443 ]
}

@test "auth whoami: certificate, static token and ServiceAccount token users" {
	run ka auth whoami -o jsonpath='{.status.userInfo.username}|{.status.userInfo.groups}'
	[ "$status" -eq 0 ]
	[ "$output" = 'kubernetes-admin|["system:masters","system:authenticated"]' ]
	run ktok tok-alice auth whoami -o jsonpath='{.status.userInfo.username}|{.status.userInfo.uid}|{.status.userInfo.groups}'
	[ "$output" = 'alice|u-1|["dev","ops","system:authenticated"]' ]
	ka create serviceaccount robot
	local token uid
	token=$(ka create token robot)
	uid=$(ka get serviceaccount robot -o jsonpath='{.metadata.uid}')
	run ktok "$token" auth whoami -o jsonpath='{.status.userInfo.username}|{.status.userInfo.uid}|{.status.userInfo.groups}'
	[ "$status" -eq 0 ]
	[ "$output" = "system:serviceaccount:default:robot|$uid|[\"system:serviceaccounts\",\"system:serviceaccounts:default\",\"system:authenticated\"]" ]
	# the insecure port acts as a superuser, on loopback only
	run innet kubectl -s http://127.0.0.1:8080 auth whoami -o jsonpath='{.status.userInfo.username}'
	[ "$output" = system:unsecured ]
	grep -q 'Serving insecurely on 127.0.0.1:8080' "$TMP/a.log"
}

@test "bad credentials: 401 Unauthorized as upstream, also for a deleted ServiceAccount's token" {
	run ktok wrong-token get pods
	[ "$status" -eq 1 ]
	[ "$output" = "error: You must be logged in to the server (Unauthorized)" ]
	run innet curl -s --cacert "$K8S/pki/ca.crt" -H 'Authorization: Bearer wrong' \
		https://127.0.0.1:6443/api/v1/namespaces
	[ "$output" = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}' ]
	ka create serviceaccount gone
	local token
	token=$(ka create token gone)
	ktok "$token" get pods
	ka delete serviceaccount gone
	run ktok "$token" get pods
	[ "$output" = "error: You must be logged in to the server (Unauthorized)" ]
}

@test "TokenRequest: a token accepted and reviewed, an expired one refused" {
	ka create serviceaccount builder
	local uid now good expired
	uid=$(ka get serviceaccount builder -o jsonpath='{.metadata.uid}')
	run ka create token builder --duration 5m
	[ "$status" -eq 1 ]
	[[ "$output" == *'spec.expirationSeconds: Invalid value'*'may not specify a duration less than 10 minutes'* ]] ||
		[[ "$output" == *'may not specify a duration less than 10 minutes'* ]]
	run ka create token nobody
	[ "$output" = 'error: failed to create token: serviceaccounts "nobody" not found' ]
	# tokens signed with the cluster's key: one valid, one that expired an hour ago
	now=$(date +%s)
	local sa='"kubernetes.io":{"namespace":"default","serviceaccount":{"name":"builder","uid":"'$uid'"}},"sub":"system:serviceaccount:default:builder"'
	good=$(jwt '{"aud":["'$ISSUER'"],"exp":'$((now + 600))',"iat":'$now',"iss":"'$ISSUER'",'"$sa"'}')
	expired=$(jwt '{"aud":["'$ISSUER'"],"exp":'$((now - 3600))',"iat":'$((now - 7200))',"iss":"'$ISSUER'",'"$sa"'}')
	run ktok "$good" auth whoami -o jsonpath='{.status.userInfo.username}'
	[ "$output" = system:serviceaccount:default:builder ]
	run ktok "$expired" get pods
	[ "$output" = "error: You must be logged in to the server (Unauthorized)" ]
	# a token for another audience, or from another issuer
	[ "$(code_with "$good")" = 200 ]
	[ "$(code_with "$(jwt '{"aud":["other"],"exp":'$((now + 600))',"iss":"'$ISSUER'",'"$sa"'}')")" = 401 ]
	[ "$(code_with "$(jwt '{"aud":["'$ISSUER'"],"exp":'$((now + 600))',"iss":"https://evil",'"$sa"'}')")" = 401 ]
	[ "$(code_with "${good%?}")" = 401 ] # a signature cut short
	# TokenReview of an issued token and of the expired one
	local issued
	issued=$(ka create token builder --audience api1 --duration 20m)
	printf '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"%s","audiences":["api1"]}}' \
		"$issued" >"$TMP/tr.json"
	run ka create --raw /apis/authentication.k8s.io/v1/tokenreviews -f "$TMP/tr.json"
	[ "$status" -eq 0 ]
	[ "$(jq -c '.status | [.authenticated, .user.username, .audiences]' <<<"$output")" = '[true,"system:serviceaccount:default:builder",["api1"]]' ]
	printf '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"%s"}}' \
		"$expired" >"$TMP/tr.json"
	run ka create --raw /apis/authentication.k8s.io/v1/tokenreviews -f "$TMP/tr.json"
	[ "$(jq -c '.status | [.authenticated, .error]' <<<"$output")" = '[null,"token has expired"]' ]
}

@test "client certificate from another CA: 401 for kubectl and curl" {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=rogue-ca -keyout "$TMP/rogue-ca.key" -out "$TMP/rogue-ca.crt" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/rogue.key" 2>/dev/null
	openssl req -new -key "$TMP/rogue.key" -subj "/O=system:masters/CN=kubernetes-admin" \
		-out "$TMP/rogue.csr" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >"$TMP/rogue.ext"
	openssl x509 -req -in "$TMP/rogue.csr" -CA "$TMP/rogue-ca.crt" -CAkey "$TMP/rogue-ca.key" \
		-set_serial 9 -days 1 -extfile "$TMP/rogue.ext" -out "$TMP/rogue.crt" 2>/dev/null
	run innet kubectl --server https://127.0.0.1:6443 --certificate-authority "$K8S/pki/ca.crt" \
		--client-certificate "$TMP/rogue.crt" --client-key "$TMP/rogue.key" \
		auth whoami </dev/null
	[ "$status" -eq 1 ]
	[ "$output" = "error: You must be logged in to the server (Unauthorized)" ]
	run innet curl -s --cacert "$K8S/pki/ca.crt" --cert "$TMP/rogue.crt" --key "$TMP/rogue.key" \
		https://127.0.0.1:6443/api/v1/namespaces
	[ "$(jq -r '.code,.message' <<<"$output")" = "$(printf '401\nUnauthorized')" ]
}

@test "server certificate for another name: kubectl refuses it with Go's message" {
	run innet kubectl --server https://127.0.0.1:6444 --certificate-authority "$K8S/pki/ca.crt" \
		--token tok-alice get pods </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *'Unable to connect to the server: tls: failed to verify certificate: x509: certificate is valid for 10.9.9.9, not 127.0.0.1' ]]
}

@test "AlwaysDeny: 403 as upstream words it, for anonymous and token users; no insecure port" {
	run innet curl -sk https://127.0.0.1:6444/api/v1/namespaces/default/pods
	[ "$output" = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}' ]
	# (discovery is denied too: --raw goes straight to the URL)
	run innet kubectl --server https://127.0.0.1:6444 --insecure-skip-tls-verify --token tok-bob \
		get --raw /apis/apps/v1/namespaces/kube-system/deployments </dev/null
	[ "$status" -eq 1 ]
	[ "$output" = 'Error from server (Forbidden): deployments.apps is forbidden: User "bob" cannot list resource "deployments" in API group "apps" in the namespace "kube-system"' ]
	run innet curl -sk -H 'Authorization: Bearer tok-bob' https://127.0.0.1:6444/version
	[ "$(jq -r .message <<<"$output")" = 'forbidden: User "bob" cannot get path "/version"' ]
	# bad credentials are still 401, before authorization
	run innet curl -sk -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' \
		https://127.0.0.1:6444/api
	[ "$output" = 401 ]
	grep -q 'Serving securely on 127.0.0.1:6444' "$TMP/b.log"
	! grep -q 'Serving insecurely' "$TMP/b.log" || false
}

@test "TLS flags: minimum version enforced, unknown names refused at start" {
	run innet curl -s --cacert "$K8S/pki/ca.crt" --tls-max 1.1 https://127.0.0.1:6443/healthz
	[ "$status" -ne 0 ]
	run innet curl -s --cacert "$K8S/pki/ca.crt" --tlsv1.2 --tls-max 1.2 https://127.0.0.1:6443/healthz
	[ "$output" = ok ]
	run "$MK_BIN/kube-apiserver" --data-dir="$TMP/c" --tls-cert-file="$K8S/pki/apiserver.crt" \
		--tls-private-key-file="$K8S/pki/apiserver.key" --tls-cipher-suites=TLS_FOO_BAR
	[ "$status" -eq 1 ]
	[ "$output" = "kube-apiserver: Cipher suite TLS_FOO_BAR not supported or doesn't exist" ]
	run "$MK_BIN/kube-apiserver" --data-dir="$TMP/c" --tls-cert-file="$K8S/pki/apiserver.crt" \
		--tls-private-key-file="$K8S/pki/apiserver.key" --tls-min-version=VersionTLS14
	[ "$status" -eq 1 ]
	[ "$output" = 'kube-apiserver: unknown tls version "VersionTLS14"' ]
	run "$MK_BIN/kube-apiserver" --data-dir="$TMP/c" --tls-cert-file="$K8S/pki/apiserver.crt"
	[ "$status" -eq 1 ]
	[ "$output" = "kube-apiserver: --tls-cert-file and --tls-private-key-file must be given together" ]
}

@test "controller-manager works through controller-manager.conf over TLS" {
	secure_start cm "$MK_BIN/kube-controller-manager" \
		--kubeconfig "$K8S/controller-manager.conf" --leader-elect=false
	ka create deployment tlsweb --image=nginx --replicas=2
	wait_eq 20 2 sh -c "ip netns exec $NET kubectl --kubeconfig $K8S/admin.conf get pods -l app=tlsweb -o name </dev/null | wc -l"
}
