"""CRUD, Stat fields, sequential names, error codes, ACLs and multi.

Prints one line per observable result so that the output of a run against
coord-server can be compared with a run against Apache ZooKeeper."""

import sys

from kazoo.exceptions import (BadVersionError, NoAuthError, NodeExistsError, NoNodeError,
                              NotEmptyError, NoChildrenForEphemeralsError, InvalidACLError,
                              BadArgumentsError)
from kazoo.security import make_digest_acl, make_acl, OPEN_ACL_UNSAFE

from common import check, connect

zk = connect(sys.argv[1])


def stat_line(st, base):
    """Stat with zxids relative to `base` and times left out."""
    return ("czxid+%d mzxid+%d pzxid+%d version=%d cversion=%d aversion=%d dataLength=%d "
            "numChildren=%d ephemeral=%s" % (
                st.czxid - base, st.mzxid - base, st.pzxid - base, st.version, st.cversion,
                st.aversion, st.dataLength, st.numChildren, st.ephemeralOwner != 0))


def expect_error(what, fn, exc):
    try:
        fn()
    except exc as e:
        print(what, "->", type(e).__name__)
        return
    check(False, what + " should have raised " + exc.__name__)


print("root children", sorted(zk.get_children("/")))
print("zookeeper children", sorted(zk.get_children("/zookeeper")))
path = zk.create("/crud", b"v1")
print("create", path)
data, st = zk.get("/crud")
base = st.czxid
check(data == b"v1", "data read back")
check(st.ctime == st.mtime and st.ctime > 0, "ctime == mtime on create")
print("get", data, stat_line(st, base))

st = zk.set("/crud", b"value-2")
print("set", stat_line(st, base))
check(st.version == 1 and st.dataLength == 7, "version and length after set")
st = zk.set("/crud", b"v3", version=1)
print("set v1", stat_line(st, base))
expect_error("set stale version", lambda: zk.set("/crud", b"x", version=0), BadVersionError)
expect_error("create existing", lambda: zk.create("/crud"), NodeExistsError)
expect_error("create orphan", lambda: zk.create("/no/such"), NoNodeError)
expect_error("get missing", lambda: zk.get("/missing"), NoNodeError)
expect_error("delete missing", lambda: zk.delete("/missing"), NoNodeError)
print("exists missing", zk.exists("/missing"))

names = [zk.create("/crud/seq-", b"", sequence=True) for _ in range(3)]
print("sequential", names)
check(names[0].endswith("0000000000") and names[2].endswith("0000000002"), "10-digit suffixes")
zk.delete(names[1])
later = zk.create("/crud/seq-", b"", sequence=True)
print("sequential after delete", later)
check(later.endswith("0000000003"), "suffix follows the parent's cversion, which deletes leave alone")
children, pst = zk.get_children("/crud", include_data=True)
print("children", sorted(children), stat_line(pst, base))
expect_error("delete non-empty", lambda: zk.delete("/crud"), NotEmptyError)
expect_error("delete bad version", lambda: zk.delete(names[0], version=5), BadVersionError)

eph = zk.create("/crud/eph", b"e", ephemeral=True)
st = zk.exists(eph)
print("ephemeral owner is us", st.ephemeralOwner == zk.client_id[0])
check(st.ephemeralOwner == zk.client_id[0], "ephemeralOwner is the session id")
expect_error("child of ephemeral", lambda: zk.create(eph + "/c"), NoChildrenForEphemeralsError)
eseq = zk.create("/crud/eseq-", b"", ephemeral=True, sequence=True)
print("ephemeral sequential", eseq)

# ACLs: digest, world read-only, invalid.
acl = [make_digest_acl("alice", "secret", all=True)]
zk.create("/crud/private", b"hidden", acl=acl)
other = connect(sys.argv[1])
expect_error("read without auth", lambda: other.get("/crud/private"), NoAuthError)
expect_error("getACL without auth", lambda: other.get_acls("/crud/private"), NoAuthError)
expect_error("children without auth", lambda: other.get_children("/crud/private"), NoAuthError)
expect_error("create under without auth", lambda: other.create("/crud/private/c"), NoAuthError)
print("exists without auth", other.exists("/crud/private") is not None)
zk.create("/crud/adminonly", b"", acl=[make_acl("world", "anyone", admin=True)])
print("getACL with ADMIN only", [(a.perms, a.id.scheme) for a in zk.get_acls("/crud/adminonly")[0]])
other.add_auth("digest", "alice:secret")
print("read with auth", other.get("/crud/private")[0])
acls, st = other.get_acls("/crud/private")
print("acl", [(a.perms, a.id.scheme, a.id.id) for a in acls])
zk.create("/crud/readonly", b"r", acl=[make_acl("world", "anyone", read=True)])
expect_error("write read-only", lambda: zk.set("/crud/readonly", b"w"), NoAuthError)
expect_error("invalid acl", lambda: zk.create("/crud/badacl", acl=[make_acl("world", "nobody", all=True)]),
             InvalidACLError)
expect_error("auth scheme unauthenticated", lambda: zk.create("/crud/authacl", acl=[make_acl("auth", "", all=True)]),
             InvalidACLError)
zk.create("/crud/local", b"ip", acl=[make_acl("ip", "127.0.0.0/8", all=True)])
print("ip acl, local client", zk.get("/crud/local")[0])
zk.create("/crud/remote", b"ip", acl=[make_acl("ip", "10.1.2.3", all=True)])
expect_error("ip acl, other address", lambda: zk.get("/crud/remote"), NoAuthError)
expect_error("setACL without ADMIN", lambda: zk.set_acls("/crud/readonly", OPEN_ACL_UNSAFE), NoAuthError)
st = other.set_acls("/crud/private", OPEN_ACL_UNSAFE)
print("setACL", stat_line(st, base))
expect_error("setACL stale version", lambda: zk.set_acls("/crud/private", OPEN_ACL_UNSAFE, version=0), BadVersionError)
print("read after setACL", zk.get("/crud/private")[0])
other.stop()

# Transactions.
t = zk.transaction()
t.create("/crud/tx1", b"a")
t.set_data("/crud/tx1", b"b")
t.check("/crud", 2)
t.create("/crud/tx2")
t.delete("/crud/tx2")
print("multi ok", [stat_line(r, base) if hasattr(r, "czxid") else r for r in t.commit()])
print("tx1", zk.get("/crud/tx1")[0])
t = zk.transaction()
t.create("/crud/tx3")
t.delete("/crud/missing")
t.create("/crud/tx4")
print("multi failed", [type(r).__name__ for r in t.commit()])
print("tx3 after failed multi", zk.exists("/crud/tx3"))
t = zk.transaction()
t.check("/crud", 99)
print("multi bad check", [type(r).__name__ for r in t.commit()])

print("children count", zk.get_children("/crud", include_data=True)[1].numChildren)
zk.delete("/crud/remote")  # deleting needs DELETE on the parent, not rights on the node
zk.delete("/crud/adminonly")
zk.delete("/crud", recursive=True)
print("after delete", zk.exists("/crud"))
zk.stop()
zk.close()
print("OK")
