/* SPDX-License-Identifier: Apache-2.0 */
/* sysobj: see sysobj.h */
#include "sysobj.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/run.h"
#include "../common/xio.h"

#define PATH_SIZE 4096
/* /etc files larger than this are not plausible and not read. */
#define ETC_MAX (64u << 20)
#define NAME_MAX_LEN 32
#define PREFIX_MAX_LEN 8
#define COMMENT_MAX_LEN 200
#define LOCK_TIMEOUT_DEFAULT 15
#define LOCK_TIMEOUT_MAX 3600
#define LOCK_POLL_NS 100000000L
#define SUBID_MIN 100000u
#define SUBID_ALIGN 65536u
#define AA_LOCAL "/etc/apparmor.d/local/fusermount3"
#define AA_PROFILE "/etc/apparmor.d/fusermount3"

/* ---- small helpers ---- */

static void note(const struct dy_sys *s, const char *kind, const char *path, const char *object,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
note(const struct dy_sys *s, const char *kind, const char *path, const char *object,
     const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (s->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->note(s->note_ctx, kind, path, object, line);
}

/* sysroot + rel (rel starts with '/'), without a doubled slash. */
static int
sys_path(const struct dy_sys *s, const char *rel, char *buf, size_t size, struct dy_err *err)
{
	size_t n = strlen(s->sysroot);

	while (n > 0 && s->sysroot[n - 1] == '/')
		n--;
	if (snprintf(buf, size, "%.*s%s", (int)n, s->sysroot, rel) >= (int)size)
		return dy_errf(err, "path %s%s is too long", s->sysroot, rel);
	return 0;
}

static int
is_host(const struct dy_sys *s)
{
	return s->sysroot[0] == '\0';
}

/* User and group names: what the receipt accepts ([a-z0-9_], 1-32). */
static int
check_name(const char *what, const char *name, size_t max, struct dy_err *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > max)
		return dy_errf(err, "%s '%s' must be 1 to %zu characters", what, name, max);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return dy_errf(err, "%s '%s' may contain only [a-z0-9_]", what, name);
	}
	return 0;
}

/* The root rule: absolute, not "/", [A-Za-z0-9._/-] only. */
static int
check_root(const char *root, struct dy_err *err)
{
	if (root[0] != '/' || root[1] == '\0')
		return dy_errf(err, "root '%s' must be an absolute path other than /", root);
	for (const char *p = root; *p; p++) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '/' || c == '-'))
			return dy_errf(err, "root '%s' may contain only [A-Za-z0-9._/-]", root);
	}
	return 0;
}

/* The whole file, NUL-terminated.  A missing file is empty text with
 * *missing set (when missing is NULL it is an error); st receives the
 * file's status. */
static int
read_text(const char *path, char **text, size_t *len, int *missing, struct stat *st,
	  struct dy_err *err)
{
	if (missing)
		*missing = 0;
	if (dy_read_small_file(path, ETC_MAX, text, len, st, err) == 0)
		return 0;
	if (errno != ENOENT || missing == NULL)
		return -1;
	*missing = 1;
	*len = 0;
	*text = calloc(1, 1);
	return *text ? 0 : dy_errf(err, "out of memory reading %s", path);
}

/* Replace path keeping the owner and mode of like (subuid files may
 * belong to someone else). */
static int
write_atomic(const char *path, const char *data, size_t len, const struct stat *like,
	     struct dy_err *err)
{
	return dy_write_file_atomic_owned(path, data, len, like->st_mode & 07777, like->st_uid,
					  like->st_gid, err);
}

static void
default_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0644;
}

/* mkdir each missing directory of rel (below sysroot, "/etc/..."), 0755
 * whatever the umask.  sysroot/etc itself must exist. */
