#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpus of fuzz_trailer: small whole installer files
(stub, payload, metadata, 256-byte trailer) laid out as verify/trailer.h
describes, plus a few that break one rule each.  Deterministic: re-running
rewrites the same bytes.

    python3 tests/fuzz/gen-trailer-seeds.py tests/fuzz/corpus/trailer
"""
import hashlib
import os
import struct
import sys

SHA = "0123456789abcdef" * 4
META_MIN = ("dockyard-payload 1\nbuilt 1700000000\ncomponent demo 0.1.0\n"
            "dir 0755 bin\nfile demo 0755 5 " + SHA + " bin/hello\n").encode()
META_FULL = ("dockyard-payload 1\nbuilt 0\ncomponent demo 0.1.0\n"
             "component sysbox 0.6.7.9-tc sysbox-run-dir=args\n"
             "dir 0755 bin\nfile demo 0755 1234 " + SHA + " bin/hello\n"
             "file sysbox 0750 0 " + SHA + " bin/sysbox-runc\n"
             "needs bin/hello /lib64/ld-linux-x86-64.so.2 libc.so.6\n").encode()
STUB = b"#!/bin/sh\n# stand-in for the installer stub\n"
# A zstd frame magic and filler: the trailer reader never looks inside.
PAYLOAD = b"\x28\xb5\x2f\xfd" + b"payload bytes " * 3


def build(meta=META_MIN, flags=0, sig=b"", window_log=19, tar_len=10240,
          version=1, file_len_delta=0, reserved=b"", stub=STUB, payload=PAYLOAD):
    payload_off = len(stub)
    meta_off = payload_off + len(payload)
    file_len = meta_off + len(meta) + 256 + file_len_delta
    head = b"DYKTRAIL" + struct.pack(
        "<IIQQQQQQHB", version, flags, file_len, payload_off, len(payload),
        meta_off, len(meta), tar_len, len(sig), window_log)
    head += reserved.ljust(5, b"\0")[:5]
    assert len(head) == 72
    trailer = head + sig.ljust(104, b"\0") + b"\0" * 48
    assert len(trailer) == 224
    body = stub + payload + meta + trailer
    return body + hashlib.sha256(body).digest()


SEEDS = {
    "unsigned-min": build(),
    "unsigned-full-meta": build(meta=META_FULL, window_log=27, tar_len=512),
    "signed-64": build(flags=1, sig=bytes(range(1, 65))),
    "signed-104": build(flags=1, sig=bytes(range(100, 204)), window_log=10),
    "signed-8": build(flags=1, sig=b"\xff" * 8),
    # One broken rule each.
    "bad-window-log-28": build(window_log=28),
    "bad-tar-len": build(tar_len=1000),
    "bad-version-2": build(version=2),
    "bad-file-len": build(file_len_delta=1),
    "bad-reserved": build(reserved=b"\x01"),
    "bad-sig-without-flag": build(sig=b"\x01" * 8),
    "bad-meta-crlf": build(meta=META_MIN.replace(b"\n", b"\r\n")),
    # Regression: a tab before a mode was read as the mode (fuzz_trailer).
    "regress-meta-tab-mode": build(meta=META_FULL.replace(b" 0750 ", b" \t750 ")),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/trailer"
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
