/* Error values passed up with context, turned into output only at a boundary. */
#ifndef MK_ERR_H
#define MK_ERR_H

#include <stdarg.h>

/* Error classes shared by every module; boundaries map them to HTTP codes,
 * CNI codes or exit statuses. */
enum mk_err_code {
	MK_EINTERNAL = 1, /* unexpected failure (500) */
	MK_EINVAL,        /* malformed input (400) */
	MK_ENOTFOUND,     /* object or file missing (404) */
	MK_EEXISTS,       /* already exists (409 AlreadyExists) */
	MK_ECONFLICT,     /* resourceVersion or precondition mismatch (409 Conflict) */
	MK_EEXPIRED,      /* revision compacted (410) */
	MK_EINVALID,      /* semantically invalid object (422) */
	MK_ETOOLARGE,     /* body or request too large (413) */
	MK_EUNSUPPORTED,  /* unsupported media type or operation (415/405) */
	MK_EIO,           /* system call, network or library failure */
	MK_ETIMEOUT,      /* deadline passed */
	MK_EUNAVAILABLE,  /* peer unreachable, retry later (503) */
	MK_EUNAUTHORIZED, /* credentials missing or refused (401/403) */
	MK_EBACKEND,      /* a backend's own refusal, passed on in its words (500) */
};

struct mk_err {
	int code;   /* enum mk_err_code */
	int errnum; /* errno at the failure, 0 if none */
	char *msg;  /* "context: context: cause" */
	int domain_code; /* the error's code in its own protocol (a CNI error code), 0 if none */
};

/* Sets *err (if err is non-NULL and *err is NULL) to a new error and returns -1,
 * so callers write `return mk_err_set(err, MK_EINVAL, "bad %s", x);`.
 * An existing *err is kept: the first cause wins. */
int mk_err_set(struct mk_err **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As mk_err_set, appending ": strerror(errnum)" and recording errnum. */
int mk_err_errno(struct mk_err **err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefixes the message of *err with "context: "; returns -1. No-op without *err. */
int mk_err_wrap(struct mk_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees an error; accepts NULL. */
void mk_err_free(struct mk_err *e);

/* Code of *err or 0; message or "" (borrowed from the error). */
int mk_err_code(const struct mk_err *e);
const char *mk_err_msg(const struct mk_err *e);

#endif
