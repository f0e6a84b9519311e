//! Command metadata against redis-server 7.0.15: COMMAND INFO, DOCS, LIST
//! and COUNT for every command kv-server implements (tests/py/command_meta.py),
//! and COMMAND GETKEYS / GETKEYSANDFLAGS on a range of commands
//! (tests/cases/command.txt).

mod common;
use common::*;

#[test]
fn command_info_docs_list_match_redis() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    let (ok, out) = python(
        "command_meta.py",
        &[redis.port.to_string(), kv.port.to_string()],
    );
    println!("{out}");
    assert!(ok, "command metadata differs from redis-server:\n{out}");
    assert!(
        out.contains("metadata checks matched"),
        "metadata script did not run: {out}"
    );
}

#[test]
fn command_getkeys_matches_redis() {
    let redis = redis_server(&[]);
    let kv = kv_server(&[]);
    let args = [
        redis.port.to_string(),
        kv.port.to_string(),
        "cases/command.txt".to_string(),
    ];
    let (ok, out) = python("diff.py", &args);
    println!("{out}");
    assert!(ok, "replies differ from redis-server:\n{out}");
    assert!(
        out.contains("commands matched"),
        "diff script did not run: {out}"
    );
}
