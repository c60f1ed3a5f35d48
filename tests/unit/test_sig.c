/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify/sig.c and the trailer's signature rules.  Keys are made here with
 * mbedtls and written as PEM into a private directory removed at the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>

#include "../../verify/sig.h"
#include "../../verify/trailer.h"
#include "harness.h"
#include "testutil.h"

static char dir[64];
static char p_key[128], p_pub[128], q_key[128], q_pub[128], rsa_key[128], rsa_pub[128],
	p384_key[128], garbage[128], missing[128], kat_key[128];
static char *created[16];
static int ncreated;
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

static void
name(char *out, const char *file)
{
	snprintf(out, 128, "%s/%s", dir, file);
}

static int
write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	created[ncreated++] = strdup(path);
	ok = fwrite(buf, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Write pk's private key to priv and, when pub is set, its public key. */
static int
write_pem(mbedtls_pk_context *pk, const char *priv, const char *pub)
{
	unsigned char buf[8192];
	int rc = -1;

	if (mbedtls_pk_write_key_pem(pk, buf, sizeof(buf)) == 0 &&
	    write_file(priv, buf, strlen((char *)buf)) == 0)
		rc = 0;
	mbedtls_platform_zeroize(buf, sizeof(buf));
	if (rc == 0 && pub != NULL)
		rc = mbedtls_pk_write_pubkey_pem(pk, buf, sizeof(buf)) == 0 &&
				     write_file(pub, buf, strlen((char *)buf)) == 0
			     ? 0
			     : -1;
	return rc;
}

static int
make_ec(mbedtls_ecp_group_id curve, const char *priv, const char *pub)
{
	mbedtls_pk_context pk;
	int rc;

	mbedtls_pk_init(&pk);
	rc = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0 &&
			     mbedtls_ecp_gen_key(curve, mbedtls_pk_ec(pk), mbedtls_ctr_drbg_random,
						 &drbg) == 0
		     ? write_pem(&pk, priv, pub)
		     : -1;
	mbedtls_pk_free(&pk);
	return rc;
}

static int
make_rsa(const char *priv, const char *pub)
{
	mbedtls_pk_context pk;
	int rc;

	mbedtls_pk_init(&pk);
	rc = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) == 0 &&
			     mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), mbedtls_ctr_drbg_random, &drbg,
						 1024, 65537) == 0
		     ? write_pem(&pk, priv, pub)
		     : -1;
	mbedtls_pk_free(&pk);
	return rc;
}

/* The P-256 key of RFC 6979 A.2.5, so signatures can be checked against
 * the RFC's own values. */
static const char kat_d[] = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";
static const char kat_r[] = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
static const char kat_s[] = "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";

static int
make_kat(const char *priv)
{
	mbedtls_pk_context pk;
	mbedtls_ecp_keypair *ec;
	int rc = -1;

	mbedtls_pk_init(&pk);
	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
		goto out;
	ec = mbedtls_pk_ec(pk);
	if (mbedtls_ecp_group_load(&ec->grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
	    mbedtls_mpi_read_string(&ec->d, 16, kat_d) != 0 ||
	    mbedtls_ecp_mul(&ec->grp, &ec->Q, &ec->d, &ec->grp.G, mbedtls_ctr_drbg_random, &drbg) !=
		    0)
		goto out;
	rc = write_pem(&pk, priv, NULL);
out:
	mbedtls_pk_free(&pk);
	return rc;
}

static int
setup(void)
{
	static const char junk[] = "-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n"
				   "-----END EC PRIVATE KEY-----\n";
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/dy-test-sig.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	name(p_key, "p.key");
	name(p_pub, "p.pub");
	name(q_key, "q.key");
	name(q_pub, "q.pub");
	name(rsa_key, "rsa.key");
	name(rsa_pub, "rsa.pub");
	name(p384_key, "p384.key");
	name(garbage, "garbage.pem");
	name(missing, "missing.pem");
	name(kat_key, "kat.key");
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0)
		return -1;
	return make_ec(MBEDTLS_ECP_DP_SECP256R1, p_key, p_pub) |
	       make_ec(MBEDTLS_ECP_DP_SECP256R1, q_key, q_pub) | make_rsa(rsa_key, rsa_pub) |
	       make_ec(MBEDTLS_ECP_DP_SECP384R1, p384_key, NULL) | make_kat(kat_key) |
	       write_file(garbage, junk, sizeof(junk) - 1);
}

