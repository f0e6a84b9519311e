"""DataWatch and ChildrenWatch, and one-shot watches with their event types."""

import sys
import threading

from kazoo.recipe.watchers import ChildrenWatch, DataWatch

from common import check, connect, wait_for

watcher = connect(sys.argv[1])
writer = connect(sys.argv[1])

data_seen = []
DataWatch(watcher, "/dw", lambda data, stat, event: data_seen.append(
    (data, event.type if event else None)))
wait_for(lambda: len(data_seen) == 1, "the initial DataWatch call")
writer.create("/dw", b"one")
wait_for(lambda: len(data_seen) == 2, "NodeCreated")
writer.set("/dw", b"two")
wait_for(lambda: len(data_seen) == 3, "NodeDataChanged")
writer.delete("/dw")
wait_for(lambda: len(data_seen) == 4, "NodeDeleted")
print("DataWatch", data_seen)
check([e for _, e in data_seen] == [None, "CREATED", "CHANGED", "DELETED"], "DataWatch event types")

writer.create("/cw")
children_seen = []
ChildrenWatch(watcher, "/cw", lambda children: children_seen.append(sorted(children)))
wait_for(lambda: len(children_seen) == 1, "the initial ChildrenWatch call")
for name in ["a", "b"]:
    writer.create("/cw/" + name)
    wait_for(lambda: children_seen[-1] == sorted(children_seen[-1]) and name in children_seen[-1], "child " + name)
writer.delete("/cw/a")
wait_for(lambda: children_seen[-1] == ["b"], "child deletion")
print("ChildrenWatch", children_seen)

# One-shot watches: exists on a missing node, getData, getChildren.
events = []
lock = threading.Lock()


def record(event):
    with lock:
        events.append((event.type, event.path))


watcher.exists("/once", watch=record)
writer.create("/once", b"x")
wait_for(lambda: len(events) == 1, "exists watch")
watcher.get("/once", watch=record)
watcher.get_children("/once", watch=record)
writer.set("/once", b"y")
writer.set("/once", b"z")  # the data watch already fired: no second event
writer.create("/once/kid")
wait_for(lambda: len(events) == 3, "data and child watches")
watcher.get("/once/kid", watch=record)
watcher.get_children("/once", watch=record)
writer.delete("/once/kid")
wait_for(lambda: len(events) == 5, "delete events")
watcher.sync("/")
print("one-shot events", events)
check(events[0] == ("CREATED", "/once"), "exists watch fires NodeCreated")
check(sorted(events[3:]) == [("CHILD", "/once"), ("DELETED", "/once/kid")], "delete fires both")

writer.stop()
watcher.stop()
print("OK")
