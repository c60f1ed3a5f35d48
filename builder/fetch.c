/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Artifact fetching over libcurl's multi interface.
 *
 * Each item is a small state machine: check the cache, then walk its
 * sources (mirrors, then the URL), retrying transient failures with
 * exponential backoff and resuming the partial file.  Up to max_parallel
 * transfers run at once.  Nothing leaves <cache>/partial before its digest
 * is known, and cached files are re-hashed before every use, so a file in
 * item->path is always the one the lock pins.
 */
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/version.h"
#include "../common/xio.h"

#define DEF_PARALLEL 4
#define DEF_RETRIES 4
#define DEF_BACKOFF_MS 1000u
#define DEF_CONNECT_S 30L
#define DEF_LOW_SPEED_S 60L
#define LOW_SPEED_BYTES 1024L
#define MAX_REDIRS 10L
#define MAX_DELAY_MS (10ull * 60 * 1000)
#define LOCK_WAIT_MS 500ull
#define PROGRESS_MS 200ull

enum job_state {
	JOB_READY,   /* start (after a cache check) at the next chance */
	JOB_WAITING, /* backing off until wake_ms */
	JOB_ACTIVE,  /* transfer in the multi handle */
	JOB_DONE,
	JOB_FAILED,
};

enum url_kind {
	URL_BAD,
	URL_PATH, /* plain absolute path */
	URL_FILE, /* file:// */
	URL_NET,  /* http:// or https:// */
};

struct source {
	char *url;   /* what curl fetches */
	char *label; /* for messages */
};

struct job {
	struct dy_fetch_item *item;
	const char *name; /* the item's, or its URL */
	enum job_state state;
	char key[DY_SHA256_HEX]; /* partial file is <key>.part */
	char part[DY_SHA256_HEX + 8];
	struct source *src;
	size_t nsrc, cur;	    /* sources; the one being tried */
	size_t nfailed;		    /* sources that failed, listed in why */
	size_t nskipped;	    /* network sources skipped in offline mode */
	int attempt;		    /* failed attempts on the current source */
	int resumed;		    /* current source appended to an existing partial file */
	int restarted;		    /* current source already started over from zero */
	int truncate;		    /* next transfer starts from zero */
	unsigned long long wake_ms; /* JOB_WAITING: when to try again */
	char why[DY_ERR_MAX];	    /* failures so far, "; "-separated */

	/* the transfer in flight */
	CURL *easy;
	int fd;
	curl_off_t offset; /* bytes already in the partial file */
	int io_errno;	   /* a local write failed */
	char curl_err[CURL_ERROR_SIZE];
	curl_off_t dl_now, dl_total;
};

struct fetch {
	struct dy_fetch_opts o; /* with defaults applied */
	char cache[PATH_MAX];	/* cache_dir without trailing slashes */
	int sha_dir, part_dir;
	CURLM *multi;
	struct job *jobs;
	size_t njobs, active, finished;
	int progress;
	unsigned long long drawn_ms;
	unsigned long long fetched; /* bytes of finished downloads */
};

static unsigned long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

static void
hex_of(const uint8_t d[DY_SHA256_LEN], char hex[DY_SHA256_HEX])
{
	dy_hex_encode(d, DY_SHA256_LEN, hex);
	hex[DY_SHA256_HEX - 1] = '\0';
}

/* ---- options and cache directories ---- */

static void
apply_defaults(struct dy_fetch_opts *o)
{
	if (o->max_parallel <= 0)
		o->max_parallel = DEF_PARALLEL;
	if (o->retries == 0)
		o->retries = DEF_RETRIES;
	else if (o->retries < 0)
		o->retries = 0;
	if (o->backoff_ms == 0)
		o->backoff_ms = DEF_BACKOFF_MS;
	if (o->connect_timeout_s <= 0)
		o->connect_timeout_s = DEF_CONNECT_S;
	if (o->low_speed_time_s <= 0)
		o->low_speed_time_s = DEF_LOW_SPEED_S;
}

