/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF inspection for the builder: which host libraries a staged file
 * needs.  Reads the program headers of a 64-bit little-endian x86_64 or
 * aarch64 ELF file with pread and bounds checks throughout: PT_INTERP is
 * the interpreter, and PT_DYNAMIC's DT_NEEDED entries, looked up in
 * DT_STRTAB (an address, mapped to a file offset through the PT_LOADs),
 * are the sonames.  A file that is not ELF, or a static binary, needs
 * nothing.  A malformed ELF file is an error naming the file and the
 * fault: the builder never packs what it cannot describe.
 */
#ifndef DY_ELF_H
#define DY_ELF_H

#include "../common/err.h"
#include "../verify/meta.h"

struct dy_elf_needs {
	int is_elf;	  /* 0: not an ELF file at all (scripts, data, images) */
	const char *arch; /* an ELF file's machine: "x86_64" or "aarch64" */
	size_t nlibs;
	/* The interpreter first (when there is one), then the DT_NEEDED
	 * sonames in file order, without duplicates. */
	char libs[DY_META_MAX_NEED_LIBS][DY_META_LIB_MAX + 1];
};

/* Inspect the file open on fd (name is for messages). */
int dy_elf_needs(int fd, const char *name, struct dy_elf_needs *out, struct dy_err *err);

#endif
