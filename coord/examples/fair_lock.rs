//! The notes' fair lock, with the zookeeper-client crate: each waiter
//! creates an EPHEMERAL_SEQUENTIAL node, sorts the children, and watches
//! only its predecessor; if the predecessor is already gone when it looks,
//! it lists the children again instead of waiting.
//!
//! `cargo run -p coord --example fair_lock -- [--server HOST:PORT] [--workers 5] [--rounds 3]`
//!
//! Every worker has its own session. The example fails if two workers ever
//! hold the lock at once, and prints the order in which they got it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zookeeper_client as zk;

const LOCK_DIR: &str = "/locks";
const LOCK: &str = "/locks/fair";

struct Args {
    server: String,
    workers: usize,
    rounds: usize,
}

fn parse_args() -> Args {
    let mut a = Args { server: "127.0.0.1:2181".into(), workers: 5, rounds: 3 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => a.server = value,
            "--workers" => a.workers = value.parse().expect("--workers N"),
            "--rounds" => a.rounds = value.parse().expect("--rounds N"),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

async fn ensure(client: &zk::Client, path: &str) {
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    match client.create(path, b"", &options).await {
        Ok(_) | Err(zk::Error::NodeExists) => {}
        Err(e) => panic!("create {path}: {e}"),
    }
}

/// Takes the lock; returns the path of our node, to delete on release.
async fn acquire(client: &zk::Client) -> Result<String, zk::Error> {
    let options = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let (_, sequence) = client.create(&format!("{LOCK}/lock-"), b"", &options).await?;
    let mine = format!("lock-{sequence}");
    loop {
        let mut children = client.list_children(LOCK).await?;
        children.sort();
        let position = children.iter().position(|c| *c == mine).expect("our node is listed");
        if position == 0 {
            return Ok(format!("{LOCK}/{mine}"));
        }
        // Watch only the node just before ours, so a release wakes one waiter.
        let predecessor = format!("{LOCK}/{}", children[position - 1]);
        let (stat, watcher) = client.check_and_watch_stat(&predecessor).await?;
        if stat.is_none() {
            // Already gone between the listing and the watch: look again.
            continue;
        }
        watcher.changed().await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let setup = zk::Client::connect(&args.server).await.expect("connect");
    ensure(&setup, LOCK_DIR).await;
    ensure(&setup, LOCK).await;
    let holders = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for worker in 0..args.workers {
        let (server, holders, order, rounds) = (args.server.clone(), holders.clone(), order.clone(), args.rounds);
        tasks.push(tokio::spawn(async move {
            let client = zk::Client::connect(&server).await.expect("connect");
            for _ in 0..rounds {
                let node = acquire(&client).await.expect("acquire");
                let inside = holders.fetch_add(1, Ordering::SeqCst) + 1;
                assert_eq!(inside, 1, "two holders of the lock at once");
                order.lock().unwrap().push(worker);
                tokio::time::sleep(Duration::from_millis(10)).await;
                holders.fetch_sub(1, Ordering::SeqCst);
                client.delete(&node, None).await.expect("release");
            }
        }));
    }
    for t in tasks {
        t.await.expect("a worker failed");
    }
    let order = order.lock().unwrap();
    println!("lock order: {order:?}");
    println!("fair_lock: {} acquisitions by {} workers, never two at once", order.len(), args.workers);
}
