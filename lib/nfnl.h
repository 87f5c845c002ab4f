/* Netlink request/reply core on libmnl, and nfnetlink on top of it: nf_tables
 * batches (all or nothing), dumps, the ruleset generation, ctnetlink requests.
 *
 * The core (a socket, its sequence counter, one receive loop that matches
 * replies to the request by sequence number and port id, turns NLMSG_ERROR
 * into an mk_err and follows multipart dumps to NLMSG_DONE) speaks any netlink
 * bus: lib/netlink uses it for rtnetlink.
 *
 * A socket acts in the network namespace of the thread that opened it; use it
 * from one thread at a time.
 *
 * Errors: a kernel refusal becomes an mk_err with errnum set to the kernel's
 * errno, code MK_EEXISTS (EEXIST), MK_ENOTFOUND (ENOENT, ENODEV, ESRCH,
 * EADDRNOTAVAIL) or MK_EIO, and a message that is the lower-case errno text
 * ("file exists") followed by the kernel's extended ack text in parentheses
 * when it sent one. A batch refusal without such text says which attribute of
 * the refused message the kernel pointed at: "(attribute at offset 20)". */
#ifndef MK_NFNL_H
#define MK_NFNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

#include "err.h"

struct nftnl_table;
struct nftnl_chain;
struct nftnl_rule;
struct nftnl_set;

struct nfnl_sock;

/* Opens a NETLINK_NETFILTER socket in the calling thread's network namespace,
 * with extended and capped acks. New; nfnl_sock_close() it. */
struct nfnl_sock *nfnl_sock_open(struct mk_err **err);
/* The same for any netlink bus (NETLINK_ROUTE...). */
struct nfnl_sock *nfnl_sock_open_bus(int bus, struct mk_err **err);
/* Accepts NULL. */
void nfnl_sock_close(struct nfnl_sock *s);
/* The sequence number the next message sent on s will carry. Every request
 * takes one, a batch one per message plus its begin and end. */
uint32_t nfnl_sock_seq(const struct nfnl_sock *s);

/* The errno text as the kernel's tools and Go print it: "file exists".
 * Borrowed, per thread, valid until the next call on the same thread. */
const char *nfnl_strerror(int errnum);

/* ---- requests ---- */

/* Room of the request buffer of nfnl_msg_new(): a request names objects, it
 * does not carry them (those go in batches). */
#define NFNL_REQ_SIZE 8192

/* Starts an nfnetlink request in s's request buffer: header of type
 * (subsys << 8 | msg, e.g. NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET),
 * flags | NLM_F_REQUEST, and the nfgenmsg of family. Append attributes with
 * libmnl's *_check functions against NFNL_REQ_SIZE. Borrowed until the next
 * nfnl_msg_new() on s. */
struct nlmsghdr *nfnl_msg_new(struct nfnl_sock *s, uint16_t type, uint8_t family, uint16_t flags);

/* Called for each reply message (not the ack, not NLMSG_DONE). A negative
 * return with *err set fails the request. */
typedef int (*nfnl_cb)(const struct nlmsghdr *nlh, void *arg, struct mk_err **err);

/* Sends the request at nlh (borrowed; its sequence number and port are set
 * here and NLM_F_ACK is added) and reads its replies: every message before
 * the ack goes to cb (NULL: ignored). A request with NLM_F_DUMP ends at
 * NLMSG_DONE instead. After a failing cb the rest of the replies are still
 * read (and not passed on), so s stays usable. 0, or -1 with *err set. */
int nfnl_talk(struct nfnl_sock *s, struct nlmsghdr *nlh, nfnl_cb cb, void *arg,
	      struct mk_err **err);

/* nfnl_talk for a dump (NLM_F_DUMP added): 0 when done, 1 when the kernel
 * marked a reply NLM_F_DUMP_INTR (the objects changed during the dump: cb saw
 * a view that may mix before and after), -1 on error. */
