//! CLIENT and its subcommands: ID, INFO, LIST, KILL, SETNAME, GETNAME,
//! REPLY, PAUSE, UNPAUSE, UNBLOCK, NO-EVICT, HELP.

use super::server::{check_client_name, sub_arity, unknown_sub};
use super::slowlog::help_reply;
use super::{eq_ic, err, int_arg, CmdError, CmdResult, Ctx, SYNTAX};
use crate::blocking::BlockOp;
use crate::clients::{ClientInfo, Push};
use crate::db::{ClientId, Store};
use bytes::Bytes;

/// (name, arity) of each subcommand, as Redis' command table has them.
const SUBCOMMANDS: &[(&str, i32)] = &[
    ("getname", 2),
    ("help", 2),
    ("id", 2),
    ("info", 2),
    ("kill", -3),
    ("list", -2),
    ("no-evict", 3),
    ("pause", -3),
    ("reply", 3),
    ("setname", 3),
    ("unblock", -3),
    ("unpause", 2),
];

/// Redis' reply when a subcommand's own argument count is off.
fn syntax_error_for(argv: &[Bytes]) -> CmdError {
    err(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
        String::from_utf8_lossy(&argv[1])
    ))
}

pub fn client(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let Some(&(_, arity)) = SUBCOMMANDS.iter().find(|(n, _)| *n == sub) else {
        return Err(unknown_sub(argv));
    };
    let n = argv.len() as i32;
    if (arity > 0 && n != arity) || n < -arity {
        return Err(sub_arity(argv, &sub));
    }
    match sub.as_str() {
        "id" => ctx.out.int(ctx.client.id as i64),
        "setname" => {
            ctx.client.name = check_client_name(&argv[2])?;
            ctx.out.ok();
        }
        "getname" => match &ctx.client.name {
            Some(n) => ctx.out.bulk(n.as_bytes()),
            None => ctx.out.null(),
        },
        "list" => list(ctx, argv)?,
        "info" => {
            crate::server::sync_client_info(ctx.store, ctx.client, ctx.now);
            let line = ctx
                .store
                .clients
                .map
                .get(&ctx.client.id)
                .map(|c| client_line(ctx.store, c, ctx.now) + "\n")
                .unwrap_or_default();
            ctx.out.verbatim(&line);
        }
        "kill" => kill(ctx, argv)?,
        "reply" => reply(ctx, argv)?,
        "no-evict" => {
            ctx.client.no_evict = on_off(&argv[2])?;
            ctx.out.ok();
        }
        "pause" => pause(ctx, argv)?,
        "unpause" => {
            ctx.store.admin.pause = Default::default();
            ctx.out.ok();
        }
        "unblock" => unblock(ctx, argv)?,
        _ => help(ctx, argv),
    }
    Ok(())
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(arg, "on") {
        Ok(true)
    } else if eq_ic(arg, "off") {
        Ok(false)
    } else {
        Err(err(SYNTAX))
    }
}

/// Client types of CLIENT LIST TYPE / CLIENT KILL TYPE.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn client_type(arg: &[u8]) -> Result<ClientType, CmdError> {
    let name = String::from_utf8_lossy(arg);
    match name.to_ascii_lowercase().as_str() {
        "normal" => Ok(ClientType::Normal),
        "slave" | "replica" => Ok(ClientType::Replica),
        "pubsub" => Ok(ClientType::PubSub),
        "master" => Ok(ClientType::Master),
        _ => Err(err(format!("ERR Unknown client type '{name}'"))),
    }
}