/* Subdirectories are ours: refuse a symlink planted in their place. */
static int
open_subdir(struct fetch *f, int parent, const char *name, struct dy_err *err)
{
	int fd;

	if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
		return dy_errnof(err, "cache %s: cannot create %s/", f->cache, name);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dy_errnof(err, "cache %s: cannot open %s/", f->cache, name);
	return fd;
}

static int
open_cache(struct fetch *f, const char *dir, struct dy_err *err)
{
	size_t len;
	int top;

	if (dir == NULL || *dir == '\0')
		return dy_errf(err, "no cache directory given");
	len = strlen(dir);
	if (len >= sizeof(f->cache) - 80)
		return dy_errf(err, "cache %s: path too long", dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	memcpy(f->cache, dir, len);
	f->cache[len] = '\0';
	/* The cache may live below directories nobody made yet. */
	if (dy_mkdir_p(f->cache, 0755, err) < 0)
		return dy_err_wrap(err, "cache %s", f->cache);
	top = open(f->cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return dy_errnof(err, "cache %s: cannot open", f->cache);
	f->sha_dir = open_subdir(f, top, "sha256", err);
	if (f->sha_dir >= 0)
		f->part_dir = open_subdir(f, top, "partial", err);
	close(top);
	return f->sha_dir < 0 || f->part_dir < 0 ? -1 : 0;
}

/* ---- sources ---- */

static enum url_kind
url_kind(const char *url)
{
	if (url == NULL)
		return URL_BAD;
	if (url[0] == '/')
		return URL_PATH;
	if (strncasecmp(url, "file://", 7) == 0)
		return URL_FILE;
	if (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0)
		return URL_NET;
	return URL_BAD;
}

/* Percent-encode a path for a file:// URL (curl decodes it again). */
static char *
encode_path(const char *path)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i, n = 0, len = strlen(path);
	char *out = malloc(3 * len + 1);

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/-._~", c) != NULL) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = digits[c >> 4];
			out[n++] = digits[c & 15];
		}
	}
	out[n] = '\0';
	return out;
}

/* The last segment of the URL's path, as it appears in a URL (encoded). */
static char *
url_basename(const char *url, enum url_kind kind)
{
	const char *path, *end, *slash;

	if (kind == URL_PATH) {
		slash = strrchr(url, '/');
		return encode_path(slash + 1);
	}
	path = strstr(url, "://") + 3;
	path += strcspn(path, "/?#");
	end = path + strcspn(path, "?#");
	for (slash = end; slash > path && slash[-1] != '/'; slash--)
		;
	return strndup(slash, (size_t)(end - slash));
}

static int
add_source(struct job *j, char *url, char *label)
{
	if (url == NULL || label == NULL) {
		free(url);
		free(label);
		return -1;
	}
	j->src[j->nsrc].url = url;
	j->src[j->nsrc].label = label;
	j->nsrc++;
	return 0;
}

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int
add_mirror(struct fetch *f, struct job *j, const char *m, const char *base)
{
	size_t len = strlen(m);
	char *dir, *url;
	int rc;

	while (len > 1 && m[len - 1] == '/')
		len--;
	if (url_kind(m) == URL_PATH) {
		dir = strndup(m, len);
		url = dir ? encode_path(dir) : NULL;
		if (dir == NULL || url == NULL) {
			free(dir);
			free(url);
			return -1;
		}
		rc = add_source(j, strf("file://%s/%s", url, base),
				strf("mirror %s/%s", dir, base));
		free(dir);
		free(url);
		return rc;
	}
	if (f->o.offline && url_kind(m) == URL_NET) {
		j->nskipped++;
		return 0;
	}
	url = strf("%.*s/%s", (int)len, m, base);
	return add_source(j, url, strf("mirror %s", url ? url : ""));
}

