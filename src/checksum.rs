//! Content checksums: `sha256:<hex>` of a file's bytes, normalised so that a
//! Windows checkout (CRLF, BOM) of a migration is not mistaken for an edit.
//!
//! Migrations are checksummed normalised; files lockstep writes are
//! checksummed raw (every byte of a config file matters).

use sha2::{Digest, Sha256};
use std::fmt;

const PREFIX: &str = "sha256:";

/// A `sha256:<64 hex>` checksum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum(String);

impl Checksum {
    /// Checksum of raw bytes, nothing normalised.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Checksum::of_digest(&Sha256::digest(bytes))
    }

    /// `sha256:` and the digest in lowercase hex, written in one allocation
    /// (a no-op run checksums every migration file).
    fn of_digest(digest: &[u8]) -> Self {
        let mut hex = [0u8; 64];
        hex::encode_to_slice(digest, &mut hex).expect("a SHA-256 digest is 32 bytes");
        let mut text = String::with_capacity(PREFIX.len() + hex.len());
        text.push_str(PREFIX);
        text.push_str(std::str::from_utf8(&hex).expect("hex is ASCII"));
        Checksum(text)
    }

    /// Checksum of a migration file: UTF-8 BOM removed, CRLF and lone CR
    /// turned into LF.
    pub fn of_migration(bytes: &[u8]) -> Self {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if !bytes.contains(&b'\r') {
            return Checksum::of_bytes(bytes);
        }
        let mut hasher = Sha256::new();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\r' {
                hasher.update(&bytes[start..i]);
                hasher.update(b"\n");
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            i += 1;
        }
        hasher.update(&bytes[start..]);
        Checksum::of_digest(&hasher.finalize())
    }

    /// Parses a stored checksum; `None` when it is not of the `sha256:` form.
    pub fn parse(text: &str) -> Option<Self> {
        let hex_part = text.strip_prefix(PREFIX)?;
        (hex_part.len() == 64 && hex_part.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Checksum(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex digest without the `sha256:` prefix.
    pub fn hex(&self) -> &str {
        &self.0[PREFIX.len()..]
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            Checksum::of_bytes(b"abc").as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn line_endings_and_bom_do_not_change_a_migration_checksum() {
        let lf = Checksum::of_migration(b"CREATE TABLE t (id INT);\nSELECT 1;\n");
        assert_eq!(
            lf,
            Checksum::of_migration(b"CREATE TABLE t (id INT);\r\nSELECT 1;\r\n")
        );
        assert_eq!(
            lf,
            Checksum::of_migration(b"CREATE TABLE t (id INT);\rSELECT 1;\r")
        );
        assert_eq!(
            lf,
            Checksum::of_migration(b"\xEF\xBB\xBFCREATE TABLE t (id INT);\r\nSELECT 1;\n")
        );
        assert_eq!(
            lf,
            Checksum::of_bytes(b"CREATE TABLE t (id INT);\nSELECT 1;\n")
        );
    }

    #[test]
    fn one_byte_changes_it() {
        assert_ne!(
            Checksum::of_migration(b"SELECT 1;\n"),
            Checksum::of_migration(b"SELECT 2;\n")
        );
    }

    #[test]
    fn parse_round_trips() {
        let c = Checksum::of_bytes(b"x");
        assert_eq!(Checksum::parse(c.as_str()), Some(c));
        assert_eq!(Checksum::parse("md5:abc"), None);
    }
}
