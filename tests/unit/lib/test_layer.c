/* layer: unpacking gzip and plain layers with libarchive, whiteouts in
 * overlayfs form, diff_id checks, entries that try to leave the layer. */
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
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "buf.h"
#include "layer.h"
#include "ocidigest.h"

struct ent {
	const char *name;
	int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, 0 = hardlink */
	const char *data; /* content, or link target */
	int mode;
	int uid;
};

/* A tar of ents in memory. */
static void make_tar(const struct ent *ents, size_t n, struct buf *out)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	size_t cap = 1 << 20, used = 0;
	char *mem = malloc(cap);
	assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_uid(e, ents[i].uid);
		archive_entry_set_gid(e, ents[i].uid);
		archive_entry_set_mtime(e, 1000, 0);
		if (ents[i].type == 0) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, ents[i].data);
			archive_entry_set_perm(e, 0644);
		} else {
			archive_entry_set_filetype(e, (unsigned)ents[i].type);
			archive_entry_set_perm(e, ents[i].mode);
			if (ents[i].type == AE_IFLNK)
				archive_entry_set_symlink(e, ents[i].data);
			if (ents[i].type == AE_IFREG)
				archive_entry_set_size(e, (la_int64_t)strlen(ents[i].data));
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (ents[i].type == AE_IFREG)
			archive_write_data(a, ents[i].data, strlen(ents[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	buf_append(out, mem, used);
	free(mem);
}

static void gzip_buf(const struct buf *in, struct buf *out)
{
	z_stream zs = {0};
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&zs, in->len) + 64;
	char *o = malloc(cap);
	zs.next_in = (unsigned char *)in->data;
	zs.avail_in = (uInt)in->len;
	zs.next_out = (unsigned char *)o;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	buf_append(out, o, cap - zs.avail_out);
	deflateEnd(&zs);
	free(o);
}

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_layer.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return layer_remove_tree(tmpdir, NULL);
}

/* fd of a temporary file holding data */
static int blob_fd(const struct buf *data)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/blob.XXXXXX", tmpdir);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data->data, data->len), (ssize_t)data->len);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static char *in_tmp(const char *rel)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", tmpdir, rel) > 0);
	return p;
}

static const struct ent layer_ents[] = {
	{"./", AE_IFDIR, NULL, 0755, 0},
	{"etc/", AE_IFDIR, NULL, 0751, 0},
	{"etc/hosts", AE_IFREG, "127.0.0.1 localhost\n", 0640, 33},
	{"etc/link", AE_IFLNK, "hosts", 0777, 0},
	{"etc/hard", 0, "etc/hosts", 0, 0},
	{"etc/.wh.gone", AE_IFREG, "", 0644, 0},
	{"opq/", AE_IFDIR, NULL, 0755, 0},
	{"opq/.wh..wh..opq", AE_IFREG, "", 0644, 0},
	{"opq/kept", AE_IFREG, "k", 0600, 0},
	{"deep/a/.wh.b", AE_IFREG, "", 0644, 0},
	{"/abs/file", AE_IFREG, "abs", 0644, 0},
};

