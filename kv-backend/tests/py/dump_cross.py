#!/usr/bin/env python3
"""DUMP/RESTORE across servers: every key built (identically) in redis-server
and kv-server is dumped by one and restored into the other, in both
directions. The restored key must read back exactly like the original and
report the OBJECT ENCODING that redis-server gives its own DUMP when it
restores it (a restore re-picks encodings: a hashtable set of integers comes
back as an intset).

usage: dump_cross.py REDIS_PORT KV_PORT
"""
import random
import sys

import redis

def big_ints():
    # One of each listpack integer width, plus intset widths.
    return [0, 1, 127, 128, -1, -4096, 4095, 4096, -32768, 32767, 40000, -8388608,
            8388607, 8388608, 2**31 - 1, -2**31, 2**31, 2**63 - 1, -2**63]


def populate(c):
    """Builds the keys, returns their names. Same commands on both servers."""
    c.flushall()
    rng = random.Random(7)
    c.set("s:short", "hello")
    c.set("s:int", 12345)
    c.set("s:negint", -7)
    c.set("s:i64", 2**62)
    c.set("s:float", "3.14")
    c.set("s:empty", "")
    c.set("s:raw", "x" * 44)
    c.set("s:raw45", "y" * 45)
    c.set("s:compressible", "abcd" * 5000)
    c.set("s:random", bytes(rng.getrandbits(8) for _ in range(3000)))
    c.set("s:binary", b"\x00\xff\r\n" * 10)
    c.append("s:appended", "abc")
    c.set("s:ttl", "v", ex=1000)
    c.rpush("l:small", "a", "b", "", *big_ints())
    c.rpush("l:large", *[f"element-{i}" for i in range(5000)])
    # 16378 bytes make a listpack entry of 16383, where the back-length grows.
    c.rpush("l:longvals", *["v" * n for n in (10, 100, 1000, 5000, 16378, 20000)])
    c.rpush("l:ints", *range(-3000, 3000, 7))
    c.hset("h:small", mapping={"f1": "v1", "f2": 2, "": "empty", "n": -40000})
    c.hset("h:large", mapping={f"field{i}": f"value{i}" for i in range(1000)})
    c.hset("h:longval", mapping={"f": "z" * 100})
    c.hset("h:shrunk", mapping={f"f{i}": i for i in range(200)})
    c.hdel("h:shrunk", *[f"f{i}" for i in range(10, 200)])
    c.sadd("set:intset16", 1, 2, 3, -5)
    c.sadd("set:intset64", *big_ints())
    c.sadd("set:strings", "a", "b", "c")
    c.sadd("set:large", *range(1000))
    c.sadd("set:mixed", 1, "x")
    c.srem("set:mixed", "x")
    c.zadd("z:small", {"a": 1, "b": 2.5, "c": float("inf"), "d": -3, "e": 0, "f": float("-inf")})
    c.zadd("z:intscores", {f"m{i}": v for i, v in enumerate(big_ints())})
    c.zadd("z:fractions", {f"m{i}": i / 7 for i in range(50)})
    c.zadd("z:large", {f"member{i}": i * 1.5 for i in range(1000)})
    c.zadd("z:longmember", {"q" * 100: 1, "b": 2})
    return sorted(k.decode() for k in c.keys("*"))


def read_back(c, key):
    t = c.type(key).decode()
    if t == "string":
        v = c.get(key)
    elif t == "list":
        v = c.lrange(key, 0, -1)
    elif t == "hash":
        v = sorted(c.hgetall(key).items())
    elif t == "set":
        v = sorted(c.smembers(key))
    elif t == "zset":
        v = c.zrange(key, 0, -1, withscores=True)
    else:
        v = None
    return t, v


def bloom_round_trip(r, k):
    """kv-server's bloom filters DUMP under a private RDB type: they restore
    in kv-server (and COPY) with every item, and redis-server refuses them."""
    k.delete("bf", "bf:restored", "bf:copy")
    items = [f"item{i}" for i in range(500)]
    k.execute_command("BF.MADD", "bf", *items)
    payload = k.dump("bf")
    k.restore("bf:restored", 0, payload)
    k.copy("bf", "bf:copy")
    problems = 0
    for key in ("bf:restored", "bf:copy"):
        found = k.execute_command("BF.MEXISTS", key, *items)
        info = k.execute_command("BF.INFO", key)
        if not all(found) or info != k.execute_command("BF.INFO", "bf"):
            problems += 1
            print(f"MISMATCH bloom {key}: items or BF.INFO differ")
    try:
        r.restore("bf", 0, payload)
        problems += 1
        print("MISMATCH bloom: redis-server accepted a kv-server bloom payload")
    except redis.ResponseError as e:
        if str(e) != "Bad data format":
            problems += 1
            print(f"MISMATCH bloom: redis-server said {e}")
    return problems


def main():
    r = redis.Redis(port=int(sys.argv[1]))
    k = redis.Redis(port=int(sys.argv[2]))
    keys = populate(r)
    assert populate(k) == keys, "servers built different keyspaces"
    reference_encoding = {}
    for key in keys:
        r.restore(key + ":self", 0, r.dump(key))
        reference_encoding[key] = r.object("encoding", key + ":self")
    failures = 0
    checked = 0
    for source, target, direction in ((r, k, "redis->kv"), (k, r, "kv->redis")):
        for key in keys:
            payload = source.dump(key)
            copy = key + ":restored"
            target.delete(copy)
            ttl = source.pttl(key)
            target.restore(copy, max(ttl, 0), payload)
            want = read_back(r, key)
            got = read_back(target, copy)
            want_enc = reference_encoding[key]
            got_enc = target.object("encoding", copy)
            ttl_ok = (ttl < 0) == (target.pttl(copy) < 0)
            checked += 1
            if want != got or want_enc != got_enc or not ttl_ok:
                failures += 1
                print(f"MISMATCH {direction} {key}: encoding {want_enc} vs {got_enc}, "
                      f"ttl {ttl} vs {target.pttl(copy)}, value equal: {want == got}")
            # A restored key dumps again into something the other side reads.
            again = target.dump(copy)
            source.restore(copy, 0, again, replace=True)
            if read_back(source, copy) != want:
                failures += 1
                print(f"MISMATCH {direction} {key}: second round trip differs")
    failures += bloom_round_trip(r, k)
    print(f"{checked - failures}/{checked} keys restored identically")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
