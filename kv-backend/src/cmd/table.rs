//! The command table: name, arity, flags and key positions (as COMMAND INFO
//! reports them), the group for redis-cli's help, and the handler.

use super::{bitfield, lcs};
use super::{
    bitmap, bloom, generic, hash, list, memory, pubsub, server, set, slowlog, string, tx, zset,
    CmdResult, Ctx,
};
use crate::types::HashMap;
use bytes::Bytes;
use std::sync::OnceLock;

pub const WRITE: u32 = 1;
pub const READONLY: u32 = 2;
pub const DENYOOM: u32 = 4;
pub const ADMIN: u32 = 8;
pub const PUBSUB: u32 = 16;
pub const NOSCRIPT: u32 = 32;
pub const BLOCKING: u32 = 64;
pub const LOADING: u32 = 128;
pub const STALE: u32 = 256;
pub const FAST: u32 = 512;
pub const NO_AUTH: u32 = 1024;

const FLAG_NAMES: [(u32, &str); 11] = [
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
];

pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

pub struct Command {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub handler: Handler,
}

const W: u32 = WRITE | DENYOOM;
const WF: u32 = WRITE | DENYOOM | FAST;
const WD: u32 = WRITE;
const WDF: u32 = WRITE | FAST;
const R: u32 = READONLY;
const RF: u32 = READONLY | FAST;
const A: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const C: u32 = LOADING | STALE | FAST;
/// QUIT: a connection command allowed before AUTH.
const CQ: u32 = C | NO_AUTH | NOSCRIPT;
/// Blocking pops (BLPOP...) and blocking moves (BLMOVE...).
const WDB: u32 = WRITE | NOSCRIPT | BLOCKING;
const WB: u32 = WRITE | DENYOOM | NOSCRIPT | BLOCKING;

macro_rules! cmd {
    ($name:expr, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $group:expr, $h:expr) => {
        Command {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            handler: $h,
        }
    };
}

