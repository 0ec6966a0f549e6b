//! The man page and shell completions, generated from the clap definition
//! so they never disagree with `--help`. Packagers write them into a
//! directory with `lockstep man --out-dir DIR` and
//! `lockstep completions SHELL --out-dir DIR` (see `scripts/gen-assets`);
//! neither needs a network, a database or a project.

use crate::cli::args::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use roff::{bold, italic, roman, Inline, Roff};
use std::path::{Path, PathBuf};

/// The man page, section 1, as roff.
pub fn man_page() -> Result<Vec<u8>> {
    let mut cmd = Cli::command();
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("lockstep manual")
        .source(format!("lockstep {}", crate::VERSION));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    let mut synopsis = Roff::new();
    synopsis_section(&mut synopsis, &cmd);
    synopsis.to_writer(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut roff = Roff::new();
    commands_section(&mut roff, &cmd);
    yaml_section(&mut roff);
    settings_section(&mut roff);
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(once_preamble(&out))
}

/// Each rendered piece starts with the same two-line roff preamble; a page
/// needs it once.
fn once_preamble(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut seen = std::collections::HashSet::new();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble && !seen.insert(line.to_owned()) {
            continue;
        }
        out.push_str(line);
    }
    out.into_bytes()
}

/// `lockstep [GLOBAL OPTIONS] COMMAND`, each global option with its value
/// (clap_mangen's own synopsis names the options without their values).
fn synopsis_section(roff: &mut Roff, cmd: &clap::Command) {
    // No hyphenation from here on: option names and file names are typed.
    roff.control("nh", []);
    roff.control("SH", ["SYNOPSIS"]);
    let mut line: Vec<Inline> = vec![bold("lockstep")];
    for arg in cmd
        .get_arguments()
        .filter(|a| a.is_global_set() && !a.is_hide_set())
    {
        line.push(roman(" ["));
        if let Some(short) = arg.get_short() {
            line.push(bold(format!("-{short}")));
            line.push(roman("|"));
        }
        if let Some(long) = arg.get_long() {
            line.push(bold(format!("--{long}")));
        }
        if arg.get_action().takes_values() {
            line.push(roman(" "));
            line.push(italic(value_of(arg)));
        }
        line.push(roman("]"));
        if matches!(
            arg.get_action(),
            clap::ArgAction::Count | clap::ArgAction::Append
        ) {
            line.push(roman("..."));
        }
    }
    line.push(roman(" "));
    line.push(italic("COMMAND"));
    line.push(roman(" [OPTIONS]"));
    roff.text(line);
}

/// An option's value as the synopsis shows it: its choices (`a|b`) or its
/// value name.
fn value_of(arg: &clap::Arg) -> String {
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    if !choices.is_empty() {
        return choices.join("|");
    }
    arg.get_value_names()
        .and_then(|v| v.first())
        .map_or_else(|| "VALUE".to_owned(), |v| v.to_string())
}

/// Every subcommand with its usage and own options; the global options are
/// in GLOBAL OPTIONS above.
fn commands_section(roff: &mut Roff, cmd: &clap::Command) {
    roff.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        roff.control("TP", []);
        let usage = sub
            .clone()
            .render_usage()
            .to_string()
            .trim_start_matches("Usage: ")
            .to_owned();
        roff.text([bold(usage)]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            roff.text([roman(about.to_string())]);
        }
        let own: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        if own.is_empty() {
            continue;
        }
        roff.control("RS", []);
        for arg in own {
            roff.control("TP", []);
            let mut name: Vec<Inline> = Vec::new();
            match arg.get_long() {
                Some(long) => name.push(bold(format!("--{long}"))),
                None => name.push(italic(arg.get_id().as_str().to_uppercase())),
            }
            if arg.get_long().is_some() && arg.get_action().takes_values() {
                name.push(roman(" "));
                name.push(italic(value_of(arg)));
            }
            roff.text(name);
            if let Some(help) = arg.get_long_help().or_else(|| arg.get_help()) {
                roff.text([roman(help.to_string())]);
            }
        }
        roff.control("RE", []);
    }
}

