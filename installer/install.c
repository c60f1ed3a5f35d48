/* SPDX-License-Identifier: Apache-2.0 */
/*
 * install: one instance from this installer's payload.  This file is the
 * driver: it sets the run up, runs the steps (steps.h) in this order
 * (config, preflight, lock, binaries, render, system objects, receipt,
 * start, images: each needs what the ones before it made), rolls back what
 * a failed one leaves, and says what was done.  Each step is idempotent,
 * so a re-run converges and, when nothing differs, changes nothing.  Plan
 * mode (--dry-run) runs the same decisions and records each action
 * instead of doing it.
 */
#include "install.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "act.h"
#include "dropin.h"
#include "lock.h"
#include "preflight.h"
#include "receipt.h"
#include "settings.h"
#include "steps.h"

void
dy_install_opts_init(struct dy_install_opts *o)
{
	memset(o, 0, sizeof(*o));
	dy_config_init(&o->flags);
	o->sysroot = "";
	o->start_timeout = 120;
}

/* ---- the command ---- */

/* Everything one install holds; each step gets only its part of it. */
struct job {
	struct run run;
	struct instance in;
	struct stage stage;
	struct restart restart;
	struct lock lock;
	struct dy_receipt receipt;
	struct dy_preflight report; /* kept until the file is verified */
	json_t *dropins;	    /* etc/daemon.d merged, read before anything is written */
};

static void
job_init(struct job *j, struct dy_image *img, const struct dy_install_opts *o)
{
	memset(j, 0, sizeof(*j));
	j->run.o = o;
	j->run.dry = o->dry_run;
	j->in.img = img;
	lock_init(&j->lock);
	dy_receipt_init(&j->receipt);
}

static int
job_setup(struct job *j, struct dy_err *err)
{
	const struct dy_install_opts *o = j->run.o;
	struct instance *in = &j->in;

	if (dy_install_config(o, &in->cfg, err) < 0)
		return -1;
	in->mode = dy_runtime_mode(&in->img->meta);
	if (act_host_path(o, j->run.root, sizeof(j->run.root), in->cfg.root, err) < 0)
		return dy_err_kind(err, DY_ERR_USAGE);
	snprintf(in->group, sizeof(in->group), "%sdocker", in->cfg.prefix);
	snprintf(in->unit_name, sizeof(in->unit_name), "%sdocker.service", in->cfg.prefix);
	snprintf(in->unit_path, sizeof(in->unit_path), "/etc/systemd/system/%s", in->unit_name);
	return 0;
}

static void
job_free(struct job *j)
{
	lock_free(&j->lock);
	dy_receipt_free(&j->receipt);
	dy_preflight_free(&j->report);
	json_decref(j->run.plan);
	json_decref(j->dropins);
}

/* The networks as --json prints them (the shared contract). */
static json_t *
networks_json(const struct dy_config *c)
{
	char bridge[24], fixed[24], pool[24];

	dy_cidr_format(&c->bridge, bridge, sizeof(bridge));
	dy_cidr_format(&c->fixed, fixed, sizeof(fixed));
	dy_cidr_format(&c->pool, pool, sizeof(pool));
	return json_pack("{s:s,s:s,s:s,s:i}", "bridge_cidr", bridge, "fixed_cidr", fixed,
			 "pool_base", pool, "pool_size", c->pool_size);
}

/* install --json and plan --json: schema 1 (docs/schemas/install.json). */
static void
print_json(const struct job *j)
{
	const struct dy_config *c = &j->in.cfg;
	json_t *doc = json_pack("{s:i,s:s,s:s,s:s,s:b,s:O,s:o}", "schema", 1, "command",
				j->run.dry ? "plan" : "install", "root", c->root, "prefix",
				c->prefix, "changed", j->run.changes > 0, "actions", j->run.plan,
				"networks", networks_json(c));
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (text != NULL)
		act_print(&j->run, "%s\n", text);
	free(text);
	json_decref(doc);
}