fn build() -> Vec<Command> {
    vec![
        // connection & server
        cmd!("ping", -1, FAST, 0, 0, 0, "connection", server::ping),
        cmd!("echo", 2, C, 0, 0, 0, "connection", server::echo),
        cmd!("quit", -1, CQ, 0, 0, 0, "connection", server::quit),
        cmd!(
            "auth",
            -2,
            C | NO_AUTH | NOSCRIPT,
            0,
            0,
            0,
            "connection",
            server::auth
        ),
        cmd!(
            "hello",
            -1,
            C | NO_AUTH | NOSCRIPT,
            0,
            0,
            0,
            "connection",
            server::hello
        ),
        cmd!("select", 2, C, 0, 0, 0, "connection", generic::select),
        cmd!("client", -2, 0, 0, 0, 0, "connection", server::client),
        cmd!(
            "reset",
            1,
            C | NO_AUTH | NOSCRIPT,
            0,
            0,
            0,
            "connection",
            server::reset
        ),
        cmd!("config", -2, 0, 0, 0, 0, "server", server::config),
        cmd!("info", -1, LOADING | STALE, 0, 0, 0, "server", server::info),
        cmd!(
            "command",
            -1,
            LOADING | STALE,
            0,
            0,
            0,
            "server",
            super::command::command
        ),
        cmd!("time", 1, C, 0, 0, 0, "server", server::time),
        cmd!("lastsave", 1, C, 0, 0, 0, "server", server::lastsave),
        cmd!("role", 1, NOSCRIPT | C, 0, 0, 0, "server", server::role),
        cmd!("debug", -2, A, 0, 0, 0, "server", server::debug),
        cmd!("shutdown", -1, A, 0, 0, 0, "server", server::shutdown),
        cmd!("memory", -2, 0, 0, 0, 0, "server", memory::memory),
        cmd!("dbsize", 1, RF, 0, 0, 0, "server", generic::dbsize),
        cmd!("flushdb", -1, WD, 0, 0, 0, "server", generic::flushdb),
        cmd!("flushall", -1, WD, 0, 0, 0, "server", generic::flushall),
        cmd!("swapdb", 3, WDF, 0, 0, 0, "server", generic::swapdb),
        cmd!("slowlog", -2, 0, 0, 0, 0, "server", slowlog::slowlog),
        cmd!("latency", -2, 0, 0, 0, 0, "server", slowlog::latency),
        cmd!("monitor", 1, A, 0, 0, 0, "server", slowlog::monitor),
        // generic
        cmd!("del", -2, WD, 1, -1, 1, "generic", generic::del),
        cmd!("unlink", -2, WDF, 1, -1, 1, "generic", generic::del),
        cmd!("exists", -2, RF, 1, -1, 1, "generic", generic::exists),
        cmd!("touch", -2, RF, 1, -1, 1, "generic", generic::touch),
        cmd!("type", 2, RF, 1, 1, 1, "generic", generic::type_cmd),
        cmd!("rename", 3, WD, 1, 2, 1, "generic", generic::rename),
        cmd!("renamenx", 3, WDF, 1, 2, 1, "generic", generic::renamenx),
        cmd!("keys", 2, R, 0, 0, 0, "generic", generic::keys),
        cmd!("scan", -2, R, 0, 0, 0, "generic", generic::scan),
        cmd!("randomkey", 1, R, 0, 0, 0, "generic", generic::randomkey),
        cmd!("move", 3, WDF, 1, 1, 1, "generic", generic::move_cmd),
        cmd!("object", -2, 0, 0, 0, 0, "generic", generic::object),
        cmd!("expire", -3, WDF, 1, 1, 1, "generic", generic::expire),
        cmd!("pexpire", -3, WDF, 1, 1, 1, "generic", generic::pexpire),
        cmd!("expireat", -3, WDF, 1, 1, 1, "generic", generic::expireat),
        cmd!("pexpireat", -3, WDF, 1, 1, 1, "generic", generic::pexpireat),
        cmd!("ttl", 2, RF, 1, 1, 1, "generic", generic::ttl),
        cmd!("pttl", 2, RF, 1, 1, 1, "generic", generic::pttl),
        cmd!("expiretime", 2, RF, 1, 1, 1, "generic", generic::expiretime),
        cmd!(
            "pexpiretime",
            2,
            RF,
            1,
            1,
            1,
            "generic",
            generic::pexpiretime
        ),
        cmd!("persist", 2, WDF, 1, 1, 1, "generic", generic::persist),
        cmd!("copy", -3, W, 1, 2, 1, "generic", generic::copy),
        cmd!("sort", -2, W, 1, 1, 1, "generic", generic::sort),
        cmd!("sort_ro", -2, R, 1, 1, 1, "generic", generic::sort_ro),
        cmd!("dump", 2, R, 1, 1, 1, "generic", generic::dump),
        cmd!("restore", -4, W, 1, 1, 1, "generic", generic::restore),
        // strings
        cmd!("get", 2, RF, 1, 1, 1, "string", string::get),
        cmd!("set", -3, W, 1, 1, 1, "string", string::set),
        cmd!("setnx", 3, WF, 1, 1, 1, "string", string::setnx),
        cmd!("setex", 4, W, 1, 1, 1, "string", string::setex),
        cmd!("psetex", 4, W, 1, 1, 1, "string", string::psetex),
        cmd!("getex", -2, WDF, 1, 1, 1, "string", string::getex),
        cmd!("getdel", 2, WDF, 1, 1, 1, "string", string::getdel),
        cmd!("getset", 3, WF, 1, 1, 1, "string", string::getset),
        cmd!("mset", -3, W, 1, -1, 2, "string", string::mset),
        cmd!("msetnx", -3, W, 1, -1, 2, "string", string::msetnx),
        cmd!("mget", -2, RF, 1, -1, 1, "string", string::mget),
        cmd!("append", 3, WF, 1, 1, 1, "string", string::append),
        cmd!("strlen", 2, RF, 1, 1, 1, "string", string::strlen),
        cmd!("getrange", 4, R, 1, 1, 1, "string", string::getrange),
        cmd!("substr", 4, R, 1, 1, 1, "string", string::getrange),
        cmd!("setrange", 4, W, 1, 1, 1, "string", string::setrange),
        cmd!("lcs", -3, R, 1, 2, 1, "string", lcs::lcs),
        cmd!("incr", 2, WF, 1, 1, 1, "string", string::incr),
        cmd!("decr", 2, WF, 1, 1, 1, "string", string::decr),
        cmd!("incrby", 3, WF, 1, 1, 1, "string", string::incrby),
        cmd!("decrby", 3, WF, 1, 1, 1, "string", string::decrby),
        cmd!("incrbyfloat", 3, WF, 1, 1, 1, "string", string::incrbyfloat),
        // bitmaps
        cmd!("setbit", 4, W, 1, 1, 1, "bitmap", bitmap::setbit),
        cmd!("getbit", 3, RF, 1, 1, 1, "bitmap", bitmap::getbit),
        cmd!("bitcount", -2, R, 1, 1, 1, "bitmap", bitmap::bitcount),
        cmd!("bitpos", -3, R, 1, 1, 1, "bitmap", bitmap::bitpos),
        cmd!("bitop", -4, W, 2, -1, 1, "bitmap", bitmap::bitop),
        cmd!("bitfield", -2, W, 1, 1, 1, "bitmap", bitfield::bitfield),
        cmd!(
            "bitfield_ro",
            -2,
            RF,
            1,
            1,
            1,
            "bitmap",
            bitfield::bitfield_ro
        ),
        // lists
        cmd!("lpush", -3, WF, 1, 1, 1, "list", list::lpush),
        cmd!("rpush", -3, WF, 1, 1, 1, "list", list::rpush),
        cmd!("lpushx", -3, WF, 1, 1, 1, "list", list::lpushx),
        cmd!("rpushx", -3, WF, 1, 1, 1, "list", list::rpushx),
        cmd!("lpop", -2, WDF, 1, 1, 1, "list", list::lpop),
        cmd!("rpop", -2, WDF, 1, 1, 1, "list", list::rpop),
        cmd!("llen", 2, RF, 1, 1, 1, "list", list::llen),
        cmd!("lrange", 4, R, 1, 1, 1, "list", list::lrange),
        cmd!("lindex", 3, R, 1, 1, 1, "list", list::lindex),
        cmd!("lset", 4, W, 1, 1, 1, "list", list::lset),
        cmd!("lrem", 4, WD, 1, 1, 1, "list", list::lrem),
        cmd!("linsert", 5, W, 1, 1, 1, "list", list::linsert),
        cmd!("ltrim", 4, WD, 1, 1, 1, "list", list::ltrim),
        cmd!("lpos", -3, R, 1, 1, 1, "list", list::lpos),
        cmd!("lmove", 5, W, 1, 2, 1, "list", list::lmove),
        cmd!("rpoplpush", 3, W, 1, 2, 1, "list", list::rpoplpush),
        cmd!("lmpop", -4, WD, 0, 0, 0, "list", list::lmpop),
        cmd!("blpop", -3, WDB, 1, -2, 1, "list", list::blpop),
        cmd!("brpop", -3, WDB, 1, -2, 1, "list", list::brpop),
        cmd!("blmove", 6, WB, 1, 2, 1, "list", list::blmove),
        cmd!("brpoplpush", 4, WB, 1, 2, 1, "list", list::brpoplpush),
        cmd!("blmpop", -5, WD | BLOCKING, 0, 0, 0, "list", list::blmpop),
        // hashes
        cmd!("hset", -4, WF, 1, 1, 1, "hash", hash::hset),
        cmd!("hmset", -4, WF, 1, 1, 1, "hash", hash::hmset),
        cmd!("hsetnx", 4, WF, 1, 1, 1, "hash", hash::hsetnx),
        cmd!("hget", 3, RF, 1, 1, 1, "hash", hash::hget),
        cmd!("hmget", -3, RF, 1, 1, 1, "hash", hash::hmget),
        cmd!("hdel", -3, WDF, 1, 1, 1, "hash", hash::hdel),
        cmd!("hlen", 2, RF, 1, 1, 1, "hash", hash::hlen),
        cmd!("hstrlen", 3, RF, 1, 1, 1, "hash", hash::hstrlen),
        cmd!("hexists", 3, RF, 1, 1, 1, "hash", hash::hexists),
        cmd!("hkeys", 2, R, 1, 1, 1, "hash", hash::hkeys),
        cmd!("hvals", 2, R, 1, 1, 1, "hash", hash::hvals),
        cmd!("hgetall", 2, R, 1, 1, 1, "hash", hash::hgetall),
        cmd!("hincrby", 4, WF, 1, 1, 1, "hash", hash::hincrby),
        cmd!("hincrbyfloat", 4, WF, 1, 1, 1, "hash", hash::hincrbyfloat),
        cmd!("hrandfield", -2, R, 1, 1, 1, "hash", hash::hrandfield),
        cmd!("hscan", -3, R, 1, 1, 1, "hash", hash::hscan),
        // sets
        cmd!("sadd", -3, WF, 1, 1, 1, "set", set::sadd),
        cmd!("srem", -3, WDF, 1, 1, 1, "set", set::srem),
        cmd!("scard", 2, RF, 1, 1, 1, "set", set::scard),
        cmd!("sismember", 3, RF, 1, 1, 1, "set", set::sismember),
        cmd!("smismember", -3, RF, 1, 1, 1, "set", set::smismember),
        cmd!("smembers", 2, R, 1, 1, 1, "set", set::smembers),
        cmd!("srandmember", -2, R, 1, 1, 1, "set", set::srandmember),
        cmd!("spop", -2, WDF, 1, 1, 1, "set", set::spop),
        cmd!("smove", 4, WDF, 1, 2, 1, "set", set::smove),
        cmd!("sinter", -2, R, 1, -1, 1, "set", set::sinter),
        cmd!("sinterstore", -3, W, 1, -1, 1, "set", set::sinterstore),
        cmd!("sintercard", -3, R, 0, 0, 0, "set", set::sintercard),
        cmd!("sunion", -2, R, 1, -1, 1, "set", set::sunion),
        cmd!("sunionstore", -3, W, 1, -1, 1, "set", set::sunionstore),
        cmd!("sdiff", -2, R, 1, -1, 1, "set", set::sdiff),
        cmd!("sdiffstore", -3, W, 1, -1, 1, "set", set::sdiffstore),
        cmd!("sscan", -3, R, 1, 1, 1, "set", set::sscan),
        // sorted sets
        cmd!("zadd", -4, WF, 1, 1, 1, "sorted_set", zset::zadd),
        cmd!("zincrby", 4, WF, 1, 1, 1, "sorted_set", zset::zincrby),
        cmd!("zrem", -3, WDF, 1, 1, 1, "sorted_set", zset::zrem),
        cmd!("zcard", 2, RF, 1, 1, 1, "sorted_set", zset::zcard),
        cmd!("zscore", 3, RF, 1, 1, 1, "sorted_set", zset::zscore),
        cmd!("zmscore", -3, RF, 1, 1, 1, "sorted_set", zset::zmscore),
        cmd!("zrank", 3, RF, 1, 1, 1, "sorted_set", zset::zrank),
        cmd!("zrevrank", 3, RF, 1, 1, 1, "sorted_set", zset::zrevrank),
        cmd!("zcount", 4, RF, 1, 1, 1, "sorted_set", zset::zcount),
        cmd!("zlexcount", 4, RF, 1, 1, 1, "sorted_set", zset::zlexcount),
        cmd!("zrange", -4, R, 1, 1, 1, "sorted_set", zset::zrange),
        cmd!("zrevrange", -4, R, 1, 1, 1, "sorted_set", zset::zrevrange),
        cmd!(
            "zrangebyscore",
            -4,
            R,
            1,
            1,
            1,
            "sorted_set",
            zset::zrangebyscore
        ),
        cmd!(
            "zrevrangebyscore",
            -4,
            R,
            1,
            1,
            1,
            "sorted_set",
            zset::zrevrangebyscore
        ),
        cmd!(
            "zrangebylex",
            -4,
            R,
            1,
            1,
            1,
            "sorted_set",
            zset::zrangebylex
        ),
        cmd!(
            "zrevrangebylex",
            -4,
            R,
            1,
            1,
            1,
            "sorted_set",
            zset::zrevrangebylex
        ),
        cmd!(
            "zrangestore",
            -5,
            W,
            1,
            2,
            1,
            "sorted_set",
            zset::zrangestore
        ),
        cmd!(
            "zremrangebyrank",
            4,
            WD,
            1,
            1,
            1,
            "sorted_set",
            zset::zremrangebyrank
        ),
        cmd!(
            "zremrangebyscore",
            4,
            WD,
            1,
            1,
            1,
            "sorted_set",
            zset::zremrangebyscore
        ),
        cmd!(
            "zremrangebylex",
            4,
            WD,
            1,
            1,
            1,
            "sorted_set",
            zset::zremrangebylex
        ),
        cmd!("zpopmin", -2, WDF, 1, 1, 1, "sorted_set", zset::zpopmin),
        cmd!("zpopmax", -2, WDF, 1, 1, 1, "sorted_set", zset::zpopmax),
        cmd!("zmpop", -4, WD, 0, 0, 0, "sorted_set", zset::zmpop),
        cmd!(
            "bzpopmin",
            -3,
            WDF | NOSCRIPT | BLOCKING,
            1,
            -2,
            1,
            "sorted_set",
            zset::bzpopmin
        ),
        cmd!(
            "bzpopmax",
            -3,
            WDF | NOSCRIPT | BLOCKING,
            1,
            -2,
            1,
            "sorted_set",
            zset::bzpopmax
        ),
        cmd!(
            "bzmpop",
            -5,
            WD | BLOCKING,
            0,
            0,
            0,
            "sorted_set",
            zset::bzmpop
        ),
        cmd!(
            "zunionstore",
            -4,
            W,
            1,
            1,
            1,
            "sorted_set",
            zset::zunionstore
        ),
        cmd!(
            "zinterstore",
            -4,
            W,
            1,
            1,
            1,
            "sorted_set",
            zset::zinterstore
        ),
        cmd!("zdiffstore", -4, W, 1, 1, 1, "sorted_set", zset::zdiffstore),
        cmd!("zunion", -3, R, 0, 0, 0, "sorted_set", zset::zunion),
        cmd!("zinter", -3, R, 0, 0, 0, "sorted_set", zset::zinter),
        cmd!("zdiff", -3, R, 0, 0, 0, "sorted_set", zset::zdiff),
        cmd!("zintercard", -3, R, 0, 0, 0, "sorted_set", zset::zintercard),
        cmd!(
            "zrandmember",
            -2,
            R,
            1,
            1,
            1,
            "sorted_set",
            zset::zrandmember
        ),
        cmd!("zscan", -3, R, 1, 1, 1, "sorted_set", zset::zscan),
        // pub/sub
        cmd!(
            "subscribe",
            -2,
            PUBSUB | NOSCRIPT | LOADING | STALE,
            0,
            0,
            0,
            "pubsub",
            pubsub::subscribe
        ),
        cmd!(
            "psubscribe",
            -2,
            PUBSUB | NOSCRIPT | LOADING | STALE,
            0,
            0,
            0,
            "pubsub",
            pubsub::psubscribe
        ),
        cmd!(
            "unsubscribe",
            -1,
            PUBSUB | NOSCRIPT | LOADING | STALE,
            0,
            0,
            0,
            "pubsub",
            pubsub::unsubscribe
        ),
        cmd!(
            "punsubscribe",
            -1,
            PUBSUB | NOSCRIPT | LOADING | STALE,
            0,
            0,
            0,
            "pubsub",
            pubsub::punsubscribe
        ),
        cmd!(
            "publish",
            3,
            PUBSUB | LOADING | STALE | FAST,
            0,
            0,
            0,
            "pubsub",
            pubsub::publish
        ),
        cmd!("pubsub", -2, 0, 0, 0, 0, "pubsub", pubsub::pubsub),
        // transactions
        cmd!(
            "multi",
            1,
            NOSCRIPT | LOADING | STALE | FAST,
            0,
            0,
            0,
            "transactions",
            tx::multi
        ),
        cmd!(
            "exec",
            1,
            NOSCRIPT | LOADING | STALE,
            0,
            0,
            0,
            "transactions",
            tx::exec
        ),
        cmd!(
            "discard",
            1,
            NOSCRIPT | LOADING | STALE | FAST,
            0,
            0,
            0,
            "transactions",
            tx::discard
        ),
        cmd!(
            "watch",
            -2,
            NOSCRIPT | LOADING | STALE | FAST,
            1,
            -1,
            1,
            "transactions",
            tx::watch
        ),
        cmd!(
            "unwatch",
            1,
            NOSCRIPT | LOADING | STALE | FAST,
            0,
            0,
            0,
            "transactions",
            tx::unwatch
        ),
        // bloom filter (RedisBloom names)
        cmd!("bf.reserve", -4, W, 1, 1, 1, "bf", bloom::reserve),
        cmd!("bf.add", 3, W, 1, 1, 1, "bf", bloom::add),
        cmd!("bf.madd", -3, W, 1, 1, 1, "bf", bloom::madd),
        cmd!("bf.insert", -4, W, 1, 1, 1, "bf", bloom::insert),
        cmd!("bf.exists", 3, R, 1, 1, 1, "bf", bloom::exists),
        cmd!("bf.mexists", -3, R, 1, 1, 1, "bf", bloom::mexists),
        cmd!("bf.info", -2, R, 1, 1, 1, "bf", bloom::info),
        cmd!("bf.card", 2, R, 1, 1, 1, "bf", bloom::card),
    ]
}

