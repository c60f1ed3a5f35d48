#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Attack dockyard-installer and count what it refused (test-only).

    harden.py [--full] [--seed N[,N...]]... [--section NAME]... [--figures FILE]
    harden.py --summary FILE

Sections (all by default):

  installer  a small installer with single bytes flipped (seeded positions
             in the unmapped tail of the stub, the payload, the metadata
             and the trailer; 60 per seed, 1000 with --full), truncated at
             every 1% (--full) or 10% of its length, and extended; every
             variant must be refused by `check`, `list`, `--version`,
             `preflight`, `plan`, `extract DIR` and `install --sysroot T
             --root /opt/x` with exit 1 and ONE message, the corrupt one:
             "error: FILE: installer is corrupt or truncated" (no other
             error or warning, nothing on standard output but --version's
             first line), without a crash, and without writing anything
             under DIR, T/opt/x or anywhere else in T.
  env        hostile dockyard.env files through gen-env and plan: bad CIDRs,
             overlaps, prefixes, pool sizes, CRLF, $(...) and backticks,
             unknown and duplicate keys, NUL bytes; exit 2 naming the value
             or FILE:LINE, no output file, no marker file.
  paths      --sysroot trees with a symlinked root, an absolute symlink
             leaving the tree, a root inside or around a registered
             instance, world-writable parents; refused, nothing written.
  modes      installs into a sysroot under umask 077, 000 and 022 give the
             same explicit modes.

Every case is one "tried"; it is "refused correctly" when every command
run on it refused (or, for controls and the modes check, behaved as
specified).  A command killed by a signal, a sanitizer report (exit 86)
or one that does not end within 30 s counts as a crash; a success as
"accepted"; a wrong exit status or a message that does not name the file,
value or line as "unclear".  The figures are written as JSON lines to --figures and
printed; --summary adds them up:

    hardening: 1103 tried, 1103 refused correctly, 0 crashes,
    0 wrote under the target, 0 left behind

Binaries come from $DY_BIN (dist/ by default): dockyard-build and
dockyard-installer-stub.  A failure names the seed and the variant, so
`harden.py --seed N --section installer` replays it.

Seeds: --seed takes a comma-separated list and may be repeated; each seed
gets its own flips (truncation, extension and the other sections do not
depend on the seed and run once).  Every seed that ever found a bug is
kept in REGRESSION_SEEDS and runs every time, whatever seeds are given.

Why the stub is only attacked in its tail: a flipped byte in the stub's
machine code, or in data the loader maps (glibc's stdio vtables sit in the
last pages of a static binary), can crash the program before it has
checked anything; no program can verify its own code before that code
runs.  Flips therefore go to the last 4 KiB of the stub, limited to the
bytes after the end of its last PT_LOAD segment (section headers, section
names, comments: never mapped, covered only by the digest).  Flips
anywhere in the stub are checked from an intact installer by t0003.
Truncated files are inspected through an intact installer (--image): a
file cut inside its stub may not even execute.
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

SRC_DIR = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
DY_BIN = os.environ.get("DY_BIN", os.path.join(SRC_DIR, "dist"))
BUILD = os.path.join(DY_BIN, "dockyard-build")
STUB = os.path.join(DY_BIN, "dockyard-installer-stub")
TIMEOUT = 30
SANITIZER_EXIT = 86  # tests/run.sh makes ASan/UBSan reports exit 86

# Seeds that once found a bug; run every time (see the docstring).
#   25604: a flipped metadata byte was reported as "the payload has no
#          bin/dockyardctl" by install, before the digest was checked.
REGRESSION_SEEDS = (25604,)

ROOT = "/opt/x"
PFX = "hd%d" % (os.getpid() % 100000)
NETFLAGS = ["--prefix", PFX, "--bridge-cidr", "172.30.201.1/24", "--fixed-cidr",
            "172.30.201.0/24", "--pool-base", "172.29.0.0/16", "--pool-size", "24"]
INSTALL = ["--no-start", "--no-systemd", "--no-images"]

for name, value in (("ASAN_OPTIONS", "exitcode=86:abort_on_error=0:detect_leaks=1"),
                    ("UBSAN_OPTIONS", "exitcode=86:print_stacktrace=1:halt_on_error=1"),
                    ("LSAN_OPTIONS", "exitcode=86")):
    os.environ.setdefault(name, value)


# ---- bookkeeping ----

class Tally:
    """Figures of one section; a case fails on its first problem."""

    KINDS = ("crash", "accepted", "unclear", "wrote", "left")

    def __init__(self, section):
        self.section = section
        self.tried = 0
        self.ok = 0
        self.runs = 0
        self.count = {k: 0 for k in self.KINDS}
        self.failures = []
        self.failed_seeds = []

    def case(self, what, problems):
        """problems: list of (kind, detail); empty means refused correctly."""
        self.tried += 1
        if not problems:
            self.ok += 1
            return
        for kind in sorted({k for k, _ in problems}):
            self.count[kind] += 1
        self.failures.append("%s: %s" % (what, "; ".join(d for _, d in problems)))

    def figures(self):
        return {"section": self.section, "tried": self.tried, "ok": self.ok,
                "runs": self.runs, **self.count}


def line_of(f):
    return ("%(tried)d tried, %(ok)d refused correctly, %(crash)d crashes, "
            "%(wrote)d wrote under the target, %(left)d left behind "
            "(%(accepted)d accepted, %(unclear)d unclear messages)" % f)


def run(tally, argv, cwd=None, umask=None):
    """Run argv; (rc, stderr).  A signal or a timeout is rc -1000-ish."""
    rc, _, err = run_out(tally, argv, cwd, umask)
    return rc, err


