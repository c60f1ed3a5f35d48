/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder/manifest.h: the manifest is hand-written and reviewed in diffs,
 * so parsing is strict and every refusal must point at NAME:LINE.
 */
#include "../../builder/manifest.h"
#include "harness.h"

#define NAME "t.manifest"
#define ART_URL "https://example.org/a.tgz"

static const char good_text[] = "# demo manifest\n"				   /* 1 */
				"\n"						   /* 2 */
				"[component demo]\n"				   /* 3 */
				"version = 0.1.0\n"				   /* 4 */
				"file demo/hello.sh -> bin/dockyard-demo 0755\n"   /* 5 */
				"\n"						   /* 6 */
				"   # indented comment\n"			   /* 7 */
				"  [component extra]  \n"			   /* 8 */
				"version=2.0~rc1\n"				   /* 9 */
				"file\textra/a.txt  ->  share/extra/a.txt   644\n" /* 10 */
				"\tfile extra/b -> share/extra/b 0600\t\n";	   /* 11 */

static int
parse(const char *text, struct dy_manifest *m, struct dy_err *err)
{
	return dy_manifest_parse(NAME, "/src/dir", text, strlen(text), m, err);
}

/* Parse text that must be accepted; prints the refusal otherwise. */
static int
parse_ok(const char *text, struct dy_manifest *m)
{
	struct dy_err err = { 0 };
	int rc = parse(text, m, &err);

	if (rc != 0)
		printf("#   unexpected refusal: %s\n", err.msg);
	return rc;
}

static int
line_is(const struct dy_mline *l, enum dy_mline_kind kind, const char *src, const char *dest,
	unsigned mode, size_t line)
{
	if (l->kind != kind || strcmp(l->dest, dest) != 0 || l->mode != mode || l->line != line)
		return 0;
	if (src == NULL)
		return l->src == NULL;
	return l->src != NULL && strcmp(l->src, src) == 0;
}

static int
no_artifact(const struct dy_mcomponent *c)
{
	int i;

	for (i = 0; i <= DY_NARCH; i++)
		if (c->url[i] != NULL || c->path[i] != NULL)
			return 0;
	return c->artifact_line == 0;
}

static int
str_is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

static const struct dy_mcomponent *
find(const struct dy_manifest *m, const char *name, const char *version)
{
	size_t i;

	for (i = 0; i < m->ncomponents; i++)
		if (strcmp(m->components[i].name, name) == 0 &&
		    strcmp(m->components[i].version, version) == 0)
			return &m->components[i];
	printf("#   component %s %s not found\n", name, version);
	return NULL;
}

/* Parsing fails, leaves m empty, and the message holds both needles. */
static void
parse_fails(const char *text, const char *where, const char *what)
{
	struct dy_err err = { 0 };
	struct dy_manifest m;

	CHECK(parse(text, &m, &err) == -1);
	CHECK(m.components == NULL && m.ncomponents == 0 && m.path == NULL && m.dir == NULL);
	CHECK_STR_CONTAINS(err.msg, where);
	if (what)
		CHECK_STR_CONTAINS(err.msg, what);
	dy_manifest_free(&m);
}

static void
test_valid_manifest(void)
{
	const struct dy_mcomponent *c;
	struct dy_manifest m;

	CHECK(parse_ok(good_text, &m) == 0);
	CHECK(m.ncomponents == 2);
	if (m.ncomponents != 2) {
		dy_manifest_free(&m);
		return;
	}
	CHECK(strcmp(m.path, NAME) == 0 && strcmp(m.dir, "/src/dir") == 0);

	c = &m.components[0];
	CHECK(strcmp(c->name, "demo") == 0 && strcmp(c->version, "0.1.0") == 0);
	CHECK(c->line == 3 && c->nlines == 1);
	if (c->nlines == 1)
		CHECK(line_is(&c->lines[0], DY_LINE_FILE, "demo/hello.sh", "bin/dockyard-demo",
			      0755, 5));
	/* Nothing else was set. */
	CHECK(no_artifact(c));
	CHECK(c->kind[0] == '\0' && c->role[0] == '\0' && c->sysbox_run_dir[0] == '\0');
	CHECK(c->optional == 0 && c->is_default == 1);

	c = &m.components[1];
	CHECK(strcmp(c->name, "extra") == 0 && strcmp(c->version, "2.0~rc1") == 0);
	CHECK(c->line == 8 && c->nlines == 2 && c->is_default == 1);
	if (c->nlines == 2) {
		/* Three-digit modes are octal too. */
		CHECK(line_is(&c->lines[0], DY_LINE_FILE, "extra/a.txt", "share/extra/a.txt", 0644,
			      10));
		CHECK(line_is(&c->lines[1], DY_LINE_FILE, "extra/b", "share/extra/b", 0600, 11));
	}
	dy_manifest_free(&m);
	CHECK(m.components == NULL && m.path == NULL && m.dir == NULL);
}

/* The last line needs no newline, and many lines per component are kept
 * in order. */
