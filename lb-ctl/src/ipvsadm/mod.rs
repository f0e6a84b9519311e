//! ipvsadm's language for `lbctl`: argument parsing, the table formats and
//! save/restore. `lbctl` acts on the pinned maps of a running instance
//! directly (no daemon), as ipvsadm acts on the kernel's tables.
//!
//! The instance is `--instance NAME` (anywhere on the line), else
//! `$LBCTL_INSTANCE`, else `lb`; its maps live in /sys/fs/bpf/<instance>.

pub mod args;
pub mod error;
pub mod exec;
pub mod format;
pub mod xdp;

use error::{CliError, CliResult};
use exec::{Context, Io};
use std::path::PathBuf;

/// The instance when neither `--instance` nor `$LBCTL_INSTANCE` names one.
pub const DEFAULT_INSTANCE: &str = "lb";
/// The environment variable that names the instance.
pub const INSTANCE_ENV: &str = "LBCTL_INSTANCE";

/// `-v`.
pub fn version() -> String {
    format!(
        "lbctl v{} (ipvsadm 1.31 command language, IPVS v{} interface, XDP data plane)",
        env!("CARGO_PKG_VERSION"),
        format::IPVS_VERSION
    )
}

/// `-h`.
pub fn usage() -> String {
    format!(
        "{}
Usage:
  lbctl -A|E virtual-service [-s scheduler] [-p [timeout]]
  lbctl -D virtual-service
  lbctl -C
  lbctl -R
  lbctl -S [-n]
  lbctl -a|e virtual-service -r server-address [-g|-i|-m] [-w weight]
  lbctl -d virtual-service -r server-address
  lbctl -L|l [virtual-service] [-n] [-c] [--stats|--rate] [--exact] [--timeout] [--nosort]
  lbctl -Z [virtual-service]
  lbctl --set tcp tcpfin udp
  lbctl attach IFACE [--mode native|skb] [--tunnel-src ADDR]
  lbctl detach IFACE
  lbctl -h

Commands (long or short):
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  attach / detach             put the XDP balancer on / take it off an interface
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is ipv4[:port]
  --udp-service|-u  service-address   service-address is ipv4[:port]

Options:
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|sh|dh|mh, the default is wlc
  --persistent   -p [timeout]         persistent service (default 300 s)
  --real-server  -r server-address    server-address is ipv4 (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --weight       -w weight            capacity of real server (0 drains)
  --connection   -c                   output of current connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --stats                             output of statistics information
  --rate                              output of rate information (measured over 1 s)
  --exact                             expand numbers (display exact values)
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --numeric      -n                   numeric output (always numeric here)
  --instance     NAME                 the data plane in /sys/fs/bpf/NAME (default ${INSTANCE_ENV} or {DEFAULT_INSTANCE})
",
        version()
    )
}

/// Takes `--instance NAME` / `--instance=NAME` out of the words.
fn take_instance(words: &mut Vec<String>) -> CliResult<Option<String>> {
    let Some(i) = words
        .iter()
        .position(|w| w == "--instance" || w.starts_with("--instance="))
    else {
        return Ok(None);
    };
    let word = words.remove(i);
    let name = match word.split_once('=') {
        Some((_, v)) => v.to_string(),
        None if i < words.len() => words.remove(i),
        None => return Err(CliError::usage("--instance: missing argument")),
    };
    Ok(Some(name))
}

/// The pin folder of the instance the words (or the environment) name.
fn instance_dir(words: &mut Vec<String>) -> CliResult<PathBuf> {
    let name = match take_instance(words)? {
        Some(n) => n,
        None => std::env::var(INSTANCE_ENV).unwrap_or_else(|_| DEFAULT_INSTANCE.to_string()),
    };
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(CliError::usage(format!("illegal instance name `{name}'")));
    }
    Ok(crate::loader::pin_dir(&name))
}

fn dispatch(mut words: Vec<String>, io: &mut Io<'_>) -> CliResult<()> {
    let pin_dir = instance_dir(&mut words)?;
    match words.first().map(String::as_str) {
        Some("attach") => xdp::attach(&pin_dir, &xdp::parse_attach(&words[1..])?),
        Some("detach") => xdp::detach(&pin_dir, &xdp::parse_detach(&words[1..])?),
        _ => {
            // As ipvsadm: no arguments lists the table.
            let inv = if words.is_empty() {
                args::parse(&["-L".to_string()])?
            } else {
                args::parse(&words)?
            };
            exec::execute(&inv, &mut Context::new(pin_dir), io, false)
        }
    }
}

/// Runs one `lbctl` command line (without the program name) and returns
/// the exit status; errors go to `err` in ipvsadm's words.
pub fn run(words: Vec<String>, io: &mut Io<'_>) -> i32 {
    match dispatch(words, io) {
        Ok(()) => 0,
        Err(e) => {
            if !e.message.is_empty() {
                let _ = writeln!(io.err, "{e}");
            }
            e.code
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_comes_from_the_flag_first() {
        let mut w: Vec<String> = ["-L", "--instance", "blue", "-n"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            instance_dir(&mut w).unwrap(),
            PathBuf::from("/sys/fs/bpf/blue")
        );
        assert_eq!(w, ["-L", "-n"]);
        let mut w = vec!["--instance=red".to_string()];
        assert_eq!(
            instance_dir(&mut w).unwrap(),
            PathBuf::from("/sys/fs/bpf/red")
        );
        let mut w = vec!["--instance=../x".to_string()];
        assert_eq!(instance_dir(&mut w).unwrap_err().code, 2);
        let mut w = vec!["--instance".to_string()];
        assert_eq!(instance_dir(&mut w).unwrap_err().code, 2);
    }
}
