//! The network side: accept loop, one task per connection, the 10 Hz cron
//! (active expiry, eviction) and shutdown on SHUTDOWN or SIGTERM.
//!
//! Concurrency: by default one event loop (tokio's current-thread runtime),
//! as Redis. With `io-threads N` > 1 a multi-thread runtime does socket I/O
//! and parsing on N threads. Either way command execution takes one lock over
//! the whole keyspace, once per batch of pipelined commands: that keeps
//! per-connection order, and makes MULTI/EXEC and multi-key commands atomic.

mod conn_admin;

use crate::clients::{ClientInfo, Push};
use crate::cmd::{dispatch, Client, Ctx};
use crate::config::Config;
use crate::connection::{parse_request, Limits, Parsed, ProtocolError};
use crate::db::Store;
use crate::frame::Reply;
use crate::log::log;
use crate::util::now_ms;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};

/// DEBUG SET-ACTIVE-EXPIRE switch.
pub static ACTIVE_EXPIRE: AtomicBool = AtomicBool::new(true);

pub struct Shared {
    pub store: Mutex<Store>,
    pub shutdown: Notify,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock must not take the server down with it.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs the server until SHUTDOWN or SIGTERM.
pub fn run(config: Config) -> std::io::Result<()> {
    // Before listening: the calibration sleeps, and signals must find their
    // handlers installed once the port accepts connections.
    crate::clock::init_clock();
    // One thread behaves like Redis' single event loop; more let socket I/O
    // and parsing run in parallel while commands still run one at a time.
    let rt = if config.io_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.io_threads)
            .enable_all()
            .build()?
    };
    rt.block_on(async {
        let listener = bind(&config).await?;
        serve(listener, config).await
    })
}

fn bind_addr(config: &Config) -> String {
    let first = config
        .bind
        .split_whitespace()
        .find(|t| !t.starts_with('-'))
        .unwrap_or("*");
    let host = if first == "*" { "0.0.0.0" } else { first };
    if host.contains(':') {
        format!("[{host}]:{}", config.port)
    } else {
        format!("{host}:{}", config.port)
    }
}

pub async fn bind(config: &Config) -> std::io::Result<TcpListener> {
    TcpListener::bind(bind_addr(config)).await
}

pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    let hz = config.hz.max(1);
    let shared = Arc::new(Shared {
        store: Mutex::new(Store::new(config)),
        shutdown: Notify::new(),
    });
    let addr = listener.local_addr()?;
    log(
        "notice",
        "Ready to accept connections tcp",
        &[("addr", &addr), ("pid", &std::process::id())],
    );
    tokio::spawn(cron(shared.clone(), hz));
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((sock, peer)) => {
                    let s = shared.clone();
                    tokio::spawn(async move { handle(s, sock, peer, addr).await });
                }
                Err(e) => log("warning", "accept failed", &[("error", &e)]),
            },
            _ = sigterm.recv() => { log("warning", "Received SIGTERM scheduling shutdown...", &[]); break; }
            _ = sigint.recv() => { log("warning", "Received SIGINT scheduling shutdown...", &[]); break; }
            _ = shared.shutdown.notified() => { log("warning", "User requested shutdown...", &[]); break; }
        }
    }
    log("warning", "kv-server is now ready to exit, bye bye...", &[]);
    Ok(())
}

/// Background work, `hz` times a second: active expiry and eviction.
async fn cron(shared: Arc<Shared>, hz: u32) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(1000 / hz as u64));
    loop {
        tick.tick().await;
        let mut st = shared.lock();
        let now = now_ms();
        if ACTIVE_EXPIRE.load(Ordering::Relaxed) {
            // Redis' slow cycle spends at most 25% of a tick.
            let budget = std::time::Duration::from_millis(250 / hz as u64);
            st.active_expire(now, std::time::Instant::now() + budget);
        }
        let _ = st.evict_if_needed(now);
        let commands = st.stats.total_commands_processed;
        st.stats.rates.maybe_sample(now, commands);
        if st.blocking.has_ready() {
            crate::cmd::list::serve_blocked(&mut st, now);
        }
    }
}

/// Mirrors a client's visible state into the registry (CLIENT LIST, INFO).
pub fn sync_client_info(store: &mut Store, c: &Client, now: i64) {
    if let Some(info) = store.clients.map.get_mut(&c.id) {
        info.db = c.db;
        info.last_ms = now;
        info.last_cmd = c.last_cmd;
        info.sub = c.channels.len();
        info.psub = c.patterns.len();
        info.multi = c.multi.as_ref().map_or(-1, |m| m.len() as i64);
        info.resp = if c.resp3 { 3 } else { 2 };
        let name = c.name.as_deref().unwrap_or("");
        if info.name != name {
            info.name = name.to_string();
        }
        info.no_evict = c.no_evict;
    }
}