static void
test_no_final_newline_and_many_files(void)
{
	static const char text[] = "[component a]\nversion = 1\n"
				   "file x1 -> d/1 0644\nfile x2 -> d/2 0644\n"
				   "file x3 -> d/3 0644\nfile x4 -> d/4 0000";
	struct dy_manifest m;
	size_t i;

	CHECK(parse_ok(text, &m) == 0);
	CHECK(m.ncomponents == 1 && m.components[0].nlines == 4);
	for (i = 0; m.ncomponents == 1 && i < m.components[0].nlines; i++)
		CHECK(m.components[0].lines[i].line == 3 + i);
	if (m.ncomponents == 1 && m.components[0].nlines == 4)
		CHECK(line_is(&m.components[0].lines[3], DY_LINE_FILE, "x4", "d/4", 0, 6));
	dy_manifest_free(&m);
}

static void
test_rejects_structure(void)
{
	parse_fails("[component demo]\nversion = 1\ncolour = blue\nfile a -> b 0644\n", NAME ":3:",
		    "unknown key 'colour' (known: version, url, url.ARCH, path, path.ARCH, kind, "
		    "role, sysbox-run-dir, optional, tag, env, cmd, labels, license, license-file, "
		    "license-member)");
	parse_fails("file a -> b 0644\n[component demo]\nversion = 1\n",
		    NAME ":1:", "before any [component NAME]");
	parse_fails("version = 1\n", NAME ":1:", "before any");
	parse_fails("# c\n[foo bar]\n", NAME ":2:", "unknown section [foo bar]");
	parse_fails("[component demo\n", NAME ":1:", "section header");
	parse_fails("[]\n", NAME ":1:", NULL);
	parse_fails("[component ]\n", NAME ":1:", "empty");
	parse_fails("[component Demo]\n", NAME ":1:", "'Demo'");
	parse_fails("[component demo]\nversion = 1\nversion = 1\n",
		    NAME ":3:", "version is set twice in component demo");
	parse_fails("[component demo]\nversion = 1 2\n", NAME ":2:", "version");
	parse_fails("[component demo]\nversion = 1/2\n", NAME ":2:", "'/'");
	parse_fails("[component demo]\nversion =\n", NAME ":2:", "empty");
	parse_fails("[component demo]\njust words\n", NAME ":2:",
		    "expected 'key = value' or a file/member/install/concat/layer/link line");
	parse_fails("[component demo]\nfile\n", NAME ":2:", NULL);
	/* Near misses of known keys are unknown keys, not artifacts. */
	parse_fails("[component demo]\nversion = 1\nurls = https://x/y\n",
		    NAME ":3:", "unknown key 'urls'");
	parse_fails("[component demo]\nversion = 1\npathology = x\n",
		    NAME ":3:", "unknown key 'pathology'");
	parse_fails("[component demo]\nversion = 1\nVersion = 1\n",
		    NAME ":3:", "unknown key 'Version'");
}

static void
test_rejects_file_lines(void)
{
	const char *head = "[component demo]\nversion = 1\n";
	char text[512];

#define FILE_FAILS(line, what)                                                                     \
	do {                                                                                       \
		snprintf(text, sizeof(text), "%s%s\n", head, line);                                \
		parse_fails(text, NAME ":3:", what);                                               \
	} while (0)

	FILE_FAILS("file a -> ../x 0644", "'..'");
	FILE_FAILS("file a -> x/../y 0644", "'..'");
	FILE_FAILS("file a -> /usr/bin/x 0644", "absolute");
	FILE_FAILS("file a -> x/ 0644", "empty component");
	FILE_FAILS("file a -> x 0999", "mode '0999'");
	FILE_FAILS("file a -> x 12345", "mode '12345'");
	FILE_FAILS("file a -> x 04755", "mode");
	FILE_FAILS("file a -> x 1000", "at most 0777");
	FILE_FAILS("file a -> x 75", "mode");
	FILE_FAILS("file a -> x rwx", "mode");
	FILE_FAILS("file a x 0644", "expected 'file SRC -> DEST MODE'");
	FILE_FAILS("file a => x 0644", "expected 'file SRC -> DEST MODE'");
	FILE_FAILS("file a -> x 0644 extra", "expected 'file SRC -> DEST MODE'");
	FILE_FAILS("file a -> x", "expected 'file SRC -> DEST MODE'");
	FILE_FAILS("file a->x 0644", "expected 'file SRC -> DEST MODE'");
	/* The same rules hold for the other content lines. */
	FILE_FAILS("concat scripts -> ../bin/x 0755", "destination: ");
	FILE_FAILS("concat scripts bin/x 0755", "expected 'concat SRC -> DEST MODE'");
	FILE_FAILS("member a -> b", "expected 'member SRC -> DEST MODE'");
	FILE_FAILS("member a -> /b 0644", "absolute");
	FILE_FAILS("member a -> b 0855", "mode '0855'");
	FILE_FAILS("install b", "expected 'install DEST MODE'");
	FILE_FAILS("install a -> b 0644", "expected 'install DEST MODE'");
	FILE_FAILS("install b 0644 x", "expected 'install DEST MODE'");
	FILE_FAILS("install ../b 0644", "'..'");
	FILE_FAILS("install b 8", "mode '8'");
#undef FILE_FAILS
}

static void
test_rejects_duplicate_destination(void)
{
	/* Within one component: the message points at both lines. */
	parse_fails("[component a]\nversion = 1\nfile x -> bin/tool 0755\n"
		    "file y -> bin/tool 0644\n",
		    NAME ":4:", "destination bin/tool is already used at line 3");
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nkind = tgz\n"
		    "member x -> bin/x 0755\nmember y -> bin/y 0755\nmember z -> bin/x 0755\n",
		    NAME ":7:", "destination bin/x is already used at line 5");
}

