/* A legacy xtables table edited as the kernel's blob (see the header). */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "iptblob.h"
#include "xalloc.h"

static const char *const hook_names[NF_INET_NUMHOOKS] = {"PREROUTING", "INPUT", "FORWARD",
							"OUTPUT", "POSTROUTING"};

/* A user chain's head: an ERROR target holding its name; the table ends
 * with one named "ERROR". */
struct error_entry {
	struct ipt_entry e;
	struct xt_error_target t;
};

/* A standard target: a verdict, or the offset of a chain's first rule. */
struct std_entry {
	struct ipt_entry e;
	struct xt_standard_target t;
};

#define HEAD_SIZE XT_ALIGN(sizeof(struct error_entry))
#define FOOT_SIZE XT_ALIGN(sizeof(struct std_entry))

struct chain {
	char *name;
	int hook; /* NF_INET_*, or -1 for a user chain */
	bool deleted;
	/* the rules read that stay: [kept_off, kept_off + kept_len) of the
	 * kept bytes, kept_n entries, the first at old_idx in the old table;
	 * old_first: offset of the first rule in the old blob (what jumps to
	 * the chain said), SIZE_MAX for a new chain */
	size_t kept_off, kept_len, kept_n, old_first, old_idx;
	size_t old_rules_off; /* offset of the kept rules in the old blob */
	/* a built-in chain's policy entry, copied; its old index */
	struct std_entry *policy;
	size_t policy_idx;
	/* entries inserted at the top (built-in chains), newest first */
	uint8_t *top;
	size_t top_len, top_n;
	/* new rules: their size and number (pass one), the next place to
	 * write one (pass two) */
	size_t new_len, new_n, cursor;
	/* in the new blob */
	size_t start, first, end;
	size_t refs; /* jumps to it from rules that stay or come */
};

struct iptb {
	char name[XT_TABLE_MAXNAMELEN];
	unsigned valid_hooks;
	int sock;
	/* the blob read (NULL once what is kept was copied out), its size
	 * and number of entries */
	struct ipt_get_entries *old;
	void *old_buf; /* old lies in it, its entries where a replace's go */
	size_t old_size, old_n;
	const uint8_t *kept; /* bytes the chains' kept ranges index */
	uint8_t *kept_copy;  /* owned, when kept is a copy */
	struct chain *chains;
	size_t n_chains, cap_chains;
	size_t n_user_read;  /* the first user chains are those read */
	size_t *user_read;   /* their indexes, in order */
	/* chain name -> index + 1, open addressing */
	uint32_t *slots;
	size_t cap_slots;
	/* (old_first, chain) sorted by old_first: jumps of the rules read */
	struct old_ref {
		size_t off, chain;
	} *by_old;
	size_t n_by_old;
	/* the new table */
	struct ipt_replace *repl;
	size_t new_size, new_n;
	uint32_t *counter_map; /* new entry -> old index + 1, 0 none */
};

/* ---- chain names ---- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void slots_put(struct iptb *t, size_t idx);

static void slots_grow(struct iptb *t)
{
	free(t->slots);
	t->cap_slots = t->cap_slots ? t->cap_slots * 2 : 1024;
	t->slots = xcalloc(t->cap_slots, sizeof(*t->slots));
	for (size_t i = 0; i < t->n_chains; i++)
		slots_put(t, i);
}

static void slots_put(struct iptb *t, size_t idx)
{
	size_t mask = t->cap_slots - 1;
	for (size_t s = name_hash(t->chains[idx].name) & mask;; s = (s + 1) & mask) {
		if (!t->slots[s]) {
			t->slots[s] = (uint32_t)idx + 1;
			return;
		}
	}
}

static struct chain *find(const struct iptb *t, const char *name)
{
	if (!t->cap_slots)
		return NULL;
	size_t mask = t->cap_slots - 1;
	for (size_t s = name_hash(name) & mask; t->slots[s]; s = (s + 1) & mask) {
		struct chain *c = &t->chains[t->slots[s] - 1];
		if (!strcmp(c->name, name))
			return c->deleted ? NULL : c;
	}
	return NULL;
}

static struct chain *add_chain(struct iptb *t, const char *name, int hook)
{
	if (t->n_chains == t->cap_chains) {
		t->cap_chains = t->cap_chains ? t->cap_chains * 2 : 64;
		t->chains = xrealloc(t->chains, t->cap_chains * sizeof(*t->chains));
	}
	struct chain *c = &t->chains[t->n_chains++];
	*c = (struct chain){.name = xstrdup(name), .hook = hook, .old_first = SIZE_MAX};
	if (t->n_chains * 2 > t->cap_slots)
		slots_grow(t);
	else
		slots_put(t, t->n_chains - 1);
	return c;
}

/* ---- reading ---- */