static int
add_sources(struct fetch *f, struct job *j)
{
	const char *url = j->item->url;
	enum url_kind kind = url_kind(url);
	char *base, *enc;
	size_t i;
	int rc;

	j->src = calloc(f->o.nmirrors + 1, sizeof(*j->src));
	base = url_basename(url, kind);
	if (j->src == NULL || base == NULL) {
		free(base);
		return -1;
	}
	/* A URL ending in "/" names no file a mirror could hold. */
	for (i = 0; *base != '\0' && i < f->o.nmirrors; i++) {
		if (add_mirror(f, j, f->o.mirrors[i], base) < 0) {
			free(base);
			return -1;
		}
	}
	free(base);
	if (kind == URL_NET && f->o.offline) {
		j->nskipped++;
		return 0;
	}
	if (kind != URL_PATH)
		return add_source(j, strdup(url), strdup(url));
	enc = encode_path(url);
	if (enc == NULL)
		return -1;
	rc = add_source(j, strf("file://%s", enc), strdup(url));
	free(enc);
	return rc;
}

static int
check_mirrors(const struct dy_fetch_opts *o, struct dy_err *err)
{
	size_t i;

	for (i = 0; i < o->nmirrors; i++)
		if (url_kind(o->mirrors[i]) == URL_BAD)
			return dy_errf(err,
				       "mirror %s: not an http://, https://, file:// URL "
				       "or an absolute directory",
				       o->mirrors[i]);
	return 0;
}

/* ---- job bookkeeping ---- */

static void
job_finish(struct fetch *f, struct job *j, enum job_state st)
{
	j->state = st;
	f->finished++;
}

static void job_fail(struct fetch *f, struct job *j, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
job_fail(struct fetch *f, struct job *j, const char *fmt, ...)
{
	struct dy_fetch_item *it = j->item;
	size_t len;
	va_list ap;

	len = (size_t)snprintf(it->error, sizeof(it->error), "%s: ", j->name);
	if (len < sizeof(it->error)) {
		va_start(ap, fmt);
		vsnprintf(it->error + len, sizeof(it->error) - len, fmt, ap);
		va_end(ap);
	}
	job_finish(f, j, JOB_FAILED);
}

/* Every source failed (or none was usable): say which and why. */
static void
job_exhausted(struct fetch *f, struct job *j)
{
	if (f->o.offline && j->nskipped > 0) {
		job_fail(f, j, "%s, and offline mode forbids the network%s%s",
			 j->item->pinned ? "not in the cache"
					 : "not pinned, so the cache cannot supply it",
			 j->nfailed ? "; on-disk sources failed: " : "", j->why);
		return;
	}
	if (j->nsrc == 0) {
		job_fail(f, j, "no source to fetch from");
		return;
	}
	job_fail(f, j, "all sources failed: %s", j->why);
}

static void
note_failure(struct job *j, const char *reason)
{
	size_t len = strlen(j->why);

	snprintf(j->why + len, sizeof(j->why) - len, "%s%s: %s", j->nfailed ? "; " : "",
		 j->src[j->cur].label, reason);
	j->nfailed++;
}

/* Give up on the current source and move to the next one. */
static void
next_source(struct fetch *f, struct job *j, const char *reason)
{
	note_failure(j, reason);
	j->cur++;
	j->attempt = 0;
	j->resumed = 0;
	j->restarted = 0;
	/* Splicing bytes from two sources can only be checked against a pin. */
	j->truncate = !j->item->pinned;
	j->state = JOB_READY;
	if (j->cur >= j->nsrc)
		job_exhausted(f, j);
}

static unsigned long long
backoff_delay(const struct fetch *f, int attempt)
{
	unsigned long long d = f->o.backoff_ms;
	int i;

	for (i = 1; i < attempt && d < MAX_DELAY_MS; i++)
		d *= 2;
	return d < MAX_DELAY_MS ? d : MAX_DELAY_MS;
}

/* A transient failure: wait and resume, or give up on this source. */
static void
retry_later(struct fetch *f, struct job *j, const char *reason)
{
	char buf[DY_ERR_MAX];
	unsigned long long d;

	j->attempt++;
	if (j->attempt > f->o.retries) {
		if (j->attempt > 1) {
			snprintf(buf, sizeof(buf), "%s (gave up after %d attempts)", reason,
				 j->attempt);
			reason = buf;
		}
		next_source(f, j, reason);
		return;
	}
	d = backoff_delay(f, j->attempt);
	dy_say(DY_DEBUG, "%s: %s: %s; retrying in %llu ms", j->name, j->src[j->cur].label, reason,
	       d);
	j->wake_ms = now_ms() + d;
	j->state = JOB_WAITING;
}

/* ---- cache ---- */

/* item->path for a digest (open_cache keeps the cache path short enough). */
static void
set_path(const struct fetch *f, struct dy_fetch_item *it, const char *hex)
{
	if (snprintf(it->path, sizeof(it->path), "%s/sha256/%s", f->cache, hex) >=
	    (int)sizeof(it->path))
		it->path[0] = '\0';
}

/* Hash an open file from its start. */
static int
hash_file(int fd, uint8_t out[DY_SHA256_LEN], unsigned long long *size, struct dy_err *err)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return dy_errnof(err, "cannot rewind");
	return dy_sha256_fd(fd, out, size, err);
}