static int
make_dirs(const struct dy_sys *s, const char *rel, struct dy_err *err)
{
	char path[PATH_SIZE], *p;
	size_t base;

	if (sys_path(s, "/etc", path, sizeof(path), err) < 0)
		return -1;
	base = strlen(path);
	if (sys_path(s, rel, path, sizeof(path), err) < 0)
		return -1;
	for (p = path + base + 1;; p++) {
		char c = *p;
		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == 0) {
			if (chmod(path, 0755) < 0)
				return dy_errnof(err, "cannot set mode 0755 on %s", path);
		} else if (errno != EEXIST) {
			return dy_errnof(err, "cannot create directory %s", path);
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/* ---- /etc/passwd and /etc/group ---- */

struct dbent {
	char name[NAME_MAX_LEN * 2 + 1];
	unsigned long id, gid;
};

static int
parse_ulong(const char *p, size_t len, unsigned long *v)
{
	unsigned long x = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		x = x * 10 + (unsigned long)(p[i] - '0');
	}
	*v = x;
	return 0;
}

/* Fill e from "name:pw:id[:gid:...]"; 0 on success, -1 for a line that
 * does not look like an entry (comments, NIS +/- lines). */
static int
parse_dbline(const char *line, size_t len, int want_gid, struct dbent *e)
{
	const char *f[4];
	size_t fl[4], n = 0, start = 0;

	for (size_t i = 0; i <= len && n < 4; i++) {
		if (i == len || line[i] == ':') {
			f[n] = line + start;
			fl[n++] = i - start;
			start = i + 1;
		}
	}
	if (n < (want_gid ? 4u : 3u) || fl[0] == 0 || fl[0] >= sizeof(e->name) || line[0] == '+' ||
	    line[0] == '-')
		return -1;
	memcpy(e->name, f[0], fl[0]);
	e->name[fl[0]] = '\0';
	if (parse_ulong(f[2], fl[2], &e->id) < 0)
		return -1;
	e->gid = 0;
	if (want_gid && parse_ulong(f[3], fl[3], &e->gid) < 0)
		return -1;
	return 0;
}

/* Find by name (name != NULL) or by id in sysroot/etc/{passwd,group}. */
static int
db_find(const struct dy_sys *s, const char *rel, const char *name, unsigned long id,
	struct dbent *out, struct dy_err *err)
{
	char path[PATH_SIZE], *text;
	size_t len, pos = 0;
	struct stat st;
	int want_gid = strcmp(rel, "/etc/passwd") == 0, found = 0;

	if (sys_path(s, rel, path, sizeof(path), err) < 0 ||
	    read_text(path, &text, &len, NULL, &st, err) < 0)
		return -1;
	while (pos < len && !found) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - text - pos) : len - pos;

		if (parse_dbline(text + pos, llen, want_gid, out) == 0)
			found = name ? strcmp(out->name, name) == 0 : out->id == id;
		pos += llen + 1;
	}
	free(text);
	return found;
}

int
dy_sys_group_id(const struct dy_sys *s, const char *name, gid_t *gid, struct dy_err *err)
{
	struct dbent e;
	int rc = db_find(s, "/etc/group", name, 0, &e, err);

	if (rc == 1)
		*gid = (gid_t)e.id;
	return rc;
}

int
dy_sys_user_id(const struct dy_sys *s, const char *name, uid_t *uid, struct dy_err *err)
{
	struct dbent e;
	int rc = db_find(s, "/etc/passwd", name, 0, &e, err);

	if (rc == 1)
		*uid = (uid_t)e.id;
	return rc;
}

/* ---- running the shadow tools ---- */

/* Output as one line: newlines become "; ", trailing space dropped. */
static void
flatten(char *out, size_t len)
{
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (out[i] == '\n' || out[i] == '\r' || out[i] == '\t')
			out[i] = ' ';
}

/* Run the tool argv[0] (looked up in DY_TOOL_PATH, whatever PATH the
 * installer was started with) with a clean environment; its output goes
 * into the error message. */
static int
run_tool(const char *const argv[], struct dy_err *err)
{
	static char *const envp[] = { "PATH=" DY_TOOL_PATH, "LC_ALL=C", NULL };
	char path[256], *args[16];
	size_t i;

	if (dy_which(argv[0], path, sizeof(path)) < 0)
		return dy_errf(err, "cannot run %s: not found in %s", argv[0], DY_TOOL_PATH);
	args[0] = path;
	for (i = 1; argv[i] != NULL && i + 1 < sizeof(args) / sizeof(args[0]); i++)
		args[i] = (char *)argv[i];
	args[i] = NULL;
	return dy_run_ok(args, envp, err);
}

/* argv: tool, then "--prefix SYSROOT" for an image, then the rest. */
static void
tool_argv(const struct dy_sys *s, const char *tool, const char *const rest[], const char **argv,
	  size_t size)
{
	size_t n = 0;

	argv[n++] = tool;
	if (!is_host(s)) {
		argv[n++] = "--prefix";
		argv[n++] = s->sysroot;
	}
	for (size_t i = 0; rest[i] && n + 1 < size; i++)
		argv[n++] = rest[i];
	argv[n] = NULL;
}

/* ---- group and user ---- */

