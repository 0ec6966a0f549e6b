//! golang-migrate's layout: `<version>_<title>.up.sql` and `.down.sql` in
//! one folder. golang-migrate runs each file as it is, in no transaction of
//! its own, so lockstep does the same: a file that opens its own
//! transaction (`BEGIN;` … `COMMIT;`) keeps it, and a failure half-way
//! leaves the migration `failed`, as golang-migrate leaves it `dirty`.

use crate::db::migration::Migration;
use crate::error::SourceError;
use std::path::Path;

pub fn load(dir: &Path) -> Result<Vec<Migration>, SourceError> {
    super::sqlx::load_pairs(dir, "golang-migrate", false, |_| false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_run_as_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("000001_init.up.sql"),
            "BEGIN;\nCREATE TABLE a (id INT);\nCOMMIT;\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("000001_init.down.sql"), "DROP TABLE a;\n").unwrap();
        let m = load(dir.path()).unwrap();
        assert_eq!(
            (m[0].version.as_str(), m[0].slug.as_str()),
            ("000001", "init")
        );
        assert!(!m[0].up.portable.as_ref().unwrap().transaction);
        std::fs::write(dir.path().join("000002_single.sql"), "SELECT 1;\n").unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(
            e.message
                .contains("golang-migrate file names are <version>_<description>.up.sql"),
            "{e}"
        );
    }
}
