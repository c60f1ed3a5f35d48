/* SPDX-License-Identifier: Apache-2.0 */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xio.h"

#define CHUNK (64u << 10)
#define NAME_BUF 4096 /* canonical names; a longer entry cannot be wanted */

enum ent_kind { ENT_FILE, ENT_DIR, ENT_SYMLINK, ENT_HARDLINK, ENT_OTHER };

/* An archive entry seen on the first pass: enough to follow links and to
 * name it in messages without reading the archive again. */
struct entry {
	char *name; /* canonical */
	char *link; /* symbolic link target as stored; canonical hard link target */
	enum ent_kind kind;
	const char *type;
};

struct slot {
	char *member;	    /* canonical */
	const char *target; /* entry holding the data of a linked member */
	int seen;	    /* entries named member on the first pass */
	int hit;	    /* the current entry's data goes to this slot */
	int created;	    /* out_path exists because of this call */
	int fd;
};

struct unpack {
	const char *artifact;
	struct dy_want *wants;
	struct slot *slots;
	size_t n;
	uint64_t max;
	int fd;
	int pass;
	char label[NAME_BUF + 64]; /* names the archive in messages */
	struct entry *ents;
	size_t nents, cap;
	unsigned char *buf;
	/* .deb: the ar archive the nested data.tar reader pulls from */
	struct archive *outer;
	struct dy_err outer_err;
	int outer_failed;
};

int
dy_artifact_kind_parse(const char *word, enum dy_artifact_kind *kind)
{
	if (strcmp(word, "file") == 0)
		*kind = DY_KIND_FILE;
	else if (strcmp(word, "tar") == 0 || strcmp(word, "tgz") == 0)
		*kind = DY_KIND_TAR;
	else if (strcmp(word, "deb") == 0)
		*kind = DY_KIND_DEB;
	else
		return -1;
	return 0;
}

const char *
dy_artifact_kind_name(enum dy_artifact_kind kind)
{
	switch (kind) {
	case DY_KIND_FILE:
		return "file";
	case DY_KIND_TAR:
		return "tar";
	case DY_KIND_DEB:
		return "deb";
	}
	return "unknown";
}

/* Next '/'-separated component of *p (length 0 at the end). */
static const char *
next_component(const char **p, size_t *len)
{
	const char *s = *p, *c;

	while (*s == '/')
		s++;
	c = s;
	while (*s != '\0' && *s != '/')
		s++;
	*len = (size_t)(s - c);
	*p = s;
	return c;
}

static int
is_dot(const char *c, size_t len)
{
	return len == 1 && c[0] == '.';
}

static int
is_dotdot(const char *c, size_t len)
{
	return len == 2 && c[0] == '.' && c[1] == '.';
}

/*
 * Archives name one file "./a/b", "/a/b" or "a//b/": drop empty and "."
 * components so both sides of a comparison agree.  ".." is kept, so such
 * a name never matches a wanted member (which may not hold one).
 */
static int
canon(const char *in, char *out, size_t cap)
{
	size_t len = 0, clen;
	const char *c;

	for (;;) {
		c = next_component(&in, &clen);
		if (clen == 0)
			break;
		if (is_dot(c, clen))
			continue;
		if (len + 1 + clen + 1 > cap)
			return -1;
		if (len > 0)
			out[len++] = '/';
		memcpy(out + len, c, clen);
		len += clen;
	}
	out[len] = '\0';
	return 0;
}

static int
has_dotdot(const char *path)
{
	const char *c;
	size_t len;

	while ((c = next_component(&path, &len)), len > 0)
		if (is_dotdot(c, len))
			return 1;
	return 0;
}

static const char *
base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static enum ent_kind
entry_kind(struct archive_entry *ae, const char **type)
{
	if (archive_entry_hardlink(ae) != NULL) {
		*type = "hard link";
		return ENT_HARDLINK;
	}
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		*type = "regular file";
		return ENT_FILE;
	case AE_IFDIR:
		*type = "directory";
		return ENT_DIR;
	case AE_IFLNK:
		*type = "symbolic link";
		return ENT_SYMLINK;
	case AE_IFCHR:
		*type = "character device";
		return ENT_OTHER;
	case AE_IFBLK:
		*type = "block device";
		return ENT_OTHER;
	case AE_IFIFO:
		*type = "fifo";
		return ENT_OTHER;
	case AE_IFSOCK:
		*type = "socket";
		return ENT_OTHER;
	}
	*type = "entry of unknown type";
	return ENT_OTHER;
}

