/* nodectl: the node's own crictl, on the kubelet's image store.
 *
 *   nodectl [--root-dir DIR] [--registry-config FILE] COMMAND [ARGS]
 *
 * Output follows crictl's (IMAGE / TAG / IMAGE ID / SIZE, "Image is up to
 * date for sha256:...", "Deleted: ..."); errors are one line on stderr and
 * exit status 1. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "imageref.h"
#include "imagestore.h"
#include "registries.h"
#include "xalloc.h"
#include "kubelet/nodectl/nodectl-internal.h"

#define DEFAULT_ROOT_DIR "/var/lib/kubelet"
#define DEFAULT_REGISTRY_CONFIG "/etc/mink8s/registries.yaml"

static int fail(struct mk_err *e)
{
	fprintf(stderr, "nodectl: %s\n", mk_err_msg(e));
	mk_err_free(e);
	return 1;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "nodectl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nRun 'nodectl --help' for usage.\n");
	return 2;
}

static struct imagestore *open_store(const struct globals *g, struct mk_err **err)
{
	return imagestore_open(g->root_dir, err);
}

/* Sizes as crictl prints them (go-units HumanSizeWithPrecision(size, 3)):
 * decimal units, three significant digits: "9.74MB", "322kB", "1.09MB". */
static char *human_size(uint64_t bytes)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
	double size = (double)bytes;
	size_t i = 0;
	while (size >= 1000.0 && i < sizeof(units) / sizeof(units[0]) - 1) {
		size /= 1000.0;
		i++;
	}
	return xasprintf("%.3g%s", size, units[i]);
}

/* Go's text/tabwriter as crictl sets it up (minwidth 20, padding 3): every
 * column but the last is padded to max(20, widest cell + 3). */
struct table {
	char ***rows;
	size_t n, ncols;
};

static void table_add(struct table *t, char **cells)
{
	t->rows = xrealloc(t->rows, (t->n + 1) * sizeof(*t->rows));
	t->rows[t->n++] = cells;
}

static void table_print(struct table *t)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w));
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = 20;
		for (size_t r = 0; r < t->n; r++) {
			size_t l = strlen(t->rows[r][c]) + 3;
			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t r = 0; r < t->n; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			if (c + 1 < t->ncols)
				printf("%-*s", (int)w[c], t->rows[r][c]);
			else
				printf("%s\n", t->rows[r][c]);
			free(t->rows[r][c]);
		}
		free(t->rows[r]);
	}
	free(t->rows);
	free(w);
}

static char *repo_of(const char *ref_with_sep, char sep, char **rest)
{
	const char *p = strrchr(ref_with_sep, sep);
	if (!p) {
		*rest = xstrdup("<none>");
		return xstrdup(ref_with_sep);
	}
	*rest = xstrdup(p + 1);
	return xstrndup(ref_with_sep, (size_t)(p - ref_with_sep));
}

static int cmd_images(const struct globals *g, int argc, char **argv)
{
	bool quiet = false, digests = false, no_trunc = false;
	static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
					     {"digests", no_argument, NULL, 'd'},
					     {"no-trunc", no_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'd':
			digests = true;
			break;
		case 'n':
			no_trunc = true;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind > 1)
		return usage_error("images takes at most one image reference%s", "");
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	struct imagestore_image **imgs = NULL;
	size_t n = 0;
	int rc;
	if (optind < argc) {
		struct imagestore_image *one = NULL;
		rc = imagestore_lookup(s, argv[optind], &one, &e);
		if (rc == 0) {
			imgs = xcalloc(1, sizeof(*imgs));
			imgs[0] = one;
			n = 1;
		} else if (mk_err_code(e) == MK_ENOTFOUND) {
			mk_err_free(e);
			e = NULL;
			rc = 0;
		}
	} else {
		rc = imagestore_list(s, &imgs, &n, &e);
	}
	imagestore_close(s);
	if (rc < 0)
		return fail(e);
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", imgs[i]->id);
		imagestore_images_free(imgs, n);
		return 0;
	}
	struct table t = {.ncols = digests ? 5 : 4};
	char **hdr = xcalloc(t.ncols, sizeof(char *));
	size_t k = 0;
	hdr[k++] = xstrdup("IMAGE");
	hdr[k++] = xstrdup("TAG");
	if (digests)
		hdr[k++] = xstrdup("DIGEST");
	hdr[k++] = xstrdup("IMAGE ID");
	hdr[k++] = xstrdup("SIZE");
	table_add(&t, hdr);
	for (size_t i = 0; i < n; i++) {
		struct imagestore_image *img = imgs[i];
		const char *hex = img->id + 7;
		cleanup_free char *digest = NULL;
		if (img->n_digests) {
			char *rest;
			free(repo_of(img->repo_digests[0], '@', &rest));
			digest = rest;
		}
		size_t rows = img->n_tags ? img->n_tags : 1;
		for (size_t r = 0; r < rows; r++) {
			char **cells = xcalloc(t.ncols, sizeof(char *));
			k = 0;
			if (img->n_tags) {
				char *tag;
				cells[k++] = repo_of(img->repo_tags[r], ':', &tag);
				cells[k++] = tag;
			} else if (img->n_digests) {
				char *rest;
				cells[k++] = repo_of(img->repo_digests[0], '@', &rest);
				free(rest);
				cells[k++] = xstrdup("<none>");
			} else {
				cells[k++] = xstrdup("<none>");
				cells[k++] = xstrdup("<none>");
			}
			if (digests) {
				const char *dh = digest ? digest + 7 : "<none>";
				cells[k++] = no_trunc || !digest ? xstrdup(digest ? digest : dh)
								 : xstrndup(dh, 13);
			}
			cells[k++] = no_trunc ? xstrdup(img->id) : xstrndup(hex, 13);
			cells[k++] = human_size(img->size);
			table_add(&t, cells);
		}
	}
	table_print(&t);
	imagestore_images_free(imgs, n);
	return 0;
}

