//! Which keys of a config file hold secret values. A key is secret when a
//! migration wrote it with `secret: true`, when its value came from a
//! secret key that a later migration renamed or moved (with its section or
//! alone), or when its name looks secret (`password`, `*_key`, …; the list
//! is `secret_keys` in lockstep.ini) and no migration said `secret: false`.
//! The state records the first and last kinds per file, so secrecy travels
//! with the value from run to run; a secret value is kept in the state only
//! as its hash and never printed.

use crate::config::ini::Document;
use std::collections::BTreeSet;

/// `section.key` (or `key` before the first section): how keys are named in
/// reports and drift.
pub fn key_name(section: Option<&str>, key: &str) -> String {
    match section {
        Some(s) => format!("{s}.{key}"),
        None => key.to_owned(),
    }
}

/// The key names that look secret by default, as `lockstep.ini`'s
/// `secret_keys` would list them: `db_password` and `auth_token` are as
/// secret as `password` and `token`.
pub const DEFAULT_SECRET_NAMES: &str = "*password*, *passwd*, *secret*, *token*, api_key, *_key";

/// Glob patterns (`*` for any run of characters) that key names are
/// matched against, case-insensitively and whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNames(Vec<String>);

impl Default for SecretNames {
    fn default() -> SecretNames {
        SecretNames::parse(DEFAULT_SECRET_NAMES)
    }
}

impl SecretNames {
    /// A comma-separated list; empty means no key is secret by its name.
    pub fn parse(list: &str) -> SecretNames {
        SecretNames(
            list.split(',')
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }

    pub fn matches(&self, key: &str) -> bool {
        let key = key.to_lowercase();
        self.0.iter().any(|p| glob_matches(p, &key))
    }
}

fn glob_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob_matches(rest, &tail[i..]))
        }
    }
}

/// The secrecy of one file's keys, by `section.key` as the file spells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrecy {
    /// Marked secret, or moved from a secret key.
    secret: BTreeSet<String>,
    /// Declared not secret (`secret: false`) although the name looks secret.
    public: BTreeSet<String>,
    names: SecretNames,
}

impl Secrecy {
    pub fn new(secret: &[String], public: &[String], names: &SecretNames) -> Secrecy {
        Secrecy {
            secret: secret.iter().cloned().collect(),
            public: public.iter().cloned().collect(),
            names: names.clone(),
        }
    }

    pub fn is_secret(&self, section: Option<&str>, key: &str) -> bool {
        let name = key_name(section, key);
        self.secret.contains(&name) || (!self.public.contains(&name) && self.names.matches(key))
    }

    /// Applies a migration's `secret:` flag to a key it wrote: `true` makes
    /// it secret, `false` not, none keeps what it was.
    pub fn mark(&mut self, section: Option<&str>, key: &str, flag: Option<bool>) {
        let name = key_name(section, key);
        match flag {
            Some(true) => {
                self.public.remove(&name);
                self.secret.insert(name);
            }
            Some(false) => {
                self.secret.remove(&name);
                if self.names.matches(key) {
                    self.public.insert(name);
                }
            }
            None => {}
        }
    }

    /// The key is gone from the file.
    pub fn forget(&mut self, section: Option<&str>, key: &str) {
        let name = key_name(section, key);
        self.secret.remove(&name);
        self.public.remove(&name);
    }

    /// A value moved from one key to another: its secrecy goes with it,
    /// unless `flag` says otherwise.
    pub fn carry(
        &mut self,
        from: (Option<&str>, &str),
        to: (Option<&str>, &str),
        flag: Option<bool>,
    ) {
        let was_secret = self.is_secret(from.0, from.1);
        let was_public = self.public.contains(&key_name(from.0, from.1));
        self.forget(from.0, from.1);
        self.forget(to.0, to.1);
        let flag = flag.or(if was_secret {
            Some(true)
        } else if was_public {
            Some(false)
        } else {
            None
        });
        self.mark(to.0, to.1, flag);
    }

    /// Every value of a secret key in `doc`, to mask wherever it might show.
    pub fn values_in(&self, doc: &Document) -> Vec<String> {
        doc.entries()
            .into_iter()
            .filter(|e| self.is_secret(e.section.as_deref(), &e.key))
            .filter_map(|e| e.value)
            .collect()
    }

    /// Makes secret every key of `doc` whose value contains one of
    /// `values` (a plain DSN that embeds a secret password), so the state
    /// keeps it only as a hash too. Very short values are left out, as the
    /// output scrubber leaves them.
    pub fn taint(&mut self, doc: &Document, values: &[String]) {
        for e in doc.entries() {
            let Some(value) = &e.value else { continue };
            if values
                .iter()
                .any(|s| s.len() >= crate::redact::MIN_SECRET_LEN && value.contains(s.as_str()))
            {
                self.mark(e.section.as_deref(), &e.key, Some(true));
            }
        }
    }

    /// The keys to record as secret, and as declared not secret.
    pub fn recorded(&self) -> (Vec<String>, Vec<String>) {
        (
            self.secret.iter().cloned().collect(),
            self.public.iter().cloned().collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names() {
        let names = SecretNames::default();
        for key in [
            "password",
            "PASSWORD",
            "db_password",
            "passwd",
            "token",
            "auth_token",
            "api_key",
            "ssl_key",
            "secret",
            "client_secret",
        ] {
            assert!(names.matches(key), "{key}");
        }
        for key in ["host", "keyring", "key", "pool", "user", "dsn", "keys"] {
            assert!(!names.matches(key), "{key}");
        }
        let custom = SecretNames::parse("*pass*, dsn");
        assert!(custom.matches("db_passphrase") && custom.matches("DSN"));
        assert!(!SecretNames::parse("").matches("password"));
    }

    #[test]
    fn secrecy_follows_the_value() {
        let names = SecretNames::default();
        let mut s = Secrecy::new(&["db.dsn".to_owned()], &[], &names);
        assert!(s.is_secret(Some("db"), "dsn"));
        assert!(s.is_secret(Some("db"), "password"), "by name");
        s.carry((Some("db"), "dsn"), (Some("app"), "url"), None);
        assert!(!s.is_secret(Some("db"), "dsn"));
        assert!(s.is_secret(Some("app"), "url"));
        s.carry((Some("db"), "password"), (Some("db"), "pw"), None);
        assert!(
            s.is_secret(Some("db"), "pw"),
            "a secret by name stays secret"
        );
        s.mark(Some("db"), "password", Some(false));
        assert!(!s.is_secret(Some("db"), "password"));
        s.carry((Some("db"), "password"), (Some("x"), "password"), None);
        assert!(
            !s.is_secret(Some("x"), "password"),
            "declared public travels"
        );
        s.forget(Some("app"), "url");
        assert!(!s.is_secret(Some("app"), "url"));
        assert_eq!(
            s.recorded(),
            (vec!["db.pw".to_owned()], vec!["x.password".to_owned()])
        );
    }
}