/// Our clients are normal or pub/sub (MONITOR clients count as normal).
fn type_of(c: &ClientInfo) -> ClientType {
    if c.sub + c.psub > 0 {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

/// Redis' flag letters, in its order: O (monitor), P, x, b, d, e; N if none.
fn flags(store: &Store, c: &ClientInfo) -> String {
    let mut f = String::new();
    if store.admin.monitors.iter().any(|(m, _)| *m == c.id) {
        f.push('O');
    }
    if c.sub + c.psub > 0 {
        f.push('P');
    }
    if c.multi >= 0 {
        f.push('x');
    }
    if store.blocking.waiters.contains_key(&c.id) {
        f.push('b');
    }
    if c.multi >= 0 && store.dirty_cas.contains(&c.id) {
        f.push('d');
    }
    if c.no_evict {
        f.push('e');
    }
    if f.is_empty() {
        f.push('N');
    }
    f
}

fn client_line(store: &Store, c: &ClientInfo, now: i64) -> String {
    c.line(now, &flags(store, c))
}

fn list(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    crate::server::sync_client_info(ctx.store, ctx.client, ctx.now);
    let mut wanted_type = None;
    let mut ids: Option<Vec<ClientId>> = None;
    if argv.len() == 4 && eq_ic(&argv[2], "type") {
        wanted_type = Some(client_type(&argv[3])?);
    } else if argv.len() > 3 && eq_ic(&argv[2], "id") {
        let mut v = Vec::with_capacity(argv.len() - 3);
        for a in &argv[3..] {
            let id = int_arg(a).map_err(|_| err("ERR Invalid client ID"))?;
            v.push(id as ClientId);
        }
        ids = Some(v);
    } else if argv.len() != 2 {
        return Err(err(SYNTAX));
    }
    let store = &*ctx.store;
    let mut text = String::new();
    match ids {
        // In the order asked, as Redis does.
        Some(ids) => {
            for id in ids {
                if let Some(c) = store.clients.map.get(&id) {
                    text.push_str(&client_line(store, c, ctx.now));
                    text.push('\n');
                }
            }
        }
        None => {
            for c in store.clients.map.values() {
                if wanted_type.is_none_or(|t| type_of(c) == t) {
                    text.push_str(&client_line(store, c, ctx.now));
                    text.push('\n');
                }
            }
        }
    }
    ctx.out.verbatim(&text);
    Ok(())
}

/// What CLIENT KILL's new form filters on.
#[derive(Default)]
struct KillFilter {
    id: Option<ClientId>,
    addr: Option<String>,
    laddr: Option<String>,
    kind: Option<ClientType>,
    skipme: bool,
}

fn kill_filter(argv: &[Bytes]) -> Result<KillFilter, CmdError> {
    let mut f = KillFilter {
        skipme: true,
        ..Default::default()
    };
    let mut i = 2;
    while i < argv.len() {
        let Some(value) = argv.get(i + 1) else {
            return Err(err(SYNTAX));
        };
        let option = String::from_utf8_lossy(&argv[i]).to_ascii_lowercase();
        match option.as_str() {
            "id" => match int_arg(value) {
                Ok(n) if n >= 1 => f.id = Some(n as ClientId),
                _ => return Err(err("ERR client-id should be greater than 0")),
            },
            "type" => f.kind = Some(client_type(value)?),
            "addr" => f.addr = Some(String::from_utf8_lossy(value).into_owned()),
            "laddr" => f.laddr = Some(String::from_utf8_lossy(value).into_owned()),
            "user" => {
                if &value[..] != b"default" {
                    return Err(err(format!(
                        "ERR No such user '{}'",
                        String::from_utf8_lossy(value)
                    )));
                }
            }
            "skipme" => {
                f.skipme = if eq_ic(value, "yes") {
                    true
                } else if eq_ic(value, "no") {
                    false
                } else {
                    return Err(err(SYNTAX));
                }
            }
            _ => return Err(err(SYNTAX)),
        }
        i += 2;
    }
    Ok(f)
}

fn kill(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    crate::server::sync_client_info(ctx.store, ctx.client, ctx.now);
    let old_form = argv.len() == 3;
    let filter = if old_form {
        // CLIENT KILL ip:port; this form may kill the caller itself.
        KillFilter {
            addr: Some(String::from_utf8_lossy(&argv[2]).into_owned()),
            skipme: false,
            ..Default::default()
        }
    } else {
        kill_filter(argv)?
    };
    let me = ctx.client.id;
    let victims: Vec<ClientId> = ctx
        .store
        .clients
        .map
        .values()
        .filter(|c| filter.addr.as_ref().is_none_or(|a| &c.addr == a))
        .filter(|c| filter.laddr.as_ref().is_none_or(|a| &c.laddr == a))
        .filter(|c| filter.kind.is_none_or(|t| type_of(c) == t))
        .filter(|c| filter.id.is_none_or(|id| c.id == id))
        .filter(|c| !(filter.skipme && c.id == me))
        .map(|c| c.id)
        .collect();
    for &id in &victims {
        if id == me {
            ctx.client.close_after_reply = true;
        } else if let Some(c) = ctx.store.clients.map.get(&id) {
            let _ = c.tx.send(Push::Kill);
        }
    }
    if old_form {
        if victims.is_empty() {
            return Err(err("ERR No such client"));
        }
        ctx.out.ok();
    } else {
        ctx.out.int(victims.len() as i64);
    }
    Ok(())
}

fn reply(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mode = &argv[2];
    if eq_ic(mode, "on") {
        ctx.client.reply_off = false;
        ctx.client.skip_next_reply = false;
        ctx.client.skip_this_reply = false;
        ctx.out.ok();
    } else if eq_ic(mode, "off") {
        ctx.client.reply_off = true;
    } else if eq_ic(mode, "skip") {
        if !ctx.client.reply_off {
            ctx.client.skip_next_reply = true;
        }
    } else {
        return Err(err(SYNTAX));
    }
    Ok(())
}

fn pause(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 4 {
        return Err(syntax_error_for(argv));
    }
    let all = match argv.get(3) {
        None => true,
        Some(m) if eq_ic(m, "write") => false,
        Some(m) if eq_ic(m, "all") => true,
        Some(_) => return Err(err("ERR CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let ms = int_arg(&argv[2]).map_err(|_| err("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(err("ERR timeout is negative"));
    }
    // As Redis: 0 ms means an end time in the past (no pause).
    let until = if ms > 0 {
        ctx.now.saturating_add(ms)
    } else {
        0
    };
    ctx.store.admin.pause.extend(ctx.now, until, all);
    ctx.out.ok();
    Ok(())
}

fn unblock(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 4 {
        return Err(syntax_error_for(argv));
    }
    let as_error = match argv.get(3) {
        None => false,
        Some(r) if eq_ic(r, "timeout") => false,
        Some(r) if eq_ic(r, "error") => true,
        Some(_) => return Err(err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    };
    let id = int_arg(&argv[2])?;
    let waiter = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.store.blocking.unblock(id));
    let Some(w) = waiter else {
        ctx.out.int(0);
        return Ok(());
    };
    let reply: &[u8] = if as_error {
        let msg = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
        ctx.store.stats.total_error_replies += 1;
        ctx.store.stats.errors.count(msg);
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    } else if w.resp3 {
        b"_\r\n"
    } else if matches!(w.op, BlockOp::Move { .. }) {
        b"$-1\r\n"
    } else {
        b"*-1\r\n"
    };
    let _ = w.tx.send(reply.to_vec());
    ctx.out.int(1);
    Ok(())
}

fn help(ctx: &mut Ctx, argv: &[Bytes]) {
    help_reply(
        ctx,
        argv,
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    );
}
