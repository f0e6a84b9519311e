//! The notes' watched configuration, with the zookeeper-client crate:
//! `exists` with a watch; if the node is there, `getData` with a watch; on
//! NodeCreated or NodeDataChanged read it again (re-arming the watch), on
//! NodeDeleted go back to `exists`.
//!
//! `cargo run -p coord --example config_watch -- [--server HOST:PORT] [--path /config] [--watch-only]`
//!
//! Without `--watch-only` a second session plays the operator: it creates
//! the node, changes it twice and deletes it, and the example exits once the
//! watcher has seen all of that.

use std::time::Duration;
use zookeeper_client as zk;

struct Args {
    server: String,
    path: String,
    watch_only: bool,
}

fn parse_args() -> Args {
    let mut a = Args { server: "127.0.0.1:2181".into(), path: "/config".into(), watch_only: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--server" => a.server = it.next().expect("--server needs HOST:PORT"),
            "--path" => a.path = it.next().expect("--path needs a znode path"),
            "--watch-only" => a.watch_only = true,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// What the watcher learns about the configuration node.
#[derive(Debug, PartialEq)]
enum Seen {
    Value(String),
    Absent,
}

/// Follows the node forever, sending each state it sees.
async fn watch_config(
    client: zk::Client,
    path: String,
    seen: tokio::sync::mpsc::UnboundedSender<Seen>,
) -> Result<(), zk::Error> {
    loop {
        // exists + watch: fires NodeCreated if the node is missing.
        let (stat, watcher) = client.check_and_watch_stat(&path).await?;
        let watcher = match stat {
            None => {
                let _ = seen.send(Seen::Absent);
                watcher
            }
            Some(_) => match client.get_and_watch_data(&path).await {
                Ok((data, _, data_watcher)) => {
                    let _ = seen.send(Seen::Value(String::from_utf8_lossy(&data).into_owned()));
                    data_watcher
                }
                // Deleted between the two calls: start over.
                Err(zk::Error::NoNode) => continue,
                Err(e) => return Err(e),
            },
        };
        let event = watcher.changed().await;
        match event.event_type {
            zk::EventType::NodeCreated | zk::EventType::NodeDataChanged | zk::EventType::NodeDeleted => {}
            zk::EventType::Session => return Err(zk::Error::SessionExpired),
            other => println!("ignoring {other:?}"),
        }
    }
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Seen>) -> Seen {
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    got.expect("the watcher saw nothing for 10 s").expect("watcher stopped")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args();
    let watcher_client = zk::Client::connect(&args.server).await.expect("connect");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watching = tokio::spawn(watch_config(watcher_client, args.path.clone(), tx));
    if args.watch_only {
        while let Some(s) = rx.recv().await {
            println!("{s:?}");
        }
        watching.await.expect("watcher task").expect("watch");
        return;
    }
    let operator = zk::Client::connect(&args.server).await.expect("connect");
    let first = next(&mut rx).await;
    println!("watcher: {first:?}");
    assert_eq!(first, Seen::Absent, "start without {}", args.path);
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    operator.create(&args.path, b"v1", &options).await.expect("create");
    for (change, want) in [(None, "v1"), (Some("v2"), "v2"), (Some("v3"), "v3")] {
        if let Some(value) = change {
            operator.set_data(&args.path, value.as_bytes(), None).await.expect("set");
        }
        let got = next(&mut rx).await;
        println!("watcher: {got:?}");
        assert_eq!(got, Seen::Value(want.into()));
    }
    operator.delete(&args.path, None).await.expect("delete");
    let got = next(&mut rx).await;
    println!("watcher: {got:?}");
    assert_eq!(got, Seen::Absent);
    println!("config_watch: saw create, two changes and delete");
}
