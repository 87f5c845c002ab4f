/* The ring of recent store events (see the header). */
#include "apiserver/evring.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void evring_init(struct evring *r, size_t max_events, size_t max_bytes)
{
	*r = (struct evring){.cap = max_events, .max_bytes = max_bytes};
	if (max_events)
		r->ev = xcalloc(max_events, sizeof(*r->ev));
}

static void drop_oldest(struct evring *r)
{
	struct evring_ev *e = &r->ev[r->head];
	r->dropped_rev = e->rev;
	r->bytes -= e->bytes;
	free(e->key);
	memset(e, 0, sizeof(*e));
	r->head = (r->head + 1) % r->cap;
	r->n--;
}

void evring_clear(struct evring *r)
{
	while (r->n > 0)
		drop_oldest(r);
}

void evring_free(struct evring *r)
{
	evring_clear(r);
	free(r->ev);
	r->ev = NULL;
	r->cap = 0;
}

bool evring_push(struct evring *r, const struct store_event *ev)
{
	if (!r->cap)
		return false;
	size_t kl = strlen(ev->key) + 1, vl = strlen(ev->value) + 1;
	size_t pl = ev->prev_value && ev->type == STORE_EVENT_PUT ? strlen(ev->prev_value) + 1 : 0;
	size_t bytes = kl + vl + pl + sizeof(struct evring_ev);
	while (r->n > 0 && (r->n == r->cap || r->bytes + bytes > r->max_bytes))
		drop_oldest(r);
	if (bytes > r->max_bytes)
		return false;
	char *mem = xmalloc(kl + vl + pl);
	struct evring_ev *e = &r->ev[(r->head + r->n) % r->cap];
	e->type = ev->type;
	e->rev = ev->rev;
	e->create_rev = ev->create_rev;
	e->key = memcpy(mem, ev->key, kl);
	e->value = memcpy(mem + kl, ev->value, vl);
	if (ev->type == STORE_EVENT_DELETE)
		e->prev_value = e->value;
	else
		e->prev_value = pl ? memcpy(mem + kl + vl, ev->prev_value, pl) : NULL;
	e->bytes = bytes;
	r->bytes += bytes;
	r->n++;
	return true;
}

const struct evring_ev *evring_nth(const struct evring *r, size_t i)
{
	return &r->ev[(r->head + i) % r->cap];
}

void evring_event(const struct evring_ev *e, struct store_event *ev)
{
	*ev = (struct store_event){
		.type = e->type,
		.rev = e->rev,
		.key = e->key,
		.value = e->value,
		.prev_value = e->prev_value,
		.create_rev = e->create_rev,
	};
}

void evring_resize(struct evring *r, size_t max_events, size_t max_bytes)
{
	if (max_events == 0)
		max_events = 1;
	while (r->n > max_events)
		drop_oldest(r);
	struct evring_ev *ev = xcalloc(max_events, sizeof(*ev));
	for (size_t i = 0; i < r->n; i++)
		ev[i] = r->ev[(r->head + i) % r->cap];
	free(r->ev);
	r->ev = ev;
	r->cap = max_events;
	r->head = 0;
	r->max_bytes = max_bytes;
	while (r->n > 0 && r->bytes > r->max_bytes)
		drop_oldest(r);
}
