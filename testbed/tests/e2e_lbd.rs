//! lbd in namespaces: VRRPv3 interop with keepalived 2.2.7 both ways,
//! failover times with preempt and nopreempt, no split brain after a
//! SIGKILL, and health checks driving the XDP balancer's real servers.
//!
//! lbd is the binary cargo built next to this test (`cargo xtask test`
//! builds the workspace's binaries first); LBD_BIN overrides it.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use testbed::{Node, Role, Spawned, Spec, Topology, VIP};

const VRID: u8 = 51;
const ECHO: &str = env!("CARGO_BIN_EXE_tb-echo");
const ECHO_PORT: u16 = 7000;

fn lbd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("LBD_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = profile_dir.join("lbd");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p lb-ctl --bins, same profile) or set LBD_BIN",
        bin.display()
    );
    bin
}

fn topology() -> Topology {
    Topology::build(&Spec::with(&[Role::Client, Role::Lb1, Role::Lb2])).expect("build the topology")
}

fn has_vip(node: &Node) -> bool {
    node.ipv4_addrs("eth0").unwrap().contains(&VIP)
}

/// Polls `cond` every 10 ms for at most `limit`; how long it took.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn vrrp_yaml(priority: u8, advert_int: &str, extra: &str) -> String {
    format!(
        "vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: {VRID}\n    priority: {priority}\n    advert_int: {advert_int}\n    virtual_ipaddress: [\"{VIP}/24\"]\n{extra}"
    )
}

