/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder/elf.h: the builder reads PT_INTERP and DT_NEEDED from every file
 * it packs.  Those files come from downloaded archives, so a truncated or
 * hostile ELF file must be an error that names it, never a crash or a read
 * outside the file.  Fixtures are crafted here byte by byte; /bin/true is
 * the host's own dynamically linked binary.
 */
#include <elf.h>
#include <stdint.h>

#include "../../builder/elf.h"
#include "harness.h"
#include "testutil.h"

#define VBASE 0x400000ull
/* Layout of the crafted file. */
#define PH_OFF 64
#define NPH 3
#define INTERP_OFF (PH_OFF + NPH * 56)
#define INTERP "/lib64/ld-linux-x86-64.so.2"
#define DYN_OFF 264
#define NDYN 6
#define STR_OFF (DYN_OFF + NDYN * 16)
#define STRTAB "\0libc.so.6\0libfoo.so.1\0"
#define FIX_LEN (STR_OFF + sizeof(STRTAB) - 1)

static char tmpdir[4096];

struct fix {
	uint8_t b[1024];
	size_t len;
};

static void
put(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void
phdr(struct fix *f, int i, uint32_t type, uint64_t off, uint64_t vaddr, uint64_t size)
{
	uint8_t *p = f->b + PH_OFF + i * 56;

	put(p, type, 4);
	put(p + 8, off, 8);
	put(p + 16, vaddr, 8);
	put(p + 32, size, 8);
	put(p + 40, size, 8);
}

static void
dyn(struct fix *f, int i, uint64_t tag, uint64_t val)
{
	put(f->b + DYN_OFF + i * 16, tag, 8);
	put(f->b + DYN_OFF + i * 16 + 8, val, 8);
}

/* A dynamically linked x86_64 executable: interpreter, libc, libfoo. */
static void
make_dynamic(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->b, ELFMAG, SELFMAG);
	f->b[EI_CLASS] = ELFCLASS64;
	f->b[EI_DATA] = ELFDATA2LSB;
	f->b[EI_VERSION] = EV_CURRENT;
	put(f->b + 16, ET_EXEC, 2);
	put(f->b + 18, EM_X86_64, 2);
	put(f->b + 20, EV_CURRENT, 4);
	put(f->b + 32, PH_OFF, 8);
	put(f->b + 52, 64, 2);
	put(f->b + 54, 56, 2);
	put(f->b + 56, NPH, 2);
	phdr(f, 0, PT_LOAD, 0, VBASE, FIX_LEN);
	phdr(f, 1, PT_INTERP, INTERP_OFF, VBASE + INTERP_OFF, sizeof(INTERP));
	phdr(f, 2, PT_DYNAMIC, DYN_OFF, VBASE + DYN_OFF, NDYN * 16);
	memcpy(f->b + INTERP_OFF, INTERP, sizeof(INTERP));
	dyn(f, 0, DT_NEEDED, 1);
	dyn(f, 1, DT_NEEDED, 11);
	dyn(f, 2, DT_NEEDED, 1); /* a repeat is harmless */
	dyn(f, 3, DT_STRTAB, VBASE + STR_OFF);
	dyn(f, 4, DT_STRSZ, sizeof(STRTAB) - 1);
	dyn(f, 5, DT_NULL, 0);
	memcpy(f->b + STR_OFF, STRTAB, sizeof(STRTAB) - 1);
	f->len = FIX_LEN;
}

/* The same with the interpreter and dynamic headers turned into notes:
 * a static executable. */
static void
make_static(struct fix *f)
{
	make_dynamic(f);
	put(f->b + PH_OFF + 56, PT_NOTE, 4);
	put(f->b + PH_OFF + 112, PT_NOTE, 4);
}

/* Write data to a file in tmpdir and inspect it: the return code. */
static int
inspect_buf(const void *data, size_t len, struct dy_elf_needs *n, struct dy_err *err)
{
	char path[4200];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/fixture", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || dy_write_full(fd, data, len) < 0) {
		printf("#   cannot write %s\n", path);
		if (fd >= 0)
			close(fd);
		return -2;
	}
	rc = dy_elf_needs(fd, "bin/fixture", n, err);
	close(fd);
	return rc;
}

static int
inspect(const struct fix *f, struct dy_elf_needs *n, struct dy_err *err)
{
	return inspect_buf(f->b, f->len, n, err);
}

