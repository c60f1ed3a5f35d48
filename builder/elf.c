/* SPDX-License-Identifier: Apache-2.0 */
#include "elf.h"

#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/xio.h"

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define DYN_SIZE 16
#define MAX_PHNUM 4096	       /* real binaries have about a dozen */
#define MAX_DYNAMIC (1u << 20) /* bytes of PT_DYNAMIC */
#define MAX_STRTAB (16u << 20) /* bytes of DT_STRTAB */
#define MAX_INTERP 4096

struct elf {
	int fd;
	const char *name;
	uint64_t size; /* of the file */
	unsigned machine;
	size_t phnum;
	uint8_t *ph; /* phnum program headers, as read */
};

struct dyn_info {
	uint64_t strtab, strsz;
	int has_strtab, has_strsz;
	size_t nneeded;
	uint64_t *needed; /* string table offsets */
};

/* Little-endian fields, whatever the host's byte order and alignment. */
static uint64_t
le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

/* len bytes at off, which must lie inside the file. */
static int
read_at(const struct elf *e, void *buf, uint64_t len, uint64_t off, const char *what,
	struct dy_err *err)
{
	if (off > e->size || len > e->size - off)
		return dy_errf(err,
			       "%s: ELF %s (%llu bytes at offset %llu) lies outside the "
			       "%llu-byte file",
			       e->name, what, (unsigned long long)len, (unsigned long long)off,
			       (unsigned long long)e->size);
	if (len > 0 && dy_pread_full(e->fd, buf, (size_t)len, (off_t)off) < 0)
		return dy_errnof(err, "%s: cannot read the ELF %s", e->name, what);
	return 0;
}

/* 1 a supported ELF file, 0 not ELF at all, -1 an ELF file we refuse. */
static int
check_ident(const struct elf *e, const uint8_t *h, struct dy_err *err)
{
	unsigned machine = (unsigned)le(h + 18, 2);

	if (h[EI_CLASS] == ELFCLASS32)
		return dy_errf(err,
			       "%s: 32-bit ELF file: only 64-bit x86_64 and aarch64 binaries "
			       "can be described",
			       e->name);
	if (h[EI_CLASS] != ELFCLASS64)
		return dy_errf(err, "%s: ELF class %u is neither 32- nor 64-bit", e->name,
			       h[EI_CLASS]);
	if (h[EI_DATA] != ELFDATA2LSB)
		return dy_errf(err, "%s: ELF file is not little-endian (EI_DATA %u)", e->name,
			       h[EI_DATA]);
	if (h[EI_VERSION] != EV_CURRENT)
		return dy_errf(err, "%s: ELF version %u is not %u", e->name, h[EI_VERSION],
			       EV_CURRENT);
	if (machine != EM_X86_64 && machine != EM_AARCH64)
		return dy_errf(err, "%s: ELF machine %u is neither x86_64 (%u) nor aarch64 (%u)",
			       e->name, machine, EM_X86_64, EM_AARCH64);
	return 1;
}

static int
read_header(struct elf *e, struct dy_err *err)
{
	uint8_t h[EHDR_SIZE];
	uint64_t phoff;
	unsigned phentsize;

	if (e->size < SELFMAG)
		return 0;
	if (read_at(e, h, SELFMAG, 0, "magic", err) < 0)
		return -1;
	if (memcmp(h, ELFMAG, SELFMAG) != 0)
		return 0;
	if (e->size < EHDR_SIZE)
		return dy_errf(err, "%s: truncated ELF file (%llu bytes, the header needs %d)",
			       e->name, (unsigned long long)e->size, EHDR_SIZE);
	if (read_at(e, h, EHDR_SIZE, 0, "header", err) < 0 || check_ident(e, h, err) < 0)
		return -1;
	e->machine = (unsigned)le(h + 18, 2);
	phoff = le(h + 32, 8);
	phentsize = (unsigned)le(h + 54, 2);
	e->phnum = (size_t)le(h + 56, 2);
	if (e->phnum == 0)
		return 1; /* no program headers: nothing is loaded, nothing needed */
	if (e->phnum == PN_XNUM || e->phnum > MAX_PHNUM)
		return dy_errf(err, "%s: %zu ELF program headers (at most %d supported)", e->name,
			       e->phnum, MAX_PHNUM);
	if (phentsize != PHDR_SIZE)
		return dy_errf(err, "%s: ELF program header size %u is not %d", e->name, phentsize,
			       PHDR_SIZE);
	e->ph = malloc(e->phnum * PHDR_SIZE);
	if (e->ph == NULL)
		return dy_errf(err, "out of memory");
	if (read_at(e, e->ph, (uint64_t)e->phnum * PHDR_SIZE, phoff, "program headers", err) < 0)
		return -1;
	return 1;
}

