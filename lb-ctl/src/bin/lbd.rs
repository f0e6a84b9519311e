//! `lbd --config services.yaml`: keepalived's job over the XDP balancer.
//! `lbd --check --config F` only validates the file.

use clap::Parser;
use lb_ctl::lbd::{config::Config, daemon, logging, vip};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lbd",
    about = "VRRPv3, health checks and services for the XDP balancer"
)]
struct Args {
    /// The YAML configuration (DESIGN.md §5).
    #[arg(short = 'f', long, default_value = "/etc/lbd/lbd.yaml")]
    config: PathBuf,
    /// Only validate the configuration.
    #[arg(long)]
    check: bool,
    /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9469.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Run without the VIP watchdog (a SIGKILL then leaves VIPs behind,
    /// as with keepalived).
    #[arg(long)]
    no_watchdog: bool,
    /// error, warn, info, debug or trace.
    #[arg(long, default_value = "info", value_parser = parse_level)]
    log_level: log::LevelFilter,
    /// Internal: be the VIP watchdog of the lbd whose pipe is our stdin.
    #[arg(long, hide = true)]
    watchdog: bool,
}

fn parse_level(s: &str) -> Result<log::LevelFilter, String> {
    s.parse().map_err(|_| format!("`{s}` is not a log level"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.watchdog {
        let code = vip::watchdog_main(std::io::stdin().lock());
        return ExitCode::from(code as u8);
    }
    if args.check {
        return match Config::load(&args.config) {
            Ok(c) => {
                println!(
                    "{}: OK ({} vrrp instance(s), {} virtual server(s))",
                    args.config.display(),
                    c.vrrp_instances.len(),
                    c.virtual_servers.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    logging::init(args.log_level);
    let watchdog_exe = if args.no_watchdog {
        None
    } else {
        std::env::current_exe().ok()
    };
    let opts = daemon::Options {
        config_path: args.config,
        metrics: args.metrics,
        watchdog_exe,
    };
    match daemon::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lbd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