int
dy_sys_group_ensure(const struct dy_sys *s, const char *name, struct dy_err *err)
{
	const char *rest[] = { "--system", name, NULL }, *argv[8];
	gid_t gid;
	int rc;

	if (check_name("group name", name, NAME_MAX_LEN, err) < 0)
		return -1;
	rc = dy_sys_group_id(s, name, &gid, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	note(s, "group", "/etc/group", name, "add group %s", name);
	if (s->dry_run)
		return 1;
	tool_argv(s, "groupadd", rest, argv, sizeof(argv) / sizeof(argv[0]));
	if (run_tool(argv, err) < 0)
		return -1;
	rc = dy_sys_group_id(s, name, &gid, err);
	if (rc == 0)
		return dy_errf(err, "groupadd reported success but group %s is not in %s/etc/group",
			       name, s->sysroot);
	return rc < 0 ? -1 : 1;
}

static int
check_comment(const char *comment, struct dy_err *err)
{
	size_t len = strlen(comment);

	if (len > COMMENT_MAX_LEN)
		return dy_errf(err, "user comment '%.40s...' is longer than %d characters", comment,
			       COMMENT_MAX_LEN);
	for (size_t i = 0; i < len; i++)
		if (comment[i] == ':' || (unsigned char)comment[i] < 0x20 ||
		    (unsigned char)comment[i] > 0x7e)
			return dy_errf(err,
				       "user comment '%s' may contain only printable ASCII "
				       "other than ':'",
				       comment);
	return 0;
}

/* The existing user must have group as its primary group. */
static int
check_primary(const struct dy_sys *s, const struct dbent *user, const char *group, int grc,
	      gid_t gid, struct dy_err *err)
{
	struct dbent g;
	int rc;

	if (grc == 0)
		return dy_errf(err,
			       "user %s exists in %s/etc/passwd with primary group id %lu, but "
			       "group %s does not exist",
			       user->name, s->sysroot, user->gid, group);
	if (user->gid == (unsigned long)gid)
		return 0;
	rc = db_find(s, "/etc/group", NULL, user->gid, &g, err);
	if (rc < 0)
		return -1;
	return dy_errf(err,
		       "user %s exists in %s/etc/passwd with primary group %s (gid %lu), not %s "
		       "(gid %lu)",
		       user->name, s->sysroot, rc ? g.name : "(none)", user->gid, group,
		       (unsigned long)gid);
}

int
dy_sys_user_ensure(const struct dy_sys *s, const char *name, const char *group, const char *comment,
		   struct dy_err *err)
{
	const char *rest[] = { "--system",   "--no-create-home",
			       "--home-dir", "/nonexistent",
			       "--shell",    "/usr/sbin/nologin",
			       "--gid",	     group,
			       "--comment",  comment,
			       name,	     NULL };
	const char *argv[16];
	struct dbent u;
	gid_t gid = 0;
	int urc, grc;

	if (check_name("user name", name, NAME_MAX_LEN, err) < 0 ||
	    check_name("group name", group, NAME_MAX_LEN, err) < 0 ||
	    check_comment(comment, err) < 0)
		return -1;
	urc = db_find(s, "/etc/passwd", name, 0, &u, err);
	if (urc < 0 || (grc = dy_sys_group_id(s, group, &gid, err)) < 0)
		return -1;
	if (urc == 1)
		return check_primary(s, &u, group, grc, gid, err);
	/* In a dry run the group may be one that would be added first. */
	if (grc == 0 && !s->dry_run)
		return dy_errf(err, "cannot add user %s: group %s does not exist in %s/etc/group",
			       name, group, s->sysroot);
	note(s, "user", "/etc/passwd", name, "add user %s (primary group %s)", name, group);
	if (s->dry_run)
		return 1;
	tool_argv(s, "useradd", rest, argv, sizeof(argv) / sizeof(argv[0]));
	if (run_tool(argv, err) < 0)
		return -1;
	urc = db_find(s, "/etc/passwd", name, 0, &u, err);
	if (urc == 0)
		return dy_errf(err, "useradd reported success but user %s is not in %s/etc/passwd",
			       name, s->sysroot);
	return urc < 0 ? -1 : 1;
}

/* ---- shadow's lock protocol for /etc/subuid and /etc/subgid ---- */

struct subfile {
	const char *kind; /* "subuid" */
	char path[PATH_SIZE], lock[PATH_SIZE + 8], pidfile[PATH_SIZE + 24];
	int locked;
	char *text;
	size_t len;
	struct stat st;
};

/* The pid in a lock file, or -1 when it holds none. */
static pid_t
lock_holder(const char *lock)
{
	char buf[32];
	unsigned long pid;
	ssize_t n;
	int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = dy_read_some(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	if (parse_ulong(buf, (size_t)n, &pid) < 0 || pid == 0 || pid > 0x7fffffff)
		return -1;
	return (pid_t)pid;
}

/* link(pidfile, lock) and the link-count check shadow makes: 1 locked,
 * 0 the lock exists, -1 error. */
static int
link_lock(struct subfile *f, struct dy_err *err)
{
	struct stat st;

	if (link(f->pidfile, f->lock) < 0) {
		if (errno == EEXIST)
			return 0;
		return dy_errnof(err, "cannot link %s to %s", f->pidfile, f->lock);
	}
	if (stat(f->pidfile, &st) < 0 || st.st_nlink != 2) {
		unlink(f->lock);
		return dy_errf(err, "lock %s: link count of %s is not 2", f->lock, f->pidfile);
	}
	f->locked = 1;
	return 1;
}

/* The lock exists: 0 when its pid is alive (*holder), else remove it as
 * stale and try once more (1 locked, 0 taken meanwhile). */
static int
break_stale(struct subfile *f, pid_t *holder, struct dy_err *err)
{
	*holder = lock_holder(f->lock);
	if (*holder < 0)
		return dy_errf(err, "lock file %s exists but holds no valid pid", f->lock);
	if (kill(*holder, 0) == 0 || errno != ESRCH)
		return 0;
	if (unlink(f->lock) < 0 && errno != ENOENT)
		return dy_errnof(err, "cannot remove the stale lock %s of process %ld", f->lock,
				 (long)*holder);
	return link_lock(f, err);
}

/* One attempt, as shadow's commonio_lock_nowait: 1 locked, 0 held by the
 * live process *holder, -1 error.  A lock whose pid is gone is stale and
 * removed. */
static int
lock_once(struct subfile *f, pid_t *holder, struct dy_err *err)
{
	char pid[32];
	int fd, rc, len = snprintf(pid, sizeof(pid), "%ld", (long)getpid());

	fd = open(f->pidfile, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return dy_errnof(err, "cannot create %s", f->pidfile);
	rc = dy_write_full(fd, pid, (size_t)len);
	if (close(fd) < 0 || rc < 0) {
		unlink(f->pidfile);
		return dy_errnof(err, "cannot write %s", f->pidfile);
	}
	rc = link_lock(f, err);
	if (rc == 0)
		rc = break_stale(f, holder, err);
	unlink(f->pidfile);
	return rc;
}

/* DOCKYARD_LOCK_TIMEOUT (seconds, 0-3600) overrides the default wait. */
static long
lock_timeout(void)
{
	const char *v = getenv("DOCKYARD_LOCK_TIMEOUT");
	unsigned long t;

	if (v == NULL || parse_ulong(v, strlen(v), &t) < 0 || t > LOCK_TIMEOUT_MAX)
		return LOCK_TIMEOUT_DEFAULT;
	return (long)t;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
lock_file(struct subfile *f, struct dy_err *err)
{
	const struct timespec pause = { 0, LOCK_POLL_NS };
	long timeout = lock_timeout();
	double deadline = now() + (double)timeout;
	pid_t holder = 0;
	int rc;

	while ((rc = lock_once(f, &holder, err)) == 0) {
		if (now() >= deadline)
			return dy_errf(err,
				       "cannot lock %s: %s is held by running process %ld "
				       "(waited %ld s)",
				       f->path, f->lock, (long)holder, timeout);
		nanosleep(&pause, NULL);
	}
	return rc < 0 ? -1 : 0;
}

static void
unlock_file(struct subfile *f)
{
	if (f->locked)
		unlink(f->lock);
	f->locked = 0;
}

static int
subfile_init(const struct dy_sys *s, struct subfile *f, const char *kind, struct dy_err *err)
{
	char rel[32];

	memset(f, 0, sizeof(*f));
	f->kind = kind;
	snprintf(rel, sizeof(rel), "/etc/%s", kind);
	if (sys_path(s, rel, f->path, sizeof(f->path), err) < 0)
		return -1;
	snprintf(f->lock, sizeof(f->lock), "%s.lock", f->path);
	snprintf(f->pidfile, sizeof(f->pidfile), "%s.%ld", f->path, (long)getpid());
	return 0;
}

static int
subfile_read(struct subfile *f, struct dy_err *err)
{
	int missing;

	if (read_text(f->path, &f->text, &f->len, &missing, &f->st, err) < 0)
		return -1;
	if (missing)
		default_stat(&f->st);
	return 0;
}

/* Lock both (subuid first, as shadow's tools do) and read them. */
static int
subfiles_open(const struct dy_sys *s, struct subfile f[2], struct dy_err *err)
{
	if (subfile_init(s, &f[0], "subuid", err) < 0 || subfile_init(s, &f[1], "subgid", err) < 0)
		return -1;
	if (!s->dry_run && (lock_file(&f[0], err) < 0 || lock_file(&f[1], err) < 0))
		return -1;
	if (subfile_read(&f[0], err) < 0 || subfile_read(&f[1], err) < 0)
		return -1;
	return 0;
}

static void
subfiles_close(struct subfile f[2])
{
	for (int i = 1; i >= 0; i--) {
		unlock_file(&f[i]);
		free(f[i].text);
		f[i].text = NULL;
	}
}

/* ---- subordinate id ranges ---- */

struct range {
	uint64_t start, count;
	int mine;
};

struct ranges {
	struct range *r;
	size_t n;
};

/* Entries "name:start:count" of one file; other lines are kept as they
 * are and take no part in allocation. */
static int
parse_ranges(const struct subfile *f, const char *user, struct ranges *out, struct dy_err *err)
{
	size_t pos = 0, ulen = strlen(user);

	out->r = NULL;
	out->n = 0;
	while (pos < f->len) {
		const char *line = f->text + pos, *nl = memchr(line, '\n', f->len - pos);
		size_t llen = nl ? (size_t)(nl - line) : f->len - pos;
		const char *c1 = memchr(line, ':', llen), *c2;
		unsigned long a, b;

		pos += llen + 1;
		if (c1 == NULL || c1 == line)
			continue;
		c2 = memchr(c1 + 1, ':', llen - (size_t)(c1 + 1 - line));
		if (c2 == NULL || parse_ulong(c1 + 1, (size_t)(c2 - c1 - 1), &a) < 0 ||
		    parse_ulong(c2 + 1, llen - (size_t)(c2 + 1 - line), &b) < 0)
			continue;
		struct range *r = realloc(out->r, (out->n + 1) * sizeof(*r));
		if (r == NULL)
			return dy_errf(err, "out of memory reading %s", f->path);
		out->r = r;
		r[out->n].start = a;
		r[out->n].count = b;
		r[out->n++].mine = (size_t)(c1 - line) == ulen && memcmp(line, user, ulen) == 0;
	}
	return 0;
}

/* user's entry starting at start with at least count ids. */
static int
has_own(const struct ranges *rs, uint64_t start, uint64_t count)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].mine && rs->r[i].start == start && rs->r[i].count >= count)
			return 1;
	return 0;
}

/* Whether [start, start+count) is clear of every entry (but the user's
 * own when skip_mine). */
static int
is_free(const struct ranges *rs, uint64_t start, uint64_t count, int skip_mine)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct range *r = &rs->r[i];
		if ((skip_mine && r->mine) || r->count == 0)
			continue;
		if (start < r->start + r->count && r->start < start + count)
			return 0;
	}
	return 1;
}

