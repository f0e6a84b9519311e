//! Builds real namespace topologies (needs root) and checks reachability, the DR/TUN settings,
//! and that teardown leaves nothing behind, also after a panic.

use std::net::{Ipv4Addr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use testbed::{cleanup_prefix, list_namespaces_with_prefix, Node, Role, Spec, Topology, VIP};

const ECHO: &str = env!("CARGO_BIN_EXE_tb-echo");
const ECHO_PORT: u16 = 7000;
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts tb-echo in `node` with its role name as id, and waits until it listens.
fn start_echo(node: &Node) -> testbed::Spawned {
    let port = ECHO_PORT.to_string();
    let server = node
        .spawn(&[ECHO, "--port", &port, "--id", node.name()])
        .expect("spawn tb-echo");
    let addr = SocketAddr::from((node.role().unwrap().ip(), ECHO_PORT));
    if let Err(e) = node.wait_for_tcp(addr, START_TIMEOUT) {
        panic!(
            "tb-echo in {}: {e:#}\n{}",
            node.name(),
            server.output().unwrap_or_default()
        );
    }
    server
}

/// One ping with `payload` bytes (28 bytes of headers on top) and DF set.
fn ping_dont_fragment(node: &Node, payload: u32, to: Ipv4Addr) -> bool {
    let (payload, to) = (payload.to_string(), to.to_string());
    node.run(&[
        "ping", "-c", "1", "-W", "1", "-M", "do", "-s", &payload, &to,
    ])
    .is_ok()
}

fn echo_addr(role: Role) -> SocketAddr {
    (role.ip(), ECHO_PORT).into()
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn own_namespaces(prefix: &str) -> Vec<String> {
    list_namespaces_with_prefix(&format!("{prefix}-")).unwrap()
}

#[test]
fn full_topology_is_reachable_and_torn_down() {
    let started = std::time::Instant::now();
    let topo = Topology::build(&Spec::full()).expect("build");
    eprintln!("full topology built in {:?}", started.elapsed());
    let prefix = topo.prefix().to_string();
    assert_eq!(own_namespaces(&prefix).len(), 11, "sw + 10 nodes");

    let client = topo.node(Role::Client);
    let rs5 = topo.node(Role::Rs5);

    // Pings: same LAN, through the router to the TUN net, and from the NAT net through lb1.
    assert!(client.ping_retry(Role::Rs1.ip(), 3), "client -> rs1");
    assert!(
        client.ping_retry(Role::Rs3.ip(), 3),
        "client -> rs3 via router"
    );
    assert!(
        rs5.ping_retry(Role::Client.ip(), 3),
        "rs5 -> client via lb1"
    );
    // Nothing routes 198.18.9.0/24, and the failure is bounded.
    assert!(!client.ping(Ipv4Addr::new(198, 18, 9, 9)));

    // Room for TUN's 20-byte outer header between the directors and the TUN real servers:
    // a 1580-byte packet with DF set goes from lb1 through the router to rs3 ...
    assert!(ping_dont_fragment(
        topo.node(Role::Lb1),
        1552,
        Role::Rs3.ip()
    ));
    // ... while the client is a normal 1500-byte Ethernet host.
    assert!(!ping_dont_fragment(client, 1473, Role::Rs1.ip()));
    assert_eq!(client.link("eth0").unwrap().mtu, testbed::CLIENT_MTU);

    let servers: Vec<_> = [Role::Rs1, Role::Rs3, Role::Client]
        .into_iter()
        .map(|r| start_echo(topo.node(r)))
        .collect();
    assert_eq!(
        client.tcp_echo(echo_addr(Role::Rs1), "hi").unwrap(),
        "rs1 hi"
    );
    assert_eq!(
        client.tcp_echo(echo_addr(Role::Rs3), "via router").unwrap(),
        "rs3 via router"
    );
    assert_eq!(
        rs5.tcp_echo(echo_addr(Role::Client), "via lb1").unwrap(),
        "client via lb1"
    );
    assert_eq!(
        client.udp_echo(echo_addr(Role::Rs3), "dgram").unwrap(),
        "rs3 dgram"
    );
    // A port nobody listens on is refused quickly, not hung.
    assert!(client.tcp_echo((Role::Rs1.ip(), 7001).into(), "x").is_err());

    let pids: Vec<u32> = servers.iter().map(|s| s.pid()).collect();
    assert!(pids.iter().all(|&p| process_exists(p)));
    topo.teardown().expect("teardown");
    for pid in pids {
        assert!(!process_exists(pid), "tb-echo {pid} survived teardown");
    }
    assert_eq!(own_namespaces(&prefix), Vec::<String>::new());
}

#[test]
fn nodes_carry_the_design_settings() {
    let topo = Topology::build(&Spec::with(&[Role::Client, Role::Rs1, Role::Rs3])).unwrap();
    // The spec pulled in rs3's gateway.
    assert!(topo.get(Role::Router).is_some());
    assert!(topo.get(Role::Lb1).is_none());

    let rs1 = topo.node(Role::Rs1);
    let eth0 = rs1.link("eth0").unwrap();
    assert_eq!(eth0.mac, Role::Rs1.legs()[0].mac());
    assert!(eth0.up);
    assert_eq!(rs1.ifindex("eth0").unwrap(), eth0.ifindex);
    assert_eq!(rs1.ipv4_addrs("eth0").unwrap(), vec![Role::Rs1.ip()]);
    assert!(rs1.ipv4_addrs("lo").unwrap().contains(&VIP));
    for key in ["all", "eth0"] {
        assert_eq!(
            rs1.sysctl(&format!("net.ipv4.conf.{key}.arp_ignore"))
                .unwrap(),
            "1"
        );
        assert_eq!(
            rs1.sysctl(&format!("net.ipv4.conf.{key}.arp_announce"))
                .unwrap(),
            "2"
        );
    }
    // IPv6 is off on the links (no solicitations in the way of XDP tests) but lo keeps ::1.
    assert_eq!(
        rs1.run(&["ip", "-6", "-o", "addr", "show", "dev", "eth0"])
            .unwrap(),
        ""
    );
    assert!(rs1
        .run(&["ip", "-6", "-o", "addr", "show", "dev", "lo"])
        .unwrap()
        .contains("::1/128"));
    // The same read through a separate process (sysctl in the namespace via nsenter).
    let forward = topo
        .node(Role::Router)
        .run(&["sysctl", "-n", "net.ipv4.ip_forward"])
        .unwrap();
    assert_eq!(forward.trim(), "1");
    assert_eq!(
        topo.node(Role::Client)
            .sysctl("net.ipv4.ip_forward")
            .unwrap(),
        "0"
    );
    assert!(!topo
        .node(Role::Client)
        .ipv4_addrs("lo")
        .unwrap()
        .contains(&VIP));
    // Nobody answers ARP for the VIP: the real servers hold it on lo with arp_ignore=1, and
    // no director holds it yet (lbd's VRRP master will).
    assert!(topo.node(Role::Client).ping_retry(Role::Rs1.ip(), 3));
    assert!(!topo.node(Role::Client).ping(VIP));

    // TX checksum offload is off on both veth ends.
    let port = topo.switch_port(Role::Rs1, "eth0").unwrap();
    assert_eq!(port.iface, "rs1-eth0");
    assert_eq!(port.bridge, "br0");
    let sw_side = topo.switch().run(&["ethtool", "-k", &port.iface]).unwrap();
    let node_side = rs1.run(&["ethtool", "-k", "eth0"]).unwrap();
    for features in [sw_side, node_side] {
        assert!(features.contains("tx-checksumming: off"), "{features}");
    }
    // The switch ports are exactly the legs of the nodes built.
    let mut ports: Vec<String> = topo.switch_ports().into_iter().map(|p| p.iface).collect();
    ports.sort();
    assert_eq!(
        ports,
        [
            "client-eth0",
            "router-eth0",
            "router-eth1",
            "rs1-eth0",
            "rs3-eth0"
        ]
    );
    let mut sw_ifaces = topo.switch().interfaces().unwrap();
    sw_ifaces.sort();
    assert_eq!(
        sw_ifaces,
        [
            "br0",
            "br1",
            "client-eth0",
            "lo",
            "router-eth0",
            "router-eth1",
            "rs1-eth0",
            "rs3-eth0"
        ]
    );
    assert!(topo.switch_port(Role::Rs1, "eth1").is_err());
    assert!(topo.switch_port(Role::Rs5, "eth0").is_err());

    // Commands: stdout on success, stderr in the error otherwise.
    let err = rs1.run(&["ip", "link", "show", "nosuchdev"]).unwrap_err();
    assert!(format!("{err:#}").contains("nosuchdev"), "{err:#}");
    assert!(rs1.run(&[]).is_err());
    assert!(rs1.mac("nosuchdev").is_err());
}

/// The DR and TUN reply paths: a real server answers from the VIP straight to the client. For
/// rs3 that reply crosses the router, whose route back to the VIP points to the LAN, so it only
/// arrives with reverse-path filtering off.
#[test]
fn replies_from_the_vip_reach_the_client() {
    let topo = Topology::build(&Spec::with(&[Role::Client, Role::Rs1, Role::Rs3])).unwrap();
    let client = topo.node(Role::Client);
    let inbox = client
        .in_netns(|| std::net::UdpSocket::bind((Role::Client.ip(), 0)))
        .unwrap()
        .unwrap();
    inbox
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let inbox_addr = inbox.local_addr().unwrap();
    for role in [Role::Rs1, Role::Rs3] {
        // Prime ARP with a ping (lb1 would normally have triggered it), then send from the VIP.
        assert!(
            topo.node(role).ping_retry(Role::Client.ip(), 3),
            "{role} -> client"
        );
        topo.node(role)
            .in_netns(|| -> std::io::Result<()> {
                let socket = std::net::UdpSocket::bind((VIP, 0))?;
                socket.send_to(role.name().as_bytes(), inbox_addr)?;
                Ok(())
            })
            .unwrap()
            .unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = inbox
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("from {role}: {e}"));
        assert_eq!(&buf[..n], role.name().as_bytes());
        assert_eq!(
            from.ip(),
            std::net::IpAddr::V4(VIP),
            "reply source seen by the client"
        );
    }
}

/// DR without a director: a host route on the client sends VIP traffic to rs1's MAC, which is
/// what the balancer's DR mode does. rs1 accepts it (VIP on lo) and tb-echo, bound to 0.0.0.0,
/// answers from the VIP over TCP and UDP, so the client's sockets accept the answers.
#[test]
fn a_dr_real_server_answers_for_the_vip() {
    let topo = Topology::build(&Spec::with(&[Role::Client, Role::Rs1])).unwrap();
    let client = topo.node(Role::Client);
    let vip_route = format!("{VIP}/32");
    let rs1_ip = Role::Rs1.ip().to_string();
    client
        .run(&["ip", "route", "add", &vip_route, "via", &rs1_ip])
        .unwrap();
    let server = start_echo(topo.node(Role::Rs1));
    let vip = SocketAddr::from((VIP, ECHO_PORT));
    assert_eq!(
        client.tcp_echo(vip, "tcp to vip").unwrap(),
        "rs1 tcp to vip"
    );
    assert_eq!(
        client.udp_echo(vip, "udp to vip").unwrap(),
        "rs1 udp to vip"
    );
    // Requests to rs1's own address are answered from it as before.
    assert_eq!(
        client.udp_echo(echo_addr(Role::Rs1), "direct").unwrap(),
        "rs1 direct"
    );

    // One spawned process can be stopped before teardown; its output stays readable.
    let started = Duration::from_secs(1);
    server
        .wait_for_output("tb-echo rs1 listening on 0.0.0.0:7000", started)
        .unwrap();
    let err = server
        .wait_for_output("never printed", Duration::from_millis(200))
        .unwrap_err();
    assert!(format!("{err:#}").contains("did not print"), "{err:#}");
    assert!(server.is_running());
    assert!(server.stop());
    assert!(!server.is_running() && !process_exists(server.pid()));
    assert!(!server.stop(), "already stopped");
    let err = server
        .wait_for_output("never printed", started)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("exited without printing"),
        "{err:#}"
    );
    assert!(client.tcp_echo(vip, "anyone?").is_err());
}