fn write_file(topo: &Topology, name: &str, text: &str) -> PathBuf {
    let path = topo.log_dir().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn lbd_config_path(topo: &Topology, role: Role) -> PathBuf {
    topo.log_dir()
        .join(format!("{}-lbd.yaml", topo.node(role).name()))
}

fn start_lbd(topo: &Topology, role: Role, yaml: &str) -> Spawned {
    start_lbd_with(topo, role, yaml, &[])
}

fn start_lbd_with(topo: &Topology, role: Role, yaml: &str, extra: &[&str]) -> Spawned {
    let node = topo.node(role);
    let config = lbd_config_path(topo, role);
    std::fs::write(&config, yaml).unwrap();
    let bin = lbd_bin();
    let mut args = vec![
        bin.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--log-level",
        "debug",
    ];
    args.extend_from_slice(extra);
    let lbd = node.spawn(&args).expect("start lbd");
    lbd.wait_for_output("entering BACKUP", Duration::from_secs(10))
        .or_else(|_| lbd.wait_for_output("entering MASTER", Duration::from_secs(1)))
        .expect("lbd starts its VRRP instance");
    lbd
}

fn start_keepalived(topo: &Topology, role: Role, priority: u8, advert_int: &str) -> Spawned {
    let node = topo.node(role);
    let name = node.name().to_string();
    let conf = format!(
        "global_defs {{\n  router_id {name}\n  vrrp_version 3\n}}\nvrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {VRID}\n  priority {priority}\n  advert_int {advert_int}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    );
    let dir = topo.log_dir();
    let conf_path = write_file(topo, &format!("{name}-keepalived.conf"), &conf);
    let pid = |what: &str| {
        dir.join(format!("{name}-{what}.pid"))
            .to_string_lossy()
            .into_owned()
    };
    let ka = node
        .spawn(&[
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            conf_path.to_str().unwrap(),
            "-p",
            &pid("keepalived"),
            "-r",
            &pid("vrrp"),
            "-c",
            &pid("checkers"),
        ])
        .expect("start keepalived");
    ka.wait_for_output("Entering BACKUP STATE", Duration::from_secs(10))
        .expect("keepalived starts in BACKUP");
    ka
}

fn sigkill(p: &Spawned) {
    // SAFETY: kill(2) on a child we started.
    unsafe { libc::kill(p.pid() as i32, libc::SIGKILL) };
}

#[test]
fn keepalived_is_a_backup_of_lbd() {
    let topo = topology();
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    let lbd = start_lbd(&topo, Role::Lb1, &vrrp_yaml(150, "0.1", ""));
    let ka = start_keepalived(&topo, Role::Lb2, 100, "0.1");
    wait_until(Duration::from_secs(3), || has_vip(lb1)).expect("lbd becomes MASTER");
    // If keepalived rejected our adverts it would be MASTER within 0.4 s.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !has_vip(lb2),
        "keepalived took the VIP: {}",
        ka.output().unwrap()
    );
    assert!(!ka.output().unwrap().contains("Entering MASTER STATE"));
    // lbd resigns (priority 0): keepalived takes over after its skew.
    assert!(lbd.stop());
    let took = wait_until(Duration::from_secs(2), || has_vip(lb2)).expect("keepalived takes over");
    assert!(!has_vip(lb1), "lbd removed its VIP on shutdown");
    eprintln!("keepalived took over {took:?} after lbd resigned");
}

#[test]
fn lbd_is_a_backup_of_keepalived() {
    let topo = topology();
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    let ka = start_keepalived(&topo, Role::Lb1, 150, "0.1");
    let lbd = start_lbd(&topo, Role::Lb2, &vrrp_yaml(100, "0.1", ""));
    wait_until(Duration::from_secs(3), || has_vip(lb1)).expect("keepalived becomes MASTER");
    std::thread::sleep(Duration::from_secs(1));
    assert!(!has_vip(lb2), "lbd took the VIP: {}", lbd.output().unwrap());
    let log = lbd.output().unwrap();
    assert!(!log.contains("entering MASTER"), "{log}");
    assert!(
        log.contains("advert from 198.18.0.11 priority 150"),
        "lbd heard keepalived: {log}"
    );
    // keepalived leaves (priority 0): lbd takes over.
    assert!(ka.stop());
    wait_until(Duration::from_secs(2), || has_vip(lb2)).expect("lbd takes over");
    assert!(!has_vip(lb1));
}

/// Kills the master's lbd with SIGKILL and measures the takeover.
fn kill_master_and_time_takeover(topo: &Topology, master: &Spawned) -> Duration {
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    sigkill(master);
    let took = wait_until(Duration::from_secs(3), || has_vip(lb2)).expect("the backup takes over");
    // The watchdog removed the dead master's VIP: one holder only.
    wait_until(Duration::from_secs(1), || !has_vip(lb1)).expect("no split brain: the VIP left lb1");
    assert!(has_vip(lb2));
    took
}

#[test]
fn sigkill_on_the_master_leaves_one_vip_holder() {
    let topo = topology();
    let lb1 = topo.node(Role::Lb1);
    let master = start_lbd(&topo, Role::Lb1, &vrrp_yaml(150, "0.1", ""));
    let _backup = start_lbd(&topo, Role::Lb2, &vrrp_yaml(100, "0.1", ""));
    wait_until(Duration::from_secs(3), || has_vip(lb1)).expect("lb1 becomes MASTER");
    let took = kill_master_and_time_takeover(&topo, &master);
    // 3 × 0.1 s + skew (156/256 × 0.1 s) = 361 ms from the last advert.
    assert!(took < Duration::from_millis(1000), "takeover took {took:?}");
    let log = master.output().unwrap();
    assert!(
        log.contains("lbd watchdog: lbd is gone; removed 198.18.0.100/24 from eth0"),
        "{log}"
    );
    eprintln!("takeover after SIGKILL: {took:?}");
}

#[test]
fn failover_and_preemption_with_preempt_and_nopreempt() {
    let topo = topology();
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    let master = start_lbd(&topo, Role::Lb1, &vrrp_yaml(150, "0.1", ""));
    let _backup = start_lbd(&topo, Role::Lb2, &vrrp_yaml(100, "0.1", ""));
    wait_until(Duration::from_secs(3), || has_vip(lb1)).expect("lb1 becomes MASTER");
    let took = kill_master_and_time_takeover(&topo, &master);
    eprintln!("preempt: takeover {took:?}");

    // lb1 comes back with preempt (the default): it takes the VIP back.
    let back = start_lbd(&topo, Role::Lb1, &vrrp_yaml(150, "0.1", ""));
    wait_until(Duration::from_secs(3), || has_vip(lb1) && !has_vip(lb2)).expect("lb1 preempts");
    let took = kill_master_and_time_takeover(&topo, &back);
    eprintln!("second takeover {took:?}");

    // lb1 comes back with nopreempt: lb2 keeps the VIP.
    let _quiet = start_lbd(
        &topo,
        Role::Lb1,
        &vrrp_yaml(150, "0.1", "    nopreempt: true\n"),
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        has_vip(lb2) && !has_vip(lb1),
        "nopreempt must not take the VIP back"
    );
}

/// Removes the balancer's pins when the test ends.
/// An lbd instance's pinned maps and health file, removed when the test
/// ends (a SIGKILLed lbd cannot remove them itself).
struct Pins(PathBuf, PathBuf);

impl Pins {
    fn of(instance: &str) -> Pins {
        Pins(
            lb_ctl::loader::pin_dir(instance),
            lb_ctl::lbd::health_file::path(instance),
        )
    }
}

impl Drop for Pins {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.1);
    }
}

fn ask_through_vip(client: &Node) -> Option<String> {
    client
        .in_netns(|| -> std::io::Result<String> {
            let addr = SocketAddr::from((VIP, ECHO_PORT));
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"who\n")?;
            let mut line = String::new();
            BufReader::new(s).read_line(&mut line)?;
            Ok(line.split_whitespace().next().unwrap_or("").to_string())
        })
        .ok()?
        .ok()
}