static uint32_t
ph_type(const struct elf *e, size_t i)
{
	return (uint32_t)le(e->ph + i * PHDR_SIZE, 4);
}

/* Program header field at byte offset field (8 bytes wide). */
static uint64_t
ph_u64(const struct elf *e, size_t i, size_t field)
{
	return le(e->ph + i * PHDR_SIZE + field, 8);
}

#define P_OFFSET 8
#define P_VADDR 16
#define P_FILESZ 32

/* The index of the one header of type, or -1 if none; two is an error. */
static int
find_unique(const struct elf *e, uint32_t type, const char *what, long *idx, struct dy_err *err)
{
	size_t i;

	*idx = -1;
	for (i = 0; i < e->phnum; i++) {
		if (ph_type(e, i) != type)
			continue;
		if (*idx >= 0)
			return dy_errf(err, "%s: more than one ELF %s program header", e->name,
				       what);
		*idx = (long)i;
	}
	return 0;
}

static int
add_lib(const struct elf *e, struct dy_elf_needs *out, const char *lib, struct dy_err *err)
{
	size_t i;

	if (dy_meta_lib_valid(lib, err) < 0)
		return dy_err_wrap(err, "%s", e->name);
	for (i = 0; i < out->nlibs; i++)
		if (strcmp(out->libs[i], lib) == 0)
			return 0; /* a repeated DT_NEEDED changes nothing */
	if (out->nlibs == DY_META_MAX_NEED_LIBS)
		return dy_errf(err, "%s: needs more than %d libraries", e->name,
			       DY_META_MAX_NEED_LIBS);
	snprintf(out->libs[out->nlibs++], sizeof(out->libs[0]), "%s", lib);
	return 0;
}

static int
read_interp(const struct elf *e, size_t i, struct dy_elf_needs *out, struct dy_err *err)
{
	char buf[MAX_INTERP + 1];
	uint64_t len = ph_u64(e, i, P_FILESZ);

	if (len < 2 || len > MAX_INTERP)
		return dy_errf(err, "%s: ELF interpreter name of %llu bytes (want 2..%d)", e->name,
			       (unsigned long long)len, MAX_INTERP);
	if (read_at(e, buf, len, ph_u64(e, i, P_OFFSET), "interpreter name", err) < 0)
		return -1;
	buf[len] = '\0';
	if (memchr(buf, '\0', (size_t)len) == NULL)
		return dy_errf(err, "%s: ELF interpreter name is not NUL-terminated", e->name);
	if (buf[0] != '/')
		return dy_errf(err, "%s: ELF interpreter '%.64s' is not an absolute path", e->name,
			       buf);
	return add_lib(e, out, buf, err);
}

static int
note_needed(const struct elf *e, struct dyn_info *d, uint64_t val, struct dy_err *err)
{
	uint64_t *p;

	if (d->nneeded == DY_META_MAX_NEED_LIBS)
		return dy_errf(err, "%s: more than %d DT_NEEDED entries", e->name,
			       DY_META_MAX_NEED_LIBS);
	p = realloc(d->needed, (d->nneeded + 1) * sizeof(*p));
	if (p == NULL)
		return dy_errf(err, "out of memory");
	d->needed = p;
	d->needed[d->nneeded++] = val;
	return 0;
}

/* Walk PT_DYNAMIC up to DT_NULL, collecting what the lookup needs. */
static int
scan_dynamic(const struct elf *e, size_t i, struct dyn_info *d, struct dy_err *err)
{
	uint64_t len = ph_u64(e, i, P_FILESZ), k;
	uint8_t *buf;
	int rc = 0;

	if (len > MAX_DYNAMIC || len % DYN_SIZE != 0)
		return dy_errf(err,
			       "%s: ELF dynamic section of %llu bytes (want a multiple of %d "
			       "up to %u)",
			       e->name, (unsigned long long)len, DYN_SIZE, MAX_DYNAMIC);
	buf = malloc(len ? (size_t)len : 1);
	if (buf == NULL)
		return dy_errf(err, "out of memory");
	if (read_at(e, buf, len, ph_u64(e, i, P_OFFSET), "dynamic section", err) < 0) {
		free(buf);
		return -1;
	}
	for (k = 0; rc == 0 && k < len; k += DYN_SIZE) {
		uint64_t tag = le(buf + k, 8), val = le(buf + k + 8, 8);
		if (tag == DT_NULL)
			break;
		if (tag == DT_NEEDED)
			rc = note_needed(e, d, val, err);
		else if (tag == DT_STRTAB)
			d->strtab = val, d->has_strtab = 1;
		else if (tag == DT_STRSZ)
			d->strsz = val, d->has_strsz = 1;
	}
	free(buf);
	return rc;
}