static void
teardown(void)
{
	int i;

	for (i = 0; i < ncreated; i++) {
		unlink(created[i]);
		free(created[i]);
	}
	rmdir(dir);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
}

static void
digest_of(const char *s, uint8_t out[DY_SHA256_LEN])
{
	dy_sha256_buf(s, strlen(s), out);
}

static void
test_der_roundtrip(void)
{
	struct dy_err err = { 0 };
	uint8_t d[DY_SHA256_LEN], sig[DY_SIG_DER_MAX], again[DY_SIG_DER_MAX];
	size_t len = 0, len2 = 0;

	digest_of("installer bytes", d);
	CHECK(dy_sig_sign(p_key, d, sig, sizeof(sig), &len, &err) == 0);
	CHECK(len >= 8 && len <= DY_SIG_DER_MAX && sig[0] == 0x30);
	CHECK(dy_sig_verify(p_pub, d, sig, len, &err) == 0);
	/* RFC 6979: the same key and digest give the same bytes. */
	CHECK(dy_sig_sign(p_key, d, again, sizeof(again), &len2, &err) == 0);
	CHECK(len == len2 && memcmp(sig, again, len) == 0);
}

static void
test_raw_roundtrip(void)
{
	struct dy_err err = { 0 };
	struct dy_sig_key *k = NULL, *pub = NULL, *derived = NULL;
	uint8_t d[DY_SHA256_LEN], sig[DY_SIG_RAW_LEN];
	size_t len = 0;

	digest_of("trailer prefix", d);
	CHECK(dy_sig_key_load(p_key, 1, &k, &err) == 0);
	CHECK(dy_sig_key_load(p_pub, 0, &pub, &err) == 0);
	if (k == NULL || pub == NULL)
		goto out;
	CHECK(dy_sig_key_sign(k, d, DY_SIG_RAW, sig, sizeof(sig), &len, &err) == 0);
	CHECK(len == DY_SIG_RAW_LEN);
	CHECK(dy_sig_key_verify(pub, d, DY_SIG_RAW, sig, len, &err) == 0);
	/* The public half derived in memory verifies like the file does. */
	CHECK(dy_sig_key_public(k, &derived, &err) == 0);
	if (derived == NULL)
		goto out;
	CHECK_STR_CONTAINS(dy_sig_key_name(derived), "the public half of");
	CHECK(dy_sig_key_verify(derived, d, DY_SIG_RAW, sig, len, &err) == 0);
	/* ... and cannot sign. */
	CHECK(dy_sig_key_sign(derived, d, DY_SIG_RAW, sig, sizeof(sig), &len, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "it is a public key");
	/* A raw signature read as DER, or cut short, does not verify. */
	CHECK(dy_sig_key_sign(k, d, DY_SIG_RAW, sig, sizeof(sig), &len, &err) == 0);
	CHECK(dy_sig_key_verify(pub, d, DY_SIG_DER, sig, len, &err) == -1);
	CHECK(dy_sig_key_verify(pub, d, DY_SIG_RAW, sig, len - 1, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "signature does not verify with");
	/* Too little room is an error, not an overflow. */
	CHECK(dy_sig_key_sign(k, d, DY_SIG_RAW, sig, DY_SIG_RAW_LEN - 1, &len, &err) == -1);
out:
	dy_sig_key_free(k);
	dy_sig_key_free(pub);
	dy_sig_key_free(derived);
}

/* RFC 6979 A.2.5, P-256 with SHA-256, message "sample". */
static void
test_rfc6979_vector(void)
{
	struct dy_err err = { 0 };
	struct dy_sig_key *k = NULL;
	uint8_t d[DY_SHA256_LEN], sig[DY_SIG_RAW_LEN];
	char hex[2 * DY_SIG_RAW_LEN + 1];
	size_t len = 0;

	digest_of("sample", d);
	CHECK(dy_sig_key_load(kat_key, 1, &k, &err) == 0);
	if (k == NULL)
		return;
	CHECK(dy_sig_key_sign(k, d, DY_SIG_RAW, sig, sizeof(sig), &len, &err) == 0);
	dy_hex_encode(sig, DY_SIG_RAW_LEN, hex);
	CHECK(strncmp(hex, kat_r, 64) == 0);
	CHECK(strcmp(hex + 64, kat_s) == 0);
	dy_sig_key_free(k);
}

static void
test_wrong_key_and_changed_data(void)
{
	struct dy_err err = { 0 };
	uint8_t d[DY_SHA256_LEN], sig[DY_SIG_DER_MAX];
	size_t len = 0;

	digest_of("installer bytes", d);
	CHECK(dy_sig_sign(p_key, d, sig, sizeof(sig), &len, &err) == 0);
	CHECK(dy_sig_verify(q_pub, d, sig, len, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "signature does not verify with");
	CHECK_STR_CONTAINS(err.msg, q_pub);

	d[31] ^= 1;
	CHECK(dy_sig_verify(p_pub, d, sig, len, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "signature does not verify with");
	d[31] ^= 1;

	sig[len - 1] ^= 0x40;
	CHECK(dy_sig_verify(p_pub, d, sig, len, &err) == -1);
	sig[len - 1] ^= 0x40;
	CHECK(dy_sig_verify(p_pub, d, sig, len - 1, &err) == -1);
	CHECK(dy_sig_verify(p_pub, d, sig, len, &err) == 0);
}

static void
refused(const char *path, int want_private, const char *needle)
{
	struct dy_err err = { 0 };
	struct dy_sig_key *k = NULL;

	CHECK(dy_sig_key_load(path, want_private, &k, &err) == -1);
	CHECK(k == NULL);
	CHECK_STR_CONTAINS(err.msg, path);
	CHECK_STR_CONTAINS(err.msg, needle);
}

static void
test_keys_refused(void)
{
	struct dy_err err = { 0 };
	uint8_t d[DY_SHA256_LEN] = { 0 }, sig[DY_SIG_DER_MAX];
	size_t len = 0;

	refused(rsa_key, 1,
		"not an EC key but RSA; dockyard signatures need an EC P-256 (prime256v1) key");
	refused(rsa_pub, 0, "EC P-256 (prime256v1)");
	refused(p384_key, 1, "curve secp384r1");
	refused(garbage, 1, "cannot parse an EC P-256 (prime256v1) private key");
	refused(garbage, 0, "cannot parse an EC P-256 (prime256v1) public key");
	refused(missing, 0, "cannot read key");
	refused(dir, 1, "not a regular file");
	refused(p_key, 0, "is a private key; give its public half");
	refused(p_pub, 1, "is a public key; signing needs the private key");
	/* The one-shot calls refuse the same way and write nothing. */
	CHECK(dy_sig_sign(rsa_key, d, sig, sizeof(sig), &len, &err) == -1 && len == 0);
	CHECK_STR_CONTAINS(err.msg, rsa_key);
	CHECK(dy_sig_verify(p384_key, d, sig, sizeof(sig), &err) == -1);
}

static int
decodes(const struct dy_trailer *t, const char *needle)
{
	struct dy_err err = { 0 };
	uint8_t raw[DY_TRAILER_SIZE];
	struct dy_trailer out;
	int rc;

	dy_trailer_encode(t, raw);
	rc = dy_trailer_decode(raw, t->file_len, &out, &err);
	if (rc == 0)
		return memcmp(out.sig, t->sig, sizeof(t->sig)) == 0 && out.sig_len == t->sig_len &&
		       out.flags == t->flags;
	if (needle == NULL || strstr(err.msg, needle) == NULL)
		printf("#   refused: %s\n", err.msg);
	return 0;
}

static void
test_trailer_signature_rules(void)
{
	struct dy_trailer t;

	tu_valid_trailer(&t);
	CHECK(decodes(&t, NULL)); /* unsigned, as before */

	t.flags = DY_TRAILER_SIGNED;
	t.sig_len = DY_SIG_RAW_LEN;
	memset(t.sig, 0xa5, DY_SIG_RAW_LEN);
	CHECK(decodes(&t, NULL));
	t.sig_len = DY_TRAILER_SIG_MIN;
	memset(t.sig + DY_TRAILER_SIG_MIN, 0, DY_TRAILER_SIG_ROOM - DY_TRAILER_SIG_MIN);
	CHECK(decodes(&t, NULL));
	t.sig_len = DY_TRAILER_SIG_ROOM;
	memset(t.sig, 0xa5, DY_TRAILER_SIG_ROOM);
	CHECK(decodes(&t, NULL));

	/* Signed, but the length is out of range. */
	tu_valid_trailer(&t);
	t.flags = DY_TRAILER_SIGNED;
	CHECK(!decodes(&t, "signature length 0 is outside 8..104"));
	t.sig_len = DY_TRAILER_SIG_MIN - 1;
	CHECK(!decodes(&t, "signature length 7"));
	t.sig_len = DY_TRAILER_SIG_ROOM + 1;
	CHECK(!decodes(&t, "signature length 105"));
	/* Signed, with a stray byte after the signature. */
	t.sig_len = DY_SIG_RAW_LEN;
	t.sig[DY_SIG_RAW_LEN] = 1;
	CHECK(!decodes(&t, "bytes after the 64-byte signature"));
	t.sig[DY_SIG_RAW_LEN] = 0;
	t.sig[DY_TRAILER_SIG_ROOM - 1] = 1;
	CHECK(!decodes(&t, "bytes after the 64-byte signature"));

	/* Unsigned, but the area or the length is not empty. */
	tu_valid_trailer(&t);
	t.sig[0] = 1;
	CHECK(!decodes(&t, "signed flag is not set"));
	tu_valid_trailer(&t);
	t.sig_len = DY_SIG_RAW_LEN;
	CHECK(!decodes(&t, "signed flag is not set"));

	/* Any other flag bit, with or without the signed one. */
	tu_valid_trailer(&t);
	t.flags = 0x2;
	CHECK(!decodes(&t, "unknown flags 0x2"));
	t.flags = DY_TRAILER_SIGNED | 0x80000000u;
	t.sig_len = DY_SIG_RAW_LEN;
	CHECK(!decodes(&t, "unknown flags 0x80000000"));
}

/* dy_sig_check_image on an image struct filled by hand. */
static void
test_check_image(void)
{
	struct dy_err err = { 0 };
	struct dy_sig_key *k = NULL, *pub = NULL;
	struct dy_image img;
	size_t len = 0;

	memset(&img, 0, sizeof(img));
	snprintf(img.path, sizeof(img.path), "inst");
	tu_valid_trailer(&img.trailer);
	digest_of("every byte before the signature area", img.signed_digest);
	CHECK(dy_sig_key_load(p_key, 1, &k, &err) == 0);
	CHECK(dy_sig_key_load(p_pub, 0, &pub, &err) == 0);
	if (k == NULL || pub == NULL)
		goto out;

	img.digest_ok = 1;
	CHECK(dy_sig_check_image(&img, pub, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "inst: installer is not signed");

	img.trailer.flags = DY_TRAILER_SIGNED;
	CHECK(dy_sig_key_sign(k, img.signed_digest, DY_SIG_RAW, img.trailer.sig,
			      sizeof(img.trailer.sig), &len, &err) == 0);
	img.trailer.sig_len = (uint16_t)len;
	CHECK(dy_sig_check_image(&img, pub, &err) == 0);

	/* No verdict before the digest pass vouched for signed_digest. */
	img.digest_ok = 0;
	CHECK(dy_sig_check_image(&img, pub, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "before the file's digest");
	img.digest_ok = 1;

	img.signed_digest[0] ^= 1;
	CHECK(dy_sig_check_image(&img, pub, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "inst: signature does not verify with");
	CHECK_STR_CONTAINS(err.msg, p_pub);
out:
	dy_sig_key_free(k);
	dy_sig_key_free(pub);
}

int
main(void)
{
	if (setup() != 0) {
		printf("not ok 1 - setup: cannot make test keys in %s\n", dir);
		teardown();
		return 1;
	}
	RUN(test_der_roundtrip);
	RUN(test_raw_roundtrip);
	RUN(test_rfc6979_vector);
	RUN(test_wrong_key_and_changed_data);
	RUN(test_keys_refused);
	RUN(test_trailer_signature_rules);
	RUN(test_check_image);
	teardown();
	return DONE();
}
