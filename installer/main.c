/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockyard-installer: the static stub every installer starts with.  It
 * finds its payload through /proc/self/exe and verifies it before anything
 * reaches the target.  This file is the CLI only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/opts.h"
#include "../common/version.h"
#include "../verify/image.h"
#include "../verify/payload.h"
#include "../verify/sha256.h"
#include "../verify/sig.h"
#include "../common/xio.h"
#include "config.h"
#include "extract.h"
#include "install.h"
#include "instances.h"
#include "list.h"

enum { EXIT_BAD = DY_EXIT_FAIL, EXIT_USAGE = DY_EXIT_USAGE };

enum {
	OPT_JSON = 1,
	OPT_IMAGE,
	OPT_KEY,
	OPT_HELP,
	OPT_VERSION,
	OPT_ROOT,
	OPT_ENV,
	OPT_PREFIX,
	OPT_BRIDGE,
	OPT_FIXED,
	OPT_POOL_BASE,
	OPT_POOL_SIZE,
	OPT_DNS,
	OPT_SYSROOT,
	OPT_DRY_RUN,
	OPT_FORCE,
	OPT_WAIT,
	OPT_NO_START,
	OPT_NO_SYSTEMD,
	OPT_NO_IMAGES,
	OPT_IMAGES,
	OPT_START_TIMEOUT,
	OPT_YES,
	OPT_KEEP_DATA,
	OPT_OUT,
	OPT_STORAGE,
	OPT_MGR_ARGS,
	OPT_SUBID_USER,
	OPT_SUBID_START,
	OPT_SUBID_COUNT,
	OPT_HTTP_PROXY,
	OPT_HTTPS_PROXY,
	OPT_NO_PROXY,
	OPT_LOG_MAX_SIZE,
	OPT_LOG_KEEP,
};

