//! Migration folders as other tools lay them out, read unchanged: sqlx,
//! diesel, golang-migrate, Flyway, dbmate and goose, besides lockstep's own.
//! Each layout is one module that turns a folder into [`Migration`]s; from
//! there every layout gets the same checksums, history, locking and output.
//! Which layout a folder uses is found from its file names (and, for the
//! one-file-per-migration layouts, from each file's markers), or forced with
//! the `migrations_format` setting.

pub mod dbmate;
pub mod diesel;
pub mod flyway;
pub mod golang_migrate;
pub mod goose;
pub mod sqlx;

use crate::checksum::Checksum;
use crate::db::migration::{Migration, Script, Scripts};
use crate::error::SourceError;
use crate::vocabulary::{Phase, Version};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The `migrations_format` setting: a layout, or `auto` to find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    Auto,
    Lockstep,
    Sqlx,
    Diesel,
    GolangMigrate,
    Flyway,
    Dbmate,
    Goose,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Auto => "auto",
            Layout::Lockstep => "lockstep",
            Layout::Sqlx => "sqlx",
            Layout::Diesel => "diesel",
            Layout::GolangMigrate => "golang-migrate",
            Layout::Flyway => "flyway",
            Layout::Dbmate => "dbmate",
            Layout::Goose => "goose",
        }
    }

    pub fn parse(text: &str) -> Option<Layout> {
        <Layout as clap::ValueEnum>::from_str(text, false).ok()
    }

    /// Every name the setting accepts, for messages.
    pub fn names() -> String {
        <Layout as clap::ValueEnum>::value_variants()
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("|")
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every migration under `dir` in `layout` (found from the folder when
/// `Auto`), ordered by version, with the layout that was read. A missing
/// directory is an empty set.
pub fn load(dir: &Path, layout: Layout) -> Result<(Layout, Vec<Migration>), SourceError> {
    if !dir.exists() {
        let layout = if layout == Layout::Auto {
            Layout::Lockstep
        } else {
            layout
        };
        return Ok((layout, Vec::new()));
    }
    let layout = match layout {
        Layout::Auto => detect(dir)?,
        forced => forced,
    };
    match layout {
        Layout::Auto => one_file_each(dir, None),
        Layout::Lockstep | Layout::Dbmate | Layout::Goose => one_file_each(dir, Some(layout)),
        Layout::Sqlx => Ok((layout, sqlx::load(dir)?)),
        Layout::GolangMigrate => Ok((layout, golang_migrate::load(dir)?)),
        Layout::Diesel => Ok((layout, diesel::load(dir)?)),
        Layout::Flyway => Ok((layout, flyway::load(dir)?)),
    }
}

/// The layout a folder's names show: diesel's `<version>_<name>/up.sql`
/// folders, Flyway's `V<version>__<description>.sql`, sqlx's reversible
/// `.up.sql`/`.down.sql` pairs; otherwise one file per migration, whose
/// markers (`-- migrate:up`, `-- +goose Up`, `-- lockstep:`) are read file
/// by file. Two layouts in one folder is an error that names a file of each.
pub fn detect(dir: &Path) -> Result<Layout, SourceError> {
    let mut seen: BTreeMap<&'static str, (Layout, PathBuf)> = BTreeMap::new();
    for entry in entries(dir, 1)? {
        let name = entry.file_name().to_string_lossy();
        let found = if entry.file_type().is_dir() {
            entry
                .path()
                .join("up.sql")
                .is_file()
                .then_some(Layout::Diesel)
        } else if flyway::is_flyway_name(&name) {
            Some(Layout::Flyway)
        } else if sqlx::pair_name(&name).is_some() {
            Some(Layout::Sqlx)
        } else {
            None
        };
        if let Some(layout) = found {
            seen.entry(layout.as_str())
                .or_insert((layout, entry.path().to_path_buf()));
        }
    }
    let mut found = seen.into_values();
    match (found.next(), found.next()) {
        (None, _) => Ok(Layout::Auto),
        (Some((layout, _)), None) => Ok(layout),
        (Some((a, a_path)), Some((b, b_path))) => Err(SourceError::new(
            dir.to_path_buf(),
            None,
            format!(
                "the folder mixes the {a} layout ({}) and the {b} layout ({}); \
                 keep one layout per folder, or set `migrations_format` to the one to read",
                a_path.display(),
                b_path.display()
            ),
        )),
    }
}

/// Files and folders under `dir` down to `depth` (hidden ones skipped),
/// in name order.
fn entries(dir: &Path, depth: usize) -> Result<Vec<walkdir::DirEntry>, SourceError> {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .min_depth(1)
        .max_depth(depth)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            e.map_err(|e| {
                SourceError::new(
                    e.path().unwrap_or(dir).to_path_buf(),
                    None,
                    format!("cannot read the migrations directory: {e}"),
                )
            })
        })
        .collect()
}

/// The `.sql` files directly in `dir`, in name order, as (name, path).
fn sql_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, SourceError> {
    Ok(entries(dir, 1)?
        .into_iter()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.into_path()))
        .filter(|(name, _)| name.ends_with(".sql"))
        .collect())
}

