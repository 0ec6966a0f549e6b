//! `new SLUG [--yaml] [--config FILE]`: a correctly numbered migration from
//! a template: SQL with markers (default), a YAML database migration, or a
//! config migration for FILE. Sequence numbers keep the width of the newest
//! (`0004` → `0005`); a project that numbers by timestamp gets a UTC
//! `YYYYMMDDHHMMSS` one. The newest version is read from file names only, so
//! a migration that does not parse yet does not stop a new one.

use super::Ctx;
use crate::plan::options::PhaseArg;
use crate::report::payload::{NewPayload, Payload};
use crate::report::Report;
use crate::vocabulary::Version;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Which template `new` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    Sql,
    Yaml,
    /// A config migration for this file (relative to the config root).
    Config(String),
}

pub fn run(ctx: &Ctx, slug: &str, template: &Template) -> Result<Report> {
    if slug.is_empty()
        || !slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        bail!("slug `{slug}`: use letters, digits, `_` and `-` only, e.g. add_email");
    }
    let phase = if ctx.settings.phase == PhaseArg::Contract {
        "contract"
    } else {
        "expand"
    };
    let (dir, ext, text, note) = match template {
        Template::Sql => (
            &ctx.settings.migrations,
            "sql",
            format!("-- lockstep:phase {phase}\n-- lockstep:up\n\n\n-- lockstep:down\n\n"),
            None,
        ),
        Template::Yaml => (
            &ctx.settings.migrations,
            "yaml",
            yaml_template(slug),
            Some("fill in `operations` before the next apply: until then the file does not load"),
        ),
        Template::Config(file) => {
            if file.trim().is_empty() {
                bail!("--config needs the file to migrate, relative to the config root, e.g. --config app.ini");
            }
            (
                &ctx.settings.config_migrations,
                "yaml",
                config_template(slug, file, phase),
                Some(
                    "fill in `operations` before the next apply: until then the file does not load",
                ),
            )
        }
    };
    let version = next_version(newest_version(dir)?.as_ref().map(Version::as_str));
    let path = dir.join(format!("{version}_{slug}.{ext}"));
    let mut report = ctx.new_report();
    report.payload = Payload::New(NewPayload {
        path: path.display().to_string(),
        version: version.clone(),
    });
    if let Some(note) = note {
        report.warnings.push(format!("{}: {note}", path.display()));
    }
    if ctx.settings.check {
        report.changed = true;
        report.msg = format!("would create {}", path.display());
        return Ok(report);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut out = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut out, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    report.changed = true;
    report.msg = format!("created {}", path.display());
    Ok(report)
}

/// The newest `<version>_…` among the `.sql`, `.yaml` and `.yml` files
/// under `dir`, searched recursively as the loaders do.
fn newest_version(dir: &Path) -> Result<Option<Version>> {
    if !dir.exists() {
        return Ok(None);
    }
    let mut newest: Option<Version> = None;
    for entry in walkdir::WalkDir::new(dir).follow_links(true) {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy();
        let is_migration = [".sql", ".yaml", ".yml"].iter().any(|e| name.ends_with(e));
        if !entry.file_type().is_file() || !is_migration {
            continue;
        }
        let digits = name.split('_').next().unwrap_or("");
        if let Some(v) = Version::parse(digits) {
            if newest.as_ref().is_none_or(|n| v > *n) {
                newest = Some(v);
            }
        }
    }
    Ok(newest)
}

/// The page that documents every YAML operation, named in the template.
const YAML_DOC: &str = "docs/database-migrations.md";

