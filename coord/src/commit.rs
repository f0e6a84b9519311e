//! The log step (ZooKeeper's SyncRequestProcessor): a thread appends each
//! group of queued batches to the log, and fsync workers flush them (group
//! commit: one fdatasync covers everything appended before it). A batch's
//! replies and watch events are released, in order, only once the log is
//! durable up to it. Reads ride in the same queue, so no client sees state
//! that is not yet durable, and every client sees its events before later
//! replies.

use crate::snapshot;
use crate::txnlog::{self, LogWriter};
use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

/// What a connection's writer task is asked to do.
#[derive(Debug)]
pub enum OutMsg {
    Frame(Vec<u8>),
    /// Close the connection after everything sent before.
    Close,
}

pub type OutTx = UnboundedSender<OutMsg>;

pub enum LogMsg {
    /// Log records to append (may be empty) and the messages to release once
    /// they are durable.
    Batch { records: Vec<u8>, out: Vec<(OutTx, OutMsg)>, started: Option<Instant> },
    /// Start a new log file at `next_zxid` and write the snapshot taken at
    /// `next_zxid - 1`.
    Snapshot { next_zxid: i64, payload: Vec<u8> },
}

/// fdatasync calls that may run at once. Measured on this machine's disk,
/// overlapping fsyncs finish far more work per second than one at a time,
/// so while one group is being flushed the next can start.
const FSYNC_WORKERS: usize = 3;

/// Request latency as the four-letter words report it: from the moment the
/// core queued a reply until the reply was released, in microseconds.
#[derive(Default)]
pub struct Latency {
    min_us: AtomicU64,
    max_us: AtomicU64,
    total_us: AtomicU64,
    count: AtomicU64,
}

impl Latency {
    fn record(&self, started: Instant, replies: u64) {
        if replies == 0 {
            return;
        }
        let us = started.elapsed().as_micros() as u64;
        if self.count.fetch_add(replies, Ordering::Relaxed) == 0 {
            self.min_us.store(us, Ordering::Relaxed);
        } else {
            self.min_us.fetch_min(us, Ordering::Relaxed);
        }
        self.max_us.fetch_max(us, Ordering::Relaxed);
        self.total_us.fetch_add(us * replies, Ordering::Relaxed);
    }

    /// (min, avg, max) in milliseconds, as ZooKeeper prints them.
    pub fn millis(&self) -> (f64, f64, f64) {
        let count = self.count.load(Ordering::Relaxed);
        if count == 0 {
            return (0.0, 0.0, 0.0);
        }
        let ms = |us: u64| us as f64 / 1000.0;
        let avg = self.total_us.load(Ordering::Relaxed) as f64 / count as f64 / 1000.0;
        (ms(self.min_us.load(Ordering::Relaxed)), avg, ms(self.max_us.load(Ordering::Relaxed)))
    }
}

/// Sends released messages and records their latency.
fn dispatch(out: Vec<(OutTx, OutMsg)>, started: Option<Instant>, latency: &Latency) {
    let replies = out.iter().filter(|(_, m)| matches!(m, OutMsg::Frame(_))).count() as u64;
    for (tx, m) in out {
        let _ = tx.send(m);
    }
    if let Some(t) = started {
        latency.record(t, replies);
    }
}

/// Messages to release once the log is durable up to `needs`.
struct Waiting {
    needs: u64,
    out: Vec<(OutTx, OutMsg)>,
    /// When the oldest of them was queued.
    started: Option<Instant>,
    /// LogMsgs this covers, for the core's in-flight count.
    msgs: usize,
}

/// Appended groups are numbered; everything up to `durable` is on disk.
struct State {
    appended: u64,
    claimed: u64,
    durable: u64,
    waiting: VecDeque<Waiting>,
    file: Arc<File>,
}

struct Durability {
    state: Mutex<State>,
    more_to_sync: Condvar,
    in_flight: Arc<AtomicUsize>,
    latency: Arc<Latency>,
}