/* Across components the check needs the selection, so the parser allows
 * it; alternatives of one component naturally share destinations. */
static void
test_destinations_across_components(void)
{
	static const char text[] = "[component a]\nversion = 1\nfile x -> bin/tool 0755\n"
				   "[component a]\nversion = 2\nfile y -> bin/tool 0755\n"
				   "[component b]\nversion = 1\nfile z -> bin/tool 0755\n";
	struct dy_manifest m;

	CHECK(parse_ok(text, &m) == 0);
	CHECK(m.ncomponents == 3);
	if (m.ncomponents == 3) {
		CHECK(strcmp(m.components[1].lines[0].dest, "bin/tool") == 0);
		CHECK(strcmp(m.components[2].lines[0].dest, "bin/tool") == 0);
	}
	dy_manifest_free(&m);
}

static void
test_rejects_bytes(void)
{
	static const char nul[] = "[component a]\nversion = 1\0\nfile x -> y 0644\n";
	struct dy_err err = { 0 };
	struct dy_manifest m;
	char longline[DY_MANIFEST_LINE_MAX + 64];

	parse_fails("[component demo]\nversion = 1\r\nfile a -> b 0644\n",
		    NAME ":2:", "carriage return (CRLF line ending?)");
	parse_fails("[component demo]\r\n", NAME ":1:", "carriage return (CRLF line ending?)");
	parse_fails("\r\n", NAME ":1:", "carriage return");
	/* Mid-line, and inside a comment: still refused. */
	parse_fails("[component demo]\nversion = 1\nfile a -> b\r0644\n",
		    NAME ":3:", "carriage return");
	parse_fails("# note\r\n[component demo]\n", NAME ":1:", "carriage return");

	CHECK(dy_manifest_parse(NAME, ".", nul, sizeof(nul) - 1, &m, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, NAME ": contains a NUL byte");
	CHECK(m.components == NULL && m.path == NULL);
	dy_manifest_free(&m);

	/* One byte over the line limit. */
	memset(longline, '#', DY_MANIFEST_LINE_MAX + 1);
	longline[DY_MANIFEST_LINE_MAX + 1] = '\0';
	parse_fails(longline, NAME ":1:", "longer than");
	/* Exactly at the limit is a (comment) line like any other. */
	longline[DY_MANIFEST_LINE_MAX] = '\0';
	parse_fails(longline, NAME ":", "no [component NAME]");
}

/* Whole-file problems: the message names the file, and the component's
 * line where there is one. */
static void
test_rejects_incomplete(void)
{
	parse_fails("", NAME ": ", "declares no [component NAME] section");
	parse_fails("# only a comment\n\n", NAME ": ", "declares no");
	parse_fails("# c\n\n[component demo]\nfile a -> b 0644\n",
		    NAME ":3:", "component demo has no 'version = ...'");
	parse_fails("[component a]\nversion = 1\nfile x -> y 0644\n"
		    "[component b]\nversion = 1\n",
		    NAME ":4:", "component b 1: lists no 'file' or 'concat' lines");
	/* The second section of a name needs its own version. */
	parse_fails("[component demo]\nversion = 1\nfile a -> b 0644\n\n"
		    "[component demo]\n",
		    NAME ":5:", "component demo has no 'version");
}

static void
test_content_lines(void)
{
	static const char text[] = "[component engine]\n"			   /* 1 */
				   "version = 29.2.1\n"				   /* 2 */
				   "url = https://example.org/engine.tgz\n"	   /* 3 */
				   "kind = tgz\n"				   /* 4 */
				   "member docker/dockerd -> bin/dockerd 0755\n"   /* 5 */
				   "  member\tdocker/ctr  ->  bin/ctr 755\n"	   /* 6 */
				   "[component compose]\n"			   /* 7 */
				   "version = 2.32.4\n"				   /* 8 */
				   "path = ../dl/compose\n"			   /* 9 */
				   "kind = file\n"				   /* 10 */
				   "install lib/cli-plugins/docker-compose 0755\n" /* 11 */
				   "[component ctl]\n"				   /* 12 */
				   "version = 1\n"				   /* 13 */
				   "concat ../scripts -> bin/dockyardctl 0755\n"   /* 14 */
				   "file ../README -> share/doc/README 0644\n";	   /* 15 */
	const struct dy_mcomponent *c;
	struct dy_manifest m;

	CHECK(parse_ok(text, &m) == 0);
	CHECK(m.ncomponents == 3);
	if (m.ncomponents != 3) {
		dy_manifest_free(&m);
		return;
	}
	c = &m.components[0];
	CHECK(str_is(c->url[DY_ARCH_ANY], "https://example.org/engine.tgz"));
	CHECK(c->url[DY_ARCH_X86_64] == NULL && c->url[DY_ARCH_AARCH64] == NULL);
	CHECK(strcmp(c->kind, "tgz") == 0 && c->artifact_line == 3 && c->nlines == 2);
	if (c->nlines == 2) {
		CHECK(line_is(&c->lines[0], DY_LINE_MEMBER, "docker/dockerd", "bin/dockerd", 0755,
			      5));
		CHECK(line_is(&c->lines[1], DY_LINE_MEMBER, "docker/ctr", "bin/ctr", 0755, 6));
	}

	c = &m.components[1];
	CHECK(str_is(c->path[DY_ARCH_ANY], "../dl/compose") && c->url[DY_ARCH_ANY] == NULL);
	CHECK(strcmp(c->kind, "file") == 0 && c->artifact_line == 9 && c->nlines == 1);
	if (c->nlines == 1)
		CHECK(line_is(&c->lines[0], DY_LINE_INSTALL, NULL, "lib/cli-plugins/docker-compose",
			      0755, 11));

	c = &m.components[2];
	CHECK(no_artifact(c) && c->kind[0] == '\0' && c->nlines == 2);
	if (c->nlines == 2) {
		CHECK(line_is(&c->lines[0], DY_LINE_CONCAT, "../scripts", "bin/dockyardctl", 0755,
			      14));
		CHECK(line_is(&c->lines[1], DY_LINE_FILE, "../README", "share/doc/README", 0644,
			      15));
	}
	dy_manifest_free(&m);
}

static void
test_artifact_keys(void)
{
	static const char text[] = "[component a]\n"				  /* 1 */
				   "version = 1\n"				  /* 2 */
				   "kind = tar\n"				  /* 3 */
				   "url.aarch64 = http://example.org/a-arm.tar\n" /* 4 */
				   "url.x86_64 = https://example.org/a-x86.tar\n" /* 5 */
				   "url = file:///srv/a.tar\n"			  /* 6 */
				   "member a -> bin/a 0755\n"			  /* 7 */
				   "[component b]\n"				  /* 8 */
				   "version = 1\n"				  /* 9 */
				   "path.x86_64 = b-x86.deb\n"			  /* 10 */
				   "path.aarch64 = ../b-arm.deb\n"		  /* 11 */
				   "path = /abs/b.deb\n"			  /* 12 */
				   "kind = deb\n"				  /* 13 */
				   "member usr/bin/b -> bin/b 0755\n";		  /* 14 */
	const struct dy_mcomponent *c;
	struct dy_manifest m;

	CHECK(parse_ok(text, &m) == 0);
	CHECK(m.ncomponents == 2);
	if (m.ncomponents != 2) {
		dy_manifest_free(&m);
		return;
	}
	c = &m.components[0];
	CHECK(str_is(c->url[DY_ARCH_X86_64], "https://example.org/a-x86.tar"));
	CHECK(str_is(c->url[DY_ARCH_AARCH64], "http://example.org/a-arm.tar"));
	CHECK(str_is(c->url[DY_ARCH_ANY], "file:///srv/a.tar"));
	CHECK(c->path[DY_ARCH_X86_64] == NULL && c->path[DY_ARCH_AARCH64] == NULL &&
	      c->path[DY_ARCH_ANY] == NULL);
	/* The first artifact key's line, for messages. */
	CHECK(c->artifact_line == 4 && strcmp(c->kind, "tar") == 0);

	c = &m.components[1];
	CHECK(str_is(c->path[DY_ARCH_X86_64], "b-x86.deb"));
	CHECK(str_is(c->path[DY_ARCH_AARCH64], "../b-arm.deb"));
	CHECK(str_is(c->path[DY_ARCH_ANY], "/abs/b.deb"));
	CHECK(c->url[DY_ARCH_X86_64] == NULL && c->url[DY_ARCH_AARCH64] == NULL &&
	      c->url[DY_ARCH_ANY] == NULL);
	CHECK(c->artifact_line == 10 && strcmp(c->kind, "deb") == 0);
	dy_manifest_free(&m);
}

static void
test_rejects_artifact_keys(void)
{
	const char *head = "[component demo]\nversion = 1\n";
	char text[512];

#define KEY_FAILS(line, what)                                                                      \
	do {                                                                                       \
		snprintf(text, sizeof(text), "%s%s\n", head, line);                                \
		parse_fails(text, NAME ":3:", what);                                               \
	} while (0)

	KEY_FAILS("url.mips = https://example.org/a.tgz",
		  "unknown architecture in 'url.mips' (known: x86_64, aarch64)");
	KEY_FAILS("path.riscv64 = a.deb", "unknown architecture in 'path.riscv64'");
	/* "any" is the lock's word for the generic form, not a key suffix. */
	KEY_FAILS("url.any = https://example.org/a.tgz", "unknown architecture in 'url.any'");
	KEY_FAILS("url.X86_64 = https://example.org/a.tgz", "unknown architecture");
	KEY_FAILS("url. = https://example.org/a.tgz", "unknown architecture in 'url.'");
	KEY_FAILS("url.x86_64.gz = https://example.org/a.tgz", "unknown architecture");

	KEY_FAILS("url = example.org/a.tgz",
		  "url 'example.org/a.tgz' must start with https://, http:// or file://");
	KEY_FAILS("url.x86_64 = ftp://example.org/a.tgz", "must start with https://");
	KEY_FAILS("url = HTTPS://example.org/a.tgz", "must start with https://");
	KEY_FAILS("url = https:/example.org/a.tgz", "must start with https://");
	KEY_FAILS("url = /srv/a.tgz", "must start with https://");

	KEY_FAILS("url = https://example.org/a b.tgz", "url must be one word without spaces");
	KEY_FAILS("url.aarch64 = https://example.org/a\tb.tgz",
		  "url.aarch64 must be one word without spaces");
	KEY_FAILS("path = a b.deb", "path must be one word without spaces");
	KEY_FAILS("url =", "url must be one word");
	KEY_FAILS("path.x86_64 =   ", "path.x86_64 must be one word");
#undef KEY_FAILS

	parse_fails("[component demo]\nversion = 1\nurl = " ART_URL "\nurl = " ART_URL "\n",
		    NAME ":4:", "url is set twice in this component");
	parse_fails("[component demo]\nversion = 1\npath.x86_64 = a\npath.x86_64 = b\n",
		    NAME ":4:", "path.x86_64 is set twice");
}

static void
test_attribute_keys(void)
{
	static const char text[] = "[component a]\nversion = 1\nrole = image\n"
				   "sysbox-run-dir = env\noptional = yes\nfile x -> a 0644\n"
				   "[component b]\nversion = 1\nsysbox-run-dir = args\n"
				   "file x -> b 0644\n";
	static const char *const kinds[] = { "file", "tar", "tgz", "deb" };
	char buf[512];
	struct dy_manifest m;
	size_t i;

	CHECK(parse_ok(text, &m) == 0);
	CHECK(m.ncomponents == 2);
	if (m.ncomponents == 2) {
		CHECK(strcmp(m.components[0].role, "image") == 0);
		CHECK(strcmp(m.components[0].sysbox_run_dir, "env") == 0);
		CHECK(m.components[0].optional == 1);
		CHECK(m.components[1].role[0] == '\0' && m.components[1].optional == 0);
		CHECK(strcmp(m.components[1].sysbox_run_dir, "args") == 0);
	}
	dy_manifest_free(&m);

	/* Every kind is accepted (with the lines it needs). */
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(buf, sizeof(buf), "[component a]\nversion = 1\nurl = %s\nkind = %s\n%s\n",
			 ART_URL, kinds[i],
			 strcmp(kinds[i], "file") == 0 ? "install bin/a 0755"
						       : "member a -> bin/a 0755");
		CHECK(parse_ok(buf, &m) == 0);
		if (m.ncomponents == 1)
			CHECK(strcmp(m.components[0].kind, kinds[i]) == 0);
		dy_manifest_free(&m);
	}
}

