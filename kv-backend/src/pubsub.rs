//! Channel and pattern subscriptions, and message fan-out.

use crate::clients::Push;
use crate::db::ClientId;
use crate::frame::Reply;
use crate::types::{HashMap, IndexMap, Sds};
use crate::util::glob_match;
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug, Clone)]
pub struct Subscriber {
    pub tx: UnboundedSender<Push>,
    pub resp3: bool,
}

#[derive(Debug, Default)]
pub struct Registry {
    pub channels: HashMap<Sds, IndexMap<ClientId, Subscriber>>,
    pub patterns: IndexMap<Sds, IndexMap<ClientId, Subscriber>>,
}

fn message(resp3: bool, parts: &[&[u8]]) -> Vec<u8> {
    let mut r = Reply::new(resp3);
    r.push(parts.len());
    for p in parts {
        r.bulk(p);
    }
    r.buf
}

impl Registry {
    pub fn subscribe(&mut self, channel: &[u8], id: ClientId, sub: Subscriber) {
        self.channels
            .entry(Sds::from_slice(channel))
            .or_default()
            .insert(id, sub);
    }

    pub fn unsubscribe(&mut self, channel: &[u8], id: ClientId) {
        if let Some(subs) = self.channels.get_mut(channel) {
            subs.shift_remove(&id);
            if subs.is_empty() {
                self.channels.remove(channel);
            }
        }
    }

    pub fn psubscribe(&mut self, pattern: &[u8], id: ClientId, sub: Subscriber) {
        self.patterns
            .entry(Sds::from_slice(pattern))
            .or_default()
            .insert(id, sub);
    }

    pub fn punsubscribe(&mut self, pattern: &[u8], id: ClientId) {
        if let Some(subs) = self.patterns.get_mut(pattern) {
            subs.shift_remove(&id);
            if subs.is_empty() {
                self.patterns.shift_remove(pattern);
            }
        }
    }

    /// Sends a message to every subscriber; returns how many received it.
    pub fn publish(&self, channel: &[u8], msg: &[u8]) -> usize {
        let mut n = 0;
        if let Some(subs) = self.channels.get(channel) {
            for s in subs.values() {
                let _ =
                    s.tx.send(Push::Data(message(s.resp3, &[b"message", channel, msg])));
                n += 1;
            }
        }
        for (pat, subs) in &self.patterns {
            if glob_match(pat, channel, false) {
                for s in subs.values() {
                    let _ = s.tx.send(Push::Data(message(
                        s.resp3,
                        &[b"pmessage", pat, channel, msg],
                    )));
                    n += 1;
                }
            }
        }
        n
    }

    /// Distinct patterns with at least one subscriber.
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }
}
