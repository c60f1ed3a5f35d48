/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder/image.h: images the builder assembles are docker-archives that
 * `docker load` reads, the same bytes for the same inputs, and never hold
 * a program they cannot run.  The release manifest's DinD image is
 * assembled here from stand-in static programs (the Docker CE artifacts
 * cannot be fetched in tests) and checked for layout and config.
 */
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../../builder/image.h"
#include "../../builder/manifest.h"
#include "harness.h"
#include "testutil.h"

#define BUSYBOX_DEB "build/debs/busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb"

/* Members of a tar file: names, and each one's data when it is small. */
struct listing {
	size_t n;
	char name[64][160];
	char type[64];	     /* f, d, l */
	char target[64][64]; /* symlinks */
	char *data[64];	     /* files up to 64 KiB */
	size_t size[64];
};

static void
listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->data[i]);
	memset(l, 0, sizeof(*l));
}

/* List the tar held in buf (or the file path when buf is NULL). */
static int
list_tar(const char *path, const void *buf, size_t len, struct listing *l)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int rc;

	memset(l, 0, sizeof(*l));
	archive_read_support_format_tar(a);
	rc = buf ? archive_read_open_memory(a, buf, len)
		 : archive_read_open_filename(a, path, 65536);
	if (rc != ARCHIVE_OK) {
		archive_read_free(a);
		return -1;
	}
	while (l->n < 64 && archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		size_t i = l->n++;
		la_int64_t sz = archive_entry_size(ae);
		snprintf(l->name[i], sizeof(l->name[i]), "%s", archive_entry_pathname(ae));
		l->type[i] = archive_entry_filetype(ae) == AE_IFDIR   ? 'd'
			     : archive_entry_filetype(ae) == AE_IFLNK ? 'l'
								      : 'f';
		if (l->type[i] == 'l')
			snprintf(l->target[i], sizeof(l->target[i]), "%s",
				 archive_entry_symlink(ae));
		l->size[i] = (size_t)sz;
		if (l->type[i] == 'f' && sz <= (64 << 20)) {
			l->data[i] = malloc((size_t)sz + 1);
			if (l->data[i] == NULL ||
			    archive_read_data(a, l->data[i], (size_t)sz) != (la_ssize_t)sz) {
				archive_read_free(a);
				return -1;
			}
			l->data[i][sz] = '\0';
		}
	}
	archive_read_free(a);
	return 0;
}

static int
find_entry(const struct listing *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->name[i], name) == 0)
			return (int)i;
	return -1;
}

static int
run_sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
write_text(const char *path, const char *text)
{
	struct dy_err err;

	return dy_write_file_atomic(path, text, strlen(text), 0755, &err);
}

/* A tiny statically linked program: stands in for a Docker CE binary. */
static int
make_static_program(const char *dir, const char *name)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "printf 'int main(void){return 0;}\\n' >%s/%s.c && "
		 "cc -static -O1 -o %s/%s %s/%s.c 2>%s/%s.cc.log",
		 dir, name, dir, name, dir, name, dir, name);
	return run_sh(cmd);
}

/* Check the docker-archive at path: layout, manifest.json, config digest
 * and diff_id; returns the config (jansson) and the layer listing. */
