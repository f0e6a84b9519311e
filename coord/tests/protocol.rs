//! Protocol features kazoo does not reach (addWatch, removeWatches,
//! getEphemerals, getAllChildrenNumber, multiRead, whoAmI, TTL and
//! container creates, setWatches, session reattach), driven with the raw
//! jute client in `coord::client`, against Apache ZooKeeper 3.8 and
//! coord-server; the observations must match.

mod common;
use common::{Coord, Zookeeper};
use coord::client::Client;
use coord::jute::Reader;
use coord::proto::{op, xid, Acl, Stat};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn drain(c: &mut Client) -> String {
    let evs: Vec<String> = c.events.drain(..).map(|e| format!("{}:{}", e.event_type, e.path)).collect();
    format!("[{}]", evs.join(" "))
}

async fn create_with(c: &mut Client, opcode: i32, path: &str, flags: i32, ttl: i64) -> String {
    let r = c
        .call(opcode, |w| {
            w.string(path).buffer(b"d");
            Acl::write_all(w, &Acl::open_unsafe());
            w.int(flags);
            if opcode == op::CREATE_TTL {
                w.long(ttl);
            }
        })
        .await
        .unwrap();
    if r.err != 0 {
        return format!("err {}", r.err);
    }
    let mut rd = Reader::new(&r.body);
    let path = rd.string().unwrap();
    let stat = Stat::read(&mut rd).unwrap();
    format!("{path} owner={} version={} dataLength={}", stat.ephemeral_owner, stat.version, stat.data_length)
}

async fn strings_call(c: &mut Client, opcode: i32, path: &str) -> String {
    let r = c
        .call(opcode, |w| {
            w.string(path);
        })
        .await
        .unwrap();
    if r.err != 0 {
        return format!("err {}", r.err);
    }
    let mut v = Reader::new(&r.body).strings().unwrap();
    v.sort();
    format!("{v:?}")
}

async fn watch_call(c: &mut Client, opcode: i32, path: &str, kind: i32) -> i32 {
    let r = c
        .call(opcode, |w| {
            w.string(path).int(kind);
        })
        .await;
    r.unwrap_or_else(|e| panic!("opcode {opcode} on {path} (type {kind}): {e}")).err
}