static void
test_rejects_attribute_keys(void)
{
	parse_fails(
		"[component a]\nversion = 1\noptional = yes\noptional = yes\nfile x -> y 0644\n",
		NAME ":4:", "optional is set twice");
	const char *head = "[component demo]\nversion = 1\n";
	char text[512];

#define KEY_FAILS(lines, where, what)                                                              \
	do {                                                                                       \
		snprintf(text, sizeof(text), "%s%s\n", head, lines);                               \
		parse_fails(text, where, what);                                                    \
	} while (0)

	KEY_FAILS("kind = zip", NAME ":3:", "kind 'zip' is not one of the allowed values");
	KEY_FAILS("kind = TGZ", NAME ":3:", "kind 'TGZ' is not one");
	KEY_FAILS("kind = tar.gz", NAME ":3:", "kind 'tar.gz'");
	KEY_FAILS("kind =", NAME ":3:", "kind '' is not one");
	KEY_FAILS("kind = tgz\nkind = tgz", NAME ":4:", "kind is set twice in this component");
	KEY_FAILS("role = binary", NAME ":3:", "role 'binary' is not one of the allowed values");
	KEY_FAILS("role = image\nrole = image", NAME ":4:", "role is set twice");
	KEY_FAILS("sysbox-run-dir = flag",
		  NAME ":3:", "sysbox-run-dir 'flag' is not one of the allowed values");
	KEY_FAILS("sysbox-run-dir = ARGS", NAME ":3:", "sysbox-run-dir 'ARGS'");
	KEY_FAILS("sysbox-run-dir = args\nsysbox-run-dir = env",
		  NAME ":4:", "sysbox-run-dir is set twice");
	KEY_FAILS("optional = no", NAME ":3:", "optional 'no' is not one of the allowed values");
	KEY_FAILS("optional = true", NAME ":3:", "optional 'true'");
	KEY_FAILS("optional = YES", NAME ":3:", "optional 'YES'");
	KEY_FAILS("optional =", NAME ":3:", "optional ''");
#undef KEY_FAILS
}

