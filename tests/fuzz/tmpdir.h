/* For harnesses that work in a directory of their own: removes it (and
 * everything under it) when the process exits normally, so neither a replay
 * nor a fuzzing run leaves anything in /tmp. dir is borrowed and must live
 * until exit (a static buffer). Header-only: each harness is one program. */
#ifndef MK_FUZZ_TMPDIR_H
#define MK_FUZZ_TMPDIR_H

#include <stdlib.h>

#include "layer.h"

static const char *tmpdir_path;

static void tmpdir_remove(void)
{
	if (tmpdir_path)
		layer_remove_tree(tmpdir_path, NULL);
}

static inline void tmpdir_remove_at_exit(const char *dir)
{
	tmpdir_path = dir;
	atexit(tmpdir_remove);
}

#endif