/// Every observation of the scenario, one line each.
async fn scenario(addr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut a = Client::connect(addr, 10_000).await.unwrap();
    let mut b = Client::connect(addr, 10_000).await.unwrap();

    // Persistent watch: every event on the node, including children changes.
    out.push(format!("addWatch persistent err={}", watch_call(&mut a, op::ADD_WATCH, "/pw", 0).await));
    a.create("/pw", b"", 0).await.unwrap().unwrap();
    a.set_data("/pw", b"x", -1).await.unwrap().unwrap();
    a.create("/pw/c", b"", 0).await.unwrap().unwrap();
    a.delete("/pw/c", -1).await.unwrap().unwrap();
    a.delete("/pw", -1).await.unwrap().unwrap();
    out.push(format!("persistent events {}", drain(&mut a)));

    // Recursive: the subtree, without children-changed events.
    out.push(format!("addWatch recursive err={}", watch_call(&mut a, op::ADD_WATCH, "/rw", 1).await));
    a.create("/rw", b"", 0).await.unwrap().unwrap();
    a.create("/rw/a", b"", 0).await.unwrap().unwrap();
    a.create("/rw/a/b", b"", 0).await.unwrap().unwrap();
    a.set_data("/rw/a/b", b"y", -1).await.unwrap().unwrap();
    a.delete("/rw/a/b", -1).await.unwrap().unwrap();
    out.push(format!("recursive events {}", drain(&mut a)));
    out.push(format!("remove with type 5 err={}", watch_call(&mut a, op::REMOVE_WATCHES, "/rw", 5).await));
    out.push(format!("remove recursive with Any err={}", watch_call(&mut a, op::REMOVE_WATCHES, "/rw", 3).await));
    a.set_data("/rw/a", b"z", -1).await.unwrap().unwrap();
    out.push(format!("after removal {}", drain(&mut a)));

    // checkWatches / removeWatches on one-shot watches.
    a.create("/x", b"1", 0).await.unwrap().unwrap();
    a.get_data("/x", true).await.unwrap().unwrap();
    out.push(format!("check data watch err={}", watch_call(&mut a, op::CHECK_WATCHES, "/x", 2).await));
    out.push(format!("check child watch err={}", watch_call(&mut a, op::CHECK_WATCHES, "/x", 1).await));
    out.push(format!("remove data watch err={}", watch_call(&mut a, op::REMOVE_WATCHES, "/x", 2).await));
    out.push(format!("remove again err={}", watch_call(&mut a, op::REMOVE_WATCHES, "/x", 2).await));
    b.set_data("/x", b"2", -1).await.unwrap().unwrap();
    a.exists("/", false).await.unwrap();
    out.push(format!("events after removed watch {}", drain(&mut a)));

    // A watch event comes before the reply to any later read.
    a.get_data("/x", true).await.unwrap().unwrap();
    b.set_data("/x", b"3", -1).await.unwrap().unwrap();
    a.exists("/x", false).await.unwrap();
    out.push(format!("notification zxid {:?}", a.events.iter().map(|e| e.zxid).collect::<Vec<_>>()));
    out.push(format!("event before later read {}", drain(&mut a)));

    // Ephemerals and counts.
    a.create("/eph", b"", 0).await.unwrap().unwrap();
    a.create("/e1", b"", 1).await.unwrap().unwrap();
    a.create("/eph/e2", b"", 1).await.unwrap().unwrap();
    b.create("/eph/other", b"", 1).await.unwrap().unwrap();
    out.push(format!("getEphemerals / {}", strings_call(&mut a, op::GET_EPHEMERALS, "/").await));
    out.push(format!("getEphemerals /eph {}", strings_call(&mut a, op::GET_EPHEMERALS, "/eph").await));
    let count = |r: coord::client::Reply| if r.err != 0 { r.err } else { Reader::new(&r.body).int().unwrap() };
    let n = a
        .call(op::GET_ALL_CHILDREN_NUMBER, |w| {
            w.string("/eph");
        })
        .await
        .unwrap();
    out.push(format!("getAllChildrenNumber /eph {}", count(n)));
    let n = a
        .call(op::GET_ALL_CHILDREN_NUMBER, |w| {
            w.string("/missing");
        })
        .await
        .unwrap();
    out.push(format!("getAllChildrenNumber missing {}", count(n)));

    // multiRead mixes results and errors.
    let r = a
        .call(op::MULTI_READ, |w| {
            w.int(op::GET_DATA).bool(false).int(-1).string("/x").bool(false);
            w.int(op::GET_CHILDREN).bool(false).int(-1).string("/eph").bool(false);
            w.int(op::GET_DATA).bool(false).int(-1).string("/missing").bool(false);
            w.int(-1).bool(true).int(-1);
        })
        .await
        .unwrap();
    let mut rd = Reader::new(&r.body);
    let mut parts = vec![format!("err={}", r.err)];
    loop {
        let (t, done, err) = (rd.int().unwrap(), rd.bool().unwrap(), rd.int().unwrap());
        if done {
            break;
        }
        parts.push(match t {
            op::GET_DATA => format!(
                "data {:?}",
                String::from_utf8(rd.buffer().unwrap()).unwrap()
                    + &format!(" v{}", Stat::read(&mut rd).unwrap().version)
            ),
            op::GET_CHILDREN => {
                let mut c = rd.strings().unwrap();
                c.sort();
                format!("children {c:?}")
            }
            _ => format!("error {err}/{}", rd.int().unwrap()),
        });
    }
    out.push(format!("multiRead {}", parts.join(", ")));

    // create2 variants: TTL and container nodes.
    out.push(format!("create2 {}", create_with(&mut a, op::CREATE2, "/c2", 0, 0).await));
    out.push(format!("createTTL {}", create_with(&mut a, op::CREATE_TTL, "/ttl", 5, 60_000).await));
    out.push(format!("createTTL bad ttl {}", create_with(&mut a, op::CREATE_TTL, "/ttl2", 5, 0).await));
    out.push(format!("createContainer {}", create_with(&mut a, op::CREATE_CONTAINER, "/box", 4, 0).await));
    out.push(format!("container flag with create {}", create_with(&mut a, op::CREATE2, "/box2", 4, 0).await));
    out.push(format!("TTL flag with create2 {}", create_with(&mut a, op::CREATE2, "/ttl3", 5, 0).await));
    out.push(format!(
        "createContainer without flag {}",
        create_with(&mut a, op::CREATE_CONTAINER, "/box3", 0, 0).await
    ));
    out.push(format!("createTTL without TTL flag {}", create_with(&mut a, op::CREATE_TTL, "/ttl4", 0, 100).await));
    out.push(format!("sequential TTL {}", create_with(&mut a, op::CREATE_TTL, "/ttl/s-", 6, 60_000).await));

    // sync answers with the path.
    let r = a
        .call(op::SYNC, |w| {
            w.string("/x");
        })
        .await
        .unwrap();
    out.push(format!("sync err={} path={}", r.err, Reader::new(&r.body).string().unwrap_or_default()));

    // whoAmI before and after addAuth.
    let who = |r: coord::client::Reply| {
        let mut rd = Reader::new(&r.body);
        let n = rd.int().unwrap();
        (0..n).map(|_| format!("{}={}", rd.string().unwrap(), rd.string().unwrap())).collect::<Vec<_>>().join(",")
    };
    let r = a.call(op::WHO_AM_I, |_| {}).await.unwrap();
    out.push(format!("whoAmI {}", who(r)));
    let r = a
        .call_xid(xid::AUTH, op::AUTH, |w| {
            w.int(0).string("digest").buffer(b"alice:pw");
        })
        .await
        .unwrap();
    out.push(format!("addAuth err={}", r.err));
    let r = a.call(op::WHO_AM_I, |_| {}).await.unwrap();
    out.push(format!("whoAmI after auth {}", who(r)));

    // Unknown opcodes get Unimplemented, then the server hangs up.
    let mut c = Client::connect(addr, 10_000).await.unwrap();
    let r = c.call(999, |_| {}).await.unwrap();
    out.push(format!("unknown opcode err={} zxid={}", r.err, r.zxid));
    out.push(format!("connection after unknown opcode closed={}", c.ping().await.is_err()));

    // Reattach by id and password; a wrong password reads as expired.
    b.get_data("/x", true).await.unwrap().unwrap();
    b.exists("/sw", true).await.unwrap();
    let (id, pw, seen) = (b.session_id, b.passwd.clone(), b.last_zxid);
    drop(b);
    a.set_data("/x", b"while away", -1).await.unwrap().unwrap();
    a.create("/sw", b"", 0).await.unwrap().unwrap();
    let mut wrong = pw.clone();
    wrong[0] ^= 1;
    let bad = Client::attach(addr, 10_000, id, wrong, seen).await.unwrap();
    out.push(format!("wrong password timeout={} session={}", bad.timeout_ms, bad.session_id));
    let mut b = Client::attach(addr, 10_000, id, pw, seen).await.unwrap();
    out.push(format!("reattach same session={} timeout={}", b.session_id == id, b.timeout_ms));
    let r = b
        .call_xid(xid::SET_WATCHES, op::SET_WATCHES, |w| {
            w.long(seen).strings(&["/x"]).strings(&["/sw", "/nothere"]).strings::<&str>(&[]);
        })
        .await
        .unwrap();
    out.push(format!("setWatches err={} fired {}", r.err, drain(&mut b)));
    b.create("/nothere", b"", 0).await.unwrap().unwrap();
    out.push(format!("re-registered exists watch {}", drain(&mut b)));
    out.push(format!(
        "ephemeral of reattached session kept {}",
        a.exists("/eph/other", false).await.unwrap().is_some()
    ));
    b.close().await.unwrap();
    out.push(format!("ephemeral after closeSession {}", a.exists("/eph/other", false).await.unwrap().is_some()));
    a.close().await.unwrap();
    out
}