static char *read_all(const char *path, struct mk_err **err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return mk_err_errno(err, MK_EIO, errno, "reading %s", path), NULL;
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	return buf_steal(&b);
}

static int cmd_pull(const struct globals *g, int argc, char **argv)
{
	const char *creds = NULL, *auth_file = NULL;
	static const struct option opts[] = {{"creds", required_argument, NULL, 'c'},
					     {"auth-file", required_argument, NULL, 'a'},
					     {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			creds = optarg;
			break;
		case 'a':
			auth_file = optarg;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 1)
		return usage_error("pull takes one image reference%s", "");
	const char *ref = argv[optind];
	struct mk_err *e = NULL;
	struct imageref r;
	if (imageref_parse(ref, &r, &e) < 0)
		return fail(e);
	cleanup_free char *auths = NULL;
	if (auth_file && !(auths = read_all(auth_file, &e))) {
		imageref_clear(&r);
		return fail(e);
	}
	if (creds) {
		/* the same shape as a kubernetes.io/dockerconfigjson secret */
		const char *colon = strchr(creds, ':');
		cleanup_free char *user = colon ? xstrndup(creds, (size_t)(colon - creds))
						: xstrdup(creds);
		cleanup_json json_t *doc = json_pack("{s:{s:{s:s,s:s}}}", "auths", r.domain,
						     "username", user, "password",
						     colon ? colon + 1 : "");
		free(auths);
		auths = json_dumps(doc, JSON_COMPACT);
	}
	imageref_clear(&r);
	struct registries *cfg = registries_load(g->registry_config, &e);
	if (!cfg)
		return fail(e);
	struct imagestore *s = open_store(g, &e);
	if (!s) {
		registries_free(cfg);
		return fail(e);
	}
	struct imagestore_pull_opts o = {.registries = cfg, .pull_auths = auths};
	struct imagestore_image *img = NULL;
	int rc = imagestore_pull(s, ref, &o, &img, &e);
	imagestore_close(s);
	registries_free(cfg);
	if (rc < 0)
		return fail(e);
	printf("Image is up to date for %s\n", img->id);
	imagestore_image_free(img);
	return 0;
}

static int cmd_import(const struct globals *g, int argc, char **argv)
{
	if (argc != 2)
		return usage_error("import takes one OCI layout directory or tar%s", "");
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	char **refs = NULL;
	int rc = imagestore_import(s, argv[1], &refs, &e);
	imagestore_close(s);
	if (rc < 0)
		return fail(e);
	for (char **p = refs; *p; p++) {
		printf("Imported %s\n", *p);
		free(*p);
	}
	free(refs);
	return 0;
}

static int cmd_tag(const struct globals *g, int argc, char **argv)
{
	if (argc != 3)
		return usage_error("tag takes SOURCE and TARGET references%s", "");
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	int rc = imagestore_tag(s, argv[1], argv[2], &e);
	imagestore_close(s);
	return rc < 0 ? fail(e) : 0;
}

static void print_deleted(const struct imagestore_image *img)
{
	for (size_t i = 0; i < img->n_tags; i++)
		printf("Deleted: %s\n", img->repo_tags[i]);
	if (!img->n_tags)
		printf("Deleted: %s\n", img->n_digests ? img->repo_digests[0] : img->id);
}

static int cmd_prune(const struct globals *g)
{
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	struct imagestore_image **before = NULL, **after = NULL;
	size_t nb = 0, na = 0;
	size_t removed = 0;
	int rc = imagestore_list(s, &before, &nb, &e);
	if (rc == 0)
		rc = imagestore_prune(s, &removed, &e);
	if (rc == 0)
		rc = imagestore_list(s, &after, &na, &e);
	imagestore_close(s);
	if (rc == 0) {
		for (size_t i = 0; i < nb; i++) {
			bool kept = false;
			for (size_t j = 0; j < na; j++)
				kept |= strcmp(before[i]->id, after[j]->id) == 0;
			if (!kept)
				print_deleted(before[i]);
		}
	}
	imagestore_images_free(before, nb);
	imagestore_images_free(after, na);
	return rc < 0 ? fail(e) : 0;
}

static int cmd_rmi(const struct globals *g, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--prune") == 0 || strcmp(argv[1], "-q") == 0))
		return cmd_prune(g);
	if (argc < 2)
		return usage_error("rmi takes one or more image references%s", "");
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	int status = 0;
	for (int i = 1; i < argc; i++) {
		struct imagestore_image *img = NULL;
		if (imagestore_lookup(s, argv[i], &img, &e) < 0 && mk_err_code(e) != MK_ENOTFOUND) {
			status = fail(e);
			e = NULL;
			continue;
		}
		mk_err_free(e);
		e = NULL;
		if (imagestore_remove(s, argv[i], &e) < 0) {
			status = fail(e);
			e = NULL;
		} else if (img) {
			print_deleted(img);
		}
		imagestore_image_free(img);
	}
	imagestore_close(s);
	return status;
}

/* Go durations as the kubelet's --minimum-image-gc-age takes them: "2m",
 * "1h30m", "45s", "0". -1 if malformed. */
static int64_t parse_duration(const char *s)
{
	if (strcmp(s, "0") == 0)
		return 0;
	int64_t total = 0;
	const char *p = s;
	if (!*p)
		return -1;
	while (*p) {
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (end == p || errno || v < 0)
			return -1;
		p = end;
		double mul;
		if (*p == 'h') {
			mul = 3600;
			p++;
		} else if (*p == 'm' && p[1] == 's') {
			mul = 0.001;
			p += 2;
		} else if (*p == 'm') {
			mul = 60;
			p++;
		} else if (*p == 's') {
			mul = 1;
			p++;
		} else {
			return -1;
		}
		total += (int64_t)(v * mul);
	}
	return total;
}

static int cmd_gc(const struct globals *g, int argc, char **argv)
{
	int high = 85, low = 80;
	int64_t min_age = 120;
	static const struct option opts[] = {
		{"image-gc-high-threshold", required_argument, NULL, 'h'},
		{"image-gc-low-threshold", required_argument, NULL, 'l'},
		{"minimum-image-gc-age", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'h':
		case 'l': {
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 100)
				return usage_error("threshold %s: want a percentage 0-100", optarg);
			*(c == 'h' ? &high : &low) = (int)v;
			break;
		}
		case 'm':
			min_age = parse_duration(optarg);
			if (min_age < 0)
				return usage_error("minimum-image-gc-age %s: want a duration such "
						   "as 2m",
						   optarg);
			break;
		default:
			return 2;
		}
	}
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	struct imagestore_gc_result res;
	int rc = imagestore_gc(s, high, low, min_age, &res, &e);
	imagestore_close(s);
	printf("capacity %llu available %llu to-free %llu freed %llu images-removed %zu\n",
	       (unsigned long long)res.capacity, (unsigned long long)res.available,
	       (unsigned long long)res.to_free, (unsigned long long)res.freed, res.removed);
	return rc < 0 ? fail(e) : 0;
}