/// The two kinds of database migration, YAML's operations and how apply
/// runs them: what `--help` cannot say in a line.
fn yaml_section(roff: &mut Roff) {
    let para = |roff: &mut Roff, text: &str| {
        roff.control("PP", []);
        roff.text([roman(text)]);
    };
    roff.control("SH", ["MIGRATIONS"]);
    para(
        roff,
        "A database migration is a file <version>_<slug>.sql or <version>_<slug>.yaml in the \
         migrations directory or a folder below it; versions are digits and order the \
         migrations numerically. A config migration is a <version>_<slug>.yaml file in the \
         config migrations directory that edits one INI file (set, default, rename, delete, \
         rename_section, delete_section, add_value, remove_value, set_values, \
         ensure_section, replace_default, move_file), keeping every untouched byte.",
    );
    para(
        roff,
        "An SQL migration carries comment markers: -- lockstep:phase expand|contract, \
         -- lockstep:up (optionally dialect=postgres|mysql|sqlite or transaction=false) and \
         -- lockstep:down for rollback. A file without markers is one portable up part of \
         phase expand.",
    );
    para(
        roff,
        "A YAML migration lists declarative operations that lockstep compiles for each \
         database into an expand part, a batched backfill and a contract part, so that the old \
         and the new release can run side by side: create_table, drop_table, add_column, \
         drop_column, rename_column, rename_table, alter_column, set_default, drop_default, \
         create_index, drop_index, add_constraint, drop_constraint and sql (raw SQL per \
         dialect). For rename_column and alter_column, expand adds the new \
         column and triggers that keep both columns in step; the backfill copies existing rows \
         in primary-key batches (resumable with lockstep backfill, paced with --batch-size and \
         --batch-sleep); a sanity check proves no row differs; contract drops the triggers and \
         the old column. apply --phase expand runs expand and the backfill (unless \
         --no-backfill); apply --phase contract runs a contract only once its backfill finished, \
         its sanity check passes and every recorded host has checked in (lockstep hosts). \
         lockstep sql and lockstep plan print the SQL of each part.",
    );
    para(
        roff,
        "lockstep new SLUG writes an SQL template, new SLUG --yaml a YAML one and \
         new SLUG --config FILE a config migration, numbered after the newest.",
    );
}

