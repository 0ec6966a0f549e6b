//! Each INI dialect against its application's own reader. A corpus of real
//! files per syntax (`tests/fixtures/ini/<syntax>/`, sources in its
//! README, plus this machine's own files where present) is edited through
//! the library: every file must round-trip, and after each edit the
//! dialect's reference reader (Python's configparser, `git config --list`,
//! `my_print_defaults`, PHP's `parse_ini_file`) must see exactly that edit
//! and every other key as before. systemd has no offline dump of values:
//! `systemd-analyze verify` parses each unit and names every line it cannot
//! read, and after an edit it may only complain about the edited key (a
//! probe value is not a valid `After=`). The blank-line cases of configparser go through the
//! binary and are read back by configparser itself.

use crate::test::{repo, Test};
use lockstep::config::ini::{Document, EditError, MatchOptions, Occurrence, Syntax};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// (section, key) as the reader names them, to the values it reads (one for
/// readers where the last assignment wins, all of them for git).
type Reading = BTreeMap<(Option<String>, String), Vec<Option<String>>>;

fn corpus(syntax: Syntax) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(repo().join("tests/fixtures/ini").join(syntax.name()))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
    files.sort();
    let machine: &[&str] = match syntax {
        Syntax::Systemd => &[
            "/lib/systemd/system/mariadb.service",
            "/lib/systemd/system/systemd-logind.service",
            "/etc/systemd/logind.conf",
        ],
        Syntax::Php => &[
            "/etc/php/8.2/cli/php.ini",
            "/etc/php/8.2/mods-available/pdo.ini",
        ],
        Syntax::Mysql => &["/etc/mysql/my.cnf", "/etc/mysql/mariadb.cnf"],
        Syntax::Gitconfig => &["/etc/gitconfig"],
        _ => &[],
    };
    files.extend(machine.iter().map(PathBuf::from).filter(|p| p.is_file()));
    files.retain(|p| p.file_name().is_some_and(|n| n != "README.md"));
    files
}

fn tool(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Readers are part of the test environment (`scripts/test-readers`):
/// missing ones fail the test rather than skip it silently.
fn require(name: &str) {
    assert!(
        tool(name),
        "`{name}` is not installed; run scripts/test-readers (the test script does)"
    );
}

/// Runs a reader script over all `files` at once; it prints JSON.
fn run_reader(program: &str, args: &[&str], files: &[PathBuf]) -> std::process::Output {
    let out = Command::new(program)
        .args(args)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read_configparser(files: &[PathBuf]) -> Vec<Option<Reading>> {
    require("python3");
    let script = r#"
import configparser, json, sys
out = []
for f in sys.argv[1:]:
    cp = configparser.RawConfigParser(strict=False, allow_no_value=True)
    try:
        with open(f, encoding="utf-8") as fh:
            cp.read_file(fh)
    except Exception:
        out.append(None)
        continue
    items = [["DEFAULT", k, v] for k, v in cp._defaults.items()]
    for s, d in cp._sections.items():
        items.extend([s, k, v] for k, v in d.items())
    out.append(items)
print(json.dumps(out))
"#;
    let out = run_reader("python3", &["-c", script], files);
    type Items = Vec<(String, String, Option<String>)>;
    let parsed: Vec<Option<Items>> = serde_json::from_slice(&out.stdout).unwrap();
    parsed
        .into_iter()
        .map(|items| {
            items.map(|items| {
                items
                    .into_iter()
                    .map(|(s, k, v)| ((Some(s), k), vec![v]))
                    .collect()
            })
        })
        .collect()
}

fn read_git(files: &[PathBuf]) -> Vec<Option<Reading>> {
    require("git");
    files
        .iter()
        .map(|f| {
            let out = Command::new("git")
                .args(["config", "--no-includes", "--list", "-z", "--file"])
                .arg(f)
                .output()
                .unwrap();
            if !out.status.success() {
                return None;
            }
            let mut reading = Reading::new();
            for entry in String::from_utf8_lossy(&out.stdout).split('\0') {
                if entry.is_empty() {
                    continue;
                }
                let (name, value) = match entry.split_once('\n') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (entry, None),
                };
                let (section, key) = name.rsplit_once('.').unwrap();
                reading
                    .entry((Some(section.to_string()), key.to_string()))
                    .or_default()
                    .push(value);
            }
            Some(reading)
        })
        .collect()
}

fn read_mysql(files: &[PathBuf]) -> Vec<Option<Reading>> {
    require("my_print_defaults");
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            // Group names straight from the text, independent of lockstep's parser.
            let mut groups: Vec<String> = Vec::new();
            for line in text.lines() {
                let t = line.trim_start();
                if let Some(rest) = t.strip_prefix('[') {
                    if let Some(end) = rest.find(']') {
                        let g = rest[..end].trim_end().to_string();
                        if !groups.contains(&g) {
                            groups.push(g);
                        }
                    }
                }
            }
            let mut reading = Reading::new();
            for g in groups {
                let out = Command::new("my_print_defaults")
                    .arg(format!("--defaults-file={}", f.display()))
                    .arg(&g)
                    .output()
                    .unwrap();
                if !out.status.success() {
                    return None;
                }
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    let opt = line.strip_prefix("--").unwrap_or(line);
                    let (key, value) = match opt.split_once('=') {
                        Some((k, v)) => (k, Some(v.to_string())),
                        None => (opt, None),
                    };
                    // The last assignment in a group wins.
                    reading.insert((Some(g.clone()), key.to_string()), vec![value]);
                }
            }
            Some(reading)
        })
        .collect()
}

