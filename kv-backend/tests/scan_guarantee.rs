//! SCAN's guarantee, as Redis documents it: an element present from the start
//! to the end of a full iteration is returned at least once, even while other
//! elements are deleted or added between the calls.

mod common;
use common::*;
use std::collections::HashSet;

/// One SCAN-family call: (next cursor, returned items).
fn scan_call(c: &mut Client, args: &[&str]) -> (String, Vec<String>) {
    let Resp::Array(Some(parts)) = c.cmd(args) else {
        panic!("{args:?}: not an array");
    };
    let [cursor, Resp::Array(Some(items))] = &parts[..] else {
        panic!("{args:?}: not [cursor, items]");
    };
    (
        cursor.as_text(),
        items.iter().map(|i| i.as_text()).collect(),
    )
}

/// Runs a full scan of `prefix_args + cursor + COUNT 7`; between calls it
/// deletes two not-yet-seen doomed elements and adds one new element via
/// `mutate(step)`. Returns every element seen.
fn scan_while_mutating(
    c: &mut Client,
    command: &[&str],
    mut mutate: impl FnMut(&mut Client, usize),
) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    for step in 0..10_000 {
        let mut args: Vec<&str> = command.to_vec();
        args.extend([cursor.as_str(), "COUNT", "7"]);
        let (next, items) = scan_call(c, &args);
        seen.extend(items);
        if next == "0" {
            return seen;
        }
        cursor = next;
        mutate(c, step);
    }
    panic!("{command:?} did not finish in 10000 calls");
}

/// Keys `keep:N` must all come back; `doom:N` are deleted during the scan.
#[test]
fn scan_returns_every_key_that_stays_while_others_are_deleted() {
    let kv = kv_server(&[]);
    let mut c = Client::connect(kv.port);
    let n = 600;
    for i in 0..n {
        // Interleave, so deletions move kept keys around in the table.
        c.cmd(&["SET", &format!("keep:{i}"), "v"]);
        c.cmd(&["SET", &format!("doom:{i}"), "v"]);
    }
    let seen = scan_while_mutating(&mut c, &["SCAN"], |c, step| {
        for j in [2 * step, 2 * step + 1] {
            c.cmd(&["DEL", &format!("doom:{}", j % n)]);
        }
        c.cmd(&["SET", &format!("new:{step}"), "v"]);
    });
    let missing: Vec<usize> = (0..n)
        .filter(|i| !seen.contains(&format!("keep:{i}")))
        .collect();
    assert!(missing.is_empty(), "SCAN skipped kept keys {missing:?}");
}

#[test]
fn hscan_and_sscan_return_every_element_that_stays() {
    let kv = kv_server(&[]);
    let mut c = Client::connect(kv.port);
    let n = 600;
    for i in 0..n {
        c.cmd(&[
            "HSET",
            "h",
            &format!("keep:{i}"),
            "v",
            &format!("doom:{i}"),
            "v",
        ]);
        c.cmd(&["SADD", "s", &format!("keep:{i}"), &format!("doom:{i}")]);
    }
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "h"]).as_text(), "hashtable");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "s"]).as_text(), "hashtable");
    for (scan, del, add) in [("HSCAN", "HDEL", "HSET"), ("SSCAN", "SREM", "SADD")] {
        let key = if scan == "HSCAN" { "h" } else { "s" };
        let seen = scan_while_mutating(&mut c, &[scan, key], |c, step| {
            for j in [2 * step, 2 * step + 1] {
                c.cmd(&[del, key, &format!("doom:{}", j % n)]);
            }
            let new = format!("new:{step}");
            if add == "HSET" {
                c.cmd(&[add, key, &new, "v"]);
            } else {
                c.cmd(&[add, key, &new]);
            }
        });
        let missing: Vec<usize> = (0..n)
            .filter(|i| !seen.contains(&format!("keep:{i}")))
            .collect();
        assert!(missing.is_empty(), "{scan} skipped kept fields {missing:?}");
    }
}

/// ZSCAN over a skiplist-encoded sorted set: members are deleted, added and
/// re-scored (moving them across the whole order) between calls.
#[test]
fn zscan_returns_every_member_that_stays_while_others_move_or_go() {
    let kv = kv_server(&[]);
    let mut c = Client::connect(kv.port);
    let n = 600;
    for i in 0..n {
        c.cmd(&[
            "ZADD",
            "z",
            &i.to_string(),
            &format!("keep:{i}"),
            &(n - i).to_string(),
            &format!("doom:{i}"),
        ]);
    }
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "z"]).as_text(), "skiplist");
    let seen = scan_while_mutating(&mut c, &["ZSCAN", "z"], |c, step| {
        for j in [2 * step, 2 * step + 1] {
            c.cmd(&["ZREM", "z", &format!("doom:{}", j % n)]);
        }
        c.cmd(&["ZADD", "z", "-1", &format!("new:{step}")]);
        // Re-score kept members, from the top of the order to the bottom and back.
        let kept = format!("keep:{}", (7 * step) % n);
        c.cmd(&["ZINCRBY", "z", "-100000", &kept]);
        c.cmd(&[
            "ZADD",
            "z",
            "GT",
            "100000",
            &format!("keep:{}", (11 * step) % n),
        ]);
    });
    // Replies alternate member, score.
    let missing: Vec<usize> = (0..n)
        .filter(|i| !seen.contains(&format!("keep:{i}")))
        .collect();
    assert!(missing.is_empty(), "ZSCAN skipped kept members {missing:?}");
}
