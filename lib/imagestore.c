#include "imagestore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "cleanup.h"
#include "imageref.h"
#include "layer.h"
#include "ocidigest.h"
#include "xalloc.h"

#define MT_OCI_INDEX	   "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST	   "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST	   "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

#if defined(__x86_64__)
#define PLATFORM_ARCH "amd64"
#elif defined(__aarch64__)
#define PLATFORM_ARCH "arm64"
#else
#error "unknown architecture for image platform selection"
#endif

struct imagestore {
	char *dir; /* <root>/images, resolved */
};

const char *imagestore_path(const struct imagestore *s)
{
	return s->dir;
}

static int mkdir_p(const char *path, struct mk_err **err)
{
	cleanup_free char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return mk_err_errno(err, MK_EIO, errno, "mkdir %s", p);
			*s = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Leftovers "<name>.tmp-<pid>-..." of processes that are gone. */
static void sweep_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *t = strstr(de->d_name, ".tmp-");
		if (!t)
			continue;
		long pid = strtol(t + 5, NULL, 10);
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		cleanup_free char *p = xasprintf("%s/%s", dir, de->d_name);
		layer_remove_tree(p, NULL);
	}
	closedir(d);
}

struct imagestore *imagestore_open(const char *root_dir, struct mk_err **err)
{
	if (mkdir_p(root_dir, err) < 0)
		return NULL;
	char real[PATH_MAX];
	if (!realpath(root_dir, real)) {
		mk_err_errno(err, MK_EIO, errno, "resolving %s", root_dir);
		return NULL;
	}
	struct imagestore *s = xcalloc(1, sizeof(*s));
	s->dir = xasprintf("%s/images", real);
	static const char *const subs[] = {"blobs/sha256", "layers", "ingest", "locks", "tmp"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		cleanup_free char *p = xasprintf("%s/%s", s->dir, subs[i]);
		if (mkdir_p(p, err) < 0) {
			imagestore_close(s);
			return NULL;
		}
	}
	static const char *const sweep[] = {"layers", "ingest", "tmp", "blobs/sha256"};
	for (size_t i = 0; i < sizeof(sweep) / sizeof(sweep[0]); i++) {
		cleanup_free char *p = xasprintf("%s/%s", s->dir, sweep[i]);
		sweep_tmp(p);
	}
	return s;
}

void imagestore_close(struct imagestore *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

/* ---- locks and metadata ---- */

/* Opens and flocks dir/name; returns the fd (close it to unlock). */
static int lock_file(const struct imagestore *s, const char *name, int how, struct mk_err **err)
{
	cleanup_free char *p = xasprintf("%s/%s", s->dir, name);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "opening %s", p);
	while (flock(fd, how) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return mk_err_errno(err, MK_EIO, e, "locking %s", p);
	}
	return fd;
}

static json_t *meta_read(const struct imagestore *s, struct mk_err **err)
{
	cleanup_free char *p = xasprintf("%s/images.json", s->dir);
	json_error_t jerr;
	json_t *m = json_load_file(p, 0, &jerr);
	if (!m) {
		if (access(p, F_OK) < 0 && errno == ENOENT)
			m = json_object();
		else
			return mk_err_set(err, MK_EIO, "reading %s: %s", p, jerr.text), NULL;
	}
	if (!json_is_object(json_object_get(m, "images")))
		json_object_set_new(m, "images", json_object());
	if (!json_is_object(json_object_get(m, "holds")))
		json_object_set_new(m, "holds", json_object());
	return m;
}

/* meta_read() under meta.lock taken as how (LOCK_SH, LOCK_EX): the lock's
 * descriptor goes to *lk, which the caller closes to release it (also on
 * error, when it may already be open). */
static json_t *meta_lock_read(const struct imagestore *s, int how, int *lk, struct mk_err **err)
{
	*lk = lock_file(s, "meta.lock", how, err);
	return *lk < 0 ? NULL : meta_read(s, err);
}

/* Writes path whole or not at all (tmp + rename); durable also fsyncs
 * before the rename. */
static int write_file_atomic(const char *path, const void *data, size_t len, bool durable,
			     struct mk_err **err)
{
	cleanup_free char *tmp =
		xasprintf("%s.tmp-%d-%lx", path, (int)getpid(), (unsigned long)pthread_self());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "creating %s", tmp);
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return mk_err_errno(err, MK_EIO, e, "writing %s", tmp);
		}
		off += (size_t)n;
	}
	if ((durable && fsync(fd) < 0) || close(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return mk_err_errno(err, MK_EIO, e, "writing %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return mk_err_errno(err, MK_EIO, e, "renaming %s", tmp);
	}
	return 0;
}

static int meta_write(const struct imagestore *s, json_t *m, struct mk_err **err)
{
	cleanup_free char *p = xasprintf("%s/images.json", s->dir);
	cleanup_free char *text = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text)
		abort();
	return write_file_atomic(p, text, strlen(text), true, err);
}

/* ---- records ---- */

static void strn_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void imagestore_image_free(struct imagestore_image *img)
{
	if (!img)
		return;
	free(img->id);
	free(img->manifest_digest);
	strn_free(img->repo_tags, img->n_tags);
	strn_free(img->repo_digests, img->n_digests);
	strn_free(img->layers, img->n_layers);
	json_decref(img->config);
	free(img);
}

void imagestore_images_free(struct imagestore_image **imgs, size_t n)
{
	if (!imgs)
		return;
	for (size_t i = 0; i < n; i++)
		imagestore_image_free(imgs[i]);
	free(imgs);
}

static char **strv_from_json(const json_t *arr, size_t *n)
{
	*n = json_array_size(arr);
	char **v = xcalloc(*n + 1, sizeof(*v));
	for (size_t i = 0; i < *n; i++) {
		const char *t = json_string_value(json_array_get(arr, i));
		v[i] = xstrdup(t ? t : "");
	}
	return v;
}

static char *blob_path(const struct imagestore *s, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", s->dir, digest + 7);
}

static char *layer_dir(const struct imagestore *s, const char *diff_id)
{
	return xasprintf("%s/layers/%s", s->dir, diff_id + 7);
}

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* The image info of record rec (id), with its config read from the blobs.
 * complete: require every layer directory. */