/* check_component: the lines a component may hold follow from where its
 * content comes from.  Errors name the component's section line. */
static void
test_component_rules(void)
{
	/* An artifact comes from one place. */
	parse_fails("\n[component a]\nversion = 1\nurl = " ART_URL "\npath = a.tgz\nkind = tgz\n"
		    "member a -> bin/a 0755\n",
		    NAME ":2:", "component a 1: has both url and path");
	parse_fails("[component a]\nversion = 1\nurl.x86_64 = " ART_URL "\npath.aarch64 = a.tgz\n"
		    "kind = tgz\nmember a -> bin/a 0755\n",
		    NAME ":1:", "has both url and path");

	/* kind, member and install without an artifact. */
	parse_fails("[component a]\nversion = 1\nkind = tgz\nfile a -> bin/a 0755\n",
		    NAME ":1:", "component a 1: kind, member and install need a url or path");
	parse_fails("[component a]\nversion = 1\nmember a -> bin/a 0755\n",
		    NAME ":1:", "need a url or path");
	parse_fails("[component a]\nversion = 1\ninstall bin/a 0755\n",
		    NAME ":1:", "need a url or path");

	/* An artifact without a kind. */
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nmember a -> bin/a 0755\n",
		    NAME ":1:", "has a url or path but no 'kind = file|tar|tgz|deb'");
	parse_fails("[component a]\nversion = 1\npath.x86_64 = a\ninstall bin/a 0755\n",
		    NAME ":1:", "no 'kind = file|tar|tgz|deb'");

	/* kind = file: exactly one install, no member. */
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nkind = file\n",
		    NAME ":1:", "kind = file takes exactly one 'install DEST MODE' line");
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nkind = file\n"
		    "install bin/a 0755\ninstall bin/b 0755\n",
		    NAME ":1:", "kind = file takes exactly one");
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nkind = file\n"
		    "install bin/a 0755\nmember a -> bin/b 0755\n",
		    NAME ":1:", "kind = file takes exactly one");
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nkind = file\n"
		    "member a -> bin/b 0755\n",
		    NAME ":1:", "kind = file takes exactly one");

	/* Archive kinds: members, no install. */
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nkind = tgz\n",
		    NAME ":1:", "an archive kind takes 'member PATH -> DEST MODE' lines");
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nkind = deb\n"
		    "member a -> bin/a 0755\ninstall bin/b 0755\n",
		    NAME ":1:", "an archive kind takes");
	parse_fails("[component a]\nversion = 1\npath = a.tar\nkind = tar\ninstall bin/b 0755\n",
		    NAME ":1:", "an archive kind takes");

	/* Local lines and a fetched artifact do not mix. */
	parse_fails("[component a]\nversion = 1\nurl = " ART_URL "\nkind = tgz\n"
		    "member a -> bin/a 0755\nfile b -> bin/b 0755\n",
		    NAME ":1:", "file and concat lines cannot be mixed with a url or path");
	parse_fails("[component a]\nversion = 1\npath = a\nkind = file\ninstall bin/a 0755\n"
		    "concat s -> bin/c 0755\n",
		    NAME ":1:", "cannot be mixed with a url or path");

	/* Errors in a later component name that component. */
	parse_fails("[component a]\nversion = 1\nfile x -> y 0644\n\n[component b]\nversion = 2\n"
		    "url = " ART_URL "\n",
		    NAME ":5:", "component b 2: has a url or path but no 'kind");
}

