/* kube-apiserver: flags, store, bootstrap, then serve until SIGINT/SIGTERM. */
#include <errno.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "flags.h"
#include "fsutil.h"
#include "tlsprio.h"
#include "log.h"
#include "version.h"
#include "xalloc.h"
#include "apiserver/authn.h"
#include "apiserver/authz.h"
#include "apiserver/admission.h"
#include "apiserver/bootstrap.h"
#include "apiserver/rbacpolicy.h"
#include "apiserver/crd.h"
#include "apiserver/objects.h"
#include "apiserver/reconciler.h"
#include "apiserver/resource.h"
#include "apiserver/server.h"
#include "apiserver/store-internal.h"
#include "apiserver/store.h"

struct options {
	char *bind_address;
	int port;
	char *data_dir;
	char *service_cidr;
	char *node_port_range;
	char *advertise;
	char *etcd_servers;
	char *etcd_prefix;
	char *etcd_cafile;
	char *etcd_certfile;
	char *etcd_keyfile;
	char *etcd_compaction_interval;
	char *event_ttl;
	char *storage_backend;
	char *endpoint_reconciler_type;
	int secure_port;
	char *secure_bind;
	char *tls_cert_file;
	char *tls_key_file;
	char *tls_min_version;
	char *tls_cipher_suites;
	char *client_ca_file;
	char *token_auth_file;
	char *sa_key_files;  /* repeatable: joined with commas */
	char *sa_signing_key_file;
	char *sa_issuers;    /* repeatable: joined with commas */
	char *api_audiences;
	char *anonymous_auth;
	char *authorization_mode;
	char *enable_admission;
	char *disable_admission;
	char *admission_config_file;
	char *not_ready_toleration;
	char *unreachable_toleration;
};