fn yaml_template(slug: &str) -> String {
    format!(
        "# A declarative database migration: lockstep compiles each operation per
# dialect into an expand part, a batched backfill and a contract part.
# Replace the examples below with the operations this release needs; until
# `operations` holds at least one, this file does not load.
description: {description}
operations:
  # - add_column: {{table: users, column: {{name: email, type: text, nullable: true}}}}
  # - rename_column: {{table: users, from: mail, to: email}}
  # also: create_table, drop_table, drop_column, rename_table, alter_column,
  # set_default, drop_default, create_index, drop_index, add_constraint,
  # drop_constraint, sql: see `man lockstep` (MIGRATIONS) and
  # {YAML_DOC} in lockstep's documentation
  # (/usr/share/doc/lockstep/docs/ when installed from the package)
",
        description = slug.replace(['_', '-'], " ")
    )
}

fn config_template(slug: &str, file: &str, phase: &str) -> String {
    format!(
        "# A config migration: operations on one INI file, applied losslessly.
# Replace the examples below; until `operations` holds at least one, this
# file does not load. ${{KEY}} takes its value from --var, --vars-file or
# [vars] in lockstep.ini; `secret: true` keeps a value out of output and state.
description: {description}
file: {file}
phase: {phase}
create: false
operations:
  # - set:            {{section: main, key: name, value: \"${{name}}\"}}
  # - default:        {{section: main, key: timeout, value: 30}}
  # - rename:         {{section: main, key: old, to_section: main, to_key: new}}
  # - delete:         {{section: main, key: obsolete}}
  # - rename_section: {{from: old, to: new}}
  # - delete_section: {{section: legacy}}
  # - move_file:      {{to: etc/app/app.ini}}
",
        description = slug.replace(['_', '-'], " "),
        file = yaml_scalar(file),
    )
}

/// `file` as a YAML scalar, quoted when it would not read back as itself.
fn yaml_scalar(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
        && !text.starts_with(['-', '.']);
    if plain {
        text.to_owned()
    } else {
        serde_json::Value::String(text.to_owned()).to_string()
    }
}

fn next_version(newest: Option<&str>) -> String {
    match newest {
        Some(v) if v.len() >= 12 => chrono::Utc::now().format("%Y%m%d%H%M%S").to_string(),
        Some(v) => {
            let next = v.parse::<u128>().unwrap_or(0) + 1;
            format!("{next:0width$}", width = v.len())
        }
        None => "0001".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_width() {
        assert_eq!(next_version(None), "0001");
        assert_eq!(next_version(Some("0009")), "0010");
        assert_eq!(next_version(Some("42")), "43");
        assert_eq!(next_version(Some("20240101120000")).len(), 14);
    }

    #[test]
    fn config_template_names_the_file_and_does_not_load_until_filled_in() {
        let text = config_template("move_cache", "etc/app.ini", "expand");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(doc["file"].as_str(), Some("etc/app.ini"));
        assert_eq!(doc["description"].as_str(), Some("move cache"));
        assert!(doc["operations"].is_null());
        let err =
            crate::config::migration::parse(Path::new("0001_move_cache.yaml"), text.as_bytes());
        assert!(err.is_err());
    }

    #[test]
    fn odd_file_names_are_quoted() {
        let text = config_template("x", "my app: 1.ini", "expand");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(doc["file"].as_str(), Some("my app: 1.ini"));
    }

    #[test]
    fn yaml_template_names_a_page_that_documents_the_operations() {
        let text = yaml_template("add_email");
        assert!(text.contains(YAML_DOC), "{text}");
        let page = Path::new(env!("CARGO_MANIFEST_DIR")).join(YAML_DOC);
        let page = std::fs::read_to_string(&page).unwrap();
        for op in crate::db::online::operation::NAMES {
            assert!(
                page.contains(&format!("| `{op}` |")),
                "{YAML_DOC} does not document {op}"
            );
            assert!(text.contains(op), "the template does not name {op}");
        }
    }

    #[test]
    fn yaml_template_parses_with_commented_operations() {
        let doc: serde_yaml::Value = serde_yaml::from_str(&yaml_template("add_email")).unwrap();
        assert_eq!(doc["description"].as_str(), Some("add email"));
        assert!(doc["operations"].is_null());
    }
}