/* A user range in a that is adequate and also free in b: an earlier run
 * that stopped between the two files left it. */
static int
reusable(const struct ranges *a, const struct ranges *b, uint64_t count, uint64_t *start)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->r[i].mine && a->r[i].count >= count &&
		    (has_own(b, a->r[i].start, count) || is_free(b, a->r[i].start, count, 1))) {
			*start = a->r[i].start;
			return 1;
		}
	}
	return 0;
}

/* Lowest aligned start >= SUBID_MIN free in both files. */
static int
allocate(const struct ranges rs[2], uint64_t count, uint64_t *start)
{
	uint64_t s = (SUBID_MIN + SUBID_ALIGN - 1) / SUBID_ALIGN * SUBID_ALIGN;

	for (; s + count <= (uint64_t)UINT32_MAX + 1; s += SUBID_ALIGN)
		if (is_free(&rs[0], s, count, 0) && is_free(&rs[1], s, count, 0)) {
			*start = s;
			return 0;
		}
	return -1;
}

static int
append_entry(const struct dy_sys *s, struct subfile *f, const char *user, uint64_t start,
	     uint64_t count, struct dy_err *err)
{
	char line[128];
	char *buf;
	size_t n, pos = f->len;
	int rc;

	n = (size_t)snprintf(line, sizeof(line), "%s:%llu:%llu\n", user, (unsigned long long)start,
			     (unsigned long long)count);
	note(s, "subid", f->path, user, "add %s %.*s", f->kind, (int)n - 1, line);
	if (s->dry_run)
		return 0;
	buf = malloc(f->len + n + 2);
	if (buf == NULL)
		return dy_errf(err, "out of memory writing %s", f->path);
	memcpy(buf, f->text, f->len);
	/* A last line without newline gets one, so ours starts a line. */
	if (pos > 0 && buf[pos - 1] != '\n')
		buf[pos++] = '\n';
	memcpy(buf + pos, line, n);
	rc = write_atomic(f->path, buf, pos + n, &f->st, err);
	free(buf);
	return rc;
}