fn read_php(files: &[PathBuf]) -> Vec<Option<Reading>> {
    require("php");
    let script = r#"$o = []; foreach (array_slice($argv, 1) as $f) { $o[] = @parse_ini_file($f, true); } echo json_encode($o);"#;
    let out = run_reader("php", &["-n", "-r", script, "--"], files);
    let parsed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    };
    parsed
        .into_iter()
        .map(|file| {
            let top = match file {
                serde_json::Value::Object(top) => top,
                // A file without keys reads as an empty array.
                serde_json::Value::Array(a) if a.is_empty() => Default::default(),
                _ => return None,
            };
            let mut reading = Reading::new();
            for (name, v) in top {
                match v {
                    // An empty section.
                    serde_json::Value::Array(a) if a.is_empty() => {}
                    serde_json::Value::Object(keys) => {
                        for (k, v) in keys {
                            let values = match v {
                                serde_json::Value::Array(a) => a.iter().map(scalar).collect(),
                                serde_json::Value::Object(o) => o.values().map(scalar).collect(),
                                v => vec![scalar(&v)],
                            };
                            reading.insert((Some(name.clone()), k), values);
                        }
                    }
                    v => {
                        reading.insert((None, name), vec![scalar(&v)]);
                    }
                }
            }
            Some(reading)
        })
        .collect()
}

/// `systemd-analyze verify` complaints, with the file name prefix and line
/// numbers dropped (an added line shifts them).
fn read_systemd(files: &[PathBuf]) -> Vec<Option<Reading>> {
    require("systemd-analyze");
    files
        .iter()
        .map(|f| {
            let out = Command::new("systemd-analyze")
                .args(["verify", "--man=no", "--generators=no"])
                .arg(f)
                .output()
                .unwrap();
            let mut reading = Reading::new();
            for line in String::from_utf8_lossy(&out.stderr).lines() {
                let problem = line
                    .split_once(": ")
                    .map_or(line, |(_, rest)| rest)
                    .replace(&f.display().to_string(), "FILE");
                reading.entry((None, problem)).or_default().push(None);
            }
            Some(reading)
        })
        .collect()
}

fn read(syntax: Syntax, files: &[PathBuf]) -> Vec<Option<Reading>> {
    match syntax {
        Syntax::Configparser => read_configparser(files),
        Syntax::Gitconfig => read_git(files),
        Syntax::Mysql => read_mysql(files),
        Syntax::Php => read_php(files),
        Syntax::Systemd => read_systemd(files),
        Syntax::Generic => unreachable!("generic has no reader of its own"),
    }
}

/// What an edit should do to the reader's view.
#[derive(Debug)]
enum Expect {
    /// The key reads this value (every assignment of it).
    Value(Option<String>, String, String),
    Gone(Option<String>, String),
    SectionGone(String),
}

struct Case {
    what: String,
    text: String,
    expect: Expect,
}

