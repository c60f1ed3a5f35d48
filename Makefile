# SPDX-License-Identifier: Apache-2.0
# dockyard — build, test and package.
#
#   make            builder and static installer stub (no network, no .deb files)
#   make installer  dist/dockyard-installer built from Debian's packages
#                   (payload/debian.manifest; needs the pinned .deb files)
#   make install    install the builder, stub, scripts, manifests, man pages and
#                   completion (DESTDIR, PREFIX, BINDIR, LIBEXECDIR, DATADIR,
#                   MANDIR, BASHCOMPDIR); make uninstall removes them
#   make check      everything, then unit + CLI tests, also under ASan/UBSan
#   make deps       install the Debian packages the build and tests need
#   make demo       build the installer, install a demo instance (no systemd), verify it
#   make dist       the same installer at the release compression level
#   make debs       download the pinned .deb files into build/debs/
#   make arm64      the aarch64 stub and installer, cross-built: dist/aarch64/
#   make format     clang-format the C sources

PKG_CONFIG ?= pkg-config
# Development builds compress fast; `make dist` uses the release level.
LEVEL ?= 3
RELEASE_LEVEL ?= 19
CACHE ?= build/cache

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla -Wundef
CFLAGS_REL := -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
	-ffunction-sections -fdata-sections -MMD -MP -ffile-prefix-map=$(CURDIR)=. \
	-gno-record-gcc-switches
CFLAGS_ASAN := -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP

LIBS_DYN = $(shell $(PKG_CONFIG) --libs libcurl libarchive libzstd jansson) -lmbedcrypto
# The stub is fully static: every library comes from Debian's .a files.
LIBS_STATIC = $(shell $(PKG_CONFIG) --static --libs libarchive) -lzstd -ljansson -lmbedcrypto -lpthread
# static-pie (the stub's address randomised too) where the toolchain links
# one; plain -static elsewhere.  Either way no interpreter, no shared library.
STATIC_PIE := $(shell printf 'int main(void){return 0;}' | \
	$(CC) -x c -static-pie -o /dev/null - 2>/dev/null && echo -static-pie)
LDFLAGS_STATIC := $(or $(STATIC_PIE),-static) -Wl,--gc-sections
LDFLAGS_BUILD := -Wl,-z,relro -Wl,-z,now

# ---- install layout (make install; debian/rules uses PREFIX=/usr) ----
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
DOCDIR ?= $(DATADIR)/doc/dockyard-build
# The builder looks for its stub and scripts here (installed layout).
DY_PATHS := -DDY_STUB_PATH='"$(LIBEXECDIR)/dockyard/dockyard-installer-stub"' \
	-DDY_SCRIPTS_DIR='"$(DATADIR)/dockyard/scripts"'

COMMON := common/err.c common/log.c common/opts.c common/xio.c common/run.c
VERIFY := verify/sha256.c verify/sha256_x86.c verify/paths.c verify/trailer.c verify/meta.c verify/image.c \
	verify/payload.c verify/sig.c verify/frames.c verify/payload2.c
BUILDER_LIB := builder/manifest.c builder/pack.c builder/build.c builder/lock.c \
	builder/scripts.c builder/sbom.c builder/fetch.c builder/unpack.c builder/elf.c builder/image.c \
	builder/spdx.c builder/spdx_ids.c builder/pack2.c
INSTALLER_LIB := installer/extract.c installer/list.c installer/config.c installer/render.c \
	installer/binaries.c installer/start.c \
	installer/receipt.c installer/sysobj.c installer/preflight.c installer/install.c
INSTALLER_LIB += installer/dropin.c installer/settings.c installer/instances.c
INSTALLER_LIB += installer/act.c installer/lock.c installer/step_preflight.c installer/step_dirs.c \
	installer/step_render.c installer/step_system.c installer/step_receipt.c
INSTALLER_LIB += installer/cidr.c installer/envfile.c installer/hostnet.c installer/conflict.c \
	installer/generate.c installer/merge.c
UNIT_TESTS := $(basename $(notdir $(wildcard tests/unit/test_*.c)))

objs = $(patsubst %.c,build/$(1)/%.o,$(2))
LIB_SRC := $(COMMON) $(VERIFY) $(BUILDER_LIB) $(INSTALLER_LIB)

# Keep intermediate objects: no rebuilds, and no "rm ..." after the test summary.
.SECONDARY:

.PHONY: all check test unit demo deps debs dist format format-check lint clean asan bench \
	installer install uninstall soak FORCE
all: dist/dockyard-build dist/dockyard-installer-stub dist/dockyard-installer-stub.deps
installer: dist/dockyard-installer