static int
choose_range(const struct ranges rs[2], uint32_t count, uint64_t *start, const char *user,
	     struct dy_err *err)
{
	if (reusable(&rs[0], &rs[1], count, start) || reusable(&rs[1], &rs[0], count, start))
		return 0;
	if (allocate(rs, count, start) < 0)
		return dy_errf(err,
			       "no free range of %lu subordinate ids for %s in subuid and "
			       "subgid",
			       (unsigned long)count, user);
	return 0;
}

/* The range the operator chose: the user's own already, or free of every
 * other entry in both files. */
static int
check_wanted(const struct ranges rs[2], uint64_t want, uint32_t count, const char *user,
	     struct subfile f[2], struct dy_err *err)
{
	for (int i = 0; i < 2; i++)
		if (!has_own(&rs[i], want, count) && !is_free(&rs[i], want, count, 1))
			return dy_errf(err,
				       "DOCKYARD_SYSBOX_SUBID_START %llu: the range %llu-%llu for "
				       "%s overlaps another entry in %s",
				       (unsigned long long)want, (unsigned long long)want,
				       (unsigned long long)(want + count - 1), user, f[i].path);
	return 0;
}

static int
subid_update(const struct dy_sys *s, struct subfile f[2], const char *user, uint32_t count,
	     uint32_t *start, uint64_t want, struct dy_err *err)
{
	struct ranges rs[2] = { { NULL, 0 }, { NULL, 0 } };
	uint64_t st = want;
	int rc = 0;

	if (parse_ranges(&f[0], user, &rs[0], err) < 0 ||
	    parse_ranges(&f[1], user, &rs[1], err) < 0 ||
	    (want ? check_wanted(rs, want, count, user, f, err)
		  : choose_range(rs, count, &st, user, err)) < 0) {
		rc = -1;
		goto out;
	}
	for (int i = 0; i < 2 && rc >= 0; i++) {
		if (has_own(&rs[i], st, count))
			continue;
		rc = append_entry(s, &f[i], user, st, count, err) < 0 ? -1 : 1;
	}
	*start = (uint32_t)st;
out:
	free(rs[0].r);
	free(rs[1].r);
	return rc;
}

