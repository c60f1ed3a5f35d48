/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dy-forge: test-only tool that assembles an installer image from parts the
 * test made itself (a hostile tar, hand-written metadata), with a trailer
 * whose digest is valid.  It lets tests prove that the member checks, not
 * just the digest, refuse bad payloads.  Never shipped.
 *
 *   dy-forge STUB PAYLOAD.zst META TAR_LEN OUT [WINDOW_LOG]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/xio.h"
#include "../../verify/sha256.h"
#include "../../verify/trailer.h"

static struct dy_sha256 hash;
static uint64_t written;

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "dy-forge: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void
emit(int out, const void *buf, size_t len)
{
	if (dy_write_full(out, buf, len) < 0)
		die("cannot write", "output");
	dy_sha256_update(&hash, buf, len);
	written += len;
}

static void
copy(int out, const char *path)
{
	char buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("cannot open", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		emit(out, buf, (size_t)n);
	if (n < 0)
		die("cannot read", path);
	close(fd);
}

int
main(int argc, char **argv)
{
	uint8_t raw[DY_TRAILER_SIZE];
	struct dy_trailer t;
	int out;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: dy-forge STUB PAYLOAD META TAR_LEN OUT [WINDOW_LOG]\n");
		return 2;
	}
	memset(&t, 0, sizeof(t));
	out = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0)
		die("cannot create", argv[5]);
	dy_sha256_init(&hash);
	copy(out, argv[1]);
	t.payload_off = written;
	copy(out, argv[2]);
	t.meta_off = written;
	t.payload_len = t.meta_off - t.payload_off;
	copy(out, argv[3]);
	t.meta_len = written - t.meta_off;
	t.file_len = written + DY_TRAILER_SIZE;
	t.tar_len = strtoull(argv[4], NULL, 10);
	t.version = DY_TRAILER_VERSION_TAR;
	t.window_log = (uint8_t)(argc == 7 ? atoi(argv[6]) : 25);
	dy_trailer_encode(&t, raw);
	dy_sha256_update(&hash, raw, DY_TRAILER_DIGEST_OFF);
	dy_sha256_final(&hash, t.digest);
	dy_trailer_encode(&t, raw);
	if (dy_write_full(out, raw, sizeof(raw)) < 0 || close(out) < 0)
		die("cannot write", argv[5]);
	return 0;
}
