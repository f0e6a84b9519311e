//! tb-echo: a tiny "who answered?" server for the end-to-end tests, and its client side.
//! Every TCP line and every UDP datagram is answered with `<id> <line>`, so a test can tell
//! which real server a connection reached.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

mod pktinfo;

/// Longest line or datagram answered; longer TCP lines close the connection.
const MAX_LINE: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchoConfig {
    pub id: String,
    pub bind: IpAddr,
    pub port: u16,
    pub tcp: bool,
    pub udp: bool,
}

pub const USAGE: &str = "usage: tb-echo --port PORT --id NAME [--bind ADDR] [--mode tcp|udp|both]";

impl EchoConfig {
    /// Parses the command line (without the program name).
    pub fn from_args(args: &[String]) -> Result<EchoConfig> {
        let mut id = None;
        let mut port = None;
        let mut bind = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let mut mode = "both".to_string();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--id" => id = Some(value()?.clone()),
                "--port" => {
                    let v = value()?;
                    port = Some(
                        v.parse::<u16>()
                            .with_context(|| format!("bad port {v:?}"))?,
                    );
                }
                "--bind" => {
                    let v = value()?;
                    bind = v.parse().with_context(|| format!("bad address {v:?}"))?;
                }
                "--mode" => mode = value()?.clone(),
                other => bail!("unknown argument {other:?}"),
            }
        }
        let (tcp, udp) = match mode.as_str() {
            "tcp" => (true, false),
            "udp" => (false, true),
            "both" => (true, true),
            other => bail!("bad mode {other:?}: expected tcp, udp or both"),
        };
        let id = id.context("--id is required")?;
        if id.is_empty() || id.contains(char::is_whitespace) {
            bail!("--id must be one non-empty word, got {id:?}");
        }
        Ok(EchoConfig {
            id,
            bind,
            port: port.context("--port is required")?,
            tcp,
            udp,
        })
    }
}

/// Binds the sockets (so errors show before anything runs), prints one "listening" line, then
/// serves until killed.
pub fn serve(config: &EchoConfig) -> Result<()> {
    let mut addr = SocketAddr::new(config.bind, config.port);
    let tcp = match config.tcp {
        true => {
            let listener = TcpListener::bind(addr).with_context(|| format!("bind tcp {addr}"))?;
            // With --port 0, UDP takes the port TCP got, so one number serves both.
            addr = listener.local_addr()?;
            Some(listener)
        }
        false => None,
    };
    let udp = match config.udp {
        true => {
            let socket = UdpSocket::bind(addr).with_context(|| format!("bind udp {addr}"))?;
            addr = socket.local_addr()?;
            Some(socket)
        }
        false => None,
    };
    let protocols: Vec<&str> = [("tcp", config.tcp), ("udp", config.udp)]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
    // Tests read this line to learn the port.
    println!(
        "tb-echo {} listening on {addr} ({})",
        config.id,
        protocols.join("+")
    );
    std::io::stdout().flush()?;
    let id: Arc<str> = config.id.as_str().into();
    let udp_thread = udp.map(|socket| {
        let id = id.clone();
        std::thread::spawn(move || serve_udp(&id, socket))
    });
    if let Some(listener) = tcp {
        serve_tcp(&id, listener)?;
    }
    if let Some(thread) = udp_thread {
        thread.join().expect("udp thread panicked")?;
    }
    Ok(())
}

fn serve_tcp(id: &Arc<str>, listener: TcpListener) -> Result<()> {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let id = id.clone();
        std::thread::spawn(move || {
            // A client that goes away mid-line is not the server's problem.
            let _ = answer_connection(&id, stream);
        });
    }
    Ok(())
}