/* One name, several versions: the first section is the default. */
static void
test_alternatives(void)
{
	static const char text[] = "[component sysbox]\nversion = 0.6.7.9-tc\n"	  /* 1 */
				   "url = " ART_URL "\nkind = tgz\n"		  /* 3 */
				   "member sysbox-runc -> bin/sysbox-runc 0755\n" /* 5 */
				   "[component other]\nversion = 1\n"		  /* 6 */
				   "file o -> bin/o 0755\n"			  /* 8 */
				   "[component sysbox]\nversion = 0.6.7.10-tc\n"  /* 9 */
				   "url = " ART_URL "\nkind = tgz\n"		  /* 11 */
				   "member sysbox-runc -> bin/sysbox-runc 0755\n" /* 13 */
				   "[component sysbox]\nversion = 0.5\n"	  /* 14 */
				   "file s -> bin/sysbox-runc 0755\n";		  /* 16 */
	struct dy_manifest m;

	CHECK(parse_ok(text, &m) == 0);
	CHECK(m.ncomponents == 4);
	if (m.ncomponents == 4) {
		CHECK(strcmp(m.components[0].version, "0.6.7.9-tc") == 0);
		CHECK(m.components[0].is_default == 1 && m.components[0].line == 1);
		CHECK(m.components[1].is_default == 1); /* another name */
		CHECK(strcmp(m.components[2].name, "sysbox") == 0);
		CHECK(strcmp(m.components[2].version, "0.6.7.10-tc") == 0);
		CHECK(m.components[2].is_default == 0 && m.components[2].line == 9);
		CHECK(m.components[3].is_default == 0 && m.components[3].line == 14);
	}
	dy_manifest_free(&m);

	/* The same name and version twice: the message names the first. */
	parse_fails("[component demo]\nversion = 1\nfile a -> b 0644\n\n"
		    "[component demo]\nversion = 1\nfile a -> b 0644\n",
		    NAME ":5:", "component demo 1 is already declared at line 1");
	parse_fails("[component demo]\nversion = 1\nfile a -> b 0644\n"
		    "[component demo]\nversion = 2\nfile a -> b 0644\n"
		    "[component demo]\nversion = 2\nfile a -> b 0644\n",
		    NAME ":7:", "component demo 2 is already declared at line 4");
}