static int
subid_ensure(const struct dy_sys *s, const char *user, uint32_t count, uint32_t *start,
	     uint64_t want, struct dy_err *err)
{
	struct subfile f[2];
	int rc;

	if (check_name("user name", user, NAME_MAX_LEN, err) < 0)
		return -1;
	if (count == 0)
		return dy_errf(err, "a subordinate id range for %s needs at least one id", user);
	memset(f, 0, sizeof(f));
	rc = subfiles_open(s, f, err);
	if (rc == 0)
		rc = subid_update(s, f, user, count, start, want, err);
	subfiles_close(f);
	return rc;
}

int
dy_sys_subid_ensure(const struct dy_sys *s, const char *user, uint32_t count, uint32_t *start,
		    struct dy_err *err)
{
	return subid_ensure(s, user, count, start, 0, err);
}

int
dy_sys_subid_ensure_at(const struct dy_sys *s, const char *user, uint32_t start, uint32_t count,
		       struct dy_err *err)
{
	uint32_t got;

	if (start == 0)
		return dy_errf(err, "DOCKYARD_SYSBOX_SUBID_START 0: a range starts above 0");
	return subid_ensure(s, user, count, &got, start, err);
}

/* f's text without the lines of user; 1 when any was dropped. */
static int
drop_user(const struct dy_sys *s, struct subfile *f, const char *user, struct dy_err *err)
{
	size_t pos = 0, out = 0, ulen = strlen(user);
	char *buf = malloc(f->len + 1);
	int dropped = 0, rc = 0;

	if (buf == NULL)
		return dy_errf(err, "out of memory rewriting %s", f->path);
	while (pos < f->len) {
		const char *line = f->text + pos, *nl = memchr(line, '\n', f->len - pos);
		size_t llen = nl ? (size_t)(nl - line) + 1 : f->len - pos;

		pos += llen;
		if (llen > ulen && memcmp(line, user, ulen) == 0 && line[ulen] == ':') {
			dropped = 1;
			continue;
		}
		memcpy(buf + out, line, llen);
		out += llen;
	}
	if (dropped) {
		note(s, "subid", f->path, user, "remove %s entries of %s", f->kind, user);
		if (!s->dry_run)
			rc = write_atomic(f->path, buf, out, &f->st, err);
	}
	free(buf);
	return rc < 0 ? -1 : dropped;
}

