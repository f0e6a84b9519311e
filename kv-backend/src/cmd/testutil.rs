//! Runs commands against an in-memory store, without the network, for the
//! unit tests of each command family.

use super::{dispatch, Client, Ctx};
use crate::config::Config;
use crate::db::Store;
use crate::frame::Reply;
use bytes::Bytes;

pub struct Harness {
    pub store: Store,
    pub client: Client,
    pub now: i64,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Harness {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        Harness {
            store: Store::new(Config::default()),
            client: Client::new(1, tx, true),
            now: 1_000_000,
        }
    }

    /// Runs one command given as whitespace-separated words; returns the raw reply.
    pub fn run(&mut self, line: &str) -> String {
        let argv: Vec<Bytes> = line
            .split_whitespace()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        self.run_args(&argv)
    }

    pub fn run_args(&mut self, argv: &[Bytes]) -> String {
        let mut out = Reply::new(self.client.resp3);
        let mut ctx = Ctx {
            store: &mut self.store,
            client: &mut self.client,
            out: &mut out,
            now: self.now,
            in_exec: false,
        };
        dispatch(&mut ctx, argv);
        String::from_utf8_lossy(&out.buf).into_owned()
    }
}
