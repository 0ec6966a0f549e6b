//! Property tests of the INI editor over generated documents and operations:
//! lossless round trip, untouched lines kept, and convergence.

use super::line::unquote;
use super::*;
use proptest::prelude::*;

const SECTIONS: &[&str] = &["a", "A", "b", "Service"];
const KEYS: &[&str] = &["k", "K", "x", "ExecStart", "port"];
const VALUES: &[&str] = &["1", "v", "\"q\"", "'s'", "", "a b", "http://h:1/p", "x=y"];

fn pick(items: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(items)
}

/// One line's text, from the constructs real files use.
fn line_text() -> impl Strategy<Value = String> {
    let sep = pick(&["=", " = ", ": ", "\t=\t", " :", "   = "]);
    let indent = pick(&["", "", "", "  ", "\t"]);
    prop_oneof![
        3 => (indent, pick(KEYS), sep, pick(VALUES)).prop_map(|(i, k, s, v)| format!("{i}{k}{s}{v}")),
        2 => (pick(SECTIONS), pick(&["[{}]", "[ {} ]", "[{}] ; note"]))
            .prop_map(|(s, f)| f.replace("{}", s)),
        1 => pick(KEYS).prop_map(str::to_string),
        2 => (pick(KEYS), pick(&["; c", "# {} = 1", ";{}=2", "  ; note", "#{}: 3", "; {} = \"old\""]))
            .prop_map(|(k, f)| f.replace("{}", k)),
        2 => pick(&["", "", "  "]).prop_map(str::to_string),
        1 => pick(&["  more", "\tcont", "    deeper = 1"]).prop_map(str::to_string),
        1 => pick(&["!include x", "= x", "[bad", "garbage line"]).prop_map(str::to_string),
    ]
}

/// A document: optional BOM, lines with LF or CRLF, maybe no final newline.
fn document() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(
            (line_text(), prop_oneof![3 => Just("\n"), 1 => Just("\r\n")]),
            0..12,
        ),
        any::<bool>(),
    )
        .prop_map(|(bom, lines, final_newline)| {
            let mut text = if bom {
                "\u{feff}".to_string()
            } else {
                String::new()
            };
            let n = lines.len();
            for (i, (line, eol)) in lines.into_iter().enumerate() {
                text.push_str(&line);
                if i + 1 < n || final_newline {
                    text.push_str(eol);
                }
            }
            text
        })
}