static const char usage[] =
	"Usage: kube-apiserver [flags]\n"
	"\n"
	"The Kubernetes API server validates and configures data for the api objects\n"
	"(pods, services, deployments...) and serves the REST API the other components\n"
	"and kubectl use: over TLS on --secure-port with authentication, and over plain\n"
	"HTTP on the loopback --insecure-port, which acts as a superuser.\n"
	"\n"
	"Flags:\n"
	"      --admission-control-config-file string  File with admission control\n"
	"                                          configuration (not supported: use the two flags below).\n"
	"      --anonymous-auth                    Enables anonymous requests to the secure port of the\n"
	"                                          API server. Requests that are not rejected by another\n"
	"                                          authentication method are treated as anonymous\n"
	"                                          requests (system:anonymous, group\n"
	"                                          system:unauthenticated). (default true)\n"
	"      --api-audiences strings             Identifiers of the API. Tokens are checked to be\n"
	"                                          meant for at least one of them (default: the\n"
	"                                          --service-account-issuer values)\n"
	"      --authorization-mode strings        Ordered list of plug-ins to do authorization on the\n"
	"                                          secure port: AlwaysAllow, AlwaysDeny (default\n"
	"                                          \"AlwaysAllow\")\n"
	"      --bind-address ip                   The IP address on which to listen for the\n"
	"                                          --secure-port port (default 0.0.0.0)\n"
	"      --client-ca-file string             If set, any request presenting a client certificate\n"
	"                                          signed by one of the authorities in the client-ca-file\n"
	"                                          is authenticated with an identity corresponding to the\n"
	"                                          CommonName of the client certificate, its groups the\n"
	"                                          Organizations.\n"
	"      --advertise-address ip              The IP address on which to advertise the apiserver to\n"
	"                                          members of the cluster (the kubernetes service's\n"
	"                                          endpoints). Default: the bind address, or the first\n"
	"                                          non-loopback address when binding to 0.0.0.0.\n"
	"      --data-dir string                   Directory of the embedded store (default \"/var/lib/mink8s\")\n"
	"      --default-not-ready-toleration-seconds int  Indicates the tolerationSeconds of the\n"
	"                                          toleration for notReady:NoExecute that is added by\n"
	"                                          default to every pod that does not already have such a\n"
	"                                          toleration. (default 300)\n"
	"      --default-unreachable-toleration-seconds int  Indicates the tolerationSeconds of the\n"
	"                                          toleration for unreachable:NoExecute that is added by\n"
	"                                          default to every pod that does not already have such a\n"
	"                                          toleration. (default 300)\n"
	"      --disable-admission-plugins strings admission plugins that should be disabled although\n"
	"                                          they are in the default enabled plugins list.\n"
	"                                          Comma-delimited list of admission plugins.\n"
	"      --enable-admission-plugins strings  admission plugins that should be enabled in addition\n"
	"                                          to default enabled ones. Comma-delimited list of\n"
	"                                          admission plugins. Implemented: NamespaceLifecycle,\n"
	"                                          LimitRanger, ServiceAccount, PodSecurity,\n"
	"                                          DefaultTolerationSeconds, ResourceQuota (default on);\n"
	"                                          AlwaysAdmit, AlwaysDeny, AlwaysPullImages,\n"
	"                                          NamespaceExists, NamespaceAutoProvision.\n"
	"      --endpoint-reconciler-type string Use an endpoint reconciler (lease, none) (default\n"
	"                                          \"lease\"): with lease, the kubernetes Endpoints list\n"
	"                                          every live API server sharing the store.\n"
	"      --etcd-cafile string                SSL Certificate Authority file used to secure etcd\n"
	"                                          communication.\n"
	"      --etcd-certfile string              SSL certification file used to secure etcd communication.\n"
	"      --etcd-compaction-interval duration The interval of compaction requests. If 0, the\n"
	"                                          compaction request from apiserver is disabled.\n"
	"                                          (default 5m0s)\n"
	"      --etcd-keyfile string               SSL key file used to secure etcd communication.\n"
	"      --etcd-prefix string                The prefix to prepend to all resource paths in etcd.\n"
	"                                          (default \"/registry\")\n"
	"      --etcd-servers strings              List of etcd servers to connect with\n"
	"                                          (scheme://ip:port), comma separated. Without it the\n"
	"                                          embedded store in --data-dir is used.\n"
	"      --event-ttl duration                Amount of time to retain events. (default 1h0m0s)\n"
	"  -h, --help                              help for kube-apiserver\n"
	"      --insecure-bind-address ip          The IP address on which to serve (default 127.0.0.1);\n"
	"                                          a comma-separated list serves on each\n"
	"      --insecure-port int                 The port on which to serve unsecured,\n"
	"                                          unauthenticated access (default 8080); 0 turns it off.\n"
	"                                          --port is the same flag.\n"
	"      --secure-port int                   The port on which to serve HTTPS with authentication\n"
	"                                          and authorization (default 6443); 0 turns it off.\n"
	"                                          Served only with --tls-cert-file and\n"
	"                                          --tls-private-key-file.\n"
	"      --service-account-issuer stringArray Identifier of the service account token issuer,\n"
	"                                          written into the iss claim of the tokens issued;\n"
	"                                          repeated: every value is accepted on verification.\n"
	"      --service-account-key-file stringArray File containing PEM-encoded RSA public (or\n"
	"                                          private) keys, used to verify ServiceAccount tokens.\n"
	"      --service-account-signing-key-file string Path to the file that contains the current\n"
	"                                          private key of the service account token issuer\n"
	"                                          (TokenRequest).\n"
	"      --service-cluster-ip-range string   CIDR range from which to assign service cluster IPs\n"
	"                                          (default \"10.96.0.0/12\")\n"
	"      --service-node-port-range string    Port range reserved for services with NodePort\n"
	"                                          visibility (default \"30000-32767\")\n"
	"      --storage-backend string            The storage backend for persistence. Options:\n"
	"                                          'etcd3' (needs --etcd-servers). Default: etcd3 with\n"
	"                                          --etcd-servers, else the embedded store.\n"
	"      --tls-cert-file string              File containing the default x509 Certificate for HTTPS\n"
	"                                          (CA cert, if any, concatenated after server cert).\n"
	"      --tls-cipher-suites strings         Comma-separated list of cipher suites for the server\n"
	"                                          (Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256).\n"
	"                                          If omitted, the default GnuTLS cipher suites are used.\n"
	"      --tls-min-version string            Minimum TLS version supported. Possible values:\n"
	"                                          VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13\n"
	"                                          (default VersionTLS12)\n"
	"      --tls-private-key-file string       File containing the default x509 private key matching\n"
	"                                          --tls-cert-file.\n"
	"      --token-auth-file string            If set, the file that will be used to secure the\n"
	"                                          secure port of the API server via token authentication\n"
	"                                          (CSV: token,user,uid,\"group1,group2\").\n"
	"  -v, --v int                             number for the log level verbosity\n"
	"      --version                           print version information and quit\n";