/* 1: a verified copy is in the cache; 0: not (any corrupt copy removed);
 * -1: the cache cannot be read. */
static int
cache_lookup(struct fetch *f, struct job *j, struct dy_err *err)
{
	uint8_t got[DY_SHA256_LEN];
	char hex[DY_SHA256_HEX], ghex[DY_SHA256_HEX];
	struct stat st;
	int fd, rc;

	hex_of(j->item->sha256, hex);
	fd = openat(f->sha_dir, hex, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && errno != ELOOP)
		return dy_errnof(err, "cache %s/sha256/%s: cannot open", f->cache, hex);
	if (fd >= 0 && fstat(fd, &st) < 0) {
		close(fd);
		return dy_errnof(err, "cache %s/sha256/%s: cannot stat", f->cache, hex);
	}
	if (fd >= 0 && S_ISREG(st.st_mode)) {
		rc = hash_file(fd, got, NULL, err);
		close(fd);
		if (rc < 0)
			return dy_err_wrap(err, "cache %s/sha256/%s", f->cache, hex);
		if (dy_digest_equal(got, j->item->sha256, DY_SHA256_LEN)) {
			set_path(f, j->item, hex);
			return 1;
		}
		hex_of(got, ghex);
		dy_warn("%s: cached %s/sha256/%s is corrupt (sha256 is %s); fetching it again",
			j->name, f->cache, hex, ghex);
	} else {
		dy_warn("%s: cached %s/sha256/%s is not a regular file; fetching it again", j->name,
			f->cache, hex);
	}
	if (fd >= 0)
		close(fd);
	if (unlinkat(f->sha_dir, hex, 0) < 0 && errno != ENOENT)
		return dy_errnof(err, "cache %s/sha256/%s: cannot remove the corrupt copy",
				 f->cache, hex);
	return 0;
}

/* Move a verified partial file into the cache, durably. */
static int
commit(struct fetch *f, struct job *j, int fd, const uint8_t digest[DY_SHA256_LEN],
       struct dy_err *err)
{
	char hex[DY_SHA256_HEX];

	hex_of(digest, hex);
	if (fsync(fd) < 0)
		return dy_errnof(err, "cannot sync %s/partial/%s", f->cache, j->part);
	if (renameat(f->part_dir, j->part, f->sha_dir, hex) < 0)
		return dy_errnof(err, "cannot move %s/partial/%s to %s/sha256/%s", f->cache,
				 j->part, f->cache, hex);
	if (fsync(f->sha_dir) < 0)
		return dy_errnof(err, "cannot sync %s/sha256", f->cache);
	memcpy(j->item->sha256, digest, DY_SHA256_LEN);
	set_path(f, j->item, hex);
	return 0;
}