static int image_from_record(const struct imagestore *s, const json_t *meta, const char *id,
			     const json_t *rec, bool complete, struct imagestore_image **out,
			     struct mk_err **err)
{
	struct imagestore_image *img = xcalloc(1, sizeof(*img));
	img->id = xstrdup(id);
	const char *md = json_string_value(json_object_get(rec, "manifest"));
	img->manifest_digest = xstrdup(md ? md : "");
	img->repo_tags = strv_from_json(json_object_get(rec, "tags"), &img->n_tags);
	img->repo_digests = strv_from_json(json_object_get(rec, "digests"), &img->n_digests);
	json_t *layers = json_object_get(rec, "layers");
	img->n_layers = json_array_size(layers);
	img->layers = xcalloc(img->n_layers + 1, sizeof(char *));
	for (size_t i = 0; i < img->n_layers; i++) {
		/* top layer first */
		json_t *l = json_array_get(layers, img->n_layers - 1 - i);
		const char *diff = json_string_value(json_object_get(l, "diffID"));
		img->layers[i] = layer_dir(s, diff ? diff : "sha256:");
		if (complete && !path_exists(img->layers[i])) {
			imagestore_image_free(img);
			return mk_err_set(err, MK_ENOTFOUND, "image %s: layer %s is missing", id,
					  diff ? diff : "?");
		}
	}
	img->size = (uint64_t)json_integer_value(json_object_get(rec, "size"));
	img->pulled_at = json_integer_value(json_object_get(rec, "pulledAt"));
	img->last_used = json_integer_value(json_object_get(rec, "lastUsed"));
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(meta, "holds"), k, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
			img->n_holders++;
	}
	cleanup_free char *cp = blob_path(s, id);
	json_error_t jerr;
	img->config = json_load_file(cp, 0, &jerr);
	if (!img->config) {
		imagestore_image_free(img);
		return mk_err_set(err, complete ? MK_ENOTFOUND : MK_EIO,
				  "image %s: reading its config: %s", id, jerr.text);
	}
	*out = img;
	return 0;
}

static bool json_strarr_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

static void json_strarr_remove(json_t *arr, const char *s)
{
	for (size_t i = json_array_size(arr); i-- > 0;) {
		json_t *v = json_array_get(arr, i);
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			json_array_remove(arr, i);
	}
}

/* Finds the id of the image ref names in meta; NULL if none. Borrowed from meta. */
static const char *resolve(const json_t *meta, const char *ref, struct mk_err **err)
{
	json_t *images = json_object_get(meta, "images");
	const char *id;
	json_t *rec;
	/* an image id, or a prefix of one */
	const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
	size_t hl = strlen(hex);
	bool allhex = hl >= 12 && hl <= 64;
	for (size_t i = 0; allhex && i < hl; i++)
		allhex = (hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f');
	if (allhex) {
		const char *found = NULL;
		int count = 0;
		json_object_foreach(images, id, rec)
		{
			if (strncmp(id + 7, hex, hl) == 0) {
				found = id;
				count++;
			}
		}
		if (count == 1)
			return found;
		if (count > 1) {
			mk_err_set(err, MK_EINVAL, "image id prefix %s is ambiguous", ref);
			return NULL;
		}
		if (hl == 64)
			return NULL;
	}
	struct imageref r;
	if (imageref_parse(ref, &r, err) < 0)
		return NULL;
	cleanup_free char *tagged = imageref_tagged(&r);
	cleanup_free char *digested = imageref_digested(&r);
	imageref_clear(&r);
	json_object_foreach(images, id, rec)
	{
		if (digested && json_strarr_has(json_object_get(rec, "digests"), digested))
			return id;
		if (!digested && tagged && json_strarr_has(json_object_get(rec, "tags"), tagged))
			return id;
	}
	return NULL;
}

/* resolve(), with "image <ref> not found" (MK_ENOTFOUND) when nothing matches. */
static const char *find_image(const json_t *meta, const char *ref, struct mk_err **err)
{
	struct mk_err *rerr = NULL;
	const char *id = resolve(meta, ref, &rerr);
	if (!id && !rerr)
		mk_err_set(err, MK_ENOTFOUND, "image %s not found", ref);
	else if (!id && err && !*err)
		*err = rerr;
	else
		mk_err_free(rerr);
	return id;
}

int imagestore_lookup(struct imagestore *s, const char *ref, struct imagestore_image **out,
		      struct mk_err **err)
{
	*out = NULL;
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_SH, &lk, err);
	if (!meta)
		return -1;
	const char *id = find_image(meta, ref, err);
	if (!id)
		return -1;
	json_t *rec = json_object_get(json_object_get(meta, "images"), id);
	return image_from_record(s, meta, id, rec, true, out, err);
}

static int cmp_images(const void *a, const void *b)
{
	const struct imagestore_image *x = *(struct imagestore_image *const *)a;
	const struct imagestore_image *y = *(struct imagestore_image *const *)b;
	if (x->n_tags && y->n_tags)
		return strcmp(x->repo_tags[0], y->repo_tags[0]);
	if (x->n_tags != y->n_tags)
		return x->n_tags ? -1 : 1;
	return strcmp(x->id, y->id);
}

int imagestore_list(struct imagestore *s, struct imagestore_image ***out, size_t *n,
		    struct mk_err **err)
{
	*out = NULL;
	*n = 0;
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_SH, &lk, err);
	if (!meta)
		return -1;
	json_t *images = json_object_get(meta, "images");
	struct imagestore_image **arr = xcalloc(json_object_size(images) + 1, sizeof(*arr));
	size_t k = 0;
	const char *id;
	json_t *rec;
	json_object_foreach(images, id, rec)
	{
		if (image_from_record(s, meta, id, rec, false, &arr[k], err) < 0) {
			imagestore_images_free(arr, k);
			return -1;
		}
		k++;
	}
	qsort(arr, k, sizeof(*arr), cmp_images);
	*out = arr;
	*n = k;
	return 0;
}

/* ---- storing blobs ---- */

/* A unique temporary name beside final. New string. */
static char *tmp_name(const char *final)
{
	static atomic_uint counter;
	return xasprintf("%s.tmp-%d-%u", final, (int)getpid(), atomic_fetch_add(&counter, 1));
}

/* Stores bytes as the blob of their digest (if absent). */
static int put_blob_bytes(const struct imagestore *s, const void *data, size_t len,
			  const char *digest, struct mk_err **err)
{
	cleanup_free char *p = blob_path(s, digest);
	if (path_exists(p))
		return 0;
	char got[OCIDIGEST_LEN];
	ocidigest_of(data, len, got);
	if (strcmp(got, digest) != 0)
		return mk_err_set(err, MK_EINVAL, "digest mismatch for blob %s: got %s", digest,
				  got);
	/* not fsynced, as no blob is (see ensure_blob): an fsync here held
	 * every pull up by 4-22 ms before its first layer request */
	return write_file_atomic(p, data, len, false, err);
}

