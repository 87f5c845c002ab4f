/* names: DNS-1123 checks with upstream's messages, qualified names, generateName. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "names.h"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_subdomain(void **state)
{
	(void)state;
	assert_null(names_check_dns1123_subdomain("example.com"));
	assert_null(names_check_dns1123_subdomain("a"));
	assert_null(names_check_dns1123_subdomain("web-1.x-2.y"));
	const char *want =
		"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
		"'-' or '.', and must start and end with an alphanumeric character (e.g. "
		"'example.com', regex used for validation is "
		"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
	const char *bad[] = {"", "Web", "-a", "a-", "a..b", ".a", "a.", "a_b", "a.-b", "a b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *m = names_check_dns1123_subdomain(bad[i]);
		assert_non_null(m);
		assert_string_equal(m, want);
	}
	cleanup_free char *ok253 = repeat('a', 253);
	assert_null(names_check_dns1123_subdomain(ok253));
	cleanup_free char *long254 = repeat('a', 254);
	assert_string_equal(names_check_dns1123_subdomain(long254),
			    "must be no more than 253 characters");
}

static void test_label(void **state)
{
	(void)state;
	assert_null(names_check_dns1123_label("kube-system"));
	assert_null(names_check_dns1123_label("0"));
	assert_string_equal(names_check_dns1123_label("a.b"),
			    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
			    "characters or '-', and must start and end with an alphanumeric "
			    "character (e.g. 'my-name',  or '123-abc', regex used for validation "
			    "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
	assert_non_null(names_check_dns1123_label("A"));
	assert_non_null(names_check_dns1123_label(""));
	cleanup_free char *ok63 = repeat('z', 63);
	assert_null(names_check_dns1123_label(ok63));
	cleanup_free char *long64 = repeat('z', 64);
	assert_string_equal(names_check_dns1123_label(long64), "must be no more than 63 characters");
}

static void test_qualified_and_value(void **state)
{
	(void)state;
	assert_null(names_check_qualified_name("app"));
	assert_null(names_check_qualified_name("app.kubernetes.io/name"));
	assert_null(names_check_qualified_name("My_Key.1"));
	cleanup_free char *e1 = names_check_qualified_name("a/b/c");
	assert_string_equal(e1, "a qualified name must consist of alphanumeric characters, '-', "
				"'_' or '.', and must start and end with an alphanumeric character "
				"(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
				"validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
				"optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
	cleanup_free char *e2 = names_check_qualified_name("/x");
	assert_string_equal(e2, "prefix part must be non-empty");
	cleanup_free char *e3 = names_check_qualified_name("x/");
	assert_string_equal(e3, "name part must be non-empty");
	cleanup_free char *e4 = names_check_qualified_name("Ex/-a");
	assert_non_null(strstr(e4, "prefix part a lowercase RFC 1123 subdomain"));
	assert_non_null(strstr(e4, "; name part must consist of alphanumeric"));
	cleanup_free char *long64 = repeat('k', 64);
	cleanup_free char *e5 = names_check_qualified_name(long64);
	assert_string_equal(e5, "name part must be no more than 63 characters");

	assert_null(names_check_label_value(""));
	assert_null(names_check_label_value("v1.2_x-y"));
	cleanup_free char *v1 = names_check_label_value("a b");
	assert_string_equal(v1, "a valid label must be an empty string or consist of alphanumeric "
				"characters, '-', '_' or '.', and must start and end with an "
				"alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
				"'12345', regex used for validation is "
				"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
	cleanup_free char *v2 = names_check_label_value("-");
	assert_non_null(v2);
}

static void test_generate(void **state)
{
	(void)state;
	const char *alphabet = "bcdfghjklmnpqrstvwxz2456789";
	int seen[256] = {0};
	cleanup_free char *prev = NULL;
	int same = 0;
	for (int i = 0; i < 200; i++) {
		cleanup_free char *n = names_generate("web-");
		assert_int_equal(strlen(n), 9);
		assert_memory_equal(n, "web-", 4);
		for (int j = 4; j < 9; j++) {
			assert_non_null(strchr(alphabet, n[j]));
			seen[(unsigned char)n[j]]++;
		}
		assert_null(names_check_dns1123_subdomain(n));
		if (prev && strcmp(prev, n) == 0)
			same++;
		free(prev);
		prev = strdup(n);
	}
	assert_true(same < 2);
	/* 1000 draws over 27 characters: every character shows up. */
	for (const char *c = alphabet; *c; c++)
		assert_true(seen[(unsigned char)*c] > 0);
	/* A long base is cut so the result stays a valid label length. */
	cleanup_free char *base = repeat('b', 80);
	cleanup_free char *n = names_generate(base);
	assert_int_equal(strlen(n), 63);
	cleanup_free char *e = names_generate("");
	assert_int_equal(strlen(e), 5);
}

