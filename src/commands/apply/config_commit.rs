//! The config write of a run, phase by phase: what each file becomes, from
//! the plan, handed to the config commit protocol
//! ([`crate::config::commit`]: intents recorded, files replaced, what
//! landed recorded).

use super::super::Ctx;
use crate::config::commit::{write_phase, Backups, Dirs, FileWrite, Landed, MovingFrom};
use crate::config::state::{AppliedConfigMigration, State};
use crate::plan::config::{ConfigPlan, PlannedMigration};
use crate::report::Report;
use crate::vocabulary::Phase;
use anyhow::Result;

/// Writes each file's content after `phase` by the config commit
/// protocol ([`crate::config::commit::write_phase`]); a write that fails
/// fails the report.
pub(super) fn write_config(
    ctx: &Ctx,
    state: &mut State,
    plan: &ConfigPlan<'_>,
    phase: Phase,
    report: &mut Report,
    backups: &mut Backups,
    landed: &mut Landed,
) -> Result<()> {
    let mut files = Vec::new();
    for f in &plan.files {
        let (migrations, content, secrecy) = match phase {
            Phase::Expand => (&f.expand, &f.after_expand, &f.secrecy_after_expand),
            Phase::Contract => (&f.contract, &f.after, &f.secrecy),
        };
        if migrations.is_empty() {
            continue;
        }
        let (name, target) = match &f.moved {
            Some(m) if m.by(phase) => (m.file.as_str(), m.target),
            _ => (f.file.as_str(), f.target),
        };
        files.push(FileWrite {
            file: &f.file,
            name,
            target,
            old_name: f
                .moved
                .as_ref()
                .filter(|m| m.phase == phase)
                .map(|m| MovingFrom {
                    target: f.target,
                    done: m.done,
                }),
            content,
            new_file: f.new_file,
            secrecy,
            syntax: f.syntax,
            applied: applied_records(ctx, name, migrations),
        });
    }
    let dirs = Dirs {
        state: &ctx.settings.state_dir,
        config_root: &ctx.settings.config_root,
    };
    if let Some(msg) = write_phase(&dirs, state, files, phase, backups, landed)? {
        report.fail(msg);
    }
    Ok(())
}

fn applied_records(
    ctx: &Ctx,
    file: &str,
    migrations: &[PlannedMigration<'_>],
) -> Vec<AppliedConfigMigration> {
    let at = crate::vocabulary::now();
    migrations
        .iter()
        .map(|p| AppliedConfigMigration {
            version: p.migration.version.to_string(),
            slug: p.migration.slug.clone(),
            file: file.to_owned(),
            phase: p.migration.phase.as_str().to_owned(),
            checksum: p.migration.checksum.to_string(),
            applied_at: at.clone(),
            host: ctx.settings.host_id.clone(),
            prior: p.prior.clone(),
        })
        .collect()
}
