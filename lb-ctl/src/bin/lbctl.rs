//! `lbctl`: ipvsadm's command language over the XDP data plane. All the
//! work is in `lb_ctl::ipvsadm`; this only wires up the process.

use lb_ctl::ipvsadm::{exec::Io, run};
use std::io::Write;

fn main() {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let code = run(
        words,
        &mut Io {
            input: &mut input,
            out: &mut out,
            err: &mut err,
        },
    );
    // exit() skips destructors: flush what the tables wrote.
    let _ = out.flush();
    let _ = err.flush();
    std::process::exit(code);
}
