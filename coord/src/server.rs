//! Startup (recovery from snapshot + log) and the client connections: one
//! task reads length-prefixed frames and hands decoded requests to the
//! core, another writes what the sync thread releases.

use crate::commit::{CommitQueue, OutMsg};
use crate::config::Config;
use crate::core::{Core, CoreMsg};
use crate::fourlw;
use crate::jute::Reader;
use crate::proto::{ConnectRequest, Request};
use crate::snapshot;
use crate::txnlog;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;

/// Loads the newest snapshot, replays the log after it (cutting a torn
/// tail), and starts the core and sync threads. Returns the core's inbox.
pub fn start_core(cfg: Arc<Config>) -> io::Result<Sender<CoreMsg>> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    std::fs::create_dir_all(&cfg.data_log_dir)?;
    let (mut tree, _) = snapshot::load_latest(&cfg.data_dir)?;
    let (replay, writer) = txnlog::recover(&cfg.data_log_dir, tree.last_zxid, cfg.force_sync)?;
    if replay.truncated > 0 {
        eprintln!("coord-server: cut {} bytes of torn log tail", replay.truncated);
    }
    let replayed = replay.txns.len();
    for (hdr, txn) in &replay.txns {
        tree.apply(hdr, txn, &mut Vec::new());
    }
    eprintln!(
        "coord-server: recovered {} nodes, {} sessions, {replayed} logged transactions, zxid 0x{:x}",
        tree.node_count(),
        tree.sessions.len(),
        tree.last_zxid
    );
    let queue = CommitQueue::start(writer, cfg.data_dir.clone());
    let core = Core::new(cfg, tree, queue);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("coord-core".into()).spawn(move || core.run(rx))?;
    Ok(tx)
}

/// Serves clients on `listener` forever.
pub async fn serve(cfg: Arc<Config>, listener: TcpListener, core: Sender<CoreMsg>) -> io::Result<()> {
    let next_id = Arc::new(AtomicU64::new(1));
    let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    loop {
        let (stream, addr) = listener.accept().await?;
        // maxClientCnxns: connections per client address; 0 means no limit.
        let admitted = {
            let mut counts = per_ip.lock().unwrap_or_else(|e| e.into_inner());
            let n = counts.entry(addr.ip()).or_default();
            let ok = cfg.max_client_cnxns == 0 || *n < cfg.max_client_cnxns;
            if ok {
                *n += 1;
            }
            ok
        };
        if !admitted {
            eprintln!(
                "coord-server: too many connections from {} (maxClientCnxns={})",
                addr.ip(),
                cfg.max_client_cnxns
            );
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let (core, cfg, per_ip) = (core.clone(), cfg.clone(), per_ip.clone());
        tokio::spawn(async move {
            if let Err(e) = connection(stream, addr, id, core.clone(), cfg).await {
                if e.kind() != io::ErrorKind::UnexpectedEof {
                    eprintln!("coord-server: connection {addr}: {e}");
                }
            }
            let _ = core.send(CoreMsg::Closed { conn: id });
            let mut counts = per_ip.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = counts.get_mut(&addr.ip()) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&addr.ip());
                }
            }
        });
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads one frame body; lengths outside [0, jute.maxbuffer] close the
/// connection, as ZooKeeper's "Len error" does.
async fn read_frame(r: &mut BufReader<OwnedReadHalf>, len_bytes: [u8; 4], max: usize) -> io::Result<Vec<u8>> {
    let len = i32::from_be_bytes(len_bytes);
    if len < 0 || len as usize > max {
        return Err(invalid(format!("frame length {len} outside [0, {max}]")));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).await?;
    Ok(body)
}