int nfnl_dump(struct nfnl_sock *s, struct nlmsghdr *nlh, nfnl_cb cb, void *arg,
	      struct mk_err **err);

/* ---- nf_tables ---- */

/* Dumps the objects of type (NFT_MSG_GETCHAIN, GETSET, GETRULE...) of table
 * in family to cb, as nfnl_dump: only the objects of table reach cb (table
 * NULL: of every table), and for GETRULE with chain not NULL only the rules
 * of that chain. A missing table or chain is an empty dump or MK_ENOTFOUND,
 * depending on the object type and the kernel. */
int nfnl_nft_dump(struct nfnl_sock *s, uint16_t type, uint8_t family, const char *table,
		  const char *chain, nfnl_cb cb, void *arg, struct mk_err **err);

/* The ruleset generation of s's namespace, which every commit of any writer
 * bumps, into *genid. 0, or -1 with *err set. */
int nfnl_nft_genid(struct nfnl_sock *s, uint32_t *genid, struct mk_err **err);

/* An nf_tables batch: messages built from libnftnl objects, sent in one
 * write, applied by the kernel all or nothing. Each message takes its family
 * from its object (set NFTNL_*_FAMILY). */
struct nfnl_batch;

/* Begins a batch for s (borrowed until nfnl_batch_free()). New. */
struct nfnl_batch *nfnl_batch_begin(struct nfnl_sock *s);
/* Accepts NULL. */
void nfnl_batch_free(struct nfnl_batch *b);

/* Append one message of type (NFT_MSG_NEWTABLE, DELRULE...) with flags
 * (NLM_F_CREATE, NLM_F_APPEND...) built from the object (borrowed for the
 * call, not changed). Each returns the message's index in the batch (0 for
 * the first). */
size_t nfnl_batch_table(struct nfnl_batch *b, uint16_t type, uint16_t flags,
			const struct nftnl_table *t);
size_t nfnl_batch_chain(struct nfnl_batch *b, uint16_t type, uint16_t flags,
			const struct nftnl_chain *c);
size_t nfnl_batch_rule(struct nfnl_batch *b, uint16_t type, uint16_t flags,
		       struct nftnl_rule *r);
size_t nfnl_batch_set(struct nfnl_batch *b, uint16_t type, uint16_t flags,
		      struct nftnl_set *set);
/* The elements of set (NFT_MSG_NEWSETELEM, DELSETELEM), as many messages as
 * the kernel's 64 KiB limit of an element list needs; an empty set gives one
 * message (which, for DELSETELEM, flushes the set). Returns the index of the
 * first; *n_msgs (may be NULL) receives the number of messages. */
size_t nfnl_batch_set_elems(struct nfnl_batch *b, uint16_t type, uint16_t flags,
			    struct nftnl_set *set, size_t *n_msgs);

/* Messages appended so far (begin and end not counted). */
size_t nfnl_batch_count(const struct nfnl_batch *b);
/* Bytes of the batch so far. */
size_t nfnl_batch_size(const struct nfnl_batch *b);

/* Values of *refused besides a message index: the kernel refused the batch
 * without naming a message, or the batch was not answered by a refusal at
 * all (it could not be sent, or the answers could not be read). */
#define NFNL_BATCH_WHOLE ((size_t)-2)
#define NFNL_BATCH_NONE ((size_t)-1)

/* Ends the batch and sends it in one write (raising the socket's send buffer
 * to fit it, MK_ETOOLARGE if it cannot), then collects the kernel's answers.
 * 0 when every message was applied. -1 otherwise, with *refused (may be
 * NULL) set to the index of the first message the kernel refused, or to one
 * of the values above, and *err to the kernel's error for it. When the
 * kernel refused anything, nothing of the batch was applied. A batch is sent
 * once. */
int nfnl_batch_send(struct nfnl_batch *b, size_t *refused, struct mk_err **err);

#endif
