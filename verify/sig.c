/* SPDX-License-Identifier: Apache-2.0 */
#include "sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "trailer.h"

/* Without RFC 6979 every signed build would differ: refuse to build. */
#if !defined(MBEDTLS_ECDSA_DETERMINISTIC)
#error "mbedtls without MBEDTLS_ECDSA_DETERMINISTIC: signed builds would not be reproducible"
#endif

#define P256_BYTES 32

_Static_assert(DY_SIG_RAW_LEN == 2 * P256_BYTES, "raw form is r || s");
_Static_assert(DY_SIG_RAW_LEN >= DY_TRAILER_SIG_MIN && DY_SIG_RAW_LEN <= DY_TRAILER_SIG_ROOM,
	       "the raw form must fit the trailer's signature area");

struct dy_sig_key {
	mbedtls_pk_context pk;
	int has_private;
	char name[4096]; /* a path, or "the public half of PATH" */
};

/* "what NAME: mbedtls's reason"; the reason never holds key bytes. */
static int
mbed_errf(struct dy_err *err, int ret, const char *what, const char *name)
{
	char why[160];

	mbedtls_strerror(ret, why, sizeof(why));
	return dy_errf(err, "%s %s: %s", what, name, why);
}

void
dy_sig_key_free(struct dy_sig_key *k)
{
	if (k == NULL)
		return;
	mbedtls_pk_free(&k->pk); /* frees and zeroes the private scalar */
	mbedtls_platform_zeroize(k, sizeof(*k));
	free(k);
}

const char *
dy_sig_key_name(const struct dy_sig_key *k)
{
	return k->name;
}

static int
check_p256(struct dy_sig_key *k, struct dy_err *err)
{
	mbedtls_pk_type_t type = mbedtls_pk_get_type(&k->pk);
	const mbedtls_ecp_curve_info *curve;
	mbedtls_ecp_group_id id;

	if (type != MBEDTLS_PK_ECKEY && type != MBEDTLS_PK_ECDSA)
		return dy_errf(err,
			       "key %s is not an EC key but %s; dockyard signatures need an EC "
			       "P-256 (prime256v1) key",
			       k->name, mbedtls_pk_get_name(&k->pk));
	id = mbedtls_pk_ec(k->pk)->grp.id;
	if (id == MBEDTLS_ECP_DP_SECP256R1)
		return 0;
	curve = mbedtls_ecp_curve_info_from_grp_id(id);
	return dy_errf(err,
		       "key %s is an EC key on curve %s; dockyard signatures need an EC "
		       "P-256 (prime256v1) key",
		       k->name, curve ? curve->name : "(unknown)");
}

/* The key file held the other kind of key than the one asked for? */
static int
wrong_kind(const char *path, int want_private)
{
	mbedtls_pk_context pk;
	int ret;

	mbedtls_pk_init(&pk);
	if (want_private)
		ret = mbedtls_pk_parse_public_keyfile(&pk, path);
	else
		ret = mbedtls_pk_parse_keyfile(&pk, path, NULL);
	mbedtls_pk_free(&pk);
	return ret == 0;
}

static int
parse_file(struct dy_sig_key *k, const char *path, int want_private, struct dy_err *err)
{
	struct stat st;
	int ret;

	if (stat(path, &st) < 0)
		return dy_errnof(err, "cannot read key %s", path);
	if (!S_ISREG(st.st_mode))
		return dy_errf(err, "key %s is not a regular file", path);
	if (want_private)
		ret = mbedtls_pk_parse_keyfile(&k->pk, path, NULL);
	else
		ret = mbedtls_pk_parse_public_keyfile(&k->pk, path);
	if (ret == 0)
		return 0;
	if (ret == MBEDTLS_ERR_PK_FILE_IO_ERROR)
		return dy_errnof(err, "cannot read key %s", path);
	if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
		return dy_errf(err,
			       "key %s is encrypted; give an unencrypted key (there is no "
			       "passphrase prompt)",
			       path);
	if (wrong_kind(path, want_private))
		return dy_errf(err, "key %s is a %s key; %s", path,
			       want_private ? "public" : "private",
			       want_private ? "signing needs the private key"
					    : "give its public half (openssl ec -pubout)");
	return mbed_errf(err, ret,
			 want_private
				 ? "cannot parse an EC P-256 (prime256v1) private key, PEM or "
				   "DER, from key"
				 : "cannot parse an EC P-256 (prime256v1) public key, PEM or DER, "
				   "from key",
			 path);
}

