//! Long-running processes started in nodes: every one is recorded in a shared table, and the
//! topology's teardown stops and reaps them all.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// How long a process gets to exit after SIGTERM before it is SIGKILLed. Long enough for a
/// daemon such as lbd to detach its programs, short enough not to slow teardown.
const TERM_GRACE: Duration = Duration::from_secs(2);

struct Tracked {
    child: Child,
    label: String,
}

/// All processes spawned in one topology.
#[derive(Default)]
pub(crate) struct ProcessTable {
    children: Mutex<Vec<Tracked>>,
}

impl ProcessTable {
    fn lock(&self) -> MutexGuard<'_, Vec<Tracked>> {
        // A panic while holding the lock leaves valid data; keep going so teardown still works.
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add(&self, child: Child, label: String) -> u32 {
        let pid = child.id();
        self.lock().push(Tracked { child, label });
        pid
    }

    /// Stops and reaps one process; false if it is not (or no longer) in the table.
    pub(crate) fn stop(&self, pid: u32) -> bool {
        let tracked = {
            let mut children = self.lock();
            match children.iter().position(|t| t.child.id() == pid) {
                Some(i) => children.swap_remove(i),
                None => return false,
            }
        };
        stop_all(vec![tracked]);
        true
    }

    /// True while the process runs (it is reaped as soon as it is seen exited).
    pub(crate) fn is_running(&self, pid: u32) -> bool {
        let mut children = self.lock();
        let Some(i) = children.iter().position(|t| t.child.id() == pid) else {
            return false;
        };
        match children[i].child.try_wait() {
            Ok(None) => true,
            _ => {
                children.swap_remove(i);
                false
            }
        }
    }

    /// Stops and reaps every process; returns the labels of those that had to be SIGKILLed.
    pub(crate) fn stop_everything(&self) -> Vec<String> {
        let all = std::mem::take(&mut *self.lock());
        stop_all(all)
    }
}

/// SIGTERM to all, wait up to [`TERM_GRACE`] in total, SIGKILL the rest, reap everyone.
fn stop_all(mut children: Vec<Tracked>) -> Vec<String> {
    for t in &children {
        // SAFETY: the child is not yet reaped (we own its Child), so the pid is still ours.
        unsafe { libc::kill(t.child.id() as libc::pid_t, libc::SIGTERM) };
    }
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline {
        children.retain_mut(|t| matches!(t.child.try_wait(), Ok(None)));
        if children.is_empty() {
            return Vec::new();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    children
        .iter_mut()
        .map(|t| {
            let _ = t.child.kill();
            let _ = t.child.wait();
            t.label.clone()
        })
        .collect()
}

/// A handle to a process started with [`Node::spawn`](crate::Node::spawn). Dropping the handle
/// does not stop the process; the topology's teardown (or [`Spawned::stop`]) does.
#[derive(Clone)]
pub struct Spawned {
    pid: u32,
    label: String,
    log: PathBuf,
    table: Arc<ProcessTable>,
}

impl Spawned {
    pub(crate) fn new(pid: u32, label: String, log: PathBuf, table: Arc<ProcessTable>) -> Self {
        Spawned {
            pid,
            label,
            log,
            table,
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// "rs1: tb-echo --port 7000 ..." style label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// File that receives the process's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything the process has printed so far (for failure messages).
    pub fn output(&self) -> Result<String> {
        Ok(String::from_utf8_lossy(&std::fs::read(&self.log)?).into_owned())
    }

    /// Waits (at most `timeout`) until the process has printed `text`, e.g. a "listening" or
    /// "became MASTER" line. Fails early if the process exits first; errors carry its output.
    pub fn wait_for_output(&self, text: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            // Read before checking liveness, so a line printed just before exiting still counts.
            let output = self.output()?;
            if output.contains(text) {
                return Ok(());
            }
            if !self.is_running() {
                bail!(
                    "{} exited without printing {text:?}; output:\n{output}",
                    self.label
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not print {text:?} within {timeout:?}; output:\n{output}",
                    self.label
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn is_running(&self) -> bool {
        self.table.is_running(self.pid)
    }

    /// SIGTERM, then SIGKILL after a grace period; reaps it. False if it had already gone.
    pub fn stop(&self) -> bool {
        self.table.stop(self.pid)
    }
}