/// Kernel IP-in-IP on TUN real servers: usable where the kernel has ipip, a clear error where
/// it has not (CONFIG_NET_IPIP is off on our machines, DESIGN.md §3).
#[test]
fn kernel_ipip_is_enabled_or_clearly_missing() {
    let topo = Topology::build(&Spec::with(&[Role::Rs3])).unwrap();
    let rs3 = topo.node(Role::Rs3);
    match rs3.enable_kernel_ipip() {
        Ok(()) => {
            assert!(rs3.link("tunl0").unwrap().up);
            assert_eq!(rs3.sysctl("net.ipv4.conf.tunl0.rp_filter").unwrap(), "0");
        }
        Err(e) => {
            let message = format!("{e:#}");
            assert!(message.contains("no ipip tunnel support"), "{message}");
            assert!(rs3.link("tunl0").is_err());
        }
    }
}

#[test]
fn in_netns_runs_code_inside_the_namespace() {
    let topo = Topology::build(&Spec::with(&[Role::Rs1])).unwrap();
    let rs1 = topo.node(Role::Rs1);
    let rs1_addr = SocketAddr::from((Role::Rs1.ip(), 0));
    // 198.18.0.21 exists only in rs1's namespace: binding it works there and nowhere else.
    let listener = rs1
        .in_netns(|| std::net::TcpListener::bind(rs1_addr))
        .unwrap()
        .expect("bind inside rs1");
    assert!(std::net::TcpListener::bind(rs1_addr).is_err());
    // The socket stays in rs1 after the closure: a connection from rs1 reaches it.
    let port = listener.local_addr().unwrap().port();
    rs1.wait_for_tcp((Role::Rs1.ip(), port).into(), START_TIMEOUT)
        .unwrap();
    // Panics inside the closure reach the caller.
    let caught = catch_unwind(AssertUnwindSafe(|| rs1.in_netns(|| panic!("inside"))));
    assert!(caught.is_err());
    assert!(testbed::in_netns("lbt-no-such-namespace", || ()).is_err());
}