static void
say_config(const struct run *r, const struct dy_config *c)
{
	char bridge[24], fixed[24], pool[24];

	dy_cidr_format(&c->bridge, bridge, sizeof(bridge));
	dy_cidr_format(&c->fixed, fixed, sizeof(fixed));
	dy_cidr_format(&c->pool, pool, sizeof(pool));
	if (r->dry && !r->o->json)
		act_print(r,
			  "plan for %s%s (prefix %s, bridge %sdocker0 %s, containers %s, "
			  "networks from %s in /%d):\n",
			  r->o->sysroot, c->root, c->prefix, c->prefix, bridge, fixed, pool,
			  c->pool_size);
	else if (!r->dry)
		dy_say(DY_NORMAL,
		       "instance %s at %s%s: bridge %sdocker0 %s, containers %s, networks from "
		       "%s in /%d",
		       c->prefix, r->o->sysroot, c->root, c->prefix, bridge, fixed, pool,
		       c->pool_size);
}

/* The operator's drop-ins, read and checked before anything is written:
 * a broken one refuses the run with nothing changed. */
static int
load_dropins(const struct run *r, json_t **dropins, struct dy_err *err)
{
	char dir[PATH_BUF];

	if (act_root_path(r, dir, sizeof(dir), DY_DROPIN_DIR, err) < 0)
		return -1;
	return dy_dropin_load(dir, dropins, err);
}

/* A failure before the instance is registered: remove the staging tree
 * and the unit file when this run wrote it.  The unit lives outside the
 * root, and one left behind would claim the prefix: the re-run, or any
 * other root, would be refused with "the unit file ... exists". */
static void
unprepare(struct run *r, struct stage *stage, const char *unit_made)
{
	if (unit_made != NULL && unlink(unit_made) < 0 && errno != ENOENT)
		dy_warn("cannot remove %s: %s", unit_made, strerror(errno));
	step_unstage(r, stage);
}

/* The unit's host path, when this run is about to create it. */
static const char *
unit_to_make(const struct run *r, const struct instance *in, char *buf, size_t size)
{
	struct dy_err ignored;
	struct stat st;

	if (r->dry || act_host_path(r->o, buf, size, in->unit_path, &ignored) < 0 ||
	    lstat(buf, &st) == 0)
		return NULL;
	return buf;
}

/* Up to the system objects: a failure removes what the stage left (and
 * the lock file a first run made). */
static int
prepare(struct job *j, struct dy_err *err)
{
	struct run *r = &j->run;
	char unit_buf[PATH_BUF];
	const char *unit_made;

	if (dy_receipt_add(&j->receipt, err, "root %s", j->in.cfg.root) < 0 ||
	    dy_receipt_add(&j->receipt, err, "prefix %s", j->in.cfg.prefix) < 0)
		return -1;
	if (load_dropins(r, &j->dropins, err) < 0 ||
	    step_stage(r, &j->in, &j->report, &j->stage, err) < 0) {
		if (!r->dry)
			lock_drop_fresh(r->o, j->in.cfg.root, &j->lock);
		return -1;
	}
	unit_made = unit_to_make(r, &j->in, unit_buf, sizeof(unit_buf));
	if (step_dirs(r, &j->in, &j->stage, &j->receipt, err) < 0 ||
	    step_render(r, &j->in, j->dropins, &j->restart, &j->receipt, err) < 0) {
		unprepare(r, &j->stage, unit_made);
		return -1;
	}
	act_fault_point("rendered");
	if (step_system(r, &j->in, &j->receipt, err) < 0) {
		unprepare(r, &j->stage, unit_made);
		return -1;
	}
	lock_release_host(&j->lock);
	act_fault_point("system");
	return 0;
}