def run_out(tally, argv, cwd=None, umask=None):
    """Run argv; (rc, stdout, stderr)."""
    tally.runs += 1
    pre = (lambda: os.umask(umask)) if umask is not None else None
    try:
        p = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT, preexec_fn=pre)
    except subprocess.TimeoutExpired:
        return -1000, "", "timed out after %d s" % TIMEOUT
    except OSError as e:
        return -1001, "", "cannot run %s: %s" % (argv[0], e)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def judge(rc, err, cmd, want_rc=None, pattern=None):
    """Problems of one refused command: it must fail cleanly and say why."""
    if rc < 0 or rc > 128 or rc == SANITIZER_EXIT:
        return [("crash", "%s died (exit %d): %s" % (cmd, rc, err.strip()[-300:]))]
    if rc == 0:
        return [("accepted", "%s succeeded" % cmd)]
    if want_rc is not None and rc != want_rc:
        return [("unclear", "%s exited %d, not %d: %s" % (cmd, rc, want_rc, err.strip()))]
    if "error: " not in err or (pattern and not re.search(pattern, err)):
        return [("unclear", "%s: message lacks %r: %s" % (cmd, pattern, err.strip()[-300:]))]
    return []


CORRUPT = "installer is corrupt or truncated"


def judge_corrupt(rc, out, err, cmd, path, out_ok=""):
    """Problems of one command on a damaged file: exit 1 and exactly one
    message, the corrupt one naming path; no other error or warning first,
    and nothing on stdout (but out_ok, --version's line about the stub)."""
    problems = judge(rc, err, cmd, 1)
    if problems:
        return problems
    said = [line for line in err.splitlines() if "error: " in line or "warning: " in line]
    want = re.compile(r"error: %s: %s(: |$)" % (re.escape(path), CORRUPT))
    if len(said) != 1 or not want.search(said[0]):
        return [("unclear", "%s: want one message 'error: %s: %s...', got: %s"
                 % (cmd, path, CORRUPT, " | ".join(said)[-400:] or err.strip()[-300:]))]
    if out.strip() != out_ok.strip():
        return [("unclear", "%s printed from a corrupt file: %s" % (cmd, out.strip()[:200]))]
    return []


def snapshot(top):
    """Every path below top: type, mode, owner, size and content digest."""
    out = {}
    if not os.path.lexists(top):
        return out
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            item = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    item += (hashlib.sha256(f.read()).hexdigest(),)
            elif stat.S_ISLNK(st.st_mode):
                item += (os.readlink(p),)
            out[os.path.relpath(p, top)] = item
    return out


def host_objects():
    """Problems if the host's user or group database names this run's prefix."""
    found = []
    for db in ("/etc/passwd", "/etc/group"):
        with open(db) as f:
            if any(line.startswith(PFX + "docker:") for line in f):
                found.append(("left", "%s has %sdocker" % (db, PFX)))
    return found


class Sysroot:
    """An image tree with a copy of the host's user databases."""

    FILES = ("passwd", "group", "shadow", "gshadow", "login.defs")

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "etc"))
        for f in self.FILES:
            if os.path.exists("/etc/" + f):
                shutil.copy2("/etc/" + f, os.path.join(path, "etc", f))
        self.pristine = snapshot(path)

    def changes(self, target=ROOT):
        """Problems: what changed at or below target ("wrote") and elsewhere."""
        now = snapshot(self.path)
        rel = target.lstrip("/")
        diff = sorted(p for p in set(now) | set(self.pristine)
                      if now.get(p) != self.pristine.get(p))
        inside = [p for p in diff if p == rel or p.startswith(rel + "/")]
        other = [p for p in diff if p not in inside]
        problems = []
        if inside:
            problems.append(("wrote", "wrote %s in the sysroot" % ", ".join(inside[:6])))
        if other:
            problems.append(("left", "changed in the sysroot: %s" % ", ".join(other[:6])))
        return problems

    def reset(self):
        if snapshot(self.path) == self.pristine:
            return
        shutil.rmtree(self.path)
        self.__init__(self.path)


# ---- the installer file ----

def make_installer(work, name="inst"):
    """A small installer: stand-in daemons, dockyardctl, a 300 KB blob."""
    src = os.path.join(work, "payload")
    if not os.path.isdir(src):
        os.makedirs(src)
        for f in ("containerd", "dockerd"):
            shutil.copy2(os.path.join(SRC_DIR, "tests", "standins", f), src)
        with open(os.path.join(src, "cli"), "w") as f:
            f.write("#!/bin/sh\necho cli\n")
        shutil.copytree(os.path.join(SRC_DIR, "scripts"), os.path.join(src, "scripts"))
        with open(os.path.join(src, "blob"), "wb") as f:
            f.write(random.Random(7).randbytes(300000))
        with open(os.path.join(src, "test.manifest"), "w") as f:
            f.write("[component engine]\nversion = 1.0.0-test\n"
                    "file dockerd -> bin/dockerd 0755\n"
                    "file containerd -> bin/containerd 0755\n"
                    "file cli -> bin/docker-cli 0755\n"
                    "file blob -> share/blob.bin 0644\n\n"
                    "[component dockyardctl]\nversion = 0.1.0\n"
                    "concat scripts -> bin/dockyardctl 0755\n")
    out = os.path.join(work, name)
    subprocess.run([BUILD, "-q", "--level", "3", "--stub", STUB, "--manifest",
                    os.path.join(src, "test.manifest"), "--out", out], check=True)
    return out