struct Table {
    cmds: Vec<Command>,
    by_name: HashMap<&'static str, usize>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let cmds = build();
        let by_name = cmds
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name, i))
            .collect::<HashMap<_, _>>();
        Table { cmds, by_name }
    })
}

pub fn all() -> &'static [Command] {
    &table().cmds
}

/// A command's index in the table: its slot in per-command statistics.
/// `usize::MAX` for a command that is not in the table.
pub fn id(c: &Command) -> usize {
    let base = table().cmds.as_ptr() as usize;
    let offset = (c as *const Command as usize).wrapping_sub(base) / std::mem::size_of::<Command>();
    if offset < table().cmds.len() {
        offset
    } else {
        usize::MAX
    }
}

/// Case-insensitive lookup without allocating for normal-length names.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(&buf[..name.len()]).ok()?;
    let t = table();
    t.by_name.get(lower).map(|&i| &t.cmds[i])
}

/// Names of the dispatch flags set in `flags`, in COMMAND INFO's order.
pub fn flag_names(flags: u32) -> impl Iterator<Item = &'static str> {
    FLAG_NAMES
        .iter()
        .filter(move |(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
}

/// The dispatch flags named in `names` (names kv-server has no bit for are skipped).
pub fn flag_bits<'a>(names: impl Iterator<Item = &'a str>) -> u32 {
    names
        .filter_map(|n| FLAG_NAMES.iter().find(|(_, name)| *name == n))
        .fold(0, |acc, (bit, _)| acc | bit)
}

