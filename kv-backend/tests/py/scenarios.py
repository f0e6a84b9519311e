#!/usr/bin/env python3
"""Multi-client scenarios (blocking pops, pub/sub, WATCH, CLIENT KILL, RESP3
push) run against redis-server and kv-server; the transcripts must match.

usage: scenarios.py REDIS_PORT KV_PORT
"""
import re
import socket
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


def raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_for(s, seconds):
    """Everything the server sends within `seconds` (b"" if nothing)."""
    s.settimeout(seconds)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data + b"<closed>"
            data += chunk
    except socket.timeout:
        return data


def client_reply_off_skip(port):
    s = raw(port)
    s.sendall(resp("CLIENT", "REPLY", "OFF") + resp("SET", "a", "1") + resp("CLIENT", "REPLY", "SKIP")
              + resp("GET", "a") + resp("CLIENT", "REPLY", "ON") + resp("CLIENT", "REPLY", "SKIP")
              + resp("GET", "a") + resp("PING") + resp("CLIENT", "REPLY", "SKIP") + resp("CLIENT", "REPLY", "ON")
              + resp("ECHO", "x"))
    return read_for(s, 0.5)


def elapsed(fn):
    start = time.time()
    v = fn()
    return v, time.time() - start


def client_pause(port):
    a, b = conn(port), conn(port)
    out = [cmd(a, "SET", "pk", "1"), cmd(a, "CLIENT", "PAUSE", "600", "WRITE")]
    v, t = elapsed(lambda: cmd(b, "GET", "pk"))
    out.append((v, t < 0.3))
    v, t = elapsed(lambda: cmd(b, "SET", "pk", "2"))
    out.append((v, t > 0.3))
    # MULTI queues writes only once the pause is over; EXEC of reads runs.
    out.append(cmd(a, "CLIENT", "PAUSE", "400", "ALL"))
    v, t = elapsed(lambda: cmd(b, "PING"))
    out.append((v, t > 0.2))
    # UNPAUSE lets a held write through at once.
    out.append(cmd(a, "CLIENT", "PAUSE", "5000", "WRITE"))
    th, box = in_thread(lambda: elapsed(lambda: cmd(b, "INCR", "pk")))
    time.sleep(0.3)
    out.append(cmd(a, "CLIENT", "UNPAUSE"))
    th.join(10)
    v, t = box.get("v")
    out.append((v, t < 2))
    return out


def client_unblock(port):
    a, b = conn(port), conn(port)
    cmd(b, "DEL", "uq", "uq2")
    aid = cmd(a, "CLIENT", "ID")
    out = [cmd(b, "CLIENT", "UNBLOCK", aid)]
    th, box = in_thread(lambda: cmd(a, "BLPOP", "uq", "0"))
    time.sleep(0.3)
    out.append(cmd(b, "CLIENT", "UNBLOCK", aid, "TIMEOUT"))
    th.join(10)
    out.append(box.get("v"))
    th, box = in_thread(lambda: cmd(a, "BLMOVE", "uq", "uq2", "LEFT", "RIGHT", "0"))
    time.sleep(0.3)
    out.append(cmd(b, "CLIENT", "UNBLOCK", aid))
    th.join(10)
    out.append(box.get("v"))
    th, box = in_thread(lambda: cmd(a, "BRPOP", "uq", "0"))
    time.sleep(0.3)
    out.append(cmd(b, "CLIENT", "UNBLOCK", aid, "ERROR"))
    th.join(10)
    out.append(box.get("v"))
    out.append(cmd(a, "PING"))
    return out


def slowlog_entries(port):
    c = conn(port)
    me = cmd(c, "CLIENT", "INFO").decode().split()[1]
    out = [cmd(c, "CONFIG", "SET", "slowlog-log-slower-than", "0"), cmd(c, "SLOWLOG", "RESET"),
           cmd(c, "CLIENT", "SETNAME", "slow")]
    cmd(c, "RPUSH", "sl", *["a%d" % i for i in range(40)])
    cmd(c, "SET", "big", "x" * 200)
    try:
        cmd(c, "AUTH", "someone", "secret")
    except redis.RedisError:
        pass
    entries = cmd(c, "SLOWLOG", "GET", "5")
    base = entries[-1][0]
    for e in entries:
        out.append((e[0] - base, isinstance(e[1], int), isinstance(e[2], int), e[3], e[4] == me.encode()[5:], e[5]))
    out.append(cmd(c, "CONFIG", "SET", "slowlog-log-slower-than", "10000"))
    out.append(cmd(c, "SLOWLOG", "RESET"))
    return out