static int cmd_hold(const struct globals *g, int argc, char **argv)
{
	if (argc != 3)
		return usage_error("hold takes IMAGE and HOLDER%s", "");
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	struct imagestore_image *img = NULL;
	int rc = imagestore_lookup(s, argv[1], &img, &e);
	if (rc == 0)
		rc = imagestore_hold(s, img->id, argv[2], &e);
	imagestore_image_free(img);
	imagestore_close(s);
	return rc < 0 ? fail(e) : 0;
}

static int cmd_release(const struct globals *g, int argc, char **argv)
{
	if (argc != 2)
		return usage_error("release takes HOLDER%s", "");
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	int rc = imagestore_release(s, argv[1], &e);
	imagestore_close(s);
	return rc < 0 ? fail(e) : 0;
}

/* What the kubelet gets from a lookup, as JSON: id, tags, digests, layer
 * directories (top first), size, config. */
static int cmd_inspecti(const struct globals *g, int argc, char **argv)
{
	if (argc != 2)
		return usage_error("inspecti takes one image reference%s", "");
	struct mk_err *e = NULL;
	struct imagestore *s = open_store(g, &e);
	if (!s)
		return fail(e);
	struct imagestore_image *img = NULL;
	int rc = imagestore_lookup(s, argv[1], &img, &e);
	imagestore_close(s);
	if (rc < 0)
		return fail(e);
	json_t *tags = json_array(), *digests = json_array(), *layers = json_array();
	for (size_t i = 0; i < img->n_tags; i++)
		json_array_append_new(tags, json_string(img->repo_tags[i]));
	for (size_t i = 0; i < img->n_digests; i++)
		json_array_append_new(digests, json_string(img->repo_digests[i]));
	for (size_t i = 0; i < img->n_layers; i++)
		json_array_append_new(layers, json_string(img->layers[i]));
	cleanup_json json_t *doc = json_pack(
		"{s:s,s:s,s:o,s:o,s:o,s:I,s:I,s:O}", "id", img->id, "manifest",
		img->manifest_digest, "repoTags", tags, "repoDigests", digests, "layers", layers,
		"size", (json_int_t)img->size, "holders", (json_int_t)img->n_holders, "config",
		img->config);
	imagestore_image_free(img);
	cleanup_free char *text = json_dumps(doc, JSON_INDENT(2));
	printf("%s\n", text);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nodectl [--root-dir DIR] [--registry-config FILE] COMMAND [ARGS]\n"
		"\n"
		"The node's image store (DIR/images; DIR defaults to " DEFAULT_ROOT_DIR ").\n"
		"\n"
		"Commands:\n"
		"  images [-q] [--digests] [--no-trunc] [REF]   list images\n"
		"  pull [--creds USER:PASS] [--auth-file FILE] REF\n"
		"                                  pull from a registry (FILE: a .dockerconfigjson)\n"
		"  import LAYOUT-OR-TAR            import the named images of an OCI image layout\n"
		"  tag SOURCE TARGET               add a tag to an image\n"
		"  rmi REF...                      remove images\n"
		"  prune                           remove every image no container uses\n"
		"  gc [--image-gc-high-threshold N] [--image-gc-low-threshold N]\n"
		"     [--minimum-image-gc-age DURATION]   image garbage collection by disk use\n"
		"  inspecti REF                    the image's id, tags, layers and config as JSON\n"
		"  hold IMAGE HOLDER | release HOLDER   mark an image in use, or not\n"
		"  ps [-a] [-q] [-o json]          the node's containers (-a: exited ones too)\n"
		"  pods [-q] [-o json]             the node's pod sandboxes\n"
		"  logs [--tail N] CONTAINER       a container's log\n"
		"  inspect CONTAINER               a container's status and runtime spec as JSON\n"
		"\n"
		"Registry mirrors and credentials: --registry-config (k3s registries.yaml,\n"
		"default " DEFAULT_REGISTRY_CONFIG ").\n");
}