static void test_unpack_gzip(void **state)
{
	(void)state;
	struct buf tar = BUF_INIT, gz = BUF_INIT;
	make_tar(layer_ents, sizeof(layer_ents) / sizeof(layer_ents[0]), &tar);
	gzip_buf(&tar, &gz);
	char want[OCIDIGEST_LEN];
	ocidigest_of(tar.data, tar.len, want);
	int fd = blob_fd(&gz);
	char *dest = in_tmp("layer");
	struct layer_result res;
	struct mk_err *e = NULL;
	if (layer_unpack(fd, "application/vnd.oci.image.layer.v1.tar+gzip", dest, want, &res,
			 &e) < 0)
		fail_msg("%s", mk_err_msg(e));
	close(fd);
	assert_string_equal(res.diff_id, want);
	assert_int_equal(res.tar_size, tar.len);
	assert_int_equal(res.size, strlen("127.0.0.1 localhost\n") + 1 + 3);

	char *p = in_tmp("layer/etc/hosts");
	struct stat st, st2;
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, 33);
	assert_int_equal(st.st_mtime, 1000);
	free(p);
	p = in_tmp("layer/etc");
	assert_int_equal(lstat(p, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0751);
	free(p);
	p = in_tmp("layer/etc/hard");
	assert_int_equal(lstat(p, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	free(p);
	p = in_tmp("layer/etc/link");
	char target[64] = {0};
	assert_int_equal(readlink(p, target, sizeof(target) - 1), 5);
	assert_string_equal(target, "hosts");
	free(p);
	p = in_tmp("layer/abs/file");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	/* whiteouts: no ".wh." names left, overlayfs' forms instead */
	p = in_tmp("layer/etc/.wh.gone");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	if (geteuid() == 0) {
		p = in_tmp("layer/etc/gone");
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(major(st.st_rdev), 0);
		assert_int_equal(minor(st.st_rdev), 0);
		free(p);
		p = in_tmp("layer/deep/a/b");
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		free(p);
		p = in_tmp("layer/opq");
		char v[4] = {0};
		assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
		assert_string_equal(v, "y");
		free(p);
	}
	p = in_tmp("layer/opq/.wh..wh..opq");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	free(dest);
	buf_free(&tar);
	buf_free(&gz);
}

static void test_plain_tar_and_sniff(void **state)
{
	(void)state;
	const struct ent ents[] = {{"bin/", AE_IFDIR, NULL, 0755, 0},
				   {"bin/sh", AE_IFREG, "#!", 0755, 0}};
	struct buf tar = BUF_INIT, gz = BUF_INIT;
	make_tar(ents, 2, &tar);
	gzip_buf(&tar, &gz);
	char want[OCIDIGEST_LEN];
	ocidigest_of(tar.data, tar.len, want);
	int fd = blob_fd(&tar);
	char *d1 = in_tmp("plain");
	assert_int_equal(layer_unpack(fd, "application/vnd.oci.image.layer.v1.tar", d1, want, NULL,
				      NULL),
			 0);
	close(fd);
	/* no media type: the gzip magic decides */
	fd = blob_fd(&gz);
	char *d2 = in_tmp("sniffed");
	struct layer_result res;
	assert_int_equal(layer_unpack(fd, NULL, d2, want, &res, NULL), 0);
	close(fd);
	char *p = in_tmp("sniffed/bin/sh");
	assert_int_equal(access(p, X_OK), 0);
	free(p);
	free(d1);
	free(d2);
	buf_free(&tar);
	buf_free(&gz);
}

/* Unpacking fails with msg, and leaves no directory behind. */
static void expect_fail(const struct buf *blob, const char *mt, const char *want_diff, int code,
			const char *msg)
{
	int fd = blob_fd(blob);
	char *dest = in_tmp("bad");
	struct mk_err *e = NULL;
	assert_int_equal(layer_unpack(fd, mt, dest, want_diff, NULL, &e), -1);
	close(fd);
	assert_int_equal(mk_err_code(e), code);
	if (strncmp(mk_err_msg(e), msg, strlen(msg)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", mk_err_msg(e), msg);
	mk_err_free(e);
	if (access(dest, F_OK) == 0)
		fail_msg("%s left behind after \"%s\"", dest, msg);
	free(dest);
}

static void test_failures(void **state)
{
	(void)state;
	const struct ent ok[] = {{"f", AE_IFREG, "data", 0644, 0}};
	struct buf tar = BUF_INIT, gz = BUF_INIT;
	make_tar(ok, 1, &tar);
	gzip_buf(&tar, &gz);
	char got[OCIDIGEST_LEN];
	ocidigest_of(tar.data, tar.len, got);
	const char *other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	char *msg;
	assert_true(asprintf(&msg, "layer diff_id mismatch: want %s, got %s", other, got) > 0);
	expect_fail(&gz, "application/vnd.oci.image.layer.v1.tar+gzip", other, MK_EINVAL, msg);
	free(msg);

	struct buf cut = BUF_INIT;
	buf_append(&cut, gz.data, gz.len / 2);
	expect_fail(&cut, "application/vnd.oci.image.layer.v1.tar+gzip", NULL, MK_EINVAL,
		    "reading layer: gzip stream truncated");
	expect_fail(&gz, "application/vnd.oci.image.layer.v1.tar+zstd", NULL, MK_EUNSUPPORTED,
		    "layer media type application/vnd.oci.image.layer.v1.tar+zstd is not supported");

	const struct ent up[] = {{"a/../../x", AE_IFREG, "x", 0644, 0}};
	struct buf t2 = BUF_INIT;
	make_tar(up, 1, &t2);
	expect_fail(&t2, "application/vnd.oci.image.layer.v1.tar", NULL, MK_EINVAL,
		    "layer entry a/../../x leaves the layer");

	/* writes through a symlink of the layer are refused, whatever writes:
	 * a file, a whiteout, an opaque mark, a second name of the symlink */
	const struct ent via[] = {{"evil", AE_IFLNK, "/tmp", 0777, 0},
				  {"evil/escaped-by-layer-test", AE_IFREG, "x", 0644, 0}};
	struct buf t3 = BUF_INIT;
	make_tar(via, 2, &t3);
	expect_fail(&t3, "application/vnd.oci.image.layer.v1.tar", NULL, MK_EINVAL,
		    "layer entry evil/escaped-by-layer-test goes through the symlink evil");
	assert_int_equal(access("/tmp/escaped-by-layer-test", F_OK), -1);
	const struct ent wh[] = {{"d/", AE_IFDIR, NULL, 0755, 0},
				 {"d/evil", AE_IFLNK, "/tmp", 0777, 0},
				 {"d/evil/.wh.escaped-by-layer-test", AE_IFREG, "", 0644, 0}};
	struct buf t4 = BUF_INIT;
	make_tar(wh, 3, &t4);
	expect_fail(&t4, "application/vnd.oci.image.layer.v1.tar", NULL, MK_EINVAL,
		    "layer entry d/evil/.wh.escaped-by-layer-test goes through the symlink d/evil");
	const struct ent opq[] = {{"evil", AE_IFLNK, "/tmp", 0777, 0},
				  {"evil/.wh..wh..opq", AE_IFREG, "", 0644, 0}};
	struct buf t5 = BUF_INIT;
	make_tar(opq, 2, &t5);
	expect_fail(&t5, "application/vnd.oci.image.layer.v1.tar", NULL, MK_EINVAL,
		    "layer entry evil/.wh..wh..opq goes through the symlink evil");
	const struct ent hl[] = {{"evil", AE_IFLNK, "/tmp", 0777, 0},
				 {"alias", 0, "evil", 0, 0},
				 {"alias/escaped-by-layer-test", AE_IFREG, "x", 0644, 0}};
	struct buf t6 = BUF_INIT;
	make_tar(hl, 3, &t6);
	expect_fail(&t6, "application/vnd.oci.image.layer.v1.tar", NULL, MK_EINVAL,
		    "layer entry alias/escaped-by-layer-test goes through the symlink alias");
	assert_int_equal(access("/tmp/escaped-by-layer-test", F_OK), -1);
	/* a symlink replaced by a directory is a directory again */
	const struct ent re[] = {{"x", AE_IFLNK, "/tmp", 0777, 0},
				 {"x", AE_IFDIR, NULL, 0755, 0},
				 {"x/f", AE_IFREG, "f", 0644, 0}};
	struct buf t7 = BUF_INIT;
	make_tar(re, 3, &t7);
	int fd = blob_fd(&t7);
	char *dest = in_tmp("re");
	struct mk_err *e = NULL;
	if (layer_unpack(fd, "application/vnd.oci.image.layer.v1.tar", dest, NULL, NULL, &e) < 0)
		fail_msg("%s", mk_err_msg(e));
	close(fd);
	char *inside = in_tmp("re/x/f");
	struct stat st;
	assert_int_equal(lstat(inside, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	free(inside);
	free(dest);
	buf_free(&t4);
	buf_free(&t5);
	buf_free(&t6);
	buf_free(&t7);

	struct buf junk = BUF_INIT;
	buf_append_str(&junk, "this is not a tar archive, not at all, really");
	expect_fail(&junk, "application/vnd.oci.image.layer.v1.tar", NULL, MK_EINVAL,
		    "reading layer");
	buf_free(&tar);
	buf_free(&gz);
	buf_free(&cut);
	buf_free(&t2);
	buf_free(&t3);
	buf_free(&junk);
}

/* A layer larger than one read of the inflater's input, as one gzip member
 * and as two (pigz and concatenated layers write several); a damaged
 * checksum and a cut trailer are refused. */
static void test_gzip_members_and_checks(void **state)
{
	(void)state;
	size_t big_len = 700 * 1024;
	char *big = malloc(big_len + 1);
	uint32_t x = 12345;
	for (size_t i = 0; i < big_len; i++) {
		x = x * 1103515245 + 12345;
		big[i] = (char)('a' + (x >> 16) % 26);
	}
	big[big_len] = '\0';
	const struct ent ents[] = {{"d/", AE_IFDIR, NULL, 0755, 0},
				   {"d/big", AE_IFREG, big, 0644, 0},
				   {"d/small", AE_IFREG, "small", 0644, 0}};
	struct buf tar = BUF_INIT, one = BUF_INIT, two = BUF_INIT, half = BUF_INIT;
	make_tar(ents, 3, &tar);
	gzip_buf(&tar, &one);
	assert_true(one.len > 256 * 1024);
	char want[OCIDIGEST_LEN];
	ocidigest_of(tar.data, tar.len, want);

	struct buf a = {.data = tar.data, .len = tar.len / 3};
	struct buf b = {.data = tar.data + tar.len / 3, .len = tar.len - tar.len / 3};
	gzip_buf(&a, &two);
	gzip_buf(&b, &half);
	buf_append(&two, half.data, half.len);

	const struct buf *blobs[] = {&one, &two};
	const char *names[] = {"one-member", "two-members"};
	for (int i = 0; i < 2; i++) {
		int fd = blob_fd(blobs[i]);
		char *dest = in_tmp(names[i]);
		struct layer_result res;
		struct mk_err *e = NULL;
		if (layer_unpack(fd, "application/vnd.oci.image.layer.v1.tar+gzip", dest, want,
				 &res, &e) < 0)
			fail_msg("%s: %s", names[i], mk_err_msg(e));
		close(fd);
		assert_int_equal(res.tar_size, tar.len);
		assert_int_equal(res.size, big_len + 5);
		char *p = in_tmp(names[i]);
		char *f = NULL;
		assert_true(asprintf(&f, "%s/d/big", p) > 0);
		struct stat st;
		assert_int_equal(stat(f, &st), 0);
		assert_int_equal(st.st_size, big_len);
		free(f);
		free(p);
		free(dest);
	}

	struct buf bad = BUF_INIT;
	buf_append(&bad, one.data, one.len);
	bad.data[bad.len - 8] ^= 0x55; /* the trailer's CRC-32 */
	expect_fail(&bad, "application/vnd.oci.image.layer.v1.tar+gzip", NULL, MK_EINVAL,
		    "reading layer: gzip: incorrect data check");
	struct buf cut = BUF_INIT;
	buf_append(&cut, one.data, one.len - 3);
	expect_fail(&cut, "application/vnd.oci.image.layer.v1.tar+gzip", NULL, MK_EINVAL,
		    "reading layer: gzip stream truncated");
	struct buf junk = BUF_INIT;
	buf_append(&junk, one.data, 10); /* a gzip header, then no deflate data */
	buf_append_str(&junk, "\xff\xff\xff\xff not deflate");
	expect_fail(&junk, "application/vnd.oci.image.layer.v1.tar+gzip", NULL, MK_EINVAL,
		    "reading layer: gzip: ");
	free(big);
	buf_free(&tar);
	buf_free(&one);
	buf_free(&two);
	buf_free(&half);
	buf_free(&bad);
	buf_free(&cut);
	buf_free(&junk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unpack_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_tar_and_sniff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gzip_members_and_checks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