fn weights(pins: &std::path::Path) -> Vec<(Ipv4Addr, u32)> {
    let maps = lb_ctl::Maps::from_pins(pins).expect("lbd's pinned maps");
    let services = lb_ctl::services::list(&maps).unwrap();
    services
        .iter()
        .flat_map(|s| s.reals.iter().map(|r| (r.addr, r.weight)))
        .collect()
}

/// A DR or TUN topology with pass programs on the switch ports (native
/// XDP_TX on a veth needs a program on the peer), decap on the TUN real
/// servers, and tb-echo on the two real servers.
struct Lab {
    servers: Vec<Spawned>,
    reals: [Role; 2],
    kind: &'static str,
    _decaps: Vec<lb_ctl::Decap>,
    _pass: lb_ctl::Decap,
    topo: Topology,
    /// After the topology: its teardown stops lbd first, so no lbd can
    /// pin anything again once these are removed. The lbd instances
    /// `lbd-<prefix>` (one director) and `lbd-<prefix>-lb1|lb2` (two).
    pins: [Pins; 3],
}

fn echo(topo: &Topology, role: Role) -> Spawned {
    let node = topo.node(role);
    let s = node
        .spawn(&[ECHO, "--port", &ECHO_PORT.to_string(), "--id", node.name()])
        .unwrap();
    node.wait_for_tcp(
        SocketAddr::from((role.ip(), ECHO_PORT)),
        Duration::from_secs(3),
    )
    .unwrap();
    s
}

impl Lab {
    fn new() -> Lab {
        Lab::with("dr")
    }

    /// `kind`: "dr" or "tun", as lb_kind spells it.
    fn with(kind: &'static str) -> Lab {
        let (spec, reals) = match kind {
            "tun" => (Spec::tun(), [Role::Rs3, Role::Rs4]),
            _ => (Spec::dr(), [Role::Rs1, Role::Rs2]),
        };
        let topo = Topology::build(&spec).expect("build the topology");
        let mut pass = lb_ctl::Decap::load(None).unwrap();
        let ports = topo.switch_ports();
        topo.switch()
            .in_netns(|| -> lb_ctl::Result<()> {
                for port in &ports {
                    pass.attach_pass(&port.iface, aya::programs::XdpMode::Driver)?;
                }
                Ok(())
            })
            .unwrap()
            .unwrap();
        let mut decaps = Vec::new();
        if kind == "tun" {
            for role in reals {
                let mut decap = lb_ctl::Decap::load(None).unwrap();
                decap.add_local_address(role.ip()).unwrap();
                topo.node(role)
                    .in_netns(|| decap.attach("eth0", aya::programs::XdpMode::Driver))
                    .unwrap()
                    .expect("decap on a TUN real server");
                decaps.push(decap);
            }
        }
        let servers = reals.iter().map(|&r| echo(&topo, r)).collect();
        let instance = format!("lbd-{}", topo.prefix());
        let pins = ["", "-lb1", "-lb2"].map(|suffix| Pins::of(&format!("{instance}{suffix}")));
        Lab {
            pins,
            servers,
            reals,
            kind,
            _decaps: decaps,
            _pass: pass,
            topo,
        }
    }

    /// The pin folder of the one-director instance.
    fn pin_dir(&self) -> &std::path::Path {
        &self.pins[0].0
    }

    fn instance(&self) -> String {
        format!("lbd-{}", self.topo.prefix())
    }

    /// A config with the VIP's VRRP instance and `services` (YAML list items).
    fn yaml(&self, services: &str) -> String {
        format!(
            "global_defs: {{ instance: {} }}\n{}virtual_servers:\n{services}",
            self.instance(),
            vrrp_yaml(150, "0.1", "")
        )
    }
}

fn service_yaml(port: u16, algo: &str, reals: &[Role], check: bool) -> String {
    let check = if check {
        ", tcp_check: { connect_timeout: 0.5, retry: 2, delay_before_retry: 0.1 }"
    } else {
        ""
    };
    let mut s = format!("  - vip: {VIP}\n    port: {port}\n    lb_algo: {algo}\n    lb_kind: dr\n    delay_loop: 0.2\n    real_servers:\n");
    for r in reals {
        s.push_str(&format!(
            "      - {{ ip: {}, port: {ECHO_PORT}{check} }}\n",
            r.ip()
        ));
    }
    s
}

