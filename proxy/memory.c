/* Malloc tuning (see the header). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "memory.h"
#include "xalloc.h"

/* The kernel names a process after the file it executes: "exe" after an
 * exec of /proc/self/exe. The name it would have had is argv[0]'s last
 * part, as an exec of the program's own path gives it. */
static void keep_name(char **argv)
{
	if (!argv[0] || !*argv[0])
		return;
	const char *slash = strrchr(argv[0], '/');
	const char *base = slash ? slash + 1 : argv[0];
	char comm[16]; /* TASK_COMM_LEN */
	snprintf(comm, sizeof(comm), "%s", base);
	if (*comm)
		prctl(PR_SET_NAME, comm, 0, 0, 0);
}

void proxy_malloc_hugepages(char **argv)
{
	static const char tunable[] = "glibc.malloc.hugetlb";
	const char *t = getenv("GLIBC_TUNABLES");
	if (t && strstr(t, tunable)) {
		keep_name(argv);
		return;
	}
	char *v = t && *t ? xasprintf("%s:%s=1", t, tunable) : xasprintf("%s=1", tunable);
	if (setenv("GLIBC_TUNABLES", v, 1) == 0)
		execv("/proc/self/exe", argv);
	/* still here: run with small pages, and do not try again */
	free(v);
}

void proxy_malloc_fixed_mmap_threshold(void)
{
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

void proxy_malloc_one_arena(void)
{
	mallopt(M_ARENA_MAX, 2);
}

void proxy_malloc_huge_pages(bool on)
{
	prctl(PR_SET_THP_DISABLE, on ? 0 : 1, 0, 0, 0);
}
