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
