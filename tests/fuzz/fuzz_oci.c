/* libFuzzer entry point for OCI image layouts as `nodectl import` and the
 * kubelet read them: index.json, an image index or manifest, an image config
 * and a layer. The input is those four parts, separated by "\n----\n"; the
 * harness stores each as a blob under its digest and puts the real digests
 * and sizes where a part says @MANIFEST@, @CONFIG@, @LAYER@, @DIFF@ (the
 * layer's), @CSIZE@, @LSIZE@, so that mutations reach past the digest
 * checks. The layout is imported into a fresh store: it imports or fails
 * with a described error, and an imported image lists with its config. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "imagestore.h"
#include "layer.h"
#include "ocidigest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tmpdir.h"

static const char *work(void)
{
	static char dir[] = "/tmp/fuzz-oci-XXXXXX";
	static int made;
	if (!made++) {
		if (!mkdtemp(dir))
			abort();
		tmpdir_remove_at_exit(dir);
	}
	return dir;
}

static void put(const char *path, const void *d, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (n && write(fd, d, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* text with every key of subst[] (pairs, NULL-ended) replaced; new buf. */
static void substitute(struct buf *out, const char *text, size_t len, const char *const *subst)
{
	for (size_t i = 0; i < len;) {
		const char *const *s;
		for (s = subst; *s; s += 2)
			if (len - i >= strlen(s[0]) && !memcmp(text + i, s[0], strlen(s[0])))
				break;
		if (*s) {
			buf_append_str(out, s[1]);
			i += strlen(s[0]);
		} else {
			buf_append(out, text + i, 1);
			i++;
		}
	}
}

/* Stores text (after substitution) as a blob of the layout; its digest in d. */
static void blob(const char *layout, const char *text, size_t len, const char *const *subst,
		 char d[OCIDIGEST_LEN], size_t *blen)
{
	struct buf b = BUF_INIT;
	substitute(&b, text, len, subst);
	ocidigest_of(b.data ? b.data : "", b.len, d);
	char *p;
	if (asprintf(&p, "%s/blobs/sha256/%s", layout, d + 7) < 0)
		abort();
	put(p, b.data, b.len);
	*blen = b.len;
	free(p);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[4] = {0};
	size_t plen[4] = {0};
	const char *s = (const char *)data, *end = s + size;
	for (int i = 0; i < 4; i++) {
		const char *sep = i < 3 ? memmem(s, (size_t)(end - s), "\n----\n", 6) : NULL;
		part[i] = s;
		plen[i] = sep ? (size_t)(sep - s) : (size_t)(end - s);
		s = sep ? sep + 6 : end;
	}
	char *root, *layout, *blobs, *store_dir;
	if (asprintf(&root, "%s/run", work()) < 0 || asprintf(&layout, "%s/layout", root) < 0 ||
	    asprintf(&blobs, "%s/blobs/sha256", layout) < 0 ||
	    asprintf(&store_dir, "%s/store", root) < 0)
		abort();
	char *b1;
	if (asprintf(&b1, "%s/blobs", layout) < 0 || mkdir(root, 0700) < 0 ||
	    mkdir(layout, 0700) < 0 || mkdir(b1, 0700) < 0 || mkdir(blobs, 0700) < 0)
		abort();
	free(b1);

	char layer_d[OCIDIGEST_LEN], diff_d[OCIDIGEST_LEN], config_d[OCIDIGEST_LEN],
		manifest_d[OCIDIGEST_LEN];
	size_t layer_n, config_n, manifest_n;
	const char *none[] = {NULL};
	blob(layout, part[3] ? part[3] : "", plen[3], none, layer_d, &layer_n);
	ocidigest_of(part[3] ? part[3] : "", plen[3], diff_d);
	char lsize[32], csize[32];
	snprintf(lsize, sizeof(lsize), "%zu", layer_n);
	const char *csub[] = {"@DIFF@", diff_d, "@LAYER@", layer_d, "@LSIZE@", lsize, NULL};
	blob(layout, part[2] ? part[2] : "", plen[2], csub, config_d, &config_n);
	snprintf(csize, sizeof(csize), "%zu", config_n);
	const char *msub[] = {"@CONFIG@", config_d, "@CSIZE@", csize, "@LAYER@", layer_d,
			      "@LSIZE@", lsize, "@DIFF@", diff_d, NULL};
	blob(layout, part[1] ? part[1] : "", plen[1], msub, manifest_d, &manifest_n);
	char msize[32];
	snprintf(msize, sizeof(msize), "%zu", manifest_n);
	/* an index part may point at the manifest through an inner index blob */
	const char *isub[] = {"@MANIFEST@", manifest_d, "@MSIZE@", msize, "@CONFIG@", config_d,
			      "@LAYER@", layer_d, NULL};
	struct buf idx = BUF_INIT;
	substitute(&idx, part[0] ? part[0] : "", plen[0], isub);
	char *ip;
	if (asprintf(&ip, "%s/index.json", layout) < 0)
		abort();
	put(ip, idx.data, idx.len);
	free(ip);
	buf_free(&idx);

	struct mk_err *err = NULL;
	struct imagestore *st = imagestore_open(store_dir, &err);
	if (!st)
		abort();
	char **refs = NULL;
	if (imagestore_import(st, layout, &refs, &err) < 0) {
		if (!err || !*mk_err_msg(err))
			abort();
		mk_err_free(err);
		err = NULL;
	} else {
		for (char **r = refs; r && *r; r++) {
			struct imagestore_image *img = NULL;
			if (imagestore_lookup(st, *r, &img, &err) < 0 || !img || !img->config)
				abort(); /* what was imported is found, config and all */
			imagestore_image_free(img);
			free(*r);
		}
		free(refs);
		struct imagestore_image **imgs = NULL;
		size_t n = 0;
		if (imagestore_list(st, &imgs, &n, NULL) == 0)
			imagestore_images_free(imgs, n);
	}
	imagestore_close(st);
	if (layer_remove_tree(root, NULL) < 0)
		abort();
	free(root);
	free(layout);
	free(blobs);
	free(store_dir);
	return 0;
}
