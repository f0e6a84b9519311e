"""kazoo's Lock, Election, Counter and Barrier recipes under concurrent
clients, each client with its own session."""

import sys
import threading
import time

from common import check, connect

hosts = sys.argv[1]
CLIENTS = 10

# Lock: 10 clients, each takes the lock 3 times; nobody overlaps.
clients = [connect(hosts) for _ in range(CLIENTS)]
holder = []
overlaps = []
order = []


def locker(i):
    lock = clients[i].Lock("/recipes/lock", "client-%d" % i)
    for _ in range(3):
        with lock:
            holder.append(i)
            if len(holder) > 1:
                overlaps.append(list(holder))
            order.append(i)
            time.sleep(0.005)
            holder.remove(i)


threads = [threading.Thread(target=locker, args=(i,)) for i in range(CLIENTS)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
check(not any(t.is_alive() for t in threads), "every locker finished")
check(not overlaps, "the lock serialized its holders: %r" % overlaps)
check(len(order) == 3 * CLIENTS, "every acquisition happened (%d)" % len(order))
print("lock: %d acquisitions, no overlap" % len(order))

# Counter: concurrent increments, none lost.
def bump(i):
    counter = clients[i].Counter("/recipes/counter")
    for _ in range(10):
        counter += 1


threads = [threading.Thread(target=bump, args=(i,)) for i in range(CLIENTS)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
value = clients[0].Counter("/recipes/counter").value
check(value == 10 * CLIENTS, "counter reached %d" % value)
print("counter:", value)

# Election: one leader at a time; when it leaves, another takes over.
leaders = []
stop = threading.Event()


def candidate(i):
    def lead():
        leaders.append(i)
        stop.wait(0.3)
    clients[i].Election("/recipes/election", "c%d" % i).run(lead)


threads = [threading.Thread(target=candidate, args=(i,)) for i in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join(30)
check(sorted(leaders) == [0, 1, 2], "each candidate led once in turn: %r" % leaders)
print("election: leaders in turn", len(leaders))

# Barrier: waiters block until the barrier is removed.
clients[0].Barrier("/recipes/barrier").create()
passed = []


def waiter(i):
    if clients[i].Barrier("/recipes/barrier").wait(20):
        passed.append(i)


threads = [threading.Thread(target=waiter, args=(i,)) for i in range(1, 5)]
for t in threads:
    t.start()
time.sleep(0.3)
check(not passed, "nobody passed the barrier while it stands")
clients[0].Barrier("/recipes/barrier").remove()
for t in threads:
    t.join(30)
check(sorted(passed) == [1, 2, 3, 4], "every waiter passed once it was removed: %r" % passed)
print("barrier: %d waiters released" % len(passed))

for c in clients:
    c.stop()
print("OK")
