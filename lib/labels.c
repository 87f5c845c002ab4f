/* Label selector parser and matcher, following upstream's grammar and messages:
 * a lexer turns the string into tokens, a recursive-descent parser builds
 * requirements, requirements are kept sorted by key. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "labels.h"
#include "names.h"
#include "xalloc.h"

enum label_op {
	OP_IN,
	OP_NOTIN,
	OP_EQUALS,
	OP_DOUBLE_EQUALS,
	OP_NOT_EQUALS,
	OP_EXISTS,
	OP_NOT_EXISTS,
	OP_GT,
	OP_LT,
};

struct label_req {
	char *key;
	enum label_op op;
	char **values; /* sorted, unique */
	size_t nvalues;
};

struct label_selector {
	struct label_req *reqs; /* sorted by key (stable) */
	size_t n;
	bool nothing; /* selects no object (nil LabelSelector) */
};

enum tok {
	TOK_ERROR,
	TOK_END,
	TOK_CLOSE,
	TOK_COMMA,
	TOK_NOT,
	TOK_DOUBLE_EQUALS,
	TOK_EQUALS,
	TOK_GT,
	TOK_IDENT,
	TOK_IN,
	TOK_LT,
	TOK_NOT_EQUALS,
	TOK_NOTIN,
	TOK_OPEN,
};

struct token {
	enum tok tok;
	char *lit;
};

static const struct {
	const char *lit;
	enum tok tok;
} keywords[] = {
	{")", TOK_CLOSE},	{",", TOK_COMMA},     {"!", TOK_NOT},  {"==", TOK_DOUBLE_EQUALS},
	{"=", TOK_EQUALS},	{">", TOK_GT},	      {"in", TOK_IN},  {"<", TOK_LT},
	{"!=", TOK_NOT_EQUALS}, {"notin", TOK_NOTIN}, {"(", TOK_OPEN},
};

static enum tok keyword(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].lit) == n && memcmp(keywords[i].lit, s, n) == 0)
			return keywords[i].tok;
	return TOK_IDENT;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

struct parser {
	struct token *toks;
	size_t ntoks;
	size_t pos;
};

static void parser_free(struct parser *p)
{
	for (size_t i = 0; i < p->ntoks; i++)
		free(p->toks[i].lit);
	free(p->toks);
}

static void push_token(struct parser *p, enum tok t, char *lit)
{
	p->toks = xrealloc(p->toks, (p->ntoks + 1) * sizeof(*p->toks));
	p->toks[p->ntoks++] = (struct token){.tok = t, .lit = lit};
}

static void lex(struct parser *p, const char *s)
{
	size_t i = 0;
	for (;;) {
		while (is_space(s[i]))
			i++;
		if (!s[i]) {
			push_token(p, TOK_END, xstrdup(""));
			return;
		}
		size_t start = i;
		if (is_special(s[i])) {
			/* Longest operator made of special characters. */
			enum tok last = TOK_ERROR;
			size_t last_len = 0;
			while (is_special(s[i])) {
				enum tok t = keyword(s + start, i - start + 1);
				if (t != TOK_IDENT) {
					last = t;
					last_len = i - start + 1;
				} else if (last != TOK_ERROR) {
					break;
				}
				i++;
			}
			if (last == TOK_ERROR) {
				push_token(p, TOK_ERROR,
					   xasprintf("error expected: keyword found '%.*s'",
						     (int)(i - start), s + start));
				continue;
			}
			i = start + last_len;
			push_token(p, last, xstrndup(s + start, last_len));
			continue;
		}
		while (s[i] && !is_special(s[i]) && !is_space(s[i]))
			i++;
		push_token(p, keyword(s + start, i - start), xstrndup(s + start, i - start));
	}
}

/* In a value position "in" and "notin" are plain identifiers. */
static enum tok peek(const struct parser *p, bool values, const char **lit)
{
	const struct token *t = &p->toks[p->pos];
	*lit = t->lit;
	if (values && (t->tok == TOK_IN || t->tok == TOK_NOTIN))
		return TOK_IDENT;
	return t->tok;
}