#[test]
fn raw_protocol_features_match_zookeeper() {
    let rt = rt();
    let zk = Zookeeper::start("");
    let ours = Coord::start("");
    let theirs = rt.block_on(scenario(&zk.hosts()));
    let mine = rt.block_on(scenario(&ours.hosts()));
    for (a, b) in theirs.iter().zip(&mine) {
        assert_eq!(a, b, "ZooKeeper said {a:?}, coord-server said {b:?}\nall of ours:\n{}", mine.join("\n"));
    }
    assert_eq!(theirs.len(), mine.len());
    // Spot-check that the scenario observed what the features promise.
    let line = |prefix: &str| mine.iter().find(|l| l.starts_with(prefix)).unwrap().clone();
    assert_eq!(line("persistent events"), "persistent events [1:/pw 3:/pw 4:/pw 4:/pw 2:/pw]");
    assert_eq!(line("event before later read"), "event before later read [3:/x]");
    assert_eq!(line("wrong password"), "wrong password timeout=0 session=0");
}

/// Containers go once their last child does; TTL nodes go when nobody
/// touched them for their TTL (and not while they have children).
#[test]
fn empty_containers_and_expired_ttl_nodes_are_collected() {
    let server = Coord::start("znode.container.checkIntervalMs=100");
    rt().block_on(async {
        let addr = server.hosts();
        let mut c = Client::connect(&addr, 10_000).await.unwrap();
        create_with(&mut c, op::CREATE_CONTAINER, "/box", 4, 0).await;
        create_with(&mut c, op::CREATE_CONTAINER, "/never-used", 4, 0).await;
        c.create("/box/item", b"", 0).await.unwrap().unwrap();
        create_with(&mut c, op::CREATE_TTL, "/short", 5, 300).await;
        create_with(&mut c, op::CREATE_TTL, "/parent", 5, 300).await;
        c.create("/parent/kid", b"", 0).await.unwrap().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(c.exists("/box", false).await.unwrap().is_some(), "a container with a child stays");
        c.delete("/box/item", -1).await.unwrap().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while c.exists("/box", false).await.unwrap().is_some() || c.exists("/short", false).await.unwrap().is_some() {
            assert!(std::time::Instant::now() < deadline, "container or TTL node not collected");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(c.exists("/never-used", false).await.unwrap().is_some(), "a container that never had children stays");
        assert!(c.exists("/parent", false).await.unwrap().is_some(), "a TTL node with children stays");
    });
}
