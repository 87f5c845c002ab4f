/* libFuzzer entry point for the image reference and registries.yaml parsers.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/imageref/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "imageref.h"
#include "registries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct mk_err *err = NULL;
	struct imageref r;
	if (imageref_parse(s, &r, &err) == 0) {
		/* the normalised form parses again to itself */
		char *full = imageref_string(&r);
		struct imageref again;
		if (imageref_parse(full, &again, NULL) != 0)
			abort();
		char *full2 = imageref_string(&again);
		if (strcmp(full, full2) != 0)
			abort();
		free(full);
		free(full2);
		imageref_clear(&again);
		imageref_clear(&r);
	}
	mk_err_free(err);
	err = NULL;

	struct registries *reg = registries_parse(s, size, &err);
	if (reg) {
		struct registry_endpoint *eps = NULL;
		size_t n = 0;
		if (registries_endpoints(reg, "docker.io", NULL, &eps, &n, NULL) == 0)
			registries_endpoints_free(eps, n);
		registries_free(reg);
	}
	mk_err_free(err);
	free(s);
	return 0;
}
