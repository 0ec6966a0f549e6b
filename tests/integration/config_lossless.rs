//! Lossless editing through the real binary, on a corpus of real-world
//! style INI files: satisfied operations leave every byte; setting a key
//! changes one line; adding a key adds one line; a second apply writes
//! nothing.

use crate::test::{repo, Test};
use lockstep::config::ini::{Document, MatchOptions, Syntax};
use std::path::Path;
use std::path::PathBuf;

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut add_dir = |dir: PathBuf, filter: &dyn Fn(&str) -> bool| {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && filter(&p.file_name().unwrap().to_string_lossy()))
                .collect();
            found.sort();
            files.extend(found);
        }
    };
    add_dir(repo().join("tests/fixtures/ini"), &|n| n != "README.md");
    add_dir(repo().join("../shared/corpus/ini"), &|_| true);
    add_dir(PathBuf::from("/etc/systemd"), &|n| n.ends_with(".conf"));
    add_dir(PathBuf::from("/etc/ssl"), &|n| n == "openssl.cnf");
    files
}

/// A key present once, with a one-line value, to edit.
fn pick_key(doc: &Document) -> Option<(Option<String>, String, String)> {
    let entries = doc.entries();
    entries.iter().find_map(|e| {
        let value = e.value.as_ref()?;
        let unique = entries
            .iter()
            .filter(|o| o.section == e.section && o.key == e.key)
            .count()
            == 1;
        let plain = !value.contains('\n')
            && !e.key.contains('"')
            && !e.key.contains('$')
            && !value.contains('$');
        if !unique || !plain {
            return None;
        }
        let current = doc
            .get(e.section.as_deref(), &e.key, &MatchOptions::default())
            .ok()??;
        Some((e.section.clone(), e.key.clone(), current?))
    })
}

fn op(kind: &str, section: &Option<String>, key: &str, value: &str) -> serde_json::Value {
    let mut body = serde_json::json!({"key": key, "value": value});
    if let Some(s) = section {
        body["section"] = s.clone().into();
    }
    serde_json::json!({ kind: body })
}

/// The dialect of a corpus file: from its name, and for the shared
/// corpus's aurweb config (read by Python's configparser) from its source.
fn syntax_of(file: &Path) -> Syntax {
    let name = file.file_name().unwrap().to_string_lossy();
    if name.starts_with("aurweb-config") {
        return Syntax::Configparser;
    }
    Syntax::for_path(file)
}

fn migration(t: &Test, name: &str, syntax: Syntax, ops: Vec<serde_json::Value>) {
    // JSON is YAML: no quoting surprises whatever the corpus holds.
    let doc = serde_json::json!({"file": "target.ini", "syntax": syntax.name(), "operations": ops});
    t.write(&format!("config-migrations/{name}"), doc.to_string());
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

#[test]
fn corpus_is_edited_losslessly() {
    let files = corpus();
    assert!(files.len() >= 15, "corpus too small: {files:?}");
    let mut edited = 0;
    for file in &files {
        let original = std::fs::read(file).unwrap();
        let Ok(text) = String::from_utf8(original.clone()) else {
            continue;
        };
        let t = Test::new();
        t.write("config/target.ini", &original);
        let run = || t.run(&["--config-root", "config", "apply"]);
        let syntax = syntax_of(file);
        let doc = Document::parse_as(&text, syntax);
        let picked = pick_key(&doc);
        let section = picked.as_ref().map_or_else(
            || {
                doc.entries()
                    .first()
                    .map(|e| e.section.clone())
                    .unwrap_or_else(|| doc.section_names().into_iter().next())
            },
            |p| p.0.clone(),
        );

        // 1. Operations already satisfied: byte-identical, changed: false.
        if let Some((section, key, value)) = &picked {
            migration(
                &t,
                "0001_same.yaml",
                syntax,
                vec![
                    op("set", section, key, value),
                    op("default", section, key, "other"),
                ],
            );
            let out = run();
            out.assert_ok();
            assert_eq!(
                out.json["changed"],
                false,
                "{}: {}",
                file.display(),
                out.stdout
            );
            assert_eq!(t.read("config/target.ini"), original, "{}", file.display());
        }

        // 2. One existing key set: exactly one line differs.
        let after_set = if let Some((section, key, _)) = &picked {
            migration(
                &t,
                "0002_set.yaml",
                syntax,
                vec![op("set", section, key, "lockstep-new-value")],
            );
            let out = run();
            out.assert_ok();
            assert_eq!(out.json["changed"], true, "{}", file.display());
            let now = t.read("config/target.ini");
            let (a, b) = (lines(&original), lines(&now));
            assert_eq!(a.len(), b.len(), "{}", file.display());
            let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            assert_eq!(differing, 1, "{}", file.display());
            now
        } else {
            original.clone()
        };

        // 3. A new key: exactly one line added, everything else in order.
        // A name every dialect reads as a key (git refuses `_`), so that a
        // generic file stays readable for all of them.
        migration(
            &t,
            "0003_add.yaml",
            syntax,
            vec![op("set", &section, "lockstep-added-key", "1")],
        );
        let out = run();
        out.assert_ok();
        let now = t.read("config/target.ini");
        let (a, b) = (lines(&after_set), lines(&now));
        let added = b.len() - a.len();
        if a.last().is_some_and(|l| !l.ends_with(b"\n")) && section.is_some() {
            // The last line gained its line ending before the new key.
            assert!(added <= 2, "{}", file.display());
        } else if section.is_none() || doc.entries().iter().any(|e| e.section == section) {
            assert_eq!(
                added,
                1,
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&now)
            );
            let mut without: Vec<&[u8]> = b.clone();
            let pos = b
                .iter()
                .position(|l| String::from_utf8_lossy(l).contains("lockstep-added-key"))
                .unwrap_or_else(|| panic!("{}: {}", file.display(), String::from_utf8_lossy(&now)));
            without.remove(pos);
            assert_eq!(without, a, "{}", file.display());
        }

        // 4. Again: nothing to do, nothing written.
        let again = run();
        again.assert_ok();
        assert_eq!(again.json["changed"], false);
        assert_eq!(t.read("config/target.ini"), now);
        edited += 1;
    }
    assert!(edited >= 15, "only {edited} files edited");
}