# V=1 shows full compiler command lines.
Q := $(if $(V),,@)

build/rel/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_REL) $(CPPFLAGS_PATHS) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

build/asan/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC-ASAN $<")
	$(Q)$(CC) $(CFLAGS_ASAN) $(CPPFLAGS_PATHS) -c $< -o $@

# The builder's compiled-in paths: rebuilt when the layout changes.
build/rel/builder/main.o build/asan/builder/main.o: CPPFLAGS_PATHS = $(DY_PATHS)
build/rel/builder/main.o build/asan/builder/main.o: build/paths.stamp
build/paths.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(DY_PATHS)' | cmp -s - $@ || echo '$(DY_PATHS)' > $@

# ---- release binaries ----
dist/dockyard-build: $(call objs,rel,builder/main.c $(BUILDER_LIB) $(VERIFY) $(COMMON))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_BUILD) $(LDFLAGS) -o $@ $^ $(LIBS_DYN)

# The linker's trace (-t -t: every member it loaded) names the static
# libraries inside the stub; tools/stub-deps.sh turns it into their Debian
# packages and versions (STUB.deps, the SBOM's stub dependencies).
build/rel/dockyard-installer-stub.full build/rel/dockyard-installer-stub.trace &: \
		$(call objs,rel,installer/main.c $(INSTALLER_LIB) $(VERIFY) $(COMMON))
	$(CC) $(LDFLAGS_STATIC) $(LDFLAGS) -o build/rel/dockyard-installer-stub.full $^ \
		$(LIBS_STATIC) -Wl,-t,-t >build/rel/dockyard-installer-stub.trace

dist/dockyard-installer-stub: build/rel/dockyard-installer-stub.full
	@mkdir -p $(@D)
	strip -o $@ $<
	@file $@ | grep -Eq 'statically linked|static-pie linked' && \
		! readelf -dl $@ | grep -Eq 'NEEDED|INTERP' || \
		{ echo "error: $@ is not statically linked" >&2; rm -f $@; exit 1; }
	@echo "installer stub: $$(stat -c %s $@) bytes, $(or $(STATIC_PIE),static), stripped"

dist/dockyard-installer-stub.deps: build/rel/dockyard-installer-stub.trace tools/stub-deps.sh
	@mkdir -p $(@D)
	tools/stub-deps.sh $< >$@.tmp && mv $@.tmp $@

build/debs/.complete: payload/debian.manifest tools/fetch-debs.sh
	tools/fetch-debs.sh payload/debian.manifest
	@touch $@

# The end-to-end fixtures: busybox-static for the container images.
build/debs/.e2e-complete: tests/e2e/debs.list tools/fetch-debs.sh
	tools/fetch-debs.sh --list tests/e2e/debs.list
	@touch $@

debs: build/debs/.complete build/debs/.e2e-complete

