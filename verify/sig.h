/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ECDSA P-256 / SHA-256 signatures (mbedtls underneath); see
 * docs/payload-format.md for what an installer's signature covers.
 *
 * Signing is deterministic (RFC 6979): one key and one digest always give
 * the same signature, so signed builds stay byte-for-byte reproducible.
 * Two encodings of the same (r, s):
 *   raw  r || s, 32 bytes each, big-endian: fixed length, so the trailer's
 *        sig_len is known before the trailer bytes it covers are hashed;
 *   DER  SEQUENCE { INTEGER r, INTEGER s }: what detached .sig files hold
 *        and `openssl dgst -verify` reads.
 * Every message names the key file; none ever shows key material.
 */
#ifndef DY_SIG_H
#define DY_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "image.h"
#include "sha256.h"

#define DY_SIG_RAW_LEN 64
#define DY_SIG_DER_MAX 72 /* two INTEGERs of at most 33 bytes, 6 bytes of framing */

enum dy_sig_form { DY_SIG_RAW, DY_SIG_DER };

struct dy_sig_key; /* an EC P-256 key: private (and public), or public only */

/*
 * Load a PEM or DER key file: the private key when want_private is set,
 * else a public key.  Anything but EC P-256 is refused, as is the other
 * kind of key than the one asked for.
 */
int dy_sig_key_load(const char *path, int want_private, struct dy_sig_key **out,
		    struct dy_err *err);
/* The public half of k, loaded the way a verifier loads a public key. */
int dy_sig_key_public(struct dy_sig_key *k, struct dy_sig_key **out, struct dy_err *err);
/* Wipes the key material.  NULL is fine. */
void dy_sig_key_free(struct dy_sig_key *k);
const char *dy_sig_key_name(const struct dy_sig_key *k);

int dy_sig_key_sign(const struct dy_sig_key *k, const uint8_t digest[DY_SHA256_LEN],
		    enum dy_sig_form form, uint8_t *sig, size_t cap, size_t *len,
		    struct dy_err *err);
int dy_sig_key_verify(const struct dy_sig_key *k, const uint8_t digest[DY_SHA256_LEN],
		      enum dy_sig_form form, const uint8_t *sig, size_t len, struct dy_err *err);

/* One-shot by file name, DER form (a detached .sig). */
int dy_sig_sign(const char *key_pem, const uint8_t digest[DY_SHA256_LEN], uint8_t *sig, size_t cap,
		size_t *len, struct dy_err *err);
int dy_sig_verify(const char *pub_pem, const uint8_t digest[DY_SHA256_LEN], const uint8_t *sig,
		  size_t len, struct dy_err *err);

/*
 * An image's embedded signature against pub.  Needs a digest pass over
 * img that matched (img->digest_ok): only then does the signed digest
 * describe the file.
 */
int dy_sig_check_image(const struct dy_image *img, const struct dy_sig_key *pub,
		       struct dy_err *err);

#endif