/// Lookup order, environment, files and exit status: what an operator and
/// a packager need beyond the options.
fn settings_section(roff: &mut Roff) {
    let para = |roff: &mut Roff, text: &str| {
        roff.control("PP", []);
        roff.text([roman(text)]);
    };
    let item = |roff: &mut Roff, term: &str, text: &str| {
        roff.control("TP", []);
        roff.text([bold(term)]);
        roff.text([roman(text)]);
    };
    roff.control("SH", ["SETTINGS"]);
    para(
        roff,
        "Every global option is looked up in these places, in this order; the first that sets a value wins:",
    );
    item(
        roff,
        "1. the flag",
        "on the command line, e.g. --database URL.",
    );
    item(
        roff,
        "2. the environment",
        "LOCKSTEP_<OPTION> with - as _ (LOCKSTEP_DATABASE, LOCKSTEP_STATE_DIR, ...); \
         DATABASE_URL is a fallback for the database URL.",
    );
    item(
        roff,
        "3. <project>/lockstep.ini",
        "in the project directory (-C DIR, default the current directory), section \
         [lockstep], keys named as the long options with _ for - (config_root = etc); \
         [vars] holds default values for ${KEY}. Relative paths are relative to the \
         project directory. An unknown key is an error.",
    );
    item(
        roff,
        "4. /etc/lockstep/lockstep.ini (system mode)",
        "used only when the project directory has no lockstep.ini. Same keys. Use \
         absolute paths in it; a relative path is relative to /etc/lockstep. In system \
         mode the state dir defaults to /var/lib/lockstep. LOCKSTEP_SYSTEM_CONFIG names \
         another system file (for packagers and tests).",
    );
    item(
        roff,
        "5. the default",
        "shown with each option above; the state dir is <project>/.lockstep and the \
         database an SQLite file in it.",
    );
    para(
        roff,
        "lockstep status prints the settings file and the state dir it used.",
    );

    roff.control("SH", ["ENVIRONMENT"]);
    item(roff, "LOCKSTEP_*", "one per global option, as above.");
    item(
        roff,
        "DATABASE_URL",
        "the database URL when neither --database nor LOCKSTEP_DATABASE is set.",
    );
    item(
        roff,
        "LOCKSTEP_SYSTEM_CONFIG",
        "the system settings file (default /etc/lockstep/lockstep.ini).",
    );
    item(
        roff,
        "LOCKSTEP_LOG",
        "log filter for stderr, e.g. debug or lockstep=trace; overrides -v and --quiet.",
    );
    item(
        roff,
        "NO_COLOR",
        "when set, no colour in human output or logs (colour is also off for a stream that is not a terminal).",
    );

    roff.control("SH", ["FILES"]);
    item(roff, "lockstep.ini", "project settings.");
    item(
        roff,
        "/etc/lockstep/lockstep.ini",
        "system settings (system mode).",
    );
    item(
        roff,
        "/var/lib/lockstep",
        "state dir in system mode: config checksums, snapshots, the SQLite database by default.",
    );
    item(
        roff,
        "migrations/<version>_<slug>.sql",
        "database migrations with -- lockstep: markers.",
    );
    item(
        roff,
        "migrations/<version>_<slug>.yaml",
        "database migrations as declarative operations (expand, backfill, contract).",
    );
    item(
        roff,
        "config-migrations/<version>_<slug>.yaml",
        "config migrations, one target INI file each.",
    );

    roff.control("SH", ["EXIT STATUS"]);
    item(roff, "0", "success, whether or not anything changed.");
    item(
        roff,
        "1",
        "failure; with --format json the result is still printed, with failed: true.",
    );
    item(
        roff,
        "2",
        "usage error; plan --detailed-exitcode: changes are pending.",
    );

    roff.control("SH", ["SEE ALSO"]);
    para(
        roff,
        "/usr/share/doc/lockstep/README.md, and the docs/ folder of the source: file formats, \
         the JSON output and its schema, guides for playbook authors, operators and packagers.",
    );
}

/// Writes `lockstep.1` into `dir`, creating it.
pub fn write_man(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("lockstep.1");
    std::fs::write(&path, man_page()?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "lockstep", &mut out);
    out
}

/// Writes the completion file under its conventional name (`lockstep.bash`,
/// `_lockstep`, `lockstep.fish`, …) into `dir`, creating it.
pub fn write_completions(shell: Shell, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_complete::generate_to(shell, &mut Cli::command(), "lockstep", dir)
        .with_context(|| format!("cannot write {shell} completions into {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_documents_the_lookup_order_and_every_command() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.contains("\n.TH lockstep 1"), "{page}");
        assert_eq!(page.matches(".el .ds Aq").count(), 1);
        for needle in [
            "/etc/lockstep/lockstep.ini",
            "/var/lib/lockstep",
            "LOCKSTEP_SYSTEM_CONFIG",
            ".SH COMMANDS",
            "rollback",
            "completions",
        ] {
            assert!(page.contains(needle), "man page lacks {needle}");
        }
    }

    #[test]
    fn bash_completions_name_the_commands() {
        let script = String::from_utf8(completions(Shell::Bash)).unwrap();
        assert!(script.contains("_lockstep()"), "{script}");
        assert!(script.contains("apply"));
    }
}