static json_t *
check_archive(const char *path, const char *tag, struct listing *layer)
{
	struct listing outer;
	uint8_t sha[DY_SHA256_LEN];
	char hex[2 * DY_SHA256_LEN + 1], want[2 * DY_SHA256_LEN + 16];
	json_t *man, *config = NULL;
	const char *cfg_name, *layer_name;
	int mi, ci, li;

	memset(layer, 0, sizeof(*layer));
	CHECK(list_tar(path, NULL, 0, &outer) == 0);
	CHECK(outer.n == 4); /* LAYERHEX/, LAYERHEX/layer.tar, HEX.json, manifest.json */
	mi = find_entry(&outer, "manifest.json");
	CHECK(mi == 3);
	if (mi < 0)
		goto out;
	man = json_loads(outer.data[mi], 0, NULL);
	CHECK(json_is_array(man) && json_array_size(man) == 1);
	cfg_name = json_string_value(json_object_get(json_array_get(man, 0), "Config"));
	layer_name = json_string_value(
		json_array_get(json_object_get(json_array_get(man, 0), "Layers"), 0));
	CHECK(json_array_size(json_object_get(json_array_get(man, 0), "RepoTags")) == 1);
	CHECK(strcmp(json_string_value(json_array_get(
			     json_object_get(json_array_get(man, 0), "RepoTags"), 0)),
		     tag) == 0);
	ci = cfg_name ? find_entry(&outer, cfg_name) : -1;
	li = layer_name ? find_entry(&outer, layer_name) : -1;
	CHECK(ci >= 0 && li >= 0);
	if (ci >= 0 && li >= 0) {
		/* Content-addressed: the names are the digests. */
		dy_sha256_buf(outer.data[ci], outer.size[ci], sha);
		dy_hex_encode(sha, DY_SHA256_LEN, hex);
		snprintf(want, sizeof(want), "%s.json", hex);
		CHECK(strcmp(cfg_name, want) == 0);
		dy_sha256_buf(outer.data[li], outer.size[li], sha);
		dy_hex_encode(sha, DY_SHA256_LEN, hex);
		snprintf(want, sizeof(want), "%s/layer.tar", hex);
		CHECK(strcmp(layer_name, want) == 0);
		config = json_loads(outer.data[ci], 0, NULL);
		CHECK(config != NULL);
		snprintf(want, sizeof(want), "sha256:%s", hex);
		CHECK(strcmp(json_string_value(json_array_get(
				     json_object_get(json_object_get(config, "rootfs"), "diff_ids"),
				     0)),
			     want) == 0);
		CHECK(list_tar(NULL, outer.data[li], outer.size[li], layer) == 0);
	}
	json_decref(man);
out:
	listing_free(&outer);
	return config;
}

static int
json_list_has(json_t *arr, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		if (strcmp(json_string_value(json_array_get(arr, i)), s) == 0)
			return 1;
	return 0;
}

/* The image config says what the spec asked. */
static void
check_test_config(json_t *config)
{
	json_t *cfg = json_object_get(config, "config");

	CHECK(strcmp(json_string_value(json_object_get(config, "architecture")), "amd64") == 0);
	CHECK(strcmp(json_string_value(json_object_get(config, "created")),
		     "2024-01-01T00:00:00Z") == 0);
	CHECK(json_list_has(json_object_get(cfg, "Env"), "A=b c"));
	CHECK(json_array_size(json_object_get(cfg, "Cmd")) == 3);
	CHECK(strcmp(json_string_value(
			     json_object_get(json_object_get(cfg, "Labels"), "dockyard.verify")),
		     "run") == 0);
}

/* Sorted, parents first, owner 0, the link as given. */
static void
check_test_layer(const struct listing *layer)
{
	/* libarchive writes directories with a trailing slash. */
	static const char *const want[] = { "bin/",
					    "bin/sh",
					    "tmp/",
					    "usr/",
					    "usr/share/",
					    "usr/share/doc/",
					    "usr/share/doc/x.txt" };
	int i;

	CHECK(layer->n == 7);
	for (i = 0; i < 7 && (size_t)i < layer->n; i++)
		CHECK(strcmp(layer->name[i], want[i]) == 0);
	i = find_entry(layer, "bin/sh");
	CHECK(i >= 0 && layer->type[i] == 'l' &&
	      strcmp(layer->target[i], "../usr/share/doc/x.txt") == 0);
	i = find_entry(layer, "usr/share/doc/x.txt");
	CHECK(i >= 0 && layer->data[i] && strcmp(layer->data[i], "hello\n") == 0);
}

