//! `new SLUG`: a correctly numbered migration from a template. Sequence
//! numbers keep the width of the newest (`0004` → `0005`); a project that
//! numbers by timestamp gets a UTC `YYYYMMDDHHMMSS` one.

use super::Ctx;
use crate::cli::args::PhaseArg;
use crate::report::Report;
use anyhow::{bail, Context, Result};

pub fn run(ctx: &Ctx, slug: &str) -> Result<Report> {
    if slug.is_empty()
        || !slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        bail!("slug `{slug}`: use letters, digits, `_` and `-` only, e.g. add_email");
    }
    let migrations = ctx.load_migrations()?;
    let version = next_version(migrations.last().map(|m| m.version.as_str()));
    let phase = if ctx.settings.phase == PhaseArg::Contract {
        "contract"
    } else {
        "expand"
    };
    let dir = &ctx.settings.migrations;
    let path = dir.join(format!("{version}_{slug}.sql"));
    let template = format!("-- lockstep:phase {phase}\n-- lockstep:up\n\n\n-- lockstep:down\n\n");
    let mut report = ctx.new_report();
    report
        .extra
        .insert("path".to_owned(), path.display().to_string().into());
    report
        .extra
        .insert("version".to_owned(), version.clone().into());
    if ctx.settings.check {
        report.changed = true;
        report.msg = format!("would create {}", path.display());
        return Ok(report);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, template.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    report.changed = true;
    report.msg = format!("created {}", path.display());
    Ok(report)
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
    use super::next_version;

    #[test]
    fn keeps_the_width() {
        assert_eq!(next_version(None), "0001");
        assert_eq!(next_version(Some("0009")), "0010");
        assert_eq!(next_version(Some("42")), "43");
        assert_eq!(next_version(Some("20240101120000")).len(), 14);
    }
}