struct Conn {
    shared: Arc<Shared>,
    sock: TcpStream,
    client: Client,
    rbuf: BytesMut,
    out: Reply,
    pending: VecDeque<Vec<Bytes>>,
    limits: Limits,
    query_limit: usize,
    /// `timeout` seconds (0 = never): idle clients are closed.
    idle_timeout: u64,
}

/// Why a new connection is turned away, with the line Redis writes first.
fn admission_error(st: &Store, peer: &SocketAddr) -> Option<&'static str> {
    if st.clients.map.len() as u64 >= st.config.maxclients {
        return Some("-ERR max number of clients reached\r\n");
    }
    let has_password = st.config.requirepass.is_some();
    if crate::clients::protected_mode_denies(st.config.protected_mode, has_password, peer.ip()) {
        return Some(crate::clients::PROTECTED_MODE_DENIED);
    }
    None
}

async fn handle(shared: Arc<Shared>, mut sock: TcpStream, peer: SocketAddr, local: SocketAddr) {
    let _ = sock.set_nodelay(true);
    // Checked apart from the registration below, so that block stays as it
    // was; with io-threads > 1 two accepts at once may pass maxclients by one.
    let refused = {
        let mut st = shared.lock();
        let refused = admission_error(&st, &peer);
        if refused.is_some() {
            st.stats.rejected_connections += 1;
        }
        refused
    };
    if let Some(line) = refused {
        // Best effort, as in Redis: the connection closes either way.
        let _ = sock.write_all(line.as_bytes()).await;
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let (id, authed, limits, query_limit, idle_timeout) = {
        let mut st = shared.lock();
        st.stats.total_connections_received += 1;
        let id = st.clients.next_id();
        let now = now_ms();
        st.clients.map.insert(
            id,
            ClientInfo {
                id,
                addr: peer.to_string(),
                laddr: sock.local_addr().unwrap_or(local).to_string(),
                name: String::new(),
                db: 0,
                created_ms: now,
                last_ms: now,
                last_cmd: "NULL",
                sub: 0,
                psub: 0,
                multi: -1,
                resp: 2,
                no_evict: false,
                tx: tx.clone(),
            },
        );
        let authed = st.config.requirepass.is_none();
        (
            id,
            authed,
            Limits {
                proto_max_bulk_len: st.config.proto_max_bulk_len,
                authenticated: authed,
            },
            st.config.client_query_buffer_limit,
            st.config.timeout,
        )
    };
    let mut conn = Conn {
        shared,
        sock,
        client: Client {
            local: peer.ip().is_loopback(),
            ..Client::new(id, tx, authed)
        },
        rbuf: BytesMut::with_capacity(16 * 1024),
        out: Reply::new(false),
        pending: VecDeque::new(),
        limits,
        query_limit,
        idle_timeout,
    };
    conn.run(rx).await;
    conn.cleanup();
}

/// How a batch of commands ended.
enum BatchEnd {
    Done,
    Blocked,
    /// CLIENT PAUSE holds the next command back.
    Paused,
    Close,
}

impl Conn {
    async fn run(&mut self, mut rx: mpsc::UnboundedReceiver<Push>) {
        loop {
            // Execute everything already received.
            let proto_err = match self.drain(&mut rx).await {
                Ok(true) => return,
                Ok(false) => None,
                Err(e) => Some(e),
            };
            if let Some(e) = proto_err {
                self.out.error(&e.0);
                let _ = self.flush().await;
                log(
                    "notice",
                    "Protocol error from client, closing",
                    &[("id", &self.client.id), ("error", &e.0)],
                );
                return;
            }
            if self.rbuf.len() > self.query_limit {
                log(
                    "warning",
                    "Closing client that reached max query buffer length",
                    &[("id", &self.client.id), ("qbuf", &self.rbuf.len())],
                );
                return;
            }
            let idle_limit = self.idle_limit();
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Push::Data(b)) => {
                        crate::stats::count_output(b.len());
                        if self.sock.write_all(&b).await.is_err() {
                            return;
                        }
                    }
                    Some(Push::Kill) | None => return,
                },
                r = self.sock.read_buf(&mut self.rbuf) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => crate::stats::count_input(n),
                },
                _ = idle_limit => return,
            }
        }
    }

    /// Parses and runs all complete requests. Ok(true) = close the connection.
    async fn drain(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Push>,
    ) -> Result<bool, ProtocolError> {
        loop {
            let mut perr = None;
            loop {
                match parse_request(&mut self.rbuf, self.limits) {
                    Ok(Some(Parsed::Command(a))) => {
                        self.pending.push_back(a);
                        // Before AUTH, limits depend on the outcome of each command.
                        if !self.limits.authenticated {
                            break;
                        }
                    }
                    Ok(Some(Parsed::Nothing)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        perr = Some(e);
                        break;
                    }
                }
            }
            if self.pending.is_empty() {
                self.flush()
                    .await
                    .map_err(|_| ProtocolError(String::new()))
                    .ok();
                return match perr {
                    Some(e) => Err(e),
                    None => Ok(false),
                };
            }
            let end = self.execute_batch();
            if self.flush().await.is_err() {
                return Ok(true);
            }
            match end {
                BatchEnd::Close => return Ok(true),
                BatchEnd::Blocked => {
                    if self.wait_unblocked(rx).await {
                        return Ok(true);
                    }
                }
                BatchEnd::Paused => {
                    if self.wait_unpaused(rx).await {
                        return Ok(true);
                    }
                }
                BatchEnd::Done => {}
            }
            if let Some(e) = perr {
                return Err(e);
            }
        }
    }

    fn execute_batch(&mut self) -> BatchEnd {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        let now = now_ms();
        let mut end = BatchEnd::Done;
        while let Some(argv) = self.pending.pop_front() {
            if st.admin.pause.is_active(now) && self.held_by_pause(&st, &argv, now) {
                self.pending.push_front(argv);
                end = BatchEnd::Paused;
                break;
            }
            let reply_start = self.out.buf.len();
            let mut ctx = Ctx {
                store: &mut st,
                client: &mut self.client,
                out: &mut self.out,
                now,
                in_exec: false,
            };
            dispatch(&mut ctx, &argv);
            // CLIENT REPLY OFF / SKIP: the reply is dropped.
            if self.client.reply_off || self.client.skip_this_reply {
                self.out.buf.truncate(reply_start);
                let kept = std::mem::take(&mut self.client.pushes_despite_reply_off);
                self.out.buf.extend_from_slice(&kept);
            }
            self.client.skip_this_reply = std::mem::take(&mut self.client.skip_next_reply);
            if self.client.close_after_reply {
                end = BatchEnd::Close;
                break;
            }
            if self.client.blocked.is_some() {
                end = BatchEnd::Blocked;
                break;
            }
        }
        sync_client_info(&mut st, &self.client, now);
        self.limits = Limits {
            proto_max_bulk_len: st.config.proto_max_bulk_len,
            authenticated: self.client.authenticated,
        };
        self.query_limit = st.config.client_query_buffer_limit;
        self.idle_timeout = st.config.timeout;
        if st.shutdown {
            self.shared.shutdown.notify_one();
            end = BatchEnd::Close;
        }
        end
    }

    /// Waits for a blocking command's result or timeout. Returns true if the
    /// connection must close.
    async fn wait_unblocked(&mut self, rx: &mut mpsc::UnboundedReceiver<Push>) -> bool {
        let Some(mut b) = self.client.blocked.take() else {
            return false;
        };
        let sleep = async {
            match b.timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                r = &mut b.rx => {
                    if let Ok(reply) = r {
                        // CLIENT REPLY OFF drops replies that come late too.
                        if !self.client.reply_off {
                            self.out.buf.extend_from_slice(&reply);
                        }
                    }
                    return self.flush().await.is_err();
                }
                _ = &mut sleep => {
                    let removed = self.shared.lock().blocking.unblock(self.client.id).is_some();
                    if removed {
                        if b.nil_is_bulk { self.out.null() } else { self.out.null_array() }
                    } else if let Ok(reply) = b.rx.try_recv() {
                        self.out.buf.extend_from_slice(&reply);
                    }
                    return self.flush().await.is_err();
                }
                msg = rx.recv() => match msg {
                    Some(Push::Data(d)) => {
                        if self.sock.write_all(&d).await.is_err() {
                            return true;
                        }
                    }
                    Some(Push::Kill) | None => return true,
                },
                // A client that hangs up while blocked must stop waiting at
                // once, or a later push would be handed to nobody. Anything it
                // sends meanwhile waits in the buffer, as in Redis.
                r = self.sock.read_buf(&mut self.rbuf) => match r {
                    Ok(0) | Err(_) => return true,
                    Ok(n) => crate::stats::count_input(n),
                },
            }
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.buf.is_empty() {
            return Ok(());
        }
        crate::stats::count_output(self.out.buf.len());
        let r = self.sock.write_all(&self.out.buf).await;
        self.out.buf.clear();
        if self.out.buf.capacity() > 1024 * 1024 {
            self.out.buf.shrink_to(64 * 1024);
        }
        r
    }

    fn cleanup(&mut self) {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        let mut scratch = Reply::new(false);
        let mut ctx = Ctx {
            store: &mut st,
            client: &mut self.client,
            out: &mut scratch,
            now: now_ms(),
            in_exec: false,
        };
        crate::cmd::tx::unwatch_all(&mut ctx);
        crate::cmd::pubsub::unsubscribe_all(&mut ctx);
        st.blocking.unblock(self.client.id);
        let id = self.client.id;
        st.admin.monitors.retain(|(m, _)| *m != id);
        st.clients.map.remove(&id);
    }
}
