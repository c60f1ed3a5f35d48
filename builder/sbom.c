/* SPDX-License-Identifier: Apache-2.0 */
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

/* ---- purls (github.com/package-url/purl-spec) ---- */

/* Percent-encode everything but the unreserved characters. */
static void
pct(FILE *f, const char *s)
{
	for (; *s; s++)
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_' || *s == '~')
			fputc(*s, f);
		else
			fprintf(f, "%%%02X", (unsigned char)*s);
}

static const char *
deb_arch(const char *arch)
{
	return strcmp(arch, "aarch64") == 0  ? "arm64"
	       : strcmp(arch, "x86_64") == 0 ? "amd64"
					     : arch;
}

/* https://github.com/OWNER/REPO/releases/download/TAG/FILE -> the three parts. */
static int
github_release(const char *url, char *owner, char *repo, char *tag, size_t size)
{
	const char *p = url + strlen("https://github.com/");
	int n = 0;

	if (strncmp(url, "https://github.com/", 19) != 0 || strlen(p) >= size)
		return 0;
	if (sscanf(p, "%127[^/]/%127[^/]/releases/download/%127[^/]/%n", owner, repo, tag, &n) !=
		    3 ||
	    n == 0 || p[n] == '\0')
		return 0;
	return 1;
}

/* The purl of a payload component: a Debian package by its own name, a
 * GitHub release, or a generic package (with where it was downloaded). */
static char *
component_purl(const struct dy_sbom_component *c, const char *arch)
{
	const char *src = c->source ? c->source : "", *base = strrchr(src, '/');
	char owner[128], repo[128], tag[128], *out = NULL;
	size_t len = 0, namelen;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		return NULL;
	base = base ? base + 1 : src;
	namelen = strcspn(base, "_");
	if (c->kind && strcmp(c->kind, "deb") == 0) {
		fputs("pkg:deb/debian/", f);
		if (base[namelen] == '_') /* NAME_VERSION_ARCH.deb */
			fprintf(f, "%.*s", (int)namelen, base);
		else
			pct(f, c->name);
		fputc('@', f);
		pct(f, c->version);
		fprintf(f, "?arch=%s", deb_arch(arch));
	} else if (github_release(src, owner, repo, tag, sizeof(owner))) {
		fputs("pkg:github/", f);
		pct(f, owner);
		fputc('/', f);
		pct(f, repo);
		fputc('@', f);
		pct(f, tag);
		fprintf(f, "?arch=%s", arch);
	} else {
		/* Local files (kind "", the scripts) are the same on every machine. */
		int per_arch = c->kind && c->kind[0] != '\0';
		fputs("pkg:generic/", f);
		pct(f, c->name);
		fputc('@', f);
		pct(f, c->version);
		if (per_arch)
			fprintf(f, "?arch=%s", arch);
		if (c->source && strncmp(src, "path:", 5) != 0) {
			fputs(per_arch ? "&download_url=" : "?download_url=", f);
			pct(f, src);
		}
	}
	fclose(f);
	return out;
}

/* ---- packages ---- */

static void
spdx_id(char *id, size_t size, const char *kind, const char *name, const char *version)
{
	snprintf(id, size, "SPDXRef-Package-%s%s-%s", kind, name, version);
	for (char *s = id + 8; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			*s = '.';
}

/* One package: the fields every scanner reads. */
static json_t *
package(const char *id, const char *name, const char *version, const char *location,
	const char *license, const char *purl, const char *sha_hex)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "name",
			      name, "SPDXID", id, "downloadLocation", location, "filesAnalyzed", 0,
			      "licenseConcluded", "NOASSERTION", "licenseDeclared",
			      license && *license ? license : "NOASSERTION", "copyrightText",
			      "NOASSERTION", "externalRefs", "referenceCategory", "PACKAGE-MANAGER",
			      "referenceType", "purl", "referenceLocator", purl);

	if (p && version)
		json_object_set_new(p, "versionInfo", json_string(version));
	if (p && sha_hex)
		json_object_set_new(
			p, "checksums",
			json_pack("[{s:s, s:s}]", "algorithm", "SHA256", "checksumValue", sha_hex));
	return p;
}

static json_t *
spdx_package(const struct dy_sbom_component *c, const char *arch, struct dy_err *err)
{
	char hex[DY_SHA256_HEX], id[160], *purl;
	struct digest d;
	json_t *p;

	spdx_id(id, sizeof(id), "", c->name, c->version);
	if (c->has_sha256)
		dy_hex_encode(c->sha256, DY_SHA256_LEN, hex);
	else if (c->content_path && digest_file(c->content_path, &d, err) == 0)
		memcpy(hex, d.hex, sizeof(hex));
	else if (c->content_path)
		return NULL;
	if ((purl = component_purl(c, arch)) == NULL) {
		dy_errf(err, "out of memory");
		return NULL;
	}
	p = package(id, c->name, c->version,
		    c->source && strncmp(c->source, "path:", 5) != 0 ? c->source : "NOASSERTION",
		    c->license, purl, c->has_sha256 || c->content_path ? hex : NULL);
	free(purl);
	if (p == NULL)
		dy_errf(err, "cannot build the SBOM entry of %s", c->name);
	return p;
}

/* ---- the stub and the libraries linked into it ---- */

/* Where a Debian archive serves POOL-FILENAME (security updates live in
 * pool/updates/); without one, where the main archive would keep it. */