static enum tok next(struct parser *p, bool values, const char **lit)
{
	enum tok t = peek(p, values, lit);
	if (t != TOK_END)
		p->pos++;
	return t;
}

static void req_clear(struct label_req *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	*r = (struct label_req){0};
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Inserts v keeping the set sorted and unique. */
static void set_add(struct label_req *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return;
	r->values = xrealloc(r->values, (r->nvalues + 1) * sizeof(char *));
	r->values[r->nvalues++] = xstrdup(v);
	qsort(r->values, r->nvalues, sizeof(char *), cmp_str);
}

static bool parse_int64(const char *s, long long *out)
{
	char *end;
	errno = 0;
	if (!*s || is_space(*s))
		return false;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* Go's %#v of a []string, as field.Invalid prints it. */
static char *go_string_slice(const struct label_req *r)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, "[]string{");
	for (size_t i = 0; i < r->nvalues; i++) {
		if (i)
			buf_append_str(&b, ", ");
		buf_printf(&b, "\"%s\"", r->values[i]);
	}
	buf_append_char(&b, '}');
	return buf_steal(&b);
}

/* Upstream's NewRequirement checks, with its field paths ("key", "values[0][k]"). */
static int req_validate(const struct label_req *r, struct mk_err **err)
{
	struct buf msgs = BUF_INIT;
	int count = 0;
	cleanup_free char *kerr = names_check_qualified_name(r->key);
	if (kerr) {
		buf_printf(&msgs, "key: Invalid value: \"%s\": %s", r->key, kerr);
		count++;
	}
	const char *verr = NULL;
	switch (r->op) {
	case OP_IN:
	case OP_NOTIN:
		if (r->nvalues == 0)
			verr = "for 'in', 'notin' operators, values set can't be empty";
		break;
	case OP_EQUALS:
	case OP_DOUBLE_EQUALS:
	case OP_NOT_EQUALS:
		if (r->nvalues != 1)
			verr = "exact-match compatibility requires one single value";
		break;
	case OP_EXISTS:
	case OP_NOT_EXISTS:
		if (r->nvalues != 0)
			verr = "values set must be empty for exists and does not exist";
		break;
	case OP_GT:
	case OP_LT:
		if (r->nvalues != 1)
			verr = "for 'Gt', 'Lt' operators, exactly one value is required";
		break;
	}
	if (verr) {
		cleanup_free char *vals = go_string_slice(r);
		buf_printf(&msgs, "%svalues: Invalid value: %s: %s", count ? ", " : "", vals, verr);
		count++;
	}
	for (size_t i = 0; i < r->nvalues; i++) {
		long long dummy;
		if ((r->op == OP_GT || r->op == OP_LT) && !parse_int64(r->values[i], &dummy)) {
			buf_printf(&msgs,
				   "%svalues[%zu]: Invalid value: \"%s\": for 'Gt', 'Lt' "
				   "operators, the "
				   "value must be an integer",
				   count ? ", " : "", i, r->values[i]);
			count++;
		}
	}
	for (size_t i = 0; i < r->nvalues; i++) {
		cleanup_free char *e = names_check_label_value(r->values[i]);
		if (e) {
			buf_printf(&msgs, "%svalues[%zu][%s]: Invalid value: \"%s\": %s",
				   count ? ", " : "", i, r->key, r->values[i], e);
			count++;
		}
	}
	if (count == 0) {
		buf_free(&msgs);
		return 0;
	}
	/* An aggregate of several errors prints as "[a, b]". */
	int rc = count > 1 ? mk_err_set(err, MK_EINVAL, "[%s]", buf_str(&msgs))
			   : mk_err_set(err, MK_EINVAL, "%s", buf_str(&msgs));
	buf_free(&msgs);
	return rc;
}

static int perr(struct mk_err **err, const char *fmt, const char *lit)
{
	return mk_err_set(err, MK_EINVAL, fmt, lit);
}