static void
test_artifact_lookup(void)
{
	static const char text[] = "[component mixed]\nversion = 1\nkind = tgz\n"
				   "url = https://example.org/any.tgz\n"
				   "url.aarch64 = https://example.org/arm.tgz\n"
				   "member a -> bin/a 0755\n"
				   "[component local]\nversion = 1\nkind = deb\n"
				   "path.x86_64 = x86.deb\nmember a -> bin/a 0755\n"
				   "[component generic]\nversion = 1\nkind = file\n"
				   "path = tool\ninstall bin/tool 0755\n"
				   "[component none]\nversion = 1\nfile a -> bin/a 0755\n";
	const char *key = NULL, *a;
	int is_path = -1;
	struct dy_manifest m;

	CHECK(parse_ok(text, &m) == 0);
	CHECK(m.ncomponents == 4);
	if (m.ncomponents != 4) {
		dy_manifest_free(&m);
		return;
	}
	/* Arch-specific first... */
	a = dy_mcomponent_artifact(&m.components[0], DY_ARCH_AARCH64, &is_path, &key);
	CHECK(str_is(a, "https://example.org/arm.tgz") && is_path == 0 && str_is(key, "aarch64"));
	/* ...then the generic one, reported as "any". */
	is_path = -1;
	key = NULL;
	a = dy_mcomponent_artifact(&m.components[0], DY_ARCH_X86_64, &is_path, &key);
	CHECK(str_is(a, "https://example.org/any.tgz") && is_path == 0 && str_is(key, "any"));

	/* Local artifacts report is_path. */
	is_path = -1;
	a = dy_mcomponent_artifact(&m.components[1], DY_ARCH_X86_64, &is_path, &key);
	CHECK(str_is(a, "x86.deb") && is_path == 1 && str_is(key, "x86_64"));
	CHECK(dy_mcomponent_artifact(&m.components[1], DY_ARCH_AARCH64, &is_path, &key) == NULL);

	is_path = -1;
	a = dy_mcomponent_artifact(&m.components[2], DY_ARCH_AARCH64, &is_path, &key);
	CHECK(str_is(a, "tool") && is_path == 1 && str_is(key, "any"));

	/* Components built from local files have no artifact at all. */
	CHECK(dy_mcomponent_artifact(&m.components[3], DY_ARCH_X86_64, &is_path, &key) == NULL);
	CHECK(dy_mcomponent_artifact(&m.components[3], DY_ARCH_AARCH64, &is_path, &key) == NULL);
	dy_manifest_free(&m);
}

static void
test_arch_parse(void)
{
	enum dy_arch a = DY_NARCH;

	CHECK(dy_arch_parse("x86_64", &a) == 0 && a == DY_ARCH_X86_64);
	CHECK(dy_arch_parse("aarch64", &a) == 0 && a == DY_ARCH_AARCH64);
	a = DY_NARCH;
	CHECK(dy_arch_parse("any", &a) == -1);
	CHECK(dy_arch_parse("", &a) == -1);
	CHECK(dy_arch_parse("amd64", &a) == -1);
	CHECK(dy_arch_parse("arm64", &a) == -1);
	CHECK(dy_arch_parse("X86_64", &a) == -1);
	CHECK(dy_arch_parse("x86_64 ", &a) == -1);
	CHECK(dy_arch_parse("x86", &a) == -1);
	CHECK(a == DY_NARCH); /* untouched on failure */
	CHECK(strcmp(dy_arch_names[DY_ARCH_X86_64], "x86_64") == 0);
	CHECK(strcmp(dy_arch_names[DY_ARCH_AARCH64], "aarch64") == 0);
	CHECK(strcmp(dy_arch_names[DY_ARCH_ANY], "any") == 0);
}