static char *
deb_location(const char *file, const char *pkg, const char *version, const char *arch,
	     const char *source)
{
	const char *colon = strchr(version, ':'); /* the epoch is not in file names */
	char *out = NULL;
	int n;

	if (strcmp(file, "-") != 0)
		n = asprintf(&out, "%s/%s",
			     strncmp(file, "pool/updates/", 13) == 0
				     ? "https://security.debian.org/debian-security"
				     : "https://deb.debian.org/debian",
			     file);
	else
		n = asprintf(&out, "https://deb.debian.org/debian/pool/main/%.*s/%s/%s_%s_%s.deb",
			     strncmp(source, "lib", 3) == 0 ? 4 : 1, source, source, pkg,
			     colon ? colon + 1 : version, arch);
	return n < 0 ? NULL : out;
}

/* One line of STUB.deps: PACKAGE VERSION ARCH SOURCE SHA256 FILE LICENSE. */
static json_t *
lib_package(const char *line, char *id, size_t idsize)
{
	char pkg[128], ver[128], arch[32], src[128], sha[72], file[512], *purl = NULL, *url;
	json_t *p;
	FILE *f;
	size_t len = 0;
	int off = 0;

	if (sscanf(line, "%127s %127s %31s %127s %71s %511s %n", pkg, ver, arch, src, sha, file,
		   &off) != 6 ||
	    off == 0 || line[off] == '\0')
		return NULL;
	f = open_memstream(&purl, &len);
	if (f == NULL)
		return NULL;
	fprintf(f, "pkg:deb/debian/%s@", pkg);
	pct(f, ver);
	fprintf(f, "?arch=%s", arch);
	if (strcmp(src, pkg) != 0)
		fprintf(f, "&upstream=%s", src);
	fclose(f);
	url = deb_location(file, pkg, ver, arch, src);
	spdx_id(id, idsize, "deb-", pkg, ver);
	p = url ? package(id, pkg, ver, url, line + off, purl, strlen(sha) == 64 ? sha : NULL)
		: NULL;
	free(url);
	free(purl);
	return p;
}

static int
add_relation(json_t *rels, const char *from, const char *type, const char *to)
{
	return json_array_append_new(rels,
				     json_pack("{s:s, s:s, s:s}", "spdxElementId", from,
					       "relationshipType", type, "relatedSpdxElement", to));
}

/* The stub, and each package of STUB.deps linked into it. */
static int
add_stub(const struct dy_sbom_info *in, json_t *pkgs, json_t *rels, struct dy_err *err)
{
	const char *id = "SPDXRef-Package-installer-stub";
	char deps[4096], libid[160], purl[96], *text = NULL, *line, *save = NULL;
	struct digest d;
	size_t len;
	json_t *p;

	if (digest_file(in->stub_path, &d, err) < 0)
		return -1;
	snprintf(purl, sizeof(purl), "pkg:generic/dockyard-installer-stub@%s?arch=%s", DY_VERSION,
		 in->arch);
	p = package(id, "dockyard-installer-stub", DY_VERSION, "NOASSERTION", "Apache-2.0", purl,
		    d.hex);
	if (p == NULL || json_array_append_new(pkgs, p) < 0 ||
	    add_relation(rels, "SPDXRef-Package-installer", "CONTAINS", id) < 0)
		return dy_errf(err, "cannot build the SBOM entry of the stub");
	snprintf(deps, sizeof(deps), "%s.deps", in->stub_path);
	if (access(deps, F_OK) != 0)
		return 0; /* a stub built without dpkg: no recorded libraries */
	if (dy_read_small_file(deps, 1u << 20, &text, &len, NULL, err) < 0)
		return dy_err_wrap(err, "stub dependencies");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if ((p = lib_package(line, libid, sizeof(libid))) == NULL) {
			dy_errf(err,
				"%s: '%.80s' is not 'PACKAGE VERSION ARCH SOURCE SHA256 FILE "
				"LICENSE' "
				"(tools/stub-deps.sh writes it)",
				deps, line);
			free(text);
			return -1;
		}
		json_array_append_new(pkgs, p);
		add_relation(rels, id, "STATIC_LINK", libid);
	}
	free(text);
	return 0;
}

static int
write_spdx(const struct dy_sbom_info *in, const struct digest *inst, const char *path,
	   struct dy_err *err)
{
	json_t *doc, *pkgs, *rels, *top;
	char when[32], ns[160], tool[64], purl[96];
	size_t i;
	int rc;

	iso_time(in->epoch, when);
	snprintf(ns, sizeof(ns), "urn:dockyard:installer:sha256:%s", inst->hex);
	snprintf(tool, sizeof(tool), "Tool: dockyard-build-%s", DY_VERSION);
	snprintf(purl, sizeof(purl), "pkg:generic/dockyard-installer@%s?arch=%s", DY_VERSION,
		 in->arch);
	top = package("SPDXRef-Package-installer", base_name(in->installer_path), NULL,
		      "NOASSERTION", NULL, purl, inst->hex);
	pkgs = json_array();
	rels = json_array();
	json_array_append_new(pkgs, top);
	add_relation(rels, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Package-installer");
	for (i = 0; i < in->ncomponents; i++) {
		json_t *p = spdx_package(&in->components[i], in->arch, err);
		if (p == NULL) {
			json_decref(pkgs);
			json_decref(rels);
			return -1;
		}
		json_array_append(pkgs, p);
		json_array_append_new(
			rels, json_pack("{s:s, s:s, s:O}", "spdxElementId",
					"SPDXRef-Package-installer", "relationshipType", "CONTAINS",
					"relatedSpdxElement", json_object_get(p, "SPDXID")));
		json_decref(p);
	}
	if (in->stub_path && add_stub(in, pkgs, rels, err) < 0) {
		json_decref(pkgs);
		json_decref(rels);
		return -1;
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