/* The file offset of [addr, addr+len): it must lie in one PT_LOAD's
 * file-backed part. */
static int
vaddr_to_offset(const struct elf *e, uint64_t addr, uint64_t len, uint64_t *off, struct dy_err *err)
{
	size_t i;

	for (i = 0; i < e->phnum; i++) {
		uint64_t va = ph_u64(e, i, P_VADDR), fsz = ph_u64(e, i, P_FILESZ);
		if (ph_type(e, i) != PT_LOAD || addr < va || addr - va > fsz ||
		    len > fsz - (addr - va))
			continue;
		*off = ph_u64(e, i, P_OFFSET) + (addr - va);
		if (*off < ph_u64(e, i, P_OFFSET))
			break; /* wrapped */
		return 0;
	}
	return dy_errf(err,
		       "%s: ELF string table at address 0x%llx (%llu bytes) is not inside "
		       "any loaded segment",
		       e->name, (unsigned long long)addr, (unsigned long long)len);
}

static int
read_strtab(const struct elf *e, const struct dyn_info *d, char **tab, struct dy_err *err)
{
	uint64_t off = 0;

	if (!d->has_strtab || !d->has_strsz)
		return dy_errf(err, "%s: ELF file has DT_NEEDED but no DT_STRTAB/DT_STRSZ",
			       e->name);
	if (d->strsz == 0 || d->strsz > MAX_STRTAB)
		return dy_errf(err, "%s: ELF string table of %llu bytes (want 1..%u)", e->name,
			       (unsigned long long)d->strsz, MAX_STRTAB);
	if (vaddr_to_offset(e, d->strtab, d->strsz, &off, err) < 0)
		return -1;
	*tab = malloc((size_t)d->strsz);
	if (*tab == NULL)
		return dy_errf(err, "out of memory");
	if (read_at(e, *tab, d->strsz, off, "string table", err) < 0) {
		free(*tab);
		*tab = NULL;
		return -1;
	}
	return 0;
}

static int
add_needed(const struct elf *e, const struct dyn_info *d, struct dy_elf_needs *out,
	   struct dy_err *err)
{
	char *tab = NULL;
	size_t k;
	int rc = 0;

	if (d->nneeded == 0)
		return 0;
	if (read_strtab(e, d, &tab, err) < 0)
		return -1;
	for (k = 0; rc == 0 && k < d->nneeded; k++) {
		uint64_t at = d->needed[k];
		if (at >= d->strsz || memchr(tab + at, '\0', (size_t)(d->strsz - at)) == NULL)
			rc = dy_errf(err,
				     "%s: DT_NEEDED name at string offset %llu runs past the "
				     "%llu-byte string table",
				     e->name, (unsigned long long)at, (unsigned long long)d->strsz);
		else if (tab[at] == '/')
			rc = dy_errf(err, "%s: DT_NEEDED '%.64s' is a path, not a soname", e->name,
				     tab + at);
		else
			rc = add_lib(e, out, tab + at, err);
	}
	free(tab);
	return rc;
}

static int
read_needs(const struct elf *e, struct dy_elf_needs *out, struct dy_err *err)
{
	struct dyn_info d;
	long interp, dyn;
	int rc;

	if (find_unique(e, PT_INTERP, "PT_INTERP", &interp, err) < 0 ||
	    find_unique(e, PT_DYNAMIC, "PT_DYNAMIC", &dyn, err) < 0)
		return -1;
	if (interp >= 0 && read_interp(e, (size_t)interp, out, err) < 0)
		return -1;
	if (dyn < 0)
		return 0;
	memset(&d, 0, sizeof(d));
	rc = scan_dynamic(e, (size_t)dyn, &d, err);
	if (rc == 0)
		rc = add_needed(e, &d, out, err);
	free(d.needed);
	return rc;
}

int
dy_elf_needs(int fd, const char *name, struct dy_elf_needs *out, struct dy_err *err)
{
	struct elf e;
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&e, 0, sizeof(e));
	e.fd = fd;
	e.name = name;
	if (fstat(fd, &st) < 0)
		return dy_errnof(err, "%s: cannot stat", name);
	if (!S_ISREG(st.st_mode))
		return dy_errf(err, "%s: not a regular file", name);
	e.size = (uint64_t)st.st_size;
	rc = read_header(&e, err);
	if (rc == 1) {
		out->is_elf = 1;
		out->arch = e.machine == EM_AARCH64 ? "aarch64" : "x86_64";
		rc = read_needs(&e, out, err);
	}
	free(e.ph);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc < 0 ? -1 : 0;
}
