/* SPDX-License-Identifier: Apache-2.0 */
/* preflight: see preflight.h */
#include "preflight.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/xio.h"

#define PATH_BUF 4096
#define MAX_CONF_DEPTH 8 /* ld.so.conf include nesting */

/* How a check's failure counts. */
#define KERNEL 1u      /* about the running kernel: only a warning for a sysroot */
#define SYSBOX_ONLY 2u /* required only when the payload carries sysbox */
#define IMAGE                                                                                      \
	4u /* what an image holds: its pipeline may add it later, so a                             \
	    * sysroot install only warns */

struct ctx {
	const struct dy_preflight_in *in;
	const char *sysroot; /* "" for the host */
	int sysbox;	     /* the payload carries sysbox */
	char release[65];    /* uname -r */
};

/* ---- small helpers ---- */

static void __attribute__((format(printf, 2, 3))) pass(struct dy_check *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->detail, sizeof(k->detail), fmt, ap);
	va_end(ap);
	k->ok = 1;
	k->fix[0] = '\0';
}

/* A failure's detail; fix() says what to do about it. */
static void __attribute__((format(printf, 2, 3))) fail(struct dy_check *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->detail, sizeof(k->detail), fmt, ap);
	va_end(ap);
	k->ok = 0;
}

static void __attribute__((format(printf, 2, 3))) fix(struct dy_check *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->fix, sizeof(k->fix), fmt, ap);
	va_end(ap);
}

