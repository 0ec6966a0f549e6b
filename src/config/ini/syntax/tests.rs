//! Each dialect's reading of small files, checked by hand against the
//! readers' documented rules (the corpus test checks them against the
//! readers themselves), and edits that only a dialect's rules make safe.

use super::super::{Document, EditError, MatchOptions, Occurrence};
use super::{Setting, Syntax};
use std::path::Path;

fn read(syntax: Syntax, text: &str) -> Vec<(Option<String>, String, Option<String>)> {
    Document::parse_as(text, syntax)
        .reading(syntax)
        .expect("readable")
        .into_iter()
        .map(
            |Setting {
                 section,
                 key,
                 value,
             }| (section, key, value),
        )
        .collect()
}

fn s(section: &str, key: &str, value: &str) -> (Option<String>, String, Option<String>) {
    (Some(section.into()), key.into(), Some(value.into()))
}

fn set(
    syntax: Syntax,
    text: &str,
    section: &str,
    key: &str,
    value: &str,
) -> Result<String, EditError> {
    let mut doc = Document::parse_as(text, syntax);
    doc.set(Some(section), key, value, &MatchOptions::default())?;
    Ok(doc.to_string())
}

#[test]
fn syntax_follows_the_file_name() {
    for (path, syntax) in [
        ("etc/systemd/system/app.service", Syntax::Systemd),
        ("app.socket", Syntax::Systemd),
        (
            "etc/systemd/system/app.service.d/override.conf",
            Syntax::Systemd,
        ),
        ("etc/systemd/journald.conf", Syntax::Systemd),
        ("etc/php/8.2/fpm/php.ini", Syntax::Php),
        ("etc/php/8.2/mods-available/opcache.ini", Syntax::Php),
        ("etc/mysql/my.cnf", Syntax::Mysql),
        ("etc/mysql/mariadb.conf.d/50-server.cnf", Syntax::Mysql),
        ("home/me/.my.cnf", Syntax::Mysql),
        ("home/me/.gitconfig", Syntax::Gitconfig),
        ("srv/repo/.git/config", Syntax::Gitconfig),
        ("setup.cfg", Syntax::Configparser),
        ("tox.ini", Syntax::Configparser),
        ("etc/app.conf", Syntax::Generic),
        ("app.ini", Syntax::Generic),
        ("etc/ssl/openssl.cnf", Syntax::Generic),
    ] {
        assert_eq!(Syntax::for_path(Path::new(path)), syntax, "{path}");
    }
    assert_eq!("gitconfig".parse::<Syntax>(), Ok(Syntax::Gitconfig));
    assert!("toml"
        .parse::<Syntax>()
        .unwrap_err()
        .to_string()
        .contains("configparser"));
}

#[test]
fn configparser_continues_values_across_blank_lines_and_drops_comments() {
    assert_eq!(
        read(
            Syntax::Configparser,
            "[s]\nHosts = a\n  # note\n\n  b\n\n\nNext: 1\n[t] ; x\nk=v\n"
        ),
        vec![
            s("s", "hosts", "a\n\nb"),
            s("s", "next", "1"),
            s("t", "k", "v")
        ]
    );
}

#[test]
fn systemd_continues_on_backslashes_only() {
    assert_eq!(
        read(
            Syntax::Systemd,
            "[Service]\nExecStart=/bin/a \\\n# skipped\n  --flag\nEnvironment=A=1\n  Indented=2\nEnvironment=\nX=a\\\\\n"
        ),
        vec![
            s("Service", "ExecStart", "/bin/a    --flag"),
            s("Service", "Environment", "A=1"),
            s("Service", "Indented", "2"),
            s("Service", "Environment", ""),
            s("Service", "X", "a\\\\"),
        ]
    );
}

#[test]
fn gitconfig_reads_subsections_comments_quotes_and_continuations() {
    assert_eq!(
        read(
            Syntax::Gitconfig,
            "[Remote \"Origin\"]\n\tURL = a ; comment\n\tfetch = \"x ; y\" # c\n[alias]\n\tl = log \\\n\t  --oneline\n\tbare\n"
        ),
        vec![
            s("remote.Origin", "url", "a"),
            s("remote.Origin", "fetch", "x ; y"),
            s("alias", "l", "log \t  --oneline"),
            (Some("alias".into()), "bare".into(), None),
        ]
    );
}

