//! Keeps secrets out of everything lockstep prints: passwords in database
//! URLs and values marked `secret`. Every report passes through
//! [`Redactor::scrub`] before it is written, and every log line through
//! [`ScrubbedStderr`], as a last line of defence: both mask what the run has
//! learnt is secret so far ([`remember`]).

use percent_encoding::percent_decode_str;
use std::io::Write;
use std::sync::RwLock;

/// The secrets this run knows of: the database URL's, and every value that
/// planning found secret. Logs are written while the run goes on, so they
/// cannot wait for the report's own list.
static RUN_SECRETS: RwLock<Redactor> = RwLock::new(Redactor {
    secrets: Vec::new(),
});

/// Masks `secret` in every later log line and in the printed report.
pub fn remember(secret: &str) {
    if let Ok(mut r) = RUN_SECRETS.write() {
        r.add(secret);
    }
}

/// Masks the URL's passwords in every later log line and in the report.
pub fn remember_url(url: &str) {
    for secret in url_secrets(url) {
        remember(&secret);
    }
}

/// A redactor holding every secret [`remember`]ed so far.
pub fn run_redactor() -> Redactor {
    RUN_SECRETS.read().map(|r| r.clone()).unwrap_or_default()
}

/// Log output on stderr, each line scrubbed of the run's secrets: a
/// driver's warning may quote a connection parameter (sqlx logs an unknown
/// `?sslpassword=` with its value).
pub struct ScrubbedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbedLine;
    fn make_writer(&'a self) -> ScrubbedLine {
        ScrubbedLine(Vec::new())
    }
}

/// One log event, written to stderr scrubbed when it is complete.
pub struct ScrubbedLine(Vec<u8>);

