#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Measure dockyard against plain tools on the same files, in one run.

    make bench                      # everything; writes BENCHMARKS.md
    BENCH_ONLY=install,check make bench

Knobs (environment or make variables):

  BENCH_RUNS   timed runs per figure (default 5; BENCHMARKS.md is written
               only with 5 or more)
  BENCH_LEVEL  zstd level of the installer and of the tar.zst baseline
               (default 19, the release level)
  BENCH_OUT    the report to write (default BENCHMARKS.md, beside the
               Makefile); written only for a full run (no BENCH_ONLY)
  BENCH_DIR    where the scratch directory is made: the filesystem that is
               measured (default /var/tmp); the scratch directory inside it
               is removed at the end
  BENCH_ONLY   comma list of figures: builder,size,install,check,reads,
               rss,api,many (default all)

Every timed figure runs the dockyard command and its baseline interleaved
(A B A B ...), after one untimed warm-up run of each (warm page cache for
both), each timed with time.perf_counter() around the child process, and
reports median, min and max of each side and the ratio of the medians.
docs/benchmarks.md says what each figure means.

The bench leaves the host as it found it, also when interrupted: every
instance it installed is uninstalled, every daemon it started by hand is
stopped, the scratch directory is removed, and the host's links, iptables
rules, users, groups, registry entries and mounts are compared before and
after.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

SRC_DIR = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
DIST = os.path.join(SRC_DIR, "dist")
BUILD = os.path.join(DIST, "dockyard-build")
STUB = os.path.join(DIST, "dockyard-installer-stub")
A64_STUB = os.path.join(DIST, "aarch64", "dockyard-installer-stub")  # make arm64
MANIFEST = os.path.join(SRC_DIR, "payload", "debian.manifest")
CACHE = os.path.join(SRC_DIR, "build", "cache")
EPOCH = "1704067200"
FIGURES = ["builder", "size", "install", "check", "reads", "rss", "api", "many"]
MANY_COUNTS = (1, 5, 10)  # the "many" figure: instances side by side
MANY_IDLE = 10  # seconds the instances idle before their memory is read
MIN_RUNS = 5
POLL = 0.02  # seconds between two API or socket probes
API_TIMEOUT = 120
TRAILER_SIZE = 256
ANON_POLL = 0.001  # seconds between two RssAnon samples
ANON_RUNS = 3  # untimed runs sampled for RssAnon


class Interrupted(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def fail(msg):
    raise RuntimeError(msg)


def env_int(name, default):
    raw = os.environ.get(name, "") or str(default)
    if not raw.isdigit() or int(raw) < 1:
        print("bench: %s=%r: must be a positive number" % (name, raw), file=sys.stderr)
        sys.exit(2)
    return int(raw)


# ---- running things -------------------------------------------------------

CHILD = None  # the child being waited for (terminated on interrupt)


def run_timed(argv, logf, env=None, shell=False, stdout=None, cpu=None):
    """Run argv to completion: (seconds, peak RSS in KiB, exit status).

    The time is perf_counter() around fork, exec and wait4; the peak RSS is
    wait4's ru_maxrss: the process and the children it waited for.  Its CPU
    time (user + system) goes to the list cpu when one is given."""
    global CHILD
    out = stdout if stdout is not None else logf
    t0 = time.perf_counter()
    CHILD = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=logf,
                             env=env, shell=shell)
    _, status, ru = os.wait4(CHILD.pid, 0)
    t1 = time.perf_counter()
    CHILD.returncode = os.waitstatus_to_exitcode(status)
    rc = CHILD.returncode
    if cpu is not None:
        cpu.append(ru.ru_utime + ru.ru_stime)
    CHILD = None
    return t1 - t0, ru.ru_maxrss, rc