#[test]
fn health_checks_drain_a_dead_real_server_and_bring_it_back() {
    let lab = Lab::new();
    let topo = &lab.topo;
    let yaml = lab.yaml(&service_yaml(
        ECHO_PORT,
        "rr",
        &[Role::Rs1, Role::Rs2],
        true,
    ));
    let pins = lab.pin_dir();
    let lbd = start_lbd(topo, Role::Lb1, &yaml);
    wait_until(Duration::from_secs(3), || has_vip(topo.node(Role::Lb1))).expect("MASTER");
    lbd.wait_for_output("balancer attached to eth0", Duration::from_secs(5))
        .unwrap();
    let both = [(Role::Rs1.ip(), 1), (Role::Rs2.ip(), 1)];
    assert_eq!(weights(pins), both);
    let client = topo.node(Role::Client);
    let answers: Vec<String> = (0..4).filter_map(|_| ask_through_vip(client)).collect();
    assert_eq!(answers.len(), 4, "the VIP answers: {answers:?}");
    assert!(
        answers.contains(&"rs1".to_string()) && answers.contains(&"rs2".to_string()),
        "{answers:?}"
    );

    // rs2's server dies: after 2 failed checks its weight is 0 (drained).
    assert!(lab.servers[1].stop());
    wait_until(Duration::from_secs(5), || {
        weights(pins) == [(Role::Rs1.ip(), 1), (Role::Rs2.ip(), 0)]
    })
    .expect("rs2 drained");
    let answers: Vec<String> = (0..4).filter_map(|_| ask_through_vip(client)).collect();
    assert_eq!(answers, ["rs1"; 4], "new connections avoid the dead server");
    let log = lbd.output().unwrap();
    assert!(log.contains(&format!("real server {}:{ECHO_PORT} of {VIP}:{ECHO_PORT} is DOWN: tcp_check failed 2 time(s) in a row", Role::Rs2.ip())), "{log}");
    // lbctl reads the verdicts from lbd's health file.
    let health = lb_ctl::lbd::health_file::read(&lb_ctl::lbd::health_file::path(&lab.instance()));
    let verdict = |role: Role| {
        health
            .iter()
            .find(|(k, _)| k.ip == role.ip())
            .map(|(_, v)| v.0)
    };
    assert_eq!(
        (verdict(Role::Rs1), verdict(Role::Rs2)),
        (Some(true), Some(false)),
        "{health:?}"
    );

    // It comes back: weight 1 again.
    let _rs2 = echo(topo, Role::Rs2);
    wait_until(Duration::from_secs(5), || weights(pins) == both).expect("rs2 back");
    assert!(lbd.stop());
}

fn service_ids(pins: &std::path::Path) -> Vec<(u16, u32, String)> {
    let maps = lb_ctl::Maps::from_pins(pins).expect("lbd's pinned maps");
    lb_ctl::services::list(&maps)
        .unwrap()
        .iter()
        .map(|s| (s.addr.port, s.id, s.options.scheduler.name().to_string()))
        .collect()
}

fn metrics(node: &Node) -> String {
    node.in_netns(|| -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", 9469))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")?;
        let mut body = String::new();
        std::io::Read::read_to_string(&mut s, &mut body)?;
        Ok(body)
    })
    .unwrap()
    .expect("metrics endpoint")
}

/// A connection held open through the VIP.
struct Held(BufReader<TcpStream>);

impl Held {
    fn open(client: &Node) -> Held {
        let s = client
            .in_netns(|| {
                TcpStream::connect_timeout(
                    &SocketAddr::from((VIP, ECHO_PORT)),
                    Duration::from_secs(2),
                )
            })
            .unwrap()
            .expect("connect through the VIP");
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        Held(BufReader::new(s))
    }

    fn who(&mut self) -> String {
        self.0.get_mut().write_all(b"who\n").unwrap();
        let mut line = String::new();
        self.0
            .read_line(&mut line)
            .expect("the held connection answers");
        line.split_whitespace().next().unwrap_or("").to_string()
    }
}

