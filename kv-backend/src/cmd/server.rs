//! Connection and server commands: PING, ECHO, AUTH, HELLO, SELECT is in
//! generic; CLIENT, CONFIG, INFO, COMMAND, TIME, DEBUG, SHUTDOWN, QUIT.

use super::{eq_ic, err, float_arg, int_arg, CmdError, CmdResult, Ctx, SYNTAX};
use crate::db::Access;
use crate::types::{sds, Sds, Value};
use crate::util::glob_match;
use bytes::Bytes;

pub const REDIS_VERSION: &str = "7.0.15";

pub fn unknown_sub(argv: &[Bytes]) -> CmdError {
    err(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(&argv[1]),
        String::from_utf8_lossy(&argv[0]).to_ascii_uppercase()
    ))
}

pub fn sub_arity(argv: &[Bytes], sub: &str) -> CmdError {
    err(format!(
        "ERR wrong number of arguments for '{}|{}' command",
        String::from_utf8_lossy(&argv[0]).to_ascii_lowercase(),
        sub
    ))
}

pub fn ping(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 2 {
        return Err(err("ERR wrong number of arguments for 'ping' command"));
    }
    if !ctx.client.resp3 && ctx.client.subscriptions() > 0 {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(argv.get(1).map_or(&b""[..], |a| a));
        return Ok(());
    }
    match argv.get(1) {
        Some(a) => ctx.out.bulk(a),
        None => ctx.out.simple("PONG"),
    }
    Ok(())
}

pub fn echo(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&argv[1]);
    Ok(())
}

pub fn quit(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    ctx.out.ok();
    Ok(())
}

fn password_ok(ctx: &Ctx, user: &[u8], pass: &[u8]) -> bool {
    user == b"default"
        && ctx
            .store
            .config
            .requirepass
            .as_deref()
            .is_none_or(|p| p.as_bytes() == pass)
}