/* Version 4 UUIDs: 8-4-4-4-12 lower-case hex, version and variant bits set,
 * and two draws never alike. */
static void test_uid(void **state)
{
	(void)state;
	cleanup_free char *a = names_uid_new();
	cleanup_free char *b = names_uid_new();
	assert_string_not_equal(a, b);
	for (int k = 0; k < 200; k++) {
		cleanup_free char *u = names_uid_new();
		assert_int_equal(strlen(u), 36);
		for (size_t i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23)
				assert_int_equal(u[i], '-');
			else
				assert_non_null(strchr("0123456789abcdef", u[i]));
		}
		assert_int_equal(u[14], '4');
		assert_non_null(strchr("89ab", u[19]));
	}
}

/* Go's net.IP predicates as upstream's ValidateNonSpecialIP applies them. */
static void test_nonspecial_ip(void **state)
{
	(void)state;
	static const struct {
		const char *ip, *msg;
	} cases[] = {
		{"10.1.2.3", NULL},
		{"192.168.77.50", NULL},
		{"255.255.255.255", NULL},
		{"224.0.1.1", NULL},
		{"169.255.0.1", NULL},
		{"2001:db8::1", NULL},
		{"fec0::1", NULL},
		{"ff05::1", NULL},
		{"0.0.0.0", "may not be unspecified (0.0.0.0)"},
		{"::", "may not be unspecified (::)"},
		{"127.0.0.1", "may not be in the loopback range (127.0.0.0/8, ::1/128)"},
		{"127.255.255.254", "may not be in the loopback range (127.0.0.0/8, ::1/128)"},
		{"::1", "may not be in the loopback range (127.0.0.0/8, ::1/128)"},
		{"::ffff:127.0.0.1", "may not be in the loopback range (127.0.0.0/8, ::1/128)"},
		{"169.254.169.254", "may not be in the link-local range (169.254.0.0/16, fe80::/10)"},
		{"fe80::1", "may not be in the link-local range (169.254.0.0/16, fe80::/10)"},
		{"febf::1", "may not be in the link-local range (169.254.0.0/16, fe80::/10)"},
		{"224.0.0.1", "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"},
		{"224.0.0.255",
		 "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"},
		{"ff02::1", "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"},
		{"ff12::1", "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"},
		{"", "must be a valid IP address"},
		{"1.2.3", "must be a valid IP address"},
		{"10.0.0.0/8", "must be a valid IP address"},
		{"example.com", "must be a valid IP address"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_free char *got = names_check_nonspecial_ip(cases[i].ip);
		if (!cases[i].msg) {
			if (got)
				fail_msg("%s: %s", cases[i].ip, got);
			continue;
		}
		if (!got)
			fail_msg("%s: accepted", cases[i].ip);
		assert_string_equal(got, cases[i].msg);
	}
	cleanup_free char *null = names_check_nonspecial_ip(NULL);
	assert_string_equal(null, "must be a valid IP address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subdomain),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_qualified_and_value),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_uid),
		cmocka_unit_test(test_nonspecial_ip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
