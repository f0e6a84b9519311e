//! Command metadata exactly as redis-server 7.0.15 reports it in COMMAND INFO
//! and COMMAND DOCS, read from `commands.meta` (generated from the real
//! server by `tools/gen_command_meta.py`). The file holds every Redis command
//! of the groups kv-server serves; what kv-server reports is narrowed to its
//! dispatch table by the callers. Parsed once, on first use, so startup and
//! the command hot path never pay for it.

use crate::frame::Reply;
use crate::types::HashMap;
use std::sync::OnceLock;

const META_FILE: &str = include_str!("commands.meta");

/// One reply node, keeping the RESP3 type Redis used so that RESP2 and
/// RESP3 replies both come out as Redis writes them.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Array(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Set(Vec<Node>),
    Bulk(String),
    Simple(String),
    Int(i64),
    Null,
}

impl Node {
    pub fn text(&self) -> Option<&str> {
        match self {
            Node::Bulk(s) | Node::Simple(s) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Node::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// Elements of an array or set; empty for anything else.
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Array(v) | Node::Set(v) => v,
            _ => &[],
        }
    }

    /// The value under `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Texts of an array or set (flags, ACL categories).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.items().iter().filter_map(Node::text)
    }

    pub fn write(&self, out: &mut Reply) {
        match self {
            Node::Array(v) => {
                out.array(v.len());
                v.iter().for_each(|n| n.write(out));
            }
            Node::Set(v) => {
                out.set(v.len());
                v.iter().for_each(|n| n.write(out));
            }
            Node::Map(pairs) => {
                out.map(pairs.len());
                for (k, v) in pairs {
                    k.write(out);
                    v.write(out);
                }
            }
            Node::Bulk(s) => out.bulk(s.as_bytes()),
            Node::Simple(s) => out.simple(s),
            Node::Int(n) => out.int(*n),
            Node::Null => out.null(),
        }
    }
}

// Positions in a COMMAND INFO entry (Redis 7.0's 10-field shape).
const INFO_NAME: usize = 0;
const INFO_ARITY: usize = 1;
const INFO_FLAGS: usize = 2;
const INFO_FIRST_KEY: usize = 3;
const INFO_LAST_KEY: usize = 4;
const INFO_STEP: usize = 5;
const INFO_ACL_CATEGORIES: usize = 6;
const INFO_KEY_SPECS: usize = 8;
const INFO_SUBCOMMANDS: usize = 9;

/// A command's (or subcommand's) COMMAND INFO entry and COMMAND DOCS map.
#[derive(Debug, Clone, Copy)]
pub struct CommandMeta<'a> {
    pub info: &'a Node,
    pub docs: &'a Node,
}

impl<'a> CommandMeta<'a> {
    fn info_field(&self, i: usize) -> Option<&'a Node> {
        self.info.items().get(i)
    }

    fn info_int(&self, i: usize) -> i64 {
        self.info_field(i).and_then(Node::int).unwrap_or(0)
    }

    /// The full name: `get`, or `client|getname` for a subcommand.
    pub fn name(&self) -> &'a str {
        self.info_field(INFO_NAME)
            .and_then(Node::text)
            .unwrap_or("")
    }

    pub fn arity(&self) -> i64 {
        self.info_int(INFO_ARITY)
    }

    pub fn flags(&self) -> impl Iterator<Item = &'a str> {
        self.info_field(INFO_FLAGS)
            .into_iter()
            .flat_map(Node::texts)
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags().any(|f| f == flag)
    }

    /// (first key, last key, step) of the legacy key range.
    pub fn key_range(&self) -> (i64, i64, i64) {
        (
            self.info_int(INFO_FIRST_KEY),
            self.info_int(INFO_LAST_KEY),
            self.info_int(INFO_STEP),
        )
    }

    /// ACL categories without their `@`.
    pub fn acl_categories(&self) -> impl Iterator<Item = &'a str> {
        self.info_field(INFO_ACL_CATEGORIES)
            .into_iter()
            .flat_map(Node::texts)
            .map(|c| c.trim_start_matches('@'))
    }

    pub fn key_specs(&self) -> &'a [Node] {
        self.info_field(INFO_KEY_SPECS).map_or(&[], Node::items)
    }

    pub fn group(&self) -> &'a str {
        self.docs.get("group").and_then(Node::text).unwrap_or("")
    }

    /// Full names of the subcommands Redis has (`client|getname`, ...).
    pub fn subcommand_names(&self) -> impl Iterator<Item = &'a str> {
        self.info_field(INFO_SUBCOMMANDS)
            .into_iter()
            .flat_map(Node::items)
            .filter_map(|sub| sub.items().get(INFO_NAME).and_then(Node::text))
    }

    /// A subcommand by its full name (`client|getname`).
    pub fn subcommand(&self, full_name: &str) -> Option<CommandMeta<'a>> {
        let info = self
            .info_field(INFO_SUBCOMMANDS)?
            .items()
            .iter()
            .find(|sub| sub.items().get(INFO_NAME).and_then(Node::text) == Some(full_name))?;
        let docs = self.docs.get("subcommands")?.get(full_name)?;
        Some(CommandMeta { info, docs })
    }

    /// Writes the COMMAND INFO entry, listing only the subcommands `keep`
    /// accepts (kv-server reports the ones it implements).
    pub fn write_info(&self, out: &mut Reply, keep: &dyn Fn(&str) -> bool) {
        let fields = self.info.items();
        out.array(fields.len());
        for (i, field) in fields.iter().enumerate() {
            if i == INFO_SUBCOMMANDS {
                write_filtered(out, field, |sub| {
                    sub.items()
                        .get(INFO_NAME)
                        .and_then(Node::text)
                        .is_some_and(keep)
                });
            } else {
                field.write(out);
            }
        }
    }

    /// Writes the COMMAND DOCS map (without the name before it), listing only
    /// the subcommands `keep` accepts.
    pub fn write_docs(&self, out: &mut Reply, keep: &dyn Fn(&str) -> bool) {
        let Node::Map(pairs) = self.docs else {
            self.docs.write(out);
            return;
        };
        out.map(pairs.len());
        for (k, v) in pairs {
            k.write(out);
            match (k.text(), v) {
                (Some("subcommands"), Node::Map(subs)) => {
                    let kept: Vec<&(Node, Node)> = subs
                        .iter()
                        .filter(|(name, _)| name.text().is_some_and(keep))
                        .collect();
                    out.map(kept.len());
                    for (name, doc) in kept {
                        name.write(out);
                        doc.write(out);
                    }
                }
                _ => v.write(out),
            }
        }
    }
}