static int parse_values(struct parser *p, struct label_req *r, struct mk_err **err)
{
	const char *lit;
	enum tok t = next(p, true, &lit);
	if (t != TOK_OPEN)
		return perr(err, "found '%s' expected: '('", lit);
	t = peek(p, true, &lit);
	const char *first_lit = lit;
	if (t == TOK_CLOSE) {
		next(p, true, &lit);
		set_add(r, "");
		return 0;
	}
	if (t != TOK_IDENT && t != TOK_COMMA)
		return perr(err, "found '%s', expected: ',', ')' or identifier", lit);
	for (;;) {
		t = next(p, true, &lit);
		if (t == TOK_IDENT) {
			set_add(r, lit);
			enum tok t2 = peek(p, true, &lit);
			if (t2 == TOK_COMMA)
				continue;
			if (t2 == TOK_CLOSE)
				break;
			return perr(err, "found '%s', expected: ',' or ')'", lit);
		} else if (t == TOK_COMMA) {
			if (r->nvalues == 0)
				set_add(r, "");
			enum tok t2 = peek(p, true, &lit);
			if (t2 == TOK_CLOSE) {
				set_add(r, "");
				break;
			}
			if (t2 == TOK_COMMA) {
				next(p, true, &lit);
				set_add(r, "");
			}
		} else {
			return perr(err, "found '%s', expected: ',', or identifier", lit);
		}
	}
	t = next(p, true, &lit);
	if (t != TOK_CLOSE)
		return perr(err, "found '%s', expected: ')'", first_lit);
	return 0;
}

static int parse_requirement(struct parser *p, struct label_req *r, struct mk_err **err)
{
	const char *lit;
	bool not_exists = false;
	enum tok t = next(p, true, &lit);
	if (t == TOK_NOT) {
		not_exists = true;
		t = next(p, true, &lit);
	}
	if (t != TOK_IDENT)
		return perr(err, "found '%s', expected: identifier", lit);
	cleanup_free char *kerr = names_check_qualified_name(lit);
	if (kerr)
		return mk_err_set(err, MK_EINVAL, "<nil>: Invalid value: \"%s\": %s", lit, kerr);
	r->key = xstrdup(lit);
	const char *la;
	t = peek(p, true, &la);
	if (not_exists || t == TOK_END || t == TOK_COMMA) {
		/* "!k" followed by an operator is an error upstream too: the
		 * operator token is then rejected by the caller. */
		r->op = not_exists ? OP_NOT_EXISTS : OP_EXISTS;
		return req_validate(r, err);
	}
	t = next(p, false, &lit);
	switch (t) {
	case TOK_IN:
		r->op = OP_IN;
		break;
	case TOK_NOTIN:
		r->op = OP_NOTIN;
		break;
	case TOK_EQUALS:
		r->op = OP_EQUALS;
		break;
	case TOK_DOUBLE_EQUALS:
		r->op = OP_DOUBLE_EQUALS;
		break;
	case TOK_NOT_EQUALS:
		r->op = OP_NOT_EQUALS;
		break;
	case TOK_GT:
		r->op = OP_GT;
		break;
	case TOK_LT:
		r->op = OP_LT;
		break;
	default:
		return perr(err, "found '%s', expected: '=', '!=', '==', 'in', notin'", lit);
	}
	if (r->op == OP_IN || r->op == OP_NOTIN) {
		if (parse_values(p, r, err) < 0)
			return -1;
	} else {
		t = peek(p, true, &lit);
		if (t == TOK_END || t == TOK_COMMA) {
			set_add(r, "");
		} else {
			t = next(p, true, &lit);
			if (t != TOK_IDENT)
				return perr(err, "found '%s', expected: identifier", lit);
			set_add(r, lit);
		}
	}
	return req_validate(r, err);
}

static void sel_add(struct label_selector *sel, struct label_req *r)
{
	sel->reqs = xrealloc(sel->reqs, (sel->n + 1) * sizeof(*sel->reqs));
	sel->reqs[sel->n++] = *r;
	*r = (struct label_req){0};
}

/* Stable insertion sort by key (Go's sort.Sort is not stable, but keys rarely
 * repeat and a stable order is the least surprising). */
static void sel_sort(struct label_selector *sel)
{
	for (size_t i = 1; i < sel->n; i++) {
		struct label_req cur = sel->reqs[i];
		size_t j = i;
		while (j > 0 && strcmp(sel->reqs[j - 1].key, cur.key) > 0) {
			sel->reqs[j] = sel->reqs[j - 1];
			j--;
		}
		sel->reqs[j] = cur;
	}
}

