//! COMMAND and its subcommands (COUNT, LIST, INFO, DOCS, GETKEYS,
//! GETKEYSANDFLAGS, HELP). Everything reported comes from redis-server's own
//! metadata (see `meta`), narrowed to what kv-server's dispatch table holds:
//! a client must see exactly the commands it can run, described exactly as
//! Redis describes them.

use super::meta::{self, CommandMeta};
use super::{err, keys, table, CmdError, CmdResult, Ctx, SYNTAX};
use crate::frame::Reply;
use crate::types::HashMap;
use crate::util::glob_match;
use bytes::Bytes;
use std::sync::OnceLock;

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// Redis 7.0's ACL categories: FILTERBY ACLCAT with any other name lists
/// nothing.
const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// A command or subcommand kv-server implements, as COMMAND reports it.
#[derive(Clone, Copy)]
pub enum Described {
    /// Described by redis-server's metadata.
    Redis(CommandMeta<'static>),
    /// Not a Redis command (the bf.* module commands): described by the
    /// dispatch table.
    Local(&'static table::Command),
}

impl Described {
    fn name(&self) -> &'static str {
        match self {
            Described::Redis(m) => m.name(),
            Described::Local(c) => c.name,
        }
    }

    fn write_info(&self, out: &mut Reply) {
        match self {
            Described::Redis(m) => m.write_info(out, &is_implemented_subcommand),
            Described::Local(c) => write_local_info(out, c),
        }
    }

    /// Writes the name, then the docs map.
    fn write_docs(&self, out: &mut Reply) {
        match self {
            Described::Redis(m) => {
                out.bulk(m.name().as_bytes());
                m.write_docs(out, &is_implemented_subcommand)
            }
            Described::Local(c) => super::docs::write_docs(out, c.name, c.group),
        }
    }

    /// The implemented subcommands, in Redis' order.
    fn subcommands(&self) -> Vec<CommandMeta<'static>> {
        match self {
            Described::Redis(m) => m
                .subcommand_names()
                .filter(|n| is_implemented_subcommand(n))
                .filter_map(|n| m.subcommand(n))
                .collect(),
            Described::Local(_) => Vec::new(),
        }
    }
}

fn is_implemented_subcommand(full_name: &str) -> bool {
    table::SUBCOMMANDS.contains(&full_name)
}

/// A top-level command from the dispatch table, with its description.
pub fn describe(c: &'static table::Command) -> Described {
    match meta::lookup(c.name) {
        Some(m) => Described::Redis(m),
        None => Described::Local(c),
    }
}

/// A command by the name COMMAND INFO/DOCS accept: `get` or `client|getname`
/// (any case). None for anything kv-server does not implement.
fn describe_by_name(name: &[u8]) -> Option<Described> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let mut parts = name.split('|');
    let base = table::lookup(parts.next()?.as_bytes())?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(describe(base)),
        (Some(sub), None) => resolve_subcommand(describe(base), sub),
        _ => None,
    }
}

fn resolve_subcommand(base: Described, sub: &str) -> Option<Described> {
    let Described::Redis(m) = base else {
        return None;
    };
    let full = format!("{}|{}", m.name(), sub.to_ascii_lowercase());
    if !is_implemented_subcommand(&full) {
        return None;
    }
    m.subcommand(&full).map(Described::Redis)
}

/// The command that `argv` (a full command line) would run, as GETKEYS
/// resolves it: a container's subcommand is the next argument.
fn describe_call(argv: &[Bytes]) -> Option<Described> {
    let base = describe(table::lookup(argv.first()?)?);
    let has_subcommands =
        matches!(base, Described::Redis(m) if m.subcommand_names().next().is_some());
    match argv.get(1) {
        Some(sub) if has_subcommands => resolve_subcommand(base, &String::from_utf8_lossy(sub)),
        _ => Some(base),
    }
}

/// What dispatch needs to know of an implemented subcommand.
#[derive(Clone, Copy)]
struct Subcommand {
    arity: i64,
    /// Dispatch flags (table::ADMIN, FAST...): a container has none of its own.
    flags: u32,
}

