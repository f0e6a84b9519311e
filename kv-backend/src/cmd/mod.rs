//! Command table and dispatch: lookup, arity, AUTH, pub/sub context, MULTI
//! queueing, OOM checks, then the command itself. One file per command family.

pub mod bitfield;
pub mod bitmap;
pub mod bloom;
pub mod client;
pub mod command;
pub mod docs;
pub mod dump;
pub mod generic;
pub mod hash;
pub mod keys;
pub mod lcs;
pub mod list;
pub mod memory;
pub mod meta;
pub mod pubsub;
pub mod server;
pub mod set;
pub mod slowlog;
pub mod sort;
pub mod string;
pub mod table;
#[cfg(test)]
pub mod testutil;
pub mod tx;
pub mod zset;

use crate::blocking::BlockOp;
use crate::clients::Push;
use crate::db::{Access, ClientId, Entry, Store};
use crate::frame::Reply;
use crate::types::{HashSet, Sds, Value};
use crate::util::{parse_f64, parse_i64_strict};
use bytes::Bytes;
use tokio::sync::{mpsc::UnboundedSender, oneshot};

/// An error reply, with its prefix (`ERR ...`, `WRONGTYPE ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct CmdError(pub String);

pub type CmdResult = Result<(), CmdError>;

pub fn err(msg: impl Into<String>) -> CmdError {
    CmdError(msg.into())
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const NO_KEY: &str = "ERR no such key";

pub fn wrongtype() -> CmdError {
    err(WRONGTYPE)
}

pub fn int_arg(b: &[u8]) -> Result<i64, CmdError> {
    parse_i64_strict(b).ok_or_else(|| err(NOT_INT))
}

pub fn float_arg(b: &[u8]) -> Result<f64, CmdError> {
    parse_f64(b).ok_or_else(|| err(NOT_FLOAT))
}

/// A positive count argument, with Redis' "must be positive" wording.
pub fn positive_arg(b: &[u8]) -> Result<usize, CmdError> {
    match parse_i64_strict(b) {
        Some(n) if n > 0 => Ok(n as usize),
        Some(_) => Err(err("ERR value is out of range, must be positive")),
        None => Err(err(NOT_INT)),
    }
}

pub fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// The optional non-negative COUNT of LPOP/RPOP/SPOP/ZPOPMIN/ZPOPMAX.
pub fn optional_count(arg: Option<&Bytes>) -> Result<Option<usize>, CmdError> {
    match arg {
        None => Ok(None),
        Some(c) => {
            let n = int_arg(c)?;
            if n < 0 {
                return Err(err("ERR value is out of range, must be positive"));
            }
            Ok(Some(n as usize))
        }
    }
}

/// A blocking command that found nothing: where the connection should wait.
#[derive(Debug)]
pub struct Blocked {
    pub rx: oneshot::Receiver<Vec<u8>>,
    /// BLMOVE/BRPOPLPUSH time out with a nil bulk, the others with a nil array.
    pub nil_is_bulk: bool,
    /// None = forever.
    pub timeout: Option<std::time::Duration>,
}

/// Per-connection state that commands can read and change.
#[derive(Debug)]
pub struct Client {
    pub id: ClientId,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    pub name: Option<String>,
    pub multi: Option<Vec<Vec<Bytes>>>,
    pub multi_error: bool,
    /// WATCHed keys: (db, key).
    pub watched: Vec<(usize, Sds)>,
    pub channels: HashSet<Sds>,
    pub patterns: HashSet<Sds>,
    pub tx: UnboundedSender<Push>,
    pub blocked: Option<Blocked>,
    pub close_after_reply: bool,
    pub last_cmd: &'static str,
    /// Connected from a loopback address (for `enable-debug-command local`).
    pub local: bool,
    /// CLIENT REPLY OFF: replies are dropped.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP: drop the reply of the next command...
    pub skip_next_reply: bool,
    /// ...which is this one.
    pub skip_this_reply: bool,
    /// CLIENT NO-EVICT (shown as the `e` flag).
    pub no_evict: bool,
    /// (UN)SUBSCRIBE confirmations written while replies are dropped: Redis
    /// 7.0 sends them anyway (they are pushes), so they bypass REPLY OFF/SKIP.
    pub pushes_despite_reply_off: Vec<u8>,
}

impl Client {
    pub fn new(id: ClientId, tx: UnboundedSender<Push>, authenticated: bool) -> Self {
        Client {
            id,
            db: 0,
            resp3: false,
            authenticated,
            name: None,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            channels: HashSet::default(),
            patterns: HashSet::default(),
            tx,
            blocked: None,
            close_after_reply: false,
            last_cmd: "NULL",
            local: false,
            reply_off: false,
            skip_next_reply: false,
            skip_this_reply: false,
            no_evict: false,
            pushes_despite_reply_off: Vec::new(),
        }
    }

    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// What a command runs against.
pub struct Ctx<'a> {
    pub store: &'a mut Store,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    pub now: i64,
    /// True while EXEC runs queued commands: blocking commands don't block.
    pub in_exec: bool,
}

/// Typed access to keys, with WRONGTYPE checks. Each returns Ok(None) for a
/// missing key.
macro_rules! typed_getter {
    ($name:ident, $variant:ident, $ty:ty) => {
        pub fn $name(&mut self, key: &[u8], access: Access) -> Result<Option<&mut $ty>, CmdError> {
            let db = self.client.db;
            match self.store.lookup(db, key, self.now, access) {
                None => Ok(None),
                Some(Entry {
                    val: Value::$variant(v),
                    ..
                }) => Ok(Some(v)),
                Some(_) => Err(wrongtype()),
            }
        }
    };
}

impl Ctx<'_> {
    pub fn db(&self) -> usize {
        self.client.db
    }

    pub fn lookup(&mut self, key: &[u8], access: Access) -> Option<&mut Entry> {
        let db = self.client.db;
        self.store.lookup(db, key, self.now, access)
    }

    pub fn modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.store.signal_modified(db, key);
    }

    /// Deletes the key if a command left its collection empty.
    pub fn delete_if_empty(&mut self, key: &[u8]) {
        let db = self.client.db;
        let empty = match self.store.dbs[db].keys.get(key).map(|e| &e.val) {
            Some(Value::List(l)) => l.is_empty(),
            Some(Value::Hash(h)) => h.map.is_empty(),
            Some(Value::Set(s)) => s.is_empty(),
            Some(Value::ZSet(z)) => z.is_empty(),
            _ => false,
        };
        if empty {
            self.store.remove(db, key);
        }
    }

    /// Creates the key with `make()` if it is missing; WRONGTYPE if the
    /// existing value fails `is_type`.
    pub fn ensure(
        &mut self,
        key: &[u8],
        is_type: fn(&Value) -> bool,
        make: impl FnOnce() -> Value,
    ) -> Result<&mut Value, CmdError> {
        let db = self.client.db;
        let now = self.now;
        let exists = self.store.lookup(db, key, now, Access::Write).is_some();
        if !exists {
            let lru = self.store.fresh_lru(now);
            self.store.dbs[db].insert(Sds::from_slice(key), Entry { val: make(), lru });
        }
        let e = self.store.dbs[db].keys.get_mut(key).expect("present");
        if !is_type(&e.val) {
            return Err(wrongtype());
        }
        Ok(&mut e.val)
    }

    /// Checks that a key is missing or of the given type, without creating it.
    pub fn check_type(
        &mut self,
        key: &[u8],
        is_type: fn(&Value) -> bool,
    ) -> Result<bool, CmdError> {
        match self.lookup(key, Access::Write) {
            None => Ok(false),
            Some(e) if is_type(&e.val) => Ok(true),
            Some(_) => Err(wrongtype()),
        }
    }

    typed_getter!(get_list, List, Box<std::collections::VecDeque<Sds>>);
    typed_getter!(get_hash, Hash, Box<crate::types::hash::Hash>);
    typed_getter!(get_set, Set, Box<crate::types::set::Set>);
    typed_getter!(get_zset, ZSet, Box<crate::types::zset::ZSet>);
    typed_getter!(get_bloom, Bloom, Box<crate::types::bloom::ScalableBloom>);

    /// Registers this client as blocked on `keys` (no reply is written now).
    pub fn block(&mut self, keys: Vec<Sds>, op: BlockOp, timeout: Option<std::time::Duration>) {
        let (tx, rx) = oneshot::channel();
        let nil_is_bulk = matches!(op, BlockOp::Move { .. });
        let w = crate::blocking::Waiter {
            db: self.client.db,
            keys,
            op,
            resp3: self.client.resp3,
            tx,
        };
        self.store.blocking.block(self.client.id, w);
        self.client.blocked = Some(Blocked {
            rx,
            nil_is_bulk,
            timeout,
        });
    }
}