/// One migration per file: lockstep's own files, and dbmate's and goose's,
/// told apart by their markers unless `forced`; the layout is the one whose
/// markers were found. Lockstep's layout reads subfolders too; dbmate and
/// goose read only the folder itself, as they do.
fn one_file_each(
    dir: &Path,
    forced: Option<Layout>,
) -> Result<(Layout, Vec<Migration>), SourceError> {
    let seen = std::cell::RefCell::new(BTreeMap::<&'static str, PathBuf>::new());
    let migrations = crate::migration_files::load(
        dir,
        &["sql", "yaml", "yml"],
        "migration",
        |path, ext, bytes| {
            let flat = forced.is_some_and(|l| l != Layout::Lockstep);
            if flat && path.parent() != Some(dir) {
                return Err(SourceError::new(
                    path.to_path_buf(),
                    None,
                    format!(
                        "{} reads no subfolders; move the file into {}",
                        forced.map_or("", Layout::as_str),
                        dir.display()
                    ),
                ));
            }
            if ext != "sql" {
                return crate::db::source::parse_yaml(path, bytes);
            }
            let layout = match forced {
                Some(layout) => layout,
                None => marked_layout(bytes),
            };
            if layout != Layout::Lockstep {
                seen.borrow_mut()
                    .entry(layout.as_str())
                    .or_insert_with(|| path.to_path_buf());
            }
            match layout {
                Layout::Dbmate => dbmate::parse(path, bytes),
                Layout::Goose => goose::parse(path, bytes),
                Layout::Sqlx => sqlx::parse_single(path, bytes),
                _ => crate::db::source::parse_sql(path, bytes),
            }
        },
    )?;
    let seen = seen.into_inner();
    if let Some(layout) = forced {
        return Ok((layout, migrations));
    }
    if seen.len() > 1 {
        let files: Vec<String> = seen
            .iter()
            .map(|(layout, path)| format!("{layout} ({})", path.display()))
            .collect();
        return Err(SourceError::new(
            dir.to_path_buf(),
            None,
            format!(
                "the folder mixes the markers of {}; keep one layout per folder",
                files.join(" and ")
            ),
        ));
    }
    let layout = seen
        .keys()
        .next()
        .and_then(|name| Layout::parse(name))
        .unwrap_or(Layout::Lockstep);
    Ok((layout, migrations))
}

/// Which tool's markers a single migration file carries.
fn marked_layout(bytes: &[u8]) -> Layout {
    let text = String::from_utf8_lossy(bytes);
    if text.starts_with("-- no-transaction") {
        return Layout::Sqlx;
    }
    for line in text.lines() {
        if dbmate::marker(line).is_some() {
            return Layout::Dbmate;
        }
        if goose::annotation(line).is_some() {
            return Layout::Goose;
        }
    }
    Layout::Lockstep
}

/// A file's text: UTF-8, a BOM removed, no NUL byte (as lockstep's own files).
fn text<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, SourceError> {
    crate::db::source::text_of(path, bytes)
}

fn read(path: &Path) -> Result<Vec<u8>, SourceError> {
    crate::migration_files::read_file(path)
}

/// The version of a file or folder name: the digits before its first `_`
/// (`drop` removed first, as diesel's dashes), and the rest as the slug.
fn split_version<'a>(name: &'a str, drop: &[char]) -> Option<(Version, &'a str)> {
    let (version, slug) = name.split_once('_')?;
    let digits: String = version.chars().filter(|c| !drop.contains(c)).collect();
    if slug.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((Version::parse(&digits)?, slug))
}

/// A migration of plain SQL: `up` (and `down`) for every dialect, phase
/// expand, checksummed over `bytes` (the file that holds the `up`).
fn plain_migration(
    version: Version,
    slug: &str,
    path: &Path,
    bytes: &[u8],
    up: Script,
    down: Option<Script>,
) -> Migration {
    Migration {
        version,
        slug: slug.to_owned(),
        path: path.to_path_buf(),
        checksum: Checksum::of_migration(bytes),
        phase: Phase::Expand,
        up: Scripts {
            portable: Some(up),
            per_dialect: BTreeMap::new(),
        },
        down: Scripts {
            portable: down,
            per_dialect: BTreeMap::new(),
        },
        online: None,
        lint_ignores: Vec::new(),
    }
}

/// A whole file as one script.
fn whole(text: &str, transaction: bool) -> Script {
    Script {
        sql: text.to_owned(),
        transaction,
        line: 1,
    }
}

/// Migrations read from pairs of files (or folders), with the relative
/// paths set and every version once, in version order.
fn in_order(dir: &Path, migrations: Vec<Migration>) -> Result<Vec<Migration>, SourceError> {
    let mut found: BTreeMap<Version, Migration> = BTreeMap::new();
    for mut m in migrations {
        m.path = m.path.strip_prefix(dir).unwrap_or(&m.path).to_path_buf();
        if let Some(existing) = found.get(&m.version) {
            return Err(SourceError::new(
                dir.join(&m.path),
                None,
                format!(
                    "duplicate migration version {}: {} has it too; every version must be unique",
                    m.version,
                    dir.join(&existing.path).display()
                ),
            ));
        }
        found.insert(m.version.clone(), m);
    }
    Ok(found.into_values().collect())
}

