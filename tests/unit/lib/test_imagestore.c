/* imagestore: the contract the kubelet relies on, on a store in a temporary
 * directory fed from OCI layouts this test writes: lookup (id, tags,
 * digests, layer directories top first, config), shared layers unpacked
 * once, tags moving, holds surviving a reopen, removal and prune keeping
 * what held images use, refusals of corrupt input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "buf.h"
#include "imagestore.h"
#include "layer.h"
#include "ocidigest.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/test_imagestore.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return layer_remove_tree(tmp, NULL);
}

static char *path_of(const char *fmt, const char *a)
{
	char *rel, *p;
	assert_true(asprintf(&rel, fmt, a) > 0);
	assert_true(asprintf(&p, "%s/%s", tmp, rel) > 0);
	free(rel);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Stores data as a blob of layout; digest into d. */
static void put_blob(const char *layout, const void *data, size_t len, char d[OCIDIGEST_LEN])
{
	ocidigest_of(data, len, d);
	char *p;
	assert_true(asprintf(&p, "%s/%s/blobs/sha256/%s", tmp, layout, d + 7) > 0);
	write_file(p, data, len);
	free(p);
}

/* A gzip layer holding one file; its digests and size. */
struct made_layer {
	char digest[OCIDIGEST_LEN];
	char diff_id[OCIDIGEST_LEN];
	size_t size;
};

static void make_layer(const char *layout, const char *name, const char *content,
		       struct made_layer *out)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	size_t cap = 1 << 16, used = 0;
	char *mem = malloc(cap);
	assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(content));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_data(a, content, strlen(content));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	ocidigest_of(mem, used, out->diff_id);
	z_stream zs = {0};
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t gcap = deflateBound(&zs, used) + 64;
	unsigned char *gz = malloc(gcap);
	zs.next_in = (unsigned char *)mem;
	zs.avail_in = (uInt)used;
	zs.next_out = gz;
	zs.avail_out = (uInt)gcap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	out->size = gcap - zs.avail_out;
	deflateEnd(&zs);
	put_blob(layout, gz, out->size, out->digest);
	free(gz);
	free(mem);
}

/* An image of the given layers (bottom first) in layout; returns its id. */
static void make_image(const char *layout, const struct made_layer *layers, size_t n,
		       const char *cmd, char id[OCIDIGEST_LEN], char md[OCIDIGEST_LEN],
		       size_t *msize, size_t *csize)
{
	json_t *diff = json_array(), *ls = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(diff, json_string(layers[i].diff_id));
		json_array_append_new(ls, json_pack("{s:s,s:s,s:I}", "mediaType",
						    "application/vnd.oci.image.layer.v1.tar+gzip",
						    "digest", layers[i].digest, "size",
						    (json_int_t)layers[i].size));
	}
	json_t *cfg = json_pack("{s:s,s:s,s:{s:[s]},s:{s:s,s:o}}", "architecture", "amd64", "os",
				"linux", "config", "Cmd", cmd, "rootfs", "type", "layers",
				"diff_ids", diff);
	char *ct = json_dumps(cfg, JSON_COMPACT);
	put_blob(layout, ct, strlen(ct), id);
	json_t *man = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
				"application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
				"application/vnd.oci.image.config.v1+json", "digest", id, "size",
				(json_int_t)strlen(ct), "layers", ls);
	char *mt = json_dumps(man, JSON_COMPACT);
	put_blob(layout, mt, strlen(mt), md);
	*msize = strlen(mt);
	*csize = strlen(ct);
	free(ct);
	free(mt);
	json_decref(cfg);
	json_decref(man);
}

static void write_index(const char *layout, const char *const *names, char (*mds)[OCIDIGEST_LEN],
			const size_t *sizes, size_t n)
{
	json_t *ms = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			ms, json_pack("{s:s,s:s,s:I,s:{s:s}}", "mediaType",
				      "application/vnd.oci.image.manifest.v1+json", "digest", mds[i],
				      "size", (json_int_t)sizes[i], "annotations",
				      "org.opencontainers.image.ref.name", names[i]));
	json_t *idx = json_pack("{s:i,s:o}", "schemaVersion", 2, "manifests", ms);
	char *p = path_of("%s/index.json", layout);
	assert_int_equal(json_dump_file(idx, p, 0), 0);
	free(p);
	json_decref(idx);
}

static void new_layout(const char *layout)
{
	char *p = path_of("%s/blobs/sha256", layout);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", p);
	assert_int_equal(system(cmd), 0);
	free(p);
}

struct world {
	struct made_layer base, la, lb;
	char ida[OCIDIGEST_LEN], idb[OCIDIGEST_LEN];
	char mda[OCIDIGEST_LEN], mdb[OCIDIGEST_LEN];
	size_t msa, msb, csa, csb;
};