pub fn auth(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        return Err(err(SYNTAX));
    }
    let (user, pass) = if argv.len() == 3 {
        (&argv[1][..], &argv[2][..])
    } else {
        (&b"default"[..], &argv[1][..])
    };
    if argv.len() == 2 && ctx.store.config.requirepass.is_none() {
        return Err(err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    }
    if !password_ok(ctx, user, pass) {
        return Err(err(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    ctx.client.authenticated = true;
    ctx.out.ok();
    Ok(())
}

pub fn hello(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if argv.len() > 1 {
        let v = int_arg(&argv[1])
            .map_err(|_| err("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(err("NOPROTO unsupported protocol version"));
        }
        proto = Some(v);
        i = 2;
    }
    let mut setname = None;
    while i < argv.len() {
        if eq_ic(&argv[i], "AUTH") && i + 2 < argv.len() {
            if !password_ok(ctx, &argv[i + 1], &argv[i + 2]) {
                return Err(err(
                    "WRONGPASS invalid username-password pair or user is disabled.",
                ));
            }
            ctx.client.authenticated = true;
            i += 3;
        } else if eq_ic(&argv[i], "SETNAME") && i + 1 < argv.len() {
            setname = Some(check_client_name(&argv[i + 1])?);
            i += 2;
        } else {
            return Err(err(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&argv[i])
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = setname {
        ctx.client.name = n;
    }
    if let Some(p) = proto {
        ctx.client.resp3 = p == 3;
        ctx.out.resp3 = p == 3;
    }
    let o = &mut ctx.out;
    o.map(7);
    o.bulk(b"server");
    o.bulk(b"redis");
    o.bulk(b"version");
    o.bulk(REDIS_VERSION.as_bytes());
    o.bulk(b"proto");
    o.int(if ctx.client.resp3 { 3 } else { 2 });
    o.bulk(b"id");
    o.int(ctx.client.id as i64);
    o.bulk(b"mode");
    o.bulk(b"standalone");
    o.bulk(b"role");
    o.bulk(b"master");
    o.bulk(b"modules");
    o.array(0);
    Ok(())
}

pub fn check_client_name(name: &[u8]) -> Result<Option<String>, CmdError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(err(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(if name.is_empty() {
        None
    } else {
        Some(String::from_utf8_lossy(name).into_owned())
    })
}

pub use super::client::client;

pub fn config(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" if argv.len() >= 3 => {
            let names = ctx.store.config.names();
            let mut pairs: Vec<(String, String)> = Vec::new();
            for pat in &argv[2..] {
                let pat = pat.to_ascii_lowercase();
                for n in &names {
                    if glob_match(&pat, n.as_bytes(), true) && !pairs.iter().any(|(k, _)| k == n) {
                        pairs.push((n.clone(), ctx.store.config.get(n).unwrap_or_default()));
                    }
                }
            }
            ctx.out.map(pairs.len());
            for (k, v) in pairs {
                ctx.out.bulk(k.as_bytes());
                ctx.out.bulk(v.as_bytes());
            }
        }
        "set" if argv.len() >= 4 && argv.len().is_multiple_of(2) => {
            let mut next = ctx.store.config.clone();
            for kv in argv[2..].chunks(2) {
                let name = String::from_utf8_lossy(&kv[0]).to_ascii_lowercase();
                let value = String::from_utf8_lossy(&kv[1]).into_owned();
                if let Err(e) = next.set(&name, &value, false) {
                    if e == "unknown option" {
                        return Err(err(format!(
                            "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                        )));
                    }
                    return Err(err(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
                    )));
                }
            }
            ctx.store.config = next;
            ctx.out.ok();
        }
        "resetstat" if argv.len() == 2 => {
            ctx.store.stats = Default::default();
            crate::stats::reset_net_counters();
            ctx.out.ok();
        }
        "rewrite" if argv.len() == 2 => {
            return Err(err("ERR The server is running without a config file"))
        }
        "help" if argv.len() == 2 => {
            let lines = [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Prints this help.",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        // Enough arguments (dispatch checked the arity) but not in pairs.
        "set" if argv.len() >= 4 => return Err(err(SYNTAX)),
        "get" | "set" | "resetstat" | "rewrite" | "help" => return Err(sub_arity(argv, &sub)),
        _ => return Err(unknown_sub(argv)),
    }
    Ok(())
}

pub fn time(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk(d.as_secs().to_string().as_bytes());
    ctx.out.bulk(d.subsec_micros().to_string().as_bytes());
    Ok(())
}

pub fn lastsave(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.store.start_ms / 1000);
    Ok(())
}

/// ROLE: a standalone server is a master with replication offset 0 and no
/// replicas (replication comes with a later issue).
pub fn role(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}

/// DEBUG is off by default in Redis 7 (`enable-debug-command no|yes|local`).
fn debug_allowed(ctx: &Ctx) -> bool {
    match ctx
        .store
        .config
        .passive
        .get("enable-debug-command")
        .map(String::as_str)
    {
        Some("yes") => true,
        Some("local") => ctx.client.local,
        _ => false,
    }
}

pub fn debug(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if !debug_allowed(ctx) {
        return Err(err("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."));
    }
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "sleep" if argv.len() == 3 => {
            let secs = float_arg(&argv[2])?.max(0.0);
            // Redis blocks the whole server here; holding the lock does the same.
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
            ctx.out.ok();
        }
        "populate" if (3..=5).contains(&argv.len()) => {
            let count = int_arg(&argv[2])?;
            if count < 0 {
                return Err(err("ERR value is out of range, must be positive"));
            }
            let prefix = argv.get(3).map_or(&b"key"[..], |p| p);
            let size = match argv.get(4) {
                Some(s) => Some(int_arg(s)?.max(0) as usize),
                None => None,
            };
            populate(ctx, count as usize, prefix, size);
            ctx.out.ok();
        }
        "set-active-expire" if argv.len() == 3 => {
            crate::server::ACTIVE_EXPIRE.store(
                int_arg(&argv[2])? != 0,
                std::sync::atomic::Ordering::Relaxed,
            );
            ctx.out.ok();
        }
        "object" if argv.len() == 3 => {
            let Some(e) = ctx.lookup(&argv[2], Access::NoTouch) else {
                return Err(err(super::NO_KEY));
            };
            let line = format!(
                "Value at:0x0 refcount:1 encoding:{} serializedlength:0 lru:{} lru_seconds_idle:0",
                e.val.encoding(),
                e.lru
            );
            ctx.out.simple(&line);
        }
        "help" => {
            ctx.out.array(3);
            for l in [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "SLEEP <seconds>",
                "POPULATE <count> [<prefix>] [<size>]",
            ] {
                ctx.out.simple(l);
            }
        }
        _ => {
            return Err(err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                String::from_utf8_lossy(&argv[1])
            )))
        }
    }
    Ok(())
}

/// DEBUG POPULATE: keys `prefix:N` with values `value:N` (zero-padded to
/// `size` bytes if given); existing keys are left alone, as in Redis.
fn populate(ctx: &mut Ctx, count: usize, prefix: &[u8], size: Option<usize>) {
    let db = ctx.client.db;
    let lru = ctx.store.fresh_lru(ctx.now);
    // Reserve up front (bounded: the count comes from the client).
    ctx.store.dbs[db].keys.reserve_exact(count.min(1 << 24));
    let mut key = Vec::with_capacity(prefix.len() + 12);
    for i in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.extend_from_slice(format!(":{i}").as_bytes());
        if ctx.store.dbs[db].keys.contains_key(key.as_slice()) {
            continue;
        }
        let mut val = format!("value:{i}").into_bytes();
        if let Some(s) = size {
            val.resize(s, 0);
        }
        let v = if val.len() <= crate::types::EMBSTR_MAX {
            Value::Embstr(sds(&val))
        } else {
            Value::Raw(sds(&val))
        };
        ctx.store.dbs[db].insert(Sds::from_slice(&key), crate::db::Entry { val: v, lru });
    }
}

pub fn shutdown(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    for a in &argv[1..] {
        if !["NOSAVE", "SAVE", "NOW", "FORCE", "ABORT"]
            .iter()
            .any(|o| eq_ic(a, o))
        {
            return Err(err(SYNTAX));
        }
    }
    if argv[1..].iter().any(|a| eq_ic(a, "ABORT")) {
        return Err(err("ERR No shutdown in progress."));
    }
    ctx.store.shutdown = true;
    ctx.client.close_after_reply = true;
    Ok(())
}

pub fn info(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let sections: Vec<String> = argv[1..]
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    crate::server::sync_client_info(ctx.store, ctx.client, ctx.now);
    let text = crate::info::render(ctx.store, &sections, ctx.now);
    ctx.out.verbatim(&text);
    Ok(())
}

pub fn reset(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    super::tx::discard_state(ctx);
    super::pubsub::unsubscribe_all(ctx);
    ctx.client.db = 0;
    ctx.client.resp3 = false;
    ctx.out.resp3 = false;
    ctx.client.name = None;
    ctx.client.authenticated = ctx.store.config.requirepass.is_none();
    ctx.out.simple("RESET");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn hello_switches_protocol() {
        let mut h = Harness::new();
        assert!(h
            .run("HELLO 3")
            .starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"));
        assert_eq!(h.run("GET nokey"), "_\r\n");
        assert_eq!(
            h.run("HELLO 4"),
            "-NOPROTO unsupported protocol version\r\n"
        );
    }

    #[test]
    fn config_get_set() {
        let mut h = Harness::new();
        assert_eq!(h.run("CONFIG SET maxmemory 1mb"), "+OK\r\n");
        assert_eq!(
            h.run("CONFIG GET maxmemory"),
            "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n"
        );
        assert_eq!(h.run("CONFIG SET port 1"), "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n");
        assert!(h.run("INFO memory").contains("maxmemory:1048576"));
    }
}
