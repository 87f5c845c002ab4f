/* Malloc tuning (see the header). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "memory.h"
#include "xalloc.h"

void proxy_malloc_hugepages(char **argv)
{
	static const char tunable[] = "glibc.malloc.hugetlb";
	const char *t = getenv("GLIBC_TUNABLES");
	if (t && strstr(t, tunable))
		return;
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
