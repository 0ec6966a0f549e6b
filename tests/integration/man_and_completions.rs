//! `lockstep man` and `lockstep completions`: printed, or written into a
//! directory for packagers, without a project or a database.

use crate::test::Test;

#[test]
fn man_prints_roff_with_the_settings_lookup_order() {
    let t = Test::new();
    let (code, stdout, stderr) = t.run_raw(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\n.TH lockstep 1 "), "{stdout}");
    for needle in [
        ".SH SETTINGS",
        "/etc/lockstep/lockstep.ini",
        "/var/lib/lockstep",
        "EXIT STATUS",
    ] {
        assert!(stdout.contains(needle), "man page lacks {needle}");
    }
    assert!(!t.path().join(".lockstep").exists());
}

#[test]
fn man_and_completions_write_into_a_directory() {
    let t = Test::new();
    let out = t.path().join("assets");
    let dir = out.display().to_string();
    let (code, _, stderr) = t.run_raw(&["man", "--out-dir", &dir]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("lockstep.1"), "{stderr}");
    for (shell, file) in [
        ("bash", "lockstep.bash"),
        ("zsh", "_lockstep"),
        ("fish", "lockstep.fish"),
    ] {
        let (code, _, stderr) = t.run_raw(&["completions", shell, "--out-dir", &dir]);
        assert_eq!(code, 0, "{stderr}");
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(text.contains("rollback"), "{shell}: {text}");
    }
    let page = std::fs::read_to_string(out.join("lockstep.1")).unwrap();
    let (_, printed, _) = t.run_raw(&["man"]);
    assert_eq!(page, printed);
}

#[test]
fn bash_completion_completes_a_command() {
    let t = Test::new();
    let (code, script, _) = t.run_raw(&["completions", "bash"]);
    assert_eq!(code, 0);
    t.write("lockstep.bash", &script);
    let probe = "source ./lockstep.bash; COMP_WORDS=(lockstep ap); COMP_CWORD=1; \
                 COMP_LINE='lockstep ap'; COMP_POINT=${#COMP_LINE}; \
                 _lockstep lockstep ap lockstep; echo \"${COMPREPLY[*]}\"";
    let out = std::process::Command::new("bash")
        .current_dir(t.path())
        .args(["-c", probe])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "apply");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let t = Test::new();
    let (code, _, stderr) = t.run_raw(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bash"), "{stderr}");
}

/// The man page rendered as a reader sees it (`man -l`, 80 columns).
fn rendered_man(t: &Test) -> String {
    let (code, page, stderr) = t.run_raw(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    t.write("lockstep.1", &page);
    let out = std::process::Command::new("man")
        .current_dir(t.path())
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .args(["-l", "lockstep.1"])
        .output()
        .expect("the man page test needs man (man-db)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of one command's entry in COMMANDS: from its usage line to
/// the next command's.
fn command_entry<'a>(page: &'a str, command: &str) -> Vec<&'a str> {
    let commands = page
        .split("\nCOMMANDS\n")
        .nth(1)
        .expect("a COMMANDS section");
    let usage = format!("lockstep {command} ");
    commands
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(&usage))
        .take_while(|l| !l.starts_with("SETTINGS"))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !l.trim_start().starts_with("lockstep "))
        .map(|(_, l)| l.trim())
        .collect()
}

#[test]
fn man_page_shows_values_and_each_command_its_own_options() {
    let t = Test::new();
    let page = rendered_man(&t);
    let synopsis = page.split("\nSYNOPSIS\n").nth(1).unwrap();
    let synopsis = synopsis
        .split("\nDESCRIPTION")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for option in [
        "[--database URL]",
        "[-C|--project DIR]",
        "[--phase expand|contract|all]",
        "[--var KEY=VALUE]...",
        "COMMAND [OPTIONS]",
    ] {
        assert!(
            synopsis.contains(option),
            "synopsis lacks {option}: {synopsis}"
        );
    }
    let apply = command_entry(&page, "apply");
    let plan = command_entry(&page, "plan");
    for option in [
        "--backup",
        "--batch-size ROWS",
        "--batch-sleep MILLISECONDS",
        "--target VERSION",
        "--force",
    ] {
        assert!(apply.contains(&option), "apply lacks {option}: {apply:#?}");
    }
    for option in [
        "--target VERSION",
        "--allow-out-of-order",
        "--force",
        "--no-backfill",
        "--detailed-exitcode",
    ] {
        assert!(plan.contains(&option), "plan lacks {option}: {plan:#?}");
    }
    for option in [
        "--backup",
        "--batch-size ROWS",
        "--batch-sleep MILLISECONDS",
    ] {
        assert!(
            !plan.contains(&option),
            "plan lists apply's {option}: {plan:#?}"
        );
    }
}

#[test]
fn man_page_covers_yaml_migrations() {
    let t = Test::new();
    let page = rendered_man(&t);
    let section = page
        .split("\nMIGRATIONS\n")
        .nth(1)
        .expect("a MIGRATIONS section");
    let section = section
        .split("\nSETTINGS\n")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        "<version>_<slug>.yaml",
        "expand part, a batched backfill and a contract part",
        "rename_column",
        "lockstep backfill",
        "sanity check",
    ] {
        assert!(
            section.contains(needle),
            "MIGRATIONS lacks {needle}: {section}"
        );
    }
    for op in lockstep::db::online::operation::NAMES {
        assert!(
            section.contains(&format!(" {op},")) || section.contains(&format!(" {op} ")),
            "MIGRATIONS does not list the YAML operation {op}: {section}"
        );
    }
    assert!(
        page.contains("migrations/<version>_<slug>.yaml"),
        "FILES lacks YAML migrations"
    );
}

/// `apply --help`: apply's own options first, the global ones under their
/// own heading.
#[test]
fn help_groups_global_options_under_their_own_heading() {
    let t = Test::new();
    let (code, help, _) = t.run_raw(&["apply", "--help"]);
    assert_eq!(code, 0);
    let (own, global) = help.split_once("\nGlobal options:\n").expect(&help);
    for option in ["--target", "--backup", "--batch-size", "--no-backfill"] {
        assert!(
            own.contains(option) && !global.contains(option),
            "{option}: {help}"
        );
    }
    for option in [
        "--database <URL>",
        "--state-dir",
        "--on-drift",
        "--quiet",
        "--host-id",
    ] {
        assert!(
            global.contains(option) && !own.contains(option),
            "{option}: {help}"
        );
    }
}

#[test]
fn new_config_help_is_a_whole_sentence() {
    let t = Test::new();
    let (_, help, _) = t.run_raw(&["new", "--help"]);
    let text = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("--config <FILE> A config migration that edits FILE (a path relative to the config root) instead of a database migration"),
        "{help}"
    );
}

/// plan takes apply's command line unchanged (the Ansible module passes
/// --backup and batch sizes to both), though its help does not list them.
#[test]
fn plan_accepts_apply_only_options_it_does_not_list() {
    let t = Test::new();
    let (code, _, stderr) = t.run_raw(&[
        "plan",
        "--backup",
        "--batch-size",
        "10",
        "--batch-sleep",
        "5",
    ]);
    assert_eq!(code, 0, "{stderr}");
}
