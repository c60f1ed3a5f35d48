/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The start step: systemd (daemon-reload, enable, start or restart) or,
 * without it, dockyardctl; then GET /_ping until the API answers.  An
 * upgrade whose instance does not answer is rolled back to bin.prev.
 */
#include "steps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "../common/log.h"
#include "../common/run.h"
#include "../common/xio.h"

static int
systemd_running(const struct run *r)
{
	struct stat st;

	return !r->o->no_systemd && r->o->sysroot[0] == '\0' &&
	       lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* GET /_ping on the instance's socket answers "OK". */
static int
api_answers(const struct run *r)
{
	static const char req[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	int fd, ok;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/run/docker.sock", r->root) >=
	    sizeof(sa.sun_path))
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    dy_write_full(fd, req, sizeof(req) - 1) < 0) {
		close(fd);
		return 0;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	ok = strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0;
	return ok && len >= 2 && strcmp(buf + len - 2, "OK") == 0;
}

static int
wait_api(const struct run *r, struct dy_err *err)
{
	struct timespec t0, now, nap = { 0, 200 * 1000 * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (api_answers(r))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= r->o->start_timeout)
			return dy_errf(err,
				       "the Docker API at %s/run/docker.sock did not answer "
				       "within %d s (see %s/bin/dockyardctl status and logs)",
				       r->root, r->o->start_timeout, r->root);
		nanosleep(&nap, NULL);
	}
}

/* The installer loads ROOT/images/ itself after the start (step_image_dirs):
 * a refused image directory must not count as a failed start, which would
 * roll an upgrade back. */
static char *const ctl_env[] = { "PATH=" DY_TOOL_PATH, "DOCKYARD_START_IMAGES=no", NULL };

static int
ctl(const struct run *r, const char *command, struct dy_err *err)
{
	char prog[PATH_BUF];
	char *argv[] = { prog, "-q", (char *)command, NULL };

	if (act_root_path(r, prog, sizeof(prog), "bin/dockyardctl", err) < 0)
		return -1;
	if (dy_display_level > DY_QUIET) {
		argv[1] = (char *)command;
		argv[2] = NULL;
	}
	return dy_run_ok(argv, ctl_env, err);
}

static int
systemctl(const char *a, const char *b, const char *c, struct dy_err *err)
{
	char prog[PATH_BUF];
	char *argv[] = { prog, (char *)a, (char *)b, (char *)c, NULL };

	if (dy_which("systemctl", prog, sizeof(prog)) < 0)
		return dy_errf(err, "systemd runs, but there is no systemctl in %s", DY_TOOL_PATH);
	return dy_run_ok(argv, NULL, err);
}

/* The start or restart start_instance does, as an action: a restart when
 * something the daemons read changed and the API answers, a start when it
 * does not answer, nothing when it answers and nothing changed. */
static void
note_start(struct run *r, const struct instance *in, const struct stage *stg,
	   const struct restart *rs)
{
	int running = api_answers(r);
	int changed = rs->needed || stg->upgraded || (r->dry && !stg->current);

	if (running && !changed && rs->reload_only)
		act(r, "reload", NULL, in->unit_name, "reload dockerd of %s (SIGHUP)",
		    in->unit_name);
	if (running && !changed)
		return;
	act(r, running ? "restart" : "start", NULL, in->unit_name, "%s %s",
	    running ? "restart" : "start", in->unit_name);
}

void
step_plan_start(struct run *r, const struct instance *in, const struct stage *stg,
		const struct restart *rs)
{
	if (!r->o->no_start && r->o->sysroot[0] == '\0')
		note_start(r, in, stg, rs);
}

/* Start (restart when something the daemons read changed), then wait for
 * the API. */
static int
start_instance(const struct run *r, const struct instance *in, const struct stage *stg,
	       const struct restart *rs, struct dy_err *err)
{
	/* Only keys dockerd reloads changed, and it runs: no restart. */
	if (!rs->needed && !stg->upgraded && rs->reload_only && api_answers(r))
		return ctl(r, "reload", err);
	if (systemd_running(r)) {
		if (systemctl("daemon-reload", NULL, NULL, err) < 0 ||
		    systemctl("enable", in->unit_name, NULL, err) < 0 ||
		    systemctl(rs->needed ? "restart" : "start", in->unit_name, NULL, err) < 0)
			return -1;
	} else {
		struct dy_err ignored;
		/* A stack left half started (an installer killed during its
		 * start, a daemon that died) is stopped first: start refuses it. */
		if ((rs->needed || ctl(r, "status", &ignored) < 0) && ctl(r, "stop", err) < 0)
			return -1;
		if (ctl(r, "start", err) < 0)
			return -1;
	}
	return wait_api(r, err);
}

static void
stop_instance(const struct run *r, const struct instance *in)
{
	struct dy_err err;

	int rc;

	if (systemd_running(r))
		rc = systemctl("stop", in->unit_name, NULL, &err);
	else
		rc = ctl(r, "stop", &err);
	if (rc < 0)
		dy_warn("%s", err.msg);
}