/* Flags taking a value: name -> where it goes. */
struct api_flag {
	const char *name;
	char **str;
	int *num;
	bool repeat; /* str: values of repeats joined with commas */
	bool boolean; /* str: "true" when given without a value */
};

static int parse_flags(int argc, char **argv, struct options *o)
{
	const struct api_flag flags[] = {
		{"insecure-bind-address", &o->bind_address, NULL, false, false},
		{"insecure-port", NULL, &o->port, false, false},
		{"port", NULL, &o->port, false, false},
		{"secure-port", NULL, &o->secure_port, false, false},
		{"bind-address", &o->secure_bind, NULL, false, false},
		{"tls-cert-file", &o->tls_cert_file, NULL, false, false},
		{"tls-private-key-file", &o->tls_key_file, NULL, false, false},
		{"tls-min-version", &o->tls_min_version, NULL, false, false},
		{"tls-cipher-suites", &o->tls_cipher_suites, NULL, false, false},
		{"client-ca-file", &o->client_ca_file, NULL, false, false},
		{"token-auth-file", &o->token_auth_file, NULL, false, false},
		{"service-account-key-file", &o->sa_key_files, NULL, true, false},
		{"service-account-signing-key-file", &o->sa_signing_key_file, NULL, false, false},
		{"service-account-issuer", &o->sa_issuers, NULL, true, false},
		{"api-audiences", &o->api_audiences, NULL, false, false},
		{"anonymous-auth", &o->anonymous_auth, NULL, false, true},
		{"authorization-mode", &o->authorization_mode, NULL, false, false},
		{"data-dir", &o->data_dir, NULL, false, false},
		{"service-cluster-ip-range", &o->service_cidr, NULL, false, false},
		{"service-node-port-range", &o->node_port_range, NULL, false, false},
		{"advertise-address", &o->advertise, NULL, false, false},
		{"etcd-servers", &o->etcd_servers, NULL, false, false},
		{"etcd-prefix", &o->etcd_prefix, NULL, false, false},
		{"etcd-cafile", &o->etcd_cafile, NULL, false, false},
		{"etcd-certfile", &o->etcd_certfile, NULL, false, false},
		{"etcd-keyfile", &o->etcd_keyfile, NULL, false, false},
		{"etcd-compaction-interval", &o->etcd_compaction_interval, NULL, false, false},
		{"event-ttl", &o->event_ttl, NULL, false, false},
		{"storage-backend", &o->storage_backend, NULL, false, false},
		{"endpoint-reconciler-type", &o->endpoint_reconciler_type, NULL, false, false},
		{"v", NULL, &log_verbosity, false, false},
		{"enable-admission-plugins", &o->enable_admission, NULL, false, false},
		{"disable-admission-plugins", &o->disable_admission, NULL, false, false},
		{"admission-control-config-file", &o->admission_config_file, NULL, false, false},
		{"default-not-ready-toleration-seconds", &o->not_ready_toleration, NULL, false, false},
		{"default-unreachable-toleration-seconds", &o->unreachable_toleration, NULL, false, false},
	};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			fputs(usage, stdout);
			exit(0);
		}
		if (!strcmp(arg, "--version") || !strcmp(arg, "--version=true") ||
		    !strcmp(arg, "--version=raw")) {
			fputs(MK_VERSION_LINE, stdout);
			exit(0);
		}
		const char *name;
		if (!strncmp(arg, "--", 2))
			name = arg + 2;
		else if (arg[0] == '-' && arg[1])
			name = arg + 1;
		else {
			fprintf(stderr, "kube-apiserver: unexpected argument \"%s\"\n", arg);
			return -1;
		}
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const struct api_flag *f = NULL;
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			if (strlen(flags[k].name) == nlen && !strncmp(flags[k].name, name, nlen))
				f = &flags[k];
		/* Single-dash long names are accepted only for -v, as upstream's pflag. */
		if (!f || (arg[1] != '-' && strcmp(f->name, "v"))) {
			fprintf(stderr, "kube-apiserver: unknown flag: %.*s\n", (int)(nlen + (arg[1] == '-' ? 2 : 1)), arg);
			return -1;
		}
		const char *value;
		if (eq) {
			value = eq + 1;
		} else if (f->boolean) {
			value = "true";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			fprintf(stderr, "kube-apiserver: flag needs an argument: %s\n", arg);
			return -1;
		}
		if (f->str && f->repeat && *f->str) {
			char *joined = xasprintf("%s,%s", *f->str, value);
			free(*f->str);
			*f->str = joined;
		} else if (f->str) {
			free(*f->str);
			*f->str = xstrdup(value);
		} else {
			char *end;
			errno = 0;
			long v = strtol(value, &end, 10);
			if (errno || !*value || *end || v < 0 || v > 65535) {
				fprintf(stderr,
					"kube-apiserver: invalid argument \"%s\" for \"--%s\" flag\n",
					value, f->name);
				return -1;
			}
			*f->num = (int)v;
		}
	}
	return 0;
}