/// Subcommands of container commands (CLIENT, CONFIG, ...) that kv-server's
/// handlers implement, as `container|subcommand`. COMMAND LIST/INFO/DOCS
/// report exactly these; add a line when a handler learns a subcommand.
pub const SUBCOMMANDS: &[&str] = &[
    "client|getname",
    "client|help",
    "client|id",
    "client|info",
    "client|kill",
    "client|list",
    "client|no-evict",
    "client|pause",
    "client|reply",
    "client|setname",
    "client|unblock",
    "client|unpause",
    "command|count",
    "command|docs",
    "command|getkeys",
    "command|getkeysandflags",
    "command|help",
    "command|info",
    "command|list",
    "config|get",
    "config|help",
    "config|resetstat",
    "config|rewrite",
    "config|set",
    "latency|doctor",
    "latency|help",
    "latency|histogram",
    "latency|history",
    "latency|latest",
    "latency|reset",
    "memory|doctor",
    "memory|help",
    "memory|malloc-stats",
    "memory|purge",
    "memory|stats",
    "memory|usage",
    "object|encoding",
    "object|freq",
    "object|help",
    "object|idletime",
    "object|refcount",
    "pubsub|channels",
    "pubsub|help",
    "pubsub|numpat",
    "pubsub|numsub",
    "pubsub|shardchannels",
    "pubsub|shardnumsub",
    "slowlog|get",
    "slowlog|help",
    "slowlog|len",
    "slowlog|reset",
];
