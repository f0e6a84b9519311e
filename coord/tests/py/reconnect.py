"""A client whose connection drops reconnects to the same session and keeps
its ephemerals; kazoo's DataWatch and ChildrenWatch re-register their
watches and catch up on changes made while it was away.

(kazoo itself does not send setWatches on reconnect; the raw protocol test
covers setWatches.)"""

import sys

from kazoo.protocol.states import KazooState
from kazoo.recipe.watchers import ChildrenWatch, DataWatch

from common import Proxy, check, connect, wait_for

port = int(sys.argv[1])
proxy = Proxy(port)
direct = connect("127.0.0.1:%d" % port)
client = connect(proxy.hosts, timeout=4.0)
states = []
client.add_listener(lambda s: states.append(s))
session = client.client_id[0]
client.create("/mine", b"", ephemeral=True)
direct.create("/watched", b"v0")
data_seen = []
children_seen = []
DataWatch(client, "/watched", lambda data, stat: data_seen.append(data))
ChildrenWatch(client, "/watched", lambda children: children_seen.append(sorted(children)))
wait_for(lambda: data_seen == [b"v0"] and children_seen == [[]], "the initial watch calls")

proxy.stall()
wait_for(lambda: KazooState.SUSPENDED in states, "the client noticing the drop")
direct.set("/watched", b"changed while away")
direct.create("/watched/kid")
proxy.resume()
proxy.cut()
wait_for(lambda: states and states[-1] == KazooState.CONNECTED, "reconnection")
check(client.client_id[0] == session, "same session after reconnect")
check(client.exists("/mine") is not None, "ephemeral kept across the reconnect")
wait_for(lambda: data_seen[-1] == b"changed while away", "DataWatch catching up")
wait_for(lambda: children_seen[-1] == ["kid"], "ChildrenWatch catching up")
direct.set("/watched", b"after")
direct.create("/watched/kid2")
wait_for(lambda: data_seen[-1] == b"after", "DataWatch re-registered")
wait_for(lambda: children_seen[-1] == ["kid", "kid2"], "ChildrenWatch re-registered")
print("watches after reconnect: data", data_seen[-1], "children", children_seen[-1])
client.stop()
direct.stop()
print("OK")