/*
 * Open and lock <key>.part.  Another process sharing the cache may hold
 * the lock (returns -2), or may have just renamed the file into the cache;
 * the inode check makes sure we never append to a file that left
 * partial/.
 */
static int
open_partial(struct fetch *f, struct job *j, struct dy_err *err)
{
	struct stat a, b;
	int fd, tries, e;

	for (tries = 0; tries < 3; tries++) {
		fd = openat(f->part_dir, j->part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return dy_errnof(err, "cannot open %s/partial/%s", f->cache, j->part);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			e = errno;
			close(fd);
			if (e == EWOULDBLOCK)
				return -2;
			errno = e;
			return dy_errnof(err, "cannot lock %s/partial/%s", f->cache, j->part);
		}
		if (fstat(fd, &a) < 0) {
			close(fd);
			return dy_errnof(err, "cannot stat %s/partial/%s", f->cache, j->part);
		}
		if (!S_ISREG(a.st_mode)) {
			close(fd);
			return dy_errf(err, "%s/partial/%s is not a regular file", f->cache,
				       j->part);
		}
		if (fstatat(f->part_dir, j->part, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	return dy_errf(err, "%s/partial/%s keeps being replaced", f->cache, j->part);
}

/* ---- transfers ---- */

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t len = size * nmemb;
	long code = 0;

	/* Our own FAILONERROR: an error page must never land in the file. */
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 0 && (code < 200 || code > 299))
		return CURL_WRITEFUNC_ERROR;
	if (dy_write_full(j->fd, data, len) < 0) {
		j->io_errno = errno;
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct job *j = arg;

	(void)ultotal;
	(void)ulnow;
	j->dl_now = dlnow;
	j->dl_total = dltotal;
	return 0;
}

static int
setup_easy(struct fetch *f, struct job *j)
{
	CURL *e = j->easy;
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, j->src[j->cur].url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, j) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, j) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->curl_err) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, MAX_REDIRS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, f->o.connect_timeout_s) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, f->o.low_speed_time_s) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "dockyard/" DY_VERSION) != CURLE_OK;
	/* Offline means file:// only, enforced by curl itself, not just by
	 * which sources we chose. */
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
				f->o.offline ? "file" : "http,https,file") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
	if (j->offset > 0)
		bad |= curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, j->offset) != CURLE_OK;
	if (f->progress) {
		bad |= curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_XFERINFODATA, j) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