static int read_file(const char *path, struct buf *b, struct mk_err **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mk_err_errno(err, errno == ENOENT ? MK_ENOTFOUND : MK_EIO, errno,
				    "opening %s", path);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mk_err_errno(err, MK_EIO, errno, "reading %s", path);
		if (n == 0)
			return 0;
		buf_append(b, chunk, (size_t)n);
	}
}

/* Where the bytes of a blob come from: a registry, or a directory of an
 * OCI layout. */
struct source {
	struct registry_client *client; /* or NULL */
	const char *layout;		/* OCI layout directory, or NULL */
};

/* Copies the layout's blob into fd, checking size and digest. */
static int layout_blob_copy(const char *layout, const char *digest, int64_t size, int fd,
			    struct mk_err **err)
{
	cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", layout, digest + 7);
	cleanup_close int in = open(p, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return mk_err_errno(err, MK_ENOTFOUND, errno, "opening blob %s", p);
	cleanup_free char *chunk = xmalloc(OCIDIGEST_CHUNK); /* not __thread: see ocidigest_file */
	struct ocidigest *d = ocidigest_new();
	int64_t total = 0;
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, chunk, OCIDIGEST_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = mk_err_errno(err, MK_EIO, errno, "reading %s", p);
			break;
		}
		if (n == 0)
			break;
		ocidigest_update(d, chunk, (size_t)n);
		total += n;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, chunk + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = mk_err_errno(err, MK_EIO, errno, "writing blob %s", digest);
				goto out;
			}
			off += w;
		}
	}
	if (rc == 0) {
		char got[OCIDIGEST_LEN];
		ocidigest_final(d, got);
		if (size >= 0 && total != size)
			rc = mk_err_set(err, MK_EINVAL, "blob %s has %lld bytes, want %lld", digest,
					(long long)total, (long long)size);
		else if (strcmp(got, digest) != 0)
			rc = mk_err_set(err, MK_EINVAL, "digest mismatch for blob %s: got %s",
					digest, got);
	}
out:
	ocidigest_free(d);
	return rc;
}

/* Makes sure the blob is in the store: fetched into ingest/, checked, renamed. */
static int ensure_blob(const struct imagestore *s, const struct source *src, const char *digest,
		       int64_t size, struct mk_err **err)
{
	if (!imageref_digest_valid(digest))
		return mk_err_set(err, MK_EINVAL, "blob digest %s is not sha256:<64 hex>", digest);
	cleanup_free char *p = blob_path(s, digest);
	if (path_exists(p))
		return 0;
	cleanup_free char *base = xasprintf("%s/ingest/%s", s->dir, digest + 7);
	cleanup_free char *tmp = tmp_name(base);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "creating %s", tmp);
	int rc = src->client ? registry_blob_get(src->client, digest, size, fd, err)
			     : layout_blob_copy(src->layout, digest, size, fd, err);
	/* Renamed into place only when complete and checked, so a crashed
	 * process never leaves a blob that looks whole. Not fsynced (nor are
	 * unpacked layers, as in Docker and containerd's unpacker): after a power
	 * loss a recorded layer may be short; images.json itself is fsynced. */
	close(fd);
	if (rc == 0 && rename(tmp, p) < 0)
		rc = mk_err_errno(err, MK_EIO, errno, "storing blob %s", digest);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* ---- manifests ---- */

struct layer_desc {
	char *digest;
	char *media_type;
	int64_t size;
	char *diff_id;
};

struct manifest {
	char *config_digest;
	int64_t config_size;
	struct layer_desc *layers;
	size_t n_layers;
};

static void manifest_clear(struct manifest *m)
{
	free(m->config_digest);
	for (size_t i = 0; i < m->n_layers; i++) {
		free(m->layers[i].digest);
		free(m->layers[i].media_type);
		free(m->layers[i].diff_id);
	}
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

static bool is_index(const char *mt, const json_t *doc)
{
	if (mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0))
		return true;
	return (!mt || !*mt) && json_is_array(json_object_get(doc, "manifests"));
}

/* The digest of the linux/<arch> entry of an index; borrowed from idx. */
static const char *choose_platform(const json_t *idx, struct mk_err **err)
{
	json_t *ms = json_object_get(idx, "manifests");
	size_t i;
	json_t *m;
	json_array_foreach(ms, i, m)
	{
		json_t *p = json_object_get(m, "platform");
		const char *os = json_string_value(json_object_get(p, "os"));
		const char *arch = json_string_value(json_object_get(p, "architecture"));
		const char *d = json_string_value(json_object_get(m, "digest"));
		if (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, PLATFORM_ARCH) == 0 && d)
			return d;
	}
	if (json_array_size(ms) == 1 && !json_object_get(json_array_get(ms, 0), "platform"))
		return json_string_value(json_object_get(json_array_get(ms, 0), "digest"));
	mk_err_set(err, MK_EUNSUPPORTED,
		   "no matching manifest for linux/" PLATFORM_ARCH " in the manifest list entries");
	return NULL;
}

static int manifest_parse(const char *body, size_t len, const char *mt, struct manifest *out,
			  struct mk_err **err)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	cleanup_json json_t *doc = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(doc))
		return mk_err_set(err, MK_EINVAL, "manifest is not a JSON object");
	if (json_integer_value(json_object_get(doc, "schemaVersion")) == 1 ||
	    (mt && strstr(mt, "prettyjws")))
		return mk_err_set(err, MK_EUNSUPPORTED, "schema 1 manifests are not supported");
	if (mt && *mt && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0)
		return mk_err_set(err, MK_EUNSUPPORTED, "manifest media type %s is not supported",
				  mt);
	json_t *cfg = json_object_get(doc, "config");
	const char *cd = json_string_value(json_object_get(cfg, "digest"));
	if (!cd || !imageref_digest_valid(cd))
		return mk_err_set(err, MK_EINVAL, "manifest has no valid config digest");
	out->config_digest = xstrdup(cd);
	out->config_size = json_is_integer(json_object_get(cfg, "size"))
				   ? json_integer_value(json_object_get(cfg, "size"))
				   : -1;
	json_t *layers = json_object_get(doc, "layers");
	if (!json_is_array(layers)) {
		manifest_clear(out);
		return mk_err_set(err, MK_EINVAL, "manifest has no layers list");
	}
	out->n_layers = json_array_size(layers);
	out->layers = xcalloc(out->n_layers + 1, sizeof(*out->layers));
	for (size_t i = 0; i < out->n_layers; i++) {
		json_t *l = json_array_get(layers, i);
		const char *d = json_string_value(json_object_get(l, "digest"));
		const char *lm = json_string_value(json_object_get(l, "mediaType"));
		json_t *sz = json_object_get(l, "size");
		if (!d || !imageref_digest_valid(d) || !json_is_integer(sz)) {
			manifest_clear(out);
			return mk_err_set(err, MK_EINVAL, "manifest layer %zu is malformed", i);
		}
		out->layers[i].digest = xstrdup(d);
		out->layers[i].media_type = xstrdup(lm ? lm : MT_OCI_MANIFEST);
		out->layers[i].size = json_integer_value(sz);
	}
	return 0;
}