/* The first non-loopback IPv4 address of the host, or NULL. New string. */
static char *first_host_ip(void)
{
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return NULL;
	char *out = NULL;
	for (struct ifaddrs *p = ifa; p && !out; p = p->ifa_next) {
		if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET)
			continue;
		struct in_addr a = ((struct sockaddr_in *)p->ifa_addr)->sin_addr;
		if ((ntohl(a.s_addr) >> 24) == 127)
			continue;
		char buf[INET_ADDRSTRLEN];
		if (inet_ntop(AF_INET, &a, buf, sizeof(buf)))
			out = xstrdup(buf);
	}
	freeifaddrs(ifa);
	return out;
}

/* How long a starting API server waits for etcd, as upstream's does before
 * giving up. */
#define ETCD_WAIT_MS 60000

/* Parses a duration flag's value (NULL: keep *ms). Prints the error. */
static int parse_duration_flag(const char *name, const char *value, int64_t *ms)
{
	if (!value)
		return 0;
	cleanup_err struct mk_err *err = NULL;
	if (flags_parse_duration(value, ms, &err) < 0 || *ms < 0) {
		fprintf(stderr, "kube-apiserver: invalid argument \"%s\" for \"--%s\" flag: %s\n",
			value, name, err ? mk_err_msg(err) : "negative duration");
		return -1;
	}
	return 0;
}

/* "/registry/<storage>/" of every stored resource, once each: the etcd watch
 * caches. New NULL-terminated array of new strings. */
static char **resource_prefixes(void)
{
	size_t n = 0;
	char **out = xcalloc(1, sizeof(char *));
	for (const struct api_resource *r = api_resources; r->resource; r++) {
		if (!r->storage)
			continue;
		char *p = api_prefix(r, NULL);
		bool dup = false;
		for (size_t i = 0; i < n && !dup; i++)
			dup = !strcmp(out[i], p);
		if (dup) {
			free(p);
			continue;
		}
		out = xrealloc(out, (n + 2) * sizeof(char *));
		out[n++] = p;
		out[n] = NULL;
	}
	return out;
}

/* The address to advertise for a list of bind addresses: its first
 * non-loopback one, else its first. New string. */