/* libarchive's message, with a fallback: it may have none. */
static const char *
why(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s ? s : "unknown error";
}

/* The archive's own error, unless the ar archive underneath failed
 * first: then its message says what really happened. */
static int
read_fail(struct unpack *u, struct archive *a, const char *what, struct dy_err *err)
{
	if (u->outer_failed)
		return dy_errf(err, "%s", u->outer_err.msg);
	return dy_errf(err, "%s: cannot read %s: %s", u->label, what, why(a));
}

static int
remember(struct unpack *u, const char *name, struct archive_entry *ae, struct dy_err *err)
{
	const char *target = NULL;
	char hard[NAME_BUF];
	struct entry *e;

	if (u->nents == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		e = realloc(u->ents, cap * sizeof(*e));
		if (e == NULL)
			return dy_errf(err, "out of memory listing %s", u->label);
		u->ents = e;
		u->cap = cap;
	}
	e = &u->ents[u->nents];
	memset(e, 0, sizeof(*e));
	e->kind = entry_kind(ae, &e->type);
	if (e->kind == ENT_SYMLINK)
		target = archive_entry_symlink(ae);
	/* An overlong hard link target cannot name an entry: leave it empty. */
	if (e->kind == ENT_HARDLINK)
		target = canon(archive_entry_hardlink(ae), hard, sizeof(hard)) == 0 ? hard : "";
	e->name = strdup(name);
	e->link = target ? strdup(target) : NULL;
	if (e->name == NULL || (target && e->link == NULL)) {
		free(e->name);
		free(e->link);
		return dy_errf(err, "out of memory listing %s", u->label);
	}
	u->nents++;
	return 0;
}

static int
create_out(struct unpack *u, size_t i, struct dy_err *err)
{
	struct slot *s = &u->slots[i];
	const char *out = u->wants[i].out_path;

	s->fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (s->fd < 0 && s->member == NULL)
		return dy_errnof(err, "cannot create %s (copy of %s)", out, u->artifact);
	if (s->fd < 0)
		return dy_errnof(err, "cannot create %s for member %s of %s", out, s->member,
				 u->label);
	s->created = 1;
	return 0;
}

static int
write_hits(struct unpack *u, const char *name, const void *buf, size_t len, struct dy_err *err)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (u->slots[i].hit && dy_write_full(u->slots[i].fd, buf, len) < 0)
			return dy_errnof(err, "cannot write %s (member %s of %s)",
					 u->wants[i].out_path, name, u->label);
	return 0;
}

static int
finish_hits(struct unpack *u, const char *name, uint64_t size, struct dy_err *err)
{
	struct slot *s;
	size_t i;
	int fd;

	for (i = 0; i < u->n; i++) {
		s = &u->slots[i];
		if (!s->hit)
			continue;
		fd = s->fd;
		s->fd = -1;
		s->hit = 0;
		if (close(fd) < 0)
			return dy_errnof(err, "cannot write %s (member %s of %s)",
					 u->wants[i].out_path, name, u->label);
		u->wants[i].found = 1;
		u->wants[i].size = size;
	}
	return 0;
}

/*
 * Copy the current entry's data to every slot it was matched to.  The
 * header's size is checked against the limit before anything is created,
 * and the data must then fill exactly that size: a member that grows
 * while decompressing is refused, not truncated.
 */
static int
extract(struct unpack *u, struct archive *a, struct archive_entry *ae, const char *name,
	struct dy_err *err)
{
	uint64_t declared, done = 0;
	const void *buf;
	la_int64_t off;
	size_t i, len;
	int rc;