/// The edits tried on one file: set and delete of keys spread over the
/// file, a new key per section, and deleting sections.
fn cases(syntax: Syntax, doc: &Document) -> Vec<Case> {
    let mut out = Vec::new();
    let mut keys: Vec<(Option<String>, String)> = Vec::new();
    for e in doc.entries() {
        let k = (e.section.clone(), e.key.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let step = (keys.len() / 12).max(1);
    let all = MatchOptions {
        occurrence: Occurrence::All,
        ..MatchOptions::default()
    };
    let name = |section: &Option<String>, key: &str| {
        (
            section.as_deref().map(|s| syntax.section_name(s)),
            syntax.key_name(key),
        )
    };
    let mut try_edit =
        |what: String, expect: Expect, op: &dyn Fn(&mut Document) -> Result<bool, EditError>| {
            let mut edited = doc.clone();
            match op(&mut edited) {
                Ok(true) => out.push(Case {
                    what,
                    text: edited.to_string(),
                    expect,
                }),
                Ok(false) => {}
                // Refused: the document must be as it was.
                Err(_) => assert_eq!(edited.to_string(), doc.to_string(), "{what}"),
            }
        };
    for (section, key) in keys.iter().step_by(step) {
        let s = section.as_deref();
        let (rs, rk) = name(section, key);
        try_edit(
            format!("set {section:?} {key}"),
            Expect::Value(rs.clone(), rk.clone(), "lockstep-probe".into()),
            &|d| d.set(s, key, "lockstep-probe", &all),
        );
        try_edit(
            format!("delete {section:?} {key}"),
            Expect::Gone(rs, rk),
            &|d| d.delete(s, key, &all),
        );
    }
    let mut sections: Vec<Option<String>> = vec![None];
    sections.extend(doc.section_names().into_iter().map(Some));
    for section in sections.iter().take(8) {
        let s = section.as_deref();
        let (rs, rk) = name(section, "lockstep-new");
        try_edit(
            format!("add to {section:?}"),
            Expect::Value(rs, rk, "v1".into()),
            &|d| d.set(s, "lockstep-new", "v1", &MatchOptions::default()),
        );
    }
    for section in doc.section_names().iter().take(4) {
        try_edit(
            format!("delete_section {section}"),
            Expect::SectionGone(syntax.section_name(section)),
            &|d| d.delete_section(section, &MatchOptions::default()),
        );
    }
    out
}

/// What the reader should see after the edit, from what it saw before.
fn expected(before: &Reading, after: &Reading, expect: &Expect) -> Reading {
    let mut want = before.clone();
    match expect {
        Expect::Value(s, k, v) => {
            let n = after
                .get(&(s.clone(), k.clone()))
                .map_or(1, Vec::len)
                .max(1);
            want.insert((s.clone(), k.clone()), vec![Some(v.clone()); n]);
        }
        Expect::Gone(s, k) => {
            want.remove(&(s.clone(), k.clone()));
        }
        Expect::SectionGone(s) => want.retain(|(section, _), _| section.as_deref() != Some(s)),
    }
    want
}

fn check_dialect(syntax: Syntax) {
    let files = corpus(syntax);
    assert!(files.len() >= 2, "{syntax}: corpus too small: {files:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut originals = Vec::new();
    let mut variants: Vec<(usize, Case, PathBuf)> = Vec::new();
    for (n, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).unwrap();
        let doc = Document::parse_as(&text, syntax);
        assert_eq!(
            doc.to_string(),
            text,
            "{} does not round-trip",
            file.display()
        );
        // Same file name, so readers that look at it (systemd) see the same kind.
        let name = file.file_name().unwrap();
        let original = dir.path().join(format!("{n}")).join(name);
        std::fs::create_dir_all(original.parent().unwrap()).unwrap();
        std::fs::write(&original, &text).unwrap();
        originals.push(original);
        for (k, case) in cases(syntax, &doc).into_iter().enumerate() {
            let path = dir.path().join(format!("{n}-{k}")).join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &case.text).unwrap();
            variants.push((n, case, path));
        }
    }
    let before = read(syntax, &originals);
    let paths: Vec<PathBuf> = variants.iter().map(|(_, _, p)| p.clone()).collect();
    let after = read(syntax, &paths);
    let mut failures = Vec::new();
    let mut checked = 0;
    for ((n, case, path), after) in variants.iter().zip(after) {
        let Some(before) = &before[*n] else {
            continue;
        };
        let file = files[*n].display();
        let Some(after) = after else {
            failures.push(format!(
                "{file}: {}: the reader rejects the result",
                case.what
            ));
            continue;
        };
        checked += 1;
        if syntax == Syntax::Systemd {
            // systemd reads every value it knows and complains about what it
            // cannot parse: a new complaint may only be about the edit itself.
            let foreign: Vec<&String> = after
                .keys()
                .filter(|k| !before.contains_key(*k))
                .map(|(_, problem)| problem)
                .filter(|p| {
                    let parse_problem = [
                        "ignoring",
                        "Missing '='",
                        "section header",
                        "outside of section",
                    ]
                    .iter()
                    .any(|m| p.contains(m));
                    parse_problem && !p.contains("lockstep-probe") && !p.contains("lockstep-new")
                })
                .collect();
            if !foreign.is_empty() {
                failures.push(format!(
                    "{file}: {}: systemd now reports {foreign:?}",
                    case.what
                ));
            }
            continue;
        }
        let want = expected(before, &after, &case.expect);
        if after != want {
            let differ: Vec<String> = want
                .iter()
                .filter(|(k, v)| after.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k:?}: want {v:?} got {:?}", after.get(k)))
                .chain(
                    after
                        .iter()
                        .filter(|(k, _)| !want.contains_key(*k))
                        .map(|(k, v)| format!("{k:?}: unexpected {v:?}")),
                )
                .take(4)
                .collect();
            failures.push(format!(
                "{file}: {} ({}): {}",
                case.what,
                path.display(),
                differ.join("; ")
            ));
        }
    }
    let readable = before.iter().filter(|b| b.is_some()).count();
    eprintln!(
        "{syntax}: {} files ({readable} readable by the reference reader), {checked} edits checked",
        files.len()
    );
    assert!(
        readable >= 2,
        "{syntax}: the reader accepts only {readable} corpus files"
    );
    assert!(checked >= 20, "{syntax}: only {checked} edits checked");
    assert!(
        failures.is_empty(),
        "{syntax}: {} edits read differently than intended:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// One test per dialect, so each reader's result shows on its own.
macro_rules! dialect_tests {
    ($($name:ident => $syntax:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_dialect($syntax);
            }
        )*
    };
}

dialect_tests! {
    configparser_corpus_reads_as_python_configparser_does => Syntax::Configparser,
    gitconfig_corpus_reads_as_git_does => Syntax::Gitconfig,
    mysql_corpus_reads_as_my_print_defaults_does => Syntax::Mysql,
    php_corpus_reads_as_parse_ini_file_does => Syntax::Php,
    systemd_corpus_edits_add_no_problem_for_systemd_analyze => Syntax::Systemd,
}

/// configparser's reading of `text` as JSON `{section: {key: value}}`.
fn configparser_json(text: &str) -> serde_json::Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import configparser, json, sys\n\
             cp = configparser.ConfigParser(interpolation=None)\n\
             cp.read_string(sys.stdin.read())\n\
             print(json.dumps({s: dict(cp[s]) for s in cp.sections()}))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "configparser rejects {text:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Applies `ops` to `file` holding `text` through the binary, for each of
/// the given `syntax:` settings (`None`: from the file name, here generic).
fn apply(text: &str, syntax: Option<&str>, ops: &str) -> String {
    let t = Test::new();
    t.write("config/app.ini", text);
    let syntax = syntax.map_or(String::new(), |s| format!("syntax: {s}\n"));
    t.write(
        "config-migrations/0001_edit.yaml",
        format!("file: app.ini\n{syntax}operations:\n{ops}"),
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    let after = String::from_utf8(t.read("config/app.ini")).unwrap();
    let again = t.run(&["--config-root", "config", "apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false, "second run changed {after:?}");
    after
}

/// Applies `op` to `text` under `syntax: configparser` and as a generic
/// file: both must write `expected`, which configparser must read as `reads`.
fn edits_to(text: &str, op: &str, expected: &str, reads: serde_json::Value) {
    for syntax in [Some("configparser"), None] {
        let after = apply(text, syntax, op);
        assert_eq!(after, expected, "{syntax:?}");
        assert_eq!(configparser_json(&after), reads, "{syntax:?}");
    }
}

#[test]
fn uncommenting_after_a_blank_line_does_not_continue_a_value() {
    // configparser itself: the indented line after the blank one would continue `a`.
    assert_eq!(
        configparser_json("[s]\na = 1\n\n  foo = bar\n"),
        serde_json::json!({"s": {"a": "1\n\nfoo = bar"}})
    );
    edits_to(
        "[s]\na = 1\n\n  # foo = bar\n",
        "  - set: {section: s, key: foo, value: bar}\n",
        "[s]\na = 1\n\nfoo = bar\n",
        serde_json::json!({"s": {"a": "1", "foo": "bar"}}),
    );
}

#[test]
fn a_value_continued_across_a_blank_line_is_set_and_deleted_whole() {
    let text = "[s]\nhosts = a\n  b\n\n  c\nport = 1\n";
    assert_eq!(
        configparser_json(text),
        serde_json::json!({"s": {"hosts": "a\nb\n\nc", "port": "1"}})
    );
    edits_to(
        text,
        "  - set: {section: s, key: hosts, value: x}\n",
        "[s]\nhosts = x\nport = 1\n",
        serde_json::json!({"s": {"hosts": "x", "port": "1"}}),
    );
    edits_to(
        text,
        "  - delete: {section: s, key: hosts}\n",
        "[s]\nport = 1\n",
        serde_json::json!({"s": {"port": "1"}}),
    );
}
