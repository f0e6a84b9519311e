//! The log step (ZooKeeper's SyncRequestProcessor): a thread that appends
//! each batch of transactions, fsyncs once for everything queued (group
//! commit), and only then releases the batch's replies and watch events.
//! Reads ride in the same queue, so no client sees state that is not yet
//! durable, and every client sees its events before later replies.

use crate::snapshot;
use crate::txnlog::{self, LogWriter};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
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
    Batch { records: Vec<u8>, out: Vec<(OutTx, OutMsg)> },
    /// Start a new log file at `next_zxid` and write the snapshot taken at
    /// `next_zxid - 1`.
    Snapshot { next_zxid: i64, payload: Vec<u8> },
}

fn spawn(mut writer: LogWriter, snap_dir: PathBuf, rx: Receiver<LogMsg>, in_flight: Arc<AtomicUsize>) {
    std::thread::Builder::new()
        .name("coord-sync".into())
        .spawn(move || {
            let fail = |what: &str, e: std::io::Error| -> ! {
                // Replying after a failed write would acknowledge lost data;
                // stop instead, as ZooKeeper does.
                eprintln!("coord-server: fatal: {what}: {e}");
                std::process::exit(2);
            };
            let mut pending_out: Vec<(OutTx, OutMsg)> = Vec::new();
            while let Ok(first) = rx.recv() {
                let mut dirty = false;
                let mut taken = 0;
                let mut msg = Some(first);
                while let Some(m) = msg.take() {
                    taken += 1;
                    match m {
                        LogMsg::Batch { records, out } => {
                            if !records.is_empty() {
                                writer.append(&records).unwrap_or_else(|e| fail("log append", e));
                                dirty = true;
                            }
                            pending_out.extend(out);
                        }
                        LogMsg::Snapshot { next_zxid, payload } => {
                            writer.roll(next_zxid).unwrap_or_else(|e| fail("log roll", e));
                            let dir = snap_dir.clone();
                            std::thread::spawn(move || match snapshot::write(&dir, next_zxid - 1, &payload) {
                                Ok(oldest) => {
                                    if let Err(e) = txnlog::purge_before(&dir, oldest) {
                                        eprintln!("coord-server: purging old logs: {e}");
                                    }
                                }
                                Err(e) => {
                                    eprintln!("coord-server: snapshot failed (the log still has everything): {e}")
                                }
                            });
                        }
                    }
                    msg = rx.try_recv().ok();
                }
                if dirty {
                    writer.sync().unwrap_or_else(|e| fail("log fsync", e));
                }
                for (tx, m) in pending_out.drain(..) {
                    let _ = tx.send(m);
                }
                in_flight.fetch_sub(taken, Ordering::Release);
            }
        })
        .expect("spawn the sync thread");
}

/// Handle the core uses to feed the sync thread.
pub struct CommitQueue {
    tx: Sender<LogMsg>,
    records: Vec<u8>,
    out: Vec<(OutTx, OutMsg)>,
    /// Messages handed to the sync thread and not yet fully handled.
    in_flight: Arc<AtomicUsize>,
}

impl CommitQueue {
    /// Starts the sync thread, appending to `writer`; snapshots go to `snap_dir`.
    pub fn start(writer: LogWriter, snap_dir: PathBuf) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        spawn(writer, snap_dir, rx, in_flight.clone());
        CommitQueue { tx, records: Vec::new(), out: Vec::new(), in_flight }
    }

    pub fn records(&mut self) -> &mut Vec<u8> {
        &mut self.records
    }

    pub fn send(&mut self, to: &OutTx, msg: OutMsg) {
        self.out.push((to.clone(), msg));
    }

    /// Hands the current batch to the sync thread. A batch of reads only,
    /// with nothing still waiting for an fsync, is released at once: every
    /// earlier reply is already out, so the order holds.
    pub fn flush(&mut self) {
        if self.records.is_empty() && self.out.is_empty() {
            return;
        }
        if self.records.is_empty() && self.in_flight.load(Ordering::Acquire) == 0 {
            for (tx, m) in self.out.drain(..) {
                let _ = tx.send(m);
            }
            return;
        }
        let batch = LogMsg::Batch { records: std::mem::take(&mut self.records), out: std::mem::take(&mut self.out) };
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
