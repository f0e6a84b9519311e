//! The lbd daemon: loads the config, keeps the data plane reconciled with
//! it and the health checks, runs the VRRP instances, serves metrics, and
//! reloads on SIGHUP.

use super::config::{Config, HealthCheck, VrrpInstance, XdpModeName};
use super::health::{self, HealthEvent, RealKey};
use super::health_file;
use super::metrics::{self, Shared, Status};
use super::reconcile::{self, HealthView};
use super::vip::VipOwner;
use super::vrrp::instance::{self, StateEvent};
use super::vrrp::machine::State;
use crate::loader::{self, Balancer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub struct Options {
    pub config_path: PathBuf,
    pub metrics: Option<SocketAddr>,
    /// The binary to run as `--watchdog`; None: VIPs are unguarded.
    pub watchdog_exe: Option<PathBuf>,
}

struct Checker {
    check: HealthCheck,
    delay_loop: Duration,
    task: JoinHandle<()>,
}

struct Instance {
    config: VrrpInstance,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Daemon {
    config: Config,
    balancer: Shared<Option<Balancer>>,
    status: Shared<Status>,
    health: HealthView,
    checkers: HashMap<RealKey, Checker>,
    instances: Vec<Instance>,
    vips: Arc<VipOwner>,
    health_tx: mpsc::UnboundedSender<HealthEvent>,
    state_tx: mpsc::UnboundedSender<StateEvent>,
}

/// Runs until SIGTERM or SIGINT.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let config = Config::load(&opts.config_path)?;
    let vips = Arc::new(match &opts.watchdog_exe {
        Some(exe) if !config.vrrp_instances.is_empty() => VipOwner::with_watchdog(exe)?,
        _ => VipOwner::unguarded(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(main_loop(opts, config, vips.clone()));
    vips.close();
    result
}

async fn main_loop(opts: Options, config: Config, vips: Arc<VipOwner>) -> anyhow::Result<()> {
    // Signals first: a SIGTERM during start-up gets the orderly shutdown.
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (health_tx, mut health_rx) = mpsc::unbounded_channel();
    let (state_tx, mut state_rx) = mpsc::unbounded_channel();
    let mut d = Daemon {
        config,
        balancer: Arc::new(Mutex::new(None)),
        status: Arc::new(Mutex::new(Status::default())),
        health: HealthView::new(),
        checkers: HashMap::new(),
        instances: Vec::new(),
        vips,
        health_tx,
        state_tx,
    };
    d.remove_stale_vips();
    d.load_balancer()?;
    d.reconcile();
    // Attached before any VRRP state: a backup that takes over then never
    // lets the kernel see (and reset) a flow it was synced.
    d.attach_all();
    d.sync_checkers();
    d.sync_instances();
    let metrics_task = match opts.metrics {
        Some(addr) => Some(d.serve_metrics(addr).await?),
        None => None,
    };
    // Conn sync follows the config given at start; a reload does not
    // move it.
    let sync_task = d.config.global_defs.conn_sync.clone().map(|cfg| {
        let (balancer, status) = (d.balancer.clone(), d.status.clone());
        tokio::spawn(async move {
            if let Err(e) = super::sync::run(cfg, balancer, status).await {
                log::error!("conn sync stopped: {e}");
            }
        })
    });
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    log::info!("lbd running with {}", opts.config_path.display());
    loop {
        tokio::select! {
            Some(event) = health_rx.recv() => d.on_health(event),
            Some(event) = state_rx.recv() => d.on_state(event),
            _ = tick.tick() => d.housekeeping(),
            _ = hup.recv() => d.reload(&opts.config_path).await,
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    log::info!("lbd shutting down");
    if let Some(task) = metrics_task {
        task.abort();
    }
    if let Some(task) = sync_task {
        task.abort();
    }
    for (_, c) in d.checkers.drain() {
        c.task.abort();
    }
    d.stop_instances(|_| true).await;
    let _ = std::fs::remove_file(health_file::path(&d.config.global_defs.instance));
    Ok(())
}

impl Daemon {
    /// A crash of lbd and its watchdog together could leave VIPs behind;
    /// no instance holds any at start, so remove them all.
    fn remove_stale_vips(&self) {
        for vi in &self.config.vrrp_instances {
            for vip in &vi.virtual_ipaddress {
                if let Err(e) = self.vips.del(&vi.interface, vip) {
                    log::debug!("stale VIP: {e}");
                }
            }
        }
    }

    fn load_balancer(&mut self) -> anyhow::Result<()> {
        if self.config.virtual_servers.is_empty() {
            return Ok(());
        }
        let dir = loader::pin_dir(&self.config.global_defs.instance);
        let mut balancer = Balancer::load(Some(&dir))?;
        // TUN packets leave with the director's own address as source.
        if let Some(src) = self.own_address() {
            let mut cfg = balancer.maps.lb_config()?;
            cfg.tunnel_src = lb_common::ip_to_net(src);
            balancer.maps.set_lb_config(&cfg)?;
        }
        *self.balancer.lock().unwrap_or_else(|e| e.into_inner()) = Some(balancer);
        Ok(())
    }

    fn own_address(&self) -> Option<std::net::Ipv4Addr> {
        let vi = self.config.vrrp_instances.first()?;
        crate::netlink::interface_ipv4s(&vi.interface)
            .ok()?
            .into_iter()
            .map(|(ip, _)| ip)
            .find(|ip| !vi.virtual_ipaddress.iter().any(|v| v.addr == *ip))
    }

    /// Next-hop resolution may wait for ARP (up to a second): done with
    /// block_in_place so the VRRP tasks keep their timers meanwhile.
    fn reconcile(&mut self) {
        tokio::task::block_in_place(|| self.reconcile_now());
    }

    fn reconcile_now(&mut self) {
        let mut guard = self.balancer.lock().unwrap_or_else(|e| e.into_inner());
        let Some(balancer) = guard.as_mut() else {
            return;
        };
        match reconcile::reconcile(&mut balancer.maps, &self.config, &self.health) {
            Ok(failed) => {
                for (change, e) in failed {
                    log::warn!("data plane: {change:?} failed: {e} (retrying)");
                }
            }
            Err(e) => log::error!("data plane: cannot read the services: {e}"),
        }
    }

    /// Starts, keeps or stops checker tasks so they match the config; an
    /// unchanged checker keeps running with its state.
    fn sync_checkers(&mut self) {
        let mut wanted = HashMap::new();
        for vs in &self.config.virtual_servers {
            for rs in &vs.real_servers {
                if let Some(check) = rs.check() {
                    let key = RealKey {
                        service: vs.addr(),
                        ip: rs.ip,
                        port: rs.port_or(vs.port.0),
                    };
                    wanted.insert(key, (check, vs.delay_loop.0));
                }
            }
        }
        self.checkers.retain(|key, c| {
            let keep = wanted
                .get(key)
                .is_some_and(|(check, dl)| *check == c.check && *dl == c.delay_loop);
            if !keep {
                c.task.abort();
            }
            keep
        });
        self.health.retain(|key, _| self.checkers.contains_key(key));
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .health
            .retain(|key, _| self.checkers.contains_key(key));
        for (key, (check, delay_loop)) in wanted {
            if self.checkers.contains_key(&key) {
                continue;
            }
            let task =
                health::spawn_checker(key, check.clone(), delay_loop, self.health_tx.clone());
            self.status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .health
                .insert(key, (true, "not checked yet".into()));
            self.checkers.insert(
                key,
                Checker {
                    check,
                    delay_loop,
                    task,
                },
            );
        }
        self.write_health_file();
    }

    fn sync_instances(&mut self) {
        let wanted = self.config.vrrp_instances.clone();
        let running: Vec<VrrpInstance> = self.instances.iter().map(|i| i.config.clone()).collect();
        for vi in wanted {
            if running.contains(&vi) {
                continue;
            }
            let (stop, stop_rx) = watch::channel(false);
            let run = instance::run(
                vi.clone(),
                self.vips.clone(),
                self.state_tx.clone(),
                stop_rx,
            );
            let task = tokio::spawn(run);
            self.instances.push(Instance {
                config: vi,
                stop,
                task,
            });
        }
    }

    /// Stops the instances `which` selects and waits (bounded) for them
    /// to resign and remove their VIPs.
    async fn stop_instances(&mut self, which: impl Fn(&VrrpInstance) -> bool) {
        let (stopping, keep): (Vec<Instance>, Vec<Instance>) =
            self.instances.drain(..).partition(|i| which(&i.config));
        self.instances = keep;
        for i in stopping {
            let _ = i.stop.send(true);
            if tokio::time::timeout(Duration::from_secs(3), i.task)
                .await
                .is_err()
            {
                log::error!("{}: did not stop in time", i.config.display_name());
            }
            let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            status.vrrp.remove(&i.config.display_name());
        }
    }

    fn on_health(&mut self, event: HealthEvent) {
        let k = &event.key;
        let verdict = if event.up { "UP" } else { "DOWN" };
        log::warn!(
            "real server {}:{} of {}:{} is {verdict}: {}",
            k.ip,
            k.port,
            k.service.vip,
            k.service.port,
            event.reason
        );
        self.health.insert(event.key, event.up);
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .health
            .insert(event.key, (event.up, event.reason));
        self.write_health_file();
        self.reconcile();
    }

    /// Publishes the verdicts for `lbctl -L -n` (see health_file).
    fn write_health_file(&self) {
        let verdicts = self
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .health
            .clone();
        let path = health_file::path(&self.config.global_defs.instance);
        if let Err(e) = health_file::write(&path, &verdicts) {
            log::warn!("cannot write {}: {e}", path.display());
        }
    }

    fn on_state(&mut self, event: StateEvent) {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .vrrp
            .insert(
                event.instance.clone(),
                (event.interface.clone(), event.state, event.priority),
            );
        if event.state == State::Master {
            self.attach(&[event.interface]);
        }
    }

    /// The configured attach interfaces, or every VRRP interface.
    fn attach_all(&mut self) {
        let ifaces: Vec<String> = self
            .config
            .vrrp_instances
            .iter()
            .map(|vi| vi.interface.clone())
            .collect();
        self.attach(&ifaces);
    }

    /// Attaches the balancer where the config says, once (the link is
    /// pinned, so it stays across BACKUP and restarts).
    fn attach(&mut self, vrrp_interfaces: &[String]) {
        let mut guard = self.balancer.lock().unwrap_or_else(|e| e.into_inner());
        let Some(balancer) = guard.as_mut() else {
            return;
        };
        let g = &self.config.global_defs;
        let mut ifaces = if g.attach_interfaces.is_empty() {
            vrrp_interfaces.to_vec()
        } else {
            g.attach_interfaces.clone()
        };
        ifaces.sort();
        ifaces.dedup();
        let attached = loader::attached_interfaces(&loader::pin_dir(&g.instance));
        let mode = match g.xdp_mode {
            XdpModeName::Native => aya::programs::XdpMode::Driver,
            XdpModeName::Skb => aya::programs::XdpMode::Skb,
        };
        for iface in ifaces.iter().filter(|i| !attached.contains(i)) {
            match balancer.attach(iface, mode) {
                Ok(()) => log::info!("balancer attached to {iface}"),
                Err(e) => log::error!("cannot attach the balancer to {iface}: {e}"),
            }
        }
    }

    /// Once a second: expire connections (keeps lc/wlc counts right) and
    /// retry what failed to apply.
    fn housekeeping(&mut self) {
        {
            let mut guard = self.balancer.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(balancer) = guard.as_mut() {
                if let Err(e) = crate::conns::sweep(&mut balancer.maps) {
                    log::warn!("connection sweep: {e}");
                }
                balancer.flush_logs();
            }
        }
        self.reconcile();
    }

    async fn reload(&mut self, path: &std::path::Path) {
        let config = match Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                log::error!("reload refused, keeping the running config: {e}");
                return;
            }
        };
        log::info!("reloading {}", path.display());
        let mut config = config;
        if config.global_defs != self.config.global_defs {
            // The pins, the attach mode and conn sync belong to the running
            // process; they change at the next start.
            log::warn!("global_defs changed: that part takes effect at the next start");
            config.global_defs = self.config.global_defs.clone();
        }
        let needs_balancer = !config.virtual_servers.is_empty();
        self.config = config;
        let has_balancer = self
            .balancer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        if needs_balancer && !has_balancer {
            if let Err(e) = self.load_balancer() {
                log::error!("cannot load the balancer: {e}");
            }
        }
        self.sync_checkers();
        self.reconcile();
        // A changed instance is stopped (it resigns and removes its VIPs)
        // before its replacement starts, so the two never race for them.
        let wanted = self.config.vrrp_instances.clone();
        self.stop_instances(|c| !wanted.contains(c)).await;
        self.sync_instances();
    }

    async fn serve_metrics(&self, addr: SocketAddr) -> anyhow::Result<JoinHandle<()>> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        log::info!("metrics on http://{}/metrics", listener.local_addr()?);
        let status = self.status.clone();
        let balancer = self.balancer.clone();
        let render = Arc::new(move || {
            let status = status.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let guard = balancer.lock().unwrap_or_else(|e| e.into_inner());
            metrics::render(&status, guard.as_ref().map(|b| &b.maps))
        });
        Ok(tokio::spawn(metrics::serve(listener, render)))
    }
}
