/* Backend-independent parts of the storage interface (store.h). */
#include "apiserver/store.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

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

int store_read_batch(struct store *st, struct store_read *reads, size_t n, struct mk_err **err)
{
	for (size_t i = 0; i < n; i++)
		memset(&reads[i].out, 0, sizeof(reads[i].out));
	if (st->ops->read_batch)
		return st->ops->read_batch(st, reads, n, err);
	for (size_t i = 0; i < n; i++) {
		struct store_read *r = &reads[i];
		if (r->prefix) {
			if (st->ops->list(st, r->key, NULL, 0, 0, &r->out, err) == 0)
				continue;
		} else {
			struct store_kv kv = {0};
			struct mk_err *e = NULL;
			if (st->ops->get(st, r->key, &kv, &e) == 0) {
				r->out.items = xmalloc(sizeof(kv));
				r->out.items[0] = kv;
				r->out.n = 1;
				continue;
			}
			if (mk_err_code(e) == MK_ENOTFOUND) {
				mk_err_free(e);
				continue;
			}
			if (err && !*err)
				*err = e;
			else
				mk_err_free(e);
		}
		for (size_t j = 0; j < i; j++)
			store_list_free(&reads[j].out);
		return -1;
	}
	return 0;
}