	if (!archive_entry_size_is_set(ae) || archive_entry_size(ae) < 0)
		return dy_errf(err, "member %s of %s does not declare its size", name, u->label);
	declared = (uint64_t)archive_entry_size(ae);
	if (declared > u->max)
		return dy_errf(err, "member %s of %s is %llu bytes, more than the limit of %llu",
			       name, u->label, (unsigned long long)declared,
			       (unsigned long long)u->max);
	for (i = 0; i < u->n; i++)
		if (u->slots[i].hit && create_out(u, i, err) < 0)
			return -1;
	while ((rc = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		if (off < 0 || (uint64_t)off != done)
			return dy_errf(err, "member %s of %s is a sparse file; not supported", name,
				       u->label);
		if (len > declared - done)
			return dy_errf(err,
				       "member %s of %s holds more data than the %llu bytes its "
				       "header declares",
				       name, u->label, (unsigned long long)declared);
		if (write_hits(u, name, buf, len, err) < 0)
			return -1;
		done += len;
	}
	if (rc != ARCHIVE_EOF)
		return read_fail(u, a, name, err);
	if (done != declared)
		return dy_errf(err, "member %s of %s holds %llu bytes, its header declares %llu",
			       name, u->label, (unsigned long long)done,
			       (unsigned long long)declared);
	return finish_hits(u, name, done, err);
}

static int
on_entry(struct unpack *u, struct archive *a, struct archive_entry *ae, struct dy_err *err)
{
	const char *raw = archive_entry_pathname(ae), *type;
	enum ent_kind kind = entry_kind(ae, &type);
	char name[NAME_BUF];
	struct slot *s;
	size_t i, hits = 0;

	if (raw == NULL || canon(raw, name, sizeof(name)) < 0)
		return 0; /* cannot be wanted: wanted names fit */
	if (u->pass == 1 && remember(u, name, ae, err) < 0)
		return -1;
	for (i = 0; i < u->n; i++) {
		s = &u->slots[i];
		if (u->pass == 2) {
			if (s->target == NULL || u->wants[i].found || kind != ENT_FILE ||
			    strcmp(s->target, name) != 0)
				continue;
		} else {
			if (strcmp(s->member, name) != 0)
				continue;
			if (s->seen++)
				return dy_errf(err, "member %s appears twice in %s", name,
					       u->label);
			if (kind == ENT_SYMLINK || kind == ENT_HARDLINK)
				continue; /* followed once every entry is known */
			if (kind != ENT_FILE)
				return dy_errf(err,
					       "member %s of %s is a %s; only regular files can "
					       "be taken",
					       name, u->label, type);
		}
		s->hit = 1;
		hits++;
	}
	if (hits == 0 || extract(u, a, ae, name, err) == 0)
		return 0;
	/* On the second pass the data is a link's target: name the link too. */
	for (i = 0; u->pass == 2 && i < u->n; i++)
		if (u->slots[i].hit)
			return dy_err_wrap(err, "member %s links to %s", u->slots[i].member, name);
	return -1;
}

static int
walk_tar(struct unpack *u, struct archive *a, struct dy_err *err)
{
	struct archive_entry *ae;
	int rc;

	for (;;) {
		rc = archive_read_next_header(a, &ae);
		if (rc == ARCHIVE_EOF)
			return 0;
		/* A warning (an odd pax attribute, say) leaves the entry usable. */
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
			return read_fail(u, a, "archive", err);
		if (on_entry(u, a, ae, err) < 0)
			return -1;
	}
}

static struct archive *
tar_reader(void)
{
	struct archive *a = archive_read_new();

	if (a == NULL)
		return NULL;
	/* Built-in decoders only: filter_all would fall back to running
	 * external programs (lrzip, lzop, ...) for formats it lacks. */
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(a) != ARCHIVE_OK ||
	    archive_read_support_filter_lzma(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static int
scan_tar(struct unpack *u, struct dy_err *err)
{
	struct archive *a = tar_reader();
	int rc;

	if (a == NULL)
		return dy_errf(err, "cannot set up a tar reader for %s", u->label);
	if (archive_read_open_fd(a, u->fd, CHUNK) != ARCHIVE_OK)
		rc = read_fail(u, a, "archive", err);
	else
		rc = walk_tar(u, a, err);
	archive_read_free(a);
	return rc;
}

/* The nested tar reader's input: the data of the current ar member. */
static la_ssize_t
nested_read(struct archive *inner, void *client, const void **buf)
{
	struct unpack *u = client;
	la_ssize_t n = archive_read_data(u->outer, u->buf, CHUNK);

	if (n < 0) {
		u->outer_failed = 1;
		dy_errf(&u->outer_err, "%s: cannot read archive: %s", u->label, why(u->outer));
		archive_set_error(inner, EIO, "%s", u->outer_err.msg);
		return -1;
	}
	*buf = u->buf;
	return n;
}

static int
scan_nested(struct unpack *u, struct archive *outer, struct dy_err *err)
{
	struct archive *in = tar_reader();
	int rc;

	if (in == NULL)
		return dy_errf(err, "cannot set up a tar reader for %s", u->label);
	u->outer = outer;
	u->outer_failed = 0;
	if (archive_read_open(in, u, NULL, nested_read, NULL) != ARCHIVE_OK)
		rc = read_fail(u, in, "archive", err);
	else
		rc = walk_tar(u, in, err);
	archive_read_free(in);
	u->outer = NULL;
	return rc;
}

static int
is_data_member(const char *name)
{
	return strcmp(name, "data.tar") == 0 || strncmp(name, "data.tar.", 9) == 0;
}

/*
 * A .deb is an ar archive: debian-binary first (as dpkg insists), then
 * control.tar.*, then data.tar.* holding the files.  The data member is
 * read in place as a nested archive; the outer one is still read to its
 * end, so a second data member or a damaged tail is not missed.
 */
static int
walk_deb(struct unpack *u, struct archive *outer, struct dy_err *err)
{
	struct archive_entry *ae;
	char data[64] = "";
	const char *name;
	size_t idx;
	int rc;

	for (idx = 0;; idx++) {
		rc = archive_read_next_header(outer, &ae);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
			return dy_errf(err, "%s: cannot read archive: %s", u->artifact, why(outer));
		name = archive_entry_pathname(ae);
		if (name == NULL)
			name = "";
		if (idx == 0 && strcmp(name, "debian-binary") != 0)
			return dy_errf(err,
				       "%s is not a Debian package: its first member is '%.60s', "
				       "not debian-binary",
				       u->artifact, name);
		if (!is_data_member(name))
			continue;
		if (data[0] != '\0')
			return dy_errf(err, "%s holds two data members, %s and %.60s", u->artifact,
				       data, name);
		snprintf(data, sizeof(data), "%s", name);
		snprintf(u->label, sizeof(u->label), "%s (%s)", u->artifact, data);
		if (scan_nested(u, outer, err) < 0)
			return -1;
	}
	if (data[0] == '\0')
		return dy_errf(err, "%s is not a Debian package: it has no data.tar member",
			       u->artifact);
	return 0;
}

static int
scan_deb(struct unpack *u, struct dy_err *err)
{
	struct archive *a = archive_read_new();
	int rc;

	if (a == NULL || archive_read_support_format_ar(a) != ARCHIVE_OK) {
		archive_read_free(a);
		return dy_errf(err, "cannot set up an ar reader for %s", u->artifact);
	}
	if (archive_read_open_fd(a, u->fd, CHUNK) != ARCHIVE_OK)
		rc = dy_errf(err, "%s: cannot read archive: %s", u->artifact, why(a));
	else
		rc = walk_deb(u, a, err);
	archive_read_free(a);
	return rc;
}

static int
missing(struct unpack *u, const struct slot *s, struct dy_err *err)
{
	const char *want = base_of(s->member);
	size_t i;

	for (i = 0; i < u->nents; i++)
		if (u->ents[i].kind != ENT_DIR && strcmp(base_of(u->ents[i].name), want) == 0)
			return dy_errf(err, "member %s not found in %s; did you mean %s?",
				       s->member, u->label, u->ents[i].name);
	return dy_errf(err, "member %s not found in %s", s->member, u->label);
}

/* An entry named name, and how many there are.  A directory is returned
 * only when nothing else has the name, so a link or file hiding behind a
 * repeated directory entry is still seen (and refused as a duplicate). */
static const struct entry *
lookup(const struct unpack *u, const char *name, size_t *count)
{
	const struct entry *found = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < u->nents; i++) {
		if (strcmp(u->ents[i].name, name) != 0)
			continue;
		if (found == NULL || found->kind == ENT_DIR)
			found = &u->ents[i];
		(*count)++;
	}
	return found;
}

static void
drop_last(char *path, size_t *len)
{
	while (*len > 0 && path[*len - 1] != '/')
		(*len)--;
	if (*len > 0)
		(*len)--;
	path[*len] = '\0';
}

struct walk {
	char cur[NAME_BUF];  /* the path reached so far */
	char rest[NAME_BUF]; /* what is left to walk, from p */
	size_t len;	     /* of cur */
	const char *p;
	const struct entry *via; /* the last link followed */
	int hops;
};

/* One component c (clen bytes) more on w->cur. */
static int
walk_append(struct unpack *u, const struct slot *s, struct walk *w, const char *c, size_t clen,
	    struct dy_err *err)
{
	if (w->len + 1 + clen + 1 > sizeof(w->cur))
		return dy_errf(err, "member %s of %s: links lead to an overlong path", s->member,
			       u->label);
	if (w->len > 0)
		w->cur[w->len++] = '/';
	memcpy(w->cur + w->len, c, clen);
	w->len += clen;
	w->cur[w->len] = '\0';
	return 0;
}

/* w->cur is the link e (count entries of that name): walk on from its
 * target, then what was left. */
static int
walk_link(struct unpack *u, const struct slot *s, struct walk *w, const struct entry *e,
	  size_t count, struct dy_err *err)
{
	char next[NAME_BUF];

	if (count > 1)
		return dy_errf(err, "member %s of %s: link %s appears twice", s->member, u->label,
			       w->cur);
	if (++w->hops > DY_UNPACK_MAX_HOPS)
		return dy_errf(err,
			       "member %s of %s: more than %d links to follow (a link "
			       "loop?)",
			       s->member, u->label, DY_UNPACK_MAX_HOPS);
	if (e->link[0] == '\0')
		return dy_errf(err, "member %s of %s: link %s has no usable target", s->member,
			       u->label, e->name);
	if (snprintf(next, sizeof(next), "%s%s", e->link, w->p) >= (int)sizeof(next))
		return dy_errf(err, "member %s of %s: links lead to an overlong path", s->member,
			       u->label);
	if (e->kind == ENT_SYMLINK && e->link[0] != '/')
		drop_last(w->cur, &w->len);
	else
		w->len = 0;
	w->cur[w->len] = '\0';
	memcpy(w->rest, next, strlen(next) + 1);
	w->p = w->rest;
	w->via = e;
	return 0;
}

/* The walk is over: the entry at w->cur. */
static int
walk_end(struct unpack *u, const struct slot *s, const struct walk *w, const struct entry **out,
	 struct dy_err *err)
{
	const struct entry *e, *via = w->via;
	size_t count;

	if (w->len == 0)
		return dy_errf(err, "member %s of %s: link %s -> %s leads to the archive root",
			       s->member, u->label, via ? via->name : "?", via ? via->link : "?");
	e = lookup(u, w->cur, &count);
	if (e == NULL && via != NULL)
		return dy_errf(err,
			       "member %s of %s: link %s -> %s leads to %s, which is not in the "
			       "archive",
			       s->member, u->label, via->name, via->link, w->cur);
	if (e != NULL && count > 1 && e->kind != ENT_DIR)
		return dy_errf(err, "member %s of %s: its target %s appears twice", s->member,
			       u->label, w->cur);
	*out = e;
	return 0;
}

/*
 * Resolve a wanted name the way a filesystem would, with the archive as
 * its root: a symbolic link anywhere on the path is replaced by its target
 * (relative to the link's directory, an absolute one from the root), a
 * hard link by the entry it names.  ".." may not climb above the root.
 * *out is the entry reached, NULL when the name was not in the archive.
 */
static int
follow(struct unpack *u, const struct slot *s, const struct entry **out, struct dy_err *err)
{
	struct walk w;
	const struct entry *e;
	const char *c;
	size_t clen, count;

	*out = NULL;
	memset(&w, 0, sizeof(w));
	snprintf(w.rest, sizeof(w.rest), "%s", s->member);
	w.p = w.rest;
	while ((c = next_component(&w.p, &clen)), clen > 0) {
		if (is_dot(c, clen))
			continue;
		if (is_dotdot(c, clen)) {
			if (w.len == 0)
				return dy_errf(err,
					       "member %s of %s: link %s -> %s climbs above the "
					       "archive root",
					       s->member, u->label, w.via ? w.via->name : "?",
					       w.via ? w.via->link : "?");
			drop_last(w.cur, &w.len);
			continue;
		}
		if (walk_append(u, s, &w, c, clen, err) < 0)
			return -1;
		e = lookup(u, w.cur, &count);
		if (e == NULL || (e->kind != ENT_SYMLINK && e->kind != ENT_HARDLINK))
			continue; /* directories need no entry of their own */
		if (walk_link(u, s, &w, e, count, err) < 0)
			return -1;
	}
	return walk_end(u, s, &w, out, err);
}

/* After the first pass: find where each member not yet written lives. */
static int
resolve(struct unpack *u, size_t *pending, struct dy_err *err)
{
	const struct entry *e;
	struct slot *s;
	size_t i;

	*pending = 0;
	for (i = 0; i < u->n; i++) {
		s = &u->slots[i];
		if (u->wants[i].found)
			continue;
		if (follow(u, s, &e, err) < 0)
			return -1;
		if (e == NULL)
			return missing(u, s, err);
		if (e->kind != ENT_FILE)
			return dy_errf(err,
				       "member %s of %s leads to %s, a %s; only regular files can "
				       "be taken",
				       s->member, u->label, e->name, e->type);
		s->target = e->name;
		(*pending)++;
	}
	return 0;
}

/* The second pass found every target the first one saw, unless the
 * file changed in between. */
static int
check_found(struct unpack *u, struct dy_err *err)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (!u->wants[i].found)
			return dy_errf(err,
				       "member %s of %s: %s was not found again on a second "
				       "pass; did the file change?",
				       u->slots[i].member, u->label, u->slots[i].target);
	return 0;
}

static int
copy_file(struct unpack *u, struct dy_err *err)
{
	uint64_t done = 0;
	struct stat st;
	ssize_t got;

	if (fstat(u->fd, &st) < 0)
		return dy_errnof(err, "cannot stat %s", u->artifact);
	if (!S_ISREG(st.st_mode))
		return dy_errf(err, "%s is not a regular file", u->artifact);
	if ((uint64_t)st.st_size > u->max)
		return dy_errf(err, "%s is %llu bytes, more than the limit of %llu", u->artifact,
			       (unsigned long long)st.st_size, (unsigned long long)u->max);
	u->slots[0].hit = 1;
	if (create_out(u, 0, err) < 0)
		return -1;
	while ((got = dy_read_some(u->fd, u->buf, CHUNK)) > 0) {
		if ((uint64_t)got > u->max - done)
			return dy_errf(err, "%s grew past the limit of %llu bytes while copied",
				       u->artifact, (unsigned long long)u->max);
		if (write_hits(u, u->artifact, u->buf, (size_t)got, err) < 0)
			return -1;
		done += (uint64_t)got;
	}
	if (got < 0)
		return dy_errnof(err, "cannot read %s", u->artifact);
	if (done != (uint64_t)st.st_size)
		return dy_errf(err, "%s changed size while copied (%llu bytes, then %llu)",
			       u->artifact, (unsigned long long)st.st_size,
			       (unsigned long long)done);
	return finish_hits(u, u->artifact, done, err);
}

static int
check_wants(const char *artifact, enum dy_artifact_kind kind, const struct dy_want *wants, size_t n,
	    struct dy_err *err)
{
	char name[NAME_BUF];
	size_t i;