/* Fills the layers' diff_ids from the stored config. */
static int manifest_diff_ids(const struct imagestore *s, struct manifest *m, struct mk_err **err)
{
	cleanup_free char *cp = blob_path(s, m->config_digest);
	json_error_t jerr;
	cleanup_json json_t *cfg = json_load_file(cp, 0, &jerr);
	if (!json_is_object(cfg))
		return mk_err_set(err, MK_EINVAL, "image config %s: %s", m->config_digest,
				  cfg ? "not an object" : jerr.text);
	json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (json_array_size(ids) != m->n_layers)
		return mk_err_set(err, MK_EINVAL,
				  "image config %s lists %zu diff_ids for %zu layers",
				  m->config_digest, json_array_size(ids), m->n_layers);
	for (size_t i = 0; i < m->n_layers; i++) {
		const char *d = json_string_value(json_array_get(ids, i));
		if (!d || !imageref_digest_valid(d))
			return mk_err_set(err, MK_EINVAL, "image config %s: diff_id %zu malformed",
					  m->config_digest, i);
		m->layers[i].diff_id = xstrdup(d);
	}
	return 0;
}

/* ---- layers ---- */

struct unpack_job {
	int fd;
	const struct layer_desc *l;
	const char *dest;
	int rc;
	struct mk_err *err;
};

static void *unpack_thread(void *arg)
{
	struct unpack_job *j = arg;
	j->rc = layer_unpack(j->fd, j->l->media_type, j->dest, j->l->diff_id, NULL, &j->err);
	/* closing our end tells the downloader to stop sending if we gave up */
	close(j->fd);
	return NULL;
}

/* Downloads the layer's blob while unpacking it into tmp, through a socket
 * pair: the unpack runs as the bytes arrive instead of after the download.
 * *unpacked tells whether tmp holds the checked layer; when the stream was
 * not the exact blob (a download that started over), the caller unpacks
 * from the stored blob instead. */
static int fetch_and_unpack(const struct imagestore *s, const struct source *src,
			    const struct layer_desc *l, const char *tmp, bool *unpacked,
			    struct mk_err **err)
{
	*unpacked = false;
	cleanup_free char *p = blob_path(s, l->digest);
	cleanup_free char *base = xasprintf("%s/ingest/%s", s->dir, l->digest + 7);
	cleanup_free char *itmp = tmp_name(base);
	int fd = open(itmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "creating %s", itmp);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		int e = errno;
		close(fd);
		unlink(itmp);
		return mk_err_errno(err, MK_EIO, e, "socketpair");
	}
	/* large buffers: fewer wake-ups of the unpacker (best effort) */
	int bufsz = 4 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	struct unpack_job job = {.fd = sv[1], .l = l, .dest = tmp};
	pthread_t th;
	if (pthread_create(&th, NULL, unpack_thread, &job) != 0) {
		close(sv[0]);
		close(sv[1]);
		close(fd);
		unlink(itmp);
		return mk_err_set(err, MK_EIO, "starting an unpack thread failed");
	}
	bool tee_ok = false;
	int rc = registry_blob_get_tee(src->client, l->digest, l->size, fd, sv[0], &tee_ok, err);
	close(sv[0]); /* end of stream for the unpacker */
	pthread_join(th, NULL);
	close(fd);
	if (rc == 0 && rename(itmp, p) < 0)
		rc = mk_err_errno(err, MK_EIO, errno, "storing blob %s", l->digest);
	if (rc < 0) {
		unlink(itmp);
		if (job.rc == 0)
			layer_remove_tree(tmp, NULL);
		mk_err_free(job.err);
		return -1;
	}
	if (tee_ok && job.rc < 0) {
		/* the exact blob, checked, did not unpack: that is final */
		if (err && !*err)
			*err = job.err;
		else
			mk_err_free(job.err);
		return -1;
	}
	mk_err_free(job.err);
	if (job.rc == 0 && !tee_ok)
		layer_remove_tree(tmp, NULL);
	*unpacked = job.rc == 0 && tee_ok;
	return 0;
}

/* Fetches (if needed) and unpacks one layer, under its lock so that one
 * pull does it and any other waits and finds it done. */
static int ensure_layer(const struct imagestore *s, const struct source *src,
			const struct layer_desc *l, struct mk_err **err)
{
	cleanup_free char *dir = layer_dir(s, l->diff_id);
	if (path_exists(dir))
		return 0;
	cleanup_free char *lname = xasprintf("locks/%s", l->diff_id + 7);
	cleanup_close int lk = lock_file(s, lname, LOCK_EX, err);
	if (lk < 0)
		return -1;
	if (path_exists(dir))
		return 0;
	cleanup_free char *tmp = tmp_name(dir);
	cleanup_free char *bp = blob_path(s, l->digest);
	bool unpacked = false;
	if (!imageref_digest_valid(l->digest))
		return mk_err_set(err, MK_EINVAL, "blob digest %s is not sha256:<64 hex>",
				  l->digest);
	if (!path_exists(bp) && src->client) {
		if (fetch_and_unpack(s, src, l, tmp, &unpacked, err) < 0)
			return mk_err_wrap(err, "layer %s", l->digest);
	} else if (ensure_blob(s, src, l->digest, l->size, err) < 0) {
		return -1;
	}
	if (!unpacked) {
		cleanup_close int fd = open(bp, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return mk_err_errno(err, MK_EIO, errno, "opening %s", bp);
		if (layer_unpack(fd, l->media_type, tmp, l->diff_id, NULL, err) < 0)
			return mk_err_wrap(err, "layer %s", l->digest);
	}
	if (rename(tmp, dir) < 0) {
		int e = errno;
		layer_remove_tree(tmp, NULL);
		return mk_err_errno(err, MK_EIO, e, "renaming %s", tmp);
	}
	return 0;
}

struct layer_job {
	const struct imagestore *s;
	const struct source *src;
	const struct manifest *m;
	atomic_size_t next;
	pthread_mutex_t lock;
	struct mk_err *err; /* first failure */
};

static void *layer_worker(void *arg)
{
	struct layer_job *j = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->m->n_layers)
			return NULL;
		pthread_mutex_lock(&j->lock);
		bool failed = j->err != NULL;
		pthread_mutex_unlock(&j->lock);
		if (failed)
			return NULL;
		struct mk_err *e = NULL;
		if (ensure_layer(j->s, j->src, &j->m->layers[i], &e) < 0) {
			pthread_mutex_lock(&j->lock);
			if (!j->err)
				j->err = e;
			else
				mk_err_free(e);
			pthread_mutex_unlock(&j->lock);
		}
	}
}

