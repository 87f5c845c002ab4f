/* libFuzzer entry point for the KubeletConfiguration file: applied over the
 * defaults (with and without a flag that wins), finished and validated; a
 * refusal is a described EINVAL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "flags.h"
#include "kubelet/kconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int pass = 0; pass < 2; pass++) {
		struct kconfig c;
		kconfig_defaults(&c);
		struct flag *fl = kconfig_flags(&c);
		if (pass == 1) {
			/* flags seen on the command line keep their values */
			for (struct flag *f = fl; f->name; f++)
				if (!strcmp(f->name, "max-pods") || !strcmp(f->name, "cluster-dns"))
					f->seen = true;
		}
		struct mk_err *err = NULL;
		if (kconfig_apply_file(&c, (const char *)data, size, pass ? fl : NULL, &err) < 0) {
			if (mk_err_code(err) != MK_EINVAL || !*mk_err_msg(err))
				abort();
			mk_err_free(err);
		} else {
			kconfig_finish(&c);
			if (kconfig_validate(&c, &err) < 0) {
				if (!*mk_err_msg(err))
					abort();
				mk_err_free(err);
			}
		}
		free(fl);
		kconfig_free(&c);
	}
	return 0;
}