impl Write for ScrubbedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedLine {
    fn drop(&mut self) {
        let text = run_redactor().scrub(&String::from_utf8_lossy(&self.0));
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

/// The URL with every password masked: the one in the user info
/// (`postgres://app:***@db/app`), the value of a password-like query
/// parameter (`?sslpassword=***`), and in a malformed URL without `//`
/// (`postgres:app:s3cret@db/app`) all that comes before the host.
pub fn redact_url(url: &str) -> String {
    let parts = UrlParts::split(url);
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.before_userinfo);
    if let Some(userinfo) = parts.userinfo {
        match (parts.slashes, userinfo.split_once(':')) {
            (true, Some((user, _))) => {
                out.push_str(user);
                out.push_str(":***");
            }
            (true, None) => out.push_str(userinfo),
            // Without `//` nothing says where a user name ends.
            (false, _) => out.push_str("***"),
        }
        out.push('@');
    }
    out.push_str(parts.host_and_path);
    if let Some(query) = parts.query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_password_parameter(name) => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Every secret a URL holds, as written and percent-decoded: what
/// [`redact_url`] masks, for scrubbing messages that quote it in pieces.
pub fn url_secrets(url: &str) -> Vec<String> {
    let parts = UrlParts::split(url);
    let mut found = Vec::new();
    if let Some(userinfo) = parts.userinfo {
        match (parts.slashes, userinfo.split_once(':')) {
            (true, Some((_, password))) => found.push(password),
            (true, None) => {}
            (false, password) => {
                found.push(userinfo);
                found.extend(password.map(|(_, p)| p));
            }
        }
    }
    for pair in parts.query.into_iter().flat_map(|q| q.split('&')) {
        if let Some((name, value)) = pair.split_once('=') {
            if is_password_parameter(name) {
                found.push(value);
            }
        }
    }
    let mut out = Vec::new();
    for raw in found.into_iter().filter(|s| !s.is_empty()) {
        let decoded = percent_decode_str(raw).decode_utf8_lossy().into_owned();
        if decoded != raw {
            out.push(decoded);
        }
        out.push(raw.to_owned());
    }
    out
}

/// `password`, `sslpassword`, `pass`, `pwd`, `secret`, `token`, …: a query
/// parameter whose value must not be shown.
fn is_password_parameter(name: &str) -> bool {
    let name = percent_decode_str(name).decode_utf8_lossy().to_lowercase();
    ["pass", "pwd", "secret", "token"]
        .iter()
        .any(|word| name.contains(word))
}

/// A database URL cut where secrets may hide, without assuming it is well
/// formed: `scheme:[//][userinfo@]host/path[?query]`.
struct UrlParts<'a> {
    /// `scheme://` or `scheme:`.
    before_userinfo: &'a str,
    slashes: bool,
    userinfo: Option<&'a str>,
    host_and_path: &'a str,
    query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    fn split(url: &'a str) -> UrlParts<'a> {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (url, None),
        };
        let (prefix_len, slashes) = match base.find("://") {
            Some(i) => (i + 3, true),
            None => (base.find(':').map_or(0, |i| i + 1), false),
        };
        let (before_userinfo, rest) = base.split_at(prefix_len);
        // A SQLite URL is a path, whatever characters it holds.
        let sqlite = before_userinfo.starts_with("sqlite:");
        // The last `@`: a password may hold an unencoded one.
        let (userinfo, host_and_path) = match rest.rfind('@') {
            Some(at) if !sqlite => (Some(&rest[..at]), &rest[at + 1..]),
            _ => (None, rest),
        };
        UrlParts {
            before_userinfo,
            slashes,
            userinfo,
            host_and_path,
            query,
        }
    }
}

/// Secrets shorter than this are not scrubbed from free text: they would
/// blank out ordinary words. They are masked where they are known to be
/// secret instead.
pub const MIN_SECRET_LEN: usize = 4;

/// The secrets of one run, scrubbed from its output.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= MIN_SECRET_LEN && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            // Longest first, so a secret containing another is masked whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn add_url(&mut self, url: &str) {
        for secret in url_secrets(url) {
            self.add(&secret);
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db/app"),
            "postgres://app:***@db/app"
        );
        assert_eq!(
            redact_url("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
        assert_eq!(redact_url("sqlite:x.db"), "sqlite:x.db");
        assert_eq!(
            redact_url("sqlite:///var/lib/a@b.db?mode=rwc"),
            "sqlite:///var/lib/a@b.db?mode=rwc"
        );
        assert_eq!(url_secrets("postgres://a:p%40ss@h/d"), ["p@ss", "p%40ss"]);
    }

    #[test]
    fn password_parameters_and_malformed_urls_are_masked() {
        for (url, shown, secrets) in [
            (
                "postgres://app@db/app?password=s3cret&sslmode=require",
                "postgres://app@db/app?password=***&sslmode=require",
                vec!["s3cret"],
            ),
            (
                "postgres://db/app?sslpassword=k%40y&user=app&PassWord=x2",
                "postgres://db/app?sslpassword=***&user=app&PassWord=***",
                vec!["k@y", "k%40y", "x2"],
            ),
            (
                "mysql://root:pw@h:3306/d?ssl-mode=DISABLED",
                "mysql://root:***@h:3306/d?ssl-mode=DISABLED",
                vec!["pw"],
            ),
            (
                "postgres:app:s3cret@db/app",
                "postgres:***@db/app",
                vec!["app:s3cret", "s3cret"],
            ),
            (
                "mysql:/root:p@ss@localhost/x",
                "mysql:***@localhost/x",
                vec!["/root:p@ss", "p@ss"],
            ),
            ("postgres://a:b:c@h/d", "postgres://a:***@h/d", vec!["b:c"]),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
            assert_eq!(url_secrets(url), secrets, "{url}");
        }
    }

    #[test]
    fn scrub_masks_every_secret() {
        let mut r = Redactor::default();
        r.add_url("postgres://app:p%40ssword@db/app?sslpassword=K3y-pass");
        assert_eq!(
            r.scrub("error: p@ssword and p%40ssword, K3y-pass"),
            "error: *** and ***, ***"
        );
    }
}
