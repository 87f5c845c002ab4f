/* Allocation that aborts on failure: callers never check for NULL. */
#ifndef MK_XALLOC_H
#define MK_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* All return new memory, freed with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
