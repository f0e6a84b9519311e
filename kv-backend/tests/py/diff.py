#!/usr/bin/env python3
"""Differential test: run the same command sequences against redis-server and
kv-server with redis-py and compare every reply byte for byte.

usage: diff.py REDIS_PORT KV_PORT CASES_FILE [CASES_FILE...]

Case file format, one command per line (shell-style quoting, \\xNN escapes):
  # comment
  == group name      starts a group; both servers get FLUSHALL first
  cmd args...        compare replies exactly
  ~cmd args...       compare replies as unordered collections
  ?cmd args...       compare only the reply's type and length (random replies)
  @sleep 0.2         sleep (for expiry cases)
  @resp3             switch both connections to RESP3 (HELLO 3)
"""
import re
import shlex
import sys
import time

import redis


ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"\\": b"\\", b'"': b'"'}


def unescape(tok):
    """UTF-8 bytes of a token, with \\xNN, \\n, \\r, \\t escapes decoded."""
    raw = tok.encode("utf-8")
    return re.sub(rb"\\(x[0-9a-fA-F]{2}|[nrt\\\\\"])",
                  lambda m: bytes([int(m.group(1)[1:], 16)]) if m.group(1)[:1] == b"x" else ESCAPES[m.group(1)],
                  raw)


def shape(v):
    if isinstance(v, (list, tuple, set)):
        return (type(v).__name__, len(v))
    if isinstance(v, dict):
        return ("dict", len(v))
    return (type(v).__name__,)


def norm_unordered(v):
    if isinstance(v, (list, tuple, set)):
        return sorted((norm_unordered(x) for x in v), key=repr)
    if isinstance(v, dict):
        return sorted(((repr(k), norm_unordered(x)) for k, x in v.items()))
    return v


def plain(v):
    """Replaces error objects nested in replies (EXEC) by comparable tuples."""
    if isinstance(v, Exception):
        return ("error", str(v))
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def call(conn, args):
    try:
        return ("ok", plain(conn.execute_command(*args)))
    except redis.ResponseError as e:
        return ("err", str(e))
    except redis.RedisError as e:
        return ("client-err", type(e).__name__ + ": " + str(e))


def connect(port, protocol):
    # No client-side response callbacks: compare the server's raw replies.
    c = redis.Redis(port=port, protocol=protocol, decode_responses=False, socket_timeout=10)
    c.response_callbacks.clear()
    return c


def main():
    rport, kport = int(sys.argv[1]), int(sys.argv[2])
    lines = []
    for path in sys.argv[3:]:
        with open(path, encoding="utf-8") as f:
            lines += [(path, i + 1, l.rstrip("\n")) for i, l in enumerate(f)]
    conns = [connect(rport, 2), connect(kport, 2)]
    failures = 0
    total = 0
    group = "?"
    for path, lineno, line in lines:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("=="):
            group = s[2:].strip()
            conns = [connect(rport, 2), connect(kport, 2)]
            for c in conns:
                c.execute_command("FLUSHALL")
            continue
        if s.startswith("@sleep"):
            time.sleep(float(s.split()[1]))
            continue
        if s == "@resp3":
            conns = [connect(rport, 3), connect(kport, 3)]
            continue
        mode = "exact"
        if s[0] in "~?":
            mode = {"~": "unordered", "?": "shape"}[s[0]]
            s = s[1:]
        args = [unescape(t) for t in shlex.split(s, posix=True)]
        total += 1
        want = call(conns[0], args)
        got = call(conns[1], args)
        if mode == "unordered":
            same = want[0] == got[0] and norm_unordered(want[1]) == norm_unordered(got[1])
        elif mode == "shape":
            same = want[0] == got[0] and shape(want[1]) == shape(got[1])
        else:
            same = want == got
        if not same:
            failures += 1
            print(f"MISMATCH {path}:{lineno} [{group}] {s}\n  redis: {want!r}\n  kv:    {got!r}")
    print(f"{total - failures}/{total} commands matched")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
