//! `kv-server [redis.conf] [--option value ...]`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "kv-server v={} (Redis-compatible)",
            kv_backend::cmd::server::REDIS_VERSION
        );
        return;
    }
    let config = match kv_backend::config::Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("*** FATAL CONFIG FILE ERROR ***\n{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = kv_backend::server::run(config) {
        kv_backend::log::log("warning", "server error", &[("error", &e)]);
        std::process::exit(1);
    }
    std::process::exit(0);
}