#[test]
fn sighup_applies_only_the_difference_and_metrics_show_the_state() {
    let lab = Lab::new();
    let topo = &lab.topo;
    let lb1 = topo.node(Role::Lb1);
    let web = service_yaml(ECHO_PORT, "rr", &[Role::Rs1, Role::Rs2], true);
    let other = |algo: &str| service_yaml(7001, algo, &[Role::Rs1], false);
    let lbd = start_lbd_with(
        topo,
        Role::Lb1,
        &lab.yaml(&(web.clone() + &other("rr"))),
        &["--metrics", "127.0.0.1:9469"],
    );
    wait_until(Duration::from_secs(3), || has_vip(lb1)).expect("MASTER");
    lbd.wait_for_output("balancer attached to eth0", Duration::from_secs(5))
        .unwrap();
    let mut held = Held::open(topo.node(Role::Client));
    let server = held.who();
    let before = service_ids(lab.pin_dir());
    assert_eq!(before.len(), 2);

    // Reload: 7001 changes scheduler, 7002 is new, 7000 is untouched.
    let third = service_yaml(7002, "wlc", &[Role::Rs2], false);
    std::fs::write(
        lbd_config_path(topo, Role::Lb1),
        lab.yaml(&(web.clone() + &other("wrr") + &third)),
    )
    .unwrap();
    // SAFETY: kill(2) on a child we started.
    unsafe { libc::kill(lbd.pid() as i32, libc::SIGHUP) };
    wait_until(Duration::from_secs(5), || {
        service_ids(lab.pin_dir()).len() == 3
    })
    .expect("7002 added");
    let after = service_ids(lab.pin_dir());
    assert_eq!(
        after[0], before[0],
        "the unchanged service keeps its id and scheduler"
    );
    assert_eq!(after[1].2, "wrr");
    assert_eq!(after[2].0, 7002);
    assert_eq!(
        held.who(),
        server,
        "an established flow of an unchanged service survives the reload"
    );

    // A broken file is refused; nothing changes.
    std::fs::write(
        lbd_config_path(topo, Role::Lb1),
        "virtual_servers:\n  - vip: 198.18.0.300\n",
    )
    .unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(lbd.pid() as i32, libc::SIGHUP) };
    lbd.wait_for_output(
        "reload refused, keeping the running config",
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(service_ids(lab.pin_dir()), after);
    assert_eq!(held.who(), server);

    let text = metrics(lb1);
    for want in [
        "lbd_vrrp_state{instance=\"VI_1\",interface=\"eth0\",state=\"MASTER\"} 2".to_string(),
        format!("lbd_real_server_up{{vip=\"{VIP}\",port=\"{ECHO_PORT}\",protocol=\"TCP\",real=\"{}:{ECHO_PORT}\"}} 1", Role::Rs1.ip()),
        format!("lbd_real_weight{{vip=\"{VIP}\",port=\"7002\",protocol=\"TCP\",real=\"{}:{ECHO_PORT}\"}} 1", Role::Rs2.ip()),
        "lbd_conn_table_capacity ".to_string(),
    ] {
        assert!(text.contains(&want), "metrics lack `{want}`:\n{text}");
    }
    let value = |prefix: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(
        value(&format!(
            "lbd_service_connections_total{{vip=\"{VIP}\",port=\"{ECHO_PORT}\""
        )) >= 1
    );
    assert!(value("lbd_conn_table_entries") >= 1);
    assert!(lbd.stop());
}

/// A long-lived `redis-cli` session from the client through the VIP,
/// killed on drop. Replies are read on a thread so a dead flow times out
/// instead of hanging the test.
struct RedisCli {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl RedisCli {
    fn open(client: &Node) -> RedisCli {
        let mut child = client
            .command("redis-cli")
            .args(["-h", &VIP.to_string(), "-p", "6379"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("redis-cli");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let err_tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = err_tx.send(format!("stderr: {line}"));
            }
        });
        RedisCli {
            child,
            stdin,
            lines,
        }
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        self.lines
            .recv_timeout(Duration::from_secs(3))
            .unwrap_or_else(|_| "(no reply)".into())
    }
}

