#include "tlsprio.h"

#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

struct suite {
	const char *go_name;
	const char *kx;     /* GnuTLS key exchange; NULL for TLS 1.3 suites */
	const char *cipher; /* GnuTLS cipher */
	const char *mac;    /* GnuTLS MAC */
};

/* Go's crypto/tls names (CipherSuites and InsecureCipherSuites; the RC4
 * suites are left out: GnuTLS no longer offers them). */
static const struct suite suites_table[] = {
	{"TLS_AES_128_GCM_SHA256", NULL, "AES-128-GCM", "AEAD"},
	{"TLS_AES_256_GCM_SHA384", NULL, "AES-256-GCM", "AEAD"},
	{"TLS_CHACHA20_POLY1305_SHA256", NULL, "CHACHA20-POLY1305", "AEAD"},
	{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA", "AES-128-CBC", "SHA1"},
	{"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA", "AES-256-CBC", "SHA1"},
	{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA", "AES-128-CBC", "SHA1"},
	{"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA", "AES-256-CBC", "SHA1"},
	{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA", "AES-128-GCM", "AEAD"},
	{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA", "AES-256-GCM", "AEAD"},
	{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD"},
	{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA", "AES-256-GCM", "AEAD"},
	{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD"},
	{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA", "CHACHA20-POLY1305",
	 "AEAD"},
	{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD"},
	{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD"},
	{"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "RSA", "3DES-CBC", "SHA1"},
	{"TLS_RSA_WITH_AES_128_CBC_SHA", "RSA", "AES-128-CBC", "SHA1"},
	{"TLS_RSA_WITH_AES_256_CBC_SHA", "RSA", "AES-256-CBC", "SHA1"},
	{"TLS_RSA_WITH_AES_128_CBC_SHA256", "RSA", "AES-128-CBC", "SHA256"},
	{"TLS_RSA_WITH_AES_128_GCM_SHA256", "RSA", "AES-128-GCM", "AEAD"},
	{"TLS_RSA_WITH_AES_256_GCM_SHA384", "RSA", "AES-256-GCM", "AEAD"},
	{"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA", "3DES-CBC", "SHA1"},
	{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA", "AES-128-CBC", "SHA256"},
	{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA", "AES-128-CBC", "SHA256"},
};

#define N_SUITES (sizeof(suites_table) / sizeof(suites_table[0]))

/* A set of GnuTLS priority items, each once, in the order first added. */
struct items {
	const char *v[N_SUITES + 4];
	size_t n;
};

static void items_add(struct items *it, const char *item)
{
	for (size_t i = 0; i < it->n; i++)
		if (!strcmp(it->v[i], item))
			return;
	it->v[it->n++] = item;
}

static void items_print(struct buf *b, const struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		buf_printf(b, ":+%s", it->v[i]);
}

char *tlsprio_build(const char *min_version, const char *suites, struct mk_err **err)
{
	static const struct {
		const char *name;
		int minor; /* 0..3 for TLS 1.0..1.3 */
	} versions[] = {
		{"VersionTLS10", 0},
		{"VersionTLS11", 1},
		{"VersionTLS12", 2},
		{"VersionTLS13", 3},
	};
	int minor = 2;
	if (min_version && *min_version) {
		minor = -1;
		for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
			if (!strcmp(versions[i].name, min_version))
				minor = versions[i].minor;
		if (minor < 0)
			return mk_err_set(err, MK_EINVAL, "unknown tls version \"%s\"", min_version),
			       NULL;
	}
	struct items kx = {0}, ciphers = {0}, macs = {0};
	bool tls12_suite = false;
	if (suites && *suites) {
		cleanup_free char *list = xstrdup(suites);
		char *save = NULL;
		for (char *name = strtok_r(list, ",", &save); name;
		     name = strtok_r(NULL, ",", &save)) {
			while (*name == ' ')
				name++;
			const struct suite *s = NULL;
			for (size_t i = 0; i < N_SUITES && !s; i++)
				if (!strcmp(suites_table[i].go_name, name))
					s = &suites_table[i];
			if (!s)
				return mk_err_set(err, MK_EINVAL,
						  "Cipher suite %s not supported or doesn't exist",
						  name),
				       NULL;
			if (!s->kx)
				continue; /* TLS 1.3: always on */
			tls12_suite = true;
			items_add(&kx, s->kx);
			items_add(&ciphers, s->cipher);
			items_add(&macs, s->mac);
		}
		if (!tls12_suite && minor < 3)
			return mk_err_set(err, MK_EINVAL,
					  "--tls-cipher-suites names no cipher suite for TLS 1.2 "
					  "and below"),
			       NULL;
	}
	struct buf b = {0};
	buf_append_str(&b, "NORMAL:-VERS-ALL");
	for (int v = 3; v >= minor; v--)
		buf_printf(&b, ":+VERS-TLS1.%d", v);
	if (tls12_suite) {
		/* TLS 1.3's own suites stay on, as in Go */
		items_add(&ciphers, "AES-128-GCM");
		items_add(&ciphers, "AES-256-GCM");
		items_add(&ciphers, "CHACHA20-POLY1305");
		items_add(&macs, "AEAD");
		buf_append_str(&b, ":-KX-ALL:-CIPHER-ALL:-MAC-ALL");
		items_print(&b, &kx);
		items_print(&b, &ciphers);
		items_print(&b, &macs);
	}
	return buf_steal(&b);
}