static void
end_transfer(struct fetch *f, struct job *j)
{
	if (j->easy != NULL) {
		curl_multi_remove_handle(f->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
		f->active--;
	}
	if (j->fd >= 0) {
		/* An empty partial file helps no later resume: do not leave it. */
		if (j->state != JOB_DONE && lseek(j->fd, 0, SEEK_END) == 0)
			unlinkat(f->part_dir, j->part, 0);
		close(j->fd);
		j->fd = -1;
	}
}

/* Position the partial file: append to what is there, or start over. */
static int
prepare_partial(struct fetch *f, struct job *j, struct dy_err *err)
{
	off_t end;

	if (j->truncate && ftruncate(j->fd, 0) < 0)
		return dy_errnof(err, "cannot truncate %s/partial/%s", f->cache, j->part);
	j->truncate = 0;
	end = lseek(j->fd, 0, SEEK_END);
	if (end < 0)
		return dy_errnof(err, "cannot seek in %s/partial/%s", f->cache, j->part);
	j->offset = (curl_off_t)end;
	if (end > 0)
		j->resumed = 1;
	return 0;
}

static void
start_job(struct fetch *f, struct job *j)
{
	struct dy_err err;
	int rc;

	if (j->item->pinned) {
		rc = cache_lookup(f, j, &err);
		if (rc < 0) {
			job_fail(f, j, "%s", err.msg);
			return;
		}
		if (rc > 0) {
			dy_say(DY_DEBUG, "%s: verified cached copy %s", j->name, j->item->path);
			job_finish(f, j, JOB_DONE);
			return;
		}
	}
	if (j->cur >= j->nsrc) {
		job_exhausted(f, j);
		return;
	}
	j->fd = open_partial(f, j, &err);
	if (j->fd == -2) {
		j->fd = -1;
		dy_say(DY_DEBUG, "%s: another process is downloading it; waiting", j->name);
		j->wake_ms = now_ms() + LOCK_WAIT_MS;
		j->state = JOB_WAITING;
		return;
	}
	if (j->fd < 0 || prepare_partial(f, j, &err) < 0) {
		end_transfer(f, j);
		job_fail(f, j, "%s", err.msg);
		return;
	}
	j->curl_err[0] = '\0';
	j->io_errno = 0;
	j->dl_now = j->dl_total = 0;
	j->easy = curl_easy_init();
	if (j->easy == NULL || setup_easy(f, j) < 0 ||
	    curl_multi_add_handle(f->multi, j->easy) != CURLM_OK) {
		if (j->easy != NULL)
			curl_easy_cleanup(j->easy);
		j->easy = NULL;
		end_transfer(f, j);
		job_fail(f, j, "cannot set up a transfer for %s", j->src[j->cur].label);
		return;
	}
	f->active++;
	j->state = JOB_ACTIVE;
}

/* 0: another copy of this item (same key) is still being worked on. */
static int
key_free(const struct fetch *f, const struct job *j)
{
	const struct job *k;

	for (k = f->jobs; k < j; k++)
		if (k->state != JOB_DONE && k->state != JOB_FAILED && strcmp(k->key, j->key) == 0)
			return 0;
	return 1;
}

static void
start_ready(struct fetch *f)
{
	unsigned long long now = now_ms();
	struct job *j;

	for (j = f->jobs; j < f->jobs + f->njobs; j++) {
		if ((size_t)f->o.max_parallel <= f->active)
			return;
		if (j->state == JOB_WAITING && j->wake_ms <= now)
			j->state = JOB_READY;
		if (j->state == JOB_READY && key_free(f, j))
			start_job(f, j);
	}
}

static int
transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_QUIC_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static int
transient_http(long code)
{
	return code >= 500 || code == 408 || code == 429;
}

static void
curl_reason(struct job *j, CURLcode rc, char *buf, size_t len)
{
	const char *detail = j->curl_err[0] != '\0' ? j->curl_err : curl_easy_strerror(rc);

	/* curl's "Operation too slow ..." does not say that it is a timeout. */
	snprintf(buf, len, "%s%s", rc == CURLE_OPERATION_TIMEDOUT ? "timeout: " : "", detail);
}

/* The server refused or ignored our Range: drop the partial file's bytes
 * and fetch the whole file again, right away. */
static void
start_over(struct job *j)
{
	j->truncate = 1;
	j->state = JOB_READY;
}

/* The transfer succeeded: check the digest and keep the file, or not. */
static void
check_download(struct fetch *f, struct job *j, long code)
{
	uint8_t got[DY_SHA256_LEN];
	char reason[DY_ERR_MAX], ghex[DY_SHA256_HEX], whex[DY_SHA256_HEX];
	unsigned long long size;
	struct dy_err err;

	if (hash_file(j->fd, got, &size, &err) < 0) {
		job_fail(f, j, "%s/partial/%s: %s", f->cache, j->part, err.msg);
		return;
	}
	if (j->item->pinned && !dy_digest_equal(got, j->item->sha256, DY_SHA256_LEN)) {
		unlinkat(f->part_dir, j->part, 0);
		/* A 416 only says our partial file was already long enough; a
		 * digest mismatch after a resume may come from stale bytes of an
		 * earlier attempt: give the source one clean try. */
		if ((j->resumed || code == 416) && !j->restarted) {
			j->restarted = 1;
			start_over(j);
			return;
		}
		hex_of(got, ghex);
		hex_of(j->item->sha256, whex);
		snprintf(reason, sizeof(reason), "sha256 is %s, lock pins %s", ghex, whex);
		next_source(f, j, reason);
		return;
	}
	if (commit(f, j, j->fd, got, &err) < 0) {
		job_fail(f, j, "%s", err.msg);
		return;
	}
	job_finish(f, j, JOB_DONE);
	f->fetched += size;
	hex_of(got, ghex);
	dy_say(DY_VERBOSE, "fetched %s from %s: %llu bytes, sha256 %s", j->name,
	       j->src[j->cur].label, size, ghex);
}

static void
transfer_done(struct fetch *f, struct job *j, CURLcode rc)
{
	char reason[DY_ERR_MAX];
	long code = 0;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
	if (j->io_errno != 0) {
		job_fail(f, j, "cannot write %s/partial/%s: %s", f->cache, j->part,
			 strerror(j->io_errno));
	} else if (j->offset > 0 && (rc == CURLE_RANGE_ERROR || rc == CURLE_BAD_DOWNLOAD_RESUME)) {
		dy_say(DY_DEBUG, "%s: %s cannot resume; starting over", j->name,
		       j->src[j->cur].label);
		start_over(j);
	} else if (code == 416 && j->offset > 0 && !j->item->pinned) {
		start_over(j);
	} else if (code == 416 && j->offset > 0) {
		check_download(f, j, code);
	} else if (code != 0 && (code < 200 || code > 299)) {
		snprintf(reason, sizeof(reason), "HTTP %ld", code);
		if (transient_http(code))
			retry_later(f, j, reason);
		else
			next_source(f, j, reason);
	} else if (rc != CURLE_OK) {
		curl_reason(j, rc, reason, sizeof(reason));
		if (transient_curl(rc))
			retry_later(f, j, reason);
		else
			next_source(f, j, reason);
	} else {
		check_download(f, j, code);
	}
	end_transfer(f, j);
}

static void
reap(struct fetch *f)
{
	CURLMsg *m;
	char *priv;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if (priv != NULL)
			transfer_done(f, (struct job *)(void *)priv, m->data.result);
	}
}