struct command {
	const char *name;
	int (*run)(const struct globals *g, int argc, char **argv);
};

static int run_prune(const struct globals *g, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage_error("prune takes no arguments%s", "");
	return cmd_prune(g);
}

static const struct command commands[] = {
	{"images", cmd_images}, {"pull", cmd_pull},	  {"import", cmd_import},
	{"tag", cmd_tag},	{"rmi", cmd_rmi},	  {"prune", run_prune},
	{"gc", cmd_gc},		{"inspecti", cmd_inspecti}, {"hold", cmd_hold},
	{"release", cmd_release}, {"ps", cmd_ps},	  {"pods", cmd_pods},
	{"logs", cmd_logs},	{"inspect", cmd_inspect},
};

int main(int argc, char **argv)
{
	struct globals g = {.root_dir = DEFAULT_ROOT_DIR,
			    .registry_config = DEFAULT_REGISTRY_CONFIG};
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		const char *v = NULL;
		const char *names[] = {"--root-dir", "--registry-config"};
		int which = -1;
		for (int k = 0; k < 2; k++) {
			size_t l = strlen(names[k]);
			if (strncmp(a, names[k], l) == 0 && (a[l] == '=' || a[l] == '\0')) {
				which = k;
				v = a[l] == '=' ? a + l + 1 : NULL;
			}
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (which < 0)
			return usage_error("unknown flag %s", a);
		if (!v) {
			if (i + 1 >= argc)
				return usage_error("flag %s needs a value", a);
			v = argv[++i];
		}
		if (which == 0)
			g.root_dir = v;
		else
			g.registry_config = v;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			return commands[k].run(&g, argc - i, argv + i);
	return usage_error("unknown command %s", argv[i]);
}