fn fail(what: &str, e: std::io::Error) -> ! {
    // Replying after a failed write would acknowledge lost data; stop
    // instead, as ZooKeeper does.
    eprintln!("coord-server: fatal: {what}: {e}");
    std::process::exit(2);
}

impl Durability {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends, in order, every waiting message whose log prefix is durable.
    fn release(&self, st: &mut State) {
        while st.waiting.front().is_some_and(|w| w.needs <= st.durable) {
            let w = st.waiting.pop_front().expect("front exists");
            dispatch(w.out, w.started, &self.latency);
            self.in_flight.fetch_sub(w.msgs, Ordering::Release);
        }
    }

    /// An fsync worker: flushes up to the newest appended group, then
    /// releases what that made durable. A later fdatasync also covers every
    /// earlier write, so groups may complete out of order safely.
    fn fsync_worker(&self, force_sync: bool) {
        loop {
            let (target, file) = {
                let mut st = self.lock();
                while st.appended <= st.claimed {
                    st = self.more_to_sync.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                st.claimed = st.appended;
                (st.appended, st.file.clone())
            };
            if force_sync {
                file.sync_data().unwrap_or_else(|e| fail("log fsync", e));
            }
            let mut st = self.lock();
            st.durable = st.durable.max(target);
            self.release(&mut st);
        }
    }
}

fn spawn(
    mut writer: LogWriter,
    snap_dir: PathBuf,
    rx: Receiver<LogMsg>,
    in_flight: Arc<AtomicUsize>,
    latency: Arc<Latency>,
) {
    let shared = Arc::new(Durability {
        state: Mutex::new(State {
            appended: 0,
            claimed: 0,
            durable: 0,
            waiting: VecDeque::new(),
            file: writer.shared_file(),
        }),
        more_to_sync: Condvar::new(),
        in_flight,
        latency,
    });
    for i in 0..FSYNC_WORKERS {
        let (shared, force_sync) = (shared.clone(), writer.force_sync());
        std::thread::Builder::new()
            .name(format!("coord-fsync-{i}"))
            .spawn(move || shared.fsync_worker(force_sync))
            .expect("spawn an fsync worker");
    }
    std::thread::Builder::new()
        .name("coord-log".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut appended = false;
                let mut msgs = 0;
                let mut out = Vec::new();
                let mut started: Option<Instant> = None;
                let mut msg = Some(first);
                while let Some(m) = msg.take() {
                    msgs += 1;
                    match m {
                        LogMsg::Batch { records, out: o, started: s } => {
                            started = started.or(s);
                            if !records.is_empty() {
                                writer.append(&records).unwrap_or_else(|e| fail("log append", e));
                                appended = true;
                            }
                            out.extend(o);
                        }
                        LogMsg::Snapshot { next_zxid, payload } => {
                            // roll() fsyncs the old file, so all appended so far is durable.
                            writer.roll(next_zxid).unwrap_or_else(|e| fail("log roll", e));
                            let mut st = shared.lock();
                            if appended {
                                st.appended += 1;
                                appended = false;
                            }
                            st.durable = st.appended;
                            st.claimed = st.claimed.max(st.appended);
                            st.file = writer.shared_file();
                            let needs = st.appended;
                            let out = std::mem::take(&mut out);
                            st.waiting.push_back(Waiting { needs, out, started: started.take(), msgs });
                            msgs = 0;
                            shared.release(&mut st);
                            drop(st);
                            write_snapshot_in_background(snap_dir.clone(), next_zxid, payload);
                        }
                    }
                    msg = rx.try_recv().ok();
                }
                let mut st = shared.lock();
                if appended {
                    st.appended += 1;
                    shared.more_to_sync.notify_one();
                }
                let needs = st.appended;
                st.waiting.push_back(Waiting { needs, out, started, msgs });
                shared.release(&mut st);
            }
        })
        .expect("spawn the log thread");
}