def regions(data):
    """(name, start, end) of the parts a flip may hit; see the docstring."""
    trailer = len(data) - 256
    payload_off, = struct.unpack_from("<Q", data, trailer + 24)
    meta_off, = struct.unpack_from("<Q", data, trailer + 40)
    return [("stub tail", stub_tail_start(data, payload_off), payload_off),
            ("payload", payload_off, meta_off),
            ("metadata", meta_off, trailer),
            ("trailer", trailer, len(data))]


def stub_tail_start(data, stub_len):
    """Start of the last 4 KiB of the stub, past every PT_LOAD extent."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise SystemExit("harden: the stub is not a 64-bit ELF file")
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    end = 0
    for i in range(phnum):
        p_type, _, p_offset = struct.unpack_from("<IIQ", data, phoff + i * phentsize)
        p_filesz, = struct.unpack_from("<Q", data, phoff + i * phentsize + 32)
        if p_type == 1:  # PT_LOAD
            end = max(end, p_offset + p_filesz)
    start = max(stub_len - 4096, end)
    if start >= stub_len:
        raise SystemExit("harden: the stub has no unmapped tail to attack")
    return start


def flips(data, count, rng):
    """count (position, xor) pairs, round-robin over the regions."""
    parts = regions(data)
    out = []
    for i in range(count):
        name, lo, hi = parts[i % len(parts)]
        out.append((name, rng.randrange(lo, hi), rng.randrange(1, 256)))
    return out


def attack_file(tally, work, inst, bad, how, what):
    """Every command that reads the file bad, from `check` to install:
    problems of all of them (see judge_corrupt)."""
    sysroot = work["sysroot"]
    site = work["site"]
    if how == "self":
        prog = [bad]
    else:
        prog = [inst, "--image", bad]
    where = ["--sysroot", sysroot.path, "--root", ROOT]
    problems = []
    if "version" not in work:  # the stub's own line, printed before any check
        work["version"] = run_out(tally, [inst, "--version"])[1].splitlines()[0]
    version = work["version"]
    for cmd, args, out_ok in (("check", ["check"], ""), ("list", ["list"], ""),
                              ("--version", ["--version"], version),
                              ("preflight", ["preflight"] + where, ""),
                              ("plan", ["plan"] + where + NETFLAGS + INSTALL, "")):
        rc, out, err = run_out(tally, prog + args)
        problems += judge_corrupt(rc, out, err, cmd, bad, out_ok)
    rc, out, err = run_out(tally, prog + ["extract", os.path.join(site, "target")])
    problems += judge_corrupt(rc, out, err, "extract", bad)
    left = os.listdir(site)
    if "target" in left and os.listdir(os.path.join(site, "target")):
        problems.append(("wrote", "extract wrote into its target"))
    if [f for f in left if f != "target"]:
        problems.append(("left", "extract left %s" % ", ".join(left)))
    shutil.rmtree(site)
    os.mkdir(site)
    rc, out, err = run_out(tally, prog + where + NETFLAGS + INSTALL)
    problems += judge_corrupt(rc, out, err, "install", bad)
    problems += sysroot.changes() + host_objects()
    sysroot.reset()
    tally.case(what, problems)


def control_install(tally, work, inst):
    """The intact file passes everything: the refusals mean something."""
    sysroot = work["sysroot"]
    where = ["--sysroot", sysroot.path, "--root", ROOT]
    problems = []
    for argv in ([inst, "check"], [inst, "list"], [inst, "--version"],
                 [inst, "preflight"] + where, [inst, "plan"] + where + NETFLAGS + INSTALL,
                 [inst, "extract", os.path.join(work["site"], "target")],
                 [inst] + where + NETFLAGS + INSTALL):
        rc, out, err = run_out(tally, argv)
        if rc != 0 or (argv[1] != "preflight" and not out.strip() and argv[1] in
                       ("list", "--version", "plan")):
            problems.append(("unclear", "intact %s failed (%d): %s" % (argv[1], rc, err)))
    if not os.path.isfile(os.path.join(sysroot.path, ROOT[1:], "etc", "daemon.json")):
        problems.append(("unclear", "intact install wrote no etc/daemon.json"))
    shutil.rmtree(work["site"])
    os.mkdir(work["site"])
    sysroot.reset()
    return problems


def section_installer(tally, work, args):
    inst = work["inst"]
    with open(inst, "rb") as f:
        data = f.read()
    problems = control_install(tally, work, inst)
    if problems:
        tally.case("control: the intact installer", problems)
        return
    nflips = 1000 if args.full else 60
    step = 1 if args.full else 10
    bad = os.path.join(work["dir"], "bad")
    per = {}
    for seed in args.seeds:
        before = len(tally.failures)
        for name, pos, xor in flips(data, nflips, random.Random(seed)):
            b = bytearray(data)
            b[pos] ^= xor
            write_exec(bad, b)
            per[name] = per.get(name, 0) + 1
            attack_file(tally, work, inst, bad, "self",
                        "flip %s byte %d ^ 0x%02x (seed %d)" % (name, pos, xor, seed))
        if len(tally.failures) > before:
            tally.failed_seeds.append(seed)
        print("# seed %d: %d flips, %d failed" % (seed, nflips, len(tally.failures) - before),
              flush=True)
    for pct in range(0, 100, step):
        n = len(data) * pct // 100
        write_exec(bad, data[:n])
        attack_file(tally, work, inst, bad, "image", "truncated to %d bytes (%d%%)" % (n, pct))
    for extra in (b"\0", bytes(4096)):
        write_exec(bad, data + extra)
        attack_file(tally, work, inst, bad, "self", "extended by %d bytes" % len(extra))
    fifo = os.path.join(work["dir"], "fifo")
    os.mkfifo(fifo)
    rc, err = run(tally, [inst, "--image", fifo, "check"])
    tally.case("a FIFO as --image (must not wait for a writer)",
               judge(rc, err, "check", pattern=r"fifo is not a regular file"))
    os.unlink(fifo)
    print("# installer: %d bytes; %d seeds; flips per region: %s; truncation every %d%%"
          % (len(data), len(args.seeds), ", ".join("%s %d" % kv for kv in sorted(per.items())),
             step))
    if tally.failed_seeds:
        print("# failing seeds (keep them in REGRESSION_SEEDS): %s"
              % ",".join(str(x) for x in tally.failed_seeds))


def write_exec(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o755)
    os.rename(tmp, path)


# ---- dockyard.env ----

GOOD_ENV = ("DOCKYARD_ROOT=/opt/x\nDOCKYARD_DOCKER_PREFIX=%s\n"
            "DOCKYARD_BRIDGE_CIDR=172.30.201.1/24\nDOCKYARD_FIXED_CIDR=172.30.201.0/24\n"
            "DOCKYARD_POOL_BASE=172.29.0.0/16\nDOCKYARD_POOL_SIZE=24\n" % PFX)


def env_with(key, value):
    """GOOD_ENV with key's line replaced by KEY=value."""
    return re.sub("^%s=.*$" % key, lambda m: "%s=%s" % (key, value), GOOD_ENV, flags=re.M)