/* Two images sharing a base layer: example.com/a:1 and example.com/b:1. */
static void make_world(struct world *w)
{
	new_layout("layout");
	make_layer("layout", "etc/os-release", "ID=test\n", &w->base);
	make_layer("layout", "app/a", "a", &w->la);
	make_layer("layout", "app/b", "bb", &w->lb);
	struct made_layer a[] = {w->base, w->la}, b[] = {w->base, w->lb};
	make_image("layout", a, 2, "run-a", w->ida, w->mda, &w->msa, &w->csa);
	make_image("layout", b, 2, "run-b", w->idb, w->mdb, &w->msb, &w->csb);
	const char *names[] = {"example.com/a:1", "example.com/b:1"};
	char mds[2][OCIDIGEST_LEN];
	memcpy(mds[0], w->mda, OCIDIGEST_LEN);
	memcpy(mds[1], w->mdb, OCIDIGEST_LEN);
	size_t sizes[] = {w->msa, w->msb};
	write_index("layout", names, mds, sizes, 2);
}

static struct imagestore *open_store(void)
{
	struct mk_err *e = NULL;
	char *root = path_of("%s", "root");
	struct imagestore *s = imagestore_open(root, &e);
	if (!s)
		fail_msg("%s", mk_err_msg(e));
	free(root);
	return s;
}

static void import_world(struct imagestore *s)
{
	char *lp = path_of("%s", "layout");
	char **refs = NULL;
	struct mk_err *e = NULL;
	if (imagestore_import(s, lp, &refs, &e) < 0)
		fail_msg("%s", mk_err_msg(e));
	assert_string_equal(refs[0], "example.com/a:1");
	assert_string_equal(refs[1], "example.com/b:1");
	assert_null(refs[2]);
	free(refs[0]);
	free(refs[1]);
	free(refs);
	free(lp);
}