/// Implemented subcommands, by full name (`client|kill`).
fn subcommands() -> &'static HashMap<&'static str, Subcommand> {
    static SUBS: OnceLock<HashMap<&'static str, Subcommand>> = OnceLock::new();
    SUBS.get_or_init(|| {
        table::SUBCOMMANDS
            .iter()
            .filter_map(|full| {
                let (container, _) = full.split_once('|')?;
                let sub = meta::lookup(container)?.subcommand(full)?;
                let info = Subcommand {
                    arity: sub.arity(),
                    flags: table::flag_bits(sub.flags()),
                };
                Some((*full, info))
            })
            .collect()
    })
}

/// The implemented subcommand a call names (`slot` as `stats::slot_of`
/// found it), with its full name. Plain commands never get here far enough
/// to load the metadata: their full name has no `|`.
fn subcommand_of(
    cmd: &'static table::Command,
    slot: Option<usize>,
) -> Option<(&'static str, Subcommand)> {
    let full = crate::stats::full_name(cmd, slot);
    if full.len() == cmd.name.len() {
        return None;
    }
    subcommands().get(full).map(|sub| (full, *sub))
}

/// Redis checks a subcommand's arity at dispatch, as for any command
/// (`wrong number of arguments for 'client|kill' command`); kv-server does
/// the same for the subcommands it implements. Unknown subcommands are left
/// to the container's handler.
pub fn check_subcommand_arity(
    cmd: &'static table::Command,
    slot: Option<usize>,
    argc: usize,
) -> Result<(), CmdError> {
    let Some((full, Subcommand { arity, .. })) = subcommand_of(cmd, slot) else {
        return Ok(());
    };
    let n = argc as i64;
    if (arity > 0 && n != arity) || n < -arity {
        return Err(err(format!(
            "ERR wrong number of arguments for '{full}' command"
        )));
    }
    Ok(())
}

/// The flags that govern this call: the subcommand's for a container
/// command (CONFIG GET is `admin`, CLIENT ID is not), else the command's.
pub fn effective_flags(cmd: &'static table::Command, slot: Option<usize>) -> u32 {
    match subcommand_of(cmd, slot) {
        Some((_, sub)) => sub.flags,
        None => cmd.flags,
    }
}

fn all_commands() -> impl Iterator<Item = Described> {
    table::all().iter().map(describe)
}

pub fn command(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let Some(sub) = argv.get(1) else {
        return info(ctx, &[]);
    };
    let sub_name = String::from_utf8_lossy(sub).to_ascii_lowercase();
    // Arity was checked at dispatch (check_subcommand_arity).
    if !is_implemented_subcommand(&format!("command|{sub_name}")) {
        // Redis quotes at most 128 bytes of the unknown name.
        return Err(err(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(&sub[..sub.len().min(128)])
        )));
    }
    match sub_name.as_str() {
        "count" => ctx.out.int(table::all().len() as i64),
        "info" => return info(ctx, &argv[2..]),
        "docs" => docs(ctx, &argv[2..]),
        "list" => return list(ctx, &argv[2..]),
        "getkeys" => return getkeys(ctx, &argv[2..], false),
        "getkeysandflags" => return getkeys(ctx, &argv[2..], true),
        "help" => {
            ctx.out.array(HELP.len());
            HELP.iter().for_each(|l| ctx.out.simple(l));
        }
        _ => return Err(err(format!("ERR unknown subcommand '{sub_name}'"))),
    }
    Ok(())
}