def env_cases(marker):
    """(what, text, pattern): each must be refused with exit 2 and pattern."""
    m = marker
    c = [
        ("octet above 255", env_with("DOCKYARD_BRIDGE_CIDR", "172.30.300.1/24"),
         r"env:3: DOCKYARD_BRIDGE_CIDR '172\.30\.300\.1/24'.*above 255"),
        ("three octets", env_with("DOCKYARD_FIXED_CIDR", "172.30.201/24"),
         r"env:4: .*'172\.30\.201/24' is not an IPv4 CIDR"),
        ("no prefix length", env_with("DOCKYARD_FIXED_CIDR", "172.30.201.0"),
         r"'172\.30\.201\.0'.*prefix length"),
        ("prefix length 33", env_with("DOCKYARD_POOL_BASE", "172.29.0.0/33"),
         r"'172\.29\.0\.0/33'.*above 32"),
        ("leading zero (octal)", env_with("DOCKYARD_BRIDGE_CIDR", "172.030.201.1/24"),
         r"'030' has a leading zero"),
        ("hex octet", env_with("DOCKYARD_BRIDGE_CIDR", "0xac.30.201.1/24"),
         r"'0xac\.30\.201\.1/24'"),
        ("IPv6", env_with("DOCKYARD_POOL_BASE", "fd00::/64"), r"'fd00::/64'"),
        ("empty CIDR", env_with("DOCKYARD_FIXED_CIDR", ""),
         r"env:4: DOCKYARD_FIXED_CIDR ''"),
        ("host bits in the fixed CIDR", env_with("DOCKYARD_FIXED_CIDR", "172.30.201.9/24"),
         r"DOCKYARD_FIXED_CIDR 172\.30\.201\.9/24 has host bits"),
        ("host bits in the pool", env_with("DOCKYARD_POOL_BASE", "172.29.1.0/16"),
         r"DOCKYARD_POOL_BASE 172\.29\.1\.0/16 has host bits"),
        ("pool overlapping the fixed CIDR", env_with("DOCKYARD_POOL_BASE", "172.30.0.0/16"),
         r"DOCKYARD_POOL_BASE 172\.30\.0\.0/16 overlaps DOCKYARD_FIXED_CIDR 172\.30\.201\.0/24"),
        ("pool equal to the fixed CIDR", env_with("DOCKYARD_POOL_BASE", "172.30.201.0/24"),
         r"DOCKYARD_POOL_BASE 172\.30\.201\.0/24 overlaps"),
        ("bridge outside the fixed CIDR", env_with("DOCKYARD_BRIDGE_CIDR", "172.30.202.1/24"),
         r"DOCKYARD_BRIDGE_CIDR 172\.30\.202\.1/24 is not inside"),
        ("bridge on the network address", env_with("DOCKYARD_BRIDGE_CIDR", "172.30.201.0/24"),
         r"172\.30\.201\.0/24 is the network address"),
        ("bridge on the broadcast address",
         env_with("DOCKYARD_BRIDGE_CIDR", "172.30.201.255/24"),
         r"172\.30\.201\.255/24 is the broadcast address"),
        ("prefix of 9 characters", env_with("DOCKYARD_DOCKER_PREFIX", "abcdefghi"),
         r"'abcdefghi' is 9 characters.*15-character"),
        ("prefix with a capital", env_with("DOCKYARD_DOCKER_PREFIX", "Dy1"),
         r"'Dy1' contains 'D'"),
        ("prefix with a dash", env_with("DOCKYARD_DOCKER_PREFIX", "dy-1"), r"'dy-1' contains '-'"),
        ("prefix with a space", env_with("DOCKYARD_DOCKER_PREFIX", "'dy 1'"),
         r"'dy 1' contains a space"),
        ("prefix with a semicolon", env_with("DOCKYARD_DOCKER_PREFIX", "dy1;id"),
         r"'dy1;id' contains ';'"),
        ("empty prefix", env_with("DOCKYARD_DOCKER_PREFIX", ""), r"DOCKYARD_DOCKER_PREFIX is empty"),
        ("pool size 0", env_with("DOCKYARD_POOL_SIZE", "0"), r"DOCKYARD_POOL_SIZE 0 is not"),
        ("pool size 31", env_with("DOCKYARD_POOL_SIZE", "31"), r"DOCKYARD_POOL_SIZE 31 is not"),
        ("pool size text", env_with("DOCKYARD_POOL_SIZE", "24x"), r"DOCKYARD_POOL_SIZE '24x'"),
        ("pool size above the pool", env_with("DOCKYARD_POOL_SIZE", "12"),
         r"DOCKYARD_POOL_SIZE.*12"),
        ("another root", env_with("DOCKYARD_ROOT", "/opt/other"),
         r"env says DOCKYARD_ROOT=/opt/other, but the root given is /opt/x"),
        ("relative root", env_with("DOCKYARD_ROOT", "opt/x"), r"'opt/x' is not an absolute"),
        ("root with a glob", env_with("DOCKYARD_ROOT", "/opt/x*"), r"'/opt/x\*' contains '\*'"),
        ("CRLF line endings", GOOD_ENV.replace("\n", "\r\n"), r"env:1: carriage return"),
        ("one CR in the middle", GOOD_ENV.replace("/24\n", "/24\r\n", 1), r"env:3: carriage"),
        ("$(command) substitution", env_with("DOCKYARD_DOCKER_PREFIX", "$(touch %s)" % m),
         r"env:2: the value of DOCKYARD_DOCKER_PREFIX contains '\$'"),
        ("backticks", env_with("DOCKYARD_DOCKER_PREFIX", "`touch %s`" % m),
         r"env:2: .*contains '`'"),
        ("backticks in single quotes", env_with("DOCKYARD_ROOT", "'/opt/x`touch %s`'" % m),
         r"env:1: .*contains '`'"),
        ("$(...) in another tool's variable", GOOD_ENV + "OTHER=$(touch %s)\n" % m,
         r"env:7: the value of OTHER contains '\$'"),
        ("${VAR} expansion", env_with("DOCKYARD_ROOT", "${HOME}/x"), r"env:1: .*contains '\$'"),
        ("a backslash", env_with("DOCKYARD_DOCKER_PREFIX", "dy\\1"), r"env:2: .*contains '\\'"),
        ("a command line", GOOD_ENV + "touch %s\n" % m, r"env:7: expected KEY=VALUE"),
        ("two commands on a line", env_with("DOCKYARD_POOL_SIZE", "24; touch %s" % m),
         r"env:6: DOCKYARD_POOL_SIZE: text after the value"),
        ("unterminated quote", env_with("DOCKYARD_ROOT", "'/opt/x"),
         r"env:1: DOCKYARD_ROOT: unterminated quote"),
        ("quote inside a bare value", env_with("DOCKYARD_ROOT", "/opt/x'y'"),
         r"env:1: DOCKYARD_ROOT: quote inside"),
        ("spaces around =", GOOD_ENV.replace("DOCKYARD_POOL_SIZE=", "DOCKYARD_POOL_SIZE = "),
         r"env:6: 'DOCKYARD_POOL_SIZE ' is not a variable name"),
        ("unknown DOCKYARD_ key", GOOD_ENV + "DOCKYARD_COLOUR=blue\n",
         r"env:7: unknown key DOCKYARD_COLOUR"),
        ("lower-case key", GOOD_ENV + "DOCKYARD_root=/x\n", r"env:7: unknown key DOCKYARD_root"),
        ("duplicate key", GOOD_ENV + "DOCKYARD_POOL_SIZE=24\n",
         r"env:7: DOCKYARD_POOL_SIZE is set twice \(first on line 6\)"),
        ("duplicate key, same value via export", GOOD_ENV + "export DOCKYARD_ROOT=/opt/x\n",
         r"env:7: DOCKYARD_ROOT is set twice"),
        ("NUL byte", GOOD_ENV + "\0\n", r"env: contains a NUL byte"),
        ("a line of 5000 bytes", "# " + "x" * 5000 + "\n" + GOOD_ENV, r"env:1: line longer"),
        ("a file of 70 KB", ("#" * 99 + "\n") * 700 + GOOD_ENV, r"env is not a regular file of"),
    ]
    return c


