#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Make hostile payloads for the installer's refusal tests (test-only).

    hostile.py CASE OUTDIR ESCAPE_DIR

writes OUTDIR/CASE.tar and OUTDIR/CASE.meta: a tar stream and metadata
text that dy-forge seals with a valid trailer digest, so that only the
member checks stand between the tar and the disk.  ESCAPE_DIR is where an
escaping member would land if it were not refused.
"""
import hashlib
import io
import os
import sys
import tarfile

EPOCH = 1704067200
BODY = b"benign payload file\n"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def meta(entries):
    """entries: list of ("dir", path) or ("file", path, data)."""
    lines = ["dockyard-payload 1", f"built {EPOCH}", "component c 1.0"]
    for e in sorted(entries, key=lambda e: e[1].encode()):
        if e[0] == "dir":
            lines.append(f"dir 0755 {e[1]}")
        else:
            lines.append(f"file c 0644 {len(e[2])} {sha(e[2])} {e[1]}")
    return "\n".join(lines) + "\n"


def add(tar, name, kind="file", data=b"", target="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.mtime = EPOCH
    info.mode = mode
    if kind == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, target
    elif kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, target
    elif kind == "chardev":
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    info.size = len(data) if kind == "file" else 0
    tar.addfile(info, io.BytesIO(data) if kind == "file" else None)


BENIGN = [("dir", "bin"), ("file", "bin/x", BODY)]
BIG = os.urandom(3_000_000)


def case(name, esc):
    """Returns (tar member list, metadata entries)."""
    cases = {
        "dotdot": ([("bin", "dir"), ("../escape-dotdot", "file", BODY)], BENIGN),
        "absolute": ([("bin", "dir"), (f"{esc}/escape-absolute", "file", BODY)], BENIGN),
        "symlink": ([("bin", "dir"), ("bin/x", "symlink", b"", esc),
                     ("bin/x/escape-symlink", "file", BODY)], BENIGN),
        "hardlink": ([("bin", "dir"), ("bin/x", "hardlink", b"", "/etc/passwd")], BENIGN),
        "device": ([("bin", "dir"), ("bin/x", "chardev")], BENIGN),
        "unlisted": ([("bin", "dir"), ("bin/x", "file", BODY), ("bin/y", "file", BODY)],
                     BENIGN),
        "duplicate": ([("bin", "dir"), ("bin/x", "file", BODY), ("bin/x", "file", BODY)],
                      BENIGN),
        "missing": ([("bin", "dir")], BENIGN),
        "tampered": ([("bin", "dir"), ("bin/x", "file", BODY.upper())], BENIGN),
        "oversized": ([("bin", "dir"), ("bin/x", "file", BODY * 1000)], BENIGN),
        "metadotdot": ([("bin", "dir"), ("bin/x", "file", BODY)], None),
        # Benign, but needs a 2^22 zstd window once compressed.
        "big": ([("bin", "dir"), ("bin/x", "file", BIG)],
                [("dir", "bin"), ("file", "bin/x", BIG)]),
    }
    return cases[name]


def main():
    name, out, esc = sys.argv[1], sys.argv[2], sys.argv[3]
    members, entries = case(name, esc)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for m in members:
            add(tar, m[0], m[1], *(m[2:]))
    with open(f"{out}/{name}.tar", "wb") as f:
        f.write(buf.getvalue())
    text = meta(entries) if entries else (
        "dockyard-payload 1\nbuilt 1\ncomponent c 1.0\n"
        f"file c 0644 {len(BODY)} {sha(BODY)} ../etc/escape-meta\n")
    with open(f"{out}/{name}.meta", "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
