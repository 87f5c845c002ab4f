/* A map of strings to strings for large, long-lived tables: each entry is one
 * allocation ("key\0value\0") plus one pointer in an open-addressing table,
 * a fraction of the hundred-odd bytes a jansson object member costs. Not
 * thread-safe. A zeroed struct strmap is an empty map. */
#ifndef MK_STRMAP_H
#define MK_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap {
	char **slots; /* entries, NULL = free; linear probing */
	size_t cap;   /* 0 or a power of two */
	size_t n;
};

#define STRMAP_INIT {NULL, 0, 0}

/* Frees every entry and the table; m is empty afterwards. */
void strmap_free(struct strmap *m);

/* The value of key, or NULL. Valid until key is set or deleted. */
const char *strmap_get(const struct strmap *m, const char *key);

/* Sets key to value (both copied). */
void strmap_set(struct strmap *m, const char *key, const char *value);

/* Removes key; returns whether it was there. */
bool strmap_del(struct strmap *m, const char *key);

static inline size_t strmap_size(const struct strmap *m)
{
	return m->n;
}

/* Copies every entry into a new allocation and frees the old one. Called on
 * one thread, after others (with their own malloc arenas) made the entries,
 * it gathers a long-lived table in that thread's arena so that the others'
 * freed pages can go back to the system. */
void strmap_compact(struct strmap *m);

/* Iterates: *it starts at 0; returns the next key and its value in *value,
 * or NULL at the end. Setting or deleting keys ends the iteration. */
const char *strmap_next(const struct strmap *m, size_t *it, const char **value);

#endif
