/* Scope-bound cleanup: `cleanup_free char *s = xstrdup(x);` frees s on every
 * path. Ownership leaves a scope by stealing: `*out = s; s = NULL;`. */
#ifndef MK_CLEANUP_H
#define MK_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>

#include "err.h"

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cleanup_jsonp(json_t **j)
{
	json_decref(*j);
}

static inline void cleanup_errp(struct mk_err **e)
{
	mk_err_free(*e);
}

/* A NULL-terminated array of strings, each and the array malloc'd. */
static inline void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static inline void cleanup_strvp(char ***v)
{
	strv_free(*v);
}

#define cleanup_free   __attribute__((cleanup(cleanup_freep)))
#define cleanup_close  __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_json   __attribute__((cleanup(cleanup_jsonp)))
#define cleanup_err    __attribute__((cleanup(cleanup_errp)))
#define cleanup_strv   __attribute__((cleanup(cleanup_strvp)))

/* Returns *pp and sets it to NULL: hands ownership to the caller. */
#define steal_pointer(pp)                                                                          \
	({                                                                                         \
		__typeof__(*(pp)) _tmp = *(pp);                                                    \
		*(pp) = NULL;                                                                      \
		_tmp;                                                                              \
	})

#endif
