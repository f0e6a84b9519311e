//! Malformed frames get a clean error or a close, and the server stays up.

mod common;
use common::{four_letter, kazoo, Coord, Zookeeper};
use coord::client::Client;
use coord::proto::{op, Acl};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends raw bytes on a fresh connection and reports whether the server
/// closed it (rather than leaving it hanging).
fn closes_after(port: u16, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn connect_frame() -> Vec<u8> {
    coord::proto::ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 4000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    }
    .encode()
}

fn after_connect(rest: &[u8]) -> Vec<u8> {
    let mut v = connect_frame();
    v.extend_from_slice(rest);
    v
}

#[test]
fn bad_frames_close_the_connection_and_the_server_stays_up() {
    let server = Coord::start("");
    let port = server.port;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("negative length", (-5i32).to_be_bytes().to_vec()),
        ("huge length", (0x7fff_ff00i32).to_be_bytes().to_vec()),
        ("length past jute.maxbuffer", (2_000_000i32).to_be_bytes().to_vec()),
        ("garbage connect request", [&3i32.to_be_bytes()[..], b"xyz"].concat()),
        (
            "connect with a lying buffer length",
            [&28i32.to_be_bytes()[..], &[0; 20], &1000i32.to_be_bytes(), &[0; 4]].concat(),
        ),
        ("request shorter than its header", after_connect(&[0, 0, 0, 2, 0, 1])),
        (
            "create with a string length past the frame",
            after_connect(
                &[&12i32.to_be_bytes()[..], &1i32.to_be_bytes(), &1i32.to_be_bytes(), &999i32.to_be_bytes()].concat(),
            ),
        ),
        (
            "unknown opcode",
            after_connect(&[&8i32.to_be_bytes()[..], &1i32.to_be_bytes(), &4242i32.to_be_bytes()].concat()),
        ),
        (
            "ping inside a multi",
            after_connect(
                &[
                    &17i32.to_be_bytes()[..],
                    &1i32.to_be_bytes(),
                    &14i32.to_be_bytes(),
                    &11i32.to_be_bytes(),
                    &[0],
                    &(-1i32).to_be_bytes(),
                ]
                .concat(),
            ),
        ),
    ];
    for (what, bytes) in &cases {
        assert!(closes_after(port, bytes), "{what}: connection not closed");
        assert_eq!(four_letter(port, "ruok"), "imok", "server down after {what}");
    }
    // Random junk, bounded.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..30 {
        let junk: Vec<u8> = (0..64)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = closes_after(port, &junk);
    }
    assert_eq!(four_letter(port, "ruok"), "imok");
    kazoo("crud.py", &[&server.hosts()]);
}

#[test]
fn a_silent_connection_is_dropped_after_the_longest_session_timeout() {
    // tickTime=200: sessions last at most 4 s.
    let server = Coord::start("");
    let started = std::time::Instant::now();
    assert!(closes_after(server.port, b""), "the server hung up");
    assert!(started.elapsed() < Duration::from_secs(5), "closed within the session timeout bound");
}

/// A create whose data exceeds jute.maxbuffer (1 MB) makes ZooKeeper drop
/// the connection; data just under the limit is fine. Both servers agree.
#[test]
fn data_limit_matches_zookeeper() {
    let zk = Zookeeper::start("");
    let ours = Coord::start("");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let probe = |addr: String| {
        rt.block_on(async move {
            let mut c = Client::connect(&addr, 10_000).await.unwrap();
            let ok = c.create("/big", &vec![7u8; 1_000_000], 0).await.unwrap();
            let (data, stat) = c.get_data("/big", false).await.unwrap().unwrap();
            let over = c
                .call(op::CREATE, |w| {
                    w.string("/huge").buffer(&vec![1u8; 1 << 20]);
                    Acl::write_all(w, &Acl::open_unsafe());
                    w.int(0);
                })
                .await;
            (ok, data.len(), stat.data_length, over.is_err())
        })
    };
    let theirs = probe(zk.hosts());
    let mine = probe(ours.hosts());
    assert_eq!(theirs, mine);
    assert_eq!(mine, (Ok("/big".to_string()), 1_000_000, 1_000_000, true));
    assert_eq!(four_letter(ours.port, "ruok"), "imok");
}

/// A client that pipelines requests without reading the replies is no
/// longer read from once 1000 are outstanding; nothing is lost, and other
/// clients are served meanwhile.
#[test]
fn a_client_that_does_not_read_is_throttled_not_dropped() {
    let server = Coord::start("");
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(&connect_frame()).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    const N: i32 = 20_000;
    let mut requests = Vec::new();
    for xid in 1..=N {
        let path = b"/zookeeper";
        requests.extend_from_slice(&(8 + 4 + path.len() as i32 + 1).to_be_bytes());
        requests.extend_from_slice(&xid.to_be_bytes());
        requests.extend_from_slice(&op::EXISTS.to_be_bytes());
        requests.extend_from_slice(&(path.len() as i32).to_be_bytes());
        requests.extend_from_slice(path);
        requests.push(0);
    }
    let mut w = s.try_clone().unwrap();
    let pusher = std::thread::spawn(move || w.write_all(&requests).is_ok());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(four_letter(server.port, "ruok"), "imok", "others are served while one client lags");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut expect_xid = 1;
    while expect_xid <= N {
        s.read_exact(&mut len).unwrap();
        let mut frame = vec![0u8; i32::from_be_bytes(len) as usize];
        s.read_exact(&mut frame).unwrap();
        let xid = i32::from_be_bytes(frame[..4].try_into().unwrap());
        assert_eq!(xid, expect_xid, "replies in order, none lost");
        expect_xid += 1;
    }
    assert!(pusher.join().unwrap());
}