/* The new bin/ did not come up: put the previous one back and start it. */
static void
roll_back(const struct run *r, const struct instance *in, struct stage *stg, struct restart *rs,
	  struct dy_err *err)
{
	char bin[PATH_BUF], prev[PATH_BUF], failed[PATH_BUF];
	struct dy_err e2;

	stop_instance(r, in);
	if (act_root_path(r, bin, sizeof(bin), "bin", &e2) < 0 ||
	    act_root_path(r, prev, sizeof(prev), "bin.prev", &e2) < 0 ||
	    act_root_path(r, failed, sizeof(failed), "bin.failed", &e2) < 0)
		return;
	act_remove_at_root(r, "bin.failed", &e2);
	if (rename(bin, failed) < 0 || rename(prev, bin) < 0) {
		dy_err_wrap(err, "rolling back failed too (%s); previous binaries are in %s",
			    strerror(errno), prev);
		return;
	}
	act_remove_at_root(r, "bin.failed", &e2);
	stg->upgraded = 0;
	rs->needed = 1;
	if (start_instance(r, in, stg, rs, &e2) < 0)
		dy_err_wrap(err, "restored the previous bin/, which does not start either (%s)",
			    e2.msg);
	else
		dy_err_wrap(err, "restored the previous bin/, which runs again; the upgrade "
				 "failed");
}

static int
record_payload(struct run *r, const struct instance *in, struct dy_err *err)
{
	return act_put_root_file(r, PAYLOAD_META, in->img->meta_raw,
				 (size_t)in->img->trailer.meta_len, 0644, err) < 0
		       ? -1
		       : 0;
}

int
step_start(struct run *r, const struct instance *in, struct stage *stg, struct restart *rs,
	   struct dy_err *err)
{
	if (r->o->no_start || r->o->sysroot[0] != '\0') {
		if (stg->upgraded && act_remove_at_root(r, "bin.prev", err) < 0)
			return -1;
		return record_payload(r, in, err);
	}
	dy_say(DY_NORMAL, "starting %s%s", in->unit_name,
	       systemd_running(r) ? "" : " (no systemd: dockyardctl start)");
	note_start(r, in, stg, rs);
	if (start_instance(r, in, stg, rs, err) < 0) {
		if (stg->upgraded)
			roll_back(r, in, stg, rs, err);
		return -1;
	}
	act_fault_point("started");
	if (stg->upgraded && act_remove_at_root(r, "bin.prev", err) < 0)
		return -1;
	return record_payload(r, in, err);
}

int
step_images(struct run *r, const struct instance *in, struct dy_err *err)
{
	const struct dy_meta *m = &in->img->meta;
	char docker[PATH_BUF], file[PATH_BUF];
	char *argv[] = { docker, "load", "-q", "-i", file, NULL };
	size_t i;

	if (act_root_path(r, docker, sizeof(docker), "bin/docker", err) < 0)
		return -1;
	for (i = 0; i < m->nentries; i++) {
		const struct dy_entry *e = &m->entries[i];
		const char *role;

		/* An image component's licence text (share/doc/NAME/) is no image. */
		if (e->is_dir || strncmp(e->path, "share/doc/", 10) == 0)
			continue;
		role = dy_meta_attr(&m->components[e->component], "role");
		if (role == NULL || strcmp(role, "image") != 0)
			continue;
		if (act_root_path(r, file, sizeof(file), e->path, err) < 0)
			return -1;
		act(r, "image", file, m->components[e->component].name, "load image %s (%s)", file,
		    m->components[e->component].name);
		if (!r->dry && dy_run_ok(argv, NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* dockyardctl load-images [DIR]; shown names DIR or ROOT/images. */
static int
load_dir(const struct run *r, const char *dir, const char *shown, struct dy_err *err)
{
	char prog[PATH_BUF];
	char *argv[] = { prog, "-q", "load-images", (char *)dir, NULL };

	if (act_root_path(r, prog, sizeof(prog), "bin/dockyardctl", err) < 0)
		return -1;
	if (dy_display_level > DY_QUIET) {
		argv[1] = "load-images";
		argv[2] = (char *)dir;
		argv[3] = NULL;
	}
	if (dy_run_ok(argv, NULL, err) < 0)
		return dy_err_wrap(err, "images from %s refused; the instance runs", shown);
	return 0;
}

int
step_image_dirs(struct run *r, struct dy_err *err)
{
	char own[PATH_BUF];
	struct stat st;

	if (act_root_path(r, own, sizeof(own), "images", err) < 0)
		return -1;
	if (!r->dry && stat(own, &st) == 0 && S_ISDIR(st.st_mode) &&
	    load_dir(r, NULL, own, err) < 0)
		return -1;
	if (r->o->images_dir == NULL)
		return 0;
	act(r, "image", r->o->images_dir, NULL, "load every image archive in %s", r->o->images_dir);
	return r->dry ? 0 : load_dir(r, r->o->images_dir, r->o->images_dir, err);
}