def env_special(work):
    """Files that are not regular: (what, path, pattern)."""
    d = work["dir"]
    link = os.path.join(d, "env-link")
    os.symlink(os.path.join(d, "good.env"), link)
    fifo = os.path.join(d, "env-fifo")
    os.mkfifo(fifo)
    return [("a symlinked env file", link, r"cannot open .*env-link"),
            ("a directory as env file", d, r"is not a regular file"),
            ("a FIFO as env file", fifo, r"env-fifo is not a regular file"),
            ("a missing env file", os.path.join(d, "none.env"), r"cannot open .*none\.env")]


def refuse_env(tally, work, what, path, pattern, marker):
    """gen-env and plan refuse path with exit 2 naming it; nothing appears."""
    inst, sysroot = work["inst"], work["sysroot"]
    out = os.path.join(work["dir"], "out.env")
    problems = []
    rc, err = run(tally, [inst, "gen-env", "--sysroot", sysroot.path, "--root", ROOT, "--env",
                          path, "--out", out])
    problems += judge(rc, err, "gen-env", 2, pattern)
    rc, err = run(tally, [inst, "plan", "--sysroot", sysroot.path, "--root", ROOT, "--env", path])
    problems += judge(rc, err, "plan", 2, pattern)
    if os.path.lexists(out):
        problems.append(("wrote", "gen-env wrote %s" % out))
        os.unlink(out)
    if os.path.lexists(marker):
        problems.append(("wrote", "the env file ran a command: %s exists" % marker))
        os.unlink(marker)
    problems += sysroot.changes()
    sysroot.reset()
    tally.case("env: " + what, problems)


