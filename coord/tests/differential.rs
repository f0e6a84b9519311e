//! The same kazoo scenarios against Apache ZooKeeper 3.8 (Debian package,
//! started here on a free port) and against coord-server: each script must
//! pass on both, and print the same observations.

mod common;
use common::{kazoo, Coord, Zookeeper};

/// How a script is told where the server is.
enum Target {
    Hosts,
    Port,
}

fn compare(script: &str, target: Target) {
    let zk = Zookeeper::start("");
    let ours = Coord::start("");
    let arg = |hosts: String, port: u16| match target {
        Target::Hosts => hosts,
        Target::Port => port.to_string(),
    };
    let theirs_out = kazoo(script, &[&arg(zk.hosts(), zk.port)]);
    let ours_out = kazoo(script, &[&arg(ours.hosts(), ours.port)]);
    for (i, (a, b)) in theirs_out.lines().zip(ours_out.lines()).enumerate() {
        assert_eq!(a, b, "{script} line {}: ZooKeeper said {a:?}, coord-server said {b:?}", i + 1);
    }
    assert_eq!(theirs_out.lines().count(), ours_out.lines().count(), "{script}: output lengths differ");
}

#[test]
fn crud_stat_sequential_acl_and_multi_match_zookeeper() {
    compare("crud.py", Target::Hosts);
}

#[test]
fn watches_match_zookeeper() {
    compare("watches.py", Target::Hosts);
}

#[test]
fn session_close_and_expiry_match_zookeeper() {
    compare("sessions.py", Target::Port);
}

#[test]
fn reconnect_matches_zookeeper() {
    compare("reconnect.py", Target::Port);
}

#[test]
fn recipes_match_zookeeper() {
    compare("recipes.py", Target::Hosts);
}
