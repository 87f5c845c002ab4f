#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

int flags_parse_duration(const char *s, int64_t *ms, struct mk_err **err)
{
	const char *p = s;
	double total = 0;
	bool any = false;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	while (*p) {
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (end == p || errno || v < 0)
			return mk_err_set(err, MK_EINVAL, "time: invalid duration \"%s\"", s);
		p = end;
		double unit;
		if (!strncmp(p, "ms", 2)) {
			unit = 1;
			p += 2;
		} else if (!strncmp(p, "us", 2) || !strncmp(p, "µs", 3)) {
			unit = 0.001;
			p += p[0] == 'u' ? 2 : 3;
		} else if (!strncmp(p, "ns", 2)) {
			unit = 0.000001;
			p += 2;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else {
			return mk_err_set(err, MK_EINVAL, "time: missing unit in duration \"%s\"", s);
		}
		total += v * unit;
		any = true;
	}
	if (!any)
		return mk_err_set(err, MK_EINVAL, "time: invalid duration \"%s\"", s);
	*ms = (int64_t)(total + 0.5);
	return 0;
}

static struct flag *find(struct flag *table, const char *name, size_t len)
{
	for (struct flag *f = table; f->name; f++)
		if (strlen(f->name) == len && !strncmp(f->name, name, len))
			return f;
	return NULL;
}

static int set_value(struct flag *f, const char *value, struct mk_err **err)
{
	char *end;
	switch (f->type) {
	case FLAG_STRING:
		if (f->seen)
			free(*(char **)f->target);
		*(char **)f->target = xstrdup(value);
		break;
	case FLAG_INT: {
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end)
			return mk_err_set(err, MK_EINVAL, "invalid argument \"%s\" for \"--%s\"",
					  value, f->name);
		*(int64_t *)f->target = v;
		break;
	}
	case FLAG_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "t"))
			*(bool *)f->target = true;
		else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "f"))
			*(bool *)f->target = false;
		else
			return mk_err_set(err, MK_EINVAL, "invalid argument \"%s\" for \"--%s\"",
					  value, f->name);
		break;
	case FLAG_DURATION:
		if (flags_parse_duration(value, (int64_t *)f->target, NULL) < 0)
			return mk_err_set(err, MK_EINVAL, "invalid argument \"%s\" for \"--%s\"",
					  value, f->name);
		break;
	}
	f->seen = true;
	return 0;
}

int flags_parse(struct flag *table, int argc, char **argv, struct mk_err **err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "-help"))
			return 1;
		if (a[0] != '-' || !a[1])
			return mk_err_set(err, MK_EINVAL, "unexpected argument: %s", a);
		const char *name = a + (a[1] == '-' ? 2 : 1);
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		if (len == 7 && !strncmp(name, "version", 7) && !find(table, name, len)) {
			if (!eq || !strcmp(eq + 1, "true") || !strcmp(eq + 1, "raw"))
				return FLAGS_VERSION;
			if (!strcmp(eq + 1, "false"))
				continue;
			return mk_err_set(err, MK_EINVAL, "invalid argument \"%s\" for \"--version\"",
					  eq + 1);
		}
		struct flag *f = find(table, name, len);
		if (!f)
			return mk_err_set(err, MK_EINVAL, "unknown flag: --%.*s", (int)len, name);
		const char *value = eq ? eq + 1 : NULL;
		if (!value && f->type == FLAG_BOOL)
			value = "true";
		if (!value) {
			if (i + 1 >= argc)
				return mk_err_set(err, MK_EINVAL, "flag needs an argument: --%s",
						  f->name);
			value = argv[++i];
		}
		if (set_value(f, value, err) < 0)
			return -1;
	}
	return 0;
}

char *flags_usage(const char *prog, const char *summary, const struct flag *table)
{
	static const char *type_names[] = {"string", "int", "", "duration"};
	struct buf b = BUF_INIT;
	buf_printf(&b, "Usage:\n  %s [flags]\n\n%s\n\nFlags:\n", prog, summary);
	for (const struct flag *f = table; f->name; f++) {
		int n = (int)strlen(f->name) + (int)strlen(type_names[f->type]) + 1;
		buf_printf(&b, "      --%s %s%*s%s\n", f->name, type_names[f->type],
			   n < 40 ? 40 - n : 1, "", f->help ? f->help : "");
	}
	buf_printf(&b, "  -h, --help%36shelp for %s\n", "", prog);
	buf_printf(&b, "      --version %*sprint version information and quit\n", 40 - 8, "");
	return buf_steal(&b);
}