def env_controls(tally, work):
    """Good files are accepted; missing keys are generated, given ones kept."""
    inst, d = work["inst"], work["dir"]
    # In an image tree: the host's routes (other instances' bridges) do not count.
    tree = ["--sysroot", work["sysroot"].path]
    problems = []
    good = os.path.join(d, "good.env")
    with open(good, "w") as f:
        f.write("# comment\nexport " + GOOD_ENV + "OTHER_TOOL=whatever\n")
    rc, err = run(tally, [inst, "gen-env", "--root", ROOT, "--env", good] + tree)
    if rc != 0:
        problems.append(("unclear", "a good env file was refused: %s" % err))
    partial = os.path.join(d, "partial.env")
    with open(partial, "w") as f:
        f.write("DOCKYARD_FIXED_CIDR=172.30.201.0/24\n")
    p = subprocess.run([inst, "gen-env", "--root", ROOT, "--env", partial] + tree,
                       capture_output=True, text=True)
    tally.runs += 1
    want = ["DOCKYARD_ROOT=/opt/x", "DOCKYARD_FIXED_CIDR=172.30.201.0/24",
            "DOCKYARD_BRIDGE_CIDR=172.30.201.1/24"]
    lines = p.stdout.splitlines()
    if p.returncode != 0 or any(w not in lines for w in want) or \
            not any(re.match(r"DOCKYARD_POOL_BASE=172\.(1[6-9]|2\d|3[01])\.(\d+)\.0/20$", x)
                    for x in lines) or \
            not any(re.match(r"DOCKYARD_DOCKER_PREFIX=dy\d+$", x) for x in lines):
        problems.append(("unclear", "missing keys were not generated around the given one: "
                         "%s %s" % (p.stdout, p.stderr)))
    return problems


def section_env(tally, work, args):
    marker = os.path.join(work["dir"], "MARKER")
    problems = env_controls(tally, work)
    if problems:
        tally.case("env: controls", problems)
        return
    path = os.path.join(work["dir"], "env")
    for what, text, pattern in env_cases(marker):
        with open(path, "w", newline="") as f:
            f.write(text)
        refuse_env(tally, work, what, path, pattern, marker)
    for what, p, pattern in env_special(work):
        refuse_env(tally, work, what, p, pattern, marker)
    # The root's own etc/dockyard.env (a re-run) is read the same way.
    sysroot = work["sysroot"]
    etc = os.path.join(sysroot.path, ROOT[1:], "etc")
    os.makedirs(etc)
    with open(os.path.join(etc, "dockyard.env"), "w") as f:
        f.write(env_with("DOCKYARD_DOCKER_PREFIX", "$(touch %s)" % marker))
    sysroot.pristine = snapshot(sysroot.path)
    problems = []
    for cmd in (["plan"], []):
        rc, err = run(tally, [work["inst"]] + cmd + ["--sysroot", sysroot.path, "--root", ROOT]
                      + INSTALL)
        problems += judge(rc, err, "plan" if cmd else "install", 2,
                          r"opt/x/etc/dockyard\.env:2: .*contains '\$'")
    if os.path.lexists(marker):
        problems.append(("wrote", "the root's dockyard.env ran a command"))
    problems += [p for p in sysroot.changes() if p[0] != "wrote"]
    tally.case("env: $(...) in the root's own etc/dockyard.env", problems)
    shutil.rmtree(sysroot.path)
    sysroot.__init__(sysroot.path)


# ---- privilege and paths ----

def path_cases(tree, outside):
    """(what, setup, root, extra args, pattern); setup(tree) builds the tree."""
    t = tree

    def mk(*dirs, mode=None):
        for d in dirs:
            os.makedirs(os.path.join(t, d), exist_ok=True)
            if mode is not None:
                os.chmod(os.path.join(t, d), mode)

    def link(target, name):
        os.makedirs(os.path.dirname(os.path.join(t, name)), exist_ok=True)
        os.symlink(target, os.path.join(t, name))

    def instance(prefix, root):
        mk("etc/dockyard/instances", root.lstrip("/") + "/etc")
        with open(os.path.join(t, "etc/dockyard/instances", prefix), "w") as f:
            f.write(root + "\n")
        with open(os.path.join(t, root.lstrip("/"), "etc/dockyard.env"), "w") as f:
            f.write("DOCKYARD_ROOT=%s\nDOCKYARD_DOCKER_PREFIX=%s\n"
                    "DOCKYARD_BRIDGE_CIDR=172.30.77.1/24\nDOCKYARD_FIXED_CIDR=172.30.77.0/24\n"
                    "DOCKYARD_POOL_BASE=172.28.0.0/16\nDOCKYARD_POOL_SIZE=24\n" % (root, prefix))

    return [
        ("a symlinked root (relative link)",
         lambda: (mk("srv/real"), link("real", "srv/lnk")), "/srv/lnk", [],
         r"root .*/srv/lnk is a symbolic link"),
        ("a symlinked root pointing out of the sysroot",
         lambda: link(outside, "srv/out"), "/srv/out", [], r"/srv/out is a symbolic link"),
        ("a dangling symlink as root",
         lambda: link("/nonexistent-dockyard-target", "srv/dangle"), "/srv/dangle", [],
         r"/srv/dangle is a symbolic link"),
        ("an absolute symlink on the way leaves the sysroot",
         lambda: (os.makedirs(os.path.join(outside, "x"), exist_ok=True), link(outside, "opt")),
         "/opt/x/y", [], r"/opt.*symbolic link"),
        ("a root inside a registered instance",
         lambda: instance("ab1", "/opt/a"), "/opt/a/inner", [],
         r"DOCKYARD_ROOT /opt/a/inner is inside the root /opt/a of instance ab1"),
        ("a root around a registered instance",
         lambda: instance("ab1", "/srv/deep/a"), "/srv/deep", [],
         r"DOCKYARD_ROOT /srv/deep contains the root /srv/deep/a of instance ab1"),
        ("another instance's root under another prefix",
         lambda: instance("ab1", "/opt/a"), "/opt/a", ["--prefix", PFX],
         r"DOCKYARD_ROOT /opt/a is already the root of instance ab1"),
        ("another instance's prefix",
         lambda: instance(PFX, "/opt/a"), "/opt/b", ["--prefix", PFX],
         r"'%s' \(root /opt/b\) is taken by the instance %s registered with root /opt/a"
         % (PFX, PFX)),
        ("a world-writable parent without the sticky bit",
         lambda: mk("ww", mode=0o777), "/ww/x", [], r"/ww is world-writable without the sticky"),
        ("a world-writable grandparent without the sticky bit",
         lambda: (mk("ww2", mode=0o777), mk("ww2/sub", mode=0o755)), "/ww2/sub/x", [],
         r"/ww2 is world-writable without the sticky"),
        ("a world-writable existing root",
         lambda: mk("wroot", mode=0o777), "/wroot", [], r"/wroot is world-writable"),
        ("a root that is a file",
         lambda: (mk("srv"), open(os.path.join(t, "srv/file"), "w").close()), "/srv/file", [],
         r"root .*/srv/file exists and is not a directory"),
        ("a relative root", None, "opt/x", [], r"'opt/x' is not an absolute path"),
        ("the root directory", None, "/", [], r"DOCKYARD_ROOT '/' is the root directory"),
        ("a .. component", None, "/opt/../etc", [], r"has a '\.\.' component"),
        ("an empty component", None, "/opt//x", [], r"has an empty component"),
        ("a space in the root", None, "/opt/a b", [], r"'/opt/a b' contains a space"),
        ("a newline in the root", None, "/opt/a\nb", [], r"contains byte 0x0a"),
        ("a root too long for the sockets", None, "/" + "a" * 100, [], r"/a{100}"),
    ]


