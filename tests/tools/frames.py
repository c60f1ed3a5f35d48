#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Read and rewrite the frame index of an installer (test-only).

    frames.py list FILE            one line per file: INDEX OFFSET LEN PATH REFS...
                                   (OFFSET from the start of the installer)
    frames.py setlen FILE I DELTA  frame I DELTA bytes longer, frame I+1 shorter
    frames.py version FILE N       set the trailer's format version
    frames.py reseal FILE          recompute the trailer digest (unsigned)

Rewrites leave every other byte as it is and reseal the digest, so that
only the reader's own checks stand between the change and the disk.
"""
import hashlib
import struct
import sys

NO_REF = 0xFFFFFFFF


def trailer(data):
    t = data[-256:]
    off, plen, moff, mlen = struct.unpack("<4Q", t[24:56])
    return off, plen, moff, mlen


def index(data):
    off, plen, moff, mlen = trailer(data)
    p = data[off:off + plen]
    assert p[:8] == b"DYKFRAME", "no frame index"
    (n,) = struct.unpack("<I", p[8:12])
    meta = data[moff:moff + mlen].decode().split("\n")
    files = [line.split(" ")[-1] for line in meta if line.startswith("file ")]
    pos = off + 16 + 24 * n
    out = []
    for i in range(n):
        ln, a, b, c, _ = struct.unpack("<Q4I", p[16 + 24 * i:40 + 24 * i])
        refs = [files[r] for r in (a, b, c) if r != NO_REF]
        out.append((i, pos, ln, files[i], refs))
        pos += ln
    return out


def reseal(data):
    data[-32:] = hashlib.sha256(bytes(data[:-32])).digest()


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    data = bytearray(open(path, "rb").read())
    if cmd == "list":
        for i, pos, ln, name, refs in index(data):
            print(i, pos, ln, name, *refs)
        return
    if cmd == "setlen":
        i, delta = int(sys.argv[3]), int(sys.argv[4])
        off = trailer(data)[0]
        for k, d in ((i, delta), (i + 1, -delta)):
            at = off + 16 + 24 * k
            (ln,) = struct.unpack("<Q", data[at:at + 8])
            data[at:at + 8] = struct.pack("<Q", ln + d)
    elif cmd == "version":
        data[-256 + 8:-256 + 12] = struct.pack("<I", int(sys.argv[3]))
    elif cmd != "reseal":
        sys.exit("unknown command " + cmd)
    reseal(data)
    open(path, "wb").write(data)


main()