#[test]
fn mysql_and_php_cut_values_at_their_inline_comments() {
    assert_eq!(
        read(Syntax::Mysql, "[mysqld]\nport = 3306 # default\nsocket = \"/a#b\"\nskip-name-resolve\n!includedir /etc/mysql/conf.d/\n"),
        vec![
            s("mysqld", "port", "3306"),
            s("mysqld", "socket", "/a#b"),
            (Some("mysqld".into()), "skip-name-resolve".into(), None),
        ]
    );
    assert_eq!(
        read(
            Syntax::Php,
            "[PHP]\nmemory_limit = 128M ; default\n#x = 1\nerror_log = \"a;b\"\n"
        ),
        vec![
            s("PHP", "memory_limit", "128M"),
            s("PHP", "#x", "1"),
            s("PHP", "error_log", "a;b"),
        ]
    );
}

#[test]
fn edits_keep_inline_comments_and_whole_continued_values() {
    assert_eq!(
        set(
            Syntax::Mysql,
            "[mysqld]\nport = 3306 # default\n",
            "mysqld",
            "port",
            "3307"
        )
        .unwrap(),
        "[mysqld]\nport = 3307 # default\n"
    );
    assert_eq!(
        set(
            Syntax::Systemd,
            "[Service]\nExecStart=/bin/a \\\n  --flag\nUser=x\n",
            "Service",
            "ExecStart",
            "/bin/b"
        )
        .unwrap(),
        "[Service]\nExecStart=/bin/b\nUser=x\n"
    );
    assert_eq!(
        set(
            Syntax::Gitconfig,
            "[remote \"origin\"]\n\turl = a\n",
            "REMOTE \"origin\"",
            "URL",
            "b"
        )
        .unwrap(),
        "[remote \"origin\"]\n\turl = b\n"
    );
    // An indented line after a systemd key is a key of its own, not a continuation.
    let mut doc = Document::parse_as("[Service]\nA=1\n  B=2\n", Syntax::Systemd);
    doc.delete(Some("Service"), "A", &MatchOptions::default())
        .unwrap();
    assert_eq!(doc.to_string(), "[Service]\n  B=2\n");
}

#[test]
fn values_a_reader_would_cut_are_refused() {
    let e = set(Syntax::Php, "[PHP]\nk = 1\n", "PHP", "k", "a;b").unwrap_err();
    assert!(
        matches!(
            e,
            EditError::ReadsDifferently {
                syntax: Syntax::Php,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("php.ini reads `;` as a comment"),
        "{e}"
    );
    let e = set(Syntax::Mysql, "[mysqld]\nk = 1\n", "mysqld", "k", "a#b").unwrap_err();
    assert!(
        matches!(
            e,
            EditError::ReadsDifferently {
                syntax: Syntax::Mysql,
                ..
            }
        ),
        "{e:?}"
    );
    // configparser reads both literally; a generic file readable by php.ini refuses.
    assert_eq!(
        set(Syntax::Configparser, "[s]\nk = 1\n", "s", "k", "a;b").unwrap(),
        "[s]\nk = a;b\n"
    );
    let e = set(Syntax::Generic, "[s]\nk = 1\n", "s", "k", "a;b").unwrap_err();
    assert!(
        matches!(
            e,
            EditError::ReadsDifferently {
                syntax: Syntax::Php,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("`syntax:`"), "{e}");
    // Secret-looking values never appear in the message.
    assert!(!e.to_string().contains("a;b"), "{e}");
}

#[test]
fn systemd_repeated_keys_stay_a_list() {
    let text = "[Service]\nEnvironment=A=1\nEnvironment=B=2\n";
    let mut doc = Document::parse_as(text, Syntax::Systemd);
    let last = MatchOptions {
        occurrence: Occurrence::Last,
        ..MatchOptions::default()
    };
    doc.set(Some("Service"), "Environment", "B=3", &last)
        .unwrap();
    assert_eq!(
        doc.to_string(),
        "[Service]\nEnvironment=A=1\nEnvironment=B=3\n"
    );
}

#[test]
fn a_generic_file_may_get_names_another_dialect_cannot_have() {
    // git allows no `_` in a key: a generic file that gets one is simply
    // not a git config, not a file git would no longer read.
    assert_eq!(
        set(
            Syntax::Generic,
            "[options]\ncache = x\n",
            "options",
            "memcache_servers",
            "h:1"
        )
        .unwrap(),
        "[options]\ncache = x\nmemcache_servers = h:1\n"
    );
    // A gitconfig file itself still refuses such a key.
    assert!(set(
        Syntax::Gitconfig,
        "[options]\n\tcache = x\n",
        "options",
        "memcache_servers",
        "h:1"
    )
    .is_err());
}