/* Append to a NUL-terminated buffer, truncating quietly. */
static void __attribute__((format(printf, 3, 4)))
appendf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The first line of a small file, without its newline; -1 if unreadable. */
static int
read_line(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = dy_read_some(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Whether /proc/filesystems lists fs ("nodev\toverlay" or "\text4"). */
static int
fs_listed(const char *fs)
{
	char line[256];
	int found = 0;
	FILE *f = fopen("/proc/filesystems", "re");

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *name = strrchr(line, '\t');
		name = name ? name + 1 : line;
		name[strcspn(name, "\n")] = '\0';
		found = strcmp(name, fs) == 0;
	}
	fclose(f);
	return found;
}

/* "kernel/fs/overlayfs/overlay.ko.zst" names module "overlay"; '-' and
 * '_' are the same to modprobe. */
static int
module_path_is(const char *path, size_t len, const char *name)
{
	const char *base = path, *p;
	size_t i, n = strlen(name);

	for (p = path; p < path + len; p++)
		if (*p == '/')
			base = p + 1;
	if ((size_t)(path + len - base) < n + 3 || strncmp(base + n, ".ko", 3) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		char a = base[i] == '-' ? '_' : base[i], b = name[i] == '-' ? '_' : name[i];
		if (a != b)
			return 0;
	}
	return 1;
}

static int
module_listed(const char *file, const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f = fopen(file, "re");

	if (f == NULL)
		return 0;
	while (!found && getline(&line, &cap, f) > 0)
		found = module_path_is(line, strcspn(line, ":\n"), name);
	free(line);
	fclose(f);
	return found;
}

/* A loadable or built-in module of the running kernel. */
static int
module_available(const struct ctx *c, const char *name)
{
	char path[PATH_BUF];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	if (exists(path))
		return 1;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", c->release);
	if (module_listed(path, name))
		return 1;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", c->release);
	return module_listed(path, name);
}

/* An executable named prog in PATH (host) or the usual dirs, below sysroot. */
static int
find_exec(const struct ctx *c, const char *prog, char *found, size_t size)
{
	static const char fallback[] =
		"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	const char *env = c->sysroot[0] ? NULL : getenv("PATH");
	char dirs[PATH_BUF], *dir, *save = NULL;
	int pass_no;

	for (pass_no = 0; pass_no < 2; pass_no++) {
		snprintf(dirs, sizeof(dirs), "%s", pass_no == 0 && env ? env : fallback);
		for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			struct stat st;
			if (dir[0] != '/')
				continue; /* a relative PATH entry says nothing about the host */
			snprintf(found, size, "%s%s/%s", c->sysroot, dir, prog);
			if (stat(found, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
				return 1;
		}
	}
	found[0] = '\0';
	return 0;
}

/* ---- library lookup ---- */

#if defined(__aarch64__)
#define OWN_ARCH "aarch64"
#else
#define OWN_ARCH "x86_64"
#endif

/* Where Debian puts each architecture's libraries, and its ELF machine: a
 * multiarch host may hold another machine's copy of a soname. */
static const struct {
	const char *arch;
	const char *multiarch;
	unsigned machine;
} lib_archs[] = {
	{ "x86_64", "x86_64-linux-gnu", EM_X86_64 },
	{ "aarch64", "aarch64-linux-gnu", EM_AARCH64 },
};

static const char *const default_lib_dirs[] = {
	"/lib64", "/usr/lib64", "/lib", "/usr/lib", /* after /lib/MULTIARCH, /usr/lib/MULTIARCH */
};

struct lookup {
	const char *sysroot;
	const char *soname;
	char *found;
	size_t size;
	const char *multiarch;
	unsigned machine;
};

/* A 64-bit ELF file for another machine cannot serve the payload; anything
 * else found by the name (a linker script, a file that cannot be read)
 * counts as present, as before. */
static int
other_machine(const struct lookup *l)
{
	unsigned char h[20];
	int fd = open(l->found, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return 0;
	if (dy_pread_full(fd, h, sizeof(h), 0) == 0 && memcmp(h, ELFMAG, SELFMAG) == 0)
		rc = h[EI_CLASS] != ELFCLASS64 || (unsigned)(h[18] | h[19] << 8) != l->machine;
	close(fd);
	return rc;
}

static int
try_dir(const struct lookup *l, const char *dir, size_t len)
{
	struct stat st;

	if (len == 0 || dir[0] != '/')
		return 0;
	snprintf(l->found, l->size, "%s%.*s/%s", l->sysroot, (int)len, dir, l->soname);
	/* Below a sysroot an absolute symlink points into the image, not
	 * here: its presence is what can be checked. */
	if (l->sysroot[0] ? lstat(l->found, &st) == 0 && !S_ISDIR(st.st_mode)
			  : stat(l->found, &st) == 0 && S_ISREG(st.st_mode))
		return !S_ISREG(st.st_mode) || !other_machine(l);
	return 0;
}

static int parse_conf(const struct lookup *l, const char *conf, int depth);

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
collect_matches(const char *dir, const char *pattern, char ***names, size_t *n)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char **p;

	*names = NULL;
	*n = 0;
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (fnmatch(pattern, de->d_name, FNM_PERIOD) != 0)
			continue;
		p = realloc(*names, (*n + 1) * sizeof(*p));
		if (p == NULL || (p[*n] = strdup(de->d_name)) == NULL) {
			*names = p ? p : *names;
			break;
		}
		*names = p;
		(*n)++;
	}
	closedir(d);
	qsort(*names, *n, sizeof(**names), cmp_name); /* glob order, as ld.so */
	return 0;
}

/* "include PATTERN": a glob in its last component only, relative to the
 * including file's directory unless absolute. */
static int
parse_include(const struct lookup *l, const char *conf, const char *pattern, int depth)
{
	char dir[PATH_BUF], path[PATH_BUF], **names;
	const char *slash;
	size_t n, i;
	int found = 0;

	if (pattern[0] == '/')
		snprintf(dir, sizeof(dir), "%s", pattern);
	else
		snprintf(dir, sizeof(dir), "%.*s/%s", (int)(strrchr(conf, '/') - conf), conf,
			 pattern);
	slash = strrchr(dir, '/');
	pattern = slash + 1;
	dir[slash - dir] = '\0';
	snprintf(path, sizeof(path), "%s%s", l->sysroot, dir[0] ? dir : "/");
	collect_matches(path, pattern, &names, &n);
	for (i = 0; i < n; i++) {
		if (!found) {
			if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) <
			    (int)sizeof(path))
				found = parse_conf(l, path, depth + 1);
		}
		free(names[i]);
	}
	free(names);
	return found;
}

