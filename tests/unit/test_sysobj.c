/* SPDX-License-Identifier: Apache-2.0 */
/*
 * installer/sysobj.h: group, user, subordinate ids, AppArmor block and
 * registry entry.  Every test works in a sysroot it makes under $TMPDIR,
 * so the real groupadd/useradd run with --prefix against that tree and the
 * host's /etc is never touched (main checks that at the end).
 */
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "../../installer/sysobj.h"
#include "harness.h"
#include "testutil.h"

#define PASSWD                                                                                     \
	"root:x:0:0:root:/root:/bin/bash\n"                                                        \
	"wrong:x:998:100:wrong group:/nonexistent:/usr/sbin/nologin\n"
#define GROUP "root:x:0:\nusers:x:100:\n"

struct notes {
	char text[4096];
	int count;
};

static void
collect(void *ctx, const char *kind, const char *path, const char *object, const char *what)
{
	struct notes *n = ctx;
	size_t len = strlen(n->text);

	/* Every change has a kind and a file; the text stays for people. */
	if (kind == NULL || *kind == '\0' || path == NULL || path[0] != '/')
		snprintf(n->text + len, sizeof(n->text) - len, "BAD NOTE %s\n", what);
	else
		snprintf(n->text + len, sizeof(n->text) - len, "%s\n", what);
	(void)object;
	n->count++;
}

static int
put(const char *root, const char *rel, const char *text, mode_t mode)
{
	char path[8300];
	struct dy_err err;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (dy_write_file_atomic(path, text, strlen(text), mode, &err) < 0) {
		printf("#   %s\n", err.msg);
		return -1;
	}
	return 0;
}

static char *
get(const char *root, const char *rel)
{
	char path[8300];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return tu_read_file(path, NULL);
}

static int
file_is(const char *root, const char *rel, const char *want)
{
	char *got = get(root, rel);
	int same = got && strcmp(got, want) == 0;

	if (!same)
		printf("#   %s/%s is:\n%s#   wanted:\n%s", root, rel, got ? got : "(missing)\n",
		       want);
	free(got);
	return same;
}