/// COMMAND INFO [name ...]: all top-level commands, or the named ones (a
/// null for each unknown name).
fn info(ctx: &mut Ctx, names: &[Bytes]) -> CmdResult {
    if names.is_empty() {
        ctx.out.array(table::all().len());
        all_commands().for_each(|d| d.write_info(ctx.out));
        return Ok(());
    }
    ctx.out.array(names.len());
    for name in names {
        match describe_by_name(name) {
            Some(d) => d.write_info(ctx.out),
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [name ...]: a map from name to docs; unknown names are
/// left out.
fn docs(ctx: &mut Ctx, names: &[Bytes]) {
    let found: Vec<Described> = if names.is_empty() {
        all_commands().collect()
    } else {
        names.iter().filter_map(|n| describe_by_name(n)).collect()
    };
    ctx.out.map(found.len());
    found.iter().for_each(|d| d.write_docs(ctx.out));
}

enum ListFilter {
    All,
    Module(String),
    AclCategory(String),
    Pattern(Vec<u8>),
}

impl ListFilter {
    fn parse(args: &[Bytes]) -> Result<ListFilter, CmdError> {
        match args {
            [] => Ok(ListFilter::All),
            [filterby, kind, arg] if filterby.eq_ignore_ascii_case(b"filterby") => {
                let text = String::from_utf8_lossy(arg).into_owned();
                match kind.to_ascii_lowercase().as_slice() {
                    b"module" => Ok(ListFilter::Module(text)),
                    b"aclcat" => Ok(ListFilter::AclCategory(text.to_ascii_lowercase())),
                    b"pattern" => Ok(ListFilter::Pattern(arg.to_vec())),
                    _ => Err(err(SYNTAX)),
                }
            }
            _ => Err(err(SYNTAX)),
        }
    }

    fn accepts(&self, d: &Described) -> bool {
        match self {
            ListFilter::All => true,
            // Only the bf.* commands come from a module (RedisBloom's "bf").
            ListFilter::Module(m) => {
                matches!(d, Described::Local(c) if c.name.starts_with("bf."))
                    && m.eq_ignore_ascii_case("bf")
            }
            ListFilter::AclCategory(cat) => {
                ACL_CATEGORIES.contains(&cat.as_str())
                    && matches!(d, Described::Redis(m) if m.acl_categories().any(|c| c == cat))
            }
            ListFilter::Pattern(p) => glob_match(p, d.name().as_bytes(), true),
        }
    }
}

/// COMMAND LIST [FILTERBY MODULE|ACLCAT|PATTERN arg]: names of commands and
/// their implemented subcommands (`client|getname`).
fn list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let filter = ListFilter::parse(args)?;
    let mut names = Vec::new();
    for d in all_commands() {
        if filter.accepts(&d) {
            names.push(d.name());
        }
        for sub in d.subcommands() {
            if filter.accepts(&Described::Redis(sub)) {
                names.push(sub.name());
            }
        }
    }
    ctx.out.array(names.len());
    names.iter().for_each(|n| ctx.out.bulk(n.as_bytes()));
    Ok(())
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS <full command line>.
fn getkeys(ctx: &mut Ctx, call: &[Bytes], with_flags: bool) -> CmdResult {
    let Some(d) = describe_call(call) else {
        return Err(err("ERR Invalid command specified"));
    };
    let found = match d {
        Described::Redis(m) => {
            if !keys::has_keys(&m) {
                return Err(err("ERR The command has no key arguments"));
            }
            let arity = m.arity();
            let n = call.len() as i64;
            if (arity > 0 && arity != n) || n < -arity {
                return Err(err("ERR Invalid number of arguments specified for command"));
            }
            let found = keys::keys(&m, call);
            if found.is_empty() {
                if m.has_flag("no_mandatory_keys") {
                    ctx.out.array(0);
                    return Ok(());
                }
                return Err(err("ERR Invalid arguments specified for command"));
            }
            found
        }
        Described::Local(c) => {
            let found = local_key_positions(c, call);
            if found.is_empty() {
                return Err(err("ERR The command has no key arguments"));
            }
            found
        }
    };
    ctx.out.array(found.len());
    for k in found {
        let Some(arg) = call.get(k.pos) else {
            continue;
        };
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(arg);
            ctx.out.set(k.flags.len());
            k.flags.iter().for_each(|f| ctx.out.simple(f));
        } else {
            ctx.out.bulk(arg);
        }
    }
    Ok(())
}

/// Keys of a command Redis does not describe, from the table's key range.
fn local_key_positions(c: &table::Command, argv: &[Bytes]) -> Vec<keys::KeyRef> {
    if c.first_key == 0 {
        return Vec::new();
    }
    let n = argv.len() as i32;
    let last = if c.last_key < 0 {
        n + c.last_key
    } else {
        c.last_key
    };
    (c.first_key..=last.min(n - 1))
        .step_by(c.step.max(1) as usize)
        .map(|pos| keys::KeyRef {
            pos: pos as usize,
            flags: Vec::new(),
        })
        .collect()
}

/// COMMAND INFO for a command Redis does not describe, in Redis 7.0's
/// 10-field shape.
fn write_local_info(out: &mut Reply, c: &table::Command) {
    out.array(10);
    out.bulk(c.name.as_bytes());
    out.int(c.arity as i64);
    let flags: Vec<&str> = table::flag_names(c.flags).collect();
    out.set(flags.len());
    flags.iter().for_each(|f| out.simple(f));
    out.int(c.first_key as i64);
    out.int(c.last_key as i64);
    out.int(c.step as i64);
    out.set(1);
    out.simple(&format!("@{}", c.group));
    out.set(0);
    out.array(0);
    out.array(0);
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;
    use super::*;

    /// What the dispatch table says about a command, in COMMAND INFO's
    /// terms, next to what redis-server says.
    fn table_vs_redis(c: &table::Command, m: &CommandMeta) -> Vec<String> {
        let mut diffs = Vec::new();
        if c.arity as i64 != m.arity() {
            diffs.push(format!("arity {} vs {}", c.arity, m.arity()));
        }
        // Only the flags dispatch knows about; Redis has more (movablekeys...).
        let known: Vec<&str> = table::flag_names(u32::MAX).collect();
        let ours: Vec<&str> = table::flag_names(c.flags).collect();
        let redis: Vec<&str> = m.flags().filter(|f| known.contains(f)).collect();
        let (mut ours_sorted, mut redis_sorted) = (ours.clone(), redis.clone());
        ours_sorted.sort_unstable();
        redis_sorted.sort_unstable();
        if ours_sorted != redis_sorted {
            diffs.push(format!("flags {ours:?} vs {redis:?}"));
        }
        let range = (c.first_key as i64, c.last_key as i64, c.step as i64);
        if range != m.key_range() {
            diffs.push(format!("keys {range:?} vs {:?}", m.key_range()));
        }
        if c.group.replace('_', "-") != m.group() {
            diffs.push(format!("group {} vs {}", c.group, m.group()));
        }
        diffs
    }

    #[test]
    fn every_table_entry_has_redis_metadata_and_agrees_with_it() {
        let mut problems = Vec::new();
        for c in table::all() {
            if c.name.starts_with("bf.") {
                continue; // RedisBloom's, not redis-server's
            }
            match meta::lookup(c.name) {
                None => problems.push(format!("{}: no metadata", c.name)),
                Some(m) => problems.extend(
                    table_vs_redis(c, &m)
                        .into_iter()
                        .map(|d| format!("{}: {d}", c.name)),
                ),
            }
        }
        assert!(
            problems.is_empty(),
            "table.rs vs Redis:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn every_listed_subcommand_is_a_redis_subcommand_of_a_table_entry() {
        for full in table::SUBCOMMANDS {
            let (container, _) = full.split_once('|').expect("container|sub");
            assert!(table::lookup(container.as_bytes()).is_some(), "{full}");
            let m = meta::lookup(container).expect("container metadata");
            assert!(m.subcommand(full).is_some(), "{full} is not in Redis 7.0");
        }
    }

    /// Runs every Redis subcommand of every container kv-server has, with
    /// as many arguments as its arity wants: the handler must know exactly
    /// the subcommands listed in `table::SUBCOMMANDS`, so that COMMAND
    /// reports what really runs.
    #[test]
    fn subcommands_list_matches_what_handlers_accept() {
        let mut wrong = Vec::new();
        for c in table::all() {
            let Some(m) = meta::lookup(c.name) else {
                continue;
            };
            for full in m.subcommand_names() {
                let Some((_, sub)) = full.split_once('|') else {
                    continue;
                };
                let arity = m.subcommand(full).map_or(2, |s| s.arity().unsigned_abs());
                let mut words = vec![c.name, sub];
                words.resize((arity as usize).max(2), "x");
                let reply = Harness::new().run(&words.join(" "));
                let accepted = !reply.starts_with("-ERR unknown subcommand");
                if accepted != is_implemented_subcommand(full) {
                    wrong.push(format!(
                        "{full}: handler accepts={accepted}, listed={}",
                        !accepted
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "table::SUBCOMMANDS is off:\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn count_and_list_report_the_table() {
        let mut h = Harness::new();
        assert_eq!(
            h.run("COMMAND COUNT"),
            format!(":{}\r\n", table::all().len())
        );
        let list = h.run("COMMAND LIST");
        let expected = table::all().len() + table::SUBCOMMANDS.len();
        assert!(list.starts_with(&format!("*{expected}\r\n")), "{list}");
        for name in table::all()
            .iter()
            .map(|c| c.name)
            .chain(table::SUBCOMMANDS.iter().copied())
        {
            assert!(list.contains(&format!("\r\n{name}\r\n")), "{name} missing");
        }
    }

    /// An argument as redis-cli renders it in its typing hints.
    fn cli_hint(arg: &meta::Node) -> String {
        let text = |k: &str| arg.get(k).and_then(meta::Node::text);
        let flag = |f: &str| {
            arg.get("flags")
                .is_some_and(|fl| fl.texts().any(|x| x == f))
        };
        let children = |sep: &str| {
            let args = arg.get("arguments").map_or(&[][..], meta::Node::items);
            args.iter().map(cli_hint).collect::<Vec<_>>().join(sep)
        };
        let kind = text("type").unwrap_or("");
        let body = match kind {
            "oneof" => children("|"),
            "block" => children(" "),
            "pure-token" => String::new(),
            _ => text("display_text")
                .or(text("name"))
                .unwrap_or("")
                .to_string(),
        };
        let token = text("token").map(|t| {
            if kind == "pure-token" {
                t.to_string()
            } else {
                format!("{t} ")
            }
        });
        let mut s = format!("{}{body}", token.clone().unwrap_or_default());
        if flag("multiple") {
            let again = if flag("multiple_token") {
                s.clone()
            } else {
                body
            };
            s = format!("{s} [{again} ...]");
        }
        if flag("optional") {
            s = format!("[{s}]");
        }
        s
    }

    fn cli_hints(name: &str) -> String {
        let m = meta::lookup(name).expect("metadata");
        let args = m.docs.get("arguments").map_or(&[][..], meta::Node::items);
        args.iter().map(cli_hint).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn docs_give_redis_cli_its_usual_hints() {
        assert_eq!(
            cli_hints("set"),
            "key value [NX|XX] [GET] [EX seconds|PX milliseconds|\
             EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
        );
        assert_eq!(cli_hints("mset"), "key value [key value ...]");
        assert_eq!(cli_hints("lpush"), "key element [element ...]");
        assert_eq!(
            cli_hints("zadd"),
            "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]"
        );
        // What the server sends is what the metadata holds.
        let mut h = Harness::new();
        assert!(h.run("COMMAND DOCS set").contains("unix-time-milliseconds"));
    }

    #[test]
    fn lists_only_implemented_subcommands() {
        let mut h = Harness::new();
        let list = h.run("COMMAND LIST FILTERBY PATTERN client|*");
        assert!(list.contains("client|getname"), "{list}");
        assert!(!list.contains("client|tracking"), "{list}");
        assert_eq!(h.run("COMMAND INFO client|tracking"), "*1\r\n*-1\r\n");
        assert_eq!(h.run("COMMAND DOCS client|tracking"), "*0\r\n");
    }

    #[test]
    fn subcommand_arity_and_unknown_subcommand_errors() {
        let mut h = Harness::new();
        assert_eq!(
            h.run("COMMAND COUNT x"),
            "-ERR wrong number of arguments for 'command|count' command\r\n"
        );
        assert_eq!(
            h.run("COMMAND GETKEYS GET"),
            "-ERR wrong number of arguments for 'command|getkeys' command\r\n"
        );
        assert_eq!(
            h.run("COMMAND FOO"),
            "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"
        );
        assert_eq!(h.run("COMMAND LIST FILTERBY x y"), "-ERR syntax error\r\n");
    }

    #[test]
    fn getkeys_uses_key_specs_and_fallbacks() {
        let mut h = Harness::new();
        assert_eq!(
            h.run("COMMAND GETKEYS MSET a 1 b 2"),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            h.run("COMMAND GETKEYSANDFLAGS SET k v GET"),
            "*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"
        );
        assert_eq!(
            h.run("COMMAND GETKEYS ZUNIONSTORE d 0 a"),
            "-ERR Invalid arguments specified for command\r\n"
        );
        assert_eq!(h.run("COMMAND GETKEYS bf.add f x"), "*1\r\n$1\r\nf\r\n");
    }
}
