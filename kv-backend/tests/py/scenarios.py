#!/usr/bin/env python3
"""Multi-client scenarios (blocking pops, pub/sub, WATCH, CLIENT KILL, RESP3
push) run against redis-server and kv-server; the transcripts must match.

usage: scenarios.py REDIS_PORT KV_PORT
"""
import sys
import threading
import time

import redis


def conn(port, protocol=2):
    c = redis.Connection(port=port, protocol=protocol, socket_timeout=10)
    c.connect()
    return c


def cmd(c, *args):
    c.send_command(*args)
    try:
        return c.read_response(push_request=True)
    except redis.ResponseError as e:
        return ("error", str(e))


def in_thread(fn):
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("v", fn()))
    t.start()
    return t, box


def blpop_wakeup(port):
    a, b = conn(port), conn(port)
    cmd(b, "FLUSHALL")
    t, box = in_thread(lambda: cmd(a, "BLPOP", "k1", "k2", "5"))
    time.sleep(0.3)
    pushed = cmd(b, "RPUSH", "k2", "x", "y")
    t.join(10)
    return [pushed, box.get("v"), cmd(b, "LRANGE", "k2", "0", "-1")]


def blocked_fifo(port):
    a, b, c = conn(port), conn(port), conn(port)
    cmd(c, "FLUSHALL")
    t1, r1 = in_thread(lambda: cmd(a, "BRPOP", "q", "5"))
    time.sleep(0.2)
    t2, r2 = in_thread(lambda: cmd(b, "BRPOP", "q", "5"))
    time.sleep(0.2)
    n = cmd(c, "LPUSH", "q", "first", "second")
    t1.join(10)
    t2.join(10)
    return [n, r1.get("v"), r2.get("v"), cmd(c, "EXISTS", "q")]


def blpop_timeout(port):
    a = conn(port)
    start = time.time()
    r = cmd(a, "BLPOP", "nokey", "0.3")
    waited = time.time() - start
    return [r, waited >= 0.25, waited < 3]


def blmove_and_bzpop(port):
    a, b, c = conn(port), conn(port), conn(port)
    cmd(c, "FLUSHALL")
    t1, r1 = in_thread(lambda: cmd(a, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "5"))
    t2, r2 = in_thread(lambda: cmd(b, "BZPOPMAX", "z", "5"))
    time.sleep(0.3)
    cmd(c, "RPUSH", "src", "a", "b")
    cmd(c, "ZADD", "z", "1", "low", "9", "high")
    t1.join(10)
    t2.join(10)
    return [r1.get("v"), r2.get("v"), cmd(c, "LRANGE", "dst", "0", "-1"), cmd(c, "ZRANGE", "z", "0", "-1")]


def blocked_client_hangs_up(port):
    """A client that disconnects while blocked must not swallow a later push."""
    a, b = conn(port), conn(port)
    cmd(b, "FLUSHALL")
    a.send_command("BLPOP", "gone", "0")
    time.sleep(0.2)
    a.disconnect()
    time.sleep(0.2)
    return [cmd(b, "RPUSH", "gone", "x"), cmd(b, "LRANGE", "gone", "0", "-1")]


def pipeline_after_block(port):
    a, b = conn(port), conn(port)
    cmd(b, "FLUSHALL")
    # A pipeline whose first command blocks: the rest waits for it, in order.
    a.send_packed_command(a.pack_commands([("BLPOP", "pk", "5"), ("SET", "after", "1"), ("GET", "after")]))
    time.sleep(0.3)
    before = cmd(b, "GET", "after")
    cmd(b, "RPUSH", "pk", "v")
    return [before, a.read_response(), a.read_response(), a.read_response()]


def pubsub(port):
    s1, s2, p = conn(port), conn(port), conn(port)
    out = [cmd(s1, "SUBSCRIBE", "news", "chat"), s1.read_response()]
    out.append(cmd(s2, "PSUBSCRIBE", "ch*"))
    out.append(cmd(p, "PUBLISH", "chat", "hello"))
    out.append(s1.read_response())
    out.append(s2.read_response())
    out.append(cmd(p, "PUBLISH", "nobody", "x"))
    out.append(sorted(cmd(p, "PUBSUB", "CHANNELS")))
    out.append(cmd(p, "PUBSUB", "NUMSUB", "news", "chat", "none"))
    out.append(cmd(p, "PUBSUB", "NUMPAT"))
    out.append(cmd(s1, "GET", "x"))
    out.append(cmd(s1, "PING"))
    out.append(cmd(s1, "UNSUBSCRIBE", "news"))
    out.append(cmd(s1, "UNSUBSCRIBE"))
    out.append(cmd(s1, "GET", "x"))
    out.append(cmd(s2, "PUNSUBSCRIBE"))
    out.append(cmd(p, "PUBSUB", "NUMPAT"))
    return out


def resp3_push(port):
    s, p = conn(port, 3), conn(port)
    out = [cmd(s, "SUBSCRIBE", "c")]
    out.append(cmd(p, "PUBLISH", "c", "m"))
    out.append(s.read_response(push_request=True))
    out.append(cmd(s, "GET", "k"))
    out.append(cmd(s, "PING"))
    return out