static int ensure_layers(const struct imagestore *s, const struct source *src,
			 const struct manifest *m, int parallel, struct mk_err **err)
{
	struct layer_job j = {.s = s, .src = src, .m = m};
	pthread_mutex_init(&j.lock, NULL);
	size_t nt = m->n_layers < (size_t)parallel ? m->n_layers : (size_t)parallel;
	pthread_t th[16];
	if (nt > 16)
		nt = 16;
	size_t started = 0;
	for (size_t i = 1; i < nt; i++) {
		if (pthread_create(&th[started], NULL, layer_worker, &j) != 0)
			break;
		started++;
	}
	layer_worker(&j);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.lock);
	if (j.err) {
		if (err && !*err)
			*err = j.err;
		else
			mk_err_free(j.err);
		return -1;
	}
	return 0;
}

/* ---- recording ---- */

/* Records the image under the meta lock: tags move to it, digests join. */
static int record_image(struct imagestore *s, const struct manifest *m, const char *manifest_digest,
			uint64_t manifest_size, const char *tag_ref, const char *digest_ref,
			struct mk_err **err)
{
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_EX, &lk, err);
	if (!meta)
		return -1;
	json_t *images = json_object_get(meta, "images");
	const char *id = m->config_digest;
	json_t *rec = json_object_get(images, id);
	int64_t now = (int64_t)time(NULL);
	if (!rec) {
		rec = json_object();
		json_object_set_new(rec, "tags", json_array());
		json_object_set_new(rec, "digests", json_array());
		json_object_set_new(rec, "pulledAt", json_integer(now));
		json_object_set_new(images, id, rec);
	}
	uint64_t size = manifest_size + (uint64_t)(m->config_size > 0 ? m->config_size : 0);
	json_t *layers = json_array();
	for (size_t i = 0; i < m->n_layers; i++) {
		size += (uint64_t)m->layers[i].size;
		json_array_append_new(layers,
				      json_pack("{s:s,s:s,s:I,s:s}", "digest", m->layers[i].digest,
						"diffID", m->layers[i].diff_id, "size",
						(json_int_t)m->layers[i].size, "mediaType",
						m->layers[i].media_type));
	}
	json_object_set_new(rec, "manifest", json_string(manifest_digest));
	json_object_set_new(rec, "layers", layers);
	json_object_set_new(rec, "size", json_integer((json_int_t)size));
	json_object_set_new(rec, "lastUsed", json_integer(now));
	if (tag_ref) {
		const char *oid;
		json_t *orec;
		json_object_foreach(images, oid, orec)
			json_strarr_remove(json_object_get(orec, "tags"), tag_ref);
		json_array_append_new(json_object_get(rec, "tags"), json_string(tag_ref));
	}
	if (digest_ref && !json_strarr_has(json_object_get(rec, "digests"), digest_ref))
		json_array_append_new(json_object_get(rec, "digests"), json_string(digest_ref));
	return meta_write(s, meta, err);
}

/* Fetches or copies everything of one platform manifest whose bytes are
 * stored already, then records the image. */
static int complete_image(struct imagestore *s, const struct source *src, const char *body,
			  size_t len, const char *mt, const char *manifest_digest,
			  const char *tag_ref, const char *digest_ref, int parallel,
			  struct mk_err **err)
{
	struct manifest m;
	if (manifest_parse(body, len, mt, &m, err) < 0)
		return -1;
	int rc = ensure_blob(s, src, m.config_digest, m.config_size, err);
	if (rc == 0)
		rc = manifest_diff_ids(s, &m, err);
	if (rc == 0)
		rc = ensure_layers(s, src, &m, parallel, err);
	if (rc == 0)
		rc = record_image(s, &m, manifest_digest, len, tag_ref, digest_ref, err);
	manifest_clear(&m);
	return rc;
}

/* ---- pull ---- */

static int pull_from(struct imagestore *s, struct registry_client *c, const struct imageref *r,
		     int parallel, struct mk_err **err)
{
	struct registry_manifest top;
	const char *reference = r->digest ? r->digest : r->tag;
	if (registry_manifest_get(c, reference, &top, err) < 0)
		return -1;
	cleanup_free char *tagged = r->digest ? NULL : imageref_tagged(r);
	cleanup_free char *repo = imageref_repo(r);
	cleanup_free char *digest_ref = xasprintf("%s@%s", repo, top.digest);
	int rc = put_blob_bytes(s, top.body, top.len, top.digest, err);
	cleanup_json json_t *doc = json_loadb(top.body, top.len, 0, NULL);
	if (rc == 0 && is_index(top.media_type, doc)) {
		const char *d = choose_platform(doc, err);
		struct registry_manifest pm;
		if (!d || registry_manifest_get(c, d, &pm, err) < 0) {
			registry_manifest_clear(&top);
			return -1;
		}
		rc = put_blob_bytes(s, pm.body, pm.len, pm.digest, err);
		if (rc == 0)
			rc = complete_image(s, &(struct source){.client = c}, pm.body, pm.len,
					    pm.media_type, pm.digest, tagged, digest_ref, parallel,
					    err);
		registry_manifest_clear(&pm);
	} else if (rc == 0) {
		rc = complete_image(s, &(struct source){.client = c}, top.body, top.len,
				    top.media_type, top.digest, tagged, digest_ref, parallel, err);
	}
	registry_manifest_clear(&top);
	return rc;
}