def monitor_feed(port):
    b = conn(port)
    m = conn(port)
    out = [cmd(m, "MONITOR")]
    cmd(b, "SET", "mk", "a b\n\"\x01")
    cmd(b, "GET", "mk")
    cmd(b, "CONFIG", "GET", "timeout")
    cmd(b, "SELECT", "2")
    cmd(b, "PING")
    for _ in range(4):
        line = m.read_response().decode()
        out.append(re.sub(r"^\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\] ", r"[\1] ", line))
    cmd(b, "SELECT", "0")
    return out


def idle_timeout(port):
    admin = conn(port)
    out = [cmd(admin, "CONFIG", "SET", "timeout", "1")]
    idle = raw(port)
    sub = conn(port)
    out.append(cmd(sub, "SUBSCRIBE", "ch"))
    blocked = conn(port)
    cmd(admin, "DEL", "tq")
    th, box = in_thread(lambda: cmd(blocked, "BLPOP", "tq", "0"))
    time.sleep(3.2)
    out.append(read_for(idle, 0.2))
    out.append(cmd(sub, "PING"))
    # Blocked clients are never idle-closed either.
    out.append(cmd(conn(port), "RPUSH", "tq", "v"))
    th.join(10)
    out.append(box.get("v"))
    # The admin connection idled too: it is gone as well.
    try:
        out.append(cmd(admin, "PING"))
    except redis.ConnectionError:
        out.append("admin closed")
    out.append(cmd(conn(port), "CONFIG", "SET", "timeout", "0"))
    return out


def max_clients(port):
    admin = conn(port)
    n = int(re.search(rb"connected_clients:(\d+)", cmd(admin, "INFO", "clients")).group(1))
    out = [cmd(admin, "CONFIG", "SET", "maxclients", str(n))]
    extra = raw(port)
    out.append(read_for(extra, 0.5))
    out.append(cmd(admin, "CONFIG", "SET", "maxclients", "10000"))
    rejected = re.search(rb"rejected_connections:(\d+)", cmd(admin, "INFO", "stats")).group(1)
    out.append(int(rejected) >= 1)
    return out