def watch_other_client(port):
    a, b = conn(port), conn(port)
    cmd(a, "FLUSHALL")
    cmd(a, "SET", "k", "1")
    out = [cmd(a, "WATCH", "k")]
    out.append(cmd(b, "INCR", "k"))
    out += [cmd(a, "MULTI"), cmd(a, "SET", "k", "mine"), cmd(a, "EXEC"), cmd(a, "GET", "k")]
    out.append(cmd(a, "WATCH", "k"))
    out.append(cmd(b, "GET", "k"))
    out += [cmd(a, "MULTI"), cmd(a, "SET", "k", "mine"), cmd(a, "EXEC"), cmd(a, "GET", "k")]
    # Two clients in MULTI: whichever EXEC comes first runs first.
    out += [cmd(a, "MULTI"), cmd(b, "MULTI"), cmd(a, "SET", "o", "a"), cmd(b, "SET", "o", "b")]
    out += [cmd(b, "EXEC"), cmd(a, "EXEC"), cmd(b, "GET", "o")]
    return out


def client_kill(port):
    a, b = conn(port), conn(port)
    out = [cmd(a, "CLIENT", "SETNAME", "victim")]
    listing = cmd(b, "CLIENT", "LIST").decode()
    out.append("name=victim" in listing)
    victim_id = cmd(a, "CLIENT", "ID")
    out.append(cmd(b, "CLIENT", "KILL", "ID", str(victim_id)))
    out.append(cmd(b, "CLIENT", "KILL", "ID", str(victim_id)))
    try:
        a.send_command("PING")
        r = a.read_response()
        out.append(("still connected", r))
    except (redis.ConnectionError, OSError):
        out.append("closed")
    out.append(cmd(b, "CLIENT", "KILL", "127.0.0.1:1"))
    return out


def full_scans(port):
    """SCAN/HSCAN/SSCAN/ZSCAN iterations return every element exactly once
    (cursor values themselves differ between implementations)."""
    c = conn(port)
    cmd(c, "FLUSHALL")
    for i in range(300):
        cmd(c, "SET", f"k{i}", "v")
    cmd(c, "HSET", "h", *[x for i in range(300) for x in (f"f{i}", str(i))])
    cmd(c, "SADD", "s", *[f"m{i}" for i in range(300)])
    cmd(c, "ZADD", "z", *[x for i in range(300) for x in (str(i), f"z{i}")])
    out = []
    for args in (["SCAN"], ["SCAN", "MATCH", "k1*"], ["SCAN", "TYPE", "hash"], ["HSCAN", "h"], ["SSCAN", "s"], ["ZSCAN", "z"]):
        cursor, seen, rounds = b"0", [], 0
        while True:
            head = args[:1] + args[1:2] if args[0] != "SCAN" else args[:1]
            rest = args[2:] if args[0] != "SCAN" else args[1:]
            reply = cmd(c, *head, cursor, "COUNT", "50", *rest)
            cursor = reply[0]
            seen += reply[1]
            rounds += 1
            if cursor == b"0" or rounds > 1000:
                break
        out.append((args[0], len(seen), len(set(seen)), sorted(seen)[:5]))
    return out


def quit_closes(port):
    c = conn(port)
    out = [cmd(c, "QUIT")]
    try:
        c.send_command("PING")
        out.append(c.read_response())
    except (redis.ConnectionError, OSError):
        out.append("closed")
    return out


SCENARIOS = [blocked_client_hangs_up, full_scans, quit_closes, blpop_wakeup, blocked_fifo, blpop_timeout, blmove_and_bzpop, pipeline_after_block,
             pubsub, resp3_push, watch_other_client, client_kill]


def keyspace_stats_of_bitfield_and_lcs(port):
    """BITFIELD with only GETs (and BITFIELD_RO) looks its key up as a read,
    counted in keyspace_hits/misses; with a SET or INCRBY it does not. LCS
    reads both keys before it checks its options."""
    c = conn(port)
    cmd(c, "FLUSHALL")
    cmd(c, "SET", "k", "abc")
    cmd(c, "LPUSH", "l", "x")
    cmd(c, "CONFIG", "RESETSTAT")
    out = []
    for args in (["BITFIELD", "nokey", "GET", "u8", "0"], ["BITFIELD", "k", "GET", "u8", "0"],
                 ["BITFIELD", "k", "SET", "u8", "0", "1"], ["BITFIELD", "new", "INCRBY", "u8", "0", "1"],
                 ["BITFIELD_RO", "k", "GET", "u8", "0"], ["BITFIELD", "k"], ["BITFIELD", "k", "GET", "u64", "0"],
                 ["BITFIELD_RO", "k", "SET", "u8", "0", "1"], ["BITFIELD", "l", "GET", "u8", "0"],
                 ["LCS", "k", "nokey"], ["LCS", "k", "l"], ["LCS", "k", "k", "FOO"]):
        reply = cmd(c, *args)
        stats = cmd(c, "INFO", "stats").decode()
        counts = [line for line in stats.split("\r\n") if line.startswith("keyspace_")]
        out.append((args, reply, counts))
    return out


SCENARIOS.append(keyspace_stats_of_bitfield_and_lcs)


def main():
    rport, kport = int(sys.argv[1]), int(sys.argv[2])
    bad = 0
    for sc in SCENARIOS:
        want = sc(rport)
        got = sc(kport)
        if want != got:
            bad += 1
            print(f"MISMATCH {sc.__name__}\n  redis: {want!r}\n  kv:    {got!r}")
    print(f"{len(SCENARIOS) - bad}/{len(SCENARIOS)} scenarios matched")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