def tree_pids(pid):
    """pid and its descendants, from /proc/PID/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def rss_anon(pid):
    """RssAnon of one process in bytes (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_anon(argv, logf):
    """Run argv to completion: (peak RssAnon of its process tree in bytes,
    ru_maxrss in KiB, exit status).  The kernel keeps no RssAnon high-water
    mark, so /proc/PID/status is sampled every ANON_POLL seconds while the
    child runs (untimed runs only: sampling costs CPU)."""
    global CHILD
    CHILD = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    peak = 0
    while True:
        pid, status, ru = os.wait4(CHILD.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, sum(rss_anon(p) for p in tree_pids(CHILD.pid)))
        time.sleep(ANON_POLL)
    rc = os.waitstatus_to_exitcode(status)
    CHILD = None
    return peak, ru.ru_maxrss, rc


def must(argv, what, logf, **kw):
    t, rss, rc = run_timed(argv, logf, **kw)
    if rc != 0:
        fail("%s failed (exit %d): %s; see %s" % (what, rc, " ".join(argv) if
                                                    isinstance(argv, list) else argv, logf.name))
    return t, rss


def capture(argv, check=True):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if check and p.returncode != 0:
        fail("%s failed (exit %d): %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return p.stdout


def quiet(argv):
    """Run argv for cleanup; (exit status, output)."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def rmtree(path):
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


# ---- statistics and formatting ------------------------------------------

def stats(samples):
    return statistics.median(samples), min(samples), max(samples)


def f_s(v):
    return "%.3f s" % v


def f_mb(v):
    return "%.1f MB" % (v / 1e6)


def f_mbs(v):
    return "%.0f MB/s" % v


def f_x(v):
    return "%.2f x" % v


class Row:
    """One line of the table: dockyard's figure beside its baseline."""

    def __init__(self, figure, a, b, fmt, subject, baseline, goal="", ok=None,
                 ratio=True, note=""):
        self.figure, self.a, self.b, self.fmt = figure, a, b, fmt
        self.subject, self.baseline = subject, baseline
        self.goal, self.ok, self.use_ratio, self.note = goal, ok, ratio, note
        self.why = ""

    def side(self, samples):
        if samples is None:
            return "-"
        if len(samples) == 1:
            return self.fmt(samples[0])
        med, lo, hi = stats(samples)
        return "%s (%s-%s)" % (self.fmt(med), self.fmt(lo).split()[0], self.fmt(hi))

    def ratio(self):
        if not self.use_ratio or self.b is None:
            return None
        bm = statistics.median(self.b)
        return statistics.median(self.a) / bm if bm else None

    def ratio_text(self):
        r = self.ratio()
        return "-" if r is None else "%.3f" % r

    def result(self):
        if self.ok is None:
            return "info"
        return "PASS" if self.ok(self) else "MISS"


# ---- the installer file --------------------------------------------------

def trailer(path):
    with open(path, "rb") as f:
        f.seek(-TRAILER_SIZE, os.SEEK_END)
        raw = f.read(TRAILER_SIZE)
    if raw[:8] != b"DYKTRAIL":
        fail("%s has no dockyard trailer" % path)
    (version, flags, file_len, payload_off, payload_len, meta_off, meta_len, tar_len, sig_len,
     window_log) = struct.unpack_from("<IIQQQQQQHB", raw, 8)
    return {"version": version, "file_len": file_len, "payload_off": payload_off,
            "payload_len": payload_len, "meta_len": meta_len, "tar_len": tar_len,
            "window_log": window_log, "signed": bool(flags & 1)}


# ---- the Docker API ---------------------------------------------------------

def api_ok(sock_path):
    """GET /_ping on the unix socket answers 200 with the body OK."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(sock_path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return False
    return data.startswith(b"HTTP/1.") and data[8:12] == b" 200" and data.endswith(b"OK")


def wait_until(pred, what, procs=()):
    deadline = time.monotonic() + API_TIMEOUT
    while not pred():
        for p in procs:
            if p.poll() is not None:
                fail("%s: %s exited (status %s) before it was ready" % (what, p.args[0],
                                                                       p.returncode))
        if time.monotonic() > deadline:
            fail("%s: not ready within %d s" % (what, API_TIMEOUT))
        time.sleep(POLL)


# ---- the host, before and after -----------------------------------------

def host_state():
    st = {}
    st["links"] = sorted(l.split(":")[1].strip().split("@")[0]
                         for l in capture(["ip", "-o", "link"]).splitlines() if ":" in l)
    rules = []
    rc, out = quiet(["iptables-save"])
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        rules.append(re.sub(r"\[\d+:\d+\]", "[]", line))
    st["iptables"] = rules
    for name in ("passwd", "group", "subuid", "subgid"):
        try:
            with open("/etc/" + name) as f:
                st[name] = f.read().splitlines()
        except FileNotFoundError:
            st[name] = []
    for name in ("shadow", "gshadow"):  # names only: never the hashes
        try:
            with open("/etc/" + name) as f:
                st[name] = [l.split(":")[0] for l in f.read().splitlines()]
        except (FileNotFoundError, PermissionError):
            st[name] = []
    st["registry"] = sorted(os.listdir("/etc/dockyard/instances")) \
        if os.path.isdir("/etc/dockyard/instances") else ["(no /etc/dockyard/instances)"]
    units = "/etc/systemd/system"
    st["units"] = sorted(os.listdir(units)) if os.path.isdir(units) else []
    with open("/proc/self/mountinfo") as f:
        st["mounts"] = sorted(l.split()[4] for l in f)
    for key, path in (("ip_forward", "/proc/sys/net/ipv4/ip_forward"),):
        with open(path) as f:
            st[key] = [f.read().strip()]
    return st


def procs_under(path):
    """Processes whose command line names something below path."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if path + "/" in cmd:
            found.append("pid %s (%s)" % (pid, cmd[:120]))
    return found


def pss_under(path):
    """Bytes of proportional set size of the processes whose command line
    names something below path (the daemons and shims of an instance)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            if path + "/" not in cmd:
                continue
            with open("/proc/%s/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def host_diff(before, after, prefixes, scratch):
    """(ours, others): the differences that name one of this bench's
    prefixes or its scratch directory, and every other difference (made by
    another process while the bench ran, e.g. a test suite)."""
    ours, others = [], []
    for key in before:
        b, a = before[key], after[key]
        gone = [x for x in b if x not in a]
        new = [x for x in a if x not in b]
        for sign, items in (("-", gone), ("+", new)):
            for item in items:
                mine = (scratch and scratch in item) or any(
                    re.search(r"(^|[^a-z0-9_])%s" % re.escape(p), item) for p in prefixes)
                (ours if mine else others).append("%s %s: %s" % (sign, key, item))
    return ours, others


# ---- the bench --------------------------------------------------------------

class Bench:
    def __init__(self):
        self.runs = env_int("BENCH_RUNS", MIN_RUNS)
        self.level = env_int("BENCH_LEVEL", 19)
        if self.level > 19:
            print("bench: BENCH_LEVEL=%d: 1..19" % self.level, file=sys.stderr)
            sys.exit(2)
        only = os.environ.get("BENCH_ONLY", "").strip()
        self.only = [x.strip() for x in only.split(",") if x.strip()] if only else list(FIGURES)
        bad = [x for x in self.only if x not in FIGURES]
        if bad:
            print("bench: BENCH_ONLY: unknown figure(s) %s; known: %s" %
                  (", ".join(bad), ",".join(FIGURES)), file=sys.stderr)
            sys.exit(2)
        self.full = not only
        self.out = os.environ.get("BENCH_OUT", "") or os.path.join(SRC_DIR, "BENCHMARKS.md")
        self.out_given = bool(os.environ.get("BENCH_OUT", ""))
        self.base_dir = os.environ.get("BENCH_DIR", "") or "/var/tmp"
        self.rows = []
        self.notes = []
        self.prefixes = set()
        self.roots = []  # instance roots this bench installed (uninstalled at the end)
        self.daemons = []  # processes started by hand: (Popen, root)
        self.netup = []  # roots whose bridge was brought up by hand
        self.samples = {}  # kept for later figures: install and check rusage
        self.extract_cpu = []  # user + system seconds of each timed extract
        self.scratch = None
        self.logf = None
        self.t_start = time.monotonic()

    # -- bookkeeping --------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.scratch, *parts)

    def progress(self, figure, i, total, t_iter, warm):
        left = (total - i + 1) * (statistics.mean(t_iter) if t_iter else 0)
        what = "warm-up run" if warm else "run %d/%d" % (i - 1, total - 1)
        eta = ", about %s left in this figure" % fmt_dur(left) if t_iter else ""
        log("%s: %s%s (%s since start)" % (figure, what, eta,
                                            fmt_dur(time.monotonic() - self.t_start)))

    def interleave(self, figure, steps):
        """Run steps (each a function of (i, warm) returning nothing, recording
        its own samples) once as warm-up, then BENCH_RUNS times, interleaved."""
        total = self.runs + 1
        t_iter = []
        for i in range(total):
            warm = i == 0
            self.progress(figure, i + 1, total, t_iter, warm)
            t0 = time.monotonic()
            for step in steps:
                # Every timed run starts with a clean page cache state: the
                # previous run's dirty pages must not be flushed on its time.
                os.sync()
                step(i, warm)
            t_iter.append(time.monotonic() - t0)

    # -- preparation ----------------------------------------------------------

    def build(self, out, extra=()):
        env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
        argv = [BUILD, "-q", "--level", str(self.level), "--cache", CACHE,
                "--manifest", MANIFEST, "--out", out] + list(extra)
        return must(argv, "dockyard-build", self.logf, env=env)[0]

    def tar_cmd(self):
        return ("tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@%s -cf - -C %s ."
                % (EPOCH, self.files))

    def zstd_cmd(self, out):
        return "set -o pipefail; %s | zstd -%d -T0 --long=27 -q -f -o %s" % (
            self.tar_cmd(), self.level, out)

    def baseline_pack(self):
        return must(["bash", "-c", self.zstd_cmd(self.tzst)], "tar | zstd", self.logf)[0]

    def prepare(self, built):
        """The installer under test, the payload's files, and the same files
        as tar, tar.zst and tar.gz (the baselines' inputs)."""
        if not built:
            log("preparing: building the installer at level %d (untimed)" % self.level)
            self.build(self.inst)
        if not os.path.isdir(self.files):
            must([self.inst, "-q", "extract", self.files], "extract", self.logf)
        if not built:
            log("preparing: tar | zstd -%d --long=27 of the same files (untimed)" % self.level)
            self.baseline_pack()
        if any(f in self.only for f in ("size", "install", "rss")):
            log("preparing: tar | gzip -9 of the same files (untimed)")
            must(["bash", "-c", "set -o pipefail; %s | gzip -9 -n > %s" %
                  (self.tar_cmd(), self.tgz)], "tar | gzip", self.logf)
        self.size = os.path.getsize(self.inst)
        self.tr = trailer(self.inst)
        self.listing = json.loads(capture([self.inst, "list", "--json"]))

    # -- figures ----------------------------------------------------------------

    def fig_builder(self):
        a, b, digests = [], [], []
        # One build and one baseline at level 19 take about 105 s + 140 s on 2 cores.
        est = 245 * (self.runs + 1) if self.level >= 19 else 0
        if est:
            log("builder: %d builds and %d baselines at level %d; about %s in all" %
                (self.runs + 1, self.runs + 1, self.level, fmt_dur(est)))

        def subject(i, warm):
            t = self.build(self.inst)
            digests.append(sha256_file(self.inst))
            if not warm:
                a.append(t)
            if i == 0:  # the warm-up build gives the files the baseline packs
                must([self.inst, "-q", "extract", self.files], "extract", self.logf)

        def baseline(i, warm):
            t = self.baseline_pack()
            if not warm:
                b.append(t)

        self.interleave("builder", [subject, baseline])
        same = len(set(digests)) == 1
        self.rows.append(Row("builder: rebuild, warm cache", a, b, f_s,
                             "dockyard-build --level %d" % self.level,
                             "tar | zstd -%d -T0 --long=27" % self.level,
                             "<= 1.10", lambda r: r.ratio() <= 1.10))
        self.rows[-1].why = (
            "rebuild median %s vs tar | zstd median %s on the same files. The installer's "
            "payload (format 2) compresses each file as its own frame, with at most one earlier "
            "file as prefix; at level %d zstd digests a prefix file about as slowly as it "
            "compresses it (once per prefix file, shared by the frames that take it), besides "
            "the fast trials that choose the prefixes, while tar | zstd sees each byte once. "
            "The frames are compressed side by side on every core, but the largest file is "
            "one frame on one core, after its prefix is digested." %
            (f_s(statistics.median(a)), f_s(statistics.median(b)), self.level))
        self.notes.append("Builds byte-identical across the %d builds (SOURCE_DATE_EPOCH=%s): "
                          "%s (sha256 %s)." % (len(digests), EPOCH, "yes" if same else
                                               "NO, %d different" % len(set(digests)),
                                               ", ".join(sorted(set(d[:16] for d in digests)))))
        if not same:
            log("builder: the builds differ: not reproducible")
        return True

    def fig_size(self):
        zs, gz = os.path.getsize(self.tzst), os.path.getsize(self.tgz)
        tr = self.tr
        wl = tr["window_log"]
        self.rows.append(Row("size: installer / tar.zst", [self.size], [zs], f_mb,
                             "installer (format %d, frames up to 2^%d)" % (tr["version"], wl),
                             "tar | zstd -%d --long=27" % self.level,
                             "<= 1.03", lambda r: r.ratio() <= 1.03))
        size_row = self.rows[-1]
        stub_pct = 100.0 * tr["payload_off"] / self.size
        size_row.why = (
            "installer %d bytes (stub %d, payload %d, metadata %d, trailer %d) vs tar.zst %d "
            "bytes. The payload alone is %.4f x the tar.zst; the static stub is %.2f%% of the "
            "file, so with this payload the ratio cannot go below %.4f without a smaller stub, "
            "and with this stub the payload would have to be %.4f x the tar.zst." %
            (self.size, tr["payload_off"], tr["payload_len"], tr["meta_len"], TRAILER_SIZE, zs,
             tr["payload_len"] / zs, stub_pct, (self.size - tr["payload_off"]) / zs,
             (1.03 * zs - (self.size - tr["payload_len"])) / zs))
        self.rows.append(Row("size: payload / tar.zst", [tr["payload_len"]], [zs], f_mb,
                             "payload (one frame per file, an earlier file as prefix)",
                             "tar | zstd -%d --long=27" % self.level))
        self.notes.append(
            "The size ratio decomposed: the stub is %.2f%% of the installer; the payload is "
            "%.4f x what zstd makes of the same tar with a 2^27 window (its decoder holds "
            "that window in memory; the installer's frames keep theirs in the page cache of "
            "the files they write)." % (stub_pct, tr["payload_len"] / zs))
        self.rows.append(Row("size: installer / tar.gz", [self.size], [gz], f_mb,
                             "installer", "tar | gzip -9"))
        self.rows.append(Row("size: stub, payload (zstd)", [tr["payload_off"]],
                             [tr["payload_len"]], f_mb, "stub", "payload", ratio=False))
        self.notes.append(
            "Sizes are deterministic, measured once: installer %d bytes = stub %d + payload %d "
            "(format %d, zstd level %d, largest frame window 2^%d, %d bytes decompressed) + "
            "metadata %d + trailer %d; tar.zst %d bytes (zstd -%d --long=27, window 2^27); "
            "tar.gz %d bytes (gzip -9)." %
            (self.size, tr["payload_off"], tr["payload_len"], tr["version"], self.level, wl,
             tr["tar_len"], tr["meta_len"], TRAILER_SIZE, zs, self.level, gz))
        self.size_aarch64()
        return True

    def size_aarch64(self):
        """The aarch64 installer of the same manifest beside the x86_64 one
        (sizes only: it runs on ARM hosts, not here)."""
        if not os.path.exists(A64_STUB):
            self.notes.append("No aarch64 size: %s is missing (make arm64)." % A64_STUB)
            return
        log("size: the aarch64 installer of the same manifest (untimed build)")
        out = self.path("dockyard-installer-aarch64")
        self.build(out, ["--arch", "aarch64", "--stub", A64_STUB, "--no-dist-files"])
        tr = trailer(out)
        size = os.path.getsize(out)
        self.rows.append(Row("size: aarch64 installer / x86_64 installer", [size], [self.size],
                             f_mb, "aarch64 installer", "x86_64 installer"))
        self.rows.append(Row("size: aarch64 stub / x86_64 stub", [tr["payload_off"]],
                             [self.tr["payload_off"]], f_mb, "aarch64 stub", "x86_64 stub"))
        self.notes.append(
            "aarch64 (same manifest, level %d, the arm64 .debs): installer %d bytes = stub %d "
            "+ payload %d (%d bytes decompressed) + metadata %d + trailer %d." %
            (self.level, size, tr["payload_off"], tr["payload_len"], tr["tar_len"],
             tr["meta_len"], TRAILER_SIZE))
        os.unlink(out)

    def uninstall(self, root):
        rc, out = quiet([self.inst, "uninstall", "--root", root, "--yes", "-q"])
        if rc != 0:
            fail("uninstall --root %s failed (exit %d): %s" % (root, rc, out))
        if root in self.roots:
            self.roots.remove(root)

    def note_prefix(self, root):
        try:
            with open(os.path.join(root, "etc", "dockyard.env")) as f:
                for line in f:
                    if line.startswith("DOCKYARD_DOCKER_PREFIX="):
                        self.prefixes.add(line.split("=", 1)[1].strip().strip('"\''))
        except OSError:
            pass

    def install_once(self, root, extra):
        self.roots.append(root)
        t, rss, rc = run_timed([self.inst, "--root", root] + extra + ["-q"], self.logf)
        self.note_prefix(root)
        if rc != 0:
            fail("install --root %s failed (exit %d); see %s" % (root, rc, self.logf.name))
        return t, rss

    def fig_install(self):
        a, bz, bg, bs, ex, rss = [], [], [], [], [], []

        def subject(i, warm):
            root = self.path("root%d" % i)
            t, r = self.install_once(root, ["--no-start", "--no-systemd"])
            self.uninstall(root)
            if not warm:
                a.append(t)
                rss.append(r)

        def extract(i, warm):
            d = self.path("e%d" % i)
            t = must([self.inst, "extract", "-q", d], "extract", self.logf,
                     cpu=None if warm else self.extract_cpu)[0]
            rmtree(d)
            if not warm:
                ex.append(t)

        def tar_x(archive, opt, out, samples, then=""):
            def step(i, warm):
                d = self.path("%s%d" % (out, i))
                t = must(["sh", "-c", "mkdir %s && tar %s -xf %s -C %s%s" %
                          (d, opt, archive, d, then)], "tar -x", self.logf)[0]
                rmtree(d)
                if not warm:
                    samples.append(t)
            return step

        self.interleave("install", [subject, tar_x(self.tzst, "-I 'zstd -d'", "x", bz),
                                    tar_x(self.tgz, "-z", "g", bg), extract,
                                    tar_x(self.tzst, "-I 'zstd -d'", "s", bs,
                                          " && sync -f %s" % self.scratch)])
        self.samples["install_rss"] = rss
        self.rows.append(Row("install --no-start / tar -x zstd", a, bz, f_s,
                             "install --no-start --no-systemd", "tar -I 'zstd -d' -xf",
                             "<= 1.15", lambda r: r.ratio() <= 1.15))
        self.rows[-1].why = ("install median %s vs baseline %s (self-check, extraction, render, "
                             "users and registry vs extraction alone)." %
                             (f_s(statistics.median(a)), f_s(statistics.median(bz))))
        self.rows.append(Row("install --no-start / tar -x gzip", a, bg, f_s,
                             "install --no-start --no-systemd", "tar -xzf"))
        # The install writes its files to disk before they go live (a power
        # cut leaves the old or the new bin/, never empty files); tar does
        # not.  These two rows separate that cost from the rest.
        self.rows.append(Row("install --no-start / tar -x zstd + sync", a, bs, f_s,
                             "install --no-start --no-systemd",
                             "tar -I 'zstd -d' -xf, then sync -f"))
        self.rows.append(Row("extract (verify, write, sync) / tar -x zstd", ex, bz, f_s,
                             "dockyard-installer extract DIR", "tar -I 'zstd -d' -xf",
                             "<= 0.55", lambda r: r.ratio() <= 0.55))
        self.rows[-1].why = ("extract median %s vs tar -x %s on %d CPUs; the extract also "
                             "checks every file's SHA-256 and the whole file's, and waits for "
                             "the disk (fdatasync), which tar does not." %
                             (f_s(statistics.median(ex)), f_s(statistics.median(bz)),
                              os.cpu_count()))
        return True

    def fig_check(self):
        a, bs, bz, rss, zrss = [], [], [], [], []
        mb = self.size / 1e6

        def subject(i, warm):
            t, r = must([self.inst, "check", "-q"], "check", self.logf)
            if not warm:
                a.append(t)
                rss.append(r)

        def sha(i, warm):
            t = must(["sha256sum", self.inst], "sha256sum", self.logf)[0]
            if not warm:
                bs.append(t)

        def unzstd(i, warm):
            with open(os.devnull, "wb") as null:
                t, r = must(["zstd", "-d", "-c", "-q", "--long=27", self.tzst], "zstd -d",
                            self.logf, stdout=null)
            if not warm:
                bz.append(t)
                zrss.append(r)

        self.interleave("check", [subject, sha, unzstd])
        self.samples["check_rss"] = rss
        self.samples["zstd_rss"] = zrss
        self.rows.append(Row("self-check time / sha256sum", a, bs, f_s, "check -q",
                             "sha256sum of the installer"))
        self.rows.append(Row("self-check time / zstd -d", a, bz, f_s, "check -q",
                             "zstd -dc --long=27 tar.zst > /dev/null"))
        self.rows.append(Row("self-check throughput", [mb / t for t in a], [mb / t for t in bs],
                             f_mbs, "check -q (installer size / time)",
                             "sha256sum (same file)", ratio=True))
        self.extract_floor(statistics.median(bs), statistics.median(bz))
        tar_mb = self.tr["tar_len"] / 1e6
        self.notes.append(
            "The self-check hashes the whole file and, after decompressing it, every member "
            "(%.0f MB of tar), and checks each against the metadata: %.0f MB/s of file, %.0f MB/s "
            "of decompressed payload (medians); sha256sum hashes the file only." %
            (tar_mb, mb / statistics.median(a), tar_mb / statistics.median(a)))
        return True

    def prefix_chain(self):
        """Bytes of the heaviest chain of files that take each other as
        prefix (format 2): those frames can only be decoded one after the
        other.  The whole payload for format 1 (one stream)."""
        tr = self.tr
        if tr["version"] != 2:
            return tr["tar_len"]
        with open(self.inst, "rb") as f:
            f.seek(tr["payload_off"])
            head = f.read(16)
            n = struct.unpack_from("<I", head, 8)[0]
            recs = f.read(24 * n)
        sizes = [f["size"] for f in self.listing.get("files", [])]  # metadata order
        if len(sizes) != n:
            return tr["tar_len"]
        weight = [0] * n
        for k in range(n - 1, -1, -1):
            weight[k] += sizes[k]
            for r in struct.unpack_from("<3I", recs, 24 * k + 8):
                if r != 0xFFFFFFFF:
                    weight[r] = max(weight[r], weight[k])
        return max(weight) if weight else 0

    def extract_floor(self, sha_s, unzstd_s):
        """What the extract cannot go below here: its own CPU time spread
        over every core, and the heaviest chain of prefixes decoded one
        frame after the other, at zstd -d's speed."""
        row = next((r for r in self.rows if r.figure.startswith("extract (")), None)
        if row is None or not row.b:
            return
        chain = self.prefix_chain()
        floor = unzstd_s * chain / self.tr["tar_len"]
        row.why += (" Floor: zstd -d alone takes %s for the %d decompressed bytes on one core; "
                    "the heaviest chain of files that take each other as prefix is %d bytes "
                    "(%.0f%%), decoded one after the other, so the decoding alone cannot take "
                    "less than %s (%.2f x the tar median) however many cores, before the "
                    "SHA-256 of every file and the wait for the disk." %
                    (f_s(unzstd_s), self.tr["tar_len"], chain, 100.0 * chain / self.tr["tar_len"],
                     f_s(floor), floor / statistics.median(row.b)))
        cpus = os.cpu_count() or 1
        if self.extract_cpu:
            work = statistics.median(self.extract_cpu)
            row.why += (" Its own work (decode, both SHA-256s, page faults and writeback: user + "
                        "system CPU, median %s) spread perfectly over the %d CPUs takes %s "
                        "(%.2f x the tar median)." %
                        (f_s(work), cpus, f_s(work / cpus), work / cpus / statistics.median(row.b)))

    def strace_reads(self, argv, target, what):
        """Bytes read from target by argv and its children, in one traced run."""
        trace = self.path("strace.%s.log" % what)
        calls = "openat,open,read,pread64,readv,preadv,preadv2,sendfile,copy_file_range," \
                "splice,mmap,fsync,fdatasync"
        must(["strace", "-f", "-qq", "-y", "-s", "0", "-e", "trace=" + calls, "-o", trace] + argv,
             "strace " + what, self.logf)
        return parse_strace(trace, target)

    def fig_reads(self):
        real = os.path.realpath(self.inst)
        root = self.path("traced")
        self.roots.append(root)
        log("reads: one traced install, one traced check, one traced tar -x (untimed)")
        inst = self.strace_reads([self.inst, "--root", root, "--no-start", "--no-systemd", "-q"],
                                 real, "install")
        self.note_prefix(root)
        self.uninstall(root)
        chk = self.strace_reads([self.inst, "check", "-q"], real, "check")
        d = self.path("xtraced")
        os.mkdir(d)
        base = self.strace_reads(["tar", "-I", "zstd -d", "-xf", self.tzst, "-C", d],
                                 os.path.realpath(self.tzst), "tar")
        rmtree(d)
        zs = os.path.getsize(self.tzst)
        # The installer maps its payload (format 2) rather than reading it:
        # a mapped byte counts as a read one.
        r_inst = (inst["bytes"] + inst["mapped"]) / self.size
        r_chk = (chk["bytes"] + chk["mapped"]) / self.size
        self.rows.append(Row("reads: install, x file size", [r_inst], [base["bytes"] / zs], f_x,
                             "install --no-start (read + mapped)",
                             "tar -I 'zstd -d' -xf (its tar.zst)",
                             "<= 1.01 (once)", lambda r: r.a[0] <= 1.01, ratio=False))
        self.rows[-1].why = ("the traced install read %d and mapped %d bytes of the %d-byte "
                             "installer (%.2f x) in %d read calls; it opened the file %d "
                             "time(s)." % (inst["bytes"], inst["mapped"], self.size, r_inst,
                                           inst["calls"], inst["opens"]))
        self.rows.append(Row("reads: check, x file size", [r_chk], None, f_x,
                             "check (read + mapped)", "", "<= 1.01 (once)",
                             lambda r: r.a[0] <= 1.01, ratio=False))
        self.rows[-1].why = ("the traced check read %d and mapped %d bytes of the %d-byte "
                             "installer (%.2f x) in %d read calls." %
                             (chk["bytes"], chk["mapped"], self.size, r_chk, chk["calls"]))
        self.notes.append(
            "Reads (strace -f -y, one untimed run each): install read %d bytes of the installer "
            "in %d calls and mapped %d bytes of it with mmap (together %.4f x its %d bytes: the "
            "stub, metadata and trailer are read, the payload is mapped and each page of it is "
            "fetched once), opened it %d time(s), and called fsync/fdatasync %d times; check "
            "read and mapped %.4f x; tar -I 'zstd -d' read %d bytes of the %d-byte tar.zst "
            "(%.4f x)." %
            (inst["bytes"], inst["calls"], inst["mapped"], r_inst, self.size, inst["opens"],
             inst["syncs"], r_chk, base["bytes"], zs, base["bytes"] / zs))
        self.reads = inst
        for r in self.rows:
            if r.figure.startswith("install --no-start / tar -x zstd"):
                r.why += self.reads_why()
        return True

    def reads_why(self):
        r = getattr(self, "reads", None)
        if not r:
            return ""
        return (" In the traced install it read the installer file %.2f times (%d bytes) and "
                "called fsync/fdatasync %d time(s)." % (r["bytes"] / self.size, r["bytes"],
                                                        r["syncs"]))

    def anon_runs(self, argv_for, what):
        """ANON_RUNS untimed runs of argv_for(i): (peak RssAnon bytes, ru_maxrss bytes)."""
        anon, maxrss = [], []
        for i in range(ANON_RUNS):
            os.sync()
            peak, r, rc = run_anon(argv_for(i), self.logf)
            if rc != 0:
                fail("%s failed (exit %d); see %s" % (what, rc, self.logf.name))
            anon.append(float(peak))
            maxrss.append(r * 1024.0)
        return anon, maxrss

    def fig_rss(self):
        log("rss: %d untimed runs each of install, check and zstd -d, RssAnon sampled every "
            "%g ms" % (ANON_RUNS, ANON_POLL * 1000))

        def install(i):
            root = self.path("anon%d" % i)
            self.roots.append(root)
            return [self.inst, "--root", root, "--no-start", "--no-systemd", "-q"]

        inst, inst_max = self.anon_runs(install, "install")
        for i in range(ANON_RUNS):
            self.note_prefix(self.path("anon%d" % i))
            self.uninstall(self.path("anon%d" % i))
        chk, chk_max = self.anon_runs(lambda i: [self.inst, "check", "-q"], "check")
        zcmd = ["sh", "-c", "exec zstd -d -c -q --long=27 %s > /dev/null" % self.tzst]
        zr, zr_max = self.anon_runs(lambda i: zcmd, "zstd -d")
        self.rows.append(Row("peak anonymous memory: install --no-start", inst, zr, f_mb,
                             "install (RssAnon high-water)", "zstd -d --long=27 (RssAnon)",
                             "<= 64 MB", lambda r: statistics.median(r.a) <= 64e6))
        self.rows[-1].why = ("install RssAnon peak median %s vs zstd -d %s." %
                             (f_mb(statistics.median(inst)), f_mb(statistics.median(zr))))
        self.rows.append(Row("peak anonymous memory: check", chk, zr, f_mb,
                             "check (RssAnon high-water)", "zstd -d --long=27 (RssAnon)",
                             "<= 64 MB", lambda r: statistics.median(r.a) <= 64e6))
        self.rows[-1].why = ("check RssAnon peak median %s vs zstd -d %s." %
                             (f_mb(statistics.median(chk)), f_mb(statistics.median(zr))))
        self.rows.append(Row("peak RSS: install --no-start", inst_max, zr_max, f_mb,
                             "install (ru_maxrss)", "zstd -d --long=27 (ru_maxrss)"))
        self.rows.append(Row("peak RSS: check", chk_max, zr_max, f_mb, "check (ru_maxrss)",
                             "zstd -d --long=27 (ru_maxrss)"))
        self.notes.append(
            "Memory: RssAnon is the anonymous memory (heap, stacks, zstd contexts); ru_maxrss "
            "also counts the pages of files the process maps. The installer decodes each file "
            "into a mapping of the file itself and maps its prefix files and the payload, so its "
            "ru_maxrss includes page cache that the kernel can write back and drop; zstd -d "
            "holds its 2^27-byte window in anonymous memory. RssAnon is sampled from "
            "/proc/PID/status every %g ms over the process tree (the kernel keeps no high-water "
            "mark of it); medians of %d untimed runs." % (ANON_POLL * 1000, ANON_RUNS))
        return True

    # -- the real engine --------------------------------------------------------

    def ctl(self, root, *args):
        rc, out = quiet([os.path.join(root, "bin", "dockyardctl"), "-q"] + list(args))
        if rc != 0:
            fail("dockyardctl %s (%s) failed (exit %d): %s" % (" ".join(args), root, rc, out))

    def hand_start(self, root, bin_dir):
        """containerd, then dockerd, as dockyardctl starts them (30-proc.sh,
        40-lifecycle.sh), with the instance's rendered configuration; returns
        when GET /_ping answers.  The bridge must be up."""
        env = dict(os.environ, PATH=bin_dir + ":" + os.environ.get("PATH", ""))
        run = os.path.join(root, "run")
        os.makedirs(os.path.join(run, "containerd"), exist_ok=True)
        ctd_sock = os.path.join(run, "containerd", "containerd.sock")
        dock_sock = os.path.join(run, "docker.sock")
        for s in (ctd_sock, dock_sock):
            if os.path.exists(s):
                os.unlink(s)
        logs = os.path.join(root, "log")
        os.makedirs(logs, exist_ok=True)
        procs = []
        for name, argv, ready in (
                ("containerd", [os.path.join(bin_dir, "containerd"), "--config",
                                os.path.join(root, "etc", "containerd.toml")],
                 lambda: os.path.exists(ctd_sock)),
                ("dockerd", [os.path.join(bin_dir, "dockerd"), "--config-file",
                             os.path.join(root, "etc", "daemon.json")],
                 lambda: api_ok(dock_sock))):
            with open(os.path.join(logs, name + ".log"), "ab") as lf:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                                     env=env, start_new_session=True)
            self.daemons.append((p, root))
            procs.append(p)
            wait_until(ready, "%s started by hand" % name, procs)

    def hand_stop(self):
        """Stop the daemons started by hand: dockerd first, then containerd."""
        while self.daemons:
            p, _ = self.daemons.pop()
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def fig_many(self):
        """Instances side by side: the install time of the Nth instance and
        the idle memory per instance while N run, for N in MANY_COUNTS, so
        that a cost growing faster than the count shows.  One pass (each
        point is one install): the instances accumulate up to the largest
        count, and are uninstalled at the end."""
        roots, inst_t, mem = [], {}, {}
        top = max(MANY_COUNTS)
        for n in range(1, top + 1):
            log("many: installing instance %d/%d (%s since start)" %
                (n, top, fmt_dur(time.monotonic() - self.t_start)))
            root = self.path("many%d" % n)
            t, _ = self.install_once(root, ["--no-systemd"])
            roots.append(root)
            if not api_ok(os.path.join(root, "run", "docker.sock")):
                fail("install --root %s returned but the API does not answer" % root)
            if n in MANY_COUNTS:
                inst_t[n] = t
                time.sleep(MANY_IDLE)
                mem[n] = sum(pss_under(r) for r in roots) / n
        for root in roots:
            self.uninstall(root)
        first = MANY_COUNTS[0]
        for n in MANY_COUNTS:
            self.rows.append(Row("many: install, instance %d / instance %d" % (n, first),
                                 [inst_t[n]], [inst_t[first]], f_s,
                                 "install of the %dth instance (--no-systemd, API up)" % n,
                                 "the first instance's"))
        for n in MANY_COUNTS:
            self.rows.append(Row("many: idle memory per instance, %d / %d running" % (n, first),
                                 [mem[n]], [mem[first]], f_mb,
                                 "PSS of every process of the %d instances / %d" % (n, n),
                                 "the same with %d running" % first))
        self.notes.append(
            "Many instances: one install at a time, each with the earlier ones running; the "
            "memory is the proportional set size (smaps_rollup) of every process whose command "
            "line names an instance root, after %d s idle, divided by the count. Install times "
            "of the %s instance: %s; idle memory per instance: %s." %
            (MANY_IDLE, "/".join("%dth" % n for n in MANY_COUNTS),
             ", ".join(f_s(inst_t[n]) for n in MANY_COUNTS),
             ", ".join(f_mb(mem[n]) for n in MANY_COUNTS)))

    def fig_api(self):
        inst_t, start_t, hand_t, xhand_t = [], [], [], []
        sock = {}

        def install(i, warm):
            root = self.path("api%d" % i)
            t, _ = self.install_once(root, ["--no-systemd"])
            sock[i] = os.path.join(root, "run", "docker.sock")
            if not api_ok(sock[i]):
                fail("install --root %s returned but the API does not answer" % root)
            if not warm:
                inst_t.append(t)
            self.ctl(root, "stop")

        def ctl_start(i, warm):
            root = self.path("api%d" % i)
            t0 = time.perf_counter()
            t, _, rc = run_timed([os.path.join(root, "bin", "dockyardctl"), "-q", "start"],
                                 self.logf)
            if rc != 0:
                fail("dockyardctl start (%s) failed (exit %d)" % (root, rc))
            wait_until(lambda: api_ok(sock[i]), "dockyardctl start")
            t = time.perf_counter() - t0
            self.ctl(root, "stop")
            if not warm:
                start_t.append(t)

        def by_hand(extract):
            def step(i, warm):
                root = self.path("api%d" % i)
                self.ctl(root, "net-up")
                self.netup.append(root)
                t0 = time.perf_counter()
                bin_dir = os.path.join(root, "bin")
                if extract:
                    d = self.path("apix%d" % i)
                    os.mkdir(d)
                    must(["tar", "-I", "zstd -d", "-xf", self.tzst, "-C", d], "tar -x",
                         self.logf)
                    bin_dir = os.path.join(d, "bin")
                self.hand_start(root, bin_dir)
                t = time.perf_counter() - t0
                self.hand_stop()
                self.ctl(root, "net-down")
                self.netup.remove(root)
                if extract:
                    rmtree(self.path("apix%d" % i))
                    self.uninstall(root)
                if not warm:
                    (xhand_t if extract else hand_t).append(t)
            return step

        self.interleave("api", [install, ctl_start, by_hand(False), by_hand(True)])
        self.rows.append(Row("time to API: install", inst_t, xhand_t, f_s,
                             "install --no-systemd (until GET /_ping answers)",
                             "tar -I 'zstd -d' -xf + containerd, dockerd by hand"))
        self.rows.append(Row("time to API: dockyardctl start", start_t, hand_t, f_s,
                             "dockyardctl start (until GET /_ping answers)",
                             "containerd, dockerd by hand (bridge up beforehand)", "<= 1.30",
                             lambda r: r.ratio() is not None and r.ratio() <= 1.30))
        self.rows[-1].why = (
            "dockyardctl start %s vs %s by hand; the daemons' own start-up is the floor." %
            (f_s(statistics.median(start_t)), f_s(statistics.median(hand_t))))
        self.notes.append(
            "Time to API: dockyardctl start also brings up the bridge and its iptables rules "
            "(one iptables-save, one iptables-restore; the baseline has them up beforehand, "
            "untimed) and checks that nothing else holds the instance's sockets; it starts "
            "containerd and dockerd together (dockerd waits for containerd's socket itself), "
            "where the baseline waits for containerd's socket before it starts dockerd. The "
            "difference of the medians is %s. The install adds its own steps (extraction, "
            "render, users) to that: %s over the by-hand baseline." %
            (f_s(statistics.median(start_t) - statistics.median(hand_t)),
             f_s(statistics.median(inst_t) - statistics.median(xhand_t))))
        return True

    # -- the report ---------------------------------------------------------------

    def table_text(self):
        head = ["figure", "dockyard median (min-max)", "baseline median (min-max)", "ratio",
                "goal", "result"]
        body = [[r.figure, r.side(r.a), r.side(r.b), r.ratio_text(), r.goal or "-", r.result()]
                for r in self.rows]
        widths = [max(len(x[c]) for x in [head] + body) for c in range(len(head))]
        lines = ["  ".join(x[c].ljust(widths[c]) for c in range(len(head))).rstrip()
                 for x in [head] + body]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def table_md(self):
        out = ["| figure | dockyard: median (min-max) | baseline: median (min-max) | ratio | "
               "goal | result |", "| --- | --- | --- | ---: | --- | --- |"]
        def code(text):  # a pipe ends a table cell even inside a code span
            return "`%s`" % text.replace("|", "\\|") if text else ""

        for r in self.rows:
            out.append("| %s | %s<br>%s | %s<br>%s | %s | %s | %s |" % (
                r.figure, r.side(r.a), code(r.subject), r.side(r.b), code(r.baseline),
                r.ratio_text(), r.goal or "-",
                "**%s**" % r.result() if r.result() == "MISS" else r.result()))
        return "\n".join(out)

    def machine(self):
        info = {}
        with open("/proc/cpuinfo") as f:
            cpu = f.read()
        models = re.findall(r"^model name\s*:\s*(.*)$", cpu, re.M)
        info["CPU"] = "%s, %d logical CPUs (sha_ni flag: %s)" % (
            models[0] if models else "unknown", os.cpu_count() or 0,
            "yes" if re.search(r"^flags\s*:.*\bsha_ni\b", cpu, re.M) else "no")
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1))
        info["RAM"] = "%.1f GiB" % (kb / 1024 / 1024)
        info["kernel"] = os.uname().release
        try:
            with open("/etc/debian_version") as f:
                info["Debian"] = f.read().strip()
        except OSError:
            info["Debian"] = "unknown"
        fs = quiet(["findmnt", "-n", "-o", "FSTYPE,SOURCE,OPTIONS", "-T", self.scratch])[1]
        info["filesystem"] = "%s (%s; stat -f: %s)" % (
            self.base_dir, fs or "findmnt gave nothing",
            quiet(["stat", "-f", "-c", "%T", self.scratch])[1])
        info["zstd"] = quiet(["zstd", "--version"])[1].splitlines()[0].strip("* ")
        info["gzip"] = quiet(["gzip", "--version"])[1].splitlines()[0]
        info["tar"] = quiet(["tar", "--version"])[1].splitlines()[0]
        vv = quiet([self.inst, "-v", "-v", "check"])[1].lower()
        impl = "sha-ni" if "sha-ni" in vv else "portable" if "portable" in vv else None
        info["SHA-256 in the installer"] = impl or "unknown (the installer does not say)"
        return info

    def payload_desc(self):
        files = self.listing.get("files", [])
        comps = ", ".join("%s %s" % (c["name"], c["version"])
                          for c in self.listing.get("components", []))
        return "%d files, %d bytes in all (tar %d bytes); components: %s" % (
            len(files), sum(f["size"] for f in files), self.tr["tar_len"], comps)

    def git(self):
        head = quiet(["git", "-C", SRC_DIR, "rev-parse", "--short", "HEAD"])[1] or "unknown"
        rel = os.path.relpath(self.out, SRC_DIR)
        st = quiet(["git", "-C", SRC_DIR, "status", "--porcelain", "--untracked-files=no"])[1]
        dirty = [l for l in st.splitlines() if l[3:] != rel]
        return head + ("-dirty" if dirty else "")

    def write_report(self, machine, diff, others):
        why = []
        for r in self.rows:
            if r.result() == "MISS":
                why.append("**%s** (%s against goal %s). Why: %s" % (r.figure, r.ratio_text()
                                                                      if r.use_ratio else
                                                                      r.side(r.a), r.goal,
                                                                      r.why))
        level_note = "" if self.level == 19 else (
            "\n**zstd level %d, not the release level 19**: these figures are not the "
            "release figures; run `make bench` without BENCH_LEVEL for those.\n" % self.level)
        runs_note = "" if self.runs >= MIN_RUNS else (
            "\n**n=%d, below the %d the figures need.**\n" % (self.runs, MIN_RUNS))
        part_note = "" if self.full else (
            "\n**Partial run (BENCH_ONLY=%s).**\n" % ",".join(self.only))
        text = [
            "# Benchmarks",
            "",
            "Generated by `make bench` (bench/run.py); do not edit by hand. "
            "docs/benchmarks.md says how to run it and what each figure means.",
            level_note + runs_note + part_note,
            "- date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "- commit: %s" % self.git(),
        ]
        text += ["- %s: %s" % (k, v) for k, v in machine.items()]
        text += [
            "- payload (payload/debian.manifest): %s" % self.payload_desc(),
            "",
            "## Method",
            "",
            "Each figure runs the dockyard command and its baseline on the same files in the "
            "same run, interleaved (A B A B ...) so that drift hits both; one untimed warm-up "
            "run of each comes first, so the page cache is warm for both. Then %d timed runs "
            "each, every one timed with `time.perf_counter()` around the child process "
            "(fork, exec, wait4). Shown: median (min-max); ratio = dockyard median / baseline "
            "median. Peak RSS is `ru_maxrss` from wait4 (the process and the children it "
            "waited for); peak anonymous memory is the high-water mark of RssAnon, sampled "
            "from /proc/PID/status every %g ms over the process tree. All scratch files live in one directory on the filesystem above. "
            "zstd level %d for both the installer and the tar.zst baseline." %
            (self.runs, ANON_POLL * 1000, self.level),
            "",
            "## Results",
            "",
            self.table_md(),
            "",
        ]
        text += ["- " + n for n in self.notes]
        text += ["", "## Misses", ""]
        text += (["- " + w for w in why] if why else ["None."])
        text += ["", "## Host", "",
                 "Host left as found (links, iptables rules, users, groups, subordinate ids, "
                 "registry, units, mounts, ip_forward, processes compared before and after)."
                 if not diff else "The host was NOT left as found:\n\n```\n%s\n```" %
                 "\n".join(diff), ""]
        if others:
            text += ["Changed meanwhile by other processes (naming no prefix or path of this "
                     "bench): %d item(s)." % len(others), ""]
        tmp = self.out + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(text))
        os.replace(tmp, self.out)
        log("wrote %s" % self.out)

    # -- cleanup ------------------------------------------------------------------

    def cleanup(self):
        problems = []
        if CHILD is not None and CHILD.poll() is None:
            log("cleanup: stopping %s (pid %d)" % (CHILD.args[0] if isinstance(CHILD.args, list)
                                                   else "child", CHILD.pid))
            CHILD.terminate()
            try:
                CHILD.wait(60)
            except subprocess.TimeoutExpired:
                CHILD.kill()
                CHILD.wait()
        try:
            self.hand_stop()
        except Exception as e:  # keep going: the rest must still be undone
            problems.append("stopping daemons started by hand: %s" % e)
        for root in list(self.netup):
            rc, out = quiet([os.path.join(root, "bin", "dockyardctl"), "-q", "net-down"])
            if rc != 0:
                problems.append("net-down %s: %s" % (root, out))
            self.netup.remove(root)
        for root in list(self.roots):
            if not os.path.lexists(root):
                self.roots.remove(root)
                continue
            log("cleanup: uninstalling %s" % root)
            # --wait: an installer stopped a moment ago (or one left running by
            # a stopped strace, which detaches) may still hold the root's lock.
            rc, out = quiet([self.inst, "uninstall", "--root", root, "--yes", "--wait", "-q"])
            if rc != 0:
                problems.append("uninstall %s (exit %d): %s" % (root, rc, out))
            else:
                self.roots.remove(root)
        if self.scratch:
            left = procs_under(self.scratch)
            if left:
                problems.append("processes still running from %s: %s" %
                                (self.scratch, "; ".join(left)))
            elif not self.roots:
                if self.logf:
                    self.logf.close()
                rmtree(self.scratch)
            else:
                problems.append("kept %s: instances in it could not be uninstalled" %
                                self.scratch)
        return problems

    # -- main -----------------------------------------------------------------------

    def main(self):
        for tool in ("zstd", "gzip", "tar", "strace", "iptables-save", "ip", "findmnt"):
            if not shutil.which(tool):
                print("bench: %s is needed (make deps)" % tool, file=sys.stderr)
                return 2
        if os.geteuid() != 0:
            print("bench: run as root (it installs instances)", file=sys.stderr)
            return 2
        if self.runs < MIN_RUNS:
            log("n=%d, below the %d the figures need: a quick look only" % (self.runs, MIN_RUNS))
        before = host_state()
        os.makedirs(self.base_dir, exist_ok=True)
        self.scratch = tempfile.mkdtemp(prefix="dockyard-bench.", dir=self.base_dir)
        os.chmod(self.scratch, 0o755)
        self.logf = open(self.path("bench.log"), "ab")
        self.inst = self.path("dockyard-installer")
        self.files = self.path("files")
        self.tzst = self.path("payload.tar.zst")
        self.tgz = self.path("payload.tar.gz")
        log("scratch %s; figures %s; n=%d; zstd level %d" % (self.scratch, ",".join(self.only),
                                                            self.runs, self.level))
        rc = 0
        machine = None
        interrupted = False

        def on_signal(signum, _frame):
            raise Interrupted(signal.Signals(signum).name)

        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, on_signal)
        try:
            built = False
            if "builder" in self.only:
                built = self.fig_builder()
            self.prepare(built)
            for fig in FIGURES[1:]:
                if fig in self.only:
                    getattr(self, "fig_" + fig)()
            machine = self.machine()
        except Interrupted as e:
            log("interrupted (%s): cleaning up" % e)
            interrupted = True
            rc = 130
        except Exception as e:
            log("error: %s" % e)
            rc = 1
        finally:
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(s, signal.SIG_IGN)
            problems = self.cleanup()
        for p in problems:
            log("cleanup: " + p)
        diff, others = host_diff(before, host_state(), self.prefixes, self.scratch)
        if self.rows:
            print(self.table_text())
            if self.runs < MIN_RUNS:
                print("n=%d, below the %d the figures need" % (self.runs, MIN_RUNS))
            for n in self.notes:
                print("- " + n)
        print("host left as found" if not diff and not problems else
              "host NOT left as found:\n  " + "\n  ".join(diff + problems))
        if others:
            print("changed during the run by other processes (no prefix or path of this "
                  "bench):\n  " + "\n  ".join(others))
        if rc == 0 and not interrupted:
            if (self.full and self.runs >= MIN_RUNS) or self.out_given:
                self.write_report(machine, diff + problems, others)
            else:
                log("%s not written: %s" % (os.path.relpath(self.out, SRC_DIR),
                                            "a partial run (BENCH_ONLY)" if not self.full else
                                            "n=%d, below the %d the figures need" %
                                            (self.runs, MIN_RUNS)))
        log("done in %s" % fmt_dur(time.monotonic() - self.t_start))
        return rc if rc else (1 if diff or problems else 0)