static int rank(int code)
{
	return code == MK_ENOTFOUND || code == MK_EUNAUTHORIZED ? 1 : 0;
}

int imagestore_pull(struct imagestore *s, const char *ref, const struct imagestore_pull_opts *o,
		    struct imagestore_image **out, struct mk_err **err)
{
	if (out)
		*out = NULL;
	struct imagestore_pull_opts defaults = {.parallel = 3};
	if (!o)
		o = &defaults;
	int parallel = o->parallel > 0 ? o->parallel : 3;
	struct imageref r;
	if (imageref_parse(ref, &r, err) < 0)
		return -1;
	cleanup_free char *full = imageref_string(&r);
	struct registry_endpoint *eps = NULL;
	size_t n = 0;
	if (registries_endpoints(o->registries, r.domain, o->pull_auths, &eps, &n, err) < 0) {
		imageref_clear(&r);
		return -1;
	}
	/* removal waits while any pull runs, so layers found present stay */
	int gl = lock_file(s, "gc.lock", LOCK_SH, err);
	if (gl < 0) {
		registries_endpoints_free(eps, n);
		imageref_clear(&r);
		return -1;
	}
	struct mk_err *best = NULL;
	int rc = -1;
	for (size_t i = 0; i < n && rc < 0; i++) {
		cleanup_free char *repo =
			registries_rewrite(o->registries, &eps[i], r.domain, r.path);
		struct registry_client *c = registry_client_new(&eps[i], repo, o->registry);
		struct mk_err *e = NULL;
		rc = pull_from(s, c, &r, parallel, &e);
		registry_client_free(c);
		if (rc == 0)
			break;
		/* a digest mismatch or a store failure is final; a missing or
		 * unreachable image may be found at the next endpoint */
		int code = mk_err_code(e);
		bool next = code == MK_ENOTFOUND || code == MK_EUNAUTHORIZED ||
			    code == MK_EUNAVAILABLE || code == MK_ETIMEOUT;
		if (!best || rank(code) > rank(mk_err_code(best))) {
			mk_err_free(best);
			best = e;
		} else {
			mk_err_free(e);
		}
		if (!next)
			break;
	}
	close(gl);
	registries_endpoints_free(eps, n);
	imageref_clear(&r);
	if (rc < 0) {
		if (err && !*err) {
			*err = best;
			mk_err_wrap(err, "pulling %s", full);
		} else {
			mk_err_free(best);
		}
		return -1;
	}
	mk_err_free(best);
	if (out)
		return imagestore_lookup(s, full, out, err);
	return 0;
}

/* ---- import ---- */

static int import_layout(struct imagestore *s, const char *layout, char ***refs,
			 struct mk_err **err)
{
	cleanup_free char *ip = xasprintf("%s/index.json", layout);
	json_error_t jerr;
	cleanup_json json_t *idx = json_load_file(ip, 0, &jerr);
	if (!json_is_object(idx))
		return mk_err_set(err, MK_EINVAL, "%s: %s", ip,
				  idx ? "not a JSON object" : jerr.text);
	json_t *ms = json_object_get(idx, "manifests");
	if (!json_is_array(ms))
		return mk_err_set(err, MK_EINVAL, "%s: no manifests list", ip);
	struct source src = {.layout = layout};
	size_t nrefs = 0;
	char **out = xcalloc(json_array_size(ms) + 1, sizeof(char *));
	size_t i;
	json_t *d;
	int rc = 0;
	json_array_foreach(ms, i, d)
	{
		json_t *ann = json_object_get(d, "annotations");
		const char *name =
			json_string_value(json_object_get(ann, "io.containerd.image.name"));
		if (!name)
			name = json_string_value(
				json_object_get(ann, "org.opencontainers.image.ref.name"));
		const char *digest = json_string_value(json_object_get(d, "digest"));
		const char *mt = json_string_value(json_object_get(d, "mediaType"));
		if (!name || !digest)
			continue;
		struct imageref r;
		if (imageref_parse(name, &r, err) < 0) {
			rc = mk_err_wrap(err, "%s: image name %s", ip, name);
			break;
		}
		cleanup_free char *tagged = imageref_tagged(&r);
		cleanup_free char *full = imageref_string(&r);
		cleanup_free char *repo = imageref_repo(&r);
		imageref_clear(&r);
		cleanup_buf struct buf body = BUF_INIT;
		cleanup_free char *bp = xasprintf("%s/blobs/sha256/%s", layout,
						  imageref_digest_valid(digest) ? digest + 7 : "");
		if (!imageref_digest_valid(digest) || read_file(bp, &body, err) < 0 ||
		    put_blob_bytes(s, body.data ? body.data : "", body.len, digest, err) < 0) {
			rc = mk_err_set(err, MK_EINVAL, "%s: manifest %s is unreadable", ip,
					digest);
			mk_err_wrap(err, "importing %s", full);
			break;
		}
		cleanup_free char *digest_ref = xasprintf("%s@%s", repo, digest);
		cleanup_json json_t *doc =
			json_loadb(body.data ? body.data : "", body.len, 0, NULL);
		if (!mt)
			mt = json_string_value(json_object_get(doc, "mediaType"));
		if (is_index(mt, doc)) {
			const char *pd = choose_platform(doc, err);
			cleanup_buf struct buf pb = BUF_INIT;
			cleanup_free char *pp =
				pd && imageref_digest_valid(pd)
					? xasprintf("%s/blobs/sha256/%s", layout, pd + 7)
					: NULL;
			if (!pp || read_file(pp, &pb, err) < 0 ||
			    put_blob_bytes(s, pb.data ? pb.data : "", pb.len, pd, err) < 0) {
				rc = mk_err_wrap(err, "importing %s", full);
				break;
			}
			cleanup_json json_t *pdoc = json_loadb(pb.data, pb.len, 0, NULL);
			const char *pmt = json_string_value(json_object_get(pdoc, "mediaType"));
			rc = complete_image(s, &src, pb.data, pb.len, pmt, pd, tagged, digest_ref,
					    3, err);
		} else {
			rc = complete_image(s, &src, body.data, body.len, mt, digest, tagged,
					    digest_ref, 3, err);
		}
		if (rc < 0) {
			mk_err_wrap(err, "importing %s", full);
			break;
		}
		out[nrefs++] = steal_pointer(&full);
	}
	if (rc == 0 && nrefs == 0)
		rc = mk_err_set(
			err, MK_EINVAL,
			"%s: no image carries an org.opencontainers.image.ref.name annotation", ip);
	if (rc < 0 || !refs)
		strn_free(out, nrefs);
	else
		*refs = out;
	return rc;
}

