//! Corpus test of the INI editor: real-world-shaped files (the fixture folder,
//! the shared corpus, and system files when present) must round-trip, accept
//! no-op sets byte for byte, and change exactly the lines an edit targets.

use super::line::uncomment_key;
use super::*;
use std::path::{Path, PathBuf};

/// Fixture folders, from the main project (`tests/fixtures/ini`) or from the
/// scratch crate beside it (`../main/tests/fixtures/ini`).
fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("tests/fixtures/ini"),
        root.join("../main/tests/fixtures/ini"),
    ]
    .into_iter()
    .filter(|d| d.is_dir())
    .collect()
}

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = fixture_dirs();
    dirs.push(root.join("../shared/corpus/ini"));
    dirs.push(PathBuf::from("/work/shared/corpus/ini"));
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let readme = path
                .file_name()
                .is_some_and(|n| n == "README.md" || n == ".gitattributes");
            if path.is_file() && !readme {
                files.push(path);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/etc/systemd") {
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file()),
        );
    }
    files.push(PathBuf::from("/etc/ssl/openssl.cnf"));
    let mut seen = Vec::new();
    files.retain(|p| match p.canonicalize() {
        Ok(c) if !seen.contains(&c) => {
            seen.push(c);
            true
        }
        _ => false,
    });
    files.sort();
    files
}

fn lines(text: &str) -> Vec<&str> {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .split_inclusive('\n')
        .collect()
}

/// Whether names from the file can be used in the API (e.g. `[]` cannot).
fn addressable(section: Option<&str>, key: &str) -> bool {
    let probe = Document::parse("");
    probe.get(section, key, &MatchOptions::default()).is_ok()
}

fn occurrence_opts(index: usize) -> MatchOptions {
    MatchOptions {
        occurrence: Occurrence::Index(index),
        ..MatchOptions::default()
    }
}