#[test]
fn new_key_and_section_follow_the_file_style() {
    let t = Test::new();
    t.write(
        "config/app.ini",
        "; app\r\n[a]\r\nx=1\r\ny=2\r\n\r\n[b]\r\nz = 3\r\n",
    );
    t.write(
        "config-migrations/0001_add.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: new, value: v}\n  - set: {section: c, key: k, value: w}\n",
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        "; app\r\n[a]\r\nx=1\r\ny=2\r\nnew=v\r\n\r\n[b]\r\nz = 3\r\n\r\n[c]\r\nk=w\r\n"
    );
}

#[test]
fn commented_out_key_is_replaced_in_place() {
    let t = Test::new();
    t.write(
        "config/my.cnf",
        "[mysqld]\n# max_connections = 100\nskip-networking\n",
    );
    t.write(
        "config-migrations/0001_conn.yaml",
        "file: my.cnf\noperations:\n  - set: {section: mysqld, key: max_connections, value: 500}\n",
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    assert_eq!(
        String::from_utf8(t.read("config/my.cnf")).unwrap(),
        "[mysqld]\nmax_connections = 500\nskip-networking\n"
    );
}

#[test]
fn every_operation_converges() {
    let t = Test::new();
    t.write(
        "config/app.ini",
        "[options]\ncache = memcache\nold = 1\n\n[legacy]\nx = 1\n\n[old]\ny = 2\n",
    );
    t.write(
        "config-migrations/0001_all.yaml",
        "file: app.ini\noperations:\n\
         - set: {section: server, key: port, value: 8080}\n\
         - default: {section: server, key: port, value: 9999}\n\
         - rename: {section: options, key: cache, to_section: cache, to_key: backend}\n\
         - delete: {section: options, key: old}\n\
         - rename_section: {from: old, to: new}\n\
         - delete_section: {section: legacy}\n",
    );
    let out = t.run(&["--config-root", "config", "apply"]);
    out.assert_ok();
    assert_eq!(
        out.json["config"]["files"][0]["applied"],
        serde_json::json!(["0001"])
    );
    let expected =
        "[options]\n\n[new]\ny = 2\n\n[server]\nport = 8080\n\n[cache]\nbackend = memcache\n";
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        expected
    );
    // A host whose state was lost converges too: the operations are no-ops.
    std::fs::remove_dir_all(t.path().join(".lockstep")).unwrap();
    let again = t.run(&["--config-root", "config", "apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false);
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        expected
    );
}
