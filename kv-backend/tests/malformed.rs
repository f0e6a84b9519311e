//! Random and truncated RESP input: the server answers with an error or
//! closes the connection, and keeps serving everyone else.

mod common;
use common::*;
use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Sends bytes, half-closes, and returns whatever the server replied.
fn poke(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let _ = std::io::Write::write_all(&mut s, bytes);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn protocol_errors_are_reported_and_connection_closed() {
    let kv = kv_server(&[]);
    let cases: [(&[u8], &str); 5] = [
        (
            b"*abc\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n+PING\r\n",
            "-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$999999999999\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"set k \"unbalanced\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for (input, want) in cases {
        let got = poke(kv.port, input);
        assert_eq!(
            String::from_utf8_lossy(&got),
            want,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A NUL byte ends an inline line (Redis parses it as a C string); this
    // once made the inline splitter loop forever.
    let got = poke(kv.port, b"a\0b c\r\n\0\0\r\nPING\r\n");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR unknown command 'a', with args beginning with: \r\n+PONG\r\n"
    );
    // Valid commands before the bad frame still get their replies.
    let got = poke(kv.port, b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"
    );
}

#[test]
fn random_and_truncated_frames_never_take_the_server_down() {
    let kv = kv_server(&[]);
    let good = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    let mut seed = 0x2545F4914F6CDD1D_u64;
    for round in 0..300 {
        let input: Vec<u8> = match round % 3 {
            // Truncated valid frame.
            0 => good[..(xorshift(&mut seed) as usize % good.len())].to_vec(),
            // Valid frame with one byte changed.
            1 => {
                let mut g = good.to_vec();
                let i = xorshift(&mut seed) as usize % g.len();
                g[i] = xorshift(&mut seed) as u8;
                g
            }
            // Pure noise, sometimes starting like a multibulk.
            _ => {
                let n = 1 + xorshift(&mut seed) as usize % 64;
                let mut v: Vec<u8> = (0..n).map(|_| xorshift(&mut seed) as u8).collect();
                if round % 2 == 0 {
                    v[0] = b'*';
                }
                v
            }
        };
        let reply = poke(kv.port, &input);
        if !reply.is_empty() {
            assert!(
                matches!(reply[0], b'+' | b'-' | b':' | b'$' | b'*'),
                "round {round}: odd reply {:?}",
                String::from_utf8_lossy(&reply)
            );
        }
    }
    let mut c = Client::connect(kv.port);
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(c.cmd(&["SET", "still", "alive"]), Resp::Simple("OK".into()));
}

#[test]
fn oversized_input_hits_the_limits() {
    let kv = kv_server(&[
        "--proto-max-bulk-len",
        "1mb",
        "--client-query-buffer-limit",
        "1mb",
    ]);
    let got = poke(kv.port, b"*2\r\n$3\r\nGET\r\n$2000000\r\n");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    let got = poke(kv.port, &vec![b'x'; 70_000]);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: too big inline request\r\n"
    );
    let mut c = Client::connect(kv.port);
    assert_eq!(
        c.cmd(&["SETRANGE", "k", "1048576", "x"]),
        Resp::Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)".into())
    );
    // A query buffer over client-query-buffer-limit closes the connection,
    // even while a (legal) big argument is still arriving.
    let kv = kv_server(&["--client-query-buffer-limit", "1mb"]);
    let mut s = TcpStream::connect(("127.0.0.1", kv.port)).expect("connect");
    let _ = std::io::Write::write_all(&mut s, b"*2\r\n$3\r\nGET\r\n$3000000\r\n");
    let chunk = vec![b'a'; 64 * 1024];
    let mut closed = false;
    for _ in 0..64 {
        if std::io::Write::write_all(&mut s, &chunk).is_err() {
            closed = true;
            break;
        }
    }
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    if !closed {
        closed = matches!(s.read(&mut buf), Ok(0) | Err(_));
    }
    assert!(closed, "connection over the query buffer limit stayed open");
    assert_eq!(
        Client::connect(kv.port).cmd(&["PING"]),
        Resp::Simple("PONG".into())
    );
}

#[test]
fn unauthenticated_clients_get_smaller_limits() {
    let kv = kv_server(&["--requirepass", "secret"]);
    let got = poke(kv.port, b"*20\r\n");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
}