int
dy_sys_subid_remove(const struct dy_sys *s, const char *user, struct dy_err *err)
{
	struct subfile f[2];
	int rc, changed = 0;

	if (check_name("user name", user, NAME_MAX_LEN, err) < 0)
		return -1;
	memset(f, 0, sizeof(f));
	rc = subfiles_open(s, f, err);
	for (int i = 0; i < 2 && rc == 0; i++) {
		int d = drop_user(s, &f[i], user, err);
		if (d < 0)
			rc = -1;
		changed |= d > 0;
	}
	subfiles_close(f);
	return rc < 0 ? -1 : changed;
}

/* ---- AppArmor ---- */

int
dy_sys_apparmor_present(const struct dy_sys *s)
{
	char path[PATH_SIZE];
	struct dy_err err;
	struct stat st;

	if (is_host(s))
		return stat("/sys/kernel/security/apparmor", &st) == 0;
	if (sys_path(s, "/etc/apparmor.d", path, sizeof(path), &err) < 0)
		return 0;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
aa_block(char *buf, size_t size, const char *prefix, const char *root, struct dy_err *err)
{
	int n = snprintf(buf, size,
			 "# BEGIN dockyard %s (%s)\n"
			 "capability dac_override,\n"
			 "mount fstype=fuse.* options=(rw,nosuid,nodev) -> %s/lib/sysbox/**,\n"
			 "mount fstype=fuse -> %s/lib/sysbox/**,\n"
			 "umount %s/lib/sysbox/**,\n"
			 "# END dockyard %s\n",
			 prefix, root, root, root, root, prefix);

	if (n < 0 || (size_t)n >= size)
		return dy_errf(err, "root %s is too long for the AppArmor block", root);
	return 0;
}

enum marker { M_NONE, M_BEGIN, M_END };

/* Whether a line (without LF) is our prefix's BEGIN or END marker. */
static enum marker
aa_marker(const char *line, size_t len, const char *prefix)
{
	char begin[64], end[64];
	size_t bl = (size_t)snprintf(begin, sizeof(begin), "# BEGIN dockyard %s", prefix);
	size_t el = (size_t)snprintf(end, sizeof(end), "# END dockyard %s", prefix);

	if (len >= bl && memcmp(line, begin, bl) == 0 && (len == bl || line[bl] == ' '))
		return M_BEGIN;
	if (len == el && memcmp(line, end, el) == 0)
		return M_END;
	return M_NONE;
}

/* text with every block of prefix dropped and block put where the first
 * one was (else appended).  *out is malloc'd. */
static int
aa_replace(const char *path, const char *text, size_t len, const char *prefix, const char *block,
	   char **out, size_t *outlen, struct dy_err *err)
{
	size_t blen = strlen(block), pos = 0, o = 0, lineno = 0, begin_line = 0;
	char *buf = malloc(len + blen + 2);
	int inside = 0, placed = 0;

	if (buf == NULL)
		return dy_errf(err, "out of memory editing %s", path);
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		enum marker m = aa_marker(line, llen, prefix);

		lineno++;
		pos += llen + (nl != NULL);
		if (m == M_BEGIN && inside) {
			free(buf);
			return dy_errf(err,
				       "%s line %zu: second BEGIN dockyard %s inside the block "
				       "begun at line %zu",
				       path, lineno, prefix, begin_line);
		}
		if (m == M_END && !inside) {
			free(buf);
			return dy_errf(err, "%s line %zu: END dockyard %s without a BEGIN", path,
				       lineno, prefix);
		}
		if (m == M_BEGIN) {
			inside = 1;
			begin_line = lineno;
			if (!placed) {
				memcpy(buf + o, block, blen);
				o += blen;
				placed = 1;
			}
		} else if (m == M_END) {
			inside = 0;
		} else if (!inside) {
			memcpy(buf + o, line, llen);
			o += llen;
			if (nl)
				buf[o++] = '\n';
		}
	}
	if (inside) {
		free(buf);
		return dy_errf(err, "%s line %zu: BEGIN dockyard %s has no END", path, begin_line,
			       prefix);
	}
	if (!placed) {
		if (o > 0 && buf[o - 1] != '\n')
			buf[o++] = '\n';
		memcpy(buf + o, block, blen);
		o += blen;
	}
	*out = buf;
	*outlen = o;
	return 0;
}

