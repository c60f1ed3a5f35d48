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
systemd_running(const struct inst *ins)
{
	struct stat st;

	return !ins->o->no_systemd && ins->o->sysroot[0] == '\0' &&
	       lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* GET /_ping on the instance's socket answers "OK". */
static int
api_answers(const struct inst *ins)
{
	static const char req[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	int fd, ok;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/run/docker.sock", ins->root) >=
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
wait_api(const struct inst *ins, struct dy_err *err)
{
	struct timespec t0, now, nap = { 0, 200 * 1000 * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (api_answers(ins))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= ins->o->start_timeout)
			return dy_errf(err,
				       "the Docker API at %s/run/docker.sock did not answer "
				       "within %d s (see %s/bin/dockyardctl status and logs)",
				       ins->root, ins->o->start_timeout, ins->root);
		nanosleep(&nap, NULL);
	}
}

/* The installer loads ROOT/images/ itself after the start (step_image_dirs):
 * a refused image directory must not count as a failed start, which would
 * roll an upgrade back. */
static char *const ctl_env[] = { "PATH=" DY_TOOL_PATH, "DOCKYARD_START_IMAGES=no", NULL };

static int
ctl(const struct inst *ins, const char *command, struct dy_err *err)
{
	char prog[PATH_BUF];
	char *argv[] = { prog, "-q", (char *)command, NULL };

	if (ins_root_path(ins, prog, sizeof(prog), "bin/dockyardctl", err) < 0)
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
note_start(struct inst *ins)
{
	int running = api_answers(ins);
	int changed = ins->config_changed || ins->upgraded || (ins->dry && !ins->binaries_current);

	if (running && !changed && ins->reload_only)
		ins_act(ins, "reload", NULL, ins->unit_name, "reload dockerd of %s (SIGHUP)",
			ins->unit_name);
	if (running && !changed)
		return;
	ins_act(ins, running ? "restart" : "start", NULL, ins->unit_name, "%s %s",
		running ? "restart" : "start", ins->unit_name);
}

void
step_plan_start(struct inst *ins)
{
	if (!ins->o->no_start && ins->o->sysroot[0] == '\0')
		note_start(ins);
}

/* Start (restart when something the daemons read changed), then wait for
 * the API. */
static int
start_instance(struct inst *ins, struct dy_err *err)
{
	/* Only keys dockerd reloads changed, and it runs: no restart. */
	if (!ins->config_changed && !ins->upgraded && ins->reload_only && api_answers(ins))
		return ctl(ins, "reload", err);
	if (systemd_running(ins)) {
		if (systemctl("daemon-reload", NULL, NULL, err) < 0 ||
		    systemctl("enable", ins->unit_name, NULL, err) < 0 ||
		    systemctl(ins->config_changed ? "restart" : "start", ins->unit_name, NULL,
			      err) < 0)
			return -1;
	} else {
		struct dy_err ignored;
		/* A stack left half started (an installer killed during its
		 * start, a daemon that died) is stopped first: start refuses it. */
		if ((ins->config_changed || ctl(ins, "status", &ignored) < 0) &&
		    ctl(ins, "stop", err) < 0)
			return -1;
		if (ctl(ins, "start", err) < 0)
			return -1;
	}
	return wait_api(ins, err);
}

static void
stop_instance(struct inst *ins)
{
	struct dy_err err;

	int rc;

	if (systemd_running(ins))
		rc = systemctl("stop", ins->unit_name, NULL, &err);
	else
		rc = ctl(ins, "stop", &err);
	if (rc < 0)
		dy_warn("%s", err.msg);
}

/* The new bin/ did not come up: put the previous one back and start it. */
static void
roll_back(struct inst *ins, struct dy_err *err)
{
	char bin[PATH_BUF], prev[PATH_BUF], failed[PATH_BUF];
	struct dy_err e2;

	stop_instance(ins);
	if (ins_root_path(ins, bin, sizeof(bin), "bin", &e2) < 0 ||
	    ins_root_path(ins, prev, sizeof(prev), "bin.prev", &e2) < 0 ||
	    ins_root_path(ins, failed, sizeof(failed), "bin.failed", &e2) < 0)
		return;
	ins_remove_at_root(ins, "bin.failed", &e2);
	if (rename(bin, failed) < 0 || rename(prev, bin) < 0) {
		dy_err_wrap(err, "rolling back failed too (%s); previous binaries are in %s",
			    strerror(errno), prev);
		return;
	}
	ins_remove_at_root(ins, "bin.failed", &e2);
	ins->upgraded = 0;
	ins->config_changed = 1;
	if (start_instance(ins, &e2) < 0)
		dy_err_wrap(err, "restored the previous bin/, which does not start either (%s)",
			    e2.msg);
	else
		dy_err_wrap(err, "restored the previous bin/, which runs again; the upgrade "
				 "failed");
}

static int
record_payload(struct inst *ins, struct dy_err *err)
{
	char path[PATH_BUF];
	if (ins_root_path(ins, path, sizeof(path), PAYLOAD_META, err) < 0)
		return -1;
	return ins_put_file(ins, path, path, ins->img->meta_raw, (size_t)ins->img->trailer.meta_len,
			    0644, err) < 0
		       ? -1
		       : 0;
}

int
step_start(struct inst *ins, struct dy_err *err)
{
	if (ins->o->no_start || ins->o->sysroot[0] != '\0') {
		if (ins->upgraded && ins_remove_at_root(ins, "bin.prev", err) < 0)
			return -1;
		return record_payload(ins, err);
	}
	dy_say(DY_NORMAL, "starting %s%s", ins->unit_name,
	       systemd_running(ins) ? "" : " (no systemd: dockyardctl start)");
	note_start(ins);
	if (start_instance(ins, err) < 0) {
		if (ins->upgraded)
			roll_back(ins, err);
		return -1;
	}
	ins_fault_point("started");
	if (ins->upgraded && ins_remove_at_root(ins, "bin.prev", err) < 0)
		return -1;
	return record_payload(ins, err);
}

int
step_images(struct inst *ins, struct dy_err *err)
{
	const struct dy_meta *m = &ins->img->meta;
	char docker[PATH_BUF], file[PATH_BUF];
	char *argv[] = { docker, "load", "-q", "-i", file, NULL };
	size_t i;

	if (ins_root_path(ins, docker, sizeof(docker), "bin/docker", err) < 0)
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
		if (ins_root_path(ins, file, sizeof(file), e->path, err) < 0)
			return -1;
		ins_act(ins, "image", file, m->components[e->component].name, "load image %s (%s)",
			file, m->components[e->component].name);
		if (!ins->dry && dy_run_ok(argv, NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* dockyardctl load-images [DIR]; shown names DIR or ROOT/images. */
static int
load_dir(struct inst *ins, const char *dir, const char *shown, struct dy_err *err)
{
	char prog[PATH_BUF];
	char *argv[] = { prog, "-q", "load-images", (char *)dir, NULL };

	if (ins_root_path(ins, prog, sizeof(prog), "bin/dockyardctl", err) < 0)
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
step_image_dirs(struct inst *ins, struct dy_err *err)
{
	char own[PATH_BUF];
	struct stat st;

	if (ins_root_path(ins, own, sizeof(own), "images", err) < 0)
		return -1;
	if (!ins->dry && stat(own, &st) == 0 && S_ISDIR(st.st_mode) &&
	    load_dir(ins, NULL, own, err) < 0)
		return -1;
	if (ins->o->images_dir == NULL)
		return 0;
	ins_act(ins, "image", ins->o->images_dir, NULL, "load every image archive in %s",
		ins->o->images_dir);
	return ins->dry ? 0 : load_dir(ins, ins->o->images_dir, ins->o->images_dir, err);
}