impl Drop for RedisCli {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_redis(topo: &Topology, role: Role) -> Spawned {
    let node = topo.node(role);
    let s = node
        .spawn(&[
            "redis-server",
            "--port",
            "6379",
            "--bind",
            "0.0.0.0",
            "--protected-mode",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .unwrap();
    node.wait_for_tcp(SocketAddr::from((role.ip(), 6379)), Duration::from_secs(5))
        .unwrap();
    s
}

fn director_yaml(lab: &Lab, me: Role, peer: Role, priority: u8) -> String {
    let topo = &lab.topo;
    format!(
        "global_defs:\n  instance: lbd-{}-{}\n  conn_sync: {{ peers: [{}], interval: 0.1 }}\n{}virtual_servers:\n  - vip: {VIP}\n    port: 6379\n    lb_algo: rr\n    lb_kind: {}\n    real_servers:\n      - {{ ip: {} }}\n      - {{ ip: {} }}\n",
        topo.prefix(),
        topo.node(me).name(),
        peer.ip(),
        vrrp_yaml(priority, "0.1", ""),
        lab.kind,
        lab.reals[0].ip(),
        lab.reals[1].ip(),
    )
}

/// Established redis-cli sessions keep their server across a SIGKILL of
/// the master: the backup learned them through conn sync. rr would send
/// half of them elsewhere without it.
#[test]
fn established_redis_sessions_survive_a_master_kill_in_dr_mode() {
    sessions_survive_a_master_kill("dr");
}

#[test]
fn established_redis_sessions_survive_a_master_kill_in_tun_mode() {
    sessions_survive_a_master_kill("tun");
}

fn sessions_survive_a_master_kill(kind: &'static str) {
    let lab = Lab::with(kind);
    let topo = &lab.topo;
    let _redis = lab.reals.map(|r| start_redis(topo, r));
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    let master = start_lbd(
        topo,
        Role::Lb1,
        &director_yaml(&lab, Role::Lb1, Role::Lb2, 150),
    );
    let backup = start_lbd(
        topo,
        Role::Lb2,
        &director_yaml(&lab, Role::Lb2, Role::Lb1, 100),
    );
    wait_until(Duration::from_secs(3), || has_vip(lb1)).expect("lb1 MASTER");
    backup
        .wait_for_output("balancer attached to eth0", Duration::from_secs(5))
        .unwrap();

    let client = topo.node(Role::Client);
    // One connection first moves the master's rr one step ahead of the
    // backup's: without sync, the backup would pick the other server for
    // every session below.
    let mut first = RedisCli::open(client);
    assert_eq!(first.ask("PING"), "PONG");
    let n = 6;
    let mut sessions: Vec<RedisCli> = (0..n).map(|_| RedisCli::open(client)).collect();
    for (i, s) in sessions.iter_mut().enumerate() {
        assert_eq!(s.ask(&format!("CLIENT SETNAME session{i}")), "OK");
    }
    // The backup's table learns the flows.
    let pins2 = lb_ctl::loader::pin_dir(&format!("lbd-{}-lb2", topo.prefix()));
    wait_until(Duration::from_secs(3), || {
        let maps = lb_ctl::Maps::from_pins(&pins2).unwrap();
        lb_ctl::conns::list(&maps).unwrap().len() >= n
    })
    .expect("conn sync filled the backup's table");

    let started = Instant::now();
    sigkill(&master);
    wait_until(Duration::from_secs(3), || has_vip(lb2)).expect("lb2 takes over");
    let takeover = started.elapsed();
    wait_until(Duration::from_secs(1), || !has_vip(lb1)).expect("one VIP holder");
    // The gratuitous ARPs moved the client's neighbour entry to lb2.
    let lb2_mac = lb2.mac("eth0").unwrap().to_string();
    wait_until(Duration::from_secs(1), || {
        client
            .run(&["ip", "neigh", "show", &VIP.to_string()])
            .unwrap()
            .contains(&lb2_mac)
    })
    .expect("the client's ARP entry for the VIP points at lb2");
    let kept = sessions
        .iter_mut()
        .enumerate()
        .map(|(i, s)| s.ask("CLIENT GETNAME") == format!("session{i}"))
        .filter(|&same| same)
        .count();
    eprintln!(
        "failover: takeover_ms={} flows_kept={kept}/{n}",
        takeover.as_millis()
    );
    assert_eq!(
        kept,
        n,
        "every session keeps its server; lb2 log:\n{}",
        backup.output().unwrap()
    );
}

/// Records when lb2 last heard an advert from `from`: a raw VRRP socket
/// opened in lb2's namespace, read on a thread until `stop`.
struct AdvertClock {
    last: std::sync::Arc<std::sync::Mutex<Option<std::time::SystemTime>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AdvertClock {
    fn start(listener: &Node, from: Ipv4Addr) -> AdvertClock {
        let fd = listener
            .in_netns(|| {
                // SAFETY: plain socket calls with valid arguments.
                unsafe {
                    let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, 112);
                    assert!(
                        fd >= 0,
                        "raw VRRP socket: {}",
                        std::io::Error::last_os_error()
                    );
                    let mreq = libc::ip_mreqn {
                        imr_multiaddr: libc::in_addr {
                            s_addr: u32::from_ne_bytes([224, 0, 0, 18]),
                        },
                        imr_address: libc::in_addr { s_addr: 0 },
                        imr_ifindex: 0,
                    };
                    libc::setsockopt(
                        fd,
                        libc::IPPROTO_IP,
                        libc::IP_ADD_MEMBERSHIP,
                        &mreq as *const _ as *const libc::c_void,
                        std::mem::size_of::<libc::ip_mreqn>() as u32,
                    );
                    let tv = libc::timeval {
                        tv_sec: 0,
                        tv_usec: 50_000,
                    };
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_RCVTIMEO,
                        &tv as *const _ as *const libc::c_void,
                        std::mem::size_of::<libc::timeval>() as u32,
                    );
                    fd
                }
            })
            .unwrap();
        let last = std::sync::Arc::new(std::sync::Mutex::new(None));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (l, s) = (last.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: buf is writable for its length.
                let n =
                    unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
                if n >= 20 && buf[12..16] == from.octets() && buf[20 + 2] != 0 {
                    *l.lock().unwrap() = Some(std::time::SystemTime::now());
                }
            }
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
        });
        AdvertClock {
            last,
            stop,
            thread: Some(thread),
        }
    }

