/* How kube-proxy tunes glibc's malloc for its syncs: large, short-lived
 * buffers every sync (the iptables backend's copies of the kernel table, the
 * rendered rules) and a small resident state between them. */
#ifndef PROXY_MEMORY_H
#define PROXY_MEMORY_H

#include <stdbool.h>

/* Large iptables syncs allocate and touch tens of MB of short-lived buffers
 * (the table's blob as read and as written, the rendered rules); with 4 KiB
 * pages that is tens of thousands of page faults per sync. glibc's malloc
 * asks for transparent huge pages only with its glibc.malloc.hugetlb=1
 * tunable, read at process start:
 * this re-executes the program once with it set (returns if it already is or
 * the exec fails). The process keeps its name (/proc/<pid>/comm, what ps and
 * pgrep show): argv[0]'s last part, not the "exe" of /proc/self/exe. Call
 * before starting threads. */
void proxy_malloc_hugepages(char **argv);

/* Fixes malloc's mmap threshold at 1 MiB. glibc raises it (up to 32 MiB)
 * each time a large mmapped block is freed, after which such blocks come from
 * the heap and their pages stay resident between syncs, even after
 * malloc_trim, for as long as a long-lived buffer grown into them lives:
 * 42 MB at rest instead of 27 MB with 10,000 services in iptables mode. */
void proxy_malloc_fixed_mmap_threshold(void);

/* One malloc arena for all threads. Each thread that allocates gets an arena
 * of its own otherwise; the informers' threads parse the initial lists in
 * theirs, and what they free there is not reused by the syncs on the main
 * thread: 52 MB instead of 40 MB at the peak with 10,000 services in
 * nftables mode. The threads other than the sync's mostly wait on sockets,
 * so sharing costs nothing measurable. Call before starting threads. */
void proxy_malloc_one_arena(void);

/* Transparent huge pages help syncs only. While idle they are turned off for
 * the process (on false): else khugepaged fills the pages the idle trim
 * returned back into whole huge pages, and the resting size creeps up towards
 * the peak (26 MB -> 72 MB within 100 s at 10,000 services). */
void proxy_malloc_huge_pages(bool on);

#endif