async fn connection(
    stream: TcpStream,
    addr: SocketAddr,
    id: u64,
    core: Sender<CoreMsg>,
    cfg: Arc<Config>,
) -> io::Result<()> {
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut len = [0u8; 4];
    // A socket that never says anything is dropped after the longest
    // session timeout, rather than held forever.
    let quiet_limit = std::time::Duration::from_millis(cfg.negotiate_timeout(i32::MAX).max(1000) as u64);
    tokio::time::timeout(quiet_limit, reader.read_exact(&mut len))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no connect request"))??;
    if let Some(word) = fourlw::word_of(len) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = core.send(CoreMsg::FourLetter { word, reply: tx });
        let text = rx.await.unwrap_or_default();
        write_half.write_all(text.as_bytes()).await?;
        return write_half.shutdown().await;
    }
    let body = read_frame(&mut reader, len, cfg.max_buffer).await?;
    let req = ConnectRequest::decode(&body).map_err(|e| invalid(e.to_string()))?;
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel();
    let closed = Arc::new(tokio::sync::Notify::new());
    let outstanding = Arc::new(Outstanding::default());
    tokio::spawn(writer(write_half, out_rx, closed.clone(), outstanding.clone()));
    let send = |msg| core.send(msg).map_err(|_| io::Error::other("core stopped"));
    send(CoreMsg::Connect { conn: id, req, addr, out: out_tx })?;
    loop {
        // Backpressure: a client that does not read its replies stops being read.
        while outstanding.count.load(Ordering::Acquire) >= MAX_OUTSTANDING {
            tokio::select! {
                _ = outstanding.drained.notified() => {}
                _ = closed.notified() => return Ok(()),
            }
        }
        let frame = tokio::select! {
            r = reader.read_exact(&mut len) => { r?; read_frame(&mut reader, len, cfg.max_buffer).await? }
            _ = closed.notified() => return Ok(()),
        };
        let mut r = Reader::new(&frame);
        let (xid, opcode) = match (r.int(), r.int()) {
            (Ok(x), Ok(o)) => (x, o),
            _ => return Err(invalid("frame shorter than a request header".into())),
        };
        // Undecodable bodies close the connection (ZooKeeper: MarshallingError).
        let req = Request::decode(opcode, &mut r).map_err(|e| invalid(format!("opcode {opcode}: {e}")))?;
        outstanding.count.fetch_add(1, Ordering::AcqRel);
        send(CoreMsg::Request { conn: id, xid, req })?;
    }
}

/// Requests of one connection still waiting for their reply to be written.
const MAX_OUTSTANDING: usize = 1000;

#[derive(Default)]
struct Outstanding {
    count: AtomicUsize,
    drained: tokio::sync::Notify,
}

impl Outstanding {
    /// Counts the replies (not the notifications) in a frame batch.
    fn replied(&self, frame: &[u8]) {
        let is_notification = frame.get(4..8) == Some(&crate::proto::xid::NOTIFICATION.to_be_bytes()[..]);
        if !is_notification
            && self.count.load(Ordering::Acquire) > 0
            && self.count.fetch_sub(1, Ordering::AcqRel) == MAX_OUTSTANDING
        {
            self.drained.notify_one();
        }
    }
}

/// Writes released frames, coalescing whatever is queued into one write.
async fn writer(
    mut w: tokio::net::tcp::OwnedWriteHalf,
    mut rx: UnboundedReceiver<OutMsg>,
    closed: Arc<tokio::sync::Notify>,
    outstanding: Arc<Outstanding>,
) {
    let mut buf = Vec::with_capacity(64 * 1024);
    'outer: while let Some(first) = rx.recv().await {
        let mut close = false;
        let mut msg = Some(first);
        while let Some(m) = msg.take() {
            match m {
                OutMsg::Frame(f) => {
                    outstanding.replied(&f);
                    buf.extend_from_slice(&f);
                }
                OutMsg::Close => {
                    close = true;
                    break;
                }
            }
            if buf.len() < 1 << 20 {
                msg = rx.try_recv().ok();
            }
        }
        if !buf.is_empty() {
            if w.write_all(&buf).await.is_err() {
                break 'outer;
            }
            buf.clear();
        }
        if close {
            break;
        }
    }
    let _ = w.shutdown().await;
    closed.notify_one();
}

/// Binds the client port and runs the server until the process ends.
pub fn run(cfg: Config) -> io::Result<()> {
    let cfg = Arc::new(cfg);
    let core = start_core(cfg.clone())?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let ip = cfg.client_port_address.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        let listener = TcpListener::bind((ip, cfg.client_port)).await?;
        eprintln!("coord-server: serving on {}", listener.local_addr()?);
        serve(cfg, listener, core).await
    })
}