/* One ld.so.conf line: "include GLOB", a directory, or ignorable. */
static int
parse_conf_line(const struct lookup *l, const char *conf, char *line, int depth)
{
	char *p = line + strspn(line, " \t"), *tok, *save = NULL;

	p[strcspn(p, "#\n")] = '\0';
	if (strncmp(p, "include", 7) == 0 && (p[7] == ' ' || p[7] == '\t')) {
		for (tok = strtok_r(p + 8, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
			if (parse_include(l, conf, tok, depth))
				return 1;
		return 0;
	}
	if (strncmp(p, "hwcap", 5) == 0)
		return 0;
	for (tok = strtok_r(p, " \t:,", &save); tok; tok = strtok_r(NULL, " \t:,", &save))
		if (try_dir(l, tok, strcspn(tok, "=")))
			return 1;
	return 0;
}

/* conf is a path inside sysroot; 1 when soname was found through it. */
static int
parse_conf(const struct lookup *l, const char *conf, int depth)
{
	char path[PATH_BUF], *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	if (depth > MAX_CONF_DEPTH)
		return 0;
	snprintf(path, sizeof(path), "%s%s", l->sysroot, conf);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (!found && getline(&line, &cap, f) > 0)
		found = parse_conf_line(l, conf, line, depth);
	free(line);
	fclose(f);
	return found;
}

int
dy_find_library_arch(const char *sysroot, const char *arch, const char *soname, char *found,
		     size_t size)
{
	struct lookup l = { sysroot ? sysroot : "", soname, found, size, NULL, 0 };
	char dir[PATH_BUF];
	size_t i;

	for (i = 0; i < sizeof(lib_archs) / sizeof(lib_archs[0]); i++)
		if (strcmp(lib_archs[i].arch, arch) == 0) {
			l.multiarch = lib_archs[i].multiarch;
			l.machine = lib_archs[i].machine;
		}
	if (size == 0 || soname[0] == '\0' || strchr(soname, '/') != NULL || l.multiarch == NULL)
		return 0;
	if (parse_conf(&l, "/etc/ld.so.conf", 0))
		return 1;
	for (i = 0; i < 2; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", i == 0 ? "/lib" : "/usr/lib", l.multiarch);
		if (try_dir(&l, dir, strlen(dir)))
			return 1;
	}
	for (i = 0; i < sizeof(default_lib_dirs) / sizeof(default_lib_dirs[0]); i++)
		if (try_dir(&l, default_lib_dirs[i], strlen(default_lib_dirs[i])))
			return 1;
	found[0] = '\0';
	return 0;
}

int
dy_find_library(const char *sysroot, const char *soname, char *found, size_t size)
{
	return dy_find_library_arch(sysroot, OWN_ARCH, soname, found, size);
}

/* ---- the mount-propagation probe (preflight.h says why) ---- */

static void __attribute__((noreturn)) probe_child(int fd)
{
	char msg[256];

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		snprintf(msg, sizeof(msg), "0unshare(CLONE_NEWUSER|CLONE_NEWNS): %s",
			 strerror(errno));
	else if (mount("", "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
		snprintf(msg, sizeof(msg), "0mount(\"\", \"/\", NULL, MS_PRIVATE|MS_REC, NULL): %s",
			 strerror(errno));
	else
		snprintf(msg, sizeof(msg), "1a child user namespace may make / private");
	(void)dy_write_full(fd, msg, strlen(msg));
	_exit(0); /* no atexit handlers, no stdio flush of the parent's buffers */
}

int
dy_probe_mount_propagation(char *why, size_t size)
{
	char buf[256];
	ssize_t n;
	pid_t pid;
	int p[2], status;

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, size, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, size, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		probe_child(p[1]);
	}
	close(p[1]);
	n = dy_read_some(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n < 1 || (buf[0] != '0' && buf[0] != '1')) {
		snprintf(why, size, "the probe process reported nothing");
		return -1;
	}
	buf[n] = '\0';
	snprintf(why, size, "%s", buf + 1);
	return buf[0] == '1';
}

/* ---- the checks: each fills one struct dy_check ---- */

static void
check_root(struct ctx *c, struct dy_check *k)
{
	(void)c;
	if (geteuid() == 0) {
		pass(k, "running as root");
		return;
	}
	fail(k, "running as uid %u", (unsigned)geteuid());
	fix(k, "run the installer as root (sudo ./dockyard-installer ...)");
}

static void
check_userns(struct ctx *c, struct dy_check *k)
{
	char buf[32];

	(void)c;
	if (read_line("/proc/sys/user/max_user_namespaces", buf, sizeof(buf)) < 0) {
		fail(k, "/proc/sys/user/max_user_namespaces is missing: no user namespaces");
		fix(k, "use a kernel built with CONFIG_USER_NS (sysbox maps container users "
		       "through them)");
		return;
	}
	if (atol(buf) > 0) {
		pass(k, "max_user_namespaces = %s", buf);
		return;
	}
	fail(k, "max_user_namespaces = %s", buf);
	fix(k, "sysctl -w user.max_user_namespaces=15000 and keep it in /etc/sysctl.d/");
}

/* A kernel feature an instance needs: present when a sign of it is there
 * (a filesystem in /proc/filesystems, a file the loaded module makes), or
 * available when one of its modules is loadable or built in. */
struct module_need {
	const char *fs;
	struct {
		const char *path, *says;
	} loaded[2];
	const char *modules[2];
	const char *missing; /* %s: the kernel release */
	const char *fix;
};

static const struct module_need need_overlay = {
	.fs = "overlay",
	.modules = { "overlay" },
	.missing = "overlay is neither in /proc/filesystems nor a module of kernel %s",
	.fix = "modprobe overlay, or use a kernel with CONFIG_OVERLAY_FS (dockerd's overlay2 "
	       "storage driver needs it)",
};

static const struct module_need need_bridge = {
	.loaded = { { "/sys/module/bridge", "bridge module loaded" } },
	.modules = { "bridge" },
	.missing = "no bridge module in kernel %s",
	.fix = "modprobe bridge, or use a kernel with CONFIG_BRIDGE (each instance has its own "
	       "bridge)",
};

static const struct module_need need_netfilter = {
	.loaded = { { "/proc/net/ip_tables_names", "ip_tables loaded" },
		    { "/sys/module/nf_tables", "nf_tables loaded" } },
	.modules = { "nf_tables", "ip_tables" },
	.missing = "neither nf_tables nor ip_tables in kernel %s",
	.fix = "modprobe nf_tables (or ip_tables), or use a kernel with CONFIG_NF_TABLES or "
	       "CONFIG_IP_NF_IPTABLES",
};

static const struct module_need need_conntrack = {
	.loaded = { { "/proc/net/nf_conntrack", "nf_conntrack loaded" },
		    { "/sys/module/nf_conntrack", "nf_conntrack loaded" } },
	.modules = { "nf_conntrack" },
	.missing = "no nf_conntrack in kernel %s",
	.fix = "modprobe nf_conntrack, or use a kernel with CONFIG_NF_CONNTRACK (the forwarding "
	       "rules match --ctstate)",
};

static void
check_module(struct ctx *c, struct dy_check *k, const struct module_need *m)
{
	size_t i;

	if (m->fs && fs_listed(m->fs)) {
		pass(k, "%s is in /proc/filesystems", m->fs);
		return;
	}
	for (i = 0; i < 2 && m->loaded[i].path; i++)
		if (exists(m->loaded[i].path)) {
			pass(k, "%s", m->loaded[i].says);
			return;
		}
	for (i = 0; i < 2 && m->modules[i]; i++)
		if (module_available(c, m->modules[i])) {
			pass(k, "module available");
			return;
		}
	fail(k, m->missing, c->release);
	fix(k, "%s", m->fix);
}

static void
check_overlayfs(struct ctx *c, struct dy_check *k)
{
	check_module(c, k, &need_overlay);
}

static void
check_bridge(struct ctx *c, struct dy_check *k)
{
	check_module(c, k, &need_bridge);
}

static void
check_netfilter(struct ctx *c, struct dy_check *k)
{
	check_module(c, k, &need_netfilter);
}

static void
check_conntrack(struct ctx *c, struct dy_check *k)
{
	check_module(c, k, &need_conntrack);
}

static void
check_iptables(struct ctx *c, struct dy_check *k)
{
	char path[PATH_BUF];

	if (find_exec(c, "iptables", path, sizeof(path))) {
		pass(k, "%s", path);
		return;
	}
	fail(k, "no iptables executable in PATH, /usr/sbin or /sbin%s%s",
	     c->sysroot[0] ? " below " : "", c->sysroot);
	fix(k, "apt-get install iptables (each instance inserts its own forwarding and NAT "
	       "rules)");
}

static void
check_fuse(struct ctx *c, struct dy_check *k)
{
	struct stat st;
	int dev = stat("/dev/fuse", &st) == 0 && S_ISCHR(st.st_mode);
	int fs = fs_listed("fuse");

	if (dev && (fs || module_available(c, "fuse"))) {
		pass(k, "/dev/fuse, %s", fs ? "fuse in /proc/filesystems" : "module available");
		return;
	}
	fail(k, "%s",
	     dev ? "fuse is neither in /proc/filesystems nor a module" : "/dev/fuse is missing");
	fix(k, "modprobe fuse (sysbox-fs serves /proc and /sys to containers through FUSE)");
}

static void
check_rsync(struct ctx *c, struct dy_check *k)
{
	char path[PATH_BUF];

	if (find_exec(c, "rsync", path, sizeof(path))) {
		pass(k, "%s", path);
		return;
	}
	fail(k, "no rsync executable in PATH, /usr/bin or /bin%s%s", c->sysroot[0] ? " below " : "",
	     c->sysroot);
	fix(k, "apt-get install rsync (sysbox-mgr copies container data with it)");
}

static void
check_cgroup(struct ctx *c, struct dy_check *k)
{
	struct statfs fs;

	(void)c;
	if (statfs("/sys/fs/cgroup", &fs) < 0) {
		fail(k, "/sys/fs/cgroup: %s", strerror(errno));
		fix(k, "mount cgroup2 on /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)");
		return;
	}
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		pass(k, "cgroup v2 (unified)");
	else if (fs.f_type == TMPFS_MAGIC)
		pass(k, "cgroup v1 (%s)",
		     exists("/sys/fs/cgroup/unified/cgroup.controllers") ? "hybrid" : "legacy");
	else {
		fail(k, "/sys/fs/cgroup is no cgroup file system (type 0x%lx)",
		     (unsigned long)fs.f_type);
		fix(k, "mount cgroup2 on /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)");
	}
}

static void
check_propagation(struct ctx *c, struct dy_check *k)
{
	char why[256];
	int rc = dy_probe_mount_propagation(why, sizeof(why));

	(void)c;
	if (rc == 1) {
		pass(k, "%s", why);
		return;
	}
	if (rc == 0)
		fail(k,
		     "%s: this kernel does not let a child user namespace make mounts private, "
		     "so sysbox-runc fails at container start (nsenter: failed to set rootfs "
		     "parent mount propagation to private)",
		     why);
	else
		fail(k, "the probe could not run: %s", why);
	fix(k, "use a kernel where a user namespace may make / private (Ubuntu 25.10's 6.17 "
	       "may not; 6.8, 6.14 and mainline 6.16 to 6.18 may), or --force");
}

static uint64_t
bin_size(const struct dy_meta *m)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; m && i < m->nentries; i++)
		if (strncmp(m->entries[i].path, "bin/", 4) == 0)
			total += m->entries[i].size;
	return total;
}

/* The deepest existing directory on the way to path (path is rewritten). */
static void
existing_ancestor(char *path)
{
	char *slash;

	while (!exists(path)) {
		slash = strrchr(path, '/');
		if (slash == NULL) {
			strcpy(path, "."); /* a relative root lives below the working directory */
			return;
		}
		slash[slash == path] = '\0'; /* keep "/" itself */
		if (slash == path)
			return;
	}
}

#define MIB(x) ((unsigned long long)(((x) + (1u << 20) - 1) >> 20))

static void
check_disk(struct ctx *c, struct dy_check *k)
{
	const struct dy_meta *m = c->in->meta;
	const char *root = c->in->root && c->in->root[0] ? c->in->root : "/";
	uint64_t total = m ? dy_meta_total_size(m) : 0, again = 0, need, avail;
	char path[PATH_BUF], bin[PATH_BUF];
	struct statvfs vfs;

	snprintf(bin, sizeof(bin), "%s%s/bin", c->sysroot, root);
	if (c->in->root && c->in->root[0] && exists(bin))
		again = bin_size(m); /* an upgrade keeps the previous bin/ beside the new one */
	need = total + again;
	need += need / 10;
	snprintf(path, sizeof(path), "%s%s", c->sysroot, root);
	existing_ancestor(path);
	if (statvfs(path, &vfs) < 0) {
		fail(k, "statvfs %s: %s", path, strerror(errno));
		fix(k, "choose a --root on a mounted, readable file system");
		return;
	}
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	snprintf(k->detail, sizeof(k->detail),
		 "need %llu MiB (payload %llu MiB%s + 10%%), %llu MiB free at %.300s", MIB(need),
		 MIB(total), again ? " + bin/ again for the upgrade" : "", MIB(avail), path);
	k->ok = avail >= need;
	if (!k->ok)
		fix(k, "free %llu MiB on the file system holding %s, or choose another --root",
		    MIB(need - avail), path);
}

/* Where a needed library is: the interpreter by path, sonames by lookup. */
static int
lib_present(const struct ctx *c, const char *lib)
{
	char path[PATH_BUF];

	if (lib[0] == '/') {
		snprintf(path, sizeof(path), "%s%s", c->sysroot, lib);
		return exists(path);
	}
	return dy_find_library_arch(c->sysroot, dy_meta_arch(c->in->meta), lib, path, sizeof(path));
}

/* The files that need lib, appended to buf. */
static void
append_users(const struct dy_meta *m, const char *lib, char *buf, size_t size)
{
	size_t i, k;

	for (i = 0; i < m->nneeds; i++)
		for (k = 0; k < m->needs[i].nlibs; k++)
			if (strcmp(m->needs[i].libs[k], lib) == 0)
				appendf(buf, size, " %s", m->entries[m->needs[i].entry].path);
}

static void
check_libraries(struct ctx *c, struct dy_check *k)
{
	const struct dy_meta *m = c->in->meta;
	char missing[256] = "", users[256] = "";
	const char **libs = NULL;
	struct dy_err err;
	size_t n = 0, i, nmissing = 0;

	if (m == NULL || m->nneeds == 0) {
		pass(k, "the payload is statically linked: no host libraries needed");
		return;
	}
	if (dy_meta_needed_libs(m, &libs, &n, &err) < 0) {
		fail(k, "%s", err.msg);
		fix(k, "retry with more memory");
		return;
	}
	for (i = 0; i < n; i++) {
		if (lib_present(c, libs[i]))
			continue;
		nmissing++;
		appendf(missing, sizeof(missing), "%s%s", nmissing > 1 ? " " : "", libs[i]);
		append_users(m, libs[i], users, sizeof(users));
	}
	free(libs);
	if (nmissing == 0) {
		pass(k, "all %zu libraries the payload needs are present%s%s", n,
		     c->sysroot[0] ? " below " : "", c->sysroot);
		return;
	}
	fail(k, "missing %s (needed by%s)", missing, users);
	fix(k,
	    "apt-get install the packages providing %s (apt-file search NAME), or use a "
	    "payload of static binaries",
	    missing);
}

static const struct {
	const char *name;
	void (*run)(struct ctx *, struct dy_check *);
	unsigned flags;
} check_table[] = {
	{ "root", check_root, 0 },
	{ "user-namespaces", check_userns, KERNEL | SYSBOX_ONLY },
	{ "overlayfs", check_overlayfs, KERNEL },
	{ "bridge", check_bridge, KERNEL },
	{ "iptables", check_iptables, IMAGE },
	{ "netfilter", check_netfilter, KERNEL },
	{ "conntrack", check_conntrack, KERNEL },
	{ "fuse", check_fuse, KERNEL | SYSBOX_ONLY },
	{ "rsync", check_rsync, IMAGE | SYSBOX_ONLY },
	{ "cgroup", check_cgroup, KERNEL },
	{ "mount-propagation", check_propagation, KERNEL | SYSBOX_ONLY },
	{ "disk-space", check_disk, 0 },
	{ "shared-libraries", check_libraries, IMAGE },
};

#define NCHECKS (sizeof(check_table) / sizeof(check_table[0]))

static int
payload_has_sysbox(const struct dy_meta *m)
{
	size_t i;

	for (i = 0; m && i < m->ncomponents; i++)
		if (dy_meta_attr(&m->components[i], "sysbox-run-dir") != NULL)
			return 1;
	return 0;
}

int
dy_host_arch(char *buf, size_t size, struct dy_err *err)
{
	struct utsname u;

	if (uname(&u) < 0)
		return dy_errnof(err, "cannot tell this machine's architecture (uname)");
	snprintf(buf, size, "%s", strcmp(u.machine, "arm64") == 0 ? "aarch64" : u.machine);
	return 0;
}

int
dy_preflight_arch(const struct dy_meta *m, const char *path, struct dy_err *err)
{
	const char *want = dy_meta_arch(m);
	char host[65];

	if (dy_host_arch(host, sizeof(host), err) < 0)
		return -1;
	if (strcmp(host, want) == 0)
		return 0;
	return dy_errf(err,
		       "%s is an installer for %s, but this machine is %s (uname -m): its "
		       "binaries cannot run here; use an installer built with dockyard-build "
		       "--arch %s",
		       path, want, host, host);
}

int
dy_preflight_run(const struct dy_preflight_in *in, struct dy_preflight *out, struct dy_err *err)
{
	struct utsname u;
	struct ctx c;
	size_t i;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.in = in;
	c.sysroot = in->sysroot ? in->sysroot : "";
	c.sysbox = payload_has_sysbox(in->meta);
	if (uname(&u) == 0)
		snprintf(c.release, sizeof(c.release), "%s", u.release);
	out->checks = calloc(NCHECKS, sizeof(*out->checks));
	if (out->checks == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < NCHECKS; i++) {
		struct dy_check *k = &out->checks[i];
		unsigned f = check_table[i].flags;
		snprintf(k->name, sizeof(k->name), "%s", check_table[i].name);
		/* An image runs on another kernel; sysbox's needs matter only with sysbox. */
		k->warn_only = ((f & (KERNEL | IMAGE)) && c.sysroot[0]) ||
			       ((f & SYSBOX_ONLY) && !c.sysbox);
		check_table[i].run(&c, k);
		if (k->ok)
			k->fix[0] = '\0';
		else if (!k->warn_only)
			out->failed++;
	}
	out->nchecks = NCHECKS;
	return 0;
}

void
dy_preflight_free(struct dy_preflight *p)
{
	free(p->checks);
	memset(p, 0, sizeof(*p));
}

static const char *
verdict(const struct dy_check *k)
{
	return k->ok ? "PASS" : k->warn_only ? "WARN" : "FAIL";
}

void
dy_preflight_print(FILE *out, const struct dy_preflight *p)
{
	int w = 0;
	size_t i;

	for (i = 0; i < p->nchecks; i++)
		if ((int)strlen(p->checks[i].name) > w)
			w = (int)strlen(p->checks[i].name);
	for (i = 0; i < p->nchecks; i++) {
		const struct dy_check *k = &p->checks[i];
		fprintf(out, "%s  %-*s  %s\n", verdict(k), w, k->name, k->detail);
		if (!k->ok)
			fprintf(out, "  fix: %s\n", k->fix);
	}
}

int
dy_preflight_print_json(FILE *out, const struct dy_preflight *p, struct dy_err *err)
{
	json_t *root = json_object(), *checks = json_array();
	size_t i;
	int rc = root == NULL || checks == NULL;

	for (i = 0; rc == 0 && i < p->nchecks; i++) {
		const struct dy_check *k = &p->checks[i];
		rc = json_array_append_new(checks,
					   json_pack("{s:s, s:b, s:b, s:s, s:s}", "name", k->name,
						     "ok", k->ok, "required", !k->warn_only,
						     "detail", k->detail, "fix", k->fix));
	}
	if (rc == 0)
		rc = json_object_set_new(root, "schema",
					 json_integer(1)) | /* docs/schemas/preflight.json */
		     json_object_set(root, "checks", checks) |
		     json_object_set_new(root, "failed", json_integer((json_int_t)p->failed));
	if (rc == 0)
		rc = json_dumpf(root, out, JSON_INDENT(2)) | (fputc('\n', out) == EOF);
	json_decref(checks);
	json_decref(root);
	if (rc != 0)
		return dy_errf(err, "cannot write the preflight report as JSON");
	return 0;
}