static int
exists(const char *root, const char *rel)
{
	char path[8300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return lstat(path, &st) == 0;
}

static mode_t
mode_of(const char *root, const char *rel, uid_t *uid, gid_t *gid)
{
	char path[8300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (lstat(path, &st) < 0)
		return (mode_t)-1;
	if (uid)
		*uid = st.st_uid;
	if (gid)
		*gid = st.st_gid;
	return st.st_mode & 07777;
}

/* Names in root/etc, sorted into one string, to see stray files. */
static void
etc_listing(const char *root, char *out, size_t size)
{
	char path[8300], names[64][256];
	struct dirent *de;
	size_t n = 0, pos = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/etc", root);
	out[0] = '\0';
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < 64)
		if (de->d_name[0] != '.')
			snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	for (size_t i = 0; i < n && pos < size; i++)
		pos += (size_t)snprintf(out + pos, size - pos, "%s ", names[i]);
}

/* A sysroot with the four shadow files; passwd and group as given. */
static int
make_sysroot(char *dir, size_t size)
{
	char etc[8300];

	if (tu_make_tmpdir(dir, size, "sysobj") < 0)
		return -1;
	snprintf(etc, sizeof(etc), "%s/etc", dir);
	if (mkdir(etc, 0755) < 0)
		return -1;
	return put(dir, "etc/passwd", PASSWD, 0644) | put(dir, "etc/group", GROUP, 0644) |
	       put(dir, "etc/shadow", "root:*:19000:0:99999:7:::\nwrong:!:19000::::::\n", 0640) |
	       put(dir, "etc/gshadow", "root:*::\nusers:*::\n", 0640);
}

static void
test_group_and_user(void)
{
	char root[4096], *passwd;
	struct notes n = { "", 0 };
	struct dy_sys s = { NULL, 0, collect, &n };
	struct dy_err err = { 0 };
	gid_t gid = 0;
	uid_t uid = 0;
	char line[256];

	if (make_sysroot(root, sizeof(root)) < 0) {
		CHECK(0);
		return;
	}
	s.sysroot = root;
	CHECK(dy_sys_group_id(&s, "users", &gid, &err) == 1 && gid == 100);
	CHECK(dy_sys_group_id(&s, "dy1docker", &gid, &err) == 0);
	CHECK(dy_sys_user_id(&s, "wrong", &uid, &err) == 1 && uid == 998);

	CHECK(dy_sys_group_ensure(&s, "dy1docker", &err) == 1);
	CHECK(dy_sys_group_id(&s, "dy1docker", &gid, &err) == 1 && gid > 0 && gid < 1000);
	CHECK(strcmp(n.text, "add group dy1docker\n") == 0);
	CHECK(dy_sys_group_ensure(&s, "dy1docker", &err) == 0);

	CHECK(dy_sys_user_ensure(&s, "dy1docker", "dy1docker", "dockyard dy1", &err) == 1);
	CHECK(dy_sys_user_id(&s, "dy1docker", &uid, &err) == 1);
	snprintf(line, sizeof(line),
		 "dy1docker:x:%lu:%lu:dockyard dy1:/nonexistent:/usr/sbin/nologin\n",
		 (unsigned long)uid, (unsigned long)gid);
	passwd = get(root, "etc/passwd");
	CHECK(passwd && strstr(passwd, line) != NULL);
	CHECK(passwd && strncmp(passwd, PASSWD, strlen(PASSWD)) == 0);
	free(passwd);
	CHECK(dy_sys_user_ensure(&s, "dy1docker", "dy1docker", "dockyard dy1", &err) == 0);
	CHECK(strcmp(n.text,
		     "add group dy1docker\nadd user dy1docker (primary group dy1docker)\n") == 0);

	/* An existing user with another primary group is refused, naming both. */
	CHECK(dy_sys_user_ensure(&s, "wrong", "dy1docker", "x", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "user wrong exists");
	CHECK_STR_CONTAINS(err.msg, "primary group users (gid 100), not dy1docker");
	CHECK(dy_sys_user_ensure(&s, "dy2docker", "nogroup", "x", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "group nogroup does not exist");
	CHECK(dy_sys_user_ensure(&s, "dy2docker", "dy1docker", "a:b", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "other than ':'");
	CHECK(dy_sys_group_ensure(&s, "-x", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "[a-z0-9_]");

	/* A tool's failure carries its command, exit status and message. */
	CHECK(put(root, "etc/group.lock", "", 0600) == 0);
	CHECK(dy_sys_group_ensure(&s, "dy3docker", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "groupadd --prefix ");
	CHECK_STR_CONTAINS(err.msg, " --system dy3docker failed (exit 10): groupadd: ");
	CHECK_STR_CONTAINS(err.msg, "group.lock");
	tu_remove_tree(root);
}

static void
test_dry_run_changes_nothing(void)
{
	char root[4096], before[2048], after[2048], dir[4200];
	struct notes n = { "", 0 };
	struct dy_sys s = { NULL, 1, collect, &n };
	struct dy_err err = { 0 };
	uint32_t start = 0;

	if (make_sysroot(root, sizeof(root)) < 0 ||
	    put(root, "etc/subuid", "alice:100000:65536\n", 0644) < 0) {
		CHECK(0);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/etc/apparmor.d", root);
	CHECK(mkdir(dir, 0755) == 0);
	s.sysroot = root;
	etc_listing(root, before, sizeof(before));
	CHECK(dy_sys_group_ensure(&s, "dy1docker", &err) == 1);
	CHECK(dy_sys_user_ensure(&s, "dy1docker", "dy1docker", "dockyard dy1", &err) == 1);
	CHECK(dy_sys_subid_ensure(&s, "dy1docker", 65536, &start, &err) == 1);
	CHECK(start == 196608);
	CHECK(dy_sys_apparmor_ensure(&s, "dy1", "/dy1", NULL, 0, &err) == 1);
	CHECK(dy_sys_registry_ensure(&s, "dy1", "/dy1", &err) == 1);
	CHECK(dy_sys_user_ensure(&s, "wrong", "users", "x", &err) == 0);
	CHECK(n.count == 6);
	CHECK_STR_CONTAINS(n.text, "add group dy1docker\n"
				   "add user dy1docker (primary group dy1docker)\n"
				   "add subuid dy1docker:196608:65536\n"
				   "add subgid dy1docker:196608:65536\n"
				   "create AppArmor block dockyard dy1 in ");
	CHECK_STR_CONTAINS(n.text,
			   "/etc/apparmor.d/local/fusermount3\nregister instance dy1 (/dy1) in ");
	etc_listing(root, after, sizeof(after));
	CHECK(strcmp(before, after) == 0);
	CHECK(file_is(root, "etc/passwd", PASSWD));
	CHECK(file_is(root, "etc/group", GROUP));
	CHECK(file_is(root, "etc/subuid", "alice:100000:65536\n"));
	CHECK(!exists(root, "etc/apparmor.d/local"));
	tu_remove_tree(root);
}

static const char subuid_text[] = "# ranges kept by hand\n"
				  "alice:100000:65536\n"
				  "\n"
				  "bob:196608:65536\n"
				  "odd line without fields\n"
				  "  dave : 1 : 2\n";
/* carol blocks 262144 in subgid only; no newline at the end. */
static const char subgid_text[] = "alice:100000:65536\ncarol:300000:10";

static void
test_subid_allocate_keep_remove(void)
{
	char root[4096], want[512], listing[2048];
	struct notes n = { "", 0 };
	struct dy_sys s = { NULL, 0, collect, &n };
	struct dy_err err = { 0 };
	uint32_t start = 0;
	uid_t uid = 0;
	gid_t gid = 0;

	if (make_sysroot(root, sizeof(root)) < 0 ||
	    put(root, "etc/subuid", subuid_text, 0600) < 0 ||
	    put(root, "etc/subgid", subgid_text, 0644) < 0) {
		CHECK(0);
		return;
	}
	s.sysroot = root;
	{
		char p[4200];
		snprintf(p, sizeof(p), "%s/etc/subuid", root);
		CHECK(chown(p, 4242, 4343) == 0);
	}
	/* 131072 overlaps alice, 196608 is bob's, 262144 overlaps carol. */
	CHECK(dy_sys_subid_ensure(&s, "dy1docker", 65536, &start, &err) == 1);
	CHECK(start == 327680);
	snprintf(want, sizeof(want), "%sdy1docker:327680:65536\n", subuid_text);
	CHECK(file_is(root, "etc/subuid", want));
	snprintf(want, sizeof(want), "%s\ndy1docker:327680:65536\n", subgid_text);
	CHECK(file_is(root, "etc/subgid", want));
	CHECK(mode_of(root, "etc/subuid", &uid, &gid) == 0600 && uid == 4242 && gid == 4343);
	CHECK(mode_of(root, "etc/subgid", &uid, &gid) == 0644 && uid == 0 && gid == 0);
	CHECK(strcmp(n.text, "add subuid dy1docker:327680:65536\n"
			     "add subgid dy1docker:327680:65536\n") == 0);

	/* Kept on a second call; a second user goes above. */
	start = 0;
	CHECK(dy_sys_subid_ensure(&s, "dy1docker", 65536, &start, &err) == 0);
	CHECK(start == 327680);
	CHECK(dy_sys_subid_ensure(&s, "dy2docker", 131072, &start, &err) == 1);
	CHECK(start == 393216);

	/* Remove takes only that user's lines. */
	CHECK(dy_sys_subid_remove(&s, "dy2docker", &err) == 1);
	CHECK(dy_sys_subid_remove(&s, "dy1docker", &err) == 1);
	CHECK(file_is(root, "etc/subuid", subuid_text));
	snprintf(want, sizeof(want), "%s\n", subgid_text);
	CHECK(file_is(root, "etc/subgid", want));
	CHECK(dy_sys_subid_remove(&s, "dy1docker", &err) == 0);
	CHECK(mode_of(root, "etc/subuid", &uid, &gid) == 0600 && uid == 4242 && gid == 4343);

	/* No lock, pid or temporary file is left behind. */
	etc_listing(root, listing, sizeof(listing));
	CHECK(strcmp(listing, "group gshadow passwd shadow subgid subuid ") == 0);
	tu_remove_tree(root);
}

static void
test_subid_new_files_and_half_done(void)
{
	char root[4096];
	struct dy_sys s = { NULL, 0, NULL, NULL };
	struct dy_err err = { 0 };
	uint32_t start = 0;
	uid_t uid = 1;
	gid_t gid = 1;
	mode_t old;

	if (make_sysroot(root, sizeof(root)) < 0) {
		CHECK(0);
		return;
	}
	s.sysroot = root;
	old = umask(077);
	CHECK(dy_sys_subid_ensure(&s, "dy1docker", 65536, &start, &err) == 1);
	umask(old);
	CHECK(start == 131072);
	CHECK(file_is(root, "etc/subuid", "dy1docker:131072:65536\n"));
	CHECK(file_is(root, "etc/subgid", "dy1docker:131072:65536\n"));
	CHECK(mode_of(root, "etc/subgid", &uid, &gid) == 0644 && uid == 0 && gid == 0);

	/* A run that stopped after subuid: the range is completed in subgid. */
	CHECK(put(root, "etc/subuid", "dy2docker:458752:65536\n", 0644) == 0);
	CHECK(put(root, "etc/subgid", "", 0644) == 0);
	CHECK(dy_sys_subid_ensure(&s, "dy2docker", 65536, &start, &err) == 1);
	CHECK(start == 458752);
	CHECK(file_is(root, "etc/subgid", "dy2docker:458752:65536\n"));
	/* A range too small is not kept. */
	CHECK(dy_sys_subid_ensure(&s, "dy2docker", 65537, &start, &err) == 1);
	CHECK(start == 131072);
	CHECK(dy_sys_subid_ensure(&s, "dy2docker", 0, &start, &err) == -1);
	tu_remove_tree(root);
}

static pid_t
spawn(int stay)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (stay)
			pause();
		_exit(0);
	}
	return pid;
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_subid_stale_lock_is_broken(void)
{
	char root[4096], pid[32], listing[2048];
	struct dy_sys s = { NULL, 0, NULL, NULL };
	struct dy_err err = { 0 };
	uint32_t start = 0;
	pid_t dead = spawn(0);

	if (dead < 0 || waitpid(dead, NULL, 0) != dead || make_sysroot(root, sizeof(root)) < 0) {
		CHECK(0);
		return;
	}
	s.sysroot = root;
	snprintf(pid, sizeof(pid), "%ld", (long)dead);
	CHECK(put(root, "etc/subuid.lock", pid, 0600) == 0);
	CHECK(dy_sys_subid_ensure(&s, "dy1docker", 65536, &start, &err) == 1);
	CHECK(start == 131072);
	etc_listing(root, listing, sizeof(listing));
	CHECK(strcmp(listing, "group gshadow passwd shadow subgid subuid ") == 0);

	/* A lock without a pid is not guessed at. */
	CHECK(put(root, "etc/subgid.lock", "junk", 0600) == 0);
	CHECK(dy_sys_subid_remove(&s, "dy1docker", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "subgid.lock exists but holds no valid pid");
	CHECK(!exists(root, "etc/subuid.lock"));
	tu_remove_tree(root);
}

static void
test_subid_live_lock_waits_then_fails(void)
{
	char root[4096], pid[32], listing[2048], *lock;
	struct dy_sys s = { NULL, 0, NULL, NULL };
	struct dy_err err = { 0 };
	uint32_t start = 0;
	double t0;
	pid_t holder;

	if (make_sysroot(root, sizeof(root)) < 0 || put(root, "etc/subuid", "", 0644) < 0 ||
	    (holder = spawn(1)) < 0) {
		CHECK(0);
		return;
	}
	s.sysroot = root;
	snprintf(pid, sizeof(pid), "%ld", (long)holder);
	CHECK(put(root, "etc/subgid.lock", pid, 0600) == 0);
	setenv("DOCKYARD_LOCK_TIMEOUT", "1", 1);
	t0 = seconds();
	CHECK(dy_sys_subid_ensure(&s, "dy1docker", 65536, &start, &err) == -1);
	CHECK(seconds() - t0 >= 0.9);
	unsetenv("DOCKYARD_LOCK_TIMEOUT");
	CHECK_STR_CONTAINS(err.msg, "subgid.lock is held by running process ");
	CHECK_STR_CONTAINS(err.msg, pid);
	/* The holder's lock stays, ours is released, nothing was written. */
	lock = get(root, "etc/subgid.lock");
	CHECK(lock && strcmp(lock, pid) == 0);
	free(lock);
	CHECK(file_is(root, "etc/subuid", ""));
	etc_listing(root, listing, sizeof(listing));
	CHECK(strcmp(listing, "group gshadow passwd shadow subgid.lock subuid ") == 0);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	tu_remove_tree(root);
}

#define BLOCK(p, r)                                                                                \
	"# BEGIN dockyard " p " (" r ")\n"                                                         \
	"capability dac_override,\n"                                                               \
	"mount fstype=fuse.* options=(rw,nosuid,nodev) -> " r "/lib/sysbox/**,\n"                  \
	"mount fstype=fuse -> " r "/lib/sysbox/**,\n"                                              \
	"umount " r "/lib/sysbox/**,\n"                                                            \
	"# END dockyard " p "\n"
#define LOCAL "etc/apparmor.d/local/fusermount3"
#define OTHER "# site rule\n/usr/bin/foo r,\n"

/* When apparmor_parser is installed, the block must compile inside a
 * profile (parse only; no kernel needed). */
static void
check_parses(const char *root, const char *block)
{
	char prof[4096 + 32], cmd[8300];

	if (access("/sbin/apparmor_parser", X_OK) != 0) {
		printf("# apparmor_parser not installed: block syntax not checked\n");
		return;
	}
	snprintf(prof, sizeof(prof), "%s/profile", root);
	CHECK(put(root, "profile", "", 0644) == 0);
	{
		FILE *f = fopen(prof, "w");
		if (f == NULL) {
			CHECK(0);
			return;
		}
		fprintf(f, "profile fusermount3 /usr/bin/fusermount3 {\n%s}\n", block);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "/sbin/apparmor_parser -Q -K %s 2>/dev/null", prof);
	CHECK(system(cmd) == 0);
}

static void
test_apparmor_block(void)
{
	char root[4096], dir[4200], path[64];
	struct notes n = { "", 0 };
	struct dy_sys s = { NULL, 0, collect, &n };
	struct dy_err err = { 0 };

	if (make_sysroot(root, sizeof(root)) < 0) {
		CHECK(0);
		return;
	}
	s.sysroot = root;
	CHECK(!dy_sys_apparmor_present(&s));
	snprintf(dir, sizeof(dir), "%s/etc/apparmor.d", root);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(dy_sys_apparmor_present(&s));

	CHECK(dy_sys_apparmor_ensure(&s, "dy1", "/dy1", path, sizeof(path), &err) == 1);
	CHECK(strcmp(path, "/etc/apparmor.d/local/fusermount3") == 0);
	CHECK(file_is(root, LOCAL, BLOCK("dy1", "/dy1")));
	CHECK(mode_of(root, LOCAL, NULL, NULL) == 0644);
	CHECK(mode_of(root, "etc/apparmor.d/local", NULL, NULL) == 0755);
	CHECK(dy_sys_apparmor_ensure(&s, "dy1", "/dy1", path, sizeof(path), &err) == 0);
	CHECK(n.count == 1);
	check_parses(root, BLOCK("dy1", "/dy1"));

	/* Other content and dy10's block stay; dy1's block is replaced in place. */
	CHECK(put(root, LOCAL, OTHER BLOCK("dy1", "/dy1") BLOCK("dy10", "/dy10") "# tail", 0640) ==
	      0);
	CHECK(dy_sys_apparmor_ensure(&s, "dy1", "/srv/dy1", path, sizeof(path), &err) == 1);
	CHECK(file_is(root, LOCAL, OTHER BLOCK("dy1", "/srv/dy1") BLOCK("dy10", "/dy10") "# tail"));
	CHECK(mode_of(root, LOCAL, NULL, NULL) == 0640);
	CHECK(dy_sys_apparmor_ensure(&s, "dy10", "/dy10", path, sizeof(path), &err) == 0);
	CHECK(dy_sys_apparmor_ensure(&s, "dy2", "/dy2", path, sizeof(path), &err) == 1);
	CHECK(file_is(root, LOCAL,
		      OTHER BLOCK("dy1", "/srv/dy1")
			      BLOCK("dy10", "/dy10") "# tail\n" BLOCK("dy2", "/dy2")));

	/* A damaged block is reported with its line, not guessed at. */
	CHECK(put(root, LOCAL, OTHER "# BEGIN dockyard dy1 (/dy1)\ncapability dac_override,\n",
		  0644) == 0);
	CHECK(dy_sys_apparmor_ensure(&s, "dy1", "/dy1", path, sizeof(path), &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "fusermount3 line 3: BEGIN dockyard dy1 has no END");
	CHECK(dy_sys_apparmor_ensure(&s, "dy1", "/dy 1", path, sizeof(path), &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "[A-Za-z0-9._/-]");
	tu_remove_tree(root);
}

static void
test_registry(void)
{
	char root[4096];
	struct dy_sys s = { NULL, 0, NULL, NULL };
	struct dy_err err = { 0 };
	mode_t old;

	if (make_sysroot(root, sizeof(root)) < 0) {
		CHECK(0);
		return;
	}
	s.sysroot = root;
	old = umask(077);
	CHECK(dy_sys_registry_ensure(&s, "dy1", "/dy1", &err) == 1);
	umask(old);
	CHECK(file_is(root, "etc/dockyard/instances/dy1", "/dy1\n"));
	CHECK(mode_of(root, "etc/dockyard", NULL, NULL) == 0755);
	CHECK(mode_of(root, "etc/dockyard/instances", NULL, NULL) == 0755);
	CHECK(mode_of(root, "etc/dockyard/instances/dy1", NULL, NULL) == 0644);
	CHECK(dy_sys_registry_ensure(&s, "dy1", "/dy1", &err) == 0);
	CHECK(dy_sys_registry_ensure(&s, "dy1", "/srv/other", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "prefix dy1 is already registered for root /dy1");
	CHECK_STR_CONTAINS(err.msg, "not /srv/other");
	CHECK(dy_sys_registry_ensure(&s, "dy2", "/srv/other", &err) == 1);
	CHECK(dy_sys_registry_ensure(&s, "toolongprefix", "/x", &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "1 to 8 characters");
	tu_remove_tree(root);
}

int
main(void)
{
	static const char *const host[] = { "/etc/passwd", "/etc/group", "/etc/subuid",
					    "/etc/subgid" };
	char *before[4], *after;
	int same = 1;

	for (int i = 0; i < 4; i++)
		before[i] = tu_read_file(host[i], NULL);
	RUN(test_group_and_user);
	RUN(test_dry_run_changes_nothing);
	RUN(test_subid_allocate_keep_remove);
	RUN(test_subid_new_files_and_half_done);
	RUN(test_subid_stale_lock_is_broken);
	RUN(test_subid_live_lock_waits_then_fails);
	RUN(test_apparmor_block);
	RUN(test_registry);
	for (int i = 0; i < 4; i++) {
		after = tu_read_file(host[i], NULL);
		if ((before[i] == NULL) != (after == NULL) ||
		    (after && strcmp(before[i], after) != 0)) {
			printf("#   the host's %s changed\n", host[i]);
			same = 0;
		}
		free(after);
		free(before[i]);
	}
	h_test_failed = !same;
	h_count++;
	printf("%s %d - host /etc untouched\n", same ? "ok" : "not ok", h_count);
	h_failed_tests += !same;
	return DONE();
}
