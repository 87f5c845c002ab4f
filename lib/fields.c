/* Field selector parsing with upstream's term splitting and escape rules. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fields.h"
#include "xalloc.h"

void fields_selector_free(struct field_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++) {
		free(sel->terms[i].field);
		free(sel->terms[i].value);
	}
	free(sel->terms);
	free(sel);
}

/* Splits on commas not preceded by a backslash escape. */
static char **split_terms(const char *s, size_t *n)
{
	char **out = NULL;
	size_t count = 0, start = 0;
	bool in_slash = false;
	for (size_t i = 0;; i++) {
		if (s[i] == '\0' || (!in_slash && s[i] == ',')) {
			out = xrealloc(out, (count + 1) * sizeof(char *));
			out[count++] = xstrndup(s + start, i - start);
			if (s[i] == '\0')
				break;
			start = i + 1;
			continue;
		}
		if (in_slash)
			in_slash = false;
		else if (s[i] == '\\')
			in_slash = true;
	}
	*n = count;
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* First position where "!=", "==" or "=" starts, in that order of preference. */
static bool split_term(const char *t, size_t *lhs_len, size_t *op_len, bool *negate)
{
	for (size_t i = 0; t[i]; i++) {
		if (strncmp(t + i, "!=", 2) == 0) {
			*lhs_len = i, *op_len = 2, *negate = true;
			return true;
		}
		if (strncmp(t + i, "==", 2) == 0) {
			*lhs_len = i, *op_len = 2, *negate = false;
			return true;
		}
		if (t[i] == '=') {
			*lhs_len = i, *op_len = 1, *negate = false;
			return true;
		}
	}
	return false;
}

static char *unescape(const char *s, struct mk_err **err)
{
	struct buf b = BUF_INIT;
	bool in_slash = false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		if (in_slash) {
			if (c != '\\' && c != ',' && c != '=') {
				buf_free(&b);
				/* One UTF-8 character after the backslash, as upstream
				 * reports runes. */
				size_t len = 1;
				while (s[i + len] && ((unsigned char)s[i + len] & 0xC0) == 0x80)
					len++;
				mk_err_set(
					err, MK_EINVAL,
					"invalid field selector: invalid escape sequence: \\%.*s",
					(int)len, s + i);
				return NULL;
			}
			buf_append_char(&b, c);
			in_slash = false;
			continue;
		}
		if (c == '\\') {
			in_slash = true;
		} else if (c == ',' || c == '=') {
			buf_free(&b);
			mk_err_set(err, MK_EINVAL,
				   "invalid field selector: unescaped character in value: %c", c);
			return NULL;
		} else {
			buf_append_char(&b, c);
		}
	}
	if (in_slash) {
		buf_free(&b);
		mk_err_set(err, MK_EINVAL, "invalid field selector: invalid escape sequence: \\");
		return NULL;
	}
	return buf_steal(&b);
}

struct field_selector *fields_selector_parse(const char *s, struct mk_err **err)
{
	struct field_selector *sel = xcalloc(1, sizeof(*sel));
	if (!s || !*s)
		return sel;
	size_t n;
	char **parts = split_terms(s, &n);
	qsort(parts, n, sizeof(char *), cmp_str);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!parts[i][0])
			continue;
		size_t lhs_len, op_len;
		bool negate;
		if (!split_term(parts[i], &lhs_len, &op_len, &negate)) {
			rc = mk_err_set(err, MK_EINVAL,
					"invalid selector: '%s'; can't understand '%s'", s,
					parts[i]);
			break;
		}
		char *value = unescape(parts[i] + lhs_len + op_len, err);
		if (!value) {
			rc = -1;
			break;
		}
		sel->terms = xrealloc(sel->terms, (sel->n + 1) * sizeof(*sel->terms));
		sel->terms[sel->n++] = (struct field_term){
			.field = xstrndup(parts[i], lhs_len),
			.negate = negate,
			.value = value,
		};
	}
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
	if (rc < 0) {
		fields_selector_free(sel);
		return NULL;
	}
	return sel;
}

const char *fields_selector_exact(const struct field_selector *sel, const char *field)
{
	for (size_t i = 0; sel && i < sel->n; i++)
		if (!sel->terms[i].negate && strcmp(sel->terms[i].field, field) == 0)
			return sel->terms[i].value;
	return NULL;
}

bool fields_selector_matches(const struct field_selector *sel,
			     const char *(*get)(const char *field, void *ctx), void *ctx)
{
	for (size_t i = 0; sel && i < sel->n; i++) {
		const char *v = get(sel->terms[i].field, ctx);
		bool eq = strcmp(v ? v : "", sel->terms[i].value) == 0;
		if (eq == sel->terms[i].negate)
			return false;
	}
	return true;
}