    /// Milliseconds since midnight (UTC) of the last advert, as lbd's log
    /// stamps its lines.
    fn last_ms_of_day(&self) -> Option<u64> {
        let t = (*self.last.lock().unwrap())?;
        let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64;
        Some(ms % 86_400_000)
    }
}

impl Drop for AdvertClock {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The time of day (ms, UTC) of the last line of `log` holding `text`:
/// lbd stamps each line `HH:MM:SS.mmm`.
fn logged_at(log: &str, text: &str) -> Option<u64> {
    let line = log.lines().rev().find(|l| l.contains(text))?;
    let stamp = line.split_whitespace().next()?;
    let (hms, ms) = stamp.split_once('.')?;
    let parts: Vec<u64> = hms
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = parts[..] else { return None };
    Some(((h * 60 + m) * 60 + s) * 1000 + ms.parse::<u64>().ok()?)
}

/// `cargo xtask bench failover`: 10 failovers at advert_int 0.1 s and 1 s,
/// takeover measured from lb1's last advert (heard in lb2's namespace) to
/// lb2's lbd entering MASTER (it adds the VIP right then), with
/// redis-cli sessions checked across each. Run with
/// `cargo test --release -p testbed --test e2e_lbd -- --ignored bench_failover --nocapture`.
#[test]
#[ignore = "benchmark: about two minutes"]
fn bench_failover() {
    let lab = Lab::new();
    let topo = &lab.topo;
    let _redis = lab.reals.map(|r| start_redis(topo, r));
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    let client = topo.node(Role::Client);
    let clock = AdvertClock::start(lb2, Role::Lb1.ip());
    let mut lines = Vec::new();
    for advert in ["0.1", "1"] {
        let yaml = |me: Role, peer: Role, prio: u8| {
            director_yaml(&lab, me, peer, prio)
                .replace("advert_int: 0.1", &format!("advert_int: {advert}"))
        };
        let backup = start_lbd(topo, Role::Lb2, &yaml(Role::Lb2, Role::Lb1, 100));
        let (mut takeovers, mut kept, mut total) = (Vec::new(), 0, 0);
        for _round in 0..10 {
            let master = start_lbd(topo, Role::Lb1, &yaml(Role::Lb1, Role::Lb2, 150));
            wait_until(Duration::from_secs(10), || has_vip(lb1) && !has_vip(lb2))
                .expect("lb1 MASTER");
            let mut sessions: Vec<RedisCli> = (0..4).map(|_| RedisCli::open(client)).collect();
            for (i, s) in sessions.iter_mut().enumerate() {
                assert_eq!(s.ask(&format!("CLIENT SETNAME s{i}")), "OK");
            }
            std::thread::sleep(Duration::from_millis(500));
            sigkill(&master);
            wait_until(Duration::from_secs(10), || has_vip(lb2)).expect("lb2 takes over");
            let last = clock.last_ms_of_day().expect("adverts heard");
            let master_at = logged_at(&backup.output().unwrap(), "VI_1: entering MASTER state")
                .expect("lb2 logged its takeover");
            takeovers.push(Duration::from_millis(master_at.saturating_sub(last)));
            total += sessions.len();
            kept += sessions
                .iter_mut()
                .enumerate()
                .map(|(i, s)| s.ask("CLIENT GETNAME") == format!("s{i}"))
                .filter(|&same| same)
                .count();
            wait_until(Duration::from_secs(2), || !has_vip(lb1)).expect("one VIP holder");
        }
        takeovers.sort();
        let p50 = takeovers[takeovers.len() / 2].as_millis();
        let max = takeovers.last().unwrap().as_millis();
        eprintln!("detail: advert_int={advert}s takeover_ms_p50={p50} takeover_ms_max={max} flows_kept={kept}/{total}");
        lines.push((p50, max, kept, total));
        assert!(backup.stop(), "lb2's lbd ran to the end");
        wait_until(Duration::from_secs(2), || !has_vip(lb2)).expect("lb2 resigned");
    }
    // One line, as the issue asks: each figure per advert interval
    // (0.1 s / 1 s), flows summed.
    let join = |f: fn(&(u128, u128, usize, usize)) -> u128| {
        lines
            .iter()
            .map(|l| f(l).to_string())
            .collect::<Vec<_>>()
            .join("/")
    };
    let kept: usize = lines.iter().map(|l| l.2).sum();
    let total: usize = lines.iter().map(|l| l.3).sum();
    println!(
        "failover: takeover_ms_p50={} takeover_ms_max={} flows_kept={kept}/{total}",
        join(|l| l.0),
        join(|l| l.1)
    );
}

#[test]
fn a_link_down_is_a_fault_with_notify_scripts_and_the_backup_takes_over() {
    let topo = topology();
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    let events = topo.log_dir().join("notify-events");
    let script = write_file(
        &topo,
        "notify.sh",
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", events.display()),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let fault_mark = topo.log_dir().join("fault-mark");
    let extra = format!(
        "    notify: {}\n    notify_fault: \"echo fault >> {}\"\n",
        script.display(),
        fault_mark.display()
    );
    let master = start_lbd(&topo, Role::Lb1, &vrrp_yaml(150, "0.1", &extra));
    let _backup = start_lbd(&topo, Role::Lb2, &vrrp_yaml(100, "0.1", ""));
    wait_until(Duration::from_secs(3), || has_vip(lb1)).expect("lb1 MASTER");

    lb1.run(&["ip", "link", "set", "eth0", "down"]).unwrap();
    wait_until(Duration::from_secs(3), || has_vip(lb2)).expect("lb2 takes over");
    master
        .wait_for_output("VI_1: entering FAULT state", Duration::from_secs(2))
        .unwrap();
    assert!(!has_vip(lb1));

    lb1.run(&["ip", "link", "set", "eth0", "up"]).unwrap();
    wait_until(Duration::from_secs(5), || has_vip(lb1) && !has_vip(lb2))
        .expect("lb1 back and preempting");
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    wait_until(Duration::from_secs(2), || {
        read(&events).lines().count() >= 5
    })
    .expect("notify ran for each transition");
    let lines: Vec<String> = read(&events).lines().map(String::from).collect();
    assert_eq!(
        lines,
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 FAULT 150",
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
        ]
    );
    assert_eq!(read(&fault_mark), "fault\n");
}

#[test]
fn unicast_peers_replace_multicast() {
    let topo = topology();
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    let peers = |peer: Role| format!("    unicast_peers: [{}]\n", peer.ip());
    let master = start_lbd(&topo, Role::Lb1, &vrrp_yaml(150, "0.1", &peers(Role::Lb2)));
    let backup = start_lbd(&topo, Role::Lb2, &vrrp_yaml(100, "0.1", &peers(Role::Lb1)));
    wait_until(Duration::from_secs(3), || has_vip(lb1)).expect("lb1 MASTER");
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        !has_vip(lb2),
        "lb2 heard the unicast adverts: {}",
        backup.output().unwrap()
    );
    sigkill(&master);
    wait_until(Duration::from_secs(3), || has_vip(lb2) && !has_vip(lb1)).expect("lb2 takes over");
}