fn answer_connection(id: &str, stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bound the read so a peer that never sends a newline can't grow memory forever.
        let n = (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && n == MAX_LINE {
            writer.write_all(format!("{id} ERR line too long\n").as_bytes())?;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        writer.write_all(format!("{id} {}\n", text.trim_end_matches(['\r', '\n'])).as_bytes())?;
    }
}

fn serve_udp(id: &str, socket: UdpSocket) -> Result<()> {
    let mut buf = vec![0u8; MAX_LINE];
    let answer = |request: &[u8]| {
        let text = String::from_utf8_lossy(request);
        format!("{id} {}", text.trim_end_matches(['\r', '\n']))
    };
    if socket.local_addr()?.is_ipv6() {
        loop {
            let (n, peer) = socket.recv_from(&mut buf)?;
            // A full send buffer or unreachable peer loses one answer; keep serving the others.
            let _ = socket.send_to(answer(&buf[..n]).as_bytes(), peer);
        }
    }
    pktinfo::enable(&socket).context("IP_PKTINFO")?;
    loop {
        let (n, peer, dst) = pktinfo::recv_with_dst(&socket, &mut buf)?;
        let reply = answer(&buf[..n]);
        // Answer from the address the request went to (the VIP on a DR/TUN real server);
        // broadcast or multicast destinations can't be a source, so let the kernel pick then.
        let source = dst
            .filter(|d| !d.is_broadcast() && !d.is_multicast())
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let _ = pktinfo::send_from(&socket, reply.as_bytes(), peer, source);
    }
}

/// Connects to a tb-echo server, sends `line`, returns the answer without its newline.
/// Every step is bounded by `timeout`.
pub fn tcp_request(addr: SocketAddr, line: &str, timeout: Duration) -> Result<String> {
    let stream =
        TcpStream::connect_timeout(&addr, timeout).with_context(|| format!("connect to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    (&stream).write_all(format!("{line}\n").as_bytes())?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .take(MAX_LINE as u64)
        .read_line(&mut answer)
        .with_context(|| format!("read answer from {addr}"))?;
    if !answer.ends_with('\n') {
        bail!("connection to {addr} closed before a full answer: {answer:?}");
    }
    Ok(answer.trim_end().to_string())
}

/// Sends `line` as one datagram and waits (bounded by `timeout`) for the answer.
pub fn udp_request(addr: SocketAddr, line: &str, timeout: Duration) -> Result<String> {
    let unspecified: IpAddr = match addr {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(unspecified, 0))?;
    socket.connect(addr)?;
    socket.set_read_timeout(Some(timeout))?;
    socket.send(line.as_bytes())?;
    let mut buf = vec![0u8; MAX_LINE];
    let n = socket
        .recv(&mut buf)
        .with_context(|| format!("no UDP answer from {addr} within {timeout:?}"))?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_flags_and_rejects_bad_ones() {
        let c = EchoConfig::from_args(&args(&["--port", "7000", "--id", "rs1"])).unwrap();
        assert_eq!(
            (c.port, c.id.as_str(), c.tcp, c.udp),
            (7000, "rs1", true, true)
        );
        let c =
            EchoConfig::from_args(&args(&["--id", "a", "--port", "1", "--mode", "udp"])).unwrap();
        assert!(!c.tcp && c.udp);
        for (bad, why) in [
            (&["--id", "a"][..], "--port is required"),
            (&["--port", "1"][..], "--id is required"),
            (&["--port", "x", "--id", "a"][..], "bad port"),
            (
                &["--port", "1", "--id", "a", "--mode", "sctp"][..],
                "bad mode",
            ),
            (&["--port", "1", "--id"][..], "needs a value"),
            (&["--port", "1", "--id", "a b"][..], "one non-empty word"),
            (&["--verbose"][..], "unknown argument"),
        ] {
            let err = EchoConfig::from_args(&args(bad)).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn answers_tcp_and_udp_on_loopback() {
        // Pick a port free for both protocols by binding TCP first on port 0.
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let config = EchoConfig {
            id: "unit".into(),
            bind: Ipv4Addr::LOCALHOST.into(),
            port,
            tcp: true,
            udp: true,
        };
        std::thread::spawn(move || serve(&config));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let answer = loop {
            match tcp_request(addr, "hello there", Duration::from_secs(1)) {
                Ok(answer) => break answer,
                Err(e) if std::time::Instant::now() > deadline => panic!("{e:#}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        assert_eq!(answer, "unit hello there");
        let udp = udp_request(addr, "ping", Duration::from_secs(2)).unwrap();
        assert_eq!(udp, "unit ping");
    }
}