#[test]
fn a_panicking_test_still_cleans_up() {
    let seen: Mutex<Option<(String, u32)>> = Mutex::new(None);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let topo = Topology::build(&Spec::with(&[Role::Client, Role::Rs1])).unwrap();
        let server = start_echo(topo.node(Role::Rs1));
        *seen.lock().unwrap() = Some((topo.prefix().to_string(), server.pid()));
        panic!("test failure inside a topology");
    }));
    assert!(result.is_err());
    let (prefix, pid) = seen
        .lock()
        .unwrap()
        .clone()
        .expect("the topology was built");
    assert!(!process_exists(pid), "tb-echo survived the panic");
    assert_eq!(own_namespaces(&prefix), Vec::<String>::new());
    // Logs are kept after a panic, for the post-mortem; remove them here.
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("testbed-{prefix}")));
}

#[test]
fn kept_topologies_are_removed_later() {
    let topo = Topology::build(&Spec::with(&[Role::Client])).unwrap();
    let prefix = topo.prefix().to_string();
    // A process started outside the node's spawn table keeps its namespace busy.
    let mut stray = topo
        .node(Role::Client)
        .command("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    assert_eq!(topo.keep(), prefix);
    assert_eq!(own_namespaces(&prefix).len(), 2);

    // Reopening finds the nodes; a second build under the same prefix is refused.
    let reopened = Topology::open(&prefix).unwrap();
    assert_eq!(reopened.spec(), &Spec::with(&[Role::Client]));
    assert!(reopened.node_by_name("sw").is_ok());
    assert!(reopened.node_by_name("rs1").is_err());
    assert!(reopened.node(Role::Client).ping(Role::Client.ip()));
    let log_dir = reopened.log_dir().to_path_buf();
    drop(reopened);
    assert!(log_dir.exists(), "open() does not own the logs");
    assert_eq!(
        own_namespaces(&prefix).len(),
        2,
        "open() does not own the namespaces"
    );
    let err = Topology::build_with_prefix(&Spec::with(&[Role::Client]), &prefix).unwrap_err();
    assert!(err.to_string().contains("already exist"), "{err}");

    let removed = Topology::remove(&prefix).unwrap();
    assert_eq!(
        removed,
        [format!("{prefix}-client"), format!("{prefix}-sw")]
    );
    assert_eq!(own_namespaces(&prefix), Vec::<String>::new());
    let status = stray.wait().unwrap();
    assert!(!status.success(), "the stray sleep was killed");
    assert!(Topology::open(&prefix).is_err());
    assert!(!log_dir.exists(), "remove() deletes the logs");
}

#[test]
fn cleanup_prefix_removes_every_run_under_a_stem() {
    let stem = testbed::netns::random_prefix().unwrap();
    let spec = Spec::with(&[Role::Rs5]); // rs5 pulls in lb1
    let runs: Vec<String> = ["a", "b"]
        .iter()
        .map(|suffix| {
            Topology::build_with_prefix(&spec, &format!("{stem}{suffix}"))
                .unwrap()
                .keep()
        })
        .collect();
    assert_eq!(list_namespaces_with_prefix(&stem).unwrap().len(), 6);
    let removed = cleanup_prefix(&stem).unwrap();
    assert_eq!(removed.len(), 6);
    assert!(removed.contains(&format!("{}-lb1", runs[1])));
    assert_eq!(
        list_namespaces_with_prefix(&stem).unwrap(),
        Vec::<String>::new()
    );
    for run in runs {
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("testbed-{run}")));
    }
}

