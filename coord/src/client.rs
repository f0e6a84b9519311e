//! A small async ZooKeeper client: one connection, one request in flight,
//! notifications queued as they arrive. It is the load generator of
//! `cargo xtask bench coord` and the raw-protocol client of the tests; it
//! speaks to Apache ZooKeeper as well as to coord-server.

use crate::jute::{Reader, Writer};
use crate::proto::{op, Acl, ConnectRequest, Stat};
use std::collections::VecDeque;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The header's zxid (ZooKeeper sends -1).
    pub zxid: i64,
    pub event_type: i32,
    pub state: i32,
    pub path: String,
}

pub struct Client {
    stream: BufReader<TcpStream>,
    next_xid: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    /// Negotiated timeout; 0 means the server declared the session expired.
    pub timeout_ms: i32,
    pub last_zxid: i64,
    /// Notifications received so far, oldest first.
    pub events: VecDeque<Event>,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

impl Client {
    /// Opens a new session.
    pub async fn connect(addr: &str, timeout_ms: i32) -> io::Result<Client> {
        Self::attach(addr, timeout_ms, 0, vec![0; 16], 0).await
    }

    /// Connects with an existing session id and password (0 = new session).
    pub async fn attach(
        addr: &str,
        timeout_ms: i32,
        session_id: i64,
        passwd: Vec<u8>,
        last_zxid: i64,
    ) -> io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut c = Client {
            stream: BufReader::new(stream),
            next_xid: 1,
            session_id: 0,
            passwd: Vec::new(),
            timeout_ms: 0,
            last_zxid,
            events: VecDeque::new(),
        };
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: last_zxid,
            timeout_ms,
            session_id,
            passwd,
            read_only: Some(false),
        };
        c.send_raw(&req.encode()).await?;
        let frame = c.read_frame().await?;
        let mut r = Reader::new(&frame);
        let (_proto, timeout, id) = (r.int(), r.int(), r.long());
        c.timeout_ms = timeout.map_err(|e| bad(&e.to_string()))?;
        c.session_id = id.map_err(|e| bad(&e.to_string()))?;
        c.passwd = r.buffer().map_err(|e| bad(&e.to_string()))?;
        Ok(c)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.get_mut().write_all(bytes).await
    }

    pub async fn read_frame(&mut self) -> io::Result<Vec<u8>> {
        let len = self.stream.read_i32().await?;
        if !(0..=64 << 20).contains(&len) {
            return Err(bad("bad frame length from server"));
        }
        let mut body = vec![0; len as usize];
        self.stream.read_exact(&mut body).await?;
        Ok(body)
    }

    /// Sends a request with a fresh xid and waits for its reply, queueing
    /// any notifications that arrive first.
    pub async fn call(&mut self, opcode: i32, body: impl FnOnce(&mut Writer)) -> io::Result<Reply> {
        let xid = self.next_xid;
        self.next_xid += 1;
        self.call_xid(xid, opcode, body).await
    }

    pub async fn call_xid(&mut self, xid: i32, opcode: i32, body: impl FnOnce(&mut Writer)) -> io::Result<Reply> {
        let mut w = Writer::framed();
        w.int(xid).int(opcode);
        body(&mut w);
        self.send_raw(&w.into_frame()).await?;
        self.read_reply().await
    }

    /// Reads frames until a reply that is not a notification.
    pub async fn read_reply(&mut self) -> io::Result<Reply> {
        loop {
            let frame = self.read_frame().await?;
            let mut r = Reader::new(&frame);
            let parsed = (|| Ok::<_, crate::jute::DecodeError>((r.int()?, r.long()?, r.int()?)))();
            let (xid, zxid, err) = parsed.map_err(|e| bad(&e.to_string()))?;
            if xid == crate::proto::xid::NOTIFICATION {
                let ev = (|| {
                    Ok::<_, crate::jute::DecodeError>(Event {
                        zxid,
                        event_type: r.int()?,
                        state: r.int()?,
                        path: r.string()?,
                    })
                })();
                self.events.push_back(ev.map_err(|e| bad(&e.to_string()))?);
                continue;
            }
            if zxid > 0 {
                self.last_zxid = zxid;
            }
            let body = frame[frame.len() - r.remaining()..].to_vec();
            return Ok(Reply { xid, zxid, err, body });
        }
    }

    pub async fn create(&mut self, path: &str, data: &[u8], flags: i32) -> io::Result<Result<String, i32>> {
        let r = self
            .call(op::CREATE, |w| {
                w.string(path).buffer(data);
                Acl::write_all(w, &Acl::open_unsafe());
                w.int(flags);
            })
            .await?;
        Ok(if r.err != 0 { Err(r.err) } else { Ok(Reader::new(&r.body).string().unwrap_or_default()) })
    }

    pub async fn set_data(&mut self, path: &str, data: &[u8], version: i32) -> io::Result<Result<Stat, i32>> {
        let r = self
            .call(op::SET_DATA, |w| {
                w.string(path).buffer(data).int(version);
            })
            .await?;
        Ok(if r.err != 0 { Err(r.err) } else { Stat::read(&mut Reader::new(&r.body)).map_err(|_| -5) })
    }

    pub async fn get_data(&mut self, path: &str, watch: bool) -> io::Result<Result<(Vec<u8>, Stat), i32>> {
        let r = self
            .call(op::GET_DATA, |w| {
                w.string(path).bool(watch);
            })
            .await?;
        if r.err != 0 {
            return Ok(Err(r.err));
        }
        let mut rd = Reader::new(&r.body);
        Ok(match (rd.buffer(), Stat::read(&mut rd)) {
            (Ok(d), Ok(s)) => Ok((d, s)),
            _ => Err(-5),
        })
    }

    pub async fn exists(&mut self, path: &str, watch: bool) -> io::Result<Option<Stat>> {
        let r = self
            .call(op::EXISTS, |w| {
                w.string(path).bool(watch);
            })
            .await?;
        Ok(if r.err != 0 { None } else { Stat::read(&mut Reader::new(&r.body)).ok() })
    }

    pub async fn get_children(&mut self, path: &str, watch: bool) -> io::Result<Result<Vec<String>, i32>> {
        let r = self
            .call(op::GET_CHILDREN, |w| {
                w.string(path).bool(watch);
            })
            .await?;
        Ok(if r.err != 0 { Err(r.err) } else { Reader::new(&r.body).strings().map_err(|_| -5) })
    }

    pub async fn delete(&mut self, path: &str, version: i32) -> io::Result<Result<(), i32>> {
        let r = self
            .call(op::DELETE, |w| {
                w.string(path).int(version);
            })
            .await?;
        Ok(if r.err != 0 { Err(r.err) } else { Ok(()) })
    }

    pub async fn ping(&mut self) -> io::Result<Reply> {
        self.call_xid(crate::proto::xid::PING, op::PING, |_| {}).await
    }

    pub async fn close(mut self) -> io::Result<()> {
        self.call(op::CLOSE_SESSION, |_| {}).await.map(|_| ())
    }
}