static void
test_load_errors(void)
{
	struct dy_err err = { 0 };
	struct dy_manifest m;

	CHECK(dy_manifest_load("payload/no-such.manifest", &m, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "cannot open manifest payload/no-such.manifest");
	CHECK(m.components == NULL && m.path == NULL);
	CHECK(dy_manifest_load("payload", &m, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "manifest payload is not a regular file");
	dy_manifest_free(&m);
}

/* The manifests in the tree parse, and say what the release needs. */
static void
test_payload_dockyard(void)
{
	struct dy_err err = { 0 };
	const struct dy_mcomponent *c;
	struct dy_manifest m;
	size_t i;

	CHECK(dy_manifest_load("payload/dockyard.manifest", &m, &err) == 0);
	if (m.components == NULL) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(strcmp(m.path, "payload/dockyard.manifest") == 0 && strcmp(m.dir, "payload") == 0);
	CHECK(m.ncomponents == 9);

	c = find(&m, "docker", "29.2.1");
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK(c->is_default && !c->optional && strcmp(c->kind, "tgz") == 0);
		CHECK(str_is(c->url[DY_ARCH_X86_64], "https://download.docker.com/linux/static/"
						     "stable/x86_64/docker-29.2.1.tgz"));
		CHECK(c->url[DY_ARCH_AARCH64] != NULL && c->url[DY_ARCH_ANY] == NULL);
		CHECK(c->nlines == 8);
		for (i = 0; i < c->nlines; i++)
			CHECK(c->lines[i].kind == DY_LINE_MEMBER && c->lines[i].mode == 0755);
		if (c->nlines == 8)
			CHECK(line_is(&c->lines[0], DY_LINE_MEMBER, "docker/dockerd", "bin/dockerd",
				      0755, c->line + 5));
	}

	c = find(&m, "sysbox", "0.6.7.9-tc");
	CHECK(c != NULL && c->is_default && strcmp(c->sysbox_run_dir, "args") == 0);
	c = find(&m, "sysbox", "0.6.7.10-tc");
	CHECK(c != NULL && !c->is_default && strcmp(c->sysbox_run_dir, "args") == 0);
	/* The default comes first in the file. */
	CHECK(find(&m, "sysbox", "0.6.7.9-tc") < find(&m, "sysbox", "0.6.7.10-tc"));

	c = find(&m, "docker-rootless-extras", "29.2.1");
	CHECK(c != NULL && c->optional == 1 && c->is_default);

	c = find(&m, "dockyardctl", "0.1.0");
	CHECK(c != NULL && c->nlines == 1 && c->lines[0].kind == DY_LINE_CONCAT);

	c = find(&m, "docker-compose", "2.32.4");
	CHECK(c != NULL && strcmp(c->kind, "file") == 0 && c->nlines == 1);
	if (c != NULL && c->nlines == 1)
		CHECK(c->lines[0].kind == DY_LINE_INSTALL && c->lines[0].src == NULL &&
		      strcmp(c->lines[0].dest, "lib/docker-config/cli-plugins/docker-compose") ==
			      0 &&
		      c->lines[0].mode == 0755);
	dy_manifest_free(&m);
}

static void
test_payload_debian_and_demo(void)
{
	struct dy_err err = { 0 };
	const struct dy_mcomponent *c;
	const char *key, *a;
	struct dy_manifest m;
	int is_path;
	size_t i;

	CHECK(dy_manifest_load("payload/debian.manifest", &m, &err) == 0);
	if (m.components != NULL) {
		CHECK(m.ncomponents == 7);
		/* Local .deb files for x86_64 and aarch64; dockyardctl from scripts/. */
		c = find(&m, "dockyardctl", "0.1.0");
		CHECK(c != NULL && c->kind[0] == '\0' && c->nlines == 1);
		if (c != NULL && c->nlines == 1)
			CHECK(line_is(&c->lines[0], DY_LINE_CONCAT, "../scripts", "bin/dockyardctl",
				      0755, c->line + 2));
		for (i = 0; i < m.ncomponents; i++) {
			c = &m.components[i];
			if (strcmp(c->name, "dockyardctl") == 0 || strcmp(c->kind, "image") == 0)
				continue;
			/* busybox-static only feeds the test image's layer. */
			CHECK(strcmp(c->kind, "deb") == 0 && c->is_default &&
			      (c->nlines >= 1 || strcmp(c->name, "busybox-static") == 0));
			a = dy_mcomponent_artifact(c, DY_ARCH_X86_64, &is_path, &key);
			CHECK(a != NULL && is_path == 1 && str_is(key, "x86_64"));
			CHECK(a != NULL && strncmp(a, "../build/debs/", 14) == 0);
			CHECK(a != NULL && strstr(a, "_amd64.deb") != NULL);
			a = dy_mcomponent_artifact(c, DY_ARCH_AARCH64, &is_path, &key);
			CHECK(a != NULL && is_path == 1 && str_is(key, "aarch64"));
			CHECK(a != NULL && strncmp(a, "../build/debs/", 14) == 0 &&
			      strstr(a, "_arm64.deb") != NULL);
		}
		c = find(&m, "docker.io", "20.10.24+dfsg1-1+deb12u1+b6");
		CHECK(c != NULL && c->nlines == 3);
		if (c != NULL && c->nlines == 3)
			CHECK(line_is(&c->lines[1], DY_LINE_MEMBER, "usr/bin/docker",
				      "bin/docker-cli", 0755, c->line + 6));
	} else {
		printf("#   %s\n", err.msg);
	}
	dy_manifest_free(&m);

	CHECK(dy_manifest_load("payload/demo.manifest", &m, &err) == 0);
	if (m.components != NULL) {
		CHECK(m.ncomponents == 1 && strcmp(m.dir, "payload") == 0);
		c = &m.components[0];
		CHECK(strcmp(c->name, "dockyard-demo") == 0 && strcmp(c->version, "0.1.0") == 0);
		CHECK(no_artifact(c) && c->nlines == 2);
		for (i = 0; i < c->nlines; i++)
			CHECK(c->lines[i].kind == DY_LINE_FILE);
		if (c->nlines == 2)
			CHECK(line_is(&c->lines[0], DY_LINE_FILE, "demo/dockyard-demo.sh",
				      "bin/dockyard-demo", 0755, c->line + 2));
	} else {
		printf("#   %s\n", err.msg);
	}
	dy_manifest_free(&m);
}

int
main(void)
{
	RUN(test_valid_manifest);
	RUN(test_no_final_newline_and_many_files);
	RUN(test_rejects_structure);
	RUN(test_rejects_file_lines);
	RUN(test_rejects_duplicate_destination);
	RUN(test_destinations_across_components);
	RUN(test_rejects_bytes);
	RUN(test_rejects_incomplete);
	RUN(test_content_lines);
	RUN(test_artifact_keys);
	RUN(test_rejects_artifact_keys);
	RUN(test_attribute_keys);
	RUN(test_rejects_attribute_keys);
	RUN(test_component_rules);
	RUN(test_alternatives);
	RUN(test_artifact_lookup);
	RUN(test_arch_parse);
	RUN(test_load_errors);
	RUN(test_payload_dockyard);
	RUN(test_payload_debian_and_demo);
	return DONE();
}
