//! The load-balancer rig of the end-to-end tests: a testbed topology, the
//! balancer attached natively to lb1, pass programs on the switch ports,
//! decap on the TUN real servers, and tb-echo on every real server.
#![allow(dead_code)]

use aya::programs::XdpMode;
use lb_ctl::services::{self, Protocol, RealSpec, ServiceAddr, ServiceOptions};
use lb_ctl::{Balancer, Decap, Forward, Scheduler};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;
use testbed::{Node, Role, Spawned, Spec, Topology, VIP};

pub const ECHO: &str = env!("CARGO_BIN_EXE_tb-echo");
pub const PORT: u16 = 7000;
pub const REDIS_PORT: u16 = 6379;
pub const ZK_PORT: u16 = 2181;

/// What runs on the real servers behind the VIP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// tb-echo on 7000: answers "<server> <line>".
    Echo,
    /// kv-server on 6379.
    Redis,
    /// coord-server on 2181.
    Zk,
}

impl Backend {
    pub fn port(self) -> u16 {
        match self {
            Backend::Echo => PORT,
            Backend::Redis => REDIS_PORT,
            Backend::Zk => ZK_PORT,
        }
    }
}

/// A binary of another workspace crate, from the same target folder as
/// this test (`cargo xtask test` builds them first).
pub fn workspace_bin(name: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build --release --bins`, as `cargo xtask test` does)",
        path.display()
    );
    path.display().to_string()
}
pub const TIMEOUT: Duration = Duration::from_secs(3);

pub struct Rig {
    // Field order is drop order: programs and servers go before the
    // namespaces they live in.
    pub balancer: Balancer,
    _decaps: Vec<Decap>,
    _pass: Decap,
    _servers: Vec<Spawned>,
    pub service: ServiceAddr,
    pub forward: Forward,
    pub topo: Topology,
}

/// The real servers of a forwarding mode.
pub fn reals_of(forward: Forward) -> [Role; 2] {
    match forward {
        Forward::Dr => [Role::Rs1, Role::Rs2],
        Forward::Tun => [Role::Rs3, Role::Rs4],
        Forward::Nat => [Role::Rs5, Role::Rs6],
    }
}

fn spec_of(forward: Forward) -> Spec {
    match forward {
        Forward::Dr => Spec::dr(),
        Forward::Tun => Spec::tun(),
        Forward::Nat => Spec::nat(),
    }
}

impl Rig {
    /// Builds the topology for `forward`, attaches everything, and adds
    /// the service VIP:7000/tcp with `initial` real servers of the mode.
    pub fn new(forward: Forward, sched: Scheduler, initial: &[Role]) -> Rig {
        Rig::with_backend(Backend::Echo, forward, sched, 0, initial)
    }

    /// Like [`Rig::new`] with `backend` on the real servers and the given
    /// persistence timeout.
    pub fn with_backend(
        backend: Backend,
        forward: Forward,
        sched: Scheduler,
        persistence: u32,
        initial: &[Role],
    ) -> Rig {
        let topo = Topology::build(&spec_of(forward)).expect("build the topology");
        let mut pass = Decap::load(None).expect("load decap/pass");
        let ports = topo.switch_ports();
        topo.switch()
            .in_netns(|| -> lb_ctl::Result<()> {
                for port in &ports {
                    pass.attach_pass(&port.iface, XdpMode::Driver)?;
                }
                Ok(())
            })
            .unwrap()
            .expect("pass programs on the switch ports");

        let mut decaps = Vec::new();
        if forward == Forward::Tun {
            for role in reals_of(forward) {
                let mut decap = Decap::load(None).unwrap();
                decap.add_local_address(role.ip()).unwrap();
                topo.node(role)
                    .in_netns(|| decap.attach("eth0", XdpMode::Driver))
                    .unwrap()
                    .expect("decap on a TUN real server");
                decaps.push(decap);
            }
        }

        let servers = reals_of(forward)
            .iter()
            .map(|&role| start_backend(backend, topo.node(role), topo.log_dir()))
            .collect();

        let lb1 = topo.node(Role::Lb1);
        // The director answers ARP for the VIP, as the VRRP master would.
        lb1.run(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "eth0"])
            .unwrap();
        let mut balancer = Balancer::load(None).expect("load the balancer");
        let mut cfg = balancer.maps.lb_config().unwrap();
        cfg.tunnel_src = lb_common::ip_to_net(Role::Lb1.ip());
        balancer.maps.set_lb_config(&cfg).unwrap();
        let legs: &[&str] = if forward == Forward::Nat {
            &["eth0", "eth1"]
        } else {
            &["eth0"]
        };
        lb1.in_netns(|| -> lb_ctl::Result<()> {
            for leg in legs {
                balancer.attach(leg, XdpMode::Driver)?;
            }
            Ok(())
        })
        .unwrap()
        .expect("attach the balancer to lb1");

        let service = ServiceAddr::new(VIP, backend.port(), Protocol::Tcp);
        services::add_service(
            &mut balancer.maps,
            &service,
            &ServiceOptions {
                scheduler: sched,
                persistence,
                flags: 0,
            },
        )
        .unwrap();
        let mut rig = Rig {
            balancer,
            _decaps: decaps,
            _pass: pass,
            _servers: servers,
            service,
            forward,
            topo,
        };
        for &role in initial {
            rig.add_real(role, 1);
        }
        rig
    }

    /// `role` as a real server of the rig's service; the next hop is
    /// resolved from the kernel's tables.
    fn real_spec(&self, role: Role, weight: u32) -> RealSpec {
        RealSpec {
            addr: role.ip(),
            port: self.service.port,
            weight,
            forward: self.forward,
            egress: None,
        }
    }

    /// `ipvsadm -a`, with the next hop resolved inside lb1.
    pub fn add_real(&mut self, role: Role, weight: u32) {
        let spec = self.real_spec(role, weight);
        let (maps, service) = (&mut self.balancer.maps, &self.service);
        self.topo
            .node(Role::Lb1)
            .in_netns(|| services::add_real(maps, service, &spec))
            .unwrap()
            .expect("add a real server");
    }

    /// `ipvsadm -e -w`: 0 drains.
    pub fn set_weight(&mut self, role: Role, weight: u32) {
        let spec = self.real_spec(role, weight);
        services::edit_real(&mut self.balancer.maps, &self.service, &spec)
            .expect("edit a real server");
    }

    /// `ipvsadm -d`.
    pub fn delete_real(&mut self, role: Role) {
        services::delete_real(
            &mut self.balancer.maps,
            &self.service,
            role.ip(),
            self.service.port,
        )
        .expect("delete a real server");
    }

    pub fn client(&self) -> &Node {
        self.topo.node(Role::Client)
    }

    /// A new TCP connection from the client to the VIP, opened inside the
    /// client's namespace.
    pub fn connect(&self) -> Conn {
        let addr = SocketAddr::from((VIP, self.service.port));
        let stream = self
            .client()
            .in_netns(|| TcpStream::connect_timeout(&addr, TIMEOUT))
            .unwrap()
            .expect("connect to the VIP");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// Which real server answers a fresh connection.
    pub fn who_answers(&self) -> String {
        self.connect().ask("who")
    }
}

/// An open client connection through the VIP.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Sends a line; returns the answering server's id.
    pub fn ask(&mut self, line: &str) -> String {
        self.reader
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .expect("send");
        let mut answer = String::new();
        self.reader
            .read_line(&mut answer)
            .expect("answer through the VIP");
        let (id, echoed) = answer.trim_end().split_once(' ').expect("'<id> <line>'");
        assert_eq!(echoed, line);
        id.to_string()
    }

    pub fn local_port(&self) -> u16 {
        self.reader.get_ref().local_addr().unwrap().port()
    }
}

fn start_backend(backend: Backend, node: &Node, data: &std::path::Path) -> Spawned {
    let port = backend.port().to_string();
    let dir = data.join(format!("{}-{}", node.name(), port));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.display().to_string();
    let server = match backend {
        Backend::Echo => node.spawn(&[ECHO, "--port", &port, "--id", node.name()]),
        Backend::Redis => {
            let argv =
                testbed::servers::kv_server_argv(&workspace_bin("kv-server"), backend.port(), &dir);
            node.spawn(&argv.iter().map(String::as_str).collect::<Vec<_>>())
        }
        Backend::Zk => node.spawn(&[
            &workspace_bin("coord-server"),
            "--port",
            &port,
            "--data-dir",
            &dir,
        ]),
    }
    .expect("spawn the real server");
    let addr = SocketAddr::from((node.role().unwrap().ip(), backend.port()));
    node.wait_for_tcp(addr, TIMEOUT).expect("tb-echo listens");
    server
}

/// Captures, on the client's eth0, the source MACs of IPv4 frames from
/// `from_ip`, while `traffic` runs. Proves which hop the replies took.
pub fn reply_source_macs(client: &Node, from_ip: Ipv4Addr, traffic: impl FnOnce()) -> Vec<[u8; 6]> {
    let fd = client
        .in_netns(|| {
            // SAFETY: plain socket syscalls with valid arguments.
            unsafe {
                let fd = libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW,
                    (libc::ETH_P_IP as u16).to_be() as i32,
                );
                assert!(
                    fd >= 0,
                    "AF_PACKET socket: {}",
                    std::io::Error::last_os_error()
                );
                let name = std::ffi::CString::new("eth0").unwrap();
                let mut sll: libc::sockaddr_ll = std::mem::zeroed();
                sll.sll_family = libc::AF_PACKET as u16;
                sll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
                sll.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
                let rc = libc::bind(
                    fd,
                    &sll as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                );
                assert_eq!(rc, 0, "bind AF_PACKET");
                let tv = libc::timeval {
                    tv_sec: 0,
                    tv_usec: 200_000,
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
    traffic();
    let mut macs = Vec::new();
    let mut buf = [0u8; 2048];
    for _ in 0..10_000 {
        // SAFETY: buf is writable for its length.
        let n = unsafe {
            libc::recv(
                fd,
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            break;
        }
        let frame = &buf[..n as usize];
        // Outgoing frames are captured too; keep those from `from_ip`.
        if frame.len() >= 34 && frame[26..30] == from_ip.octets() {
            macs.push(frame[6..12].try_into().unwrap());
        }
    }
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    macs
}