static int
run_steps(struct job *j, struct dy_err *err)
{
	struct run *r = &j->run;

	if (prepare(j, err) < 0 || step_binaries(r, &j->in, &j->stage, &j->restart, err) < 0 ||
	    step_receipt(r, &j->in, &j->receipt, err) < 0)
		return -1;
	act_fault_point("receipt");
	if (r->dry)
		step_plan_start(r, &j->in, &j->stage, &j->restart);
	else if (step_start(r, &j->in, &j->stage, &j->restart, err) < 0)
		return -1;
	if (r->o->no_start || r->o->sysroot[0] != '\0')
		return 0;
	/* Images are loaded by the run that extracts the payload. */
	if ((r->dry ? !j->stage.current : j->stage.extracted) && !r->o->no_images &&
	    step_images(r, &j->in, err) < 0)
		return -1;
	return step_image_dirs(r, err);
}

static void
say_done(const struct run *r, const struct instance *in)
{
	if (r->changes == 0)
		dy_say(DY_NORMAL, "%s is up to date: nothing changed", r->root);
	if (r->o->sysroot[0] != '\0') {
		dy_say(DY_NORMAL,
		       "installed into the image at %s; %s starts when that system boots",
		       r->o->sysroot, in->unit_name);
		return;
	}
	if (r->o->no_start) {
		dy_say(DY_NORMAL,
		       "installed, not started: %s/bin/dockyardctl start (or systemctl "
		       "start %s)",
		       r->root, in->unit_name);
		return;
	}
	dy_say(DY_NORMAL, "ready: %s/bin/docker ps  (or: eval \"$(%s/bin/dockyardctl env)\")",
	       r->root, r->root);
	dy_say(DY_NORMAL,
	       "members of group %s may use it; remove it with: dockyard-installer "
	       "uninstall --root %s",
	       in->group, in->cfg.root);
}

/* The result, once every step succeeded. */
static void
report_done(const struct job *j)
{
	const struct run *r = &j->run;

	if (r->o->json)
		print_json(j);
	else if (r->dry) {
		if (r->changes == 0)
			act_print(r, "  nothing to do: %s is up to date\n", r->root);
	} else
		say_done(r, &j->in);
}

/* Another machine's binaries: refused before anything is written.  An
 * image tree (--sysroot) may be for another machine; there the
 * preflight checks the payload's ELF interpreter inside the tree. */
static int
check_arch(struct dy_image *img, const struct dy_install_opts *o, struct dy_err *err)
{
	if (o->sysroot[0] != '\0' || dy_preflight_arch(&img->meta, img->path, err) == 0)
		return 0;
	/* The arch line is metadata: a damaged file reads as damaged. */
	if (!img->digest_ok && dy_image_check_digest(img, err) < 0)
		return -1;
	return dy_err_kind(err, DY_ERR_PREFLIGHT);
}

/* Everything after the configuration: checks, the lock, the steps. */
static int
install_job(struct job *j, struct dy_err *err)
{
	struct run *r = &j->run;

	if (r->o->json)
		r->plan = json_array();
	say_config(r, &j->in.cfg);
	if (step_check_root(r, err) < 0 || step_preflight(r, &j->in, &j->report, err) < 0)
		return -1;
	if (!r->dry && lock_take(r->o, j->in.cfg.root, &j->lock, err) < 0)
		return -1;
	/* The receipt read under the lock: another run may have added to it. */
	if (step_load_receipt(r, &j->receipt, err) < 0 || run_steps(j, err) < 0)
		return dy_err_kind(err, DY_ERR_FAIL);
	report_done(j);
	return 0;
}

int
dy_install(struct dy_image *img, const struct dy_install_opts *o, struct dy_err *err)
{
	struct job j;
	int rc;

	if (check_arch(img, o, err) < 0)
		return -1;
	job_init(&j, img, o);
	rc = !o->dry_run ? lock_take_host(o, &j.lock, err) : 0;
	if (rc == 0)
		rc = job_setup(&j, err);
	if (rc == 0)
		rc = install_job(&j, err);
	job_free(&j);
	return rc;
}

/* The preflight report, as text or JSON, to o->out. */
static int
emit_preflight(const struct dy_install_opts *o, const struct dy_preflight *p, struct dy_err *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc = 0;

	if (f == NULL)
		return dy_errnof(err, "cannot hold the preflight report");
	if (o->json)
		rc = dy_preflight_print_json(f, p, err);
	else
		dy_preflight_print(f, p);
	if (fclose(f) != 0 && rc == 0)
		rc = dy_errnof(err, "cannot hold the preflight report");
	if (rc == 0 && o->out != NULL)
		o->out(text, len, o->out_ctx);
	free(text);
	return rc < 0 ? -1 : 0;
}

