//! Real-client tests: kazoo (PyPI) against coord-server.

mod common;
use common::{kazoo, Coord};

#[test]
fn crud_stat_sequential_ephemeral_acl_and_transactions() {
    let server = Coord::start("");
    kazoo("crud.py", &[&server.hosts()]);
}

#[test]
fn data_watch_children_watch_and_one_shot_watches() {
    let server = Coord::start("");
    let out = kazoo("watches.py", &[&server.hosts()]);
    assert!(
        out.contains("DataWatch [(None, None), (b'one', 'CREATED'), (b'two', 'CHANGED'), (None, 'DELETED')]"),
        "{out}"
    );
}

#[test]
fn ephemerals_vanish_on_close_and_on_expiry() {
    let server = Coord::start("");
    let out = kazoo("sessions.py", &[&server.port.to_string()]);
    assert!(out.contains("late client told: LOST"), "{out}");
}

#[test]
fn reconnect_keeps_the_session_and_re_registers_watches() {
    let server = Coord::start("");
    kazoo("reconnect.py", &[&server.port.to_string()]);
}

#[test]
fn lock_election_counter_and_barrier_recipes() {
    let server = Coord::start("");
    let out = kazoo("recipes.py", &[&server.hosts()]);
    assert!(out.contains("lock: 30 acquisitions, no overlap"), "{out}");
}
