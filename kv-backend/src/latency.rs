//! The latency monitor: per event ("command", "fast-command"), one sample
//! per second (the worst), the last 160 seconds with samples, and the
//! all-time maximum. Samples are taken only at or above
//! `latency-monitor-threshold` milliseconds.

use std::collections::BTreeMap;

/// Samples kept per event, as Redis' LATENCY_TS_LEN.
const HISTORY_LEN: usize = 160;

#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub unix_secs: i64,
    pub ms: u64,
}

#[derive(Debug, Clone)]
pub struct Series {
    samples: [Sample; HISTORY_LEN],
    next: usize,
    pub max: u64,
}

impl Series {
    fn new() -> Series {
        Series {
            samples: [Sample::default(); HISTORY_LEN],
            next: 0,
            max: 0,
        }
    }

    fn add(&mut self, unix_secs: i64, ms: u64) {
        self.max = self.max.max(ms);
        let prev = (self.next + HISTORY_LEN - 1) % HISTORY_LEN;
        if self.samples[prev].unix_secs == unix_secs {
            self.samples[prev].ms = self.samples[prev].ms.max(ms);
            return;
        }
        self.samples[self.next] = Sample { unix_secs, ms };
        self.next = (self.next + 1) % HISTORY_LEN;
    }

    pub fn latest(&self) -> Sample {
        self.samples[(self.next + HISTORY_LEN - 1) % HISTORY_LEN]
    }

    /// Samples oldest first.
    pub fn history(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..HISTORY_LEN)
            .map(move |i| self.samples[(self.next + i) % HISTORY_LEN])
            .filter(|s| s.unix_secs != 0)
    }
}

#[derive(Debug, Default)]
pub struct LatencyMonitor {
    pub events: BTreeMap<&'static str, Series>,
}

impl LatencyMonitor {
    pub fn add(&mut self, event: &'static str, unix_secs: i64, ms: u64) {
        self.events
            .entry(event)
            .or_insert_with(Series::new)
            .add(unix_secs, ms);
    }

    /// Resets the named events (all if none named); returns how many existed.
    pub fn reset(&mut self, names: &[String]) -> usize {
        if names.is_empty() {
            let n = self.events.len();
            self.events.clear();
            return n;
        }
        let before = self.events.len();
        self.events
            .retain(|e, _| !names.iter().any(|n| n.eq_ignore_ascii_case(e)));
        before - self.events.len()
    }

    /// LATENCY DOCTOR, reduced to the summary lines.
    pub fn doctor(&self, threshold_ms: u64) -> String {
        if self.events.is_empty() && threshold_ms == 0 {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
        }
        if self.events.is_empty() {
            return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".into();
        }
        let mut report = String::from("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        for (i, (event, series)) in self.events.iter().enumerate() {
            let samples: Vec<Sample> = series.history().collect();
            let n = samples.len().max(1) as u64;
            let avg = samples.iter().map(|s| s.ms).sum::<u64>() / n;
            let mad = samples.iter().map(|s| s.ms.abs_diff(avg)).sum::<u64>() / n;
            let period = match (samples.first(), samples.last()) {
                (Some(a), Some(b)) => (b.unix_secs - a.unix_secs) as f64,
                _ => 0.0,
            };
            report.push_str(&format!(
                "{}. {event}: {} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.\n",
                i + 1,
                samples.len(),
                period / n as f64,
                series.max
            ));
        }
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_keeps_the_worst() {
        let mut m = LatencyMonitor::default();
        m.add("command", 100, 5);
        m.add("command", 100, 9);
        m.add("command", 100, 3);
        m.add("command", 101, 2);
        let s = &m.events["command"];
        let h: Vec<(i64, u64)> = s.history().map(|x| (x.unix_secs, x.ms)).collect();
        assert_eq!(h, vec![(100, 9), (101, 2)]);
        assert_eq!(s.max, 9);
        assert_eq!(s.latest().ms, 2);
        assert_eq!(m.reset(&["COMMAND".into(), "nope".into()]), 1);
        assert!(m.events.is_empty());
    }

    #[test]
    fn history_wraps_after_160_seconds() {
        let mut m = LatencyMonitor::default();
        for t in 1..=200 {
            m.add("fast-command", t, t as u64);
        }
        let h: Vec<i64> = m.events["fast-command"]
            .history()
            .map(|s| s.unix_secs)
            .collect();
        assert_eq!(h.len(), 160);
        assert_eq!(h[0], 41);
        assert_eq!(h[159], 200);
    }
}