int
dy_install_preflight(struct dy_image *img, const struct dy_install_opts *o, struct dy_err *err)
{
	struct dy_preflight_in in = { &img->meta, "/", o->sysroot };
	struct dy_preflight p = { NULL, 0, 0 };
	int rc;

	if (o->sysroot[0] == '\0' && dy_preflight_arch(&img->meta, img->path, err) < 0)
		return dy_err_kind(err, DY_ERR_PREFLIGHT);
	if (o->flags.set & DY_KEY_ROOT)
		in.root = o->flags.root;
	if (dy_preflight_run(&in, &p, err) < 0)
		return dy_err_kind(err, DY_ERR_FAIL);
	rc = emit_preflight(o, &p, err);
	if (rc == 0 && p.failed > 0) {
		dy_errf(err, "%zu preflight check%s failed", p.failed, p.failed == 1 ? "" : "s");
		rc = dy_err_kind(err, DY_ERR_PREFLIGHT);
	}
	dy_preflight_free(&p);
	return rc;
}

/* dockyardctl of the instance, or the copy an interrupted destroy kept
 * beside the root; "" when neither exists. */
static int
find_destroyer(const char *root, char *prog, size_t size, int *from_state, struct dy_err *err)
{
	struct stat st;

	*from_state = 0;
	if ((size_t)snprintf(prog, size, "%s/bin/dockyardctl", root) >= size)
		return dy_errf(err, "path %s/bin/dockyardctl is too long", root);
	if (lstat(prog, &st) == 0)
		return 0;
	if (beside_root("", root, "dockyard-destroy/dockyardctl", prog, size, err) < 0)
		return -1;
	if (lstat(prog, &st) == 0) {
		*from_state = 1;
		return 0;
	}
	prog[0] = '\0';
	return 0;
}

/* exec prog destroy with extra (returns only when that fails). */
static int
run_destroy(char *prog, char *const extra[], struct dy_err *err)
{
	char *argv[8];
	size_t n = 0;

	argv[n++] = prog;
	if (dy_display_level < DY_NORMAL)
		argv[n++] = "-q";
	argv[n++] = "destroy";
	while (*extra != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1)
		argv[n++] = *extra++;
	argv[n] = NULL;
	execv(prog, argv);
	return dy_errnof(err, "cannot run %s", prog);
}

int
dy_uninstall(const struct dy_install_opts *o, char *const extra[], struct dy_err *err)
{
	char prog[PATH_BUF];
	struct stat st;
	int from_state;

	if (!(o->flags.set & DY_KEY_ROOT)) {
		dy_errf(err, "uninstall needs --root DIR");
		return dy_err_kind(err, DY_ERR_USAGE);
	}
	if (o->sysroot[0] != '\0') {
		dy_errf(err, "uninstall works on the running system only, not with --sysroot");
		return dy_err_kind(err, DY_ERR_USAGE);
	}
	if (find_destroyer(o->flags.root, prog, sizeof(prog), &from_state, err) < 0)
		return -1;
	if (prog[0] == '\0') {
		if (lstat(o->flags.root, &st) < 0 && errno == ENOENT) {
			dy_say(DY_NORMAL, "nothing installed at %s: nothing to do", o->flags.root);
			return 0;
		}
		return dy_errf(err, "%s is not an instance: %s/bin/dockyardctl is missing",
			       o->flags.root, o->flags.root);
	}
	/* The kept copy does not live in ROOT/bin: tell it where the root is. */
	if (from_state && setenv("DOCKYARD_CTL_ROOT", o->flags.root, 1) < 0)
		return dy_errnof(err, "cannot set DOCKYARD_CTL_ROOT");
	return run_destroy(prog, extra, err);
}