/// The tb-echo binary itself, on loopback: port 0 is reported, bad flags are refused.
#[test]
fn tb_echo_binary_reports_its_port_and_rejects_bad_flags() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = KillOnDrop(
        Command::new(ECHO)
            .args(["--port", "0", "--id", "lo", "--bind", "127.0.0.1"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut first_line = String::new();
    std::io::BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let addr: SocketAddr = first_line
        .split_whitespace()
        .nth(4)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first_line:?}"));
    assert_ne!(addr.port(), 0);
    let timeout = Duration::from_secs(2);
    assert_eq!(
        testbed::echo::tcp_request(addr, "a b", timeout).unwrap(),
        "lo a b"
    );
    assert_eq!(
        testbed::echo::udp_request(addr, "c", timeout).unwrap(),
        "lo c"
    );

    let bad = Command::new(ECHO)
        .args(["--port", "99999", "--id", "x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("bad port \"99999\"") && stderr.contains("usage:"),
        "{stderr}"
    );
}

#[test]
fn bad_names_are_rejected() {
    for bad in ["", "../etc", "has space", "UPPER"] {
        assert!(cleanup_prefix(bad).is_err(), "{bad:?}");
        assert!(
            Topology::build_with_prefix(&Spec::dr(), bad).is_err(),
            "{bad:?}"
        );
    }
}
