#!/usr/bin/env python3
"""Differential test of command metadata: for every command kv-server lists,
COMMAND INFO and COMMAND DOCS must equal redis-server's, in RESP2 and RESP3,
node for node (types and order included), once Redis' replies are narrowed
to the subcommands kv-server implements. COMMAND LIST (with filters) must be
the implemented part of Redis' list, and COMMAND COUNT must agree with it.

usage: command_meta.py REDIS_PORT KV_PORT

Replies are read raw (not through redis-py) so that a set is not confused
with an array, nor a simple string with a bulk string.
"""
import socket
import sys


class Conn:
    def __init__(self, port, protocol):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rb")
        if protocol == 3:
            self.call("HELLO", "3")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.read()

    def read(self):
        head = self.f.readline()[:-2]
        kind, rest = chr(head[0]), head[1:]
        if kind in "*~>":
            n = int(rest)
            return (kind, None) if n < 0 else (kind, [self.read() for _ in range(n)])
        if kind == "%":
            return ("%", [(self.read(), self.read()) for _ in range(int(rest))])
        if kind in "$=":
            n = int(rest)
            return (kind, None) if n < 0 else (kind, self.f.read(n + 2)[:-2])
        if kind in "+-:_#,(":
            return (kind, rest)
        raise ValueError(f"unexpected reply type {kind!r}")


def texts(node):
    return [v for _, v in node[1]]


def is_map_pairs(node):
    return node[0] == "%"


def pairs(node):
    """(key, value) pairs of a map, RESP3 map or RESP2 flat array."""
    if node[0] == "%":
        return node[1]
    items = node[1]
    return list(zip(items[0::2], items[1::2]))


def rebuild_map(like, kept):
    if like[0] == "%":
        return ("%", kept)
    return (like[0], [x for kv in kept for x in kv])


# Redis keeps subcommands in a hash table with a random seed, so their order
# changes from one server start to the next: they are compared sorted by name.

def narrow_info(info, implemented=None):
    """A COMMAND INFO entry with only implemented subcommands (all when
    `implemented` is None), sorted by name."""
    if is_null(info):
        return info
    fields = list(info[1])
    subs = fields[9]
    kept = [s for s in subs[1] if implemented is None or s[1][0][1] in implemented]
    fields[9] = (subs[0], sorted(kept, key=lambda s: s[1][0][1]))
    return (info[0], fields)


def narrow_docs(docs, implemented=None):
    """A COMMAND DOCS map (name -> doc) with only implemented commands and
    subcommands (all when `implemented` is None), subcommands sorted."""
    kept = []
    for name, doc in pairs(docs):
        if implemented is not None and name[1] not in implemented:
            continue
        fields = []
        for k, v in pairs(doc):
            if k[1] == b"subcommands":
                subs = [(n, d) for n, d in pairs(v)
                        if implemented is None or n[1] in implemented]
                v = rebuild_map(v, sorted(subs, key=lambda nd: nd[0][1]))
            fields.append((k, v))
        kept.append((name, rebuild_map(doc, fields)))
    return rebuild_map(docs, kept)


class Checker:
    def __init__(self):
        self.total = 0
        self.failures = 0

    def same(self, what, want, got):
        self.total += 1
        if want != got:
            self.failures += 1
            print(f"MISMATCH {what}\n  redis: {want!r}\n  kv:    {got!r}"[:4000])