/* Same inputs, same bytes; parents implied; config as asked. */
static void
test_write_reproducible(void)
{
	char dir[256], data[512], out1[512], out2[512], c[1200];
	const char *env[] = { "PATH=/bin", "A=b c" };
	const char *cmd[] = { "/bin/sh", "-c", "true" };
	const char *labels[] = { "dockyard.verify=run" };
	struct dy_layer_entry ents[] = {
		{ "usr/share/doc/x.txt", DY_LAYER_FILE, data, 0644, "t:1" },
		{ "bin/sh", DY_LAYER_LINK, "../usr/share/doc/x.txt", 0, "t:2" },
		{ "tmp", DY_LAYER_DIR, NULL, 0777, "t:3" },
	};
	struct dy_image_spec s = {
		"dockyard/test:1", "x86_64", 1704067200, env, 2, cmd, 3, labels, 1, ents, 3
	};
	struct dy_image_result r1, r2;
	struct dy_err err = { 0 };
	struct listing layer;
	json_t *config;

	if (tu_make_tmpdir(dir, sizeof(dir), "image") < 0)
		return;
	snprintf(data, sizeof(data), "%s/x.txt", dir);
	snprintf(out1, sizeof(out1), "%s/one.tar", dir);
	snprintf(out2, sizeof(out2), "%s/two.tar", dir);
	CHECK(write_text(data, "hello\n") == 0);
	CHECK(dy_image_write(&s, out1, &r1, &err) == 0);
	CHECK(dy_image_write(&s, out2, &r2, &err) == 0);
	CHECK(r1.size > 0 && r1.size == r2.size);
	CHECK(memcmp(r1.layer_sha256, r2.layer_sha256, DY_SHA256_LEN) == 0);
	snprintf(c, sizeof(c), "cmp -s %s %s", out1, out2);
	CHECK(run_sh(c) == 0);
	/* An existing output is refused, not overwritten. */
	CHECK(dy_image_write(&s, out1, &r1, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "exists already");

	config = check_archive(out1, "dockyard/test:1", &layer);
	if (config != NULL)
		check_test_config(config);
	json_decref(config);
	check_test_layer(&layer);
	listing_free(&layer);
	tu_remove_tree(dir);
}

/* A dynamically linked program without its interpreter is refused, and
 * a failed write leaves nothing. */
static void
test_refuses_dynamic(void)
{
	char dir[256], out[512];
	struct dy_layer_entry ents[] = { { "bin/true", DY_LAYER_FILE, "/bin/true", 0755, "m:7" } };
	struct dy_image_spec s = {
		"dockyard/dyn:1", "x86_64", 0, NULL, 0, NULL, 0, NULL, 0, ents, 1
	};
	struct dy_image_result r;
	struct dy_err err = { 0 };
	struct stat st;

	if (tu_make_tmpdir(dir, sizeof(dir), "image-dyn") < 0)
		return;
	snprintf(out, sizeof(out), "%s/dyn.tar", dir);
	CHECK(dy_image_write(&s, out, &r, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "m:7");
	CHECK_STR_CONTAINS(err.msg, "dynamically linked");
	CHECK(stat(out, &st) < 0);
	tu_remove_tree(dir);
}

/* A well-formed image component parses into its lines. */
static void
check_good_image_component(void)
{
	static const char good[] = "[component src]\nversion = 1\npath = a.deb\nkind = deb\n"
				   "[component img]\nversion = 1\nkind = image\ntag = x/y:1\n"
				   "env = A=1 B=2\ncmd = /bin/sh -c true\nlabels = k=v\n"
				   "layer src bin/busybox -> bin/busybox 0755\n"
				   "link busybox -> bin/sh\n"
				   "install share/images/img.tar 0644\n";
	struct dy_err err = { 0 };
	const struct dy_mcomponent *c;
	struct dy_manifest m;

	CHECK(dy_manifest_parse("t.manifest", "/d", good, strlen(good), &m, &err) == 0);
	if (m.components == NULL) {
		printf("#   %s\n", err.msg);
		return;
	}
	c = &m.components[1];
	CHECK(strcmp(c->kind, "image") == 0 && strcmp(c->role, "image") == 0);
	CHECK(strcmp(c->tag, "x/y:1") == 0 && strcmp(c->env, "A=1 B=2") == 0);
	CHECK(c->nlines == 3 && c->lines[0].kind == DY_LINE_LAYER &&
	      strcmp(c->lines[0].from, "src") == 0 && strcmp(c->lines[0].src, "bin/busybox") == 0);
	CHECK(c->lines[1].kind == DY_LINE_LINK && strcmp(c->lines[1].src, "busybox") == 0 &&
	      strcmp(c->lines[1].dest, "bin/sh") == 0);
	dy_manifest_free(&m);
}

/* Parsing: what kind = image accepts and what it refuses, by FILE:LINE. */
static void
test_manifest_image(void)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[component img]\nversion = 1\nkind = image\nlink a -> b\n"
		  "install i.tar 0644\nfile f -> f 0644\n",
		  "needs 'tag = REPO:TAG'" },
		{ "[component img]\nversion = 1\nkind = image\ntag = x:1\n"
		  "layer nope a -> a 0755\ninstall i.tar 0644\n",
		  "t.manifest:5: layer names component nope" },
		{ "[component img]\nversion = 1\nkind = image\ntag = X:1\n", "t.manifest:4: tag" },
		{ "[component img]\nversion = 1\nkind = image\ntag = x:1\nenv = NOEQ\n",
		  "t.manifest:5: env must be" },
		{ "[component src]\nversion = 1\npath = a.deb\nkind = deb\n",
		  "feeds an image's layer lines" },
		{ "[component a]\nversion = 1\nfile x -> y 0644\ntag = x:1\n",
		  "belong to kind = image" },
		{ "[component img]\nversion = 1\nkind = image\ntag = x:1\nlink a b\n",
		  "t.manifest:5: expected 'link TARGET -> DEST'" },
		{ "[component src]\nversion = 1\npath = a.deb\nkind = deb\n"
		  "[component img]\nversion = 1\nkind = image\ntag = x:1\n"
		  "layer src a -> a 0755\n",
		  "exactly one 'install DEST MODE'" },
		{ "[component src]\nversion = 1\npath = a.deb\nkind = deb\n"
		  "[component img]\nversion = 1\nkind = image\ntag = x:1\n"
		  "layer src a -> images/a 0755\ninstall images/i.tar 0644\n",
		  "line 10: images/i.tar: images/ is the operator's directory" },
		{ "[component a]\nversion = 1\nfile x -> images 0644\n",
		  "t.manifest:1: component a 1: line 3: images: images/ is the operator's" },
	};
	struct dy_err err = { 0 };
	struct dy_manifest m;
	size_t i;

	check_good_image_component();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		CHECK(dy_manifest_parse("t.manifest", "/d", bad[i].text, strlen(bad[i].text), &m,
					&err) == -1);
		CHECK_STR_CONTAINS(err.msg, bad[i].msg);
	}
}

