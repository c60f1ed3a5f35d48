#include "sbom.h"

#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/version.h"
#include "../common/xio.h"

struct digest {
	char hex[DY_SHA256_HEX];
	unsigned long long size;
};

static int
digest_file(const char *path, struct digest *d, struct dy_err *err)
{
	uint8_t sum[DY_SHA256_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return dy_errnof(err, "cannot open %s", path);
	rc = dy_sha256_fd(fd, sum, &d->size, err);
	close(fd);
	if (rc < 0)
		return dy_err_wrap(err, "%s", path);
	dy_hex_encode(sum, DY_SHA256_LEN, d->hex);
	return 0;
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void
iso_time(uint64_t epoch, char out[32])
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
write_json(const char *path, json_t *doc, struct dy_err *err)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	size_t len;
	int rc;

	if (text == NULL)
		return dy_errf(err, "cannot serialize %s", path);
	len = strlen(text);
	rc = dy_write_file_atomic(path, text, len, 0644, err);
	free(text);
	return rc;
}

/* s percent-encoded as a purl segment: all but [A-Za-z0-9._~-]. */
static void
purl_encode(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 4 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("._~-", ch) != NULL)
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, size - n, "%%%02X", ch);
	}
	out[n] = '\0';
}

/* pkg:deb/debian/NAME@VERSION?arch=arm64 for a Debian package (Debian's
 * architecture names), pkg:generic/NAME@VERSION?arch=aarch64 for another
 * artifact; local files (scripts) are the same on every machine. */
static void
component_purl(const struct dy_sbom_component *c, const char *arch, char *out, size_t size)
{
	char name[256], version[256];
	int deb = c->kind && strcmp(c->kind, "deb") == 0;

	purl_encode(c->name, name, sizeof(name));
	purl_encode(c->version, version, sizeof(version));
	if (c->kind == NULL || c->kind[0] == '\0')
		snprintf(out, size, "pkg:generic/%s@%s", name, version);
	else if (deb)
		snprintf(out, size, "pkg:deb/debian/%s@%s?arch=%s", name, version,
			 strcmp(arch, "aarch64") == 0 ? "arm64" : "amd64");
	else
		snprintf(out, size, "pkg:generic/%s@%s?arch=%s", name, version, arch);
}

static json_t *
spdx_package(const struct dy_sbom_component *c, const char *arch)
{
	char purl[640];
	char hex[DY_SHA256_HEX], id[96];
	json_t *p;

	snprintf(id, sizeof(id), "SPDXRef-Package-%s-%s", c->name, c->version);
	for (char *s = id; *s; s++)
		if (*s == '_' || *s == '~' || *s == '+')
			*s = '.';
	p = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "name", c->name, "SPDXID", id,
		      "versionInfo", c->version, "downloadLocation",
		      c->source && strncmp(c->source, "path:", 5) != 0 ? c->source : "NOASSERTION",
		      "filesAnalyzed", 0, "licenseConcluded", "NOASSERTION", "copyrightText",
		      "NOASSERTION");
	if (p && c->has_sha256) {
		dy_hex_encode(c->sha256, DY_SHA256_LEN, hex);
		json_object_set_new(
			p, "checksums",
			json_pack("[{s:s, s:s}]", "algorithm", "SHA256", "checksumValue", hex));
	}
	component_purl(c, arch, purl, sizeof(purl));
	if (p)
		json_object_set_new(p, "externalRefs",
				    json_pack("[{s:s, s:s, s:s}]", "referenceCategory",
					      "PACKAGE-MANAGER", "referenceType", "purl",
					      "referenceLocator", purl));
	return p;
}

static int
write_spdx(const struct dy_sbom_info *in, const struct digest *inst, const char *path,
	   struct dy_err *err)
{
	json_t *doc, *pkgs, *rels, *top;
	char when[32], ns[160], tool[64];
	size_t i;
	int rc;