void labels_selector_free(struct label_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		req_clear(&sel->reqs[i]);
	free(sel->reqs);
	free(sel);
}

static int parse_all(struct parser *p, struct label_selector *sel, struct mk_err **err)
{
	const char *lit;
	for (;;) {
		enum tok t = peek(p, true, &lit);
		if (t == TOK_END)
			return 0;
		if (t != TOK_IDENT && t != TOK_NOT)
			return perr(err, "found '%s', expected: !, identifier, or 'end of string'",
				    lit);
		struct label_req r = {0};
		if (parse_requirement(p, &r, err) < 0) {
			req_clear(&r);
			return mk_err_wrap(err, "unable to parse requirement");
		}
		sel_add(sel, &r);
		t = next(p, true, &lit);
		if (t == TOK_END)
			return 0;
		if (t != TOK_COMMA)
			return perr(err, "found '%s', expected: ',' or 'end of string'", lit);
		t = peek(p, true, &lit);
		if (t != TOK_IDENT && t != TOK_NOT)
			return perr(err, "found '%s', expected: identifier after ','", lit);
	}
}

struct label_selector *labels_selector_parse(const char *s, struct mk_err **err)
{
	struct label_selector *sel = xcalloc(1, sizeof(*sel));
	if (!s)
		return sel;
	struct parser p = {0};
	lex(&p, s);
	int rc = parse_all(&p, sel, err);
	parser_free(&p);
	if (rc < 0) {
		labels_selector_free(sel);
		return NULL;
	}
	sel_sort(sel);
	return sel;
}

struct label_selector *labels_selector_from_json(const json_t *js, struct mk_err **err)
{
	struct label_selector *sel = xcalloc(1, sizeof(*sel));
	if (!js || json_is_null(js)) {
		sel->nothing = true;
		return sel;
	}
	if (!json_is_object(js)) {
		labels_selector_free(sel);
		mk_err_set(err, MK_EINVAL, "label selector must be an object");
		return NULL;
	}
	const json_t *ml = json_object_get(js, "matchLabels");
	const json_t *me = json_object_get(js, "matchExpressions");
	if ((ml && !json_is_object(ml) && !json_is_null(ml)) ||
	    (me && !json_is_array(me) && !json_is_null(me))) {
		labels_selector_free(sel);
		mk_err_set(err, MK_EINVAL,
			   "label selector: matchLabels must be an object and "
			   "matchExpressions an array");
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ml, k, v)
	{
		struct label_req r = {.key = xstrdup(k), .op = OP_EQUALS};
		if (!json_is_string(v)) {
			req_clear(&r);
			labels_selector_free(sel);
			mk_err_set(err, MK_EINVAL, "matchLabels[%s] must be a string", k);
			return NULL;
		}
		set_add(&r, json_string_value(v));
		if (req_validate(&r, err) < 0) {
			req_clear(&r);
			labels_selector_free(sel);
			return NULL;
		}
		sel_add(sel, &r);
	}
	size_t i;
	json_array_foreach(me, i, v)
	{
		const char *key = json_string_value(json_object_get(v, "key"));
		const char *op = json_string_value(json_object_get(v, "operator"));
		const json_t *vals = json_object_get(v, "values");
		struct label_req r = {.key = xstrdup(key ? key : "")};
		if (op && strcmp(op, "In") == 0) {
			r.op = OP_IN;
		} else if (op && strcmp(op, "NotIn") == 0) {
			r.op = OP_NOTIN;
		} else if (op && strcmp(op, "Exists") == 0) {
			r.op = OP_EXISTS;
		} else if (op && strcmp(op, "DoesNotExist") == 0) {
			r.op = OP_NOT_EXISTS;
		} else {
			req_clear(&r);
			labels_selector_free(sel);
			mk_err_set(err, MK_EINVAL, "\"%s\" is not a valid label selector operator",
				   op ? op : "");
			return NULL;
		}
		size_t j;
		json_t *val;
		json_array_foreach(vals, j, val)
		{
			if (!json_is_string(val)) {
				req_clear(&r);
				labels_selector_free(sel);
				mk_err_set(err, MK_EINVAL,
					   "matchExpressions values must be strings");
				return NULL;
			}
			set_add(&r, json_string_value(val));
		}
		if (req_validate(&r, err) < 0) {
			req_clear(&r);
			labels_selector_free(sel);
			return NULL;
		}
		sel_add(sel, &r);
	}
	sel_sort(sel);
	return sel;
}