static void
draw_progress(struct fetch *f)
{
	unsigned long long now = now_ms(), done = f->fetched, total = f->fetched;
	char label[64];
	size_t i;

	if (!f->progress || now - f->drawn_ms < PROGRESS_MS)
		return;
	f->drawn_ms = now;
	for (i = 0; i < f->njobs; i++) {
		const struct job *j = &f->jobs[i];
		if (j->state != JOB_ACTIVE)
			continue;
		done += (unsigned long long)(j->offset + j->dl_now);
		total += (unsigned long long)(j->offset + j->dl_total);
	}
	snprintf(label, sizeof(label), "fetching (%zu/%zu done)", f->finished, f->njobs);
	dy_progress(label, done, total, 1);
}

/* How long poll may sleep: until the next backoff ends, at most 1 s. */
static long
poll_timeout(const struct fetch *f)
{
	unsigned long long now = now_ms(), t = f->progress ? PROGRESS_MS : 1000;
	size_t i;

	for (i = 0; i < f->njobs; i++) {
		const struct job *j = &f->jobs[i];
		if (j->state == JOB_READY && f->active < (size_t)f->o.max_parallel &&
		    key_free(f, j))
			return 0;
		if (j->state == JOB_WAITING)
			t = j->wake_ms <= now ? 0 : (j->wake_ms - now < t ? j->wake_ms - now : t);
	}
	return (long)t;
}

static int
run(struct fetch *f, struct dy_err *err)
{
	CURLMcode mc;
	int running;

	while (f->finished < f->njobs) {
		start_ready(f);
		mc = curl_multi_perform(f->multi, &running);
		if (mc == CURLM_OK) {
			reap(f);
			draw_progress(f);
		}
		if (mc == CURLM_OK && f->finished < f->njobs)
			mc = curl_multi_poll(f->multi, NULL, 0, (int)poll_timeout(f), NULL);
		if (mc != CURLM_OK)
			return dy_errf(err, "fetching: %s", curl_multi_strerror(mc));
	}
	return 0;
}

