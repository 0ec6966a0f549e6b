//! The module graph of `src/`: dependencies point one way. Each top-level
//! module sits in a layer and imports only from layers below it, and no two
//! modules import each other, directly or round a cycle. Read from the
//! `crate::` and `super::` paths of every source file outside
//! `#[cfg(test)]` items (comments ignored); a child module naming its own
//! parent is not an edge, as the parent is its namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, bottom first: shared vocabulary, then the two sides, then
/// the result shape, planning, the command line and the commands.
const LAYERS: &[&[&str]] = &[
    &["error", "checksum", "redact", "files", "vocabulary"],
    &["migration_files"],
    &["config", "db"],
    &["report"],
    &["plan"],
    &["cli"],
    &["commands"],
];

type Module = Vec<String>;

#[test]
fn imports_point_down_the_layers() {
    let graph = module_graph();
    let rank = |m: &Module| {
        LAYERS
            .iter()
            .position(|layer| layer.contains(&m[0].as_str()))
            .unwrap_or_else(|| panic!("top-level module `{}` has no layer in LAYERS", m[0]))
    };
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            if from[0] != to[0] && rank(to) >= rank(from) {
                wrong.push(format!("{} imports {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways between layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_imports_another_round_a_cycle() {
    let graph = module_graph();
    let cycles = cycles(&graph);
    assert!(
        cycles.is_empty(),
        "import cycles:\n{}",
        cycles
            .iter()
            .map(|c| c
                .iter()
                .map(|m| m.join("::"))
                .collect::<Vec<_>>()
                .join(" -> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The reader itself, on lines it must get right.
#[test]
fn the_reader_sees_grouped_nested_and_relative_imports_and_skips_tests() {
    let modules: BTreeSet<Module> = ["a", "a::x", "a::y", "b", "b::z", "c", "d"]
        .iter()
        .map(|m| m.split("::").map(str::to_owned).collect())
        .collect();
    let text = "//! crate::d in a comment\n\
                use crate::{b::z::Thing,\n    c};\n\
                use super::y::Other;\n\
                fn f() { let _ = crate::b::helper(); } // crate::d\n\
                #[cfg(test)]\nmod tests {\n    use crate::d;\n}\n\
                #[cfg(test)]\nuse crate::d::only_in_tests;\nfn g() { super::super::b::z::h() }\n";
    let from: Module = vec!["a".into(), "x".into()];
    let edges = edges_of(&from, text, &modules);
    let names: Vec<String> = edges.iter().map(|m| m.join("::")).collect();
    assert_eq!(names, ["a::y", "b", "b::z", "c"]);
}

fn module_graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    collect(&src, &src, &mut files);
    let modules: BTreeSet<Module> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(m, text)| (m.clone(), edges_of(m, text, &modules)))
        .collect()
}

/// Every `.rs` file under `dir` by its module path (`db/online/mod.rs` is
/// `db::online`); `lib.rs` and `main.rs` are the crate root, left out.
fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<Module, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap().with_extension("");
        let mut module: Module = rel
            .components()
            .map(|c| c.as_os_str().to_str().unwrap().to_owned())
            .collect();
        if module.last().is_some_and(|l| l == "mod") {
            module.pop();
        }
        if module == ["lib"] || module == ["main"] {
            continue;
        }
        out.insert(module, std::fs::read_to_string(&path).unwrap());
    }
}

/// The modules `from` imports: each `crate::` or `super::` path resolved
/// to the longest known module, leaving out `from` itself and its
/// ancestors.
fn edges_of(from: &Module, text: &str, modules: &BTreeSet<Module>) -> BTreeSet<Module> {
    let code = without_tests_and_comments(text);
    let mut out = BTreeSet::new();
    for path in paths(&code) {
        let mut segments: Vec<String> = Vec::new();
        let mut parts = path.iter().peekable();
        match parts.next().map(String::as_str) {
            Some("crate") => {}
            Some("super") => {
                segments = from.clone();
                segments.pop();
                while parts.peek().is_some_and(|p| *p == "super") {
                    parts.next();
                    segments.pop();
                }
            }
            _ => continue,
        }
        segments.extend(parts.cloned());
        let target = (1..=segments.len())
            .rev()
            .map(|n| segments[..n].to_vec())
            .find(|m| modules.contains(m));
        if let Some(target) = target {
            if !from.starts_with(&target) {
                out.insert(target);
            }
        }
    }
    out
}

/// The text with `//` comments and `#[cfg(test)]` (or
/// `#[cfg(all(test, …))]`) items removed.
fn without_tests_and_comments(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed == "#[cfg(test)]" || trimmed.starts_with("#[cfg(all(test, ") {
            let indent = line.len() - trimmed.len();
            let item = lines.next().unwrap_or("");
            if item.trim_end().ends_with('{') {
                let close = format!("{}}}", " ".repeat(indent));
                for inner in lines.by_ref() {
                    if inner.trim_end() == close {
                        break;
                    }
                }
            }
            continue;
        }
        let code = line.split_once("//").map_or(line, |(code, _)| code);
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Every path that starts with `crate::` or `super::`, with `{a, b::c}`
/// groups expanded (one level of nesting is enough for the first segment
/// that names a module).
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let starts = rest.starts_with("crate::") || rest.starts_with("super::");
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !(starts && boundary) {
            i += 1;
            continue;
        }
        let (prefix, len) = read_path(rest);
        i += len;
        if code[i..].starts_with('{') {
            let close = matching_brace(&code[i..]);
            for part in split_top_level(&code[i + 1..i + close]) {
                let (tail, _) = read_path(part.trim());
                let mut full = prefix.clone();
                full.extend(tail);
                out.push(full);
            }
            i += close + 1;
        } else {
            out.push(prefix);
        }
    }
    out
}

/// The `a::b::` segments at the start of `text`, and the bytes read.
fn read_path(text: &str) -> (Vec<String>, usize) {
    let mut segments = Vec::new();
    let mut at = 0;
    loop {
        let ident: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        at += ident.len();
        segments.push(ident);
        if text[at..].starts_with("::") {
            at += 2;
        } else {
            break;
        }
    }
    (segments, at)
}

fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    text.len()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// Each strongly connected set of two or more modules, as one cycle path.
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    let key: BTreeSet<Module> = cycle.iter().cloned().collect();
                    if done.insert(key) {
                        found.push(cycle);
                    }
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found
}

/// Every SQL difference between the dialects lives in `src/db/dialect/`,
/// one file per dialect: everywhere else code asks `Dialect::sql()` for
/// SQL text or a capability and branches on the answer, never naming a
/// dialect (`match d { Dialect::Mysql => … }`, `d == Dialect::Sqlite`).
/// Test code (`#[cfg(test)]` items) may pick one to test with.
#[test]
fn no_dialect_is_named_outside_the_dialect_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for (path, text) in rust_files(&src) {
        let rel = path.strip_prefix(&src).unwrap();
        if rel.starts_with("db/dialect") {
            continue;
        }
        for line in without_tests_and_comments(&text).lines() {
            if names_a_dialect(line) {
                found.push(format!("src/{}: {}", rel.display(), line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "dialects named outside src/db/dialect/ (ask `Dialect::sql()` instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_dialect_scan_sees_variants_globs_and_groups() {
    for named in [
        "Dialect::Mysql => \"x\",",
        "if d == crate::db::dialect::Dialect::Sqlite {",
        "use crate::db::dialect::Dialect::*;",
        "use Dialect::{Postgres, Mysql};",
    ] {
        assert!(names_a_dialect(named), "{named}");
    }
    let text = "fn f(d: Dialect) -> &str { d.begin() }\n\
                #[cfg(all(test, feature = \"sqlite\"))]\nmod tests {\n    const D: Dialect = Dialect::Sqlite;\n}\n";
    assert!(!without_tests_and_comments(text)
        .lines()
        .any(names_a_dialect));
    for dispatch in [
        "let g = d.sql();",
        "Dialect::parse(name)",
        "for d in Dialect::ALL {",
        "Dialect::from_url(url)",
    ] {
        assert!(!names_a_dialect(dispatch), "{dispatch}");
    }
}

/// Whether a line of code names a dialect variant (or all of them).
fn names_a_dialect(code: &str) -> bool {
    code.match_indices("Dialect::").any(|(at, _)| {
        let rest = &code[at + "Dialect::".len()..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        matches!(word.as_str(), "Sqlite" | "Postgres" | "Mysql")
            || rest.starts_with('*')
            || rest.starts_with('{')
    })
}

/// Every `.rs` file under `dir` with its text, the crate roots included.
fn rust_files(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
    out
}

/// The plan layer does no I/O. clippy enforces the file-system calls
/// clippy.toml lists (`#![deny(clippy::disallowed_methods)]` in
/// src/plan/mod.rs, run by CI with `-D warnings`); this keeps that switch
/// on and catches the I/O a method list cannot name: other I/O modules,
/// async file access, a database handle, a process, the clock.
#[test]
fn the_plan_layer_does_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plan_mod = std::fs::read_to_string(root.join("src/plan/mod.rs")).unwrap();
    assert!(
        plan_mod.contains("#![deny(clippy::disallowed_methods)]"),
        "src/plan/mod.rs must deny clippy::disallowed_methods"
    );
    let clippy = std::fs::read_to_string(root.join("clippy.toml")).unwrap();
    for method in [
        "std::fs::read_to_string",
        "std::fs::File::open",
        "std::path::Path::canonicalize",
        "std::path::Path::exists",
        "std::fs::metadata",
    ] {
        assert!(
            clippy.contains(&format!("path = \"{method}\"")),
            "clippy.toml no longer disallows {method}"
        );
    }
    let src = root.join("src/plan");
    let mut found = Vec::new();
    for (path, text) in rust_files(&src) {
        for line in without_tests_and_comments(&text).lines() {
            if let Some(what) = does_io(line) {
                found.push(format!("{}: {what}: {}", path.display(), line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "I/O in src/plan/ (load it before planning and pass it in):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_io_scan_sees_modules_handles_and_the_clock() {
    for io in [
        "use std::fs;",
        "let f = std::fs::File::open(p)?;",
        "tokio::fs::read(p).await",
        "use std::io::Read;",
        "db: &mut Database,",
        "sqlx::query(q)",
        "std::process::Command::new(\"x\")",
        "let t = SystemTime::now();",
        "let t = Instant::now();",
        "std::env::var(\"X\")",
    ] {
        assert!(does_io(io).is_some(), "{io}");
    }
    for pure in [
        "let before = &loaded.files[i].bytes;",
        "fn plan(files: &LoadedFiles) -> Plan {",
        "let s = state.files.get(name);",
        "Side::Database.restamp_arg(&row.version)",
        "pub database: DatabasePlan<'a>,",
        "files.push(ConfigFile::Status(s));",
        "let p = ConfigFileStatus::new();",
    ] {
        assert_eq!(does_io(pure), None, "{pure}");
    }
}

/// What a line of plan code would do I/O with, if anything.
fn does_io(code: &str) -> Option<&'static str> {
    const IO: &[(&str, &str)] = &[
        ("std::fs", "the file system"),
        ("tokio::fs", "the file system"),
        ("std::io", "an I/O handle"),
        ("File::", "a file"),
        ("OpenOptions", "a file"),
        ("rustix::", "a system call"),
        ("db::connection", "the database"),
        ("&Database", "the database"),
        ("&mut Database", "the database"),
        ("sqlx::", "the database"),
        ("std::process", "a process"),
        ("std::net", "the network"),
        ("std::env", "the environment"),
        ("SystemTime::now", "the clock"),
        ("Instant::now", "the clock"),
    ];
    // A needle counts where it starts a name: `ConfigFile::Status` is not
    // `File::`.
    let starts_a_name = |at: usize| {
        !code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    IO.iter()
        .find(|(needle, _)| code.match_indices(needle).any(|(at, _)| starts_a_name(at)))
        .map(|(_, what)| *what)
}

/// One idea a file: no source file holds more than about 600 lines of
/// code besides its tests and comments (test modules in files of their
/// own, `#[cfg(test)] mod tests;`, are tests).
#[test]
fn no_source_file_is_over_600_lines_besides_tests() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    let test_files: BTreeSet<std::path::PathBuf> = files
        .iter()
        .flat_map(|(path, text)| test_modules(path, text))
        .collect();
    let long: Vec<String> = files
        .iter()
        .filter(|(path, _)| !test_files.contains(path))
        .map(|(path, text)| (path, without_tests_and_comments(text).lines().count()))
        .filter(|(_, lines)| *lines > 600)
        .map(|(path, lines)| format!("{}: {lines} lines", path.display()))
        .collect();
    assert!(
        long.is_empty(),
        "split these files by idea:\n{}",
        long.join("\n")
    );
}

/// The files of the `#[cfg(test)] mod name;` modules a source file declares.
fn test_modules(path: &Path, text: &str) -> Vec<std::path::PathBuf> {
    let dir = match path.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs" | "lib.rs" | "main.rs") => path.parent().unwrap().to_path_buf(),
        _ => path.with_extension(""),
    };
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "#[cfg(test)]")
        .filter_map(|w| w[1].strip_prefix("mod ")?.strip_suffix(';'))
        .map(|name| dir.join(format!("{name}.rs")))
        .collect()
}