/// A marked section of a file (dbmate's and goose's `up` and `down`): its
/// SQL from the line after the marker to the next marker.
#[derive(Default)]
struct Section {
    sql: String,
    line: usize,
    transaction: bool,
}

impl Section {
    fn start(marker_line: usize, transaction: bool) -> Section {
        Section {
            sql: String::new(),
            line: marker_line + 1,
            transaction,
        }
    }

    /// Adds a line of SQL to the section being read (`current`: `up` when
    /// true), if any: lines before the first marker belong to none.
    fn append(
        up: &mut Option<Section>,
        down: &mut Option<Section>,
        current: Option<bool>,
        line: &str,
    ) {
        let section = match current {
            Some(true) => up.as_mut(),
            Some(false) => down.as_mut(),
            None => None,
        };
        if let Some(section) = section {
            section.sql.push_str(line);
            section.sql.push('\n');
        }
    }

    fn script(self) -> Script {
        Script {
            sql: self.sql,
            transaction: self.transaction,
            line: self.line,
        }
    }
}

/// Builds a migration from a one-file layout's sections, named by its file.
fn sectioned(
    path: &Path,
    bytes: &[u8],
    tool: &str,
    up: Option<Section>,
    down: Option<Section>,
) -> Result<Migration, SourceError> {
    let name = path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let stem = name.strip_suffix(".sql").unwrap_or(&name);
    let (version, slug) = split_version(stem, &[]).ok_or_else(|| {
        SourceError::new(
            path.to_path_buf(),
            None,
            format!("{tool} file names are <version>_<name>.sql with a numeric version"),
        )
    })?;
    let up = up.ok_or_else(|| {
        SourceError::new(
            path.to_path_buf(),
            None,
            format!("no `up` section: a {tool} migration needs one"),
        )
    })?;
    Ok(plain_migration(
        version,
        slug,
        path,
        bytes,
        up.script(),
        down.map(Section::script),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn layouts_are_found_from_the_folder() {
        let cases: &[(&[(&str, &str)], Layout)] = &[
            (&[("0001_a.sql", "SELECT 1;")], Layout::Auto),
            (&[("1_a.up.sql", "SELECT 1;")], Layout::Sqlx),
            (
                &[("2016-01-01-000000_a/up.sql", "SELECT 1;")],
                Layout::Diesel,
            ),
            (&[("V1.1__a.sql", "SELECT 1;")], Layout::Flyway),
        ];
        for (files, expected) in cases {
            let dir = folder(files);
            assert_eq!(detect(dir.path()).unwrap(), *expected, "{files:?}");
        }
        let dir = folder(&[("V1__a.sql", ""), ("2_b.up.sql", "")]);
        let e = detect(dir.path()).unwrap_err();
        assert!(e.message.contains("mixes the"), "{e}");
        assert!(e.message.contains("V1__a.sql"), "{e}");
    }

    #[test]
    fn one_file_layouts_are_found_from_their_markers() {
        let dir = folder(&[
            (
                "1_a.sql",
                "-- migrate:up\nCREATE TABLE a (id INT);\n-- migrate:down\nDROP TABLE a;\n",
            ),
            ("2_b.sql", "CREATE TABLE b (id INT);\n"),
        ]);
        let (layout, m) = load(dir.path(), Layout::Auto).unwrap();
        assert_eq!(layout, Layout::Dbmate);
        assert_eq!(m[0].down.portable.as_ref().unwrap().sql, "DROP TABLE a;\n");
        let dir = folder(&[
            ("1_a.sql", "-- migrate:up\nSELECT 1;\n"),
            ("2_b.sql", "-- +goose Up\nSELECT 1;\n"),
        ]);
        let e = load(dir.path(), Layout::Auto).unwrap_err();
        assert!(e.message.contains("mixes the markers of dbmate"), "{e}");
    }

    #[test]
    fn every_layout_refuses_a_nul_byte() {
        for (name, layout) in [
            ("1_a.up.sql", Layout::Sqlx),
            ("1_a/up.sql", Layout::Diesel),
            ("V1__a.sql", Layout::Flyway),
            ("1_a.sql", Layout::Dbmate),
        ] {
            let dir = folder(&[(name, "-- migrate:up\nSELECT 1;\0\n")]);
            let e = load(dir.path(), layout).unwrap_err();
            assert!(e.message.contains("a NUL byte"), "{layout}: {e}");
        }
    }

    #[test]
    fn layout_names() {
        assert_eq!(Layout::parse("golang-migrate"), Some(Layout::GolangMigrate));
        assert_eq!(Layout::parse("liquibase"), None);
        assert!(Layout::names().starts_with("auto|lockstep|sqlx"));
    }
}
