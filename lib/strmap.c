/* String map: open addressing, linear probing, deletion by backward shift
 * (no tombstones), kept at most 70 % full. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xalloc.h"

static uint64_t hash(const char *s)
{
	/* FNV-1a */
	uint64_t h = 14695981039346656037ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The slot holding key, or the free slot where it would go. */
static size_t find(const struct strmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)hash(key) & mask;
	while (m->slots[i] && strcmp(m->slots[i], key))
		i = (i + 1) & mask;
	return i;
}

static void grow(struct strmap *m)
{
	size_t old_cap = m->cap;
	char **old = m->slots;
	m->cap = old_cap ? old_cap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			m->slots[find(m, old[i])] = old[i];
	free(old);
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i]);
	free(m->slots);
	*m = (struct strmap)STRMAP_INIT;
}

const char *strmap_get(const struct strmap *m, const char *key)
{
	if (!m->n)
		return NULL;
	char *e = m->slots[find(m, key)];
	return e ? e + strlen(e) + 1 : NULL;
}

void strmap_set(struct strmap *m, const char *key, const char *value)
{
	if ((m->n + 1) * 10 > m->cap * 7)
		grow(m);
	size_t i = find(m, key);
	size_t kl = strlen(key), vl = strlen(value);
	if (m->slots[i]) {
		char *old_value = m->slots[i] + kl + 1;
		if (!strcmp(old_value, value))
			return;
	} else {
		m->n++;
	}
	char *e = xrealloc(m->slots[i], kl + vl + 2);
	memcpy(e, key, kl + 1);
	memcpy(e + kl + 1, value, vl + 1);
	m->slots[i] = e;
}

bool strmap_del(struct strmap *m, const char *key)
{
	if (!m->n)
		return false;
	size_t mask = m->cap - 1;
	size_t i = find(m, key);
	if (!m->slots[i])
		return false;
	free(m->slots[i]);
	m->slots[i] = NULL;
	m->n--;
	/* close the gap: move back every later entry of the run that may not
	 * stay behind the free slot */
	for (size_t j = (i + 1) & mask; m->slots[j]; j = (j + 1) & mask) {
		size_t home = (size_t)hash(m->slots[j]) & mask;
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j] = NULL;
		i = j;
	}
	return true;
}

void strmap_compact(struct strmap *m)
{
	/* all copies before any free: a freed entry would be handed straight
	 * back by this thread's cache of free chunks */
	char **slots = xcalloc(m->cap ? m->cap : 1, sizeof(*slots));
	for (size_t i = 0; i < m->cap; i++) {
		char *e = m->slots[i];
		if (!e)
			continue;
		size_t kl = strlen(e);
		size_t len = kl + strlen(e + kl + 1) + 2;
		slots[i] = xmalloc(len);
		memcpy(slots[i], e, len);
	}
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i]);
	free(m->slots);
	m->slots = m->cap ? slots : (free(slots), NULL);
}

const char *strmap_next(const struct strmap *m, size_t *it, const char **value)
{
	for (; *it < m->cap; (*it)++) {
		char *e = m->slots[*it];
		if (e) {
			(*it)++;
			if (value)
				*value = e + strlen(e) + 1;
			return e;
		}
	}
	return NULL;
}
