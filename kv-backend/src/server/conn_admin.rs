//! The connection's side of the admin features, kept apart from the I/O
//! loop: the idle `timeout` and waiting out CLIENT PAUSE.

use super::Conn;
use crate::clients::Push;
use crate::db::Store;
use crate::util::now_ms;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

impl Conn {
    /// Sleeps until `timeout` seconds pass without input; never for
    /// subscribers (nor blocked clients, which wait elsewhere).
    pub(super) fn idle_limit(&self) -> impl std::future::Future<Output = ()> {
        let limit = (self.idle_timeout > 0 && self.client.subscriptions() == 0)
            .then(|| std::time::Duration::from_secs(self.idle_timeout));
        async move {
            match limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// CLIENT PAUSE: whether this command must wait (writes only, or all).
    pub(super) fn held_by_pause(&self, st: &Store, argv: &[Bytes], now: i64) -> bool {
        let Some(cmd) = crate::cmd::table::lookup(&argv[0]) else {
            return false;
        };
        let exec_writes = cmd.name == "exec"
            && self.client.multi.as_ref().is_some_and(|queue| {
                queue.iter().any(|a| {
                    crate::cmd::table::lookup(&a[0]).is_some_and(crate::admin::may_replicate)
                })
            });
        st.admin.pause.holds(now, cmd, exec_writes)
    }

    /// Waits for the pause to end (CLIENT UNPAUSE or its timeout). Returns
    /// true if the connection must close.
    pub(super) async fn wait_unpaused(&mut self, rx: &mut mpsc::UnboundedReceiver<Push>) -> bool {
        // Polled: a pause lifted early is noticed within one step.
        const STEP: std::time::Duration = std::time::Duration::from_millis(10);
        loop {
            let still_paused = {
                let st = self.shared.lock();
                let now = now_ms();
                self.pending
                    .front()
                    .is_some_and(|argv| self.held_by_pause(&st, argv, now))
            };
            if !still_paused {
                return false;
            }
            tokio::select! {
                _ = tokio::time::sleep(STEP) => {}
                msg = rx.recv() => match msg {
                    Some(Push::Data(d)) => {
                        crate::stats::count_output(d.len());
                        if self.sock.write_all(&d).await.is_err() {
                            return true;
                        }
                    }
                    Some(Push::Kill) | None => return true,
                },
            }
        }
    }
}
