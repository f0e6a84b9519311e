"""Ephemerals vanish when their session closes and when it expires; a client
that comes back after expiry is told its session is gone (LOST)."""

import sys
import time

from kazoo.protocol.states import KazooState

from common import Proxy, check, connect, wait_for

port = int(sys.argv[1])
hosts = "127.0.0.1:%d" % port
observer = connect(hosts)

# Closing the session deletes its ephemerals at once and fires their watches.
owner = connect(hosts)
owner.create("/closing", b"", ephemeral=True)
deleted = []
observer.exists("/closing", watch=lambda e: deleted.append(e.type))
owner.stop()
owner.close()
wait_for(lambda: deleted == ["DELETED"], "the ephemeral's delete on close")
check(observer.exists("/closing") is None, "ephemeral gone after close")
print("closed session: ephemeral deleted, watch fired")

# Expiry: stall the owner's connection until the server expires the session.
proxy = Proxy(port)
states = []
owner = connect(proxy.hosts, timeout=1.0)
owner.add_listener(lambda s: states.append(s))
owner.create("/expiring", b"", ephemeral=True)
observer.exists("/expiring", watch=lambda e: deleted.append(e.type))
started = time.time()
proxy.stall()
wait_for(lambda: observer.exists("/expiring") is None, "expiry of the stalled session", limit=15)
elapsed = time.time() - started
print("expired session: ephemeral deleted")
check(elapsed < 10, "expired within a few session timeouts (%.1fs)" % elapsed)
wait_for(lambda: deleted == ["DELETED", "DELETED"], "the ephemeral's watch on expiry")
proxy.resume()
proxy.cut()
wait_for(lambda: KazooState.LOST in states, "the client hearing that its session expired", limit=20)
print("late client told: LOST")
owner.stop()
observer.stop()
print("OK")
