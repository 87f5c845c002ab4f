/* fields: field selector parsing, escapes, errors and matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "fields.h"

static void test_parse(void **state)
{
	(void)state;
	struct field_selector *s = fields_selector_parse("", NULL);
	assert_non_null(s);
	assert_int_equal(s->n, 0);
	fields_selector_free(s);
	s = fields_selector_parse(NULL, NULL);
	assert_int_equal(s->n, 0);
	fields_selector_free(s);

	s = fields_selector_parse("status.phase!=Running,metadata.name==web,spec.nodeName=n1", NULL);
	assert_non_null(s);
	assert_int_equal(s->n, 3);
	/* terms are sorted by their text */
	assert_string_equal(s->terms[0].field, "metadata.name");
	assert_false(s->terms[0].negate);
	assert_string_equal(s->terms[0].value, "web");
	assert_string_equal(s->terms[1].field, "spec.nodeName");
	assert_string_equal(s->terms[1].value, "n1");
	assert_string_equal(s->terms[2].field, "status.phase");
	assert_true(s->terms[2].negate);
	assert_string_equal(s->terms[2].value, "Running");
	assert_string_equal(fields_selector_exact(s, "metadata.name"), "web");
	assert_null(fields_selector_exact(s, "status.phase"));
	fields_selector_free(s);

	/* empty value, empty terms skipped, escapes */
	s = fields_selector_parse("involvedObject.namespace=,,a=x\\,y\\=z\\\\", NULL);
	assert_non_null(s);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->terms[0].field, "a");
	assert_string_equal(s->terms[0].value, "x,y=z\\");
	assert_string_equal(s->terms[1].field, "involvedObject.namespace");
	assert_string_equal(s->terms[1].value, "");
	fields_selector_free(s);
}

static void bad(const char *sel, const char *msg)
{
	cleanup_err struct mk_err *err = NULL;
	assert_null(fields_selector_parse(sel, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), msg);
}

static void test_errors(void **state)
{
	(void)state;
	bad("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
	bad("a=b,foo", "invalid selector: 'a=b,foo'; can't understand 'foo'");
	bad("a=b=c", "invalid field selector: unescaped character in value: =");
	bad("a=\\x", "invalid field selector: invalid escape sequence: \\x");
	bad("a=x\\", "invalid field selector: invalid escape sequence: \\");
	bad("a!==b", "invalid field selector: unescaped character in value: =");
}

static const char *getter(const char *field, void *ctx)
{
	const char **kv = ctx;
	for (; kv[0]; kv += 2)
		if (strcmp(kv[0], field) == 0)
			return kv[1];
	return NULL;
}

static void test_match(void **state)
{
	(void)state;
	const char *pod[] = {"metadata.name", "web", "status.phase", "Running", NULL};
	struct field_selector *s = fields_selector_parse("metadata.name=web", NULL);
	assert_true(fields_selector_matches(s, getter, pod));
	fields_selector_free(s);
	s = fields_selector_parse("metadata.name=web,status.phase!=Running", NULL);
	assert_false(fields_selector_matches(s, getter, pod));
	fields_selector_free(s);
	s = fields_selector_parse("spec.nodeName=", NULL);
	assert_true(fields_selector_matches(s, getter, pod));
	fields_selector_free(s);
	s = fields_selector_parse("spec.nodeName!=", NULL);
	assert_false(fields_selector_matches(s, getter, pod));
	fields_selector_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
