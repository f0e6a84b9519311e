//! `lbxdp`: the XDP programs of the hosts around the director, pinned so
//! they outlive this command.
//!
//!   lbxdp decap IFACE --local ADDR [--local ADDR ...] [--mode native|skb]
//!       strip IP-in-IP addressed to ADDR (a TUN real server: these kernels
//!       have no ipip module)
//!   lbxdp pass IFACE [--mode native|skb]
//!       an XDP_PASS program, for veth peers of a director (native XDP_TX
//!       into a veth needs a program on the receiving end)
//!   lbxdp detach IFACE
//!
//! `--instance NAME` (or LBXDP_INSTANCE) picks the pin folder
//! /sys/fs/bpf/NAME (default `lbxdp`).

use lb_ctl::loader::{self, xdp_mode, Decap};
use std::net::Ipv4Addr;
use std::process::ExitCode;

const USAGE: &str = "usage: lbxdp decap IFACE --local ADDR [--local ADDR ...] [--mode native|skb]\n       lbxdp pass IFACE [--mode native|skb]\n       lbxdp detach IFACE\n       (all take --instance NAME)";

struct Args {
    command: String,
    iface: String,
    locals: Vec<Ipv4Addr>,
    mode: String,
    instance: String,
}

fn parse(argv: &[String]) -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut locals = Vec::new();
    let mut mode = "native".to_string();
    let mut instance = std::env::var("LBXDP_INSTANCE").unwrap_or_else(|_| "lbxdp".into());
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--local" => {
                let v = value("--local")?;
                locals.push(v.parse().map_err(|_| format!("bad address `{v}`"))?);
            }
            "--mode" => mode = value("--mode")?,
            "--instance" => instance = value("--instance")?,
            "-h" | "--help" => return Err(USAGE.into()),
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other => positional.push(other.to_string()),
        }
    }
    let [command, iface] = <[String; 2]>::try_from(positional).map_err(|_| USAGE.to_string())?;
    if command == "decap" && locals.is_empty() {
        return Err("decap needs at least one --local ADDR".into());
    }
    Ok(Args {
        command,
        iface,
        locals,
        mode,
        instance,
    })
}

fn run(args: &Args) -> lb_ctl::Result<()> {
    let dir = loader::pin_dir(&args.instance);
    match args.command.as_str() {
        "decap" | "pass" => {
            let mode = xdp_mode(&args.mode)?;
            let mut decap = Decap::load(Some(&dir))?;
            if args.command == "decap" {
                for &addr in &args.locals {
                    decap.add_local_address(addr)?;
                }
                decap.attach(&args.iface, mode)
            } else {
                decap.attach_pass(&args.iface, mode)
            }
        }
        "detach" => loader::detach(&dir, &args.iface),
        other => Err(lb_ctl::LbError::Other(format!(
            "unknown command `{other}`\n{USAGE}"
        ))),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lbxdp: {e}");
            ExitCode::FAILURE
        }
    }
}