/// The first key, in order, that holds a value of the wanted type
/// (LMPOP, ZMPOP, BLPOP...). WRONGTYPE if a key holds another type.
pub fn first_existing(
    ctx: &mut Ctx,
    keys: &[Sds],
    is_type: fn(&Value) -> bool,
) -> Result<Option<Sds>, CmdError> {
    for k in keys {
        if ctx.check_type(k, is_type)? {
            return Ok(Some(k.clone()));
        }
    }
    Ok(None)
}

/// LLEN/HLEN/SCARD/ZCARD: the element count, 0 for a missing key.
pub fn reply_len(ctx: &mut Ctx, key: &[u8], is_type: fn(&Value) -> bool) -> CmdResult {
    let n = match ctx.lookup(key, Access::Read) {
        None => 0,
        Some(e) if is_type(&e.val) => e.val.element_count(),
        Some(_) => return Err(wrongtype()),
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// A typed key getter such as [`Ctx::get_set`].
pub type Getter<'c, T> =
    for<'b> fn(&'b mut Ctx<'c>, &[u8], Access) -> Result<Option<&'b mut T>, CmdError>;

/// HDEL/SREM/ZREM: removes members, deletes the key once empty, replies
/// with how many were removed.
pub fn remove_members<'c, T>(
    ctx: &mut Ctx<'c>,
    argv: &[Bytes],
    get: Getter<'c, T>,
    remove: fn(&mut T, &[u8]) -> bool,
) -> CmdResult {
    let n = match get(ctx, &argv[1], Access::Write)? {
        None => 0,
        Some(c) => argv[2..].iter().filter(|m| remove(c, m)).count(),
    };
    if n > 0 {
        ctx.delete_if_empty(&argv[1]);
        ctx.modified(&argv[1]);
    }
    ctx.out.int(n as i64);
    Ok(())
}

pub fn is_string(v: &Value) -> bool {
    v.is_string()
}
pub fn is_list(v: &Value) -> bool {
    matches!(v, Value::List(_))
}
pub fn is_hash(v: &Value) -> bool {
    matches!(v, Value::Hash(_))
}
pub fn is_set(v: &Value) -> bool {
    matches!(v, Value::Set(_))
}
pub fn is_zset(v: &Value) -> bool {
    matches!(v, Value::ZSet(_))
}

/// Parses a blocking timeout in seconds (fractions allowed) as Redis does.
pub fn timeout_arg(b: &[u8]) -> Result<Option<std::time::Duration>, CmdError> {
    let secs = parse_f64(b)
        .filter(|f| f.is_finite())
        .ok_or_else(|| err("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(err("ERR timeout is negative"));
    }
    if secs == 0.0 {
        Ok(None)
    } else {
        Ok(Some(std::time::Duration::from_secs_f64(secs)))
    }
}

/// Commands allowed while a RESP2 client is subscribed.
fn allowed_in_pubsub(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

fn unknown_command(argv: &[Bytes]) -> CmdError {
    let mut msg = format!(
        "ERR unknown command '{}', with args beginning with: ",
        String::from_utf8_lossy(&argv[0][..argv[0].len().min(128)])
    );
    for a in argv.iter().skip(1) {
        msg.push_str(&format!(
            "'{}' ",
            String::from_utf8_lossy(&a[..a.len().min(128)])
        ));
    }
    err(msg)
}

/// Runs one client request through every check, then the command.
pub fn dispatch(ctx: &mut Ctx, argv: &[Bytes]) {
    let cmd = table::lookup(&argv[0]);
    // Where the call's stats go; it also names the subcommand, if any.
    let slot = cmd.and_then(|c| crate::stats::slot_of(c, argv));
    let in_multi = ctx.client.multi.is_some();
    match check_command(ctx, cmd, slot, argv) {
        Err(e) => {
            if in_multi {
                ctx.client.multi_error = true;
            }
            if let Some(slot) = slot {
                ctx.store.stats.commands.rejected(slot);
            }
            reply_error(ctx, &e);
        }
        Ok(cmd) => {
            ctx.client.last_cmd = crate::stats::full_name(cmd, slot);
            if in_multi
                && !matches!(
                    cmd.name,
                    "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
                )
            {
                ctx.client
                    .multi
                    .as_mut()
                    .expect("in multi")
                    .push(argv.to_vec());
                ctx.out.simple("QUEUED");
            } else {
                execute(ctx, cmd, slot, argv);
            }
        }
    }
    if !ctx.in_exec && ctx.store.blocking.has_ready() {
        list::serve_blocked(ctx.store, ctx.now);
    }
}

/// Writes an error reply and counts it (total_error_replies, errorstats).
pub fn reply_error(ctx: &mut Ctx, e: &CmdError) {
    ctx.store.stats.total_error_replies += 1;
    ctx.store.stats.errors.count(&e.0);
    ctx.out.error(&e.0);
}

/// Runs a command that passed its checks, and accounts for it: command
/// stats, slow log, latency monitor, MONITOR feed.
/// `slot`: where its stats go (None for an unknown subcommand).
fn execute(ctx: &mut Ctx, cmd: &'static table::Command, slot: Option<usize>, argv: &[Bytes]) {
    let started = crate::clock::clock_ticks();
    let result = (cmd.handler)(ctx, argv);
    let nanos = crate::clock::nanos_since(started);
    match (slot, &result) {
        // An unknown subcommand: Redis rejects it before any call.
        (None, _) => {}
        // So are subcommand arity errors.
        (Some(slot), Err(e)) if crate::stats::is_arity_error(&e.0) => {
            ctx.store.stats.commands.rejected(slot);
        }
        (Some(slot), _) => {
            ctx.store.stats.total_commands_processed += 1;
            ctx.store
                .stats
                .commands
                .called(slot, nanos, result.is_err());
            crate::cmd::slowlog::after_call(ctx, cmd, Some(slot), argv, nanos / 1000);
        }
    }
    if let Err(e) = result {
        reply_error(ctx, &e);
    }
}

fn check_command(
    ctx: &mut Ctx,
    cmd: Option<&'static table::Command>,
    slot: Option<usize>,
    argv: &[Bytes],
) -> Result<&'static table::Command, CmdError> {
    let Some(cmd) = cmd else {
        return Err(unknown_command(argv));
    };
    let n = argv.len() as i32;
    if (cmd.arity > 0 && n != cmd.arity) || n < -cmd.arity {
        return Err(err(format!(
            "ERR wrong number of arguments for '{}' command",
            cmd.name
        )));
    }
    command::check_subcommand_arity(cmd, slot, argv.len())?;
    if !ctx.client.authenticated && cmd.flags & table::NO_AUTH == 0 {
        return Err(err("NOAUTH Authentication required."));
    }
    if !ctx.client.resp3 && ctx.client.subscriptions() > 0 && !allowed_in_pubsub(cmd.name) {
        return Err(err(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            cmd.name
        )));
    }
    if ctx.store.config.maxmemory > 0 && !ctx.in_exec {
        let oom = ctx.store.evict_if_needed(ctx.now).is_err();
        if oom && cmd.flags & table::DENYOOM != 0 {
            return Err(err(
                "OOM command not allowed when used memory > 'maxmemory'.",
            ));
        }
    }
    Ok(cmd)
}

/// Runs a command already checked at queue time (inside EXEC).
pub fn call_queued(ctx: &mut Ctx, argv: &[Bytes]) {
    let Some(cmd) = table::lookup(&argv[0]) else {
        reply_error(ctx, &unknown_command(argv));
        return;
    };
    let slot = crate::stats::slot_of(cmd, argv);
    ctx.client.last_cmd = crate::stats::full_name(cmd, slot);
    execute(ctx, cmd, slot, argv);
}