def main():
    rport, kport = int(sys.argv[1]), int(sys.argv[2])
    check = Checker()
    kv_list = set(texts(Conn(kport, 2).call("COMMAND", "LIST")))
    redis_list = set(texts(Conn(rport, 2).call("COMMAND", "LIST")))
    # bf.* are RedisBloom's, not redis-server's: kept out of the comparison.
    ours = {n for n in kv_list if not n.startswith(b"bf.")}
    check.same("kv-server lists only Redis commands", set(), ours - redis_list)
    top_level = {n for n in ours if b"|" not in n}
    for protocol in (2, 3):
        r, k = Conn(rport, protocol), Conn(kport, protocol)
        check.same(f"RESP{protocol} COMMAND COUNT",
                   (":", str(len(top_level) + len(kv_list - ours)).encode()),
                   k.call("COMMAND", "COUNT"))
        for name in sorted(ours):
            check.same(f"RESP{protocol} COMMAND INFO {name}",
                       narrow_info(r.call("COMMAND", "INFO", name)[1][0], ours),
                       narrow_info(k.call("COMMAND", "INFO", name)[1][0]))
            check.same(f"RESP{protocol} COMMAND DOCS {name}",
                       narrow_docs(r.call("COMMAND", "DOCS", name), ours),
                       narrow_docs(k.call("COMMAND", "DOCS", name)))
        # Every command at once: same entries (Redis' order is its hash
        # table's, so compare by name).
        want = {i[1][0][1]: narrow_info(i, ours) for i in r.call("COMMAND", "INFO")[1]
                if i[1][0][1] in top_level}
        got = {i[1][0][1]: narrow_info(i) for i in k.call("COMMAND")[1]
               if i[1][0][1] in top_level}
        check.same(f"RESP{protocol} COMMAND (all)", want, got)
        want = dict(pairs(narrow_docs(r.call("COMMAND", "DOCS"), ours)))
        got = dict(pairs(narrow_docs(k.call("COMMAND", "DOCS"))))
        check.same(f"RESP{protocol} COMMAND DOCS (all)", {n[1]: d for n, d in want.items()},
                   {n[1]: d for n, d in got.items() if n[1] in top_level})
        # Several names, unknown ones, odd case and bad subcommand syntax.
        names = ["GET", "nosuch", "Client|GetName", "get|x", "client|nosuch",
                 "client|getname|x", "config|get", "|get", "get|"]
        check.same(f"RESP{protocol} COMMAND INFO several",
                   narrow_info_list(r.call("COMMAND", "INFO", *names), ours, protocol),
                   narrow_info_list(k.call("COMMAND", "INFO", *names), None, protocol))
        check.same(f"RESP{protocol} COMMAND DOCS several",
                   narrow_docs(r.call("COMMAND", "DOCS", *names), ours),
                   narrow_docs(k.call("COMMAND", "DOCS", *names)))
    r, k = Conn(rport, 2), Conn(kport, 2)
    filters = [("ACLCAT", c) for c in ("read", "WRITE", "fast", "slow", "connection",
                                       "keyspace", "dangerous", "admin", "nosuch")]
    filters += [("PATTERN", p) for p in ("client*", "*|*", "Z*", "[gs]et", "*")]
    filters += [("MODULE", "nosuch")]
    for kind, arg in filters:
        want = {n for n in texts(r.call("COMMAND", "LIST", "FILTERBY", kind, arg))
                if n in ours}
        got = {n for n in texts(k.call("COMMAND", "LIST", "FILTERBY", kind, arg))
               if not n.startswith(b"bf.")}
        check.same(f"COMMAND LIST FILTERBY {kind} {arg}", want, got)
    for args in (["LIST", "FILTERBY"], ["LIST", "FILTERBY", "x", "y"], ["LIST", "foo"],
                 ["COUNT", "x"], ["HELP"], ["HELP", "x"], ["NOSUCH"], ["DOCS", "nosuch"]):
        check.same(f"COMMAND {' '.join(args)}", r.call("COMMAND", *args), k.call("COMMAND", *args))
    print(f"{check.total - check.failures}/{check.total} metadata checks matched")
    sys.exit(1 if check.failures else 0)


def is_null(node):
    return node[0] == "_" or node[1] is None


def narrow_info_list(reply, implemented, protocol):
    """Redis' COMMAND INFO reply with unimplemented commands as nulls."""
    null = ("*", None) if protocol == 2 else ("_", b"")
    return (reply[0], [narrow_info(i, implemented)
                       if not is_null(i) and (implemented is None or i[1][0][1] in implemented)
                       else null
                       for i in reply[1]])


if __name__ == "__main__":
    main()