static const struct ipt_entry *entry_at(const struct iptb *t, size_t off)
{
	return (const struct ipt_entry *)((const uint8_t *)t->old->entrytable + off);
}

static const struct xt_entry_target *target_of(const struct ipt_entry *e)
{
	return (const struct xt_entry_target *)((const uint8_t *)e + e->target_offset);
}

static bool is_error(const struct ipt_entry *e)
{
	return !strcmp(target_of(e)->u.user.name, XT_ERROR_TARGET);
}

/* The verdict of a standard target, or INT32_MIN for any other target. */
static int std_verdict(const struct ipt_entry *e)
{
	const struct xt_entry_target *tg = target_of(e);
	if (strcmp(tg->u.user.name, XT_STANDARD_TARGET))
		return INT32_MIN;
	return ((const struct xt_standard_target *)tg)->verdict;
}

static int cmp_old_ref(const void *a, const void *b)
{
	const struct old_ref *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static struct chain *chain_by_old(const struct iptb *t, size_t off)
{
	struct old_ref key = {.off = off};
	const struct old_ref *r =
		bsearch(&key, t->by_old, t->n_by_old, sizeof(key), cmp_old_ref);
	return r ? &t->chains[r->chain] : NULL;
}

/* Splits the blob read into chains. */
static int parse(struct iptb *t, const struct ipt_getinfo *info, struct mk_err **err)
{
	struct chain *cur = NULL;
	size_t idx = 0, last_size = 0;
	t->by_old = xmalloc(sizeof(*t->by_old) * 16);
	size_t cap_by_old = 16;
	for (size_t off = 0; off < t->old_size; idx++) {
		const struct ipt_entry *e = entry_at(t, off);
		if (e->next_offset < sizeof(*e) || off + e->next_offset > t->old_size)
			return mk_err_set(err, MK_EIO, "table %s: bad entry at %zu", t->name, off);
		int hook = -1;
		for (int h = 0; h < NF_INET_NUMHOOKS; h++)
			if ((t->valid_hooks & (1u << h)) && info->hook_entry[h] == off)
				hook = h;
		if (hook >= 0) {
			if (cur && cur->hook < 0 && cur->kept_n) {
				/* a user chain before it ends with its RETURN foot */
				cur->kept_n--;
				cur->kept_len = off - last_size - cur->old_rules_off;
			}
			cur = add_chain(t, hook_names[hook], hook);
			cur->old_rules_off = off;
			cur->old_idx = idx;
			cur->old_first = off;
		}
		if (is_error(e)) {
			const char *name = ((const struct xt_error_target *)target_of(e))->errorname;
			if (cur && cur->hook < 0 && cur->kept_n) {
				/* the previous user chain ends with its RETURN foot */
				cur->kept_n--;
				cur->kept_len = off - last_size - cur->old_rules_off;
			}
			cur = NULL;
			if (off + e->next_offset >= t->old_size)
				break; /* the table's end */
			cur = add_chain(t, name, -1);
			cur->old_rules_off = off + e->next_offset;
			cur->old_first = cur->old_rules_off;
			cur->old_idx = idx + 1;
			last_size = e->next_offset;
			off += e->next_offset;
			continue;
		}
		if (!cur)
			return mk_err_set(err, MK_EIO, "table %s: entry at %zu outside a chain", t->name,
					  off);
		if (cur->hook >= 0 && info->underflow[cur->hook] == off) {
			cur->policy = xmalloc(e->next_offset);
			memcpy(cur->policy, e, e->next_offset);
			cur->policy_idx = idx;
			cur->kept_len = off - cur->old_rules_off;
			cur = NULL;
		} else {
			cur->kept_n++;
		}
		last_size = e->next_offset;
		off += e->next_offset;
	}
	/* the loop left at the table's end entry */
	t->old_n = idx + 1;
	if (t->old_n != info->num_entries)
		return mk_err_set(err, MK_EIO, "table %s: %zu entries read, %u announced", t->name,
				  t->old_n, info->num_entries);
	t->user_read = xmalloc((t->n_chains + 1) * sizeof(*t->user_read));
	for (size_t i = 0; i < t->n_chains; i++) {
		struct chain *c = &t->chains[i];
		c->kept_off = c->old_rules_off;
		if (c->hook < 0)
			t->user_read[t->n_user_read++] = i;
		if (t->n_by_old == cap_by_old)
			t->by_old = xrealloc(t->by_old, (cap_by_old *= 2) * sizeof(*t->by_old));
		t->by_old[t->n_by_old++] = (struct old_ref){c->old_first, i};
	}
	qsort(t->by_old, t->n_by_old, sizeof(*t->by_old), cmp_old_ref);
	t->kept = (const uint8_t *)t->old->entrytable;
	/* who jumps where */
	for (size_t i = 0; i < t->n_chains; i++) {
		struct chain *c = &t->chains[i];
		for (size_t o = c->kept_off, k = 0; k < c->kept_n; k++) {
			const struct ipt_entry *e = entry_at(t, o);
			int v = std_verdict(e);
			if (v >= 0 && (size_t)v != o + e->next_offset) {
				struct chain *to = chain_by_old(t, (size_t)v);
				if (to)
					to->refs++;
			}
			o += e->next_offset;
		}
	}
	return 0;
}

struct iptb *iptb_read(const char *table, struct mk_err **err)
{
	struct iptb *t = xcalloc(1, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", table);
	t->sock = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (t->sock < 0) {
		mk_err_errno(err, MK_EIO, errno, "reading table %s", table);
		free(t);
		return NULL;
	}
	struct ipt_getinfo info = {0};
	snprintf(info.name, sizeof(info.name), "%s", table);
	socklen_t len = sizeof(info);
	if (getsockopt(t->sock, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) < 0) {
		mk_err_errno(err, MK_EIO, errno, "reading table %s", table);
		iptb_free(t);
		return NULL;
	}
	t->valid_hooks = info.valid_hooks;
	t->old_size = info.size;
	/* the entries read lie where those of the replace will, so that a
	 * table that keeps most of itself is rewritten in place */
	size_t shift = offsetof(struct ipt_replace, entries) -
		       offsetof(struct ipt_get_entries, entrytable);
	t->old_buf = xmalloc(sizeof(struct ipt_replace) + info.size);
	t->old = (struct ipt_get_entries *)((uint8_t *)t->old_buf + shift);
	snprintf(t->old->name, sizeof(t->old->name), "%s", table);
	t->old->size = info.size;
	len = (socklen_t)(sizeof(*t->old) + info.size);
	if (getsockopt(t->sock, IPPROTO_IP, IPT_SO_GET_ENTRIES, t->old, &len) < 0) {
		/* EAGAIN: the table changed between the two calls */
		mk_err_errno(err, MK_EIO, errno, "reading table %s", table);
		iptb_free(t);
		return NULL;
	}
	if (parse(t, &info, err) < 0) {
		iptb_free(t);
		return NULL;
	}
	return t;
}

void iptb_free(struct iptb *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_chains; i++) {
		free(t->chains[i].name);
		free(t->chains[i].policy);
		free(t->chains[i].top);
	}
	free(t->chains);
	free(t->slots);
	free(t->user_read);
	free(t->by_old);
	free(t->old_buf);
	free(t->kept_copy);
	free(t->repl);
	free(t->counter_map);
	if (t->sock >= 0)
		close(t->sock);
	free(t);
}

bool iptb_has_chain(const struct iptb *t, const char *chain)
{
	return find(t, chain) != NULL;
}

size_t iptb_n_user_chains(const struct iptb *t)
{
	return t->n_user_read;
}

const char *iptb_user_chain(const struct iptb *t, size_t i)
{
	return t->chains[t->user_read[i]].name;
}

/* ---- planning ---- */

/* The rules read of c go: jumps they made no longer count. */
static void drop_kept(struct iptb *t, struct chain *c)
{
	for (size_t o = c->kept_off, k = 0; k < c->kept_n; k++) {
		const struct ipt_entry *e = (const struct ipt_entry *)(t->kept + o);
		int v = std_verdict(e);
		/* offsets in the old blob: kept is still the old blob here */
		if (v >= 0 && (size_t)v != c->old_rules_off + (o - c->kept_off) + e->next_offset) {
			struct chain *to = chain_by_old(t, (size_t)v);
			if (to && to->refs)
				to->refs--;
		}
		o += e->next_offset;
	}
	c->kept_n = 0;
	c->kept_len = 0;
}

void iptb_chain_declare(struct iptb *t, const char *chain)
{
	struct chain *c = find(t, chain);
	if (c)
		drop_kept(t, c);
	else
		add_chain(t, chain, -1);
}

void iptb_chain_ensure(struct iptb *t, const char *chain, bool *created)
{
	*created = !find(t, chain);
	if (*created)
		add_chain(t, chain, -1);
}

static const char *entry_comment(const struct ipt_entry *e)
{
	for (size_t off = sizeof(struct ipt_entry); off < e->target_offset;) {
		const struct xt_entry_match *m = (const void *)((const uint8_t *)e + off);
		if (!strcmp(m->u.user.name, "comment"))
			return (const char *)m->data;
		if (m->u.match_size == 0)
			break;
		off += m->u.match_size;
	}
	return NULL;
}

bool iptb_builtin_has(const struct iptb *t, const char *builtin, const char *target,
		      const char *comment)
{
	const struct chain *c = find(t, builtin);
	const struct chain *to = find(t, target);
	if (!c || !to)
		return false;
	for (size_t o = c->kept_off, k = 0; k < c->kept_n; k++) {
		const struct ipt_entry *e = (const struct ipt_entry *)(t->kept + o);
		int v = std_verdict(e);
		const char *cm = entry_comment(e);
		if (v >= 0 && (size_t)v == to->old_first &&
		    (comment ? cm && !strcmp(cm, comment) : !cm))
			return true;
		o += e->next_offset;
	}
	/* inserted in this change */
	for (size_t o = 0, k = 0; k < c->top_n; k++) {
		const struct ipt_entry *e = (const struct ipt_entry *)(c->top + o);
		const struct xt_entry_target *tg = target_of(e);
		const char *cm = entry_comment(e);
		if (!strcmp(tg->u.user.name, target) && (comment ? cm && !strcmp(cm, comment) : !cm))
			return true;
		o += e->next_offset;
	}
	return false;
}

/* The chain a new rule's target names, if it is one. */
static struct chain *jump_target(const struct iptb *t, const struct ipt_entry *e)
{
	const struct xt_entry_target *tg = target_of(e);
	const char *n = tg->u.user.name;
	if (!*n || !strcmp(n, "ACCEPT") || !strcmp(n, "DROP") || !strcmp(n, "RETURN") ||
	    !strcmp(n, "QUEUE"))
		return NULL;
	return find(t, n);
}

int iptb_builtin_insert(struct iptb *t, const char *builtin, const struct ipt_entry *e,
			struct mk_err **err)
{
	struct chain *c = find(t, builtin);
	if (!c || c->hook < 0)
		return mk_err_set(err, MK_EINVAL, "table %s has no built-in chain %s", t->name,
				  builtin);
	struct chain *to = jump_target(t, e);
	if (to)
		to->refs++;
	uint8_t *n = xmalloc(c->top_len + e->next_offset);
	memcpy(n, e, e->next_offset);
	if (c->top_len)
		memcpy(n + e->next_offset, c->top, c->top_len);
	free(c->top);
	c->top = n;
	c->top_len += e->next_offset;
	c->top_n++;
	return 0;
}

int iptb_chain_delete(struct iptb *t, const char *chain, bool *referenced, struct mk_err **err)
{
	*referenced = false;
	struct chain *c = find(t, chain);
	if (!c)
		return mk_err_set(err, MK_ENOTFOUND, "no chain %s in table %s", chain, t->name);
	if (c->hook >= 0)
		return mk_err_set(err, MK_EINVAL, "%s is a built-in chain", chain);
	if (c->refs) {
		*referenced = true;
		return mk_err_set(err, MK_ECONFLICT, "other rules still jump to it");
	}
	drop_kept(t, c);
	c->deleted = true;
	return 0;
}

int iptb_plan_rule(struct iptb *t, const char *chain, const struct ipt_entry *e,
		   struct mk_err **err)
{
	struct chain *c = find(t, chain);
	if (!c)
		return mk_err_set(err, MK_ENOTFOUND, "no chain %s in table %s", chain, t->name);
	struct chain *to = jump_target(t, e);
	if (to)
		to->refs++;
	c->new_len += e->next_offset;
	c->new_n++;
	return 0;
}

/* ---- writing ---- */

static int cmp_chain_name(const void *a, const void *b)
{
	const struct chain *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static void put_head(uint8_t *at, const char *name)
{
	struct error_entry *h = (struct error_entry *)at;
	memset(h, 0, HEAD_SIZE);
	h->e.target_offset = sizeof(h->e);
	h->e.next_offset = HEAD_SIZE;
	h->t.target.u.target_size = XT_ALIGN(sizeof(h->t));
	snprintf(h->t.target.u.user.name, sizeof(h->t.target.u.user.name), "%s", XT_ERROR_TARGET);
	snprintf(h->t.errorname, sizeof(h->t.errorname), "%s", name);
}

static void put_verdict(uint8_t *at, int verdict)
{
	struct std_entry *f = (struct std_entry *)at;
	memset(f, 0, FOOT_SIZE);
	f->e.target_offset = sizeof(f->e);
	f->e.next_offset = FOOT_SIZE;
	f->t.target.u.target_size = XT_ALIGN(sizeof(f->t));
	f->t.verdict = verdict;
}

/* Jumps of the rules read (len bytes at blob + at, at old_at in the old
 * blob) now point where their chains went. */
static int relocate(const struct iptb *t, const struct chain *c, uint8_t *blob, size_t at,
		    size_t old_at, size_t len, struct mk_err **err)
{
	for (size_t o = 0; o < len;) {
		struct ipt_entry *e = (struct ipt_entry *)(blob + at + o);
		struct xt_entry_target *tg =
			(struct xt_entry_target *)((uint8_t *)e + e->target_offset);
		if (!strcmp(tg->u.user.name, XT_STANDARD_TARGET)) {
			int *v = &((struct xt_standard_target *)tg)->verdict;
			if (*v >= 0 && (size_t)*v == old_at + o + e->next_offset) {
				*v = (int)(at + o + e->next_offset);
			} else if (*v >= 0) {
				const struct chain *to = chain_by_old(t, (size_t)*v);
				if (!to || to->deleted)
					return mk_err_set(err, MK_EIO,
							  "a rule of %s jumps to a chain that is gone",
							  c->name);
				*v = (int)to->first;
			}
		}
		o += e->next_offset;
	}
	return 0;
}

/* A new rule's target as the kernel takes it: names of chains and of the
 * standard verdicts become standard targets (libiptc's mapping). */
static int resolve_target(const struct iptb *t, struct ipt_entry *e, size_t at,
			  struct mk_err **err)
{
	struct xt_entry_target *tg = (struct xt_entry_target *)((uint8_t *)e + e->target_offset);
	const char *n = tg->u.user.name;
	int v;
	if (!*n) {
		v = (int)(at + e->next_offset); /* no -j: on to the next rule */
	} else if (!strcmp(n, "ACCEPT")) {
		v = -NF_ACCEPT - 1;
	} else if (!strcmp(n, "DROP")) {
		v = -NF_DROP - 1;
	} else if (!strcmp(n, "QUEUE")) {
		v = -NF_QUEUE - 1;
	} else if (!strcmp(n, "RETURN")) {
		v = XT_RETURN;
	} else {
		const struct chain *to = find(t, n);
		if (!to)
			return 0; /* an extension target (DNAT, MARK, ...) */
		v = (int)to->first;
	}
	if (tg->u.target_size != XT_ALIGN(sizeof(struct xt_standard_target)))
		return mk_err_set(err, MK_EINVAL, "target %s: not a standard target", n);
	memset(tg->u.user.name, 0, sizeof(tg->u.user.name));
	tg->u.user.revision = 0;
	((struct xt_standard_target *)tg)->verdict = v;
	return 0;
}

int iptb_layout(struct iptb *t, struct mk_err **err)
{
	/* what is kept of the blob read: copied out when it is little, so
	 * that the old and the new blob are not both held */
	size_t kept = 0;
	for (size_t i = 0; i < t->n_chains; i++)
		if (!t->chains[i].deleted)
			kept += t->chains[i].kept_len;
	if (kept * 2 < t->old_size) {
		t->kept_copy = xmalloc(kept ? kept : 1);
		size_t pos = 0;
		for (size_t i = 0; i < t->n_chains; i++) {
			struct chain *c = &t->chains[i];
			if (c->deleted || !c->kept_len)
				continue;
			memcpy(t->kept_copy + pos, t->kept + c->kept_off, c->kept_len);
			c->kept_off = pos;
			pos += c->kept_len;
		}
		free(t->old_buf);
		t->old_buf = NULL;
		t->old = NULL;
		t->kept = t->kept_copy;
	}
	/* built-in chains in hook order, then user chains by name */
	struct chain **order = xmalloc((t->n_chains + 1) * sizeof(*order));
	size_t n = 0, n_builtin = 0;
	for (int h = 0; h < NF_INET_NUMHOOKS; h++)
		for (size_t i = 0; i < t->n_chains; i++)
			if (t->chains[i].hook == h)
				order[n++] = &t->chains[i];
	n_builtin = n;
	for (size_t i = 0; i < t->n_chains; i++)
		if (t->chains[i].hook < 0 && !t->chains[i].deleted)
			order[n++] = &t->chains[i];
	qsort(order + n_builtin, n - n_builtin, sizeof(*order), cmp_chain_name);
	size_t pos = 0, idx = 0;
	for (size_t i = 0; i < n; i++) {
		struct chain *c = order[i];
		c->start = pos;
		if (c->hook < 0) {
			pos += HEAD_SIZE;
			idx++;
		}
		c->first = pos;
		pos += c->top_len + c->kept_len + c->new_len;
		idx += c->top_n + c->kept_n + c->new_n;
		pos += c->hook < 0 ? FOOT_SIZE : c->policy->e.next_offset;
		idx++;
		c->end = pos;
	}
	t->new_size = pos + HEAD_SIZE;
	t->new_n = idx + 1;
	/* in place when the rules kept are still in the order they were read
	 * (as libiptc and this module write tables): each moves as a block,
	 * those going down first, upwards, then those going up, downwards, so
	 * that none overwrites one not yet moved */
	bool inplace = t->old_buf != NULL;
	for (size_t i = 0, last = 0; i < n && inplace; i++) {
		if (!order[i]->kept_len)
			continue;
		inplace = order[i]->old_rules_off >= last;
		last = order[i]->old_rules_off + order[i]->kept_len;
	}
	if (inplace) {
		size_t need = t->new_size > t->old_size ? t->new_size : t->old_size;
		t->repl = xrealloc(t->old_buf, sizeof(*t->repl) + need);
		t->old_buf = NULL;
		t->old = NULL;
		t->kept = NULL;
		uint8_t *blob = (uint8_t *)t->repl->entries;
		for (size_t i = 0; i < n; i++) {
			struct chain *c = order[i];
			size_t to = c->first + c->top_len;
			if (c->kept_len && to <= c->old_rules_off)
				memmove(blob + to, blob + c->old_rules_off, c->kept_len);
		}
		for (size_t i = n; i-- > 0;) {
			struct chain *c = order[i];
			size_t to = c->first + c->top_len;
			if (c->kept_len && to > c->old_rules_off)
				memmove(blob + to, blob + c->old_rules_off, c->kept_len);
		}
	} else {
		t->repl = xmalloc(sizeof(*t->repl) + t->new_size);
	}
	memset(t->repl, 0, sizeof(*t->repl));
	t->counter_map = xcalloc(t->new_n, sizeof(*t->counter_map));
	uint8_t *blob = (uint8_t *)t->repl->entries;
	idx = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct chain *c = order[i];
		if (c->hook < 0) {
			put_head(blob + c->start, c->name);
			idx++;
		}
		size_t at = c->first;
		if (c->top_len)
			memcpy(blob + at, c->top, c->top_len);
		for (size_t o = 0; o < c->top_len && rc == 0;) {
			struct ipt_entry *e = (struct ipt_entry *)(blob + at + o);
			rc = resolve_target(t, e, at + o, err);
			o += e->next_offset;
		}
		at += c->top_len;
		idx += c->top_n;
		if (c->kept_len) {
			if (!inplace)
				memcpy(blob + at, t->kept + c->kept_off, c->kept_len);
			if (rc == 0)
				rc = relocate(t, c, blob, at, c->old_rules_off, c->kept_len, err);
			for (size_t k = 0; k < c->kept_n; k++)
				t->counter_map[idx + k] = (uint32_t)(c->old_idx + k + 1);
		}
		at += c->kept_len;
		idx += c->kept_n;
		c->cursor = at;
		at += c->new_len;
		idx += c->new_n;
		if (c->hook < 0) {
			put_verdict(blob + at, XT_RETURN);
		} else {
			memcpy(blob + at, c->policy, c->policy->e.next_offset);
			t->counter_map[idx] = (uint32_t)(c->policy_idx + 1);
			t->repl->hook_entry[c->hook] = (unsigned)c->first;
			t->repl->underflow[c->hook] = (unsigned)at;
		}
		idx++;
	}
	put_head(blob + pos, XT_ERROR_TARGET);
	free(order);
	/* the old blob is gone (or is this one): only the new one is read now */
	free(t->old_buf);
	t->old_buf = NULL;
	t->old = NULL;
	return rc;
}

int iptb_emit_rule(struct iptb *t, const char *chain, const struct ipt_entry *e,
		   struct mk_err **err)
{
	struct chain *c = find(t, chain);
	if (!c || c->cursor + e->next_offset > c->end - (c->hook < 0 ? FOOT_SIZE
								     : c->policy->e.next_offset))
		return mk_err_set(err, MK_EINTERNAL, "chain %s: rule not planned", chain);
	uint8_t *blob = (uint8_t *)t->repl->entries;
	struct ipt_entry *n = (struct ipt_entry *)(blob + c->cursor);
	memcpy(n, e, e->next_offset);
	if (resolve_target(t, n, c->cursor, err) < 0)
		return -1;
	c->cursor += e->next_offset;
	return 0;
}

int iptb_commit(struct iptb *t, struct mk_err **err)
{
	struct ipt_replace *r = t->repl;
	snprintf(r->name, sizeof(r->name), "%s", t->name);
	r->valid_hooks = t->valid_hooks;
	r->num_entries = (unsigned)t->new_n;
	r->size = (unsigned)t->new_size;
	r->num_counters = (unsigned)t->old_n;
	cleanup_free struct xt_counters *old = xcalloc(t->old_n ? t->old_n : 1, sizeof(*old));
	r->counters = old;
	if (setsockopt(t->sock, IPPROTO_IP, IPT_SO_SET_REPLACE, r, sizeof(*r) + t->new_size) < 0)
		return mk_err_errno(err, MK_EIO, errno, "committing table %s", t->name);
	/* the rules kept go on counting from where they were */
	size_t len = sizeof(struct xt_counters_info) + t->new_n * sizeof(struct xt_counters);
	cleanup_free struct xt_counters_info *ci = xcalloc(1, len);
	snprintf(ci->name, sizeof(ci->name), "%s", t->name);
	ci->num_counters = (unsigned)t->new_n;
	for (size_t i = 0; i < t->new_n; i++)
		if (t->counter_map[i] && t->counter_map[i] <= t->old_n)
			ci->counters[i] = old[t->counter_map[i] - 1];
	if (setsockopt(t->sock, IPPROTO_IP, IPT_SO_SET_ADD_COUNTERS, ci, (socklen_t)len) < 0)
		return mk_err_errno(err, MK_EIO, errno, "restoring the counters of table %s",
				    t->name);
	return 0;
}

size_t iptb_size_read(const struct iptb *t)
{
	return t->old_size;
}

size_t iptb_size_written(const struct iptb *t)
{
	return t->new_size;
}
