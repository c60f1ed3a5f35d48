/*
 * dockyard-installer: the static stub every installer starts with.  It
 * finds its payload through /proc/self/exe and verifies it before anything
 * reaches the target.  This file is the CLI only.
 */
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
#include "../verify/sig.h"
#include "extract.h"
#include "list.h"

enum { EXIT_BAD = 1, EXIT_USAGE = 2 };

enum { OPT_JSON = 1, OPT_IMAGE, OPT_KEY, OPT_HELP, OPT_VERSION };

static const struct dy_opt options[] = {
	{ OPT_JSON, 0, "json", NULL, "list: print JSON" },
	{ OPT_IMAGE, 0, "image", "FILE", "read the payload of FILE instead of this program" },
	{ OPT_KEY, 0, "key", "PUB.pem",
	  "check: require a valid signature by this EC P-256 public key" },
	DY_OPTS_DISPLAY,
	{ OPT_HELP, 'h', "help", NULL, "show this help" },
	{ OPT_VERSION, 'V', "version", NULL, "show this program's and the payload's versions" },
	{ 0, 0, NULL, NULL, NULL },
};

static const struct {
	const char *name;
	const char *args;
	const char *help;
} commands[] = {
	{ "check", "[--key PUB.pem]",
	  "verify everything (with --key, the signature too); write nothing" },
	{ "list", "[--json]", "list the payload: component, version, size, sha256, path" },
	{ "extract", "DIR", "verify and extract the payload into DIR (new or empty)" },
	{ NULL, NULL, NULL },
};

struct cli {
	const char *command;
	const char *arg;
	const char *image;
	const char *key;
	int json;
	int want_version;
};

static void
usage(FILE *out)
{
	int i;

	fprintf(out, "usage: dockyard-installer [options] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; commands[i].name; i++) {
		char left[32];
		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
		fprintf(out, "  %-28s %s\n", left, commands[i].help);
	}
	fprintf(out, "\noptions:\n");
	dy_opts_help(out, options);
	fprintf(out, "\nThe installer checks the SHA-256 of its whole file (stub, payload,\n"
		     "metadata, trailer) and of every member before anything is committed.\n"
		     "check --key PUB.pem also requires the trailer's ECDSA P-256 signature\n"
		     "to verify with PUB.pem (see docs/payload-format.md).\n"
		     "\nexit status: 0 success, 1 verification or operation failed, "
		     "2 usage error\n");
}

static int
known_command(const char *s)
{
	int i;

	for (i = 0; commands[i].name; i++)
		if (strcmp(commands[i].name, s) == 0)
			return 1;
	return 0;
}

static int
parse_args(int argc, char **argv, struct cli *c)
{
	struct dy_opts_state st;
	struct dy_err err;
	int id;

	dy_opts_init(&st, argc, argv, 1);
	while ((id = dy_opts_next(&st, options, &err)) != DY_OPT_END) {
		switch (id) {
		case DY_OPT_ERROR:
			dy_error("%s", err.msg);
			return -1;
		case DY_OPT_WORD:
			if (c->command == NULL && known_command(st.optarg))
				c->command = st.optarg;
			else if (c->command != NULL && c->arg == NULL &&
				 strcmp(c->command, "extract") == 0)
				c->arg = st.optarg;
			else {
				dy_error("unexpected argument '%s' (see --help)", st.optarg);
				return -1;
			}
			break;
		case OPT_JSON:
			c->json = 1;
			break;
		case OPT_IMAGE:
			c->image = st.optarg;
			break;
		case OPT_KEY:
			c->key = st.optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			c->want_version = 1;
			break;
		}
	}
	return 0;
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
cmd_check(const struct cli *c, struct dy_image *img)
{
	struct dy_walk_ops ops = { NULL, NULL, NULL, progress, NULL };
	struct dy_sig_key *pub = NULL;
	struct dy_err err;
	uint64_t read_bytes = 0;
	int rc = EXIT_BAD;

	/* A bad key is reported before the long pass, not after it. */
	if (c->key != NULL && dy_sig_key_load(c->key, 0, &pub, &err) < 0) {
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
	dy_say(DY_VERBOSE, "read %llu of %llu bytes once", (unsigned long long)read_bytes,
	       (unsigned long long)img->size);
	dy_say(DY_NORMAL, "%s: OK (%zu components, %zu entries, %llu bytes verified)", img->path,
	       img->meta.ncomponents, img->meta.nentries, (unsigned long long)img->size);
	say_signature_state(img, pub);
	rc = 0;
out:
	dy_sig_key_free(pub);
	return rc;
}

static int
cmd_list(const struct cli *c, struct dy_image *img)
{
	struct dy_err err;

	/* Digest first: a listing of a corrupt file would be a lie. */
	if (dy_image_check_digest(img, &err) < 0) {
		dy_error("%s", err.msg);
		return EXIT_BAD;
	}
	if (!c->json) {
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
cmd_extract(const struct cli *c, struct dy_image *img)
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

int
main(int argc, char **argv)
{
	struct cli c = { NULL, NULL, NULL, NULL, 0, 0 };
	struct dy_image img;
	int rc;

	dy_log_init(argv[0]);
	umask(022);
	if (parse_args(argc, argv, &c) < 0)
		return EXIT_USAGE;
	if (c.want_version)
		return cmd_version(&c);
	if (c.command == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (c.json && strcmp(c.command, "list") != 0) {
		dy_error("--json applies to list only");
		return EXIT_USAGE;
	}
	if (c.key && strcmp(c.command, "check") != 0) {
		dy_error("--key applies to check only (run check --key before extract)");
		return EXIT_USAGE;
	}
	if (open_image(&c, &img) < 0)
		return EXIT_BAD;
	if (strcmp(c.command, "check") == 0)
		rc = cmd_check(&c, &img);
	else if (strcmp(c.command, "list") == 0)
		rc = cmd_list(&c, &img);
	else
		rc = cmd_extract(&c, &img);
	dy_image_close(&img);
	return rc;
}