	iso_time(in->epoch, when);
	snprintf(ns, sizeof(ns), "urn:dockyard:installer:sha256:%s", inst->hex);
	snprintf(tool, sizeof(tool), "Tool: dockyard-build-%s", DY_VERSION);
	top = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:[{s:s, s:s}]}", "name",
			base_name(in->installer_path), "SPDXID", "SPDXRef-Package-installer",
			"downloadLocation", "NOASSERTION", "filesAnalyzed", 0, "licenseConcluded",
			"NOASSERTION", "copyrightText", "NOASSERTION", "checksums", "algorithm",
			"SHA256", "checksumValue", inst->hex);
	pkgs = json_array();
	rels = json_array();
	json_array_append_new(pkgs, top);
	json_array_append_new(rels, json_pack("{s:s, s:s, s:s}", "spdxElementId",
					      "SPDXRef-DOCUMENT", "relationshipType", "DESCRIBES",
					      "relatedSpdxElement", "SPDXRef-Package-installer"));
	for (i = 0; i < in->ncomponents; i++) {
		json_t *p = spdx_package(&in->components[i], in->arch);
		json_array_append(pkgs, p);
		json_array_append_new(
			rels, json_pack("{s:s, s:s, s:O}", "spdxElementId",
					"SPDXRef-Package-installer", "relationshipType", "CONTAINS",
					"relatedSpdxElement", json_object_get(p, "SPDXID")));
		json_decref(p);
	}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}, s:o, s:o}", "spdxVersion",
			"SPDX-2.3", "dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT", "name",
			base_name(in->installer_path), "documentNamespace", ns, "creationInfo",
			"created", when, "creators", tool, "packages", pkgs, "relationships", rels);
	if (doc == NULL)
		return dy_errf(err, "cannot build the SBOM document");
	rc = write_json(path, doc, err);
	json_decref(doc);
	return rc;
}

static int
write_buildinfo(const struct dy_sbom_info *in, const struct digest *inst, const char *path,
		struct dy_err *err)
{
	struct digest man, lock;
	json_t *doc, *comps;
	size_t i;
	int rc;

	if (digest_file(in->manifest_path, &man, err) < 0)
		return -1;
	if (in->lock_path && digest_file(in->lock_path, &lock, err) < 0)
		return -1;
	comps = json_array();
	for (i = 0; i < in->ncomponents; i++) {
		const struct dy_sbom_component *c = &in->components[i];
		char hex[DY_SHA256_HEX] = "";
		if (c->has_sha256)
			dy_hex_encode(c->sha256, DY_SHA256_LEN, hex);
		json_array_append_new(comps, json_pack("{s:s, s:s, s:s?, s:s?}", "name", c->name,
						       "version", c->version, "source", c->source,
						       "sha256", c->has_sha256 ? hex : NULL));
	}
	doc = json_pack("{s:s, s:I, s:s, s:{s:i, s:i}, s:{s:s, s:s}, s:{s:s, s:I}, s:o}", "builder",
			"dockyard-build " DY_VERSION, "source_date_epoch", (json_int_t)in->epoch,
			"arch", in->arch, "zstd", "level", in->level, "window_log", in->window_log,
			"manifest", "path", in->manifest_path, "sha256", man.hex, "installer",
			"sha256", inst->hex, "size", (json_int_t)inst->size, "components", comps);
	if (doc && in->lock_path)
		json_object_set_new(
			doc, "lock",
			json_pack("{s:s, s:s}", "path", in->lock_path, "sha256", lock.hex));
	if (doc == NULL)
		return dy_errf(err, "cannot build the build-info document");
	rc = write_json(path, doc, err);
	json_decref(doc);
	return rc;
}

/* SHA256SUMS lists each output by its name beside it (sha256sum -c). */
static int
write_sums(const char *dir, const char *const *files, size_t n, struct dy_err *err)
{
	char path[4096], *text = NULL;
	struct digest d;
	size_t i, len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc = 0;

	if (f == NULL)
		return dy_errf(err, "out of memory");
	for (i = 0; i < n && rc == 0; i++) {
		rc = digest_file(files[i], &d, err);
		if (rc == 0)
			fprintf(f, "%s  %s\n", d.hex, base_name(files[i]));
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
	if (rc == 0)
		rc = dy_write_file_atomic(path, text, len, 0644, err);
	free(text);
	return rc;
}

int
dy_write_dist_files(const struct dy_sbom_info *in, struct dy_err *err)
{
	char spdx[4096], info[4096], *copy;
	const char *files[4];
	struct digest inst;
	size_t n = 0;
	int rc;

	if (digest_file(in->installer_path, &inst, err) < 0)
		return -1;
	snprintf(spdx, sizeof(spdx), "%s.spdx.json", in->installer_path);
	snprintf(info, sizeof(info), "%s.buildinfo.json", in->installer_path);
	if (write_spdx(in, &inst, spdx, err) < 0 || write_buildinfo(in, &inst, info, err) < 0)
		return -1;
	files[n++] = in->installer_path;
	if (in->sig_path)
		files[n++] = in->sig_path;
	files[n++] = spdx;
	files[n++] = info;
	copy = strdup(in->installer_path);
	if (copy == NULL)
		return dy_errf(err, "out of memory");
	rc = write_sums(dirname(copy), files, n, err);
	free(copy);
	return rc;
}
