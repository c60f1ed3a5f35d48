/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify/paths.h: the naming rules every payload path, component name and
 * version must pass.  Refusals must say which rule was broken and quote
 * the offending name, since that is all a user sees.
 */
#include "../../verify/paths.h"
#include "harness.h"

static int
path_ok(const char *path)
{
	struct dy_err err = { 0 };
	int rc = dy_member_path_valid(path, &err);

	if (rc != 0)
		printf("#   '%s' refused: %s\n", path, err.msg);
	return rc == 0;
}

/* The path is refused and the message holds both needles (NULL: skip). */
static void
path_refused(const char *path, const char *quote, const char *rule)
{
	struct dy_err err = { 0 };

	CHECK(dy_member_path_valid(path, &err) == -1);
	if (quote)
		CHECK_STR_CONTAINS(err.msg, quote);
	if (rule)
		CHECK_STR_CONTAINS(err.msg, rule);
}

static void
test_member_path_accepts(void)
{
	char max[DY_MEMBER_PATH_MAX + 1];

	CHECK(path_ok("bin/dockerd"));
	CHECK(path_ok("a/b.c/d-e_f+g"));
	CHECK(path_ok("a"));
	CHECK(path_ok("ABC/xyz/019"));
	/* Only exactly "." and ".." are special; dots inside names are fine. */
	CHECK(path_ok(".hidden/x"));
	CHECK(path_ok("a/..."));
	CHECK(path_ok("..a/b.."));
	/* Exactly the limit. */
	memset(max, 'a', DY_MEMBER_PATH_MAX);
	max[DY_MEMBER_PATH_MAX] = '\0';
	max[100] = '/';
	CHECK(path_ok(max));
}

static void
test_member_path_refuses(void)
{
	char big[DY_MEMBER_PATH_MAX + 2];

	path_refused("", NULL, "empty");
	path_refused("/abs", "'/abs'", "absolute");
	path_refused("/", "'/'", "absolute");
	path_refused("../x", "'../x'", "'..'");
	path_refused("a/../b", "'a/../b'", "'..'");
	path_refused("a/..", "'a/..'", "'..'");
	path_refused("..", "'..'", "'..' component");
	path_refused("a/./b", "'a/./b'", "'.' component");
	path_refused(".", "'.'", "'.' component");
	path_refused("./a", "'./a'", "'.' component");
	path_refused("a//b", "'a//b'", "empty component");
	path_refused("a/", "'a/'", "empty component");
	path_refused("sp ace", "'sp ace'", "character outside");
	path_refused("a\\b", "'a\\b'", "character outside");
	path_refused("a\nb", "'a\nb'", "character outside");
	path_refused("a\tb", NULL, "character outside");
	path_refused("a:b", NULL, "character outside");
	path_refused("a*", NULL, "character outside");
	path_refused("caf\xc3\xa9", NULL, "character outside");

	/* One byte over the limit; the message quotes a prefix only. */
	memset(big, 'b', DY_MEMBER_PATH_MAX + 1);
	big[DY_MEMBER_PATH_MAX + 1] = '\0';
	path_refused(big, "'bbbbbbbbbb", "longer than 255 bytes");
}

/* Length is checked before content, so a huge bad path cannot overflow
 * the message buffer with its quote. */
static void
test_member_path_long_message_bounded(void)
{
	struct dy_err err = { 0 };
	char huge[5000];

	memset(huge, '/', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	CHECK(dy_member_path_valid(huge, &err) == -1);
	CHECK(strlen(err.msg) < 200);
	CHECK_STR_CONTAINS(err.msg, "longer than");
}

static int
name_ok(const char *name)
{
	struct dy_err err = { 0 };

	return dy_component_name_valid(name, &err) == 0;
}

static void
name_refused(const char *name, const char *needle)
{
	struct dy_err err = { 0 };

	CHECK(dy_component_name_valid(name, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "component name");
	CHECK_STR_CONTAINS(err.msg, needle);
}

static void
test_component_name(void)
{
	char s[70];

	CHECK(name_ok("demo"));
	CHECK(name_ok("a"));
	CHECK(name_ok("0"));
	CHECK(name_ok("docker-ce"));
	CHECK(name_ok("lib.x_y-2"));
	memset(s, 'n', 64);
	s[64] = '\0';
	CHECK(name_ok(s));

	name_refused("", "empty");
	name_refused("Demo", "'Demo'"); /* lowercase only */
	name_refused("deMo", "'M'");
	name_refused("-x", "'-x'"); /* must start with [a-z0-9] */
	name_refused(".x", "'.x'");
	name_refused("_x", "'_x'");
	name_refused("a b", "' '");
	name_refused("a/b", "'/'");
	name_refused("a+b", "'+'"); /* '+' is for versions only */
	name_refused("a~b", "'~'");
	s[64] = 'n';
	s[65] = '\0';
	name_refused(s, "longer than 64");
}

static int
version_ok(const char *version)
{
	struct dy_err err = { 0 };

	return dy_version_valid(version, &err) == 0;
}

static void
version_refused(const char *version, const char *needle)
{
	struct dy_err err = { 0 };

	CHECK(dy_version_valid(version, &err) == -1);
	CHECK_STR_CONTAINS(err.msg, "version");
	CHECK_STR_CONTAINS(err.msg, needle);
}

static void
test_version(void)
{
	char s[70];

	CHECK(version_ok("0.1.0"));
	CHECK(version_ok("1"));
	CHECK(version_ok("V1"));
	CHECK(version_ok("27.3.1-1~debian.12+bookworm_x"));
	CHECK(version_ok("2.0~rc1"));
	memset(s, '9', 64);
	s[64] = '\0';
	CHECK(version_ok(s));

	version_refused("", "empty");
	version_refused("1 2", "' '");
	version_refused("1/2", "'/'");
	version_refused("1:2", "':'");
	version_refused("1\n", "'1\n'");
	version_refused("../1", "'../1'");
	/* Must start with a letter or digit, so a version never looks like an
	 * option or a hidden file. */
	version_refused("-1", "'-1'");
	version_refused(".1", "'.1'");
	version_refused("~1", "'~1'");
	version_refused("+1", "'+1'");
	s[64] = '9';
	s[65] = '\0';
	version_refused(s, "longer than 64");
}

int
main(void)
{
	RUN(test_member_path_accepts);
	RUN(test_member_path_refuses);
	RUN(test_member_path_long_message_bounded);
	RUN(test_component_name);
	RUN(test_version);
	return DONE();
}