def section_paths(tally, work, args):
    inst = work["inst"]
    base = os.path.join(work["dir"], "paths")
    outside = os.path.join(work["dir"], "outside")
    sticky_ok = control_sticky(tally, work, base)
    if sticky_ok:
        tally.case("paths: controls", sticky_ok)
        return
    for what, setup, root, extra, pattern in path_cases(os.path.join(base, "t"), outside):
        for cmd in ("plan", "install"):
            shutil.rmtree(base, ignore_errors=True)
            shutil.rmtree(outside, ignore_errors=True)
            os.makedirs(outside)
            tree = Sysroot(os.path.join(base, "t"))
            if setup:
                setup()
            tree.pristine = snapshot(tree.path)
            before_out = snapshot(outside)
            flags = ["--prefix", PFX] if "--prefix" not in extra else []
            rc, err = run(tally, [inst] + ([cmd] if cmd == "plan" else []) +
                          ["--sysroot", tree.path, "--root", root] + flags + extra + INSTALL)
            problems = judge(rc, err, cmd, 2, pattern)
            problems += tree.changes(root)
            if snapshot(outside) != before_out:
                problems.append(("wrote", "%s wrote outside the sysroot: %s" %
                                 (cmd, ", ".join(sorted(snapshot(outside))[:6]))))
            problems += host_objects()
            tally.case("paths: %s (%s)" % (what, cmd), problems)
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(outside, ignore_errors=True)


def control_sticky(tally, work, base):
    """A world-writable parent with the sticky bit (like /tmp) is fine."""
    shutil.rmtree(base, ignore_errors=True)
    tree = Sysroot(os.path.join(base, "t"))
    os.makedirs(os.path.join(tree.path, "st"))
    os.chmod(os.path.join(tree.path, "st"), 0o1777)
    rc, err = run(tally, [work["inst"], "plan", "--sysroot", tree.path, "--root", "/st/x",
                          "--prefix", PFX])
    shutil.rmtree(base)
    return [] if rc == 0 else [("unclear", "plan below a sticky 1777 parent failed: " + err)]


# ---- modes ----

EXPECTED_MODES = {
    ".": 0o755, "bin": 0o755, "bin/docker": 0o755, "bin/dockerd": 0o755,
    "bin/containerd": 0o755, "bin/docker-cli": 0o755, "bin/dockyardctl": 0o755,
    "etc": 0o755, "etc/daemon.json": 0o644, "etc/containerd.toml": 0o644,
    "etc/dockyard.env": 0o644, "etc/receipt": 0o644, "etc/payload.meta": 0o644,
    "etc/isolation.d": 0o755, "lib": 0o711, "lib/docker": 0o710, "lib/containerd": 0o711,
    "lib/docker-config": 0o755, "log": 0o750, "run": 0o755, "share": 0o755,
    "share/blob.bin": 0o644,
}


def modes_after(tally, work, umask):
    """Modes below the installed root and of the system files, or a problem."""
    tree = Sysroot(os.path.join(work["dir"], "umask%03o" % umask))
    rc, err = run(tally, [work["inst"], "--sysroot", tree.path, "--root", ROOT] + NETFLAGS +
                  INSTALL, umask=umask)
    if rc != 0:
        return None, [("unclear", "install under umask %03o failed (%d): %s" % (umask, rc, err))]
    root = os.path.join(tree.path, ROOT[1:])
    got = {k: v[1] for k, v in snapshot(root).items()}
    got["."] = stat.S_IMODE(os.lstat(root).st_mode)
    for f in ("etc/systemd/system/%sdocker.service" % PFX, "etc/dockyard/instances/" + PFX,
              "etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"):
        got["/" + f] = stat.S_IMODE(os.lstat(os.path.join(tree.path, f)).st_mode)
    shutil.rmtree(tree.path)
    return got, []


