//! The slow log: commands that ran longer than `slowlog-log-slower-than`
//! microseconds, newest first, at most `slowlog-max-len` of them.

use bytes::Bytes;
use std::collections::VecDeque;

/// Redis keeps at most this many arguments per entry (the last one says how
/// many were left out) and this many bytes per argument.
const MAX_ARGC: usize = 32;
const MAX_ARG_BYTES: usize = 128;

#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub unix_secs: i64,
    pub usec: u64,
    pub argv: Vec<Vec<u8>>,
    pub addr: String,
    pub name: String,
}

#[derive(Debug, Default)]
pub struct SlowLog {
    /// Newest first.
    pub entries: VecDeque<SlowEntry>,
    next_id: u64,
}

/// The arguments as Redis stores them: 32 at most, 128 bytes each at most.
pub fn truncated_argv(argv: &[Bytes]) -> Vec<Vec<u8>> {
    let kept = argv.len().min(MAX_ARGC);
    (0..kept)
        .map(|j| {
            if kept != argv.len() && j == kept - 1 {
                format!("... ({} more arguments)", argv.len() - kept + 1).into_bytes()
            } else if argv[j].len() > MAX_ARG_BYTES {
                let mut a = argv[j][..MAX_ARG_BYTES].to_vec();
                a.extend_from_slice(
                    format!("... ({} more bytes)", argv[j].len() - MAX_ARG_BYTES).as_bytes(),
                );
                a
            } else {
                argv[j].to_vec()
            }
        })
        .collect()
}

impl SlowLog {
    pub fn push(&mut self, mut entry: SlowEntry, max_len: u64) {
        entry.id = self.next_id;
        self.next_id += 1;
        self.entries.push_front(entry);
        self.entries.truncate(max_len as usize);
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_are_cut_as_redis_does() {
        let argv: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        let t = truncated_argv(&argv);
        assert_eq!(t.len(), 32);
        assert_eq!(t[30], b"a30");
        assert_eq!(t[31], b"... (9 more arguments)");
        let t = truncated_argv(&[Bytes::from(vec![b'x'; 130])]);
        assert_eq!(t[0].len(), 128 + "... (2 more bytes)".len());
        assert!(t[0].ends_with(b"... (2 more bytes)"));
    }

    #[test]
    fn ids_grow_and_length_is_capped() {
        let mut log = SlowLog::default();
        for _ in 0..5 {
            log.push(
                SlowEntry {
                    id: 0,
                    unix_secs: 0,
                    usec: 1,
                    argv: vec![],
                    addr: String::new(),
                    name: String::new(),
                },
                3,
            );
        }
        let ids: Vec<u64> = log.entries.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![4, 3, 2]);
    }
}
