//! Secrets stay secret wherever they travel: a password in a database URL
//! (user info, a `?password=`-like parameter, a malformed URL without `//`)
//! is masked in the human header, the JSON `database.url`, connection
//! errors and logs.

use crate::databases::Kind;
use crate::test::{Output, Test};

const QUERY_PASSWORD: &str = "Query-Pa55-Vb";
const SSL_PASSWORD: &str = "Ssl-Pa55-Nm";
const USERINFO_PASSWORD: &str = "Info-Pa55-Lk";

/// The server URL of `t` with `secrets` put where each form puts them.
fn url_forms(t: &Test) -> Vec<(String, &'static str)> {
    let url = &t.db().url;
    let (scheme, rest) = url.split_once("://").unwrap();
    vec![
        (format!("{url}?password={QUERY_PASSWORD}"), "?password=***"),
        (
            format!("{url}?sslpassword={SSL_PASSWORD}&application_name=x"),
            "?sslpassword=***&application_name=x",
        ),
        // No `//`: the driver refuses it, quoting nothing of it.
        (
            format!(
                "{scheme}:{}",
                rest.replacen('@', &format!(":{USERINFO_PASSWORD}@"), 1)
            ),
            "",
        ),
    ]
}

#[track_caller]
fn assert_no_leak(out: &Output, what: &str) {
    for secret in [QUERY_PASSWORD, SSL_PASSWORD, USERINFO_PASSWORD] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{what} leaked {secret}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

fn url_passwords_are_masked(kind: Kind) {
    let Some(t) = Test::with_db(kind) else {
        return;
    };
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    for (url, shown) in url_forms(&t) {
        for args in [
            &["status"][..],
            &["apply", "--check", "--diff"],
            &["-vvv", "apply"],
        ] {
            let mut all = vec!["--database", url.as_str()];
            all.extend(args);
            let out = t.run(&all);
            assert_no_leak(&out, &format!("{args:?} on {url}"));
            let json_url = out.json["database"]["url"].as_str().unwrap_or("");
            if !shown.is_empty() && out.code == 0 {
                assert!(json_url.ends_with(shown), "{json_url}");
            }
            if out.code != 0 {
                assert!(out.msg().contains("***"), "{}", out.msg());
            }
            // Human output: the header line, or the error.
            let (code, stdout, stderr) = t.run_raw(&{
                let mut raw = vec!["--database", url.as_str()];
                raw.extend(args);
                raw
            });
            let human = Output {
                code,
                stdout,
                stderr,
                json: serde_json::Value::Null,
            };
            assert_no_leak(&human, &format!("human {args:?} on {url}"));
            assert!(
                human.stdout.contains("***") || human.stderr.contains("***"),
                "{}\n{}",
                human.stdout,
                human.stderr
            );
        }
    }
}

#[test]
fn url_passwords_are_masked_postgres() {
    url_passwords_are_masked(Kind::Postgres);
}

#[test]
fn url_passwords_are_masked_mysql() {
    url_passwords_are_masked(Kind::Mysql);
}