/// Writes an array or set node with only the children `keep` accepts.
fn write_filtered(out: &mut Reply, node: &Node, keep: impl Fn(&Node) -> bool) {
    match node {
        Node::Array(v) | Node::Set(v) => {
            let kept: Vec<&Node> = v.iter().filter(|n| keep(n)).collect();
            if matches!(node, Node::Set(_)) {
                out.set(kept.len());
            } else {
                out.array(kept.len());
            }
            kept.into_iter().for_each(|n| n.write(out));
        }
        other => other.write(out),
    }
}

struct Entry {
    info: Node,
    docs: Node,
}

/// Metadata of one top-level command, by lower-case name.
pub fn lookup(name: &str) -> Option<CommandMeta<'static>> {
    static META: OnceLock<HashMap<String, Entry>> = OnceLock::new();
    let meta = META.get_or_init(|| parse(META_FILE).expect("commands.meta is well-formed"));
    meta.get(name).map(|e| CommandMeta {
        info: &e.info,
        docs: &e.docs,
    })
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Reads one node (and its children) from the lines.
fn parse_node<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Result<Node, String> {
    let line = lines.next().ok_or("unexpected end of file")?.trim_start();
    let (kind, rest) = line.split_at(line.char_indices().nth(1).map_or(line.len(), |(i, _)| i));
    let count = || {
        rest.parse::<usize>()
            .map_err(|_| format!("bad count: {line}"))
    };
    Ok(match kind {
        "*" | "~" => {
            let n = count()?;
            let items = (0..n)
                .map(|_| parse_node(lines))
                .collect::<Result<Vec<_>, _>>()?;
            if kind == "*" {
                Node::Array(items)
            } else {
                Node::Set(items)
            }
        }
        "%" => {
            let n = count()?;
            let pairs = (0..n)
                .map(|_| Ok((parse_node(lines)?, parse_node(lines)?)))
                .collect::<Result<Vec<_>, String>>()?;
            Node::Map(pairs)
        }
        "$" => Node::Bulk(unescape(rest)),
        "+" => Node::Simple(unescape(rest)),
        ":" => Node::Int(rest.parse().map_err(|_| format!("bad integer: {line}"))?),
        "_" => Node::Null,
        _ => return Err(format!("unknown node: {line}")),
    })
}

fn parse(text: &str) -> Result<HashMap<String, Entry>, String> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut out = HashMap::default();
    while let Some(head) = lines.next() {
        let name = head
            .strip_prefix('@')
            .ok_or_else(|| format!("expected @name, got: {head}"))?;
        let info = parse_node(&mut lines)?;
        let docs = parse_node(&mut lines)?;
        out.insert(name.to_string(), Entry { info, docs });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_entry_in_the_generated_file() {
        let parsed = parse(META_FILE).expect("parse");
        assert!(parsed.len() > 100, "only {} commands", parsed.len());
        for (name, e) in &parsed {
            let m = CommandMeta {
                info: &e.info,
                docs: &e.docs,
            };
            assert_eq!(m.name(), name);
            assert_ne!(m.arity(), 0, "{name}");
            assert!(!m.group().is_empty(), "{name}");
        }
    }

    #[test]
    fn reads_get_and_client_getname() {
        let get = lookup("get").expect("get");
        assert_eq!(get.arity(), 2);
        assert_eq!(get.flags().collect::<Vec<_>>(), ["readonly", "fast"]);
        assert_eq!(
            get.acl_categories().collect::<Vec<_>>(),
            ["read", "string", "fast"]
        );
        assert_eq!(get.key_range(), (1, 1, 1));
        assert_eq!(get.key_specs().len(), 1);
        let client = lookup("client").expect("client");
        let getname = client.subcommand("client|getname").expect("sub");
        assert_eq!(getname.arity(), 2);
        assert_eq!(getname.group(), "connection");
        assert!(client.subcommand_names().any(|n| n == "client|kill"));
    }

    #[test]
    fn parser_rejects_malformed_input() {
        assert!(parse("@x\n*2\n$a\n").is_err());
        assert!(parse("x\n").is_err());
        assert!(parse("@x\n:abc\n%0\n").is_err());
        assert_eq!(unescape(r"a\\b\nc"), "a\\b\nc");
    }

    #[test]
    fn resp2_flattens_maps_and_sets() {
        let node = Node::Map(vec![(
            Node::Bulk("flags".into()),
            Node::Set(vec![Node::Simple("optional".into())]),
        )]);
        let mut r2 = Reply::new(false);
        node.write(&mut r2);
        assert_eq!(r2.buf, b"*2\r\n$5\r\nflags\r\n*1\r\n+optional\r\n");
        let mut r3 = Reply::new(true);
        node.write(&mut r3);
        assert_eq!(r3.buf, b"%1\r\n$5\r\nflags\r\n~1\r\n+optional\r\n");
    }
}