/// Runs every check on one file; returns a description of the first failure.
fn check_file(name: &str, text: &str) -> Result<usize, String> {
    let syntax = Syntax::for_path(Path::new(name));
    let doc = Document::parse_as(text, syntax);
    if doc.to_string() != text {
        return Err(format!("{name}: round trip changed the text"));
    }
    let old_lines = lines(text);
    let entries = doc.entries();
    let mut checks = 1;
    for (n, entry) in entries.iter().enumerate() {
        let section = entry.section.as_deref();
        if !addressable(section, &entry.key) {
            continue;
        }
        let index = entries[..n]
            .iter()
            .filter(|e| e.section == entry.section && e.key == entry.key)
            .count();
        let opts = occurrence_opts(index);
        let at = format!("{name}:{} [{section:?}] {}", entry.line, entry.key);
        let value = match doc.get(section, &entry.key, &opts) {
            Ok(Some(Some(v))) if !v.contains('\n') && v.trim() == v && !v.contains('\r') => v,
            Ok(_) => continue,
            Err(e) => return Err(format!("{at}: get failed: {e}")),
        };

        // Setting the value it already has writes nothing.
        let mut same = doc.clone();
        match same.set(section, &entry.key, &value, &opts) {
            Ok(false) if same.to_string() == text => {}
            other => return Err(format!("{at}: no-op set gave {other:?}")),
        }

        // A new value changes exactly that line, and only once.
        let new_value = if value.is_empty() {
            "changed".to_string()
        } else {
            format!("{value}-changed")
        };
        let mut changed = doc.clone();
        match changed.set(section, &entry.key, &new_value, &opts) {
            Ok(true) => {}
            // A reader would not read the new value as written: refused, unchanged.
            Err(EditError::ReadsDifferently { .. }) if changed == doc => continue,
            other => return Err(format!("{at}: set gave {other:?}")),
        }
        let after = changed.to_string();
        let new_lines = lines(&after);
        let differing: Vec<usize> = (0..old_lines.len().min(new_lines.len()))
            .filter(|&i| old_lines[i] != new_lines[i])
            .collect();
        if new_lines.len() != old_lines.len() || differing != [entry.line - 1] {
            return Err(format!("{at}: set changed lines {differing:?}"));
        }
        if changed.set(section, &entry.key, &new_value, &opts) != Ok(false)
            || changed.to_string() != after
        {
            return Err(format!("{at}: second set was not a no-op"));
        }
        checks += 3;
    }

    // A new key in each section (and the global one) adds exactly one line.
    let mut sections: Vec<Option<String>> = vec![None];
    sections.extend(doc.section_names().into_iter().map(Some));
    for section in &sections {
        let section = section.as_deref();
        if !addressable(section, "k") {
            continue;
        }
        let key = "lockstep_corpus_probe";
        let mut added = doc.clone();
        match added.set(section, key, "1", &MatchOptions::default()) {
            Ok(true) => {}
            // Refused because indentation would change other lines: allowed, but unchanged.
            Err(EditError::Reinterpreted { .. } | EditError::ReadsDifferently { .. })
                if added == doc =>
            {
                continue
            }
            other => return Err(format!("{name} [{section:?}]: add gave {other:?}")),
        }
        let after = added.to_string();
        let new_lines = lines(&after);
        let old_terminated: Vec<String> = old_lines
            .iter()
            .map(|l| {
                if l.ends_with('\n') {
                    l.to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let rest: Vec<String> = new_lines
            .iter()
            .filter(|l| !l.trim_start().starts_with(key))
            .map(|l| {
                if l.ends_with('\n') {
                    l.to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        if new_lines.len() != old_lines.len() + 1 || rest != old_terminated {
            return Err(format!(
                "{name} [{section:?}]: add did not add exactly one line"
            ));
        }
        if added.set(section, key, "1", &MatchOptions::default()) != Ok(false)
            || added.to_string() != after
        {
            return Err(format!("{name} [{section:?}]: second add was not a no-op"));
        }
        checks += 2;
    }

    // Enabling a commented-out key rewrites that one line (or adds one).
    for (i, line) in old_lines.iter().enumerate() {
        let Some((uncommented, parts)) =
            uncomment_key(line.trim_end_matches(['\n', '\r']), syntax.rules())
        else {
            continue;
        };
        let key = &uncommented[parts.key.clone()];
        let section = doc.section_of(i).map(str::to_string);
        if !addressable(section.as_deref(), key) {
            continue;
        }
        let mut on = doc.clone();
        let Ok(true) = on.set(section.as_deref(), key, "on", &MatchOptions::default()) else {
            if on != doc {
                return Err(format!("{name}:{}: a refused set changed the file", i + 1));
            }
            continue;
        };
        let after = on.to_string();
        let new_lines = lines(&after);
        let differing = (0..old_lines.len().min(new_lines.len()))
            .filter(|&j| old_lines[j] != new_lines[j])
            .count();
        let one_line_changed = new_lines.len() == old_lines.len() && differing == 1;
        let one_line_added = new_lines.len() == old_lines.len() + 1;
        if !(one_line_changed || one_line_added) {
            return Err(format!(
                "{name}:{}: enabling `{key}` changed {differing} lines",
                i + 1
            ));
        }
        if on.set(section.as_deref(), key, "on", &MatchOptions::default()) != Ok(false) {
            return Err(format!(
                "{name}:{}: enabling `{key}` twice changed it again",
                i + 1
            ));
        }
        checks += 2;
    }

    // Deleting every key and every section converges.
    for entry in &entries {
        let section = entry.section.as_deref();
        if !addressable(section, &entry.key) {
            continue;
        }
        let all = MatchOptions {
            occurrence: Occurrence::All,
            ..MatchOptions::default()
        };
        let mut gone = doc.clone();
        match gone.delete(section, &entry.key, &all) {
            Ok(true) => {}
            Err(EditError::ReadsDifferently { .. }) if gone == doc => continue,
            other => return Err(format!("{name}:{}: delete gave {other:?}", entry.line)),
        }
        let after = gone.to_string();
        if gone.delete(section, &entry.key, &all) != Ok(false) || gone.to_string() != after {
            return Err(format!(
                "{name}:{}: second delete changed again",
                entry.line
            ));
        }
        checks += 1;
    }
    for section in doc.section_names() {
        if !addressable(Some(&section), "k") {
            continue;
        }
        let mut gone = doc.clone();
        match gone.delete_section(&section, &MatchOptions::default()) {
            Ok(true) => {}
            Err(EditError::Reinterpreted { .. } | EditError::ReadsDifferently { .. }) => continue,
            other => return Err(format!("{name} [{section}]: delete_section gave {other:?}")),
        }
        let after = gone.to_string();
        if gone.delete_section(&section, &MatchOptions::default()) != Ok(false)
            || gone.to_string() != after
        {
            return Err(format!(
                "{name} [{section}]: second delete_section changed again"
            ));
        }
        checks += 1;
    }
    Ok(checks)
}

#[test]
fn fixture_folder_has_the_corpus() {
    let dirs = fixture_dirs();
    assert!(!dirs.is_empty(), "tests/fixtures/ini not found");
    for dir in dirs {
        let count = std::fs::read_dir(&dir)
            .map(|d| d.flatten().filter(|e| e.path().is_file()).count())
            .unwrap_or(0);
        assert!(count >= 17, "{} has only {count} files", dir.display());
    }
}

#[test]
fn corpus_files_round_trip_and_edit_exactly() {
    let mut failures = Vec::new();
    let mut files = 0;
    let mut checks = 0;
    for path in corpus_files() {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        // The editor works on text; a file that is not UTF-8 is out of scope.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        files += 1;
        match check_file(&path.display().to_string(), &text) {
            Ok(n) => checks += n,
            Err(e) => failures.push(e),
        }
    }
    eprintln!("corpus: {files} files, {checks} checked edits");
    assert!(files >= 17, "only {files} corpus files found");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checks > files * 5, "only {checks} checks ran");
}