def command_stats(port):
    c = conn(port)
    out = [cmd(c, "CONFIG", "RESETSTAT")]
    for args in [("SET", "x", "1"), ("SET", "x", "2"), ("GET", "x"), ("GET",), ("LPUSH", "x", "a"),
                 ("CLIENT", "ID"), ("CLIENT", "LIST", "ID", "x"), ("CLIENT", "NOPE"), ("CLIENT", "ID", "x"),
                 ("NOSUCHCMD",), ("MULTI",), ("SET", "y", "1"), ("LPUSH", "x", "b"), ("EXEC",),
                 ("SLOWLOG", "LEN"), ("COMMAND", "COUNT"), ("COMMAND", "INFO", "get")]:
        r = cmd(c, *args)
        if isinstance(r, list):  # EXEC: errors inside come back as exception objects
            r = [("error", str(x)) if isinstance(x, Exception) else x for x in r]
        out.append(type(r).__name__ if args[0] == "COMMAND" or args == ("CLIENT", "ID") else r)
    cmd(c, "COMMAND")
    stats = {}
    for line in cmd(c, "INFO", "commandstats").decode().splitlines():
        m = re.match(r"cmdstat_(\S+):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,rejected_calls=(\d+),failed_calls=(\d+)", line)
        if m:
            stats[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
        elif not line.startswith("#"):
            stats["bad line"] = line
    out.append(sorted(stats.items()))
    out.append(cmd(c, "INFO", "errorstats"))
    st = cmd(c, "INFO", "stats").decode()
    out.append(re.findall(r"(total_commands_processed|total_error_replies):(\d+)", st))
    out.append(cmd(c, "CONFIG", "RESETSTAT"))
    out.append(cmd(c, "INFO", "errorstats"))
    return out


def client_list_flags(port):
    """CLIENT LIST's flags, cmd, sub and multi for clients in each state."""
    names = {}
    for name in ["blocked", "inmulti", "subscriber", "monitor", "noevict", "admin"]:
        names[name] = conn(port)
        cmd(names[name], "CLIENT", "SETNAME", name)
    cmd(names["admin"], "DEL", "fq")
    th, box = in_thread(lambda: cmd(names["blocked"], "BLPOP", "fq", "0"))
    cmd(names["inmulti"], "MULTI")
    cmd(names["inmulti"], "SET", "a", "1")
    cmd(names["subscriber"], "SUBSCRIBE", "c1", "c2")
    cmd(names["monitor"], "MONITOR")
    cmd(names["noevict"], "CLIENT", "NO-EVICT", "on")
    time.sleep(0.3)
    out = []
    listing = cmd(names["admin"], "CLIENT", "LIST").decode()
    for line in sorted(listing.splitlines()):
        f = dict(kv.split("=", 1) for kv in line.split(" "))
        if f["name"] in names:
            out.append((f["name"], f["flags"], f["cmd"], f["sub"], f["multi"], f["db"]))
    out.append(sorted(line.split(" name=")[1].split(" ")[0]
                      for line in cmd(names["admin"], "CLIENT", "LIST", "TYPE", "pubsub").decode().splitlines()))
    cmd(names["admin"], "RPUSH", "fq", "x")
    th.join(10)
    out.append(box.get("v"))
    return out


SCENARIOS = [blocked_client_hangs_up, full_scans, quit_closes, blpop_wakeup, blocked_fifo, blpop_timeout, blmove_and_bzpop, pipeline_after_block,
             pubsub, resp3_push, watch_other_client, client_kill, client_reply_off_skip, client_pause,
             client_unblock, slowlog_entries, monitor_feed, idle_timeout, max_clients, command_stats, client_list_flags]


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


def memory_stats_fields(port):
    """MEMORY STATS: the field names in order, with each value's type (the
    numbers differ between the servers), in RESP2 and RESP3, with keys in
    two databases (one `db.N` map each)."""
    out = []
    for protocol in (2, 3):
        c = conn(port, protocol)
        cmd(c, "FLUSHALL")
        cmd(c, "SET", "a", "1")
        cmd(c, "SELECT", "3")
        cmd(c, "SET", "b", "2", "EX", "100")
        c.send_command("MEMORY", "STATS")
        reply = c.read_response()
        pairs = list(reply.items()) if isinstance(reply, dict) else list(zip(reply[::2], reply[1::2]))

        def kind(v):
            if isinstance(v, (dict, list)):
                return memory_stats_shape(v)
            return type(v).__name__

        def memory_stats_shape(v):
            items = list(v.items()) if isinstance(v, dict) else list(zip(v[::2], v[1::2]))
            return [(k, kind(x)) for k, x in items]

        out.append([(k, kind(v)) for k, v in pairs])
        cmd(c, "FLUSHALL")
    return out


def expiry_waits_for_pause(port):
    """During CLIENT PAUSE WRITE an expired key reads as missing but is not
    deleted (DBSIZE, INFO keyspace and expired_keys still count it); it goes
    once the pause is over."""
    c = conn(port)
    cmd(c, "FLUSHALL")
    cmd(c, "CONFIG", "RESETSTAT")
    for k in ("k1", "k2", "k3"):
        cmd(c, "SET", k, "v", "PX", "100")
    out = [cmd(c, "CLIENT", "PAUSE", "700", "WRITE")]
    time.sleep(0.3)
    for args in (["DBSIZE"], ["GET", "k1"], ["TTL", "k1"], ["EXISTS", "k2"], ["TYPE", "k3"], ["DBSIZE"],
                 ["KEYS", "*"], ["SCAN", "0"]):
        out.append(cmd(c, *args))
    stats = cmd(c, "INFO", "stats").decode()
    out.append([line for line in stats.split("\r\n") if line.startswith("expired_keys")])
    out.append(cmd(c, "INFO", "keyspace").decode().split("\r\n")[1].split(",")[0])
    time.sleep(0.8)
    out.append(cmd(c, "DBSIZE"))
    return out


def pubsub_confirmations_despite_reply_off(port):
    """CLIENT REPLY OFF/SKIP drops command replies, but (UN)SUBSCRIBE
    confirmations and messages still arrive, in RESP2 and RESP3."""
    out = []
    for hello in (b"", resp("HELLO", "3")):
        s, p = raw(port), raw(port)
        if hello:
            s.sendall(hello)
            read_for(s, 0.2)
        s.sendall(resp("CLIENT", "REPLY", "OFF") + resp("SUBSCRIBE", "ch") + resp("PSUBSCRIBE", "c*"))
        out.append(read_for(s, 0.3))
        p.sendall(resp("PUBLISH", "ch", "hi"))
        out.append(read_for(p, 0.2))
        out.append(read_for(s, 0.3))
        s.sendall(resp("PING") + resp("UNSUBSCRIBE") + resp("PUNSUBSCRIBE", "c*"))
        out.append(read_for(s, 0.3))
        if hello:
            s.sendall(resp("CLIENT", "REPLY", "ON") + resp("CLIENT", "REPLY", "SKIP") + resp("SUBSCRIBE", "x")
                      + resp("GET", "a") + resp("UNSUBSCRIBE", "x"))
            out.append(read_for(s, 0.3))
        s.close()
        p.close()
    return out


SCENARIOS += [memory_stats_fields, expiry_waits_for_pause, pubsub_confirmations_despite_reply_off]


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
