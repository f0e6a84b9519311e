//! `coord-server [zoo.cfg] [--port N] [--data-dir DIR]`

use coord::config::Config;
use std::path::PathBuf;
use std::process::exit;

const USAGE: &str = "usage: coord-server [zoo.cfg] [--port PORT] [--data-dir DIR]";

fn parse_args() -> Result<Config, String> {
    let mut args = std::env::args().skip(1);
    let mut cfg_path: Option<PathBuf> = None;
    let mut port: Option<u16> = None;
    let mut data_dir: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let v = args.next().ok_or("--port needs a value")?;
                port = Some(v.parse().map_err(|_| format!("--port {v}: not a port number"))?);
            }
            "--data-dir" => data_dir = Some(PathBuf::from(args.next().ok_or("--data-dir needs a value")?)),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other if other.starts_with('-') => return Err(format!("unknown option {other}\n{USAGE}")),
            other if cfg_path.is_none() => cfg_path = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}\n{USAGE}")),
        }
    }
    let mut cfg = match cfg_path {
        Some(p) => Config::load(&p)?,
        None => Config::default(),
    };
    if let Some(p) = port {
        cfg.client_port = p;
    }
    if let Some(d) = data_dir {
        cfg.data_dir = d.clone();
        cfg.data_log_dir = d;
    }
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| format!("data dir {}: {e}", cfg.data_dir.display()))?;
    cfg.read_myid()?;
    Ok(cfg)
}

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("coord-server: {e}");
            exit(1);
        }
    };
    if let Err(e) = coord::server::run(cfg) {
        eprintln!("coord-server: {e}");
        exit(1);
    }
}