static bool req_has(const struct label_req *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

static bool req_matches(const struct label_req *r, const json_t *labels)
{
	const json_t *jv = labels ? json_object_get(labels, r->key) : NULL;
	const char *v = json_string_value(jv);
	bool has = jv != NULL;
	long long lv, rv;
	switch (r->op) {
	case OP_IN:
	case OP_EQUALS:
	case OP_DOUBLE_EQUALS:
		return has && v && req_has(r, v);
	case OP_NOTIN:
	case OP_NOT_EQUALS:
		return !has || !v || !req_has(r, v);
	case OP_EXISTS:
		return has;
	case OP_NOT_EXISTS:
		return !has;
	case OP_GT:
	case OP_LT:
		if (!v || r->nvalues != 1 || !parse_int64(v, &lv) ||
		    !parse_int64(r->values[0], &rv))
			return false;
		return r->op == OP_GT ? lv > rv : lv < rv;
	}
	return false;
}

bool labels_selector_matches(const struct label_selector *sel, const json_t *labels)
{
	if (!sel || sel->nothing)
		return false;
	if (labels && !json_is_object(labels))
		labels = NULL;
	for (size_t i = 0; i < sel->n; i++)
		if (!req_matches(&sel->reqs[i], labels))
			return false;
	return true;
}

bool labels_selector_empty(const struct label_selector *sel)
{
	return sel && !sel->nothing && sel->n == 0;
}

static void req_format(struct buf *b, const struct label_req *r)
{
	static const char *const ops[] = {
		[OP_IN] = " in ",	[OP_NOTIN] = " notin ",
		[OP_EQUALS] = "=",	[OP_DOUBLE_EQUALS] = "==",
		[OP_NOT_EQUALS] = "!=", [OP_GT] = ">",
		[OP_LT] = "<",
	};
	if (r->op == OP_NOT_EXISTS)
		buf_append_char(b, '!');
	buf_append_str(b, r->key);
	if (r->op == OP_EXISTS || r->op == OP_NOT_EXISTS)
		return;
	buf_append_str(b, ops[r->op]);
	bool set = r->op == OP_IN || r->op == OP_NOTIN;
	if (set)
		buf_append_char(b, '(');
	for (size_t i = 0; i < r->nvalues; i++) {
		if (i)
			buf_append_char(b, ',');
		buf_append_str(b, r->values[i]);
	}
	if (set)
		buf_append_char(b, ')');
}

char *labels_selector_format(const struct label_selector *sel)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; sel && i < sel->n; i++) {
		if (i)
			buf_append_char(&b, ',');
		req_format(&b, &sel->reqs[i]);
	}
	return buf_steal(&b);
}

static bool looks_like_selector(const json_t *j)
{
	const json_t *ml = json_object_get(j, "matchLabels");
	const json_t *me = json_object_get(j, "matchExpressions");
	return (ml && !json_is_string(ml)) || (me && !json_is_string(me));
}

char *labels_selector_string(const json_t *j)
{
	if (!j || !json_is_object(j))
		return xstrdup("");
	struct label_selector *sel;
	if (looks_like_selector(j)) {
		sel = labels_selector_from_json(j, NULL);
		if (!sel)
			return xstrdup("");
	} else {
		/* A plain matchLabels map: no validation, like SelectorFromSet. */
		sel = xcalloc(1, sizeof(*sel));
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)j, k, v)
		{
			if (!json_is_string(v))
				continue;
			struct label_req r = {.key = xstrdup(k), .op = OP_EQUALS};
			set_add(&r, json_string_value(v));
			sel_add(sel, &r);
		}
		sel_sort(sel);
	}
	char *s = labels_selector_format(sel);
	labels_selector_free(sel);
	return s;
}