# The builder reads scripts/*.sh (dockyardctl) when it runs.
dist/dockyard-installer: dist/dockyard-build dist/dockyard-installer-stub \
		dist/dockyard-installer-stub.deps payload/debian.manifest \
		payload/debian.lock LICENSE build/debs/.complete $(wildcard scripts/*.sh)
	dist/dockyard-build -q --level $(LEVEL) --cache $(CACHE) \
		--manifest payload/debian.manifest --out $@

dist: dist/dockyard-build dist/dockyard-installer-stub dist/dockyard-installer-stub.deps \
		build/debs/.complete
	dist/dockyard-build --level $(RELEASE_LEVEL) --cache $(CACHE) \
		--manifest payload/debian.manifest --out dist/dockyard-installer

# ---- aarch64: the same static stub cross-built for ARM hosts ----
# Debian's crossbuild-essential-arm64 and the :arm64 -dev packages (make deps).
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_STRIP ?= aarch64-linux-gnu-strip
ARM64_PKG_CONFIG ?= env PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
	$(PKG_CONFIG)
LIBS_STATIC_ARM64 = $(shell $(ARM64_PKG_CONFIG) --static --libs libarchive) -lzstd -ljansson \
	-lmbedcrypto -lpthread
ARM64_STUB := dist/aarch64/dockyard-installer-stub

build/aarch64/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC-A64  $<")
	$(Q)$(ARM64_CC) $(CFLAGS_REL) -c $< -o $@

build/aarch64/dockyard-installer-stub.full: $(call objs,aarch64,installer/main.c $(INSTALLER_LIB) $(VERIFY) $(COMMON))
	$(ARM64_CC) $(LDFLAGS_STATIC) -o $@ $^ $(LIBS_STATIC_ARM64)

$(ARM64_STUB): build/aarch64/dockyard-installer-stub.full
	@mkdir -p $(@D)
	$(ARM64_STRIP) -o $@ $<
	@file $@ | grep 'ARM aarch64' | grep -Eq 'statically linked|static-pie linked' || \
		{ echo "error: $@ is not a static aarch64 executable" >&2; rm -f $@; exit 1; }
	@echo "aarch64 installer stub: $$(stat -c %s $@) bytes, static, stripped"

dist/aarch64/dockyard-installer: dist/dockyard-build $(ARM64_STUB) payload/debian.manifest \
		payload/debian.lock build/debs/.complete $(wildcard scripts/*.sh)
	dist/dockyard-build -q --arch aarch64 --stub $(ARM64_STUB) --level $(LEVEL) \
		--cache $(CACHE) --manifest payload/debian.manifest --out $@

.PHONY: arm64
arm64: $(ARM64_STUB) dist/aarch64/dockyard-installer

# The tests run the aarch64 stub under qemu-aarch64-static; make bench
# reports the aarch64 installer's size.
check test bench: $(ARM64_STUB)

# ---- benchmarks: dockyard against plain tools (bench/run.py, docs/benchmarks.md) ----
#   make bench    every figure, BENCH_RUNS (5) runs each at BENCH_LEVEL (19);
#                 writes BENCHMARKS.md.  BENCH_ONLY=install,check,... a subset.
bench: dist/dockyard-build dist/dockyard-installer-stub build/debs/.complete
	BENCH_RUNS='$(BENCH_RUNS)' BENCH_LEVEL='$(BENCH_LEVEL)' BENCH_OUT='$(BENCH_OUT)' \
		BENCH_DIR='$(BENCH_DIR)' BENCH_ONLY='$(BENCH_ONLY)' python3 bench/run.py

# ---- soak: faults in a loop over instances (tests/t/t0026-soak.sh) ----
#   make soak     SOAK_ROUNDS (200) rounds; SOAK_SEED replays a run;
#                 SOAK_DAEMONS=debian uses Debian's dockerd (slow) instead of the stand-ins
SOAK_ROUNDS ?= 200
soak: dist/dockyard-build dist/dockyard-installer-stub debs
	SOAK_ROUNDS='$(SOAK_ROUNDS)' SOAK_SEED='$(SOAK_SEED)' SOAK_DAEMONS='$(SOAK_DAEMONS)' sh tests/t/t0026-soak.sh

# ---- sanitizer binaries (dynamic: ASan cannot run static executables) ----
build/asan/dockyard-build: $(call objs,asan,builder/main.c $(BUILDER_LIB) $(VERIFY) $(COMMON))
	$(CC) -fsanitize=address,undefined -o $@ $^ $(LIBS_DYN)

build/asan/dockyard-installer-stub: $(call objs,asan,installer/main.c $(INSTALLER_LIB) $(VERIFY) $(COMMON))
	$(CC) -fsanitize=address,undefined -o $@ $^ $(LIBS_DYN)

# ---- test programs ----
build/rel/unit/%: $(call objs,rel,tests/unit/%.c) $(call objs,rel,$(LIB_SRC))
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBS_DYN)

build/asan/unit/%: $(call objs,asan,tests/unit/%.c) $(call objs,asan,$(LIB_SRC))
	@mkdir -p $(@D)
	$(CC) -fsanitize=address,undefined -o $@ $^ $(LIBS_DYN)

# Test-only drivers (tests/tools/), in both flavours.
build/rel/dy-%: build/rel/tests/tools/dy-%.o $(call objs,rel,$(LIB_SRC))
	$(CC) -o $@ $^ $(LIBS_DYN)

build/asan/dy-%: build/asan/tests/tools/dy-%.o $(call objs,asan,$(LIB_SRC))
	$(CC) -fsanitize=address,undefined -o $@ $^ $(LIBS_DYN)

TOOLS := dy-forge dy-fetch dy-concat dy-render dy-shabench dy-subreaper
# dy-shabench measures nettle's SHA-256 beside the own one.
build/rel/dy-shabench build/asan/dy-shabench: LIBS_DYN += -lnettle
TEST_BINS := $(addprefix build/rel/unit/,$(UNIT_TESTS)) $(addprefix build/rel/,$(TOOLS))
ASAN_BINS := $(addprefix build/asan/unit/,$(UNIT_TESTS)) $(addprefix build/asan/,$(TOOLS)) \
	build/asan/dockyard-build build/asan/dockyard-installer-stub

asan: $(ASAN_BINS)

check test: all installer debs $(TEST_BINS) $(ASAN_BINS)
	tests/run.sh

unit: $(TEST_BINS)
	tests/run.sh --unit-only

demo: all installer debs
	tools/demo.sh

deps:
	tools/install-deps.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

lint:
	shellcheck -x $$(git ls-files '*.sh') .ci/run

clean:
	rm -rf build dist

# ---- install: the builder as a distro would ship it ----
# Manifests stay beside ../scripts and ../LICENSE, so their relative paths
# work from the installed tree as from a checkout.
PAYLOAD_FILES := payload/debian.manifest payload/debian.lock payload/dockyard.manifest \
	payload/dockyard.lock
MAN1 := $(wildcard man/*.1)
MAN5 := $(wildcard man/*.5)
MAN8 := $(wildcard man/*.8)
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/dockyard \
		$(DESTDIR)$(DATADIR)/dockyard/payload $(DESTDIR)$(DATADIR)/dockyard/scripts \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 dist/dockyard-build $(DESTDIR)$(BINDIR)/dockyard-build
	install -m 0755 dist/dockyard-installer-stub $(DESTDIR)$(LIBEXECDIR)/dockyard/
	install -m 0644 dist/dockyard-installer-stub.deps $(DESTDIR)$(LIBEXECDIR)/dockyard/
	install -m 0644 $(PAYLOAD_FILES) $(DESTDIR)$(DATADIR)/dockyard/payload/
	install -m 0644 scripts/[0-9]*.sh $(DESTDIR)$(DATADIR)/dockyard/scripts/
	install -m 0644 LICENSE $(DESTDIR)$(DATADIR)/dockyard/LICENSE
	$(if $(MAN1),install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN5),install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN8),install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/)
	$(if $(wildcard completion/dockyard.bash),install -m 0644 completion/dockyard.bash \
		$(DESTDIR)$(BASHCOMPDIR)/dockyard-build; \
	for c in dockyard-installer dockyardctl; do \
		ln -sf dockyard-build $(DESTDIR)$(BASHCOMPDIR)/$$c; done)
	install -m 0644 README.md docs/builder.md docs/installer.md docs/payload-format.md \
		$(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dockyard-build \
		$(DESTDIR)$(LIBEXECDIR)/dockyard/dockyard-installer-stub \
		$(DESTDIR)$(LIBEXECDIR)/dockyard/dockyard-installer-stub.deps \
		$(addprefix $(DESTDIR)$(DATADIR)/dockyard/,$(PAYLOAD_FILES)) \
		$(DESTDIR)$(DATADIR)/dockyard/scripts/[0-9]*.sh $(DESTDIR)$(DATADIR)/dockyard/LICENSE \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
		$(addprefix $(DESTDIR)$(BASHCOMPDIR)/,dockyard-build dockyard-installer dockyardctl) \
		$(addprefix $(DESTDIR)$(DOCDIR)/,README.md builder.md installer.md payload-format.md)
	-rmdir $(DESTDIR)$(LIBEXECDIR)/dockyard $(DESTDIR)$(DATADIR)/dockyard/payload \
		$(DESTDIR)$(DATADIR)/dockyard/scripts $(DESTDIR)$(DATADIR)/dockyard $(DESTDIR)$(DOCDIR)

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- fuzzing: libFuzzer harnesses (tests/fuzz/) -------------------------
#   make fuzz             build every harness, run each FUZZ_SECONDS (60) on
#                         a copy of its seed corpus; fails on any crash,
#                         leak or sanitizer report
#   make fuzz-build       only build them (build/fuzz/fuzz_NAME)
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 $(WARN) $(FUZZ_SAN) -MMD -MP
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(addprefix build/fuzz/fuzz_,$(FUZZ_NAMES))

# Library objects carry coverage instrumentation (fuzzer-no-link); only the
# harness links libFuzzer's main.
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC-FUZZ $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o $(call objs,fuzz/obj,$(LIB_SRC))
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS_DYN)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)
# ---- end of fuzzing -----------------------------------------------------

# ---- hardening: attack the installer and count what it refused ----
# The full form (t0051 runs a bounded one): 1000 seeded byte flips and
# truncation at every 1% of a small installer, hostile dockyard.env files,
# hostile roots in --sysroot trees, modes under any umask.  HARDEN_SEED=N
# replays a run (a list: HARDEN_SEED=1,2,3; the regression seeds in
# harden.py run every time); HARDEN_BIN=build/asan attacks the sanitizer build.
HARDEN_BIN ?= dist
.PHONY: hardening
hardening: $(HARDEN_BIN)/dockyard-build $(HARDEN_BIN)/dockyard-installer-stub
	DY_BIN=$(abspath $(HARDEN_BIN)) python3 tests/hardening/harden.py --full \
		$(if $(HARDEN_SEED),--seed $(HARDEN_SEED))