/* Extracts a tar (of an OCI layout) into dir with libarchive. */
static int extract_tar(const char *tar, const char *dir, struct mk_err **err)
{
	struct archive *a = archive_read_new();
	if (!a)
		abort();
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_none(a);
	if (archive_read_open_filename(a, tar, 1 << 16) != ARCHIVE_OK) {
		int rc = mk_err_set(err, MK_EINVAL, "%s: %s", tar, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	int rc = 0;
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);
		while (name && (*name == '/' || (name[0] == '.' && name[1] == '/')))
			name += *name == '/' ? 1 : 2;
		if (!name || !*name || strstr(name, "..") ||
		    (archive_entry_filetype(e) != AE_IFREG &&
		     archive_entry_filetype(e) != AE_IFDIR))
			continue;
		cleanup_free char *p = xasprintf("%s/%s", dir, name);
		if (archive_entry_filetype(e) == AE_IFDIR) {
			if (mkdir_p(p, err) < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		char *slash = strrchr(p, '/');
		*slash = '\0';
		if (mkdir_p(p, err) < 0) {
			rc = -1;
			break;
		}
		*slash = '/';
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			rc = mk_err_errno(err, MK_EIO, errno, "creating %s", p);
			break;
		}
		if (archive_read_data_into_fd(a, fd) != ARCHIVE_OK) {
			rc = mk_err_set(err, MK_EINVAL, "%s: %s", tar, archive_error_string(a));
			close(fd);
			break;
		}
		close(fd);
	}
	if (rc == 0 && r != ARCHIVE_EOF && r != ARCHIVE_OK && r != ARCHIVE_WARN)
		rc = mk_err_set(err, MK_EINVAL, "%s: %s", tar, archive_error_string(a));
	archive_read_free(a);
	return rc;
}

int imagestore_import(struct imagestore *s, const char *path, char ***refs, struct mk_err **err)
{
	if (refs)
		*refs = NULL;
	struct stat st;
	if (stat(path, &st) < 0)
		return mk_err_errno(err, errno == ENOENT ? MK_ENOTFOUND : MK_EIO, errno, "%s",
				    path);
	int gl = lock_file(s, "gc.lock", LOCK_SH, err);
	if (gl < 0)
		return -1;
	int rc;
	if (S_ISDIR(st.st_mode)) {
		rc = import_layout(s, path, refs, err);
	} else {
		cleanup_free char *base = xasprintf("%s/tmp/import", s->dir);
		cleanup_free char *tmp = tmp_name(base);
		rc = mkdir_p(tmp, err);
		if (rc == 0)
			rc = extract_tar(path, tmp, err);
		if (rc == 0)
			rc = import_layout(s, tmp, refs, err);
		layer_remove_tree(tmp, NULL);
	}
	close(gl);
	return rc;
}

/* ---- tag, holds ---- */

int imagestore_tag(struct imagestore *s, const char *src, const char *dst, struct mk_err **err)
{
	struct imageref r;
	if (imageref_parse(dst, &r, err) < 0)
		return -1;
	cleanup_free char *tagged = imageref_tagged(&r);
	imageref_clear(&r);
	if (!tagged)
		return mk_err_set(err, MK_EINVAL, "%s: a tag must not name a digest", dst);
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_EX, &lk, err);
	if (!meta)
		return -1;
	const char *id = find_image(meta, src, err);
	if (!id)
		return -1;
	json_t *images = json_object_get(meta, "images");
	const char *oid;
	json_t *orec;
	json_object_foreach(images, oid, orec)
		json_strarr_remove(json_object_get(orec, "tags"), tagged);
	json_array_append_new(json_object_get(json_object_get(images, id), "tags"),
			      json_string(tagged));
	return meta_write(s, meta, err);
}

int imagestore_hold(struct imagestore *s, const char *image_id, const char *holder,
		    struct mk_err **err)
{
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_EX, &lk, err);
	if (!meta)
		return -1;
	const char *id = find_image(meta, image_id, err);
	if (!id)
		return -1;
	json_t *rec = json_object_get(json_object_get(meta, "images"), id);
	json_object_set_new(rec, "lastUsed", json_integer((json_int_t)time(NULL)));
	json_object_set_new(json_object_get(meta, "holds"), holder, json_string(id));
	return meta_write(s, meta, err);
}

int imagestore_release(struct imagestore *s, const char *holder, struct mk_err **err)
{
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_EX, &lk, err);
	if (!meta)
		return -1;
	json_t *holds = json_object_get(meta, "holds");
	const char *id = json_string_value(json_object_get(holds, holder));
	if (!id)
		return 0;
	json_t *rec = json_object_get(json_object_get(meta, "images"), id);
	if (rec)
		json_object_set_new(rec, "lastUsed", json_integer((json_int_t)time(NULL)));
	json_object_del(holds, holder);
	return meta_write(s, meta, err);
}

/* ---- removal ---- */

static const char *holder_of(const json_t *meta, const char *id)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(meta, "holds"), k, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
			return k;
	}
	return NULL;
}

/* Deletes the blobs and layer directories no record of meta mentions.
 * Runs with gc.lock exclusive (no pull in progress) and meta.lock held. */
static void sweep_unreferenced(const struct imagestore *s, const json_t *meta)
{
	cleanup_json json_t *keep_blobs = json_object();
	cleanup_json json_t *keep_layers = json_object();
	const char *id;
	json_t *rec;
	json_object_foreach(json_object_get(meta, "images"), id, rec)
	{
		json_object_set_new(keep_blobs, id + 7, json_true());
		const char *md = json_string_value(json_object_get(rec, "manifest"));
		if (md && strlen(md) > 7)
			json_object_set_new(keep_blobs, md + 7, json_true());
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(rec, "digests"), i, v)
		{
			const char *at =
				strchr(json_string_value(v) ? json_string_value(v) : "", '@');
			if (at && strlen(at) > 8)
				json_object_set_new(keep_blobs, at + 8, json_true());
		}
		json_array_foreach(json_object_get(rec, "layers"), i, v)
		{
			const char *d = json_string_value(json_object_get(v, "digest"));
			const char *di = json_string_value(json_object_get(v, "diffID"));
			if (d && strlen(d) > 7)
				json_object_set_new(keep_blobs, d + 7, json_true());
			if (di && strlen(di) > 7)
				json_object_set_new(keep_layers, di + 7, json_true());
		}
	}
	static const char *const dirs[] = {"blobs/sha256", "layers"};
	for (int k = 0; k < 2; k++) {
		cleanup_free char *dp = xasprintf("%s/%s", s->dir, dirs[k]);
		DIR *d = opendir(dp);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || strchr(de->d_name, '.'))
				continue;
			if (json_object_get(k == 0 ? keep_blobs : keep_layers, de->d_name))
				continue;
			cleanup_free char *p = xasprintf("%s/%s", dp, de->d_name);
			if (k == 1) {
				/* rename first: a crash mid-removal must not leave a
				 * directory that looks like a complete layer */
				cleanup_free char *gone = tmp_name(p);
				if (rename(p, gone) == 0)
					layer_remove_tree(gone, NULL);
			} else {
				unlink(p);
			}
		}
		closedir(d);
	}
}