/* ---- setup and teardown ---- */

static int
init_job(struct fetch *f, struct job *j, struct dy_fetch_item *it)
{
	uint8_t d[DY_SHA256_LEN];

	j->item = it;
	j->fd = -1;
	it->error[0] = '\0';
	it->path[0] = '\0';
	j->name = it->name ? it->name : it->url ? it->url : "(unnamed artifact)";
	if (url_kind(it->url) == URL_BAD) {
		job_fail(f, j,
			 "unsupported URL %s (want https://, http://, file:// or an absolute path)",
			 it->url ? it->url : "(none)");
		return 0;
	}
	if (it->pinned) {
		hex_of(it->sha256, j->key);
	} else {
		dy_sha256_buf(it->url, strlen(it->url), d);
		hex_of(d, j->key);
	}
	snprintf(j->part, sizeof(j->part), "%s.part", j->key);
	if (add_sources(f, j) < 0)
		return -1;
	j->state = JOB_READY;
	return 0;
}

static void
free_jobs(struct fetch *f)
{
	size_t i, k;

	for (i = 0; f->jobs != NULL && i < f->njobs; i++) {
		struct job *j = &f->jobs[i];
		end_transfer(f, j);
		for (k = 0; k < j->nsrc; k++) {
			free(j->src[k].url);
			free(j->src[k].label);
		}
		free(j->src);
	}
	free(f->jobs);
	f->jobs = NULL;
}

static int
summarize(const struct fetch *f, struct dy_err *err)
{
	const struct dy_fetch_item *first = NULL;
	size_t i, nfailed = 0;

	for (i = 0; i < f->njobs; i++) {
		if (f->jobs[i].state == JOB_DONE)
			continue;
		if (first == NULL)
			first = f->jobs[i].item;
		nfailed++;
	}
	if (nfailed == 0)
		return 0;
	if (nfailed == 1)
		return dy_errf(err, "%s", first->error);
	return dy_errf(err, "%zu of %zu artifacts failed; the first: %s", nfailed, f->njobs,
		       first->error);
}

static int
fetch_all(struct fetch *f, struct dy_fetch_item *items, size_t n, struct dy_err *err)
{
	size_t i;

	f->jobs = calloc(n ? n : 1, sizeof(*f->jobs));
	if (f->jobs == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < n; i++)
		f->jobs[i].fd = -1;
	f->njobs = n;
	for (i = 0; i < n; i++)
		if (init_job(f, &f->jobs[i], &items[i]) < 0)
			return dy_errf(err, "out of memory");
	f->multi = curl_multi_init();
	if (f->multi == NULL)
		return dy_errf(err, "cannot initialise libcurl");
	if (run(f, err) < 0)
		return -1;
	return summarize(f, err);
}

int
dy_fetch_all(struct dy_fetch_item *items, size_t n, const struct dy_fetch_opts *o,
	     struct dy_err *err)
{
	struct fetch f;
	int rc;

	memset(&f, 0, sizeof(f));
	f.o = *o;
	f.sha_dir = f.part_dir = -1;
	apply_defaults(&f.o);
	f.progress = dy_progress_enabled();
	if (check_mirrors(&f.o, err) < 0 || open_cache(&f, o->cache_dir, err) < 0) {
		if (f.sha_dir >= 0)
			close(f.sha_dir);
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		close(f.sha_dir);
		close(f.part_dir);
		return dy_errf(err, "cannot initialise libcurl");
	}
	rc = fetch_all(&f, items, n, err);
	dy_progress_end();
	free_jobs(&f);
	if (f.multi != NULL)
		curl_multi_cleanup(f.multi);
	curl_global_cleanup();
	close(f.sha_dir);
	close(f.part_dir);
	return rc;
}