static const struct dy_opt options[] = {
	{ OPT_ROOT, 0, "root", "DIR", "the instance's root directory (absolute)" },
	{ OPT_ENV, 0, "env", "FILE", "configuration in dockyard.env format (flags override it)" },
	{ OPT_PREFIX, 0, "prefix", "NAME", "DOCKYARD_DOCKER_PREFIX: [a-z0-9_], at most 8" },
	{ OPT_BRIDGE, 0, "bridge-cidr", "CIDR", "DOCKYARD_BRIDGE_CIDR, e.g. 172.22.147.1/24" },
	{ OPT_FIXED, 0, "fixed-cidr", "CIDR", "DOCKYARD_FIXED_CIDR, e.g. 172.22.147.0/24" },
	{ OPT_POOL_BASE, 0, "pool-base", "CIDR", "DOCKYARD_POOL_BASE, e.g. 172.30.0.0/16" },
	{ OPT_POOL_SIZE, 0, "pool-size", "N", "DOCKYARD_POOL_SIZE: prefix length of each network" },
	{ OPT_DNS, 0, "dns", "IP[,IP]",
	  "DOCKYARD_DNS: DNS servers for containers (default: the host's upstream "
	  "servers; \"\" for none)" },
	{ OPT_STORAGE, 0, "storage-driver", "auto|overlay2|zfs",
	  "DOCKYARD_STORAGE_DRIVER (default auto: zfs on ZFS, else overlay2)" },
	{ OPT_MGR_ARGS, 0, "sysbox-mgr-extra-args", "ARGS",
	  "DOCKYARD_SYSBOX_MGR_EXTRA_ARGS: more sysbox-mgr options" },
	{ OPT_SUBID_USER, 0, "sysbox-subid-user", "USER",
	  "DOCKYARD_SYSBOX_SUBID_USER (default PREFIXdocker)" },
	{ OPT_SUBID_START, 0, "sysbox-subid-start", "N",
	  "DOCKYARD_SYSBOX_SUBID_START: first subuid/subgid (default: the first free)" },
	{ OPT_SUBID_COUNT, 0, "sysbox-subid-count", "N",
	  "DOCKYARD_SYSBOX_SUBID_COUNT: ids, a multiple of 65536 (default 65536)" },
	{ OPT_HTTP_PROXY, 0, "http-proxy", "URL", "DOCKYARD_HTTP_PROXY for dockerd" },
	{ OPT_HTTPS_PROXY, 0, "https-proxy", "URL", "DOCKYARD_HTTPS_PROXY for dockerd" },
	{ OPT_NO_PROXY, 0, "no-proxy", "LIST", "DOCKYARD_NO_PROXY for dockerd" },
	{ OPT_LOG_MAX_SIZE, 0, "log-max-size", "SIZE",
	  "DOCKYARD_LOG_MAX_SIZE: rotate each daemon log at SIZE (default 10M)" },
	{ OPT_LOG_KEEP, 0, "log-keep", "N", "DOCKYARD_LOG_KEEP: rotated logs kept (default 3)" },
	{ OPT_SYSROOT, 0, "sysroot", "DIR",
	  "install into the image tree DIR (--root is the path inside it); start nothing" },
	{ OPT_DRY_RUN, 'n', "dry-run", NULL, "print every action and change nothing (= plan)" },
	{ OPT_FORCE, 0, "force", NULL,
	  "install despite failed preflight checks; gen-env: overwrite" },
	{ OPT_WAIT, 0, "wait", NULL, "wait for another installer working on the root" },
	{ OPT_NO_START, 0, "no-start", NULL, "set up everything, start nothing" },
	{ OPT_NO_SYSTEMD, 0, "no-systemd", NULL, "start with dockyardctl even where systemd runs" },
	{ OPT_NO_IMAGES, 0, "no-images", NULL, "do not load the payload's images" },
	{ OPT_IMAGES, 0, "images", "DIR",
	  "after the start, load every image archive in DIR (.tar, .tar.gz, .tgz, "
	  ".tar.zst; all checked against DIR/SHA256SUMS first when it is there)" },
	{ OPT_START_TIMEOUT, 0, "start-timeout", "SECONDS",
	  "how long to wait for the Docker API (default 120)" },
	{ OPT_YES, 'y', "yes", NULL, "uninstall: do not ask" },
	{ OPT_KEEP_DATA, 0, "keep-data", NULL, "uninstall: keep lib/docker (images, containers)" },
	{ OPT_OUT, 'o', "out", "FILE", "gen-env: write FILE instead of standard output" },
	{ OPT_JSON, 0, "json", NULL, "list, install, plan, preflight, instances: print JSON" },
	{ OPT_IMAGE, 0, "image", "FILE", "read the payload of FILE instead of this program" },
	{ OPT_KEY, 0, "key", "PUB.pem",
	  "check, install: require a valid signature by this EC P-256 public key" },
	DY_OPTS_DISPLAY,
	{ OPT_HELP, 'h', "help", NULL, "show this help" },
	{ OPT_VERSION, 'V', "version", NULL, "show this program's and the payload's versions" },
	{ 0, 0, NULL, NULL, NULL },
};

struct command;

struct cli {
	const struct command *command;
	const char *arg;
	const char *image;
	const char *out;
	uint64_t given; /* OPT() of every option given */
	int want_version;
	int yes;
	int keep_data;
	char root[DY_ROOT_MAX];
	char sysroot[DY_ROOT_MAX];
	char images[DY_ROOT_MAX];
	struct dy_install_opts inst;
};

/* The commands; img is NULL for those without CMD_IMAGE. */
static int cmd_install(struct cli *c, struct dy_image *img);
static int cmd_plan(struct cli *c, struct dy_image *img);
static int cmd_preflight(struct cli *c, struct dy_image *img);
static int cmd_gen_env(struct cli *c, struct dy_image *img);
static int cmd_uninstall(struct cli *c, struct dy_image *img);
static int cmd_instances(struct cli *c, struct dy_image *img);
static int cmd_check(struct cli *c, struct dy_image *img);
static int cmd_list(struct cli *c, struct dy_image *img);
static int cmd_extract(struct cli *c, struct dy_image *img);

/* Options that only some commands take: given to another, they are a
 * mistake, not a no-op.  Every other option is taken by every command. */
#define OPT(id) (1ull << (id))
#define SCOPED                                                                                     \
	(OPT(OPT_JSON) | OPT(OPT_KEY) | OPT(OPT_OUT) | OPT(OPT_YES) | OPT(OPT_KEEP_DATA) |         \
	 OPT(OPT_IMAGES))
#define INSTALL_OPTS (OPT(OPT_JSON) | OPT(OPT_KEY) | OPT(OPT_IMAGES))

enum {
	CMD_IMAGE = 1 << 0, /* reads this program's payload (or --image) */
	CMD_ARG = 1 << 1,   /* takes one word: extract DIR */
};