def section_modes(tally, work, args):
    ref, problems = modes_after(tally, work, 0o022)
    if problems:
        tally.case("modes: umask 022", problems)
        return
    wrong = ["%s %03o, want %03o" % (p, ref.get(p, 0), m)
             for p, m in sorted(EXPECTED_MODES.items()) if ref.get(p) != m]
    for f in ("passwd", "group", "shadow", "gshadow"):
        if os.path.exists("/etc/" + f) and \
                ref["/etc/" + f] != stat.S_IMODE(os.lstat("/etc/" + f).st_mode):
            wrong.append("/etc/%s %03o changed" % (f, ref["/etc/" + f]))
    if ref.get("/etc/systemd/system/%sdocker.service" % PFX) != 0o644:
        wrong.append("unit file not 0644")
    tally.case("modes: umask 022 gives the documented modes",
               [("unclear", "; ".join(wrong))] if wrong else [])
    for umask in (0o077, 0o000):
        got, problems = modes_after(tally, work, umask)
        if not problems and got != ref:
            diff = sorted(p for p in set(got) | set(ref) if got.get(p) != ref.get(p))
            problems = [("unclear", "umask %03o changes %s" % (umask, ", ".join(
                "%s %s (want %s)" % (p, oct(got.get(p, 0)), oct(ref.get(p, 0)))
                for p in diff[:8])))]
        tally.case("modes: umask %03o gives the same modes" % umask, problems)


# ---- main ----

SECTIONS = {"installer": section_installer, "env": section_env, "paths": section_paths,
            "modes": section_modes}


def summary(path):
    total = {"tried": 0, "ok": 0, "runs": 0, **{k: 0 for k in Tally.KINDS}}
    with open(path) as f:
        for line in f:
            fig = json.loads(line)
            for k in total:
                total[k] += fig[k]
    print("hardening: " + line_of(total))
    return 0 if total["tried"] > 0 and total["ok"] == total["tried"] else 1


def seed_list(values):
    """--seed values ("1,2,3", repeated) as a list of distinct integers, in
    order; None (after a message) when one is not a number."""
    out = []
    for value in values:
        for word in value.split(","):
            if not word.strip():
                continue
            try:
                seed = int(word)
            except ValueError:
                print("harden: --seed %r: not a number" % word, file=sys.stderr)
                return None
            if seed not in out:
                out.append(seed)
    return out


def seed_ranges(seeds):
    """1,2,3,7 as "1-3,7" (for the messages; --seed takes a list, not ranges)."""
    out, run_start = [], None
    for i, seed in enumerate(seeds):
        if run_start is None:
            run_start = seed
        if i + 1 < len(seeds) and seeds[i + 1] == seed + 1:
            continue
        out.append(str(seed) if seed == run_start else "%d-%d" % (run_start, seed))
        run_start = None
    return ",".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="1000 flips, truncation every 1%%")
    ap.add_argument("--seed", action="append", default=[], metavar="N[,N...]",
                    help="seeds of the flips (a list; repeatable); the regression seeds "
                    "always run too")
    ap.add_argument("--section", action="append", choices=sorted(SECTIONS))
    ap.add_argument("--figures", help="append each section's figures (JSON lines)")
    ap.add_argument("--summary", metavar="FILE", help="add up a figures file and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every failure")
    args = ap.parse_args()
    if args.summary:
        return summary(args.summary)
    if os.geteuid() != 0:
        print("harden: needs root (install into a --sysroot adds users there)", file=sys.stderr)
        return 2
    args.seeds = seed_list(args.seed)
    if args.seeds is None:
        return 2
    if not args.seeds:
        args.seeds = [int.from_bytes(os.urandom(2), "little")]
    shown = seed_ranges(args.seeds)
    args.seeds += [x for x in REGRESSION_SEEDS if x not in args.seeds]
    print("# hardening: seeds %s and regression seeds %s (replay one: harden.py --seed N%s), "
          "binaries %s" % (shown, seed_ranges(list(REGRESSION_SEEDS)),
                           " --full" if args.full else "", DY_BIN))
    tmp = tempfile.mkdtemp(prefix="dockyard-harden.")
    work = {"dir": os.path.realpath(tmp)}
    failed = 0
    try:
        work["inst"] = make_installer(work["dir"])
        work["site"] = os.path.join(work["dir"], "site")
        os.mkdir(work["site"])
        work["sysroot"] = Sysroot(os.path.join(work["dir"], "sysroot"))
        total = {"tried": 0, "ok": 0, "runs": 0, **{k: 0 for k in Tally.KINDS}}
        for name in args.section or list(SECTIONS):
            tally = Tally(name)
            t0 = time.monotonic()
            SECTIONS[name](tally, work, args)
            fig = tally.figures()
            shown = tally.failures if args.verbose else tally.failures[:20]
            for msg in shown:
                print("FAILED %s" % msg)
            if len(tally.failures) > len(shown):
                print("FAILED ... and %d more (-v shows all)" % (len(tally.failures) - len(shown)))
            print("# %s: %s, %d runs, %.1f s" % (name, line_of(fig), fig["runs"],
                                                 time.monotonic() - t0))
            if args.figures:
                with open(args.figures, "a") as f:
                    f.write(json.dumps(fig) + "\n")
            for k in total:
                total[k] += fig[k]
            failed += tally.tried - tally.ok
        print("hardening: " + line_of(total))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
