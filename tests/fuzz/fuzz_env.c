/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dockyard.env parser and the configuration rules
 * (installer/config.c).  Properties: a failed parse leaves the
 * configuration untouched; a parsed configuration that validates formats
 * to an env file that parses back to the same values; keys set before the
 * file (installer flags) survive it.
 */
#include <string.h>

#include "../../installer/config.h"
#include "fuzz.h"

static int
same_config(const struct dy_config *a, const struct dy_config *b)
{
	return strcmp(a->root, b->root) == 0 && strcmp(a->prefix, b->prefix) == 0 &&
	       a->bridge.addr == b->bridge.addr && a->bridge.len == b->bridge.len &&
	       a->fixed.addr == b->fixed.addr && a->fixed.len == b->fixed.len &&
	       a->pool.addr == b->pool.addr && a->pool.len == b->pool.len &&
	       a->pool_size == b->pool_size && a->set == b->set;
}

static void
check_round_trip(const struct dy_config *c)
{
	struct dy_config again;
	struct dy_err err;
	char *text;
	size_t len;

	FUZZ_ASSERT(dy_config_format_env(c, &text, &len, &err) == 0, "format failed: %s", err.msg);
	dy_config_init(&again);
	FUZZ_ASSERT(dy_config_parse_env("formatted", text, len, &again, &err) == 0,
		    "formatted env does not parse: %s\n%s", err.msg, text);
	FUZZ_ASSERT(same_config(c, &again), "round trip changed the values:\n%s", text);
	FUZZ_ASSERT(dy_config_validate(&again, &err) == 0, "round trip is invalid: %s", err.msg);
	free(text);
}

/* With flags set first, the file must not change them. */
static void
check_flags_win(const char *text, size_t size)
{
	struct dy_config c, before;
	struct dy_err err;

	dy_config_init(&c);
	FUZZ_ASSERT(dy_config_set(&c, "prefix", "fz", &err) == 0, "%s", err.msg);
	FUZZ_ASSERT(dy_config_set(&c, "pool-size", "26", &err) == 0, "%s", err.msg);
	before = c;
	if (dy_config_parse_env("fuzz.env", text, size, &c, &err) < 0) {
		FUZZ_ASSERT(same_config(&c, &before), "failed parse changed the config");
		return;
	}
	FUZZ_ASSERT(strcmp(c.prefix, "fz") == 0 && c.pool_size == 26,
		    "the file overrode a flag: prefix '%s', pool size %d", c.prefix, c.pool_size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dy_config c, empty;
	struct dy_err err;

	dy_config_init(&c);
	dy_config_init(&empty);
	if (dy_config_parse_env("fuzz.env", text, size, &c, &err) < 0) {
		FUZZ_ASSERT(same_config(&c, &empty), "failed parse changed the config");
		FUZZ_ASSERT(err.msg[0] != '\0', "error without a message");
	} else if (dy_config_validate(&c, &err) == 0) {
		check_round_trip(&c);
	}
	check_flags_win(text, size);
	return 0;
}