	if (kind != DY_KIND_FILE && kind != DY_KIND_TAR && kind != DY_KIND_DEB)
		return dy_errf(err, "%s: unknown artifact kind %d", artifact, (int)kind);
	if (n == 0)
		return dy_errf(err, "%s: no member wanted", artifact);
	if (kind == DY_KIND_FILE && n != 1)
		return dy_errf(err, "%s is taken as one file, but %zu outputs are wanted", artifact,
			       n);
	for (i = 0; i < n; i++) {
		const char *m = wants[i].member;
		if (wants[i].out_path == NULL || wants[i].out_path[0] == '\0')
			return dy_errf(err, "%s: wanted member %zu has no output path", artifact,
				       i);
		if (kind == DY_KIND_FILE)
			continue;
		if (m == NULL || canon(m, name, sizeof(name)) < 0 || name[0] == '\0')
			return dy_errf(err, "%s: wanted member '%.200s' names no file", artifact,
				       m ? m : "(null)");
		if (has_dotdot(name))
			return dy_errf(err, "%s: wanted member '%.200s' has a '..' component",
				       artifact, m);
	}
	return 0;
}

static int
setup(struct unpack *u, enum dy_artifact_kind kind, struct dy_err *err)
{
	char name[NAME_BUF];
	size_t i;

	u->slots = calloc(u->n, sizeof(*u->slots));
	u->buf = malloc(CHUNK);
	if (u->slots == NULL || u->buf == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < u->n; i++) {
		u->slots[i].fd = -1;
		u->wants[i].found = 0;
		u->wants[i].size = 0;
		if (kind == DY_KIND_FILE)
			continue; /* no member: the artifact is the file */
		canon(u->wants[i].member, name, sizeof(name));
		u->slots[i].member = strdup(name);
		if (u->slots[i].member == NULL)
			return dy_errf(err, "out of memory");
	}
	return 0;
}

/* Nothing half-written stays: close and remove what this call created. */
static void
discard(struct unpack *u)
{
	size_t i;

	for (i = 0; i < u->n && u->slots; i++) {
		if (u->slots[i].fd >= 0)
			close(u->slots[i].fd);
		if (u->slots[i].created)
			unlink(u->wants[i].out_path);
		u->wants[i].found = 0;
		u->wants[i].size = 0;
	}
}

static void
release(struct unpack *u)
{
	size_t i;

	for (i = 0; i < u->n && u->slots; i++)
		free(u->slots[i].member);
	for (i = 0; i < u->nents; i++) {
		free(u->ents[i].name);
		free(u->ents[i].link);
	}
	free(u->ents);
	free(u->slots);
	free(u->buf);
	if (u->fd >= 0)
		close(u->fd);
}

static int
run(struct unpack *u, enum dy_artifact_kind kind, struct dy_err *err)
{
	size_t pending;

	if (setup(u, kind, err) < 0)
		return -1;
	u->fd = open(u->artifact, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (u->fd < 0)
		return dy_errnof(err, "cannot open %s", u->artifact);
	if (kind == DY_KIND_FILE)
		return copy_file(u, err);
	u->pass = 1;
	if ((kind == DY_KIND_DEB ? scan_deb(u, err) : scan_tar(u, err)) < 0)
		return -1;
	if (resolve(u, &pending, err) < 0)
		return -1;
	if (pending == 0)
		return 0;
	/* Links to data elsewhere in the archive: read it once more. */
	if (lseek(u->fd, 0, SEEK_SET) < 0)
		return dy_errnof(err, "cannot rewind %s", u->artifact);
	u->pass = 2;
	if ((kind == DY_KIND_DEB ? scan_deb(u, err) : scan_tar(u, err)) < 0)
		return -1;
	return check_found(u, err);
}

int
dy_unpack(const char *artifact, enum dy_artifact_kind kind, struct dy_want *wants, size_t n,
	  uint64_t max_member_size, struct dy_err *err)
{
	struct unpack u;
	int rc;

	if (check_wants(artifact, kind, wants, n, err) < 0)
		return -1;
	memset(&u, 0, sizeof(u));
	u.artifact = artifact;
	u.wants = wants;
	u.n = n;
	u.max = max_member_size;
	u.fd = -1;
	snprintf(u.label, sizeof(u.label), "%s", artifact);
	rc = run(&u, kind, err);
	if (rc < 0)
		discard(&u);
	release(&u);
	return rc;
}