fn write_snapshot_in_background(dir: PathBuf, next_zxid: i64, payload: Vec<u8>) {
    std::thread::spawn(move || match snapshot::write(&dir, next_zxid - 1, &payload) {
        Ok(oldest) => {
            if let Err(e) = txnlog::purge_before(&dir, oldest) {
                eprintln!("coord-server: purging old logs: {e}");
            }
        }
        Err(e) => eprintln!("coord-server: snapshot failed (the log still has everything): {e}"),
    });
}

/// Handle the core uses to feed the sync thread.
pub struct CommitQueue {
    tx: Sender<LogMsg>,
    records: Vec<u8>,
    out: Vec<(OutTx, OutMsg)>,
    /// When the first message of the current batch was queued.
    started: Option<Instant>,
    /// Messages handed to the sync thread and not yet fully handled.
    in_flight: Arc<AtomicUsize>,
    latency: Arc<Latency>,
}

impl CommitQueue {
    /// Starts the sync thread, appending to `writer`; snapshots go to `snap_dir`.
    pub fn start(writer: LogWriter, snap_dir: PathBuf) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let latency = Arc::new(Latency::default());
        spawn(writer, snap_dir, rx, in_flight.clone(), latency.clone());
        CommitQueue { tx, records: Vec::new(), out: Vec::new(), started: None, in_flight, latency }
    }

    pub fn latency(&self) -> &Latency {
        &self.latency
    }

    pub fn records(&mut self) -> &mut Vec<u8> {
        &mut self.records
    }

    pub fn send(&mut self, to: &OutTx, msg: OutMsg) {
        self.started.get_or_insert_with(Instant::now);
        self.out.push((to.clone(), msg));
    }

    /// Hands the current batch to the sync thread. A batch of reads only,
    /// with nothing still waiting for an fsync, is released at once: every
    /// earlier reply is already out, so the order holds.
    pub fn flush(&mut self) {
        if self.records.is_empty() && self.out.is_empty() {
            return;
        }
        let started = self.started.take();
        if self.records.is_empty() && self.in_flight.load(Ordering::Acquire) == 0 {
            dispatch(std::mem::take(&mut self.out), started, &self.latency);
            return;
        }
        let batch =
            LogMsg::Batch { records: std::mem::take(&mut self.records), out: std::mem::take(&mut self.out), started };
        self.hand_over(batch);
    }

    fn hand_over(&mut self, msg: LogMsg) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if self.tx.send(msg).is_err() {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub fn snapshot(&mut self, next_zxid: i64, payload: Vec<u8>) {
        self.flush();
        self.hand_over(LogMsg::Snapshot { next_zxid, payload });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{Txn, TxnHeader};

    #[test]
    fn releases_in_order_and_only_after_the_log_holds_the_records() {
        let dir = std::env::temp_dir().join(format!("coord-commit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut queue = CommitQueue::start(LogWriter::create(&dir, 1, true).unwrap(), dir.clone());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..200u8 {
            // Every third batch is read-only; the rest carry one record.
            if i % 3 != 0 {
                let hdr = TxnHeader { session: 1, cxid: i as i32, zxid: i as i64 + 1, time: 0 };
                txnlog::encode_record(queue.records(), &hdr, &Txn::Delete { path: format!("/{i}") });
            }
            queue.send(&tx, OutMsg::Frame(vec![i]));
            queue.flush();
        }
        let mut seen = Vec::new();
        while seen.len() < 200 {
            match rx.try_recv() {
                Ok(OutMsg::Frame(f)) => seen.push(f[0]),
                Ok(OutMsg::Close) => unreachable!(),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        assert_eq!(seen, (0..200).collect::<Vec<u8>>(), "replies keep their order");
        let (replay, _) = txnlog::recover(&dir, 0, true).unwrap();
        assert_eq!(replay.txns.len(), 200 - 67, "every released write is in the log");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