/* Inspection fails, names the file, says what, and leaves nothing. */
static void
refused(const struct fix *f, const char *what)
{
	struct dy_err err = { 0 };
	struct dy_elf_needs n;

	CHECK(inspect(f, &n, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "bin/fixture: ");
	CHECK_STR_CONTAINS(err.msg, what);
	CHECK(n.nlibs == 0);
}

static void
test_crafted_dynamic(void)
{
	struct dy_err err = { 0 };
	struct dy_elf_needs n;
	struct fix f;

	make_dynamic(&f);
	CHECK(inspect(&f, &n, &err) == 0);
	CHECK(n.is_elf == 1);
	CHECK(n.nlibs == 3);
	CHECK(strcmp(n.libs[0], INTERP) == 0);
	CHECK(strcmp(n.libs[1], "libc.so.6") == 0);
	CHECK(strcmp(n.libs[2], "libfoo.so.1") == 0);
	CHECK(n.arch != NULL && strcmp(n.arch, "x86_64") == 0);

	/* aarch64 too, and the machine is reported. */
	put(f.b + 18, EM_AARCH64, 2);
	CHECK(inspect(&f, &n, &err) == 0 && n.nlibs == 3);
	CHECK(n.arch != NULL && strcmp(n.arch, "aarch64") == 0);
}

static void
test_static_and_not_elf(void)
{
	static const char script[] = "#!/bin/sh\necho hello\n";
	struct dy_err err = { 0 };
	struct dy_elf_needs n;
	struct fix f;

	make_static(&f);
	CHECK(inspect(&f, &n, &err) == 0);
	CHECK(n.is_elf == 1 && n.nlibs == 0);

	/* static-pie: PT_DYNAMIC without DT_NEEDED needs nothing. */
	make_dynamic(&f);
	put(f.b + PH_OFF + 56, PT_NOTE, 4);
	dyn(&f, 0, DT_NULL, 0);
	CHECK(inspect(&f, &n, &err) == 0);
	CHECK(n.is_elf == 1 && n.nlibs == 0);

	/* No program headers at all (an object file). */
	make_dynamic(&f);
	put(f.b + 56, 0, 2);
	CHECK(inspect(&f, &n, &err) == 0 && n.is_elf == 1 && n.nlibs == 0);

	CHECK(inspect_buf(script, sizeof(script) - 1, &n, &err) == 0);
	CHECK(n.is_elf == 0 && n.nlibs == 0);
	CHECK(inspect_buf("", 0, &n, &err) == 0 && n.is_elf == 0);
	CHECK(inspect_buf("\177EL", 3, &n, &err) == 0 && n.is_elf == 0);
}

static void
test_host_binary(void)
{
	struct dy_err err = { 0 };
	struct dy_elf_needs n;
	size_t i;
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC), libc = 0;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(dy_elf_needs(fd, "/bin/true", &n, &err) == 0);
	close(fd);
	printf("#   /bin/true needs:");
	for (i = 0; i < n.nlibs; i++) {
		printf(" %s", n.libs[i]);
		libc |= strcmp(n.libs[i], "libc.so.6") == 0;
	}
	printf("\n");
	CHECK(n.is_elf == 1);
	CHECK(n.nlibs >= 2 && n.libs[0][0] == '/'); /* the interpreter comes first */
	CHECK(libc);
}