/* One command per line, as git's cmd_struct: dispatch, the options each
 * command takes, the misplaced-option errors and --help come from here. */
static const struct command {
	const char *name;
	int (*run)(struct cli *c, struct dy_image *img); /* img NULL without CMD_IMAGE */
	unsigned flags;
	uint64_t takes; /* the SCOPED options it takes */
	const char *args, *help;
} commands[] = {
	{ "install", cmd_install, CMD_IMAGE, INSTALL_OPTS, "--root DIR [...]",
	  "set up and start an instance (the default when --root is given)" },
	{ "plan", cmd_plan, CMD_IMAGE, INSTALL_OPTS, "--root DIR [...]",
	  "print what install would do; change nothing" },
	{ "preflight", cmd_preflight, CMD_IMAGE, OPT(OPT_JSON), "[--root DIR] [--json]",
	  "check what the host offers; change nothing" },
	{ "gen-env", cmd_gen_env, 0, OPT(OPT_OUT), "--root DIR [--out FILE]",
	  "write the resolved dockyard.env only" },
	{ "uninstall", cmd_uninstall, 0, OPT(OPT_YES) | OPT(OPT_KEEP_DATA),
	  "--root DIR [--yes] [--keep-data]",
	  "stop and remove the instance (dockyardctl destroy)" },
	{ "instances", cmd_instances, 0, OPT(OPT_JSON), "[--json] [--sysroot DIR]",
	  "every registered instance: prefix, root, engine, state, networks" },
	{ "check", cmd_check, CMD_IMAGE, OPT(OPT_KEY), "[--key PUB.pem]",
	  "verify everything (with --key, the signature too); write nothing" },
	{ "list", cmd_list, CMD_IMAGE, OPT(OPT_JSON), "[--json]",
	  "list the payload: component, version, size, sha256, path" },
	{ "extract", cmd_extract, CMD_IMAGE | CMD_ARG, 0, "DIR",
	  "verify and extract the payload into DIR (new or empty)" },
	{ NULL, NULL, 0, 0, NULL, NULL },
};

static void
usage(FILE *out)
{
	const struct command *cmd;

	fprintf(out, "usage: dockyard-installer --root DIR [options]\n"
		     "       dockyard-installer [options] COMMAND [ARGS]\n\ncommands:\n");
	for (cmd = commands; cmd->name; cmd++) {
		fprintf(out, "  %-9s %s\n", cmd->name, cmd->args);
		fprintf(out, "  %-9s   %s\n", "", cmd->help);
	}
	fprintf(out, "\noptions:\n");
	dy_opts_help(out, options);
	fprintf(out, "\nValues not given come from --env, else from DIR/etc/dockyard.env of an\n"
		     "installed instance, else they are generated: prefix dy1, dy2, ...; a\n"
		     "/24 bridge network and /20 pool from 172.16.0.0/12, drawn from a sequence\n"
		     "seeded by DIR (plan and install pick the same), checked against the\n"
		     "host's routes, interfaces, units and other instances.  Operator\n"
		     "additions to dockerd's daemon.json go into DIR/etc/daemon.d/*.json,\n"
		     "to containerd's config into DIR/etc/containerd.d/*.toml; the settings\n"
		     "of DIR/etc/dockyard.env are listed in docs/dockyard-env.md.\n"
		     "\nThe installer checks the SHA-256 of its whole file (stub, payload,\n"
		     "metadata, trailer) and of every member before anything is committed,\n"
		     "and its digest before any command acts on or prints the metadata; a\n"
		     "damaged file gets one message: FILE: installer is corrupt or truncated.\n"
		     "--key PUB.pem also requires the trailer's ECDSA P-256 signature to\n"
		     "verify with PUB.pem (see docs/payload-format.md).\n"
		     "\nexit status: 0 success (or already up to date), 1 failed (nothing half-\n"
		     "written; an upgrade that does not start is rolled back), 2 usage or\n"
		     "configuration error, 3 a preflight check failed (see --force), 4 another\n"
		     "installer holds the root's lock (see --wait)\n"
		     "\nAn installer runs only on the architecture it was built for (--version\n"
		     "names it): install, plan and preflight refuse another machine's (exit 3).\n");
}

