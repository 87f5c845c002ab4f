#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static int err_vset(struct mk_err **err, int code, int errnum, const char *fmt, va_list ap)
{
	if (!err || *err)
		return -1;
	struct mk_err *e = xcalloc(1, sizeof(*e));
	e->code = code;
	e->errnum = errnum;
	char *msg = xvasprintf(fmt, ap);
	if (errnum) {
		e->msg = xasprintf("%s: %s", msg, strerror(errnum));
		free(msg);
	} else {
		e->msg = msg;
	}
	*err = e;
	return -1;
}

int mk_err_set(struct mk_err **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int mk_err_errno(struct mk_err **err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int mk_err_wrap(struct mk_err **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = xvasprintf(fmt, ap);
	va_end(ap);
	char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return -1;
}

void mk_err_free(struct mk_err *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}

int mk_err_code(const struct mk_err *e)
{
	return e ? e->code : 0;
}

const char *mk_err_msg(const struct mk_err *e)
{
	return e && e->msg ? e->msg : "";
}