int
dy_sig_key_load(const char *path, int want_private, struct dy_sig_key **out, struct dy_err *err)
{
	struct dy_sig_key *k;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return dy_errf(err, "out of memory");
	mbedtls_pk_init(&k->pk);
	k->has_private = want_private;
	if (snprintf(k->name, sizeof(k->name), "%s", path) >= (int)sizeof(k->name)) {
		dy_sig_key_free(k);
		return dy_errf(err, "key path %.64s... is too long", path);
	}
	if (parse_file(k, path, want_private, err) < 0 || check_p256(k, err) < 0) {
		dy_sig_key_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

int
dy_sig_key_public(struct dy_sig_key *k, struct dy_sig_key **out, struct dy_err *err)
{
	unsigned char der[256]; /* SubjectPublicKeyInfo of P-256: 91 bytes */
	struct dy_sig_key *pub;
	int len, ret;

	*out = NULL;
	len = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof(der));
	if (len < 0)
		return mbed_errf(err, len, "cannot derive the public half of key", k->name);
	pub = calloc(1, sizeof(*pub));
	if (pub == NULL)
		return dy_errf(err, "out of memory");
	mbedtls_pk_init(&pub->pk);
	pub->has_private = 0;
	if (snprintf(pub->name, sizeof(pub->name), "the public half of %s", k->name) >=
	    (int)sizeof(pub->name)) {
		dy_sig_key_free(pub);
		return dy_errf(err, "key path %.64s... is too long", k->name);
	}
	/* mbedtls writes DER at the end of the buffer. */
	ret = mbedtls_pk_parse_public_key(&pub->pk, der + sizeof(der) - len, (size_t)len);
	if (ret != 0) {
		dy_sig_key_free(pub);
		return mbed_errf(err, ret, "cannot derive the public half of key", k->name);
	}
	*out = pub;
	return 0;
}

/* RFC 6979 picks the nonce from key and digest; the DRBG only blinds the
 * arithmetic against side channels and does not change the result. */
static int
sign_rs(const struct dy_sig_key *k, const uint8_t digest[DY_SHA256_LEN], mbedtls_mpi *r,
	mbedtls_mpi *s, struct dy_err *err)
{
	static const unsigned char pers[] = "dockyard-sign";
	mbedtls_ecp_keypair *ec = mbedtls_pk_ec(k->pk);
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int ret;

	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, pers, sizeof(pers) - 1);
	if (ret == 0)
		ret = mbedtls_ecdsa_sign_det_ext(&ec->grp, r, s, &ec->d, digest, DY_SHA256_LEN,
						 MBEDTLS_MD_SHA256, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	if (ret != 0)
		return mbed_errf(err, ret, "cannot sign with key", k->name);
	return 0;
}

static int
encode_der(const mbedtls_mpi *r, const mbedtls_mpi *s, uint8_t *sig, size_t cap, size_t *len)
{
	unsigned char buf[DY_SIG_DER_MAX];
	unsigned char *p = buf + sizeof(buf);
	size_t n = 0;
	int ret;

	/* asn1write fills the buffer backwards: s, r, then the header. */
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_mpi(&p, buf, s));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_mpi(&p, buf, r));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(&p, buf, n));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(
					&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	if (n > cap)
		return MBEDTLS_ERR_ASN1_BUF_TOO_SMALL;
	memcpy(sig, p, n);
	*len = n;
	return 0;
}

static int
encode(const mbedtls_mpi *r, const mbedtls_mpi *s, enum dy_sig_form form, uint8_t *sig, size_t cap,
       size_t *len)
{
	int ret;

	if (form == DY_SIG_DER)
		return encode_der(r, s, sig, cap, len);
	if (cap < DY_SIG_RAW_LEN)
		return MBEDTLS_ERR_ASN1_BUF_TOO_SMALL;
	if ((ret = mbedtls_mpi_write_binary(r, sig, P256_BYTES)) != 0 ||
	    (ret = mbedtls_mpi_write_binary(s, sig + P256_BYTES, P256_BYTES)) != 0)
		return ret;
	*len = DY_SIG_RAW_LEN;
	return 0;
}

