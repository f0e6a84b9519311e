//! `tb-echo --port P --id NAME [--bind ADDR] [--mode tcp|udp|both]`: answers every TCP line and
//! UDP datagram with `<NAME> <line>`. See `testbed::echo`.

use std::process::ExitCode;

use testbed::echo::{serve, EchoConfig, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match EchoConfig::from_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("tb-echo: {e:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match serve(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tb-echo: {e:#}");
            ExitCode::FAILURE
        }
    }
}