static char *list_advertise(const char *list)
{
	cleanup_free char *l = xstrdup(list);
	char *save = NULL, *first = NULL;
	for (char *a = strtok_r(l, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		if (!first)
			first = a;
		if (strncmp(a, "127.", 4) && strcmp(a, "::1") && strcmp(a, "0.0.0.0") &&
		    strcmp(a, "::"))
			return xstrdup(a);
	}
	return xstrdup(first ? first : "127.0.0.1");
}

/* PEM files are small; anything larger is not one. */
#define PEM_MAX (1024 * 1024)

/* The text of a --flag's file. Prints the error. New string or NULL. */
static char *read_flag_file(const char *flag, const char *path)
{
	cleanup_err struct mk_err *err = NULL;
	char *text = fs_read_file(path, PEM_MAX, NULL, &err);
	if (!text)
		fprintf(stderr, "kube-apiserver: --%s: %s\n", flag, mk_err_msg(err));
	return text;
}

/* The TLS side of the server config from the flags: files read, priorities
 * built. 0 when the secure port is off or set up; -1 after printing why. */
static int secure_setup(const struct options *o, struct server_config *scfg)
{
	if (o->secure_port == 0)
		return 0;
	if (!o->tls_cert_file != !o->tls_key_file) {
		fprintf(stderr, "kube-apiserver: --tls-cert-file and --tls-private-key-file must "
				"be given together\n");
		return -1;
	}
	if (!o->tls_cert_file)
		return 0;
	cleanup_err struct mk_err *err = NULL;
	char *prio = tlsprio_build(o->tls_min_version, o->tls_cipher_suites, &err);
	if (!prio) {
		fprintf(stderr, "kube-apiserver: %s\n", mk_err_msg(err));
		return -1;
	}
	scfg->tls_priorities = prio;
	if (!(scfg->tls_cert_pem = read_flag_file("tls-cert-file", o->tls_cert_file)) ||
	    !(scfg->tls_key_pem = read_flag_file("tls-private-key-file", o->tls_key_file)))
		return -1;
	if (o->client_ca_file &&
	    !(scfg->client_ca_pem = read_flag_file("client-ca-file", o->client_ca_file)))
		return -1;
	scfg->secure_port = o->secure_port;
	scfg->secure_bind = o->secure_bind ? o->secure_bind : "0.0.0.0";
	return 0;
}

static void secure_free(struct server_config *scfg)
{
	free((char *)scfg->tls_priorities);
	free((char *)scfg->tls_cert_pem);
	if (scfg->tls_key_pem)
		explicit_bzero((char *)scfg->tls_key_pem, strlen(scfg->tls_key_pem));
	free((char *)scfg->tls_key_pem);
	free((char *)scfg->client_ca_pem);
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* What main derives from the flags that need more than their type. */
struct settings {
	bool anonymous;
	struct authz authz;
	const char *reconciler_type;
	int64_t compaction_ms, event_ttl_ms;
	long long tolerations_s[2]; /* not-ready, unreachable; -1: the default */
};

/* The authentication and authorization flags into s; prints upstream's message. 0,
 * or the exit status (1 or 2). */
static int settings_check_auth(const struct options *o, struct settings *s)
{
	s->anonymous = true;
	if (o->anonymous_auth) {
		if (!strcasecmp(o->anonymous_auth, "true") || !strcmp(o->anonymous_auth, "1"))
			s->anonymous = true;
		else if (!strcasecmp(o->anonymous_auth, "false") || !strcmp(o->anonymous_auth, "0"))
			s->anonymous = false;
		else {
			fprintf(stderr,
				"kube-apiserver: invalid argument \"%s\" for \"--anonymous-auth\" "
				"flag: strconv.ParseBool: parsing \"%s\": invalid syntax\n",
				o->anonymous_auth, o->anonymous_auth);
			return 2;
		}
	}
	cleanup_err struct mk_err *zerr = NULL;
	if (authz_parse(o->authorization_mode, &s->authz, &zerr) < 0) {
		fprintf(stderr, "kube-apiserver: --authorization-mode: %s\n", mk_err_msg(zerr));
		return 1;
	}
	return 0;
}

/* The flags of the store, the reconciler, durations and tolerations. */
static int settings_check_store(const struct options *o, struct settings *s)
{
	if (o->storage_backend && strcmp(o->storage_backend, "etcd3")) {
		fprintf(stderr,
			"kube-apiserver: invalid --storage-backend \"%s\": the only storage "
			"backend is etcd3\n",
			o->storage_backend);
		return 1;
	}
	if (o->storage_backend && !o->etcd_servers) {
		fprintf(stderr, "kube-apiserver: --etcd-servers must be specified\n");
		return 1;
	}
	s->reconciler_type = o->endpoint_reconciler_type ? o->endpoint_reconciler_type : "lease";
	if (strcmp(s->reconciler_type, "lease") && strcmp(s->reconciler_type, "none")) {
		fprintf(stderr,
			"kube-apiserver: invalid --endpoint-reconciler-type \"%s\": lease or "
			"none\n",
			s->reconciler_type);
		return 1;
	}
	s->compaction_ms = 5 * 60 * 1000;
	s->event_ttl_ms = 60 * 60 * 1000;
	if (parse_duration_flag("etcd-compaction-interval", o->etcd_compaction_interval,
				&s->compaction_ms) < 0 ||
	    parse_duration_flag("event-ttl", o->event_ttl, &s->event_ttl_ms) < 0)
		return 2;
	const char *tol_v[2] = {o->not_ready_toleration, o->unreachable_toleration};
	const char *tol_n[2] = {"default-not-ready-toleration-seconds",
				"default-unreachable-toleration-seconds"};
	for (int i = 0; i < 2; i++) {
		s->tolerations_s[i] = -1;
		if (!tol_v[i])
			continue;
		char *end;
		errno = 0;
		s->tolerations_s[i] = strtoll(tol_v[i], &end, 10);
		if (errno || !*tol_v[i] || *end) {
			fprintf(stderr,
				"kube-apiserver: invalid argument \"%s\" for \"--%s\" flag\n",
				tol_v[i], tol_n[i]);
			return 2;
		}
	}
	return 0;
}

/* The address the kubernetes Service's endpoints name. New string. */
static char *advertise_address(const struct options *o, const char *bind)
{
	if (o->advertise)
		return xstrdup(o->advertise);
	if (!strchr(bind, ',') && strcmp(bind, "0.0.0.0") && strcmp(bind, "::"))
		return xstrdup(bind);
	if (strchr(bind, ','))
		return list_advertise(bind);
	char *ip = first_host_ip();
	return ip ? ip : xstrdup("127.0.0.1");
}

/* Memory and signal settings of the process. */
static void process_setup(void)
{
	/* One arena per MHD thread would keep freed list buffers out of reach. */
	mallopt(M_ARENA_MAX, 4);
	signal(SIGPIPE, SIG_IGN);
	/* Objects and request bodies run to megabytes. Above 256 KiB every
	 * block is mapped on its own and unmapped when freed; left alone, glibc
	 * raises that threshold to the largest block freed so far, and bursts of
	 * large objects then stay in its arenas long after they were freed. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* etcd when --etcd-servers is given, else the embedded store in data_dir.
 * Prints why on failure. */
static struct store *open_store(const struct options *o, const struct settings *s,
				const char *data_dir)
{
	cleanup_err struct mk_err *err = NULL;
	struct store *st;
	if (o->etcd_servers) {
		char **watch_prefixes = resource_prefixes();
		struct store_etcd_config ecfg = {
			.servers = o->etcd_servers,
			.prefix = o->etcd_prefix,
			.ca_file = o->etcd_cafile,
			.cert_file = o->etcd_certfile,
			.key_file = o->etcd_keyfile,
			.compaction_interval_ms = s->compaction_ms,
			.watch_prefixes = (const char *const *)watch_prefixes,
			.wait_ms = ETCD_WAIT_MS,
		};
		st = store_etcd_open(&ecfg, &err);
		for (char **p = watch_prefixes; *p; p++)
			free(*p);
		free(watch_prefixes);
		if (!st)
			fprintf(stderr, "kube-apiserver: %s\n", mk_err_msg(err));
		return st;
	}
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "kube-apiserver: cannot create --data-dir %s: %s\n", data_dir,
			strerror(errno));
		return NULL;
	}
	st = store_sqlite_open(data_dir, &err);
	if (!st) {
		fprintf(stderr, "kube-apiserver: opening the store in %s: %s\n", data_dir,
			mk_err_msg(err));
		return NULL;
	}
	/* Test knob: compaction interval of the embedded store (default 5
	 * minutes; --etcd-compaction-interval is etcd's). */
	const char *ci = getenv("MINK8S_COMPACT_INTERVAL_MS");
	if (ci && atoi(ci) > 0)
		store_sqlite_set_compact_interval(st, (unsigned)atoi(ci));
	return st;
}

/* The test knobs of the server, from the environment. */
static void server_test_knobs(struct server_config *scfg)
{
	const char *bm = getenv("MINK8S_WATCH_BOOKMARK_SECONDS");
	if (bm)
		scfg->bookmark_seconds = (unsigned)atoi(bm);
	/* bytes one watcher may have queued before it is cut off */
	const char *wq = getenv("MINK8S_WATCH_QUEUE_BYTES");
	if (wq && atoll(wq) > 0)
		scfg->watch_queue_bytes = (size_t)atoll(wq);
	/* seconds after which an idle or stalled connection is closed */
	const char *it = getenv("MINK8S_IDLE_TIMEOUT_SECONDS");
	if (it && atoi(it) > 0)
		scfg->idle_timeout_s = (unsigned)atoi(it);
}

/* The lease reconciler of the kubernetes Service's endpoints, or NULL with
 * *err set. */
static struct reconciler *reconciler_from_env(struct store *st, const char *advertise, int port,
					      struct mk_err **err)
{
	/* Test knobs: the reconcile interval and the lease TTL (upstream's
	 * 10 s and 15 s). */
	const char *ri = getenv("MINK8S_ENDPOINT_RECONCILE_MS");
	const char *lt = getenv("MINK8S_MASTER_LEASE_TTL_S");
	struct reconciler_config rcfg = {
		.ip = advertise,
		.port = port,
		.interval_ms = ri ? atoll(ri) : 0,
		.ttl_s = lt ? atoll(lt) : 0,
	};
	return reconciler_start(st, &rcfg, err);
}

static void log_serving(const struct options *o, struct apiserver *srv, struct admission *adm,
			const char *bind, const char *data_dir)
{
	if (server_secure_port(srv) >= 0)
		log_info("Serving securely on %s:%d", o->secure_bind ? o->secure_bind : "0.0.0.0",
			 server_secure_port(srv));
	if (server_port(srv) >= 0 && o->etcd_servers)
		log_info("Serving insecurely on %s:%d (data in etcd %s)", bind, server_port(srv),
			 o->etcd_servers);
	else if (server_port(srv) >= 0)
		log_info("Serving insecurely on %s:%d (data in %s)", bind, server_port(srv),
			 data_dir);
	cleanup_free char *chain = admission_describe(adm);
	log_info("Loaded admission plugins in order: %s", chain);
}

static void options_free(struct options *o)
{
	char **strs[] = {
		&o->secure_bind,
		&o->tls_cert_file,
		&o->tls_key_file,
		&o->tls_min_version,
		&o->tls_cipher_suites,
		&o->client_ca_file,
		&o->token_auth_file,
		&o->sa_key_files,
		&o->sa_signing_key_file,
		&o->sa_issuers,
		&o->api_audiences,
		&o->anonymous_auth,
		&o->authorization_mode,
		&o->bind_address,
		&o->data_dir,
		&o->service_cidr,
		&o->node_port_range,
		&o->advertise,
		&o->etcd_servers,
		&o->etcd_prefix,
		&o->etcd_cafile,
		&o->etcd_certfile,
		&o->etcd_keyfile,
		&o->etcd_compaction_interval,
		&o->event_ttl,
		&o->storage_backend,
		&o->endpoint_reconciler_type,
		&o->enable_admission,
		&o->disable_admission,
		&o->admission_config_file,
		&o->not_ready_toleration,
		&o->unreachable_toleration,
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

int main(int argc, char **argv)
{
	struct options o = {.port = 8080, .secure_port = 6443};
	if (parse_flags(argc, argv, &o) < 0)
		return 2;
	struct settings set;
	int rc = settings_check_auth(&o, &set);
	if (rc)
		return rc;
	struct server_config scfg = {0};
	if (secure_setup(&o, &scfg) < 0) {
		secure_free(&scfg);
		return 1;
	}
	if ((rc = settings_check_store(&o, &set)))
		return rc;
	struct admission_config adm_cfg = {
		.enable = o.enable_admission,
		.disable = o.disable_admission,
		.config_file = o.admission_config_file,
		.not_ready_s = set.tolerations_s[0],
		.unreachable_s = set.tolerations_s[1],
	};
	cleanup_err struct mk_err *err = NULL;
	struct admission *adm = admission_new(&adm_cfg, &err);
	if (!adm) {
		/* upstream's wording: cobra's "Error: " and the options' message */
		fprintf(stderr, "Error: %s\n", mk_err_msg(err));
		return 1;
	}
	const char *bind = o.bind_address ? o.bind_address : "127.0.0.1";
	const char *data_dir = o.data_dir ? o.data_dir : "/var/lib/mink8s";
	cleanup_free char *advertise = advertise_address(&o, bind);

	process_setup();
	struct store *st = open_store(&o, &set, data_dir);
	if (!st)
		return 1;
	if (authz_start(&set.authz, st, &err) < 0) {
		fprintf(stderr, "kube-apiserver: --authorization-mode: %s\n", mk_err_msg(err));
		secure_free(&scfg);
		authz_stop(&set.authz);
		store_close(st);
		return 1;
	}
	struct authn *authn = NULL;
	if (scfg.tls_cert_pem) {
		struct authn_config acfg = {
			.st = st,
			.token_auth_file = o.token_auth_file,
			.sa_key_files = o.sa_key_files,
			.sa_signing_key = o.sa_signing_key_file,
			.sa_issuers = o.sa_issuers,
			.api_audiences = o.api_audiences,
			.anonymous = set.anonymous,
		};
		authn = authn_new(&acfg, &err);
		if (!authn) {
			fprintf(stderr, "kube-apiserver: %s\n", mk_err_msg(err));
			secure_free(&scfg);
			authz_stop(&set.authz);
			store_close(st);
			return 1;
		}
	}
	scfg.bind_address = bind;
	scfg.port = o.port ? o.port : -1;
	scfg.advertise = advertise;
	scfg.event_ttl_s = set.event_ttl_ms / 1000;
	scfg.authn = authn;
	scfg.authz = &set.authz;
	scfg.admission = adm;
	server_test_knobs(&scfg);
	/* the CRDs are served from the first request on */
	if (crd_registry_start(st, &err) < 0) {
		fprintf(stderr, "kube-apiserver: custom resource definitions: %s\n",
			mk_err_msg(err));
		secure_free(&scfg);
		authn_free(authn);
		authz_stop(&set.authz);
		store_close(st);
		return 1;
	}
	struct apiserver *srv = server_start(st, &scfg, &err);
	secure_free(&scfg);
	if (!srv) {
		fprintf(stderr, "kube-apiserver: %s\n", mk_err_msg(err));
		crd_registry_stop();
		authn_free(authn);
		authz_stop(&set.authz);
		store_close(st);
		return 1;
	}
	/* the kubernetes Service leads to the secure port when there is one */
	int service_port =
		server_secure_port(srv) >= 0 ? server_secure_port(srv) : server_port(srv);
	struct bootstrap_config bcfg = {
		.service_cidr = o.service_cidr ? o.service_cidr : "10.96.0.0/12",
		.node_port_range = o.node_port_range ? o.node_port_range : "30000-32767",
		.port = service_port,
	};
	if (bootstrap_run(st, &bcfg, &err) < 0) {
		fprintf(stderr, "kube-apiserver: bootstrap: %s\n", mk_err_msg(err));
		server_stop(srv);
		crd_registry_stop();
		authz_stop(&set.authz);
		store_close(st);
		return 1;
	}
	/* Only an RBAC server reads the policy; the others (AlwaysAllow, the
	 * tutorials' default) start without its fifty writes. */
	if (authz_has_mode(&set.authz, AUTHZ_RBAC) && rbacpolicy_reconcile(st, &err) < 0) {
		fprintf(stderr, "kube-apiserver: bootstrap RBAC policy: %s\n", mk_err_msg(err));
		server_stop(srv);
		crd_registry_stop();
		authz_stop(&set.authz);
		store_close(st);
		return 1;
	}
	struct reconciler *rec = NULL;
	if (!strcmp(set.reconciler_type, "lease") &&
	    !(rec = reconciler_from_env(st, advertise, service_port, &err))) {
		fprintf(stderr, "kube-apiserver: endpoint reconciler: %s\n", mk_err_msg(err));
		server_stop(srv);
		crd_registry_stop();
		authz_stop(&set.authz);
		store_close(st);
		return 1;
	}
	log_serving(&o, srv, adm, bind, data_dir);
	while (!stop_signal)
		pause();
	log_info("received signal %d, shutting down", (int)stop_signal);
	reconciler_stop(rec);
	server_stop(srv);
	crd_registry_stop();
	authn_free(authn);
	authz_stop(&set.authz);
	store_close(st);
	options_free(&o);
	admission_free(adm);
	return 0;
}
