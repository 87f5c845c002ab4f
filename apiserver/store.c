/* Backend-independent parts of the storage interface (store.h). */
#include "apiserver/store.h"

#include <stdlib.h>
#include <string.h>

void store_watch_stop(struct store *st, struct store_watch *w)
{
	if (!st || !w)
		return;
	st->ops->watch_stop(w);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->ops->close(st);
}

void store_kv_free(struct store_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void store_list_free(struct store_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		store_kv_free(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