static void
test_truncated(void)
{
	struct dy_err err = { 0 };
	struct dy_elf_needs n;
	struct fix f;
	size_t len;

	make_dynamic(&f);
	/* Every cut from the full magic on is an error, never a short read. */
	for (len = SELFMAG; len < FIX_LEN; len++) {
		err.msg[0] = '\0';
		if (inspect_buf(f.b, len, &n, &err) != -1 ||
		    strncmp(err.msg, "bin/fixture: ", 13) != 0) {
			printf("#   cut at %zu: '%s'\n", len, err.msg);
			CHECK(0);
			break;
		}
	}
	CHECK(inspect_buf(f.b, 40, &n, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "truncated ELF file");
	CHECK(inspect_buf(f.b, INTERP_OFF + 4, &n, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "interpreter name");
	CHECK_STR_CONTAINS(err.msg, "outside");
}

static void
test_header_refused(void)
{
	struct fix f;

	make_dynamic(&f);
	f.b[EI_CLASS] = ELFCLASS32;
	refused(&f, "32-bit ELF");
	make_dynamic(&f);
	f.b[EI_CLASS] = 7;
	refused(&f, "ELF class 7");
	make_dynamic(&f);
	f.b[EI_DATA] = ELFDATA2MSB;
	refused(&f, "not little-endian");
	make_dynamic(&f);
	f.b[EI_VERSION] = 2;
	refused(&f, "ELF version 2");
	make_dynamic(&f);
	put(f.b + 18, EM_386, 2);
	refused(&f, "machine 3");
	make_dynamic(&f);
	put(f.b + 32, UINT64_MAX - 8, 8);
	refused(&f, "program headers");
	make_dynamic(&f);
	put(f.b + 54, 32, 2);
	refused(&f, "program header size 32");
	make_dynamic(&f);
	put(f.b + 56, 0xffff, 2);
	refused(&f, "65535 ELF program headers");
}

static void
test_segments_refused(void)
{
	struct fix f;

	make_dynamic(&f);
	phdr(&f, 0, PT_INTERP, INTERP_OFF, 0, sizeof(INTERP));
	refused(&f, "more than one ELF PT_INTERP");
	make_dynamic(&f);
	phdr(&f, 1, PT_DYNAMIC, DYN_OFF, 0, NDYN * 16);
	refused(&f, "more than one ELF PT_DYNAMIC");
	/* Interpreter: NUL-terminated, absolute, of sane size and inside. */
	make_dynamic(&f);
	phdr(&f, 1, PT_INTERP, INTERP_OFF, 0, sizeof(INTERP) - 1);
	f.b[INTERP_OFF + sizeof(INTERP) - 1] = 'x';
	refused(&f, "not NUL-terminated");
	make_dynamic(&f);
	f.b[INTERP_OFF] = 'l';
	refused(&f, "not an absolute path");
	make_dynamic(&f);
	phdr(&f, 1, PT_INTERP, INTERP_OFF, 0, 1u << 20);
	refused(&f, "interpreter name of 1048576 bytes");
	make_dynamic(&f);
	phdr(&f, 1, PT_INTERP, UINT64_MAX - 4, 0, sizeof(INTERP));
	refused(&f, "outside");
	make_dynamic(&f);
	memcpy(f.b + INTERP_OFF, "/lib/x y.so", 12);
	refused(&f, "neither a soname");
	/* Dynamic section. */
	make_dynamic(&f);
	phdr(&f, 2, PT_DYNAMIC, DYN_OFF, 0, NDYN * 16 - 3);
	refused(&f, "multiple of 16");
	make_dynamic(&f);
	phdr(&f, 2, PT_DYNAMIC, DYN_OFF, 0, 1ull << 40);
	refused(&f, "dynamic section");
	make_dynamic(&f);
	phdr(&f, 2, PT_DYNAMIC, FIX_LEN - 16, 0, NDYN * 16);
	refused(&f, "dynamic section");
}

static void
test_strtab_refused(void)
{
	struct fix f;

	make_dynamic(&f);
	dyn(&f, 3, DT_DEBUG, 0);
	refused(&f, "no DT_STRTAB");
	make_dynamic(&f);
	dyn(&f, 4, DT_DEBUG, 0);
	refused(&f, "no DT_STRTAB/DT_STRSZ");
	make_dynamic(&f);
	dyn(&f, 3, DT_STRTAB, 0x1000);
	refused(&f, "not inside any loaded segment");
	make_dynamic(&f);
	dyn(&f, 3, DT_STRTAB, UINT64_MAX - 2);
	refused(&f, "not inside any loaded segment");
	make_dynamic(&f);
	dyn(&f, 4, DT_STRSZ, 1ull << 30);
	refused(&f, "string table of 1073741824 bytes");
	make_dynamic(&f);
	dyn(&f, 4, DT_STRSZ, 0);
	refused(&f, "string table of 0 bytes");
	/* PT_LOAD claims more file than there is. */
	make_dynamic(&f);
	phdr(&f, 0, PT_LOAD, 0, VBASE, 1u << 20);
	dyn(&f, 3, DT_STRTAB, VBASE + 4096);
	refused(&f, "outside");
	/* A PT_LOAD whose offset wraps around when the address is mapped. */
	make_dynamic(&f);
	phdr(&f, 0, PT_LOAD, UINT64_MAX - 16, VBASE, FIX_LEN);
	refused(&f, "string table");
	/* Names: inside the table, terminated, sonames. */
	make_dynamic(&f);
	dyn(&f, 1, DT_NEEDED, 500);
	refused(&f, "string offset 500");
	make_dynamic(&f);
	f.b[FIX_LEN - 1] = 'x'; /* libfoo.so.1 loses its NUL */
	refused(&f, "runs past");
	make_dynamic(&f);
	f.b[STR_OFF + 4] = '/';
	refused(&f, "neither a soname");
	make_dynamic(&f);
	f.b[STR_OFF + 1] = '/';
	refused(&f, "is a path, not a soname");
	make_dynamic(&f);
	dyn(&f, 0, DT_NEEDED, 0); /* the empty name at offset 0 */
	refused(&f, "neither a soname");
}

/* Random corruption of every byte of the fixture: an answer or an error,
 * never a crash (ASan watches the reads). */
static void
test_random_corruption(void)
{
	struct dy_err err = { 0 };
	struct dy_elf_needs n;
	unsigned seed = 12345, ok = 0, bad = 0;
	struct fix f;
	int i, k;

	for (i = 0; i < 3000; i++) {
		make_dynamic(&f);
		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			f.b[(seed >> 8) % FIX_LEN] ^= (uint8_t)(1u << ((seed >> 4) % 8));
		}
		if (inspect(&f, &n, &err) == 0)
			ok += n.nlibs <= DY_META_MAX_NEED_LIBS;
		else
			bad += strncmp(err.msg, "bin/fixture: ", 13) == 0 ||
			       strstr(err.msg, "memory");
	}
	printf("#   %u accepted, %u refused\n", ok, bad);
	CHECK(ok + bad == 3000);
	CHECK(bad > 0);
}

int
main(void)
{
	if (tu_make_tmpdir(tmpdir, sizeof(tmpdir), "elf") < 0)
		return 1;
	RUN(test_crafted_dynamic);
	RUN(test_static_and_not_elf);
	RUN(test_host_binary);
	RUN(test_truncated);
	RUN(test_header_refused);
	RUN(test_segments_refused);
	RUN(test_strtab_refused);
	RUN(test_random_corruption);
	tu_remove_tree(tmpdir);
	return DONE();
}
