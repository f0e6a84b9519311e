//! The same kazoo scenarios against Apache ZooKeeper 3.8 and coord-server;
//! every observable result must match.

mod common;
use common::{kazoo, Coord, Zookeeper};

fn compare(script: &str) {
    let zk = Zookeeper::start("");
    let ours = Coord::start("");
    let theirs_out = kazoo(script, &[&zk.hosts()]);
    let ours_out = kazoo(script, &[&ours.hosts()]);
    for (i, (a, b)) in theirs_out.lines().zip(ours_out.lines()).enumerate() {
        assert_eq!(
            a,
            b,
            "{script} line {}: ZooKeeper said {a:?}, coord-server said {b:?}",
            i + 1
        );
    }
    assert_eq!(
        theirs_out.lines().count(),
        ours_out.lines().count(),
        "{script}: output lengths differ"
    );
}

#[test]
fn crud_stat_sequential_acl_and_multi_match_zookeeper() {
    compare("crud.py");
}