int
dy_sig_key_sign(const struct dy_sig_key *k, const uint8_t digest[DY_SHA256_LEN],
		enum dy_sig_form form, uint8_t *sig, size_t cap, size_t *len, struct dy_err *err)
{
	mbedtls_mpi r, s;
	int ret;

	*len = 0;
	if (!k->has_private)
		return dy_errf(err, "cannot sign with key %s: it is a public key", k->name);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ret = sign_rs(k, digest, &r, &s, err);
	if (ret == 0 && (ret = encode(&r, &s, form, sig, cap, len)) != 0)
		mbed_errf(err, ret, "cannot encode the signature made with key", k->name);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret == 0 ? 0 : -1;
}

static int
verify_raw(mbedtls_ecp_keypair *ec, const uint8_t digest[DY_SHA256_LEN], const uint8_t *sig)
{
	mbedtls_mpi r, s;
	int ret;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ret = mbedtls_mpi_read_binary(&r, sig, P256_BYTES);
	if (ret == 0)
		ret = mbedtls_mpi_read_binary(&s, sig + P256_BYTES, P256_BYTES);
	if (ret == 0)
		ret = mbedtls_ecdsa_verify(&ec->grp, digest, DY_SHA256_LEN, &ec->Q, &r, &s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

int
dy_sig_key_verify(const struct dy_sig_key *k, const uint8_t digest[DY_SHA256_LEN],
		  enum dy_sig_form form, const uint8_t *sig, size_t len, struct dy_err *err)
{
	mbedtls_ecp_keypair *ec = mbedtls_pk_ec(k->pk);
	int ret;

	if (form == DY_SIG_RAW && len != DY_SIG_RAW_LEN)
		return dy_errf(err,
			       "signature does not verify with %s: it is %zu bytes, an ECDSA "
			       "P-256 signature (r || s) is %d",
			       k->name, len, DY_SIG_RAW_LEN);
	if (form == DY_SIG_RAW)
		ret = verify_raw(ec, digest, sig);
	else
		ret = mbedtls_ecdsa_read_signature(ec, digest, DY_SHA256_LEN, sig, len);
	if (ret == 0)
		return 0;
	if (ret == MBEDTLS_ERR_ECP_VERIFY_FAILED)
		return dy_errf(err, "signature does not verify with %s", k->name);
	return mbed_errf(err, ret, "signature does not verify with", k->name);
}

int
dy_sig_sign(const char *key_pem, const uint8_t digest[DY_SHA256_LEN], uint8_t *sig, size_t cap,
	    size_t *len, struct dy_err *err)
{
	struct dy_sig_key *k;
	int rc;

	*len = 0;
	if (dy_sig_key_load(key_pem, 1, &k, err) < 0)
		return -1;
	rc = dy_sig_key_sign(k, digest, DY_SIG_DER, sig, cap, len, err);
	dy_sig_key_free(k);
	return rc;
}

int
dy_sig_verify(const char *pub_pem, const uint8_t digest[DY_SHA256_LEN], const uint8_t *sig,
	      size_t len, struct dy_err *err)
{
	struct dy_sig_key *k;
	int rc;

	if (dy_sig_key_load(pub_pem, 0, &k, err) < 0)
		return -1;
	rc = dy_sig_key_verify(k, digest, DY_SIG_DER, sig, len, err);
	dy_sig_key_free(k);
	return rc;
}

int
dy_sig_check_image(const struct dy_image *img, const struct dy_sig_key *pub, struct dy_err *err)
{
	const struct dy_trailer *t = &img->trailer;

	if (!img->digest_ok)
		return dy_errf(err, "%s: signature checked before the file's digest", img->path);
	if (!(t->flags & DY_TRAILER_SIGNED))
		return dy_errf(err, "%s: installer is not signed", img->path);
	if (dy_sig_key_verify(pub, img->signed_digest, DY_SIG_RAW, t->sig, t->sig_len, err) < 0)
		return dy_err_wrap(err, "%s", img->path);
	return 0;
}