struct standins {
	const char *docker_tgz;
	const char *busybox_deb;
};

static int
standin_source(void *ctx, const char *name, const char **path, enum dy_artifact_kind *kind,
	       struct dy_err *err)
{
	const struct standins *s = ctx;

	*kind = strcmp(name, "docker") == 0 ? DY_KIND_TAR : DY_KIND_DEB;
	*path = strcmp(name, "docker") == 0 ? s->docker_tgz : s->busybox_deb;
	return strcmp(name, "docker") == 0 || strcmp(name, "busybox-static") == 0
		       ? 0
		       : dy_errf(err, "no stand-in for %s", name);
}

/* The programs Docker CE's static tgz holds, in its docker/ directory. */
static const char *const dind_bins[] = { "dockerd",	 "docker",
					 "containerd",	 "containerd-shim-runc-v2",
					 "runc",	 "docker-init",
					 "docker-proxy", "ctr" };

/* One tiny static program, copied under every name the tgz holds. */
static void
make_standin_tgz(const char *dir, const char *tgz)
{
	char cmd[4096], path[300];
	size_t i;

	snprintf(path, sizeof(path), "%s/docker", dir);
	CHECK(mkdir(path, 0755) == 0);
	CHECK(make_static_program(path, dind_bins[0]) == 0);
	for (i = 1; i < sizeof(dind_bins) / sizeof(dind_bins[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cp %s/%s %s/%s", path, dind_bins[0], path,
			 dind_bins[i]);
		CHECK(run_sh(cmd) == 0);
	}
	snprintf(cmd, sizeof(cmd), "tar -C %s -czf %s docker", dir, tgz);
	CHECK(run_sh(cmd) == 0);
}

/* The engine's programs but ctr, the entrypoint, busybox and its sh link. */
static void
check_dind_layer(const struct listing *layer)
{
	char path[300];
	size_t i;
	int k;

	for (i = 0; i < 7; i++) {
		snprintf(path, sizeof(path), "usr/local/bin/%s", dind_bins[i]);
		k = find_entry(layer, path);
		CHECK(k >= 0 && layer->type[k] == 'f');
		if (k < 0)
			printf("#   %s missing from the layer\n", path);
	}
	k = find_entry(layer, "usr/local/bin/dind");
	CHECK(k >= 0 && layer->data[k] && strncmp(layer->data[k], "#!/bin/sh\n", 10) == 0);
	k = find_entry(layer, "bin/busybox");
	CHECK(k >= 0 && layer->size[k] > 100000);
	k = find_entry(layer, "bin/sh");
	CHECK(k >= 0 && layer->type[k] == 'l' && strcmp(layer->target[k], "busybox") == 0);
	CHECK(find_entry(layer, "usr/local/bin/ctr") < 0); /* not asked for */
}

/* The release manifest's docker-dind, from stand-in static programs in
 * place of Docker CE's tgz and the pinned busybox-static .deb. */
static void
test_release_dind(void)
{
	char dir[256], tgz[512], out[512];
	struct standins si = { tgz, BUSYBOX_DEB };
	const struct dy_mcomponent *c = NULL;
	struct dy_err err = { 0 };
	struct dy_image_result r;
	struct dy_manifest m;
	struct listing layer;
	json_t *config, *cc;
	size_t i;

	if (access(BUSYBOX_DEB, R_OK) != 0) {
		printf("#   %s is missing: make debs\n", BUSYBOX_DEB);
		CHECK(0);
		return;
	}
	if (tu_make_tmpdir(dir, sizeof(dir), "image-dind") < 0)
		return;
	snprintf(tgz, sizeof(tgz), "%s/docker-29.2.1.tgz", dir);
	make_standin_tgz(dir, tgz);
	CHECK(dy_manifest_load("payload/dockyard.manifest", &m, &err) == 0);
	for (i = 0; m.components && i < m.ncomponents; i++)
		if (strcmp(m.components[i].name, "docker-dind") == 0)
			c = &m.components[i];
	CHECK(c != NULL);
	snprintf(out, sizeof(out), "%s/dind.tar", dir);
	if (c != NULL) {
		CHECK(dy_image_build(&m, c, standin_source, &si, "x86_64", 1704067200, out, &r,
				     &err) == 0);
		if (err.msg[0])
			printf("#   %s\n", err.msg);
		else
			printf("#   docker-dind from stand-ins: %llu bytes\n",
			       (unsigned long long)r.size);
	}
	config = check_archive(out, "dockyard/docker-dind:29.2.1", &layer);
	if (config != NULL) {
		cc = json_object_get(config, "config");
		CHECK(json_list_has(json_object_get(cc, "Env"), "DOCKER_VERSION=29.2.1"));
		CHECK(json_list_has(json_object_get(cc, "Cmd"), "/usr/local/bin/dind"));
		CHECK(strcmp(json_string_value(json_object_get(json_object_get(cc, "Labels"),
							       "dockyard.verify")),
			     "dind") == 0);
		CHECK(strcmp(json_string_value(json_object_get(config, "os")), "linux") == 0);
	}
	json_decref(config);
	check_dind_layer(&layer);
	listing_free(&layer);
	dy_manifest_free(&m);
	tu_remove_tree(dir);
}

int
main(void)
{
	RUN(test_write_reproducible);
	RUN(test_refuses_dynamic);
	RUN(test_manifest_image);
	RUN(test_release_dind);
	return DONE();
}