static void test_lookup(void **state)
{
	(void)state;
	struct world w;
	make_world(&w);
	struct imagestore *s = open_store();
	import_world(s);

	struct imagestore_image *img = NULL;
	struct mk_err *e = NULL;
	assert_int_equal(imagestore_lookup(s, "example.com/a:1", &img, &e), 0);
	assert_string_equal(img->id, w.ida);
	assert_string_equal(img->manifest_digest, w.mda);
	assert_int_equal(img->n_tags, 1);
	assert_string_equal(img->repo_tags[0], "example.com/a:1");
	char *dref;
	assert_true(asprintf(&dref, "example.com/a@%s", w.mda) > 0);
	assert_string_equal(img->repo_digests[0], dref);
	/* top layer first, as overlayfs' lowerdir wants */
	assert_int_equal(img->n_layers, 2);
	char *top = path_of("root/images/layers/%s", w.la.diff_id + 7);
	char *bottom = path_of("root/images/layers/%s", w.base.diff_id + 7);
	assert_string_equal(img->layers[0], top);
	assert_string_equal(img->layers[1], bottom);
	char *f = NULL;
	assert_true(asprintf(&f, "%s/app/a", img->layers[0]) > 0);
	assert_int_equal(access(f, F_OK), 0);
	free(f);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(img->config, "config"), "Cmd"), 0)),
			    "run-a");
	/* as crictl shows it: manifest, config and compressed layers */
	assert_int_equal(img->size, w.msa + w.csa + w.base.size + w.la.size);
	assert_int_equal(img->n_holders, 0);
	imagestore_image_free(img);

	/* the same image by digest, by id and by a prefix of its id */
	assert_int_equal(imagestore_lookup(s, dref, &img, NULL), 0);
	assert_string_equal(img->id, w.ida);
	imagestore_image_free(img);
	assert_int_equal(imagestore_lookup(s, w.ida, &img, NULL), 0);
	imagestore_image_free(img);
	char prefix[20];
	snprintf(prefix, sizeof(prefix), "%.13s", w.ida + 7);
	assert_int_equal(imagestore_lookup(s, prefix, &img, NULL), 0);
	assert_string_equal(img->id, w.ida);
	imagestore_image_free(img);

	assert_int_equal(imagestore_lookup(s, "example.com/c:1", &img, &e), -1);
	assert_int_equal(mk_err_code(e), MK_ENOTFOUND);
	assert_string_equal(mk_err_msg(e), "image example.com/c:1 not found");
	mk_err_free(e);
	e = NULL;
	assert_int_equal(imagestore_lookup(s, "Bad:ref", &img, &e), -1);
	assert_int_equal(mk_err_code(e), MK_EINVAL);
	mk_err_free(e);

	/* the shared base layer is there once */
	struct imagestore_image **all = NULL;
	size_t n = 0;
	assert_int_equal(imagestore_list(s, &all, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(all[0]->repo_tags[0], "example.com/a:1");
	assert_string_equal(all[1]->layers[1], bottom);
	imagestore_images_free(all, n);
	free(dref);
	free(top);
	free(bottom);
	imagestore_close(s);
}

static void test_tags_holds_removal(void **state)
{
	(void)state;
	struct world w;
	make_world(&w);
	struct imagestore *s = open_store();
	import_world(s);
	struct mk_err *e = NULL;

	/* a tag moves to the image it is given to */
	assert_int_equal(imagestore_tag(s, "example.com/b:1", "example.com/a:1", NULL), 0);
	struct imagestore_image *img = NULL;
	assert_int_equal(imagestore_lookup(s, "example.com/a:1", &img, NULL), 0);
	assert_string_equal(img->id, w.idb);
	assert_int_equal(img->n_tags, 2);
	imagestore_image_free(img);
	assert_int_equal(imagestore_tag(s, "example.com/nope:1", "x/y:z", &e), -1);
	assert_int_equal(mk_err_code(e), MK_ENOTFOUND);
	mk_err_free(e);
	e = NULL;

	/* a hold survives closing the store */
	assert_int_equal(imagestore_hold(s, w.ida, "ctr-a", NULL), 0);
	imagestore_close(s);
	s = open_store();
	assert_int_equal(imagestore_remove(s, w.ida, &e), -1);
	assert_int_equal(mk_err_code(e), MK_ECONFLICT);
	char *want;
	assert_true(asprintf(&want, "image %s is in use by ctr-a", w.ida) > 0);
	assert_string_equal(mk_err_msg(e), want);
	free(want);
	mk_err_free(e);
	e = NULL;

	/* prune takes b, keeps a and the base layer a uses */
	size_t removed = 0;
	assert_int_equal(imagestore_prune(s, &removed, NULL), 0);
	assert_int_equal(removed, 1);
	char *lb = path_of("root/images/layers/%s", w.lb.diff_id + 7);
	char *base = path_of("root/images/layers/%s", w.base.diff_id + 7);
	assert_int_equal(access(lb, F_OK), -1);
	assert_int_equal(access(base, F_OK), 0);
	assert_int_equal(imagestore_lookup(s, w.ida, &img, NULL), 0);
	assert_int_equal(img->n_holders, 1);
	imagestore_image_free(img);

	/* released, it can go, and everything with it */
	assert_int_equal(imagestore_release(s, "ctr-a", NULL), 0);
	assert_int_equal(imagestore_release(s, "never-held", NULL), 0);
	assert_int_equal(imagestore_remove(s, w.ida, NULL), 0);
	assert_int_equal(access(base, F_OK), -1);
	char *blobs = path_of("%s", "root/images/blobs/sha256");
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", blobs);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(imagestore_remove(s, w.ida, &e), -1);
	assert_int_equal(mk_err_code(e), MK_ENOTFOUND);
	mk_err_free(e);
	free(blobs);
	free(lb);
	free(base);
	imagestore_close(s);
}

static void test_corrupt_layout(void **state)
{
	(void)state;
	struct world w;
	make_world(&w);
	/* one byte of b's own layer changed */
	char *p = path_of("layout/blobs/sha256/%s", w.lb.digest + 7);
	int fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, 20), 1);
	c ^= 0xff;
	assert_int_equal(pwrite(fd, &c, 1, 20), 1);
	close(fd);
	free(p);
	struct imagestore *s = open_store();
	char *lp = path_of("%s", "layout");
	struct mk_err *e = NULL;
	assert_int_equal(imagestore_import(s, lp, NULL, &e), -1);
	assert_int_equal(mk_err_code(e), MK_EINVAL);
	char *want;
	assert_true(asprintf(&want, "importing example.com/b:1: digest mismatch for blob %s",
			     w.lb.digest) > 0);
	if (strncmp(mk_err_msg(e), want, strlen(want)) != 0)
		fail_msg("got \"%s\"", mk_err_msg(e));
	free(want);
	mk_err_free(e);
	e = NULL;
	/* a, imported before, is whole; b is not recorded, its layer not kept */
	struct imagestore_image *img = NULL;
	assert_int_equal(imagestore_lookup(s, "example.com/a:1", &img, NULL), 0);
	imagestore_image_free(img);
	assert_int_equal(imagestore_lookup(s, "example.com/b:1", &img, &e), -1);
	assert_int_equal(mk_err_code(e), MK_ENOTFOUND);
	mk_err_free(e);
	char *lb = path_of("root/images/layers/%s", w.lb.diff_id + 7);
	assert_int_equal(access(lb, F_OK), -1);
	free(lb);
	/* a missing layout and a directory without an index */
	e = NULL;
	assert_int_equal(imagestore_import(s, "/nonexistent/layout", NULL, &e), -1);
	assert_int_equal(mk_err_code(e), MK_ENOTFOUND);
	mk_err_free(e);
	e = NULL;
	assert_int_equal(imagestore_import(s, tmp, NULL, &e), -1);
	assert_int_equal(mk_err_code(e), MK_EINVAL);
	mk_err_free(e);
	free(lp);
	/* thresholds are checked */
	e = NULL;
	assert_int_equal(imagestore_gc(s, 80, 85, 0, NULL, &e), -1);
	assert_string_equal(mk_err_msg(e),
			    "invalid thresholds: high 80%, low 85% (0 <= low <= high <= 100)");
	mk_err_free(e);
	imagestore_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags_holds_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_layout, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