#[test]
fn stale_vips_from_a_crash_are_removed_at_start() {
    let topo = topology();
    let (lb1, lb2) = (topo.node(Role::Lb1), topo.node(Role::Lb2));
    let _master = start_lbd(&topo, Role::Lb2, &vrrp_yaml(150, "0.1", ""));
    wait_until(Duration::from_secs(3), || has_vip(lb2)).expect("lb2 MASTER");
    // What a crash of lbd and its watchdog together (or keepalived's
    // kill -9) leaves behind: two holders.
    lb1.run(&["ip", "addr", "add", &format!("{VIP}/24"), "dev", "eth0"])
        .unwrap();
    assert!(has_vip(lb1));
    let _backup = start_lbd(&topo, Role::Lb1, &vrrp_yaml(100, "0.1", ""));
    assert!(
        !has_vip(lb1),
        "lbd removed the stale VIP before starting VRRP"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(has_vip(lb2) && !has_vip(lb1));
}

#[test]
fn a_missing_interface_is_a_fault_until_it_appears() {
    let topo = topology();
    let lb1 = topo.node(Role::Lb1);
    let yaml = vrrp_yaml(150, "0.1", "").replace("interface: eth0", "interface: vip0");
    std::fs::write(lbd_config_path(&topo, Role::Lb1), &yaml).unwrap();
    let config = lbd_config_path(&topo, Role::Lb1);
    let bin = lbd_bin();
    let lbd = lb1
        .spawn(&[bin.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .unwrap();
    lbd.wait_for_output("VI_1: interface vip0", Duration::from_secs(5))
        .unwrap();
    assert!(lbd.is_running(), "a missing interface is not fatal");
    // (A veth pair: this kernel has no dummy driver.)
    lb1.run(&[
        "ip", "link", "add", "vip0", "type", "veth", "peer", "name", "vip0p",
    ])
    .unwrap();
    lb1.run(&["ip", "link", "set", "vip0p", "up"]).unwrap();
    lb1.run(&["ip", "addr", "add", "198.18.9.1/24", "dev", "vip0"])
        .unwrap();
    lb1.run(&["ip", "link", "set", "vip0", "up"]).unwrap();
    let vip_on_vip0 = || lb1.ipv4_addrs("vip0").unwrap().contains(&VIP);
    wait_until(Duration::from_secs(5), vip_on_vip0).expect("MASTER once the interface exists");
}