def fmt_dur(sec):
    sec = int(sec + 0.5)
    return "%d min %02d s" % (sec // 60, sec % 60) if sec >= 60 else "%d s" % sec


def parse_strace(path, target):
    """Sum what `strace -f -y` saw read from target: bytes returned by the
    read family (read, pread64, readv, preadv, preadv2) and by sendfile,
    copy_file_range and splice whose source descriptor names target, the
    number of such calls, successful opens of target (by its path or as
    /proc/self/exe), bytes mapped from it, and fsync/fdatasync calls."""
    res = {"bytes": 0, "calls": 0, "opens": 0, "mapped": 0, "syncs": 0}
    pending = {}
    fd_re = r"\d+<%s>" % re.escape(target)
    call_re = re.compile(r"^(\d+)\s+(\w+)\((.*)$")
    resumed_re = re.compile(r"^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$")
    ret_re = re.compile(r"\)\s+=\s+(-?\d+|0x[0-9a-f]+)")
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = resumed_re.match(line)
            if m:
                pid, name, rest = m.groups()
                args = pending.pop((pid, name), "") + rest
            else:
                m = call_re.match(line)
                if not m:
                    continue
                pid, name, args = m.groups()
                if args.endswith("<unfinished ...>"):
                    pending[(pid, name)] = args[:-len("<unfinished ...>")]
                    continue
            r = ret_re.search(args)
            if not r:
                continue
            ret = int(r.group(1), 0)
            first = args.split(",", 1)[0]
            if name in ("read", "pread64", "readv", "preadv", "preadv2", "copy_file_range",
                        "splice"):
                if re.fullmatch(fd_re, first.strip()) and ret > 0:
                    res["bytes"] += ret
                    res["calls"] += 1
            elif name == "sendfile":
                parts = args.split(",")
                if len(parts) > 1 and re.fullmatch(fd_re, parts[1].strip()) and ret > 0:
                    res["bytes"] += ret
                    res["calls"] += 1
            elif name in ("openat", "open"):
                if ret >= 0 and ('"%s"' % target in args or '"/proc/self/exe"' in args):
                    res["opens"] += 1
            elif name == "mmap":
                parts = [p.strip() for p in args.split(",")]
                if len(parts) > 4 and re.fullmatch(fd_re, parts[4]) and ret != -1:
                    res["mapped"] += int(parts[1], 0)
            elif name in ("fsync", "fdatasync") and ret == 0:
                res["syncs"] += 1
    return res


if __name__ == "__main__":
    sys.exit(Bench().main())