/* On a live host: apparmor_parser -r -W the profile, when both exist. */
static int
aa_reload(const struct dy_sys *s, int changed, struct dy_err *err)
{
	const char *argv[] = { "apparmor_parser", "-r", "-W", AA_PROFILE, NULL };
	char tool[256];
	struct stat st;

	if (!is_host(s) || stat(AA_PROFILE, &st) < 0 ||
	    dy_which("apparmor_parser", tool, sizeof(tool)) < 0)
		return 0;
	if (changed)
		note(s, "apparmor", AA_PROFILE, "fusermount3", "reload AppArmor profile %s",
		     AA_PROFILE);
	if (s->dry_run)
		return 0;
	/* Also when unchanged: a re-run repairs a reload that failed before. */
	return run_tool(argv, err);
}

int
dy_sys_apparmor_ensure(const struct dy_sys *s, const char *prefix, const char *root, char *path,
		       size_t pathsize, struct dy_err *err)
{
	char file[PATH_SIZE], block[PATH_SIZE * 4 + 512], *text = NULL, *next = NULL;
	size_t len, nlen = 0;
	struct stat st;
	int missing, changed = 0, rc = -1;

	if (check_name("prefix", prefix, PREFIX_MAX_LEN, err) < 0 || check_root(root, err) < 0 ||
	    aa_block(block, sizeof(block), prefix, root, err) < 0 ||
	    sys_path(s, AA_LOCAL, file, sizeof(file), err) < 0)
		return -1;
	if (path && pathsize)
		snprintf(path, pathsize, "%s", AA_LOCAL);
	if (read_text(file, &text, &len, &missing, &st, err) < 0)
		return -1;
	if (missing)
		default_stat(&st);
	if (aa_replace(file, text, len, prefix, block, &next, &nlen, err) < 0)
		goto out;
	changed = nlen != len || memcmp(next, text, len) != 0;
	if (changed) {
		note(s, "apparmor", file, prefix, "%s AppArmor block dockyard %s in %s",
		     missing ? "create" : "update", prefix, file);
		if (!s->dry_run && (make_dirs(s, "/etc/apparmor.d/local", err) < 0 ||
				    write_atomic(file, next, nlen, &st, err) < 0))
			goto out;
	}
	if (aa_reload(s, changed, err) < 0)
		goto out;
	rc = changed;
out:
	free(text);
	free(next);
	return rc;
}

/* ---- instance registry ---- */

int
dy_sys_registry_ensure(const struct dy_sys *s, const char *prefix, const char *root,
		       struct dy_err *err)
{
	char rel[64], file[PATH_SIZE], want[PATH_SIZE + 2], *text;
	size_t len, wlen;
	struct stat st;
	int missing, rc = 0;

	if (check_name("prefix", prefix, PREFIX_MAX_LEN, err) < 0 || check_root(root, err) < 0)
		return -1;
	snprintf(rel, sizeof(rel), "/etc/dockyard/instances/%s", prefix);
	wlen = (size_t)snprintf(want, sizeof(want), "%s\n", root);
	if (sys_path(s, rel, file, sizeof(file), err) < 0 || wlen >= sizeof(want) ||
	    read_text(file, &text, &len, &missing, &st, err) < 0)
		return -1;
	if (!missing) {
		if (len != wlen || memcmp(text, want, len) != 0) {
			flatten(text, len);
			rc = dy_errf(err,
				     "prefix %s is already registered for root %.512s (%s), "
				     "not %s",
				     prefix, text, file, root);
		}
		free(text);
		return rc;
	}
	free(text);
	note(s, "registry", file, prefix, "register instance %s (%s) in %s", prefix, root, file);
	if (s->dry_run)
		return 1;
	default_stat(&st);
	if (make_dirs(s, "/etc/dockyard/instances", err) < 0 ||
	    write_atomic(file, want, wlen, &st, err) < 0)
		return -1;
	return 1;
}
