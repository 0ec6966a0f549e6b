//! Keeps secrets out of everything lockstep prints: passwords in database
//! URLs and values marked `secret`. Every report passes through
//! [`Redactor::scrub`] before it is written, as a last line of defence.

use url::Url;

/// `postgres://app:***@db/app` for `postgres://app:s3cret@db/app`.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        // Unparseable: show only the scheme, the rest may hold a password.
        Err(_) => match url.split_once("://") {
            Some((scheme, rest)) if rest.contains('@') => format!("{scheme}://***"),
            _ => url.to_owned(),
        },
    }
}

/// The password of a URL, percent-decoded, if it has one.
pub fn url_password(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?;
    let p = parsed.password()?;
    Some(
        percent_encoding::percent_decode_str(p)
            .decode_utf8()
            .map_or_else(|_| p.to_owned(), |d| d.into_owned()),
    )
}

/// The secrets of one run, scrubbed from its output.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn add(&mut self, secret: &str) {
        // Very short values would blank out ordinary words; they are masked
        // where they are known to be secret instead.
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            // Longest first, so a secret containing another is masked whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn add_url(&mut self, url: &str) {
        if let Some(p) = url_password(url) {
            self.add(&p);
        }
        if let Ok(parsed) = Url::parse(url) {
            if let Some(raw) = parsed.password() {
                self.add(raw);
            }
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
            url_password("postgres://a:p%40ss@h/d").as_deref(),
            Some("p@ss")
        );
    }

    #[test]
    fn scrub_masks_every_secret() {
        let mut r = Redactor::default();
        r.add_url("postgres://app:p%40ssword@db/app");
        assert_eq!(
            r.scrub("error: p@ssword and p%40ssword"),
            "error: *** and ***"
        );
    }
}
