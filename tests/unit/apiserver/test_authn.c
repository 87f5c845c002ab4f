/* authn: --token-auth-file as upstream reads it (CSV, quoted group lists,
 * at least three fields), static tokens to users, the unsecured superuser
 * and the UserInfo JSON. ServiceAccount tokens need a store and the HTTP
 * side; tests/integration/apiserver-security.bats covers them. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/authn.h"

static char *write_tmp(const char *text)
{
	char *p = xstrdup("/tmp/mk-authn.XXXXXX");
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return p;
}

static char *user_text(const struct authn_user *u)
{
	cleanup_json json_t *j = authn_user_json(u);
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static void test_token_file(void **state)
{
	(void)state;
	cleanup_free char *file = write_tmp("# comment\n"
					    "tok-a,alice,u-1,\"dev,ops\"\n"
					    "tok-b,bob,\n"
					    "\"tok,c\",carol,u-3,solo\r\n"
					    "\n"
					    ",nobody,u-9\n");
	struct authn_config cfg = {.token_auth_file = file};
	cleanup_err struct mk_err *err = NULL;
	struct authn *a = authn_new(&cfg, &err);
	assert_non_null(a);
	const char *tokens[] = {"tok-a", "tok-b", "tok,c"};
	const char *want[] = {
		"{\"username\":\"alice\",\"uid\":\"u-1\",\"groups\":[\"dev\",\"ops\","
		"\"system:authenticated\"]}",
		"{\"username\":\"bob\",\"groups\":[\"system:authenticated\"]}",
		"{\"username\":\"carol\",\"uid\":\"u-3\",\"groups\":[\"solo\","
		"\"system:authenticated\"]}",
	};
	for (size_t i = 0; i < 3; i++) {
		struct authn_user *u = NULL;
		assert_int_equal(authn_token(a, tokens[i], NULL, &u, NULL, &err), 0);
		cleanup_free char *t = user_text(u);
		assert_string_equal(t, want[i]);
		authn_user_free(u);
	}
	/* unknown tokens, a prefix, the empty token of the skipped line */
	const char *bad[] = {"tok-x", "tok-", "tok-aa", ""};
	for (size_t i = 0; i < 4; i++) {
		struct authn_user *u = NULL;
		assert_int_equal(authn_token(a, bad[i], NULL, &u, NULL, &err), -1);
		assert_int_equal(mk_err_code(err), MK_EUNAUTHORIZED);
		assert_null(u);
		mk_err_free(err);
		err = NULL;
	}
	authn_free(a);
	unlink(file);
}

static void test_token_file_errors(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *short_line = write_tmp("tok,alice\n");
	struct authn_config cfg = {.token_auth_file = short_line};
	assert_null(authn_new(&cfg, &err));
	cleanup_free char *want =
		xasprintf("%s:1: token file needs at least 3 fields (token,user,uid)", short_line);
	assert_string_equal(mk_err_msg(err), want);
	unlink(short_line);
	mk_err_free(err);
	err = NULL;
	cleanup_free char *quote = write_tmp("ok,a,1\n\"open,b,2\n");
	cfg.token_auth_file = quote;
	assert_null(authn_new(&cfg, &err));
	cleanup_free char *want2 = xasprintf("%s:2: unclosed quote", quote);
	assert_string_equal(mk_err_msg(err), want2);
	unlink(quote);
	mk_err_free(err);
	err = NULL;
	cfg.token_auth_file = "/nonexistent/tokens.csv";
	assert_null(authn_new(&cfg, &err));
	assert_int_equal(mk_err_code(err), MK_EIO);
	mk_err_free(err);
	err = NULL;
	/* service account keys need an issuer */
	struct authn_config sa = {.sa_key_files = "/nonexistent/sa.pub"};
	assert_null(authn_new(&sa, &err));
	assert_string_equal(mk_err_msg(err), "--service-account-issuer is required with "
					     "--service-account-key-file");
}

static void test_unsecured(void **state)
{
	(void)state;
	struct authn_user *u = authn_user_unsecured();
	cleanup_free char *t = user_text(u);
	assert_string_equal(t, "{\"username\":\"system:unsecured\",\"groups\":[\"system:masters\","
			       "\"system:authenticated\"]}");
	authn_user_free(u);
	authn_user_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_token_file_errors),
		cmocka_unit_test(test_unsecured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