#[derive(Clone, Debug)]
enum Op {
    Set(
        Option<&'static str>,
        &'static str,
        &'static str,
        MatchOptions,
    ),
    SetDefault(
        Option<&'static str>,
        &'static str,
        &'static str,
        MatchOptions,
    ),
    Delete(Option<&'static str>, &'static str, MatchOptions),
    Rename(
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
        &'static str,
        MatchOptions,
    ),
    RenameSection(&'static str, &'static str, MatchOptions),
    DeleteSection(&'static str, MatchOptions),
}

fn options(picks_one: bool) -> impl Strategy<Value = MatchOptions> {
    let occurrence = if picks_one {
        prop_oneof![
            3 => Just(Occurrence::Unique),
            1 => Just(Occurrence::First),
            1 => Just(Occurrence::Last),
            2 => Just(Occurrence::All),
            1 => (0usize..3).prop_map(Occurrence::Index),
        ]
        .boxed()
    } else {
        prop_oneof![Just(Occurrence::Unique), Just(Occurrence::All)].boxed()
    };
    (any::<bool>(), occurrence).prop_map(|(case_insensitive, occurrence)| MatchOptions {
        case_insensitive,
        occurrence,
        ..MatchOptions::default()
    })
}

/// Any op, or (`convergent`) only ops that a second run leaves alone: picking
/// one of several occurrences to delete or rename acts again on every run.
fn op_where(convergent: bool) -> impl Strategy<Value = Op> {
    let section = prop_oneof![1 => Just(None), 3 => pick(SECTIONS).prop_map(Some)];
    let picky = !convergent;
    prop_oneof![
        4 => (section.clone(), pick(KEYS), pick(VALUES), options(true)).prop_map(|(s, k, v, o)| Op::Set(s, k, v, o)),
        1 => (section.clone(), pick(KEYS), pick(VALUES), options(true)).prop_map(|(s, k, v, o)| Op::SetDefault(s, k, v, o)),
        2 => (section.clone(), pick(KEYS), options(picky)).prop_map(|(s, k, o)| Op::Delete(s, k, o)),
        2 => (section.clone(), pick(KEYS), section, pick(KEYS), options(picky))
            .prop_map(|(s, k, ts, tk, o)| Op::Rename(s, k, ts, tk, o)),
        1 => (pick(SECTIONS), pick(SECTIONS), options(picky)).prop_map(|(f, t, o)| Op::RenameSection(f, t, o)),
        1 => (pick(SECTIONS), options(picky)).prop_map(|(s, o)| Op::DeleteSection(s, o)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    op_where(false)
}

impl Op {
    fn apply(&self, doc: &mut Document) -> Result<bool, EditError> {
        match *self {
            Op::Set(s, k, v, ref o) => doc.set(s, k, v, o),
            Op::SetDefault(s, k, v, ref o) => doc.set_default(s, k, v, o),
            Op::Delete(s, k, ref o) => doc.delete(s, k, o),
            Op::Rename(s, k, ts, tk, ref o) => doc.rename(s, k, ts, tk, o),
            Op::RenameSection(f, t, ref o) => doc.rename_section(f, t, o),
            Op::DeleteSection(s, ref o) => doc.delete_section(s, o),
        }
    }

    fn opts(&self) -> MatchOptions {
        match *self {
            Op::Set(.., o)
            | Op::SetDefault(.., o)
            | Op::Delete(.., o)
            | Op::Rename(.., o)
            | Op::RenameSection(.., o)
            | Op::DeleteSection(.., o) => o,
        }
    }

    fn opts_mut(&mut self) -> &mut MatchOptions {
        match self {
            Op::Set(.., o)
            | Op::SetDefault(.., o)
            | Op::Delete(.., o)
            | Op::Rename(.., o)
            | Op::RenameSection(.., o)
            | Op::DeleteSection(.., o) => o,
        }
    }

    /// Whether the op may rewrite or remove this old line (a generous
    /// black-box guess from its text, independent of the parser).
    fn may_touch(&self, line: &str, is_last: bool, in_section_region: bool) -> bool {
        let ci = self.opts().case_insensitive;
        let has = |name: &str| {
            if ci {
                line.to_lowercase().contains(&name.to_lowercase())
            } else {
                line.contains(name)
            }
        };
        let unterminated_last = is_last && !line.ends_with('\n');
        let trimmed = line.trim_start();
        let indented = line.starts_with([' ', '\t']);
        let comment = trimmed.starts_with([';', '#']);
        // Blank lines inside a multi-line value go with it.
        let blank = trimmed.trim().is_empty();
        match *self {
            Op::Set(_, k, ..) | Op::SetDefault(_, k, ..) | Op::Delete(_, k, _) => {
                has(k) || indented || comment || blank || unterminated_last
            }
            Op::Rename(_, k, _, tk, _) => {
                has(k) || has(tk) || indented || comment || blank || unterminated_last
            }
            Op::RenameSection(from, ..) => trimmed.starts_with('[') && has(from),
            Op::DeleteSection(..) => in_section_region,
        }
    }
}

/// Whether no op uses a section or key that another op of the sequence
/// deletes, renames away or renames onto. Only such sequences converge:
/// re-running `set [old] k` + `rename_section old -> new` re-creates `[old]`.
/// Names compare ignoring case, to be safe under `case_insensitive`.
fn no_reuse_of_retired_names(ops: &[Op]) -> bool {
    type Name = (Option<String>, Option<String>);
    let low = |s: Option<&str>| s.map(str::to_lowercase);
    let uses = |op: &Op| -> Vec<Name> {
        match *op {
            Op::Set(s, k, ..) | Op::SetDefault(s, k, ..) | Op::Delete(s, k, _) => {
                vec![(low(s), Some(k.to_lowercase()))]
            }
            Op::Rename(s, k, ts, tk, _) => vec![
                (low(s), Some(k.to_lowercase())),
                (low(ts), Some(tk.to_lowercase())),
            ],
            Op::RenameSection(f, t, _) => vec![(low(Some(f)), None), (low(Some(t)), None)],
            Op::DeleteSection(s, _) => vec![(low(Some(s)), None)],
        }
    };
    // Names an op removes or (for renames) brings in.
    let exclusive = |op: &Op| -> Vec<Name> {
        match *op {
            Op::Delete(..) | Op::Rename(..) | Op::RenameSection(..) | Op::DeleteSection(..) => {
                uses(op)
            }
            _ => Vec::new(),
        }
    };
    let clash = |(s, k): &Name, (es, ek): &Name| match ek {
        // A section: no other op may name it at all.
        None => s.is_some() && s == es,
        Some(_) => s == es && k == ek,
    };
    ops.iter().enumerate().all(|(i, op)| {
        ops.iter().enumerate().all(|(j, other)| {
            i == j
                || exclusive(other)
                    .iter()
                    .all(|e| uses(op).iter().all(|u| !clash(u, e)))
        })
    })
}

/// Lines with their endings (BOM dropped; it is checked separately).
fn raw_lines(text: &str) -> Vec<&str> {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .split_inclusive('\n')
        .collect()
}

/// Whether `part` appears in `whole` in order (not necessarily adjacent).
fn is_subsequence(part: &[&str], whole: &[&str]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

/// For a section op, which lines lie between a header of that section and the next header.
fn section_regions(lines: &[&str], name: &str, ci: bool) -> Vec<bool> {
    let header_name = |l: &str| -> Option<String> {
        let t = l.trim_start();
        let inner = t.strip_prefix('[')?;
        let close = inner.find(']')?;
        Some(inner[..close].trim().to_string())
    };
    let mut inside = false;
    let mut regions: Vec<bool> = lines
        .iter()
        .map(|l| {
            if let Some(h) = header_name(l) {
                inside = if ci {
                    h.to_lowercase() == name.to_lowercase()
                } else {
                    h == name
                };
            }
            inside
        })
        .collect();
    // Blank lines before removed sections that reach the end of the file go too.
    for i in (0..lines.len()).rev() {
        if regions[i] {
            continue;
        }
        if !lines[i].trim().is_empty() {
            break;
        }
        regions[i] = true;
    }
    regions
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_round_trips(text in any::<String>()) {
        prop_assert_eq!(Document::parse(&text).to_string(), text);
    }

    #[test]
    fn ini_like_text_round_trips(text in "[\\[\\]=:;# \t\r\nab!\u{feff}\"']{0,60}") {
        let doc = Document::parse(&text);
        prop_assert_eq!(doc.to_string(), text);
        for e in doc.entries() {
            prop_assert!(e.line >= 1);
        }
    }

    #[test]
    fn ops_on_garbage_keep_the_document_consistent(
        text in "[\\[\\]=:;# \t\r\nkKab!\u{feff}\"'é]{0,60}",
        ops in prop::collection::vec(op(), 1..4),
    ) {
        let mut doc = Document::parse(&text);
        for op in ops {
            let before = doc.to_string();
            if op.apply(&mut doc).is_err() {
                prop_assert_eq!(doc.to_string(), before);
            }
            prop_assert_eq!(&Document::parse(&doc.to_string()), &doc);
        }
    }

    #[test]
    fn an_op_keeps_every_line_it_does_not_target(text in document(), op in op()) {
        let mut doc = Document::parse(&text);
        let result = op.apply(&mut doc);
        let after = doc.to_string();
        if result.is_err() || result == Ok(false) {
            prop_assert_eq!(&after, &text, "no change unless reported");
            return Ok(());
        }
        prop_assert!(after != text, "a reported change changes bytes");
        prop_assert_eq!(after.starts_with('\u{feff}'), text.starts_with('\u{feff}'));
        // The edited text reads back as the same document.
        prop_assert_eq!(&Document::parse(&after), &doc);

        let old = raw_lines(&text);
        let new = raw_lines(&after);
        let regions = match op {
            Op::DeleteSection(name, o) => section_regions(&old, name, o.case_insensitive),
            _ => vec![false; old.len()],
        };
        let untouchable: Vec<&str> = old
            .iter()
            .enumerate()
            .filter(|&(i, line)| !op.may_touch(line, i + 1 == old.len(), regions[i]))
            .map(|(_, line)| *line)
            .collect();
        prop_assert!(
            is_subsequence(&untouchable, &new),
            "{:?} changed a line it must not touch:\n{:?}\n->\n{:?}", op, text, after
        );
        if !matches!(op, Op::Rename(..)) {
            prop_assert!(new.len() <= old.len() + 3, "too many lines added");
        }

        // The op did what it says.
        match op {
            Op::Set(s, k, v, o) => {
                let got = doc.get(s, k, &o);
                prop_assert_eq!(got, Ok(Some(Some(unquote(v).to_string()))));
            }
            Op::Delete(s, k, o) if matches!(o.occurrence, Occurrence::Unique | Occurrence::All) => {
                prop_assert_eq!(doc.get(s, k, &o), Ok(None));
            }
            _ => {}
        }
    }

    #[test]
    fn an_op_applied_twice_equals_once(text in document(), op in op_where(true)) {
        let mut doc = Document::parse(&text);
        if op.apply(&mut doc).is_err() {
            return Ok(());
        }
        let once = doc.to_string();
        let again = op.apply(&mut doc);
        prop_assert!(matches!(again, Ok(false)), "second run: {:?}", again);
        prop_assert_eq!(doc.to_string(), once);
    }

    #[test]
    fn an_op_sequence_applied_twice_equals_once(
        text in document(),
        ops in prop::collection::vec(op_where(true), 1..6),
        case_insensitive in any::<bool>(),
    ) {
        // One matching mode per file, as a migration has; keep the ops that
        // do not clash with the ones kept before them.
        let mut kept: Vec<Op> = Vec::new();
        for mut op in ops {
            op.opts_mut().case_insensitive = case_insensitive;
            kept.push(op);
            if !no_reuse_of_retired_names(&kept) {
                kept.pop();
            }
        }
        let ops = kept;
        let mut doc = Document::parse(&text);
        // As a migration does: an operation that fails leaves the file as
        // it was before the first one.
        let run = |doc: &mut Document| {
            let before = doc.to_string();
            for op in &ops {
                if op.apply(doc).is_err() {
                    *doc = Document::parse(&before);
                    return;
                }
            }
        };
        run(&mut doc);
        let once = doc.to_string();
        run(&mut doc);
        prop_assert_eq!(doc.to_string(), once, "ops: {:?}", ops);
    }
}