static const struct command *
find_command(const char *name)
{
	const struct command *cmd;

	for (cmd = commands; cmd->name; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd;
	return NULL;
}

/* "/dy1/" and "/dy1" are the same root; "/" stays "/" (and is refused). */
static int
take_path(const char *option, const char *arg, char *buf, size_t size)
{
	size_t n = strlen(arg);

	while (n > 1 && arg[n - 1] == '/')
		n--;
	if (n == 0 || n >= size) {
		dy_error("--%s '%s': %s", option, arg, n ? "too long" : "empty");
		return -1;
	}
	memcpy(buf, arg, n);
	buf[n] = '\0';
	return 0;
}

/* --images DIR: an existing directory, made absolute (dockyardctl runs
 * elsewhere). */
static int
take_images_dir(struct cli *c, const char *arg)
{
	char *abs = realpath(arg, NULL);
	struct stat st;

	if (abs == NULL || stat(abs, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    strlen(abs) >= sizeof(c->images)) {
		dy_error("--images '%s' must be an existing directory of image archives", arg);
		free(abs);
		return -1;
	}
	snprintf(c->images, sizeof(c->images), "%s", abs);
	free(abs);
	c->inst.images_dir = c->images;
	return 0;
}

static int
take_dns(struct dy_install_opts *o, const char *arg)
{
	const char *p = arg;

	o->dns_set = 1;
	o->ndns = 0;
	while (*p) {
		size_t n = strcspn(p, ", ");
		if (n > 0) {
			if (o->ndns == DY_MAX_DNS || n >= sizeof(o->dns[0])) {
				dy_error("--dns '%s': at most %d servers", arg, DY_MAX_DNS);
				return -1;
			}
			memcpy(o->dns[o->ndns], p, n);
			o->dns[o->ndns++][n] = '\0';
		}
		p += n + (p[n] != '\0');
	}
	return 0;
}

/* The options whose long name is a configuration key (--root, --prefix,
 * --dns, ...) set it in the flags; a bad value is refused here. */
static int
take_config(struct cli *c, const char *name, const char *arg)
{
	const char *value = arg;
	struct dy_err err;

	if (strcmp(name, "root") == 0) {
		if (take_path("root", arg, c->root, sizeof(c->root)) < 0)
			return -1;
		value = c->root;
	}
	if (dy_config_set(&c->inst.flags, name, value, &err) < 0) {
		dy_error("--%s: %s", name, err.msg);
		return -1;
	}
	/* Kept in dockyard.env as DOCKYARD_DNS: a re-run does not detect again. */
	if (strcmp(name, "dns") == 0)
		return take_dns(&c->inst, arg);
	return 0;
}

static int
take_sysroot(struct cli *c, const char *arg)
{
	if (take_path("sysroot", arg, c->sysroot, sizeof(c->sysroot)) < 0)
		return -1;
	if (c->sysroot[0] != '/') {
		dy_error("--sysroot '%s' must be an absolute path", arg);
		return -1;
	}
	if (strcmp(c->sysroot, "/") == 0)
		c->sysroot[0] = '\0';
	c->inst.sysroot = c->sysroot;
	return 0;
}

/* The other options with an argument; 1 for a flag. */
static int
take_option(struct cli *c, int id, const char *arg)
{
	struct dy_err err;
	long n;

	switch (id) {
	case OPT_ENV:
		c->inst.env_file = arg;
		return 0;
	case OPT_SYSROOT:
		return take_sysroot(c, arg);
	case OPT_IMAGES:
		return take_images_dir(c, arg);
	case OPT_START_TIMEOUT:
		if (dy_opt_long("--start-timeout", arg, 1, 3600, &n, &err) < 0) {
			dy_error("%s", err.msg);
			return -1;
		}
		c->inst.start_timeout = (int)n;
		return 0;
	case OPT_IMAGE:
		c->image = arg;
		return 0;
	case OPT_KEY:
		c->inst.key = arg;
		return 0;
	case OPT_OUT:
		c->out = arg;
		return 0;
	}
	return 1;
}

static int
take_flag(struct cli *c, int id)
{
	switch (id) {
	case OPT_JSON:
		c->inst.json = 1;
		break;
	case OPT_DRY_RUN:
		c->inst.dry_run = 1;
		break;
	case OPT_FORCE:
		c->inst.force = 1;
		break;
	case OPT_WAIT:
		c->inst.wait_lock = 1;
		break;
	case OPT_NO_START:
		c->inst.no_start = 1;
		break;
	case OPT_NO_SYSTEMD:
		c->inst.no_systemd = 1;
		break;
	case OPT_NO_IMAGES:
		c->inst.no_images = 1;
		break;
	case OPT_YES:
		c->yes = 1;
		break;
	case OPT_KEEP_DATA:
		c->keep_data = 1;
		break;
	case OPT_HELP:
		usage(stdout);
		exit(0);
	case OPT_VERSION:
		c->want_version = 1;
		break;
	default:
		return 1;
	}
	return 0;
}

static const struct dy_opt *
option_of(int id)
{
	const struct dy_opt *o;

	for (o = options; o->long_name && o->id != id; o++)
		;
	return o;
}

/* A word: the command, or the argument of a command that takes one. */
static int
take_word(struct cli *c, const char *word)
{
	if (c->command == NULL && (c->command = find_command(word)) != NULL)
		return 0;
	if (c->command != NULL && (c->command->flags & CMD_ARG) && c->arg == NULL) {
		c->arg = word;
		return 0;
	}
	dy_error("unexpected argument '%s' (see --help)", word);
	return -1;
}

static int
take_one(struct cli *c, int id, const char *arg)
{
	const struct dy_opt *o = option_of(id);
	int rc;

	if (o->long_name && dy_config_key(o->long_name) != NULL)
		rc = take_config(c, o->long_name, arg);
	else if ((rc = take_option(c, id, arg)) == 1)
		rc = take_flag(c, id);
	if (rc == 0 && id < 64)
		c->given |= OPT(id);
	return rc;
}

static int
take_arg(void *ctx, int id, const char *arg, struct dy_err *err)
{
	(void)err; /* take_word and take_one report their own errors */
	return id == DY_OPT_WORD ? take_word(ctx, arg) : take_one(ctx, id, arg);
}

static int
parse_args(int argc, char **argv, struct cli *c)
{
	return dy_opts_parse_argv(argc, argv, options, take_arg, c);
}

static void
progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	dy_progress("verifying", done, total, 1);
}

static int
open_image(const struct cli *c, struct dy_image *img)
{
	struct dy_err err;
	int rc;

	char self[4096];
	ssize_t n;

	if (c->image)
		rc = dy_image_open(img, c->image, NULL, 0, &err);
	else {
		/* Messages name the file the operator ran, not /proc/self/exe. */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		rc = dy_image_open(img, "/proc/self/exe", n > 0 ? self : NULL, 1, &err);
	}
	if (rc < 0)
		dy_error("%s", err.msg);
	return rc;
}

static int
cmd_version(const struct cli *c)
{
	struct dy_image img;
	struct dy_err err;

	printf("dockyard-installer %s (payload format %d)\n", DY_VERSION, DY_TRAILER_VERSION);
	if (open_image(c, &img) < 0)
		return EXIT_BAD;
	if (dy_image_check_digest(&img, &err) < 0) {
		dy_error("%s", err.msg);
		dy_image_close(&img);
		return EXIT_BAD;
	}
	printf("payload components:\n");
	dy_list_versions(stdout, &img.meta);
	dy_image_close(&img);
	return 0;
}

static void
say_signature_state(const struct dy_image *img, const struct dy_sig_key *pub)
{
	if (pub != NULL)
		dy_say(DY_NORMAL, "signature OK (%s)", dy_sig_key_name(pub));
	else if (img->trailer.flags & DY_TRAILER_SIGNED)
		dy_say(DY_NORMAL, "%s: signed; signature not verified (give --key PUB.pem)",
		       img->path);
}

static int
cmd_check(struct cli *c, struct dy_image *img)
{
	struct dy_walk_ops ops = { NULL, NULL, NULL, progress, NULL };
	struct dy_sig_key *pub = NULL;
	struct dy_err err;
	uint64_t read_bytes = 0;
	int rc = EXIT_BAD;

	/* A bad key is reported before the long pass, not after it. */
	if (c->inst.key != NULL && dy_sig_key_load(c->inst.key, 0, &pub, &err) < 0) {
		dy_error("%s", err.msg);
		return EXIT_BAD;
	}
	if (dy_payload_walk(img, &ops, NULL, &read_bytes, &err) < 0) {
		dy_progress_end();
		dy_error("%s", err.msg);
		goto out;
	}
	dy_progress_end();
	/* Only now does the signed digest describe this file. */
	if (pub != NULL && dy_sig_check_image(img, pub, &err) < 0) {
		dy_error("%s", err.msg);
		goto out;
	}
	dy_say(DY_VERBOSE, "read %llu of %llu bytes %s (SHA-256: %s)",
	       (unsigned long long)read_bytes, (unsigned long long)img->size,
	       read_bytes == img->size ? "once" : "more than once", dy_sha256_impl());
	dy_say(DY_NORMAL, "%s: OK (%zu components, %zu entries, %llu bytes verified)", img->path,
	       img->meta.ncomponents, img->meta.nentries, (unsigned long long)img->size);
	say_signature_state(img, pub);
	rc = 0;
out:
	dy_sig_key_free(pub);
	return rc;
}

static int
cmd_list(struct cli *c, struct dy_image *img)
{
	struct dy_err err;

	/* Digest first: a listing of a corrupt file would be a lie. */
	if (dy_image_check_digest(img, &err) < 0) {
		dy_error("%s", err.msg);
		return EXIT_BAD;
	}
	if (!c->inst.json) {
		dy_list_text(stdout, &img->meta);
		return 0;
	}
	if (dy_list_json(stdout, &img->meta, &err) < 0) {
		dy_error("%s", err.msg);
		return EXIT_BAD;
	}
	return 0;
}

static int
cmd_extract(struct cli *c, struct dy_image *img)
{
	struct dy_extract_stats stats;
	struct dy_err err;

	if (c->arg == NULL) {
		dy_error("extract needs a target directory (see --help)");
		return EXIT_USAGE;
	}
	if (dy_extract(img, c->arg, progress, &stats, &err) < 0) {
		dy_progress_end();
		dy_error("%s", err.msg);
		return EXIT_BAD;
	}
	dy_progress_end();
	dy_say(DY_NORMAL, "extracted %llu files (%llu bytes) into %s",
	       (unsigned long long)stats.files, (unsigned long long)stats.bytes_written, c->arg);
	dy_say(DY_VERBOSE, "read %llu of %llu image bytes", (unsigned long long)stats.bytes_read,
	       (unsigned long long)img->size);
	return 0;
}

/* The exit status for a failure of the library (err->kind). */
static int
exit_status(const struct dy_err *err)
{
	switch (err->kind) {
	case DY_ERR_USAGE:
		return DY_EXIT_USAGE;
	case DY_ERR_PREFLIGHT:
		return DY_EXIT_PREFLIGHT;
	case DY_ERR_LOCKED:
		return DY_EXIT_LOCKED;
	default:
		return DY_EXIT_FAIL;
	}
}

/* The installer library's output (plan, --json, preflight report). */
static void
write_stdout(const char *text, size_t len, void *ctx)
{
	(void)ctx;
	fwrite(text, 1, len, stdout);
}

/* gen-env: the resolved configuration only. */
static int
cmd_gen_env(struct cli *c, struct dy_image *img)
{
	struct dy_config cfg;
	struct dy_err err;
	char *text = NULL;
	size_t len;
	int rc;

	(void)img;
	if (dy_install_config(&c->inst, &cfg, &err) < 0) {
		dy_error("%s", err.msg);
		return exit_status(&err);
	}
	if (dy_config_format_env(&cfg, &text, &len, &err) < 0) {
		dy_error("%s", err.msg);
		return EXIT_BAD;
	}
	rc = DY_EXIT_OK;
	if (c->out == NULL)
		fwrite(text, 1, len, stdout);
	else if (!c->inst.force && access(c->out, F_OK) == 0) {
		dy_error("%s exists; pass --force to replace it", c->out);
		rc = EXIT_BAD;
	} else if (dy_write_file_atomic(c->out, text, len, 0644, &err) < 0) {
		dy_error("%s", err.msg);
		rc = EXIT_BAD;
	} else
		dy_say(DY_NORMAL, "wrote %s", c->out);
	free(text);
	return rc;
}

static int
cmd_uninstall(struct cli *c, struct dy_image *img)
{
	char *extra[3] = { NULL, NULL, NULL };
	struct dy_err err;
	int n = 0;

	(void)img;
	if (c->yes)
		extra[n++] = "--yes";
	if (c->keep_data)
		extra[n++] = "--keep-data";
	if (dy_uninstall(&c->inst, extra, &err) < 0) {
		dy_error("%s", err.msg);
		return exit_status(&err);
	}
	return DY_EXIT_OK;
}

/* instances: the registry; each instance's state from its dockyardctl
 * (not in an image tree, where nothing runs).  A broken entry is listed,
 * never fatal. */
static int
cmd_instances(struct cli *c, struct dy_image *img)
{
	struct dy_err err;
	json_t *doc;

	(void)img;
	doc = dy_instances_scan(c->inst.sysroot, c->inst.sysroot[0] == '\0', &err);
	if (doc == NULL) {
		dy_error("%s", err.msg);
		return EXIT_BAD;
	}
	if (c->inst.json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else
		dy_instances_print(stdout, doc);
	json_decref(doc);
	return 0;
}

/* "install, plan and check": the commands that take the option id. */
static void
commands_taking(int id, char *buf, size_t size)
{
	const struct command *cmd;
	size_t n = 0, left = 0;

	for (cmd = commands; cmd->name; cmd++)
		left += (cmd->takes & OPT(id)) != 0;
	buf[0] = '\0';
	for (cmd = commands; cmd->name && n < size; cmd++) {
		if (!(cmd->takes & OPT(id)))
			continue;
		left--;
		n += (size_t)snprintf(buf + n, size - n, "%s%s", cmd->name,
				      left > 1	  ? ", "
				      : left == 1 ? " and "
						  : "");
	}
}

/* Options given that the command does not take are mistakes, not no-ops. */
static int
check_applicable(const struct cli *c)
{
	const struct dy_opt *o;
	char names[128];

	for (o = options; o->long_name; o++) {
		if (o->id >= 64 || !(c->given & SCOPED & OPT(o->id) & ~c->command->takes))
			continue;
		commands_taking(o->id, names, sizeof(names));
		dy_error("--%s applies to %s", o->long_name, names);
		return -1;
	}
	if (c->inst.images_dir && (c->inst.no_start || c->sysroot[0] != '\0')) {
		dy_error("--images loads into a started instance: not with --no-start or "
			 "--sysroot");
		return -1;
	}
	return 0;
}

/* preflight and plan read the metadata but never stream the payload: its
 * digest first, or they would report on a corrupt file.  install checks it
 * in its one extracting pass, before it acts on the metadata. */
static int
check_digest(struct dy_image *img)
{
	struct dy_err err;

	if (dy_image_check_digest(img, &err) == 0)
		return 0;
	dy_error("%s", err.msg);
	return -1;
}

static int
cmd_install(struct cli *c, struct dy_image *img)
{
	struct dy_err err;
	int rc;

	if (c->inst.dry_run && check_digest(img) < 0)
		return EXIT_BAD;
	rc = dy_install(img, &c->inst, &err);
	if (rc < 0) {
		dy_error("%s", err.msg);
		return exit_status(&err);
	}
	return DY_EXIT_OK;
}

static int
cmd_plan(struct cli *c, struct dy_image *img)
{
	c->inst.dry_run = 1;
	return cmd_install(c, img);
}

static int
cmd_preflight(struct cli *c, struct dy_image *img)
{
	struct dy_err err;

	if (check_digest(img) < 0)
		return EXIT_BAD;
	if (dy_install_preflight(img, &c->inst, &err) < 0) {
		dy_error("%s", err.msg);
		return exit_status(&err);
	}
	return DY_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct dy_image img;
	struct cli c;
	int rc;

	memset(&c, 0, sizeof(c));
	dy_install_opts_init(&c.inst);
	c.inst.out = write_stdout;
	dy_log_init(argv[0]);
	umask(022);
	if (parse_args(argc, argv, &c) < 0)
		return EXIT_USAGE;
	if (c.want_version)
		return cmd_version(&c);
	if (c.command == NULL && (c.inst.flags.set & DY_KEY_ROOT))
		c.command = find_command("install");
	if (c.command == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (check_applicable(&c) < 0)
		return EXIT_USAGE;
	if (!(c.command->flags & CMD_IMAGE))
		return c.command->run(&c, NULL);
	if (open_image(&c, &img) < 0)
		return EXIT_BAD;
	rc = c.command->run(&c, &img);
	dy_image_close(&img);
	return rc;
}
