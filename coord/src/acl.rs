//! ACL checks and the world / digest / ip / auth schemes.

use crate::proto::{Acl, ErrCode, Id};
use base64::Engine;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// The id a digest `user:password` authenticates as: `user:base64(sha1(user:password))`.
pub fn digest_id(user_password: &str) -> Option<String> {
    let (user, _) = user_password.split_once(':')?;
    let hash = Sha1::digest(user_password.as_bytes());
    Some(format!("{user}:{}", base64::engine::general_purpose::STANDARD.encode(hash)))
}

/// Whether `client` falls in an ip ACL id, "a.b.c.d" or "a.b.c.d/bits".
fn ip_matches(acl_id: &str, client: &IpAddr) -> bool {
    let (addr, bits) = match acl_id.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (acl_id, None),
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (addr, client) {
        (IpAddr::V4(a), IpAddr::V4(c)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(a) & mask == u32::from(*c) & mask
        }
        (a, c) => a == *c,
    }
}

fn valid_ip_id(id: &str) -> bool {
    let (addr, bits) = match id.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (id, None),
    };
    addr.parse::<IpAddr>().is_ok() && bits.is_none_or(|b| b.parse::<u8>().is_ok_and(|b| b <= 128))
}

/// Who a connection is: its address and the ids it added with addAuth.
#[derive(Debug, Clone)]
pub struct Identity {
    pub addr: IpAddr,
    pub ids: Vec<Id>,
}

impl Identity {
    /// ZooKeeper's checkACL: any entry granting `perm` to one of our ids.
    pub fn check(&self, acl: &[Acl], perm: i32) -> Result<(), ErrCode> {
        if acl.is_empty() {
            return Ok(());
        }
        let granted = acl.iter().filter(|a| a.perms & perm != 0).any(|a| match a.id.scheme.as_str() {
            "world" => a.id.id == "anyone",
            "ip" => ip_matches(&a.id.id, &self.addr),
            _ => self.ids.contains(&a.id),
        });
        if granted {
            Ok(())
        } else {
            Err(ErrCode::NoAuth)
        }
    }

    /// Validates an ACL a client sent and expands the `auth` scheme into
    /// the ids this connection authenticated as (fixupACL).
    pub fn fix_acl(&self, acl: &[Acl]) -> Result<Vec<Acl>, ErrCode> {
        if acl.is_empty() {
            return Err(ErrCode::InvalidAcl);
        }
        let mut out: Vec<Acl> = Vec::new();
        for a in acl {
            let entries = match a.id.scheme.as_str() {
                "world" if a.id.id == "anyone" => vec![a.clone()],
                "digest" if a.id.id.split(':').count() == 2 => vec![a.clone()],
                "ip" if valid_ip_id(&a.id.id) => vec![a.clone()],
                "auth" => {
                    if self.ids.is_empty() {
                        return Err(ErrCode::InvalidAcl);
                    }
                    self.ids.iter().map(|id| Acl { perms: a.perms, id: id.clone() }).collect()
                }
                _ => return Err(ErrCode::InvalidAcl),
            };
            for e in entries {
                if !out.contains(&e) {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::perms;

    fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl { perms, id: Id { scheme: scheme.into(), id: id.into() } }
    }

    fn me() -> Identity {
        Identity {
            addr: "127.0.0.1".parse().unwrap(),
            ids: vec![Id { scheme: "digest".into(), id: digest_id("u:p").unwrap() }],
        }
    }

    #[test]
    fn digest_matches_zookeeper() {
        // From ZooKeeper's docs: DigestAuthenticationProvider.generateDigest("super:test").
        assert_eq!(digest_id("super:test").unwrap(), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        assert!(digest_id("nocolon").is_none());
    }

    #[test]
    fn checks_each_scheme() {
        let who = me();
        assert!(who.check(&Acl::open_unsafe(), perms::WRITE).is_ok());
        assert!(who.check(&[acl(perms::READ, "world", "anyone")], perms::WRITE).is_err());
        assert!(who.check(&[acl(perms::ALL, "ip", "127.0.0.0/8")], perms::DELETE).is_ok());
        assert!(who.check(&[acl(perms::ALL, "ip", "10.0.0.1")], perms::DELETE).is_err());
        let mine = who.ids[0].id.clone();
        assert!(who.check(&[acl(perms::READ, "digest", &mine)], perms::READ).is_ok());
        assert_eq!(who.check(&[acl(perms::READ, "digest", "x:y")], perms::READ), Err(ErrCode::NoAuth));
    }

    #[test]
    fn fix_acl_expands_auth_and_rejects_junk() {
        let who = me();
        let fixed = who.fix_acl(&[acl(perms::ALL, "auth", "")]).unwrap();
        assert_eq!(fixed, vec![acl(perms::ALL, "digest", &who.ids[0].id)]);
        let anon = Identity { addr: who.addr, ids: vec![] };
        assert_eq!(anon.fix_acl(&[acl(perms::ALL, "auth", "")]), Err(ErrCode::InvalidAcl));
        assert_eq!(who.fix_acl(&[]), Err(ErrCode::InvalidAcl));
        assert_eq!(who.fix_acl(&[acl(1, "world", "someone")]), Err(ErrCode::InvalidAcl));
        assert_eq!(who.fix_acl(&[acl(1, "ip", "not-an-ip")]), Err(ErrCode::InvalidAcl));
        assert_eq!(who.fix_acl(&[acl(1, "bogus", "x")]), Err(ErrCode::InvalidAcl));
    }
}