/* Removes ids (already checked unheld) from meta and the disk. Caller holds
 * gc.lock exclusive and meta.lock exclusive. */
static int remove_ids(const struct imagestore *s, json_t *meta, const char *const *ids, size_t n,
		      struct mk_err **err)
{
	json_t *images = json_object_get(meta, "images");
	for (size_t i = 0; i < n; i++)
		json_object_del(images, ids[i]);
	if (meta_write(s, meta, err) < 0)
		return -1;
	sweep_unreferenced(s, meta);
	return 0;
}

int imagestore_remove(struct imagestore *s, const char *ref, struct mk_err **err)
{
	cleanup_close int gl = lock_file(s, "gc.lock", LOCK_EX, err);
	if (gl < 0)
		return -1;
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_EX, &lk, err);
	if (!meta)
		return -1;
	const char *id = find_image(meta, ref, err);
	if (!id)
		return -1;
	const char *h = holder_of(meta, id);
	if (h)
		return mk_err_set(err, MK_ECONFLICT, "image %s is in use by %s", ref, h);
	cleanup_free char *idc = xstrdup(id);
	const char *ids[] = {idc};
	return remove_ids(s, meta, ids, 1, err);
}

int imagestore_prune(struct imagestore *s, size_t *removed, struct mk_err **err)
{
	if (removed)
		*removed = 0;
	cleanup_close int gl = lock_file(s, "gc.lock", LOCK_EX, err);
	if (gl < 0)
		return -1;
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_EX, &lk, err);
	if (!meta)
		return -1;
	json_t *images = json_object_get(meta, "images");
	const char **ids = xcalloc(json_object_size(images) + 1, sizeof(char *));
	size_t n = 0;
	const char *id;
	json_t *rec;
	json_object_foreach(images, id, rec)
	{
		if (!holder_of(meta, id))
			ids[n++] = xstrdup(id);
	}
	int rc = remove_ids(s, meta, ids, n, err);
	for (size_t i = 0; i < n; i++)
		free((char *)ids[i]);
	free(ids);
	if (rc == 0 && removed)
		*removed = n;
	return rc;
}

struct gc_cand {
	const char *id;
	int64_t last_used;
	int64_t pulled_at;
	uint64_t size;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct gc_cand *x = a, *y = b;
	if (x->last_used != y->last_used)
		return x->last_used < y->last_used ? -1 : 1;
	if (x->pulled_at != y->pulled_at)
		return x->pulled_at < y->pulled_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

int imagestore_gc(struct imagestore *s, int high_pct, int low_pct, int64_t min_age_s,
		  struct imagestore_gc_result *res, struct mk_err **err)
{
	struct imagestore_gc_result local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (high_pct < 0 || high_pct > 100 || low_pct < 0 || low_pct > 100 || low_pct > high_pct)
		return mk_err_set(
			err, MK_EINVAL,
			"invalid thresholds: high %d%%, low %d%% (0 <= low <= high <= 100)",
			high_pct, low_pct);
	struct statvfs vfs;
	if (statvfs(s->dir, &vfs) < 0)
		return mk_err_errno(err, MK_EIO, errno, "statfs %s", s->dir);
	res->capacity = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	res->available = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (res->capacity == 0)
		return mk_err_set(err, MK_EIO, "statfs %s: zero capacity", s->dir);
	int usage = 100 - (int)(res->available * 100 / res->capacity);
	if (usage < high_pct)
		return 0;
	int64_t want = (int64_t)(res->capacity * (uint64_t)(100 - low_pct) / 100) -
		       (int64_t)res->available;
	if (want <= 0)
		return 0;
	res->to_free = (uint64_t)want;

	cleanup_close int gl = lock_file(s, "gc.lock", LOCK_EX, err);
	if (gl < 0)
		return -1;
	cleanup_close int lk = -1;
	cleanup_json json_t *meta = meta_lock_read(s, LOCK_EX, &lk, err);
	if (!meta)
		return -1;
	json_t *images = json_object_get(meta, "images");
	struct gc_cand *c = xcalloc(json_object_size(images) + 1, sizeof(*c));
	size_t nc = 0;
	int64_t now = (int64_t)time(NULL);
	const char *id;
	json_t *rec;
	json_object_foreach(images, id, rec)
	{
		if (holder_of(meta, id))
			continue;
		int64_t pulled = json_integer_value(json_object_get(rec, "pulledAt"));
		if (now - pulled < min_age_s)
			continue;
		c[nc++] = (struct gc_cand){
			.id = id,
			.last_used = json_integer_value(json_object_get(rec, "lastUsed")),
			.pulled_at = pulled,
			.size = (uint64_t)json_integer_value(json_object_get(rec, "size")),
		};
	}
	qsort(c, nc, sizeof(*c), cmp_cand);
	const char **ids = xcalloc(nc + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < nc && res->freed < res->to_free; i++) {
		ids[n++] = xstrdup(c[i].id);
		res->freed += c[i].size;
	}
	free(c);
	int rc = n ? remove_ids(s, meta, ids, n, err) : 0;
	for (size_t i = 0; i < n; i++)
		free((char *)ids[i]);
	free(ids);
	if (rc < 0)
		return -1;
	res->removed = n;
	if (res->freed < res->to_free)
		return mk_err_set(err, MK_EUNAVAILABLE,
				  "Failed to garbage collect required amount of images. Attempted "
				  "to free %llu bytes, but only found %llu bytes eligible to free.",
				  (unsigned long long)res->to_free, (unsigned long long)res->freed);
	return 0;
}
