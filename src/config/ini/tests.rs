//! Unit tests of the INI editor: each rule with the exact bytes it must produce.

use super::*;

fn o() -> MatchOptions {
    MatchOptions::default()
}

fn occ(occurrence: Occurrence) -> MatchOptions {
    MatchOptions {
        occurrence,
        ..MatchOptions::default()
    }
}

fn ci() -> MatchOptions {
    MatchOptions {
        case_insensitive: true,
        ..MatchOptions::default()
    }
}

/// Runs `op` on `input`, checks it reports `changed` and yields `expected`,
/// then checks a second run reports no change and writes nothing.
fn edit(input: &str, expected: &str, op: impl Fn(&mut Document) -> Result<bool, EditError>) {
    edit_as(Syntax::Generic, input, expected, op)
}

fn edit_as(
    syntax: Syntax,
    input: &str,
    expected: &str,
    op: impl Fn(&mut Document) -> Result<bool, EditError>,
) {
    let mut doc = Document::parse_as(input, syntax);
    let changed = op(&mut doc).unwrap();
    assert_eq!(doc.to_string(), expected);
    assert_eq!(changed, input != expected, "changed flag");
    let again = op(&mut doc).unwrap();
    assert!(!again, "second run must not change anything");
    assert_eq!(doc.to_string(), expected, "second run");
    // The edited text reads back as the same document.
    assert_eq!(Document::parse_as(expected, syntax), doc);
}

/// Like `edit` for ops that act again on every run (`First`/`Last` picks).
fn once(input: &str, expected: &str, op: impl Fn(&mut Document) -> Result<bool, EditError>) {
    let mut doc = Document::parse(input);
    assert!(op(&mut doc).unwrap());
    assert_eq!(doc.to_string(), expected);
}

fn set(input: &str, expected: &str, section: Option<&str>, key: &str, value: &str) {
    edit(input, expected, |d| d.set(section, key, value, &o()));
}

fn err(input: &str, op: impl Fn(&mut Document) -> Result<bool, EditError>) -> EditError {
    let mut doc = Document::parse(input);
    let e = op(&mut doc).unwrap_err();
    assert_eq!(
        doc.to_string(),
        input,
        "a failed edit leaves the document unchanged"
    );
    e
}

fn entry(section: Option<&str>, key: &str, value: Option<&str>, line: usize) -> Entry {
    Entry {
        section: section.map(str::to_string),
        key: key.to_string(),
        value: value.map(str::to_string),
        line,
    }
}

// ---- reading ----

#[test]
fn round_trips_odd_inputs() {
    for text in [
        "",
        "\u{feff}",
        "\u{feff}a=1",
        "a",
        "\n",
        "\r\n",
        "a\r",
        "a\rb\r\n",
        "\r\r\n\n",
        "[x",
        "[x]]\n = \n:\n!",
        "k = v\r\n\tcont\n\n  ; c\r\n[ s ] ; c\nx",
        "\u{feff}\u{feff}[a]\n",
        "é = ü\n[ñ]\n",
    ] {
        assert_eq!(Document::parse(text).to_string(), text);
    }
}

#[test]
fn reads_delimiters_spacing_and_bare_keys() {
    let doc = Document::parse(
        "g = 1\n[s]\na=1\nb : 2\nc\t=\t3  \nskip-networking\nempty =\nurl = http://x:80\nt: a=b\n",
    );
    assert_eq!(
        doc.entries(),
        vec![
            entry(None, "g", Some("1"), 1),
            entry(Some("s"), "a", Some("1"), 3),
            entry(Some("s"), "b", Some("2"), 4),
            entry(Some("s"), "c", Some("3"), 5),
            entry(Some("s"), "skip-networking", None, 6),
            entry(Some("s"), "empty", Some(""), 7),
            entry(Some("s"), "url", Some("http://x:80"), 8),
            entry(Some("s"), "t", Some("a=b"), 9),
        ]
    );
}

#[test]
fn reads_comments_directives_and_garbage_as_non_keys() {
    let doc = Document::parse(
        "; c\n# c\n   ; indented\n\t# tab\n!include /etc/x\n= nokey\n[unclosed\n[s] ; note\nk = a ; not a comment\n",
    );
    assert_eq!(
        doc.entries(),
        vec![entry(Some("s"), "k", Some("a ; not a comment"), 9)]
    );
}

#[test]
fn reads_continuation_lines_like_configparser() {
    let doc = Document::parse(
        "[s]\nk = a\n  b\n  ; inside\n\tc\nnext = 1\n\tgit = style\n\tsame = indent\n\n  after_blank = x\n",
    );
    assert_eq!(
        doc.entries(),
        vec![
            entry(Some("s"), "k", Some("a\nb\nc"), 2),
            // A blank line does not end a value (`empty_lines_in_values`).
            entry(
                Some("s"),
                "next",
                Some("1\ngit = style\nsame = indent\n\nafter_blank = x"),
                6
            ),
        ]
    );
    let git = Document::parse("[core]\n\tbare = false\n\tfilemode = true\n");
    assert_eq!(
        git.entries(),
        vec![
            entry(Some("core"), "bare", Some("false"), 2),
            entry(Some("core"), "filemode", Some("true"), 3),
        ]
    );
}

#[test]
fn reads_spaced_and_duplicate_headers() {
    let doc = Document::parse("[ a b ]\nx = 1\n[remote \"origin\"]\nurl = u\n[ a b ]\ny = 2\n");
    assert_eq!(doc.section_names(), vec!["a b", "remote \"origin\""]);
    assert_eq!(
        doc.get(Some("a b"), "y", &o()).unwrap(),
        Some(Some("2".into()))
    );
    assert_eq!(
        doc.get(Some("remote \"origin\""), "url", &o()).unwrap(),
        Some(Some("u".into()))
    );
}

#[test]
fn reads_quotes_in_entries_and_strips_them_in_get() {
    let doc = Document::parse("a = \"x y\"\nb = 'z'\nc = \"\nd = \"q\" trailing\n");
    assert_eq!(doc.entries()[0].value.as_deref(), Some("\"x y\""));
    assert_eq!(doc.get(None, "a", &o()).unwrap(), Some(Some("x y".into())));
    assert_eq!(doc.get(None, "b", &o()).unwrap(), Some(Some("z".into())));
    assert_eq!(doc.get(None, "c", &o()).unwrap(), Some(Some("\"".into())));
    assert_eq!(
        doc.get(None, "d", &o()).unwrap(),
        Some(Some("\"q\" trailing".into()))
    );
}

#[test]
fn get_distinguishes_absent_bare_and_empty() {
    let doc = Document::parse("[mysqld]\nskip-networking\nempty =\n");
    assert_eq!(
        doc.get(Some("mysqld"), "skip-networking", &o()).unwrap(),
        Some(None)
    );
    assert_eq!(
        doc.get(Some("mysqld"), "empty", &o()).unwrap(),
        Some(Some(String::new()))
    );
    assert_eq!(doc.get(Some("mysqld"), "port", &o()).unwrap(), None);
    assert_eq!(doc.get(Some("other"), "empty", &o()).unwrap(), None);
    assert_eq!(doc.get(None, "empty", &o()).unwrap(), None);
}

#[test]
fn get_with_occurrences() {
    let text = "[Service]\nExecStart=\nExecStart=/bin/a\n[Service]\nExecStart=/bin/b\n";
    let doc = Document::parse(text);
    assert_eq!(
        doc.get(Some("Service"), "ExecStart", &o()).unwrap_err(),
        EditError::DuplicateKey {
            section: Some("Service".into()),
            key: "ExecStart".into(),
            lines: vec![2, 3, 5],
        }
    );
    let get = |o: Occurrence| doc.get(Some("Service"), "ExecStart", &occ(o));
    assert_eq!(get(Occurrence::First).unwrap(), Some(Some(String::new())));
    assert_eq!(get(Occurrence::Last).unwrap(), Some(Some("/bin/b".into())));
    assert_eq!(
        get(Occurrence::Index(1)).unwrap(),
        Some(Some("/bin/a".into()))
    );
    assert!(matches!(
        get(Occurrence::Index(3)),
        Err(EditError::OccurrenceOutOfRange { index: 3, .. })
    ));
    assert!(matches!(
        get(Occurrence::All),
        Err(EditError::DuplicateKey { .. })
    ));
    let same = Document::parse("[s]\nk = 1\nk = \"1\"\n");
    assert_eq!(
        same.get(Some("s"), "k", &occ(Occurrence::All)).unwrap(),
        Some(Some("1".into()))
    );
}

#[test]
fn case_insensitive_matches_sections_and_keys() {
    let doc = Document::parse("[Main]\nColor = red\n");
    assert_eq!(doc.get(Some("main"), "color", &o()).unwrap(), None);
    assert_eq!(
        doc.get(Some("MAIN"), "COLOR", &ci()).unwrap(),
        Some(Some("red".into()))
    );
    edit("[Main]\nColor = red\n", "[Main]\nColor = blue\n", |d| {
        d.set(Some("main"), "color", "blue", &ci())
    });
}

#[test]
fn line_ending_is_dominant() {
    assert_eq!(Document::parse("").line_ending(), "\n");
    assert_eq!(Document::parse("a").line_ending(), "\n");
    assert_eq!(Document::parse("a\r\nb\r\nc\n").line_ending(), "\r\n");
    assert_eq!(Document::parse("a\r\nb\nc\n").line_ending(), "\n");
    assert_eq!(Document::parse("a\r\nb\n").line_ending(), "\r\n");
}

#[test]
fn error_messages_name_the_place_and_the_fix() {
    let text = "[Unit]\nA=1\n[Service]\nExecStart=\nExecStart=/a\nType=simple\n\n[Service]\nExecStart=/b\n";
    let e = Document::parse(text)
        .get(Some("Service"), "ExecStart", &o())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "key `ExecStart` appears 3 times in [Service] (lines 4, 5, 9); say which with `occurrence: first|last|all|<index>`"
    );
    let e = Document::parse("a = 1\na = 2\n")
        .get(None, "a", &o())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "key `a` appears 2 times in the global section (before the first [section]) (lines 1, 2); say which with `occurrence: first|last|all|<index>`"
    );
    let e = Document::parse("")
        .set(Some("s"), "k", "a\nb", &o())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "value for key `k` in [s] contains a line break; multi-line values are not written, put the value on one line"
    );
    let e = Document::parse("").set(None, "a=b", "1", &o()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid key name \"a=b\": it contains `=` or `:`, which INI reads as the delimiter; choose another name"
    );
}

// ---- set: existing keys ----

#[test]
fn set_replaces_only_the_value() {
    set("[s]\nkey = 1\n", "[s]\nkey = 2\n", Some("s"), "key", "2");
    set("[s]\nkey=1\n", "[s]\nkey=2\n", Some("s"), "key", "2");
    set("[s]\nkey: 1\n", "[s]\nkey: 2\n", Some("s"), "key", "2");
    set(
        "[s]\n  Key\t =  1   \n",
        "[s]\n  Key\t =  22   \n",
        Some("s"),
        "Key",
        "22",
    );
    set(
        "[s]\nkey = 1 ; old\n",
        "[s]\nkey = 2\n",
        Some("s"),
        "key",
        "2",
    );
}

#[test]
fn set_same_value_changes_no_byte() {
    for text in [
        "[s]\nkey = 1  \r\n",
        "[s]\nkey = \"1\"",
        "[s]\nkey = '1'\n",
        "[s]\nkey =\n",
        "[s]\nkey = \n",
    ] {
        let mut doc = Document::parse(text);
        let value = doc.get(Some("s"), "key", &o()).unwrap().flatten().unwrap();
        assert!(!doc.set(Some("s"), "key", &value, &o()).unwrap());
        assert_eq!(doc.to_string(), text);
    }
}

#[test]
fn set_keeps_quote_style() {
    set("k = \"x\"\n", "k = \"y\"\n", None, "k", "y");
    set("k = 'x'\n", "k = 'y'\n", None, "k", "y");
    set("k = \"x\"\n", "k = \"x\"\n", None, "k", "x");
    // Quotes in the value itself: configparser keeps them, php.ini strips
    // them, so only a file named as configparser's takes them.
    let cp = |input: &str, expected: &str, value: &str| {
        edit_as(Syntax::Configparser, input, expected, |d| {
            d.set(Some("s"), "k", value, &o())
        })
    };
    cp("[s]\nk = \"x\"\n", "[s]\nk = 'x'\n", "'x'");
    cp("[s]\nk = x\n", "[s]\nk = \"y\"\n", "\"y\"");
    let e = err("k = x\n", |d| d.set(None, "k", "\"y\"", &o()));
    assert!(
        matches!(
            e,
            EditError::ReadsDifferently {
                syntax: Syntax::Php,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn set_keeps_line_endings_bom_and_missing_final_newline() {
    set(
        "\u{feff}[s]\r\nk = 1\r\nj = 2\n",
        "\u{feff}[s]\r\nk = 9\r\nj = 2\n",
        Some("s"),
        "k",
        "9",
    );
    set("[s]\nk = 1", "[s]\nk = 2", Some("s"), "k", "2");
}

#[test]
fn set_replaces_a_multi_line_value_with_one_line() {
    set(
        "[s]\nk = a\n  b\n  ; note\n  c\nnext = 1\n",
        "[s]\nk = z\nnext = 1\n",
        Some("s"),
        "k",
        "z",
    );
    set("[s]\nk =\n  a\r\n", "[s]\nk = z\r\n", Some("s"), "k", "z");
    // A blank line and a comment before the first continuation line are the
    // key's lines too: configparser reads `k` as "\n\na" (the blank line
    // kept, the comment skipped). After a bare key it fails instead; the
    // editor reads it the same way.
    set("k =\n\n# c\n a\nx = 1\n", "k = z\nx = 1\n", None, "k", "z");
    set("k\n\n# c\n\x0ca\nx = 1\n", "k = z\nx = 1\n", None, "k", "z");
}

#[test]
fn set_fills_bare_and_empty_values() {
    set(
        "[mysqld]\nport=1\nskip-networking\n",
        "[mysqld]\nport=1\nskip-networking=1\n",
        Some("mysqld"),
        "skip-networking",
        "1",
    );
    set("[s]\nk =\n", "[s]\nk = v\n", Some("s"), "k", "v");
    set("[s]\nk=\n", "[s]\nk=v\n", Some("s"), "k", "v");
    set("[s]\nk:   \n", "[s]\nk:v\n", Some("s"), "k", "v");
    set("[s]\nk = v  \n", "[s]\nk =\n", Some("s"), "k", "");
    set("[s]\nk\n", "[s]\nk =\n", Some("s"), "k", "");
}

#[test]
fn set_with_occurrences() {
    let text = "[Service]\nExecStart=\nExecStart=/a\n[Service]\nExecStart=/b\n";
    assert!(matches!(
        err(text, |d| d.set(Some("Service"), "ExecStart", "/x", &o())),
        EditError::DuplicateKey { .. }
    ));
    let run = |o: Occurrence, expected: &str| {
        edit(text, expected, |d| {
            d.set(Some("Service"), "ExecStart", "/x", &occ(o))
        });
    };
    run(
        Occurrence::First,
        "[Service]\nExecStart=/x\nExecStart=/a\n[Service]\nExecStart=/b\n",
    );
    run(
        Occurrence::Last,
        "[Service]\nExecStart=\nExecStart=/a\n[Service]\nExecStart=/x\n",
    );
    run(
        Occurrence::Index(1),
        "[Service]\nExecStart=\nExecStart=/x\n[Service]\nExecStart=/b\n",
    );
    run(
        Occurrence::All,
        "[Service]\nExecStart=/x\nExecStart=/x\n[Service]\nExecStart=/x\n",
    );
    assert!(matches!(
        err(text, |d| d.set(
            Some("Service"),
            "ExecStart",
            "/x",
            &occ(Occurrence::Index(3))
        )),
        EditError::OccurrenceOutOfRange { index: 3, .. }
    ));
    // Index 0 of an absent key adds it; a higher index cannot exist after that.
    edit("[s]\n", "[s]\nk = 1\n", |d| {
        d.set(Some("s"), "k", "1", &occ(Occurrence::Index(0)))
    });
    let e = err("[s]\n", |d| {
        d.set(Some("s"), "k", "1", &occ(Occurrence::Index(2)))
    });
    assert_eq!(
        e.to_string(),
        "occurrence 2 of key `k` does not exist in [s]: it appears 0 times; indexes start at 0"
    );
}

// ---- set: commented-out keys ----

#[test]
fn set_uncomments_a_commented_key_in_place() {
    set(
        "[mysqld]\nuser = mysql\n;port = 3306\nsocket = /tmp/s\n",
        "[mysqld]\nuser = mysql\nport = 3307\nsocket = /tmp/s\n",
        Some("mysqld"),
        "port",
        "3307",
    );
    set("[s]\n# key=x\n", "[s]\nkey=y\n", Some("s"), "key", "y");
    edit_as(
        Syntax::Configparser,
        "[s]\n#key: x\r\n",
        "[s]\nkey: y\r\n",
        |d| d.set(Some("s"), "key", "y", &o()),
    );
    set(
        "[s]\n\n  ;; key  =  \"x\"\n",
        "[s]\n\n  key  =  \"y\"\n",
        Some("s"),
        "key",
        "y",
    );
    set("[s]\n;key =\n", "[s]\nkey = y\n", Some("s"), "key", "y");
}

#[test]
fn set_uncomments_only_the_first_match_and_only_in_its_section() {
    set(
        "[a]\n;k = 1\n[b]\n;k = 2\n;k = 3\n",
        "[a]\n;k = 1\n[b]\nk = 9\n;k = 3\n",
        Some("b"),
        "k",
        "9",
    );
    // Prose without a delimiter is not a commented key.
    set(
        "[s]\n# k\nx = 1\n",
        "[s]\n# k\nx = 1\nk = 2\n",
        Some("s"),
        "k",
        "2",
    );
    // An active key wins over a commented one.
    set(
        "[s]\n;k = 1\nk = 2\n",
        "[s]\n;k = 1\nk = 3\n",
        Some("s"),
        "k",
        "3",
    );
}

#[test]
fn set_uncomments_with_the_neighbours_indentation_when_its_own_would_continue_a_value() {
    // `    k = 9` after `a = 1` would continue a's value.
    set(
        "[s]\na = 1\n    ;k = 1\nb = 2\n",
        "[s]\na = 1\nk = 9\nb = 2\n",
        Some("s"),
        "k",
        "9",
    );
    // `load printers = no` flush left would make `   dns proxy` its continuation.
    set(
        "[global]\n   log file = x\n;   load printers = yes\n   dns proxy = no\n",
        "[global]\n   log file = x\n   load printers = no\n   dns proxy = no\n",
        Some("global"),
        "load printers",
        "no",
    );
}

#[test]
fn set_appends_when_no_indentation_lets_the_comment_be_uncommented() {
    // Uncommented at any indentation here, `k` would swallow the indented directive.
    set(
        "[s]\n;k = 1\n   !include x\nj = 1\n",
        "[s]\n;k = 1\n   !include x\nj = 1\nk = 9\n",
        Some("s"),
        "k",
        "9",
    );
}

// ---- set: new keys ----

#[test]
fn set_appends_after_the_last_key_not_after_trailing_comments() {
    set(
        "[a]\nx = 1\n; about b\n\n[b]\ny = 2\n",
        "[a]\nx = 1\nz = 3\n; about b\n\n[b]\ny = 2\n",
        Some("a"),
        "z",
        "3",
    );
    set(
        "[a]\nx = 1\n  more\n\n",
        "[a]\nx = 1\n  more\nz = 3\n\n",
        Some("a"),
        "z",
        "3",
    );
}

#[test]
fn set_copies_the_section_style() {
    set("[a]\nx=1\n", "[a]\nx=1\nz=3\n", Some("a"), "z", "3");
    set("[a]\nx: 1\n", "[a]\nx: 1\nz: 3\n", Some("a"), "z", "3");
    set(
        "[core]\n\tbare = false\n",
        "[core]\n\tbare = false\n\tz = 3\n",
        Some("core"),
        "z",
        "3",
    );
    set(
        "listen_addr   = localhost\n[b]\n",
        "listen_addr   = localhost\n[b]\nz   = 3\n",
        Some("b"),
        "z",
        "3",
    );
    set("[a]\nflag\n", "[a]\nflag\nz = 3\n", Some("a"), "z", "3");
    set("[a]\nx =\n", "[a]\nx =\nz =\n", Some("a"), "z", "");
}

#[test]
fn set_into_an_empty_section_goes_after_the_header() {
    set(
        "[a]\nx=1\ny=2\n[b]\n; comment\n\n[c]\n",
        "[a]\nx=1\ny=2\n[b]\nz=3\n; comment\n\n[c]\n",
        Some("b"),
        "z",
        "3",
    );
}

#[test]
fn set_uses_the_dominant_line_ending_and_terminates_the_last_line() {
    set(
        "[a]\r\nx = 1\r\n",
        "[a]\r\nx = 1\r\nz = 3\r\n",
        Some("a"),
        "z",
        "3",
    );
    set("[a]\r\nx = 1", "[a]\r\nx = 1\r\nz = 3", Some("a"), "z", "3");
    set("[a]\nx = 1", "[a]\nx = 1\nz = 3", Some("a"), "z", "3");
    set("[a]", "[a]\nz = 3", Some("a"), "z", "3");
    // A stray CR at the end becomes half of a CRLF once terminated.
    set("[a]\r", "[a]\r\nz = 3", Some("a"), "z", "3");
}

#[test]
fn set_adds_a_missing_section_at_the_end() {
    set(
        "[a]\nx = 1\n",
        "[a]\nx = 1\n\n[b]\ny = 2\n",
        Some("b"),
        "y",
        "2",
    );
    set(
        "[a]\nx = 1\n\n",
        "[a]\nx = 1\n\n[b]\ny = 2\n",
        Some("b"),
        "y",
        "2",
    );
    set("", "[b]\ny = 2\n", Some("b"), "y", "2");
    set("\u{feff}", "\u{feff}[b]\ny = 2\n", Some("b"), "y", "2");
    set("[a]\nx=1", "[a]\nx=1\n\n[b]\ny=2", Some("b"), "y", "2");
    set(
        "; only\r\n; comments\r\n",
        "; only\r\n; comments\r\n\r\n[b]\r\ny = 2\r\n",
        Some("b"),
        "y",
        "2",
    );
    set(
        "[core]\n\tbare = false\n",
        "[core]\n\tbare = false\n\n[user]\n\tname = me\n",
        Some("user"),
        "name",
        "me",
    );
}

#[test]
fn set_adds_global_keys_at_the_top_or_after_the_last_global_key() {
    // php.ini is the dialect that reads keys before the first header.
    let php = |input: &str, expected: &str| {
        edit_as(Syntax::Php, input, expected, |d| {
            d.set(None, "g", "1", &o())
        })
    };
    php("[a]\nx = 1\n", "g = 1\n[a]\nx = 1\n");
    php("\u{feff}; header\n[a]\n", "\u{feff}g = 1\n; header\n[a]\n");
    php("[core]\n\tbare = 1\n", "g = 1\n[core]\n\tbare = 1\n");
    set("a=1\n\n[s]\n", "a=1\ng=1\n\n[s]\n", None, "g", "1");
    set("", "g = 1\n", None, "g", "1");
    // A generic file that configparser, systemd, my.cnf and git all read
    // would stop being readable for them.
    let e = err("[a]\nx = 1\n", |d| d.set(None, "g", "1", &o()));
    assert!(matches!(e, EditError::ReadsDifferently { .. }), "{e:?}");
}

#[test]
fn set_puts_new_keys_in_the_last_duplicate_header() {
    set(
        "[s]\na = 1\n\n[t]\n\n[s]\nb = 2\n\n",
        "[s]\na = 1\n\n[t]\n\n[s]\nb = 2\nc = 3\n\n",
        Some("s"),
        "c",
        "3",
    );
    set(
        "[s]\na = 1\n[s]\n",
        "[s]\na = 1\n[s]\nc = 3\n",
        Some("s"),
        "c",
        "3",
    );
}

#[test]
fn set_default_only_adds() {
    edit("[s]\nk = 1\n", "[s]\nk = 1\n", |d| {
        d.set_default(Some("s"), "k", "2", &o())
    });
    edit("[s]\nk = 1\nk = 2\n", "[s]\nk = 1\nk = 2\n", |d| {
        d.set_default(Some("s"), "k", "3", &o())
    });
    edit("[s]\nk = 1\n", "[s]\nk = 1\nj = 2\n", |d| {
        d.set_default(Some("s"), "j", "2", &o())
    });
    edit("[s]\n;j = 1\n", "[s]\nj = 2\n", |d| {
        d.set_default(Some("s"), "j", "2", &o())
    });
}

// ---- delete ----

#[test]
fn delete_removes_the_key_and_its_continuation_lines() {
    let del = |input: &str, expected: &str, key: &str, o: MatchOptions| {
        edit(input, expected, |d| d.delete(Some("s"), key, &o));
    };
    del("[s]\na = 1\nb = 2\n", "[s]\nb = 2\n", "a", o());
    del(
        "[s]\na = 1\n  x\n  ; c\n  y\n; after\nb = 2\n",
        "[s]\n; after\nb = 2\n",
        "a",
        o(),
    );
    del("[s]\r\na = 1\r\nb = 2", "[s]\r\na = 1\r\n", "b", o());
    del("[s]\nflag\n", "[s]\n", "flag", o());
    del("[s]\na = 1\n", "[s]\na = 1\n", "zzz", o());
    del(
        "[s]\nk=1\nk=2\n[s]\nk=3\n",
        "[s]\n[s]\n",
        "k",
        occ(Occurrence::All),
    );
    // Past the last occurrence is already converged.
    del(
        "[s]\nk=1\nk=2\n[s]\nk=3\n",
        "[s]\nk=1\nk=2\n[s]\n",
        "k",
        occ(Occurrence::Index(2)),
    );
    once("[s]\nk=1\nk=2\n", "[s]\nk=2\n", |d| {
        d.delete(Some("s"), "k", &occ(Occurrence::First))
    });
    assert!(matches!(
        err("[s]\nk=1\nk=2\n", |d| d.delete(Some("s"), "k", &o())),
        EditError::DuplicateKey { .. }
    ));
}

// ---- rename ----

#[test]
fn rename_within_a_section_changes_only_the_key_text() {
    edit(
        "[s]\n  old\t= \"v\"  \r\n",
        "[s]\n  new\t= \"v\"  \r\n",
        |d| d.rename(Some("s"), "old", Some("s"), "new", &o()),
    );
    edit("[s]\nold = a\n  b\n", "[s]\nnew = a\n  b\n", |d| {
        d.rename(Some("s"), "old", Some("s"), "new", &o())
    });
    edit("[s]\nColor = 1\n", "[s]\ncolor = 1\n", |d| {
        d.rename(Some("s"), "COLOR", Some("S"), "color", &ci())
    });
}

#[test]
fn rename_across_sections_moves_the_line() {
    edit(
        "[old]\na = 1\ncache=\"redis\"\n\n[new]\nx = 1\n",
        "[old]\na = 1\n\n[new]\nx = 1\nbackend=\"redis\"\n",
        |d| d.rename(Some("old"), "cache", Some("new"), "backend", &o()),
    );
    edit(
        "[old]\ncache = a\n  b\n",
        "[old]\n\n[new]\nbackend = a\n  b\n",
        |d| d.rename(Some("old"), "cache", Some("new"), "backend", &o()),
    );
    edit(
        "[old]\ncache = 1\n[new]\n;backend = 0\n",
        "[old]\n[new]\nbackend = 1\n",
        |d| d.rename(Some("old"), "cache", Some("new"), "backend", &o()),
    );
    // Continuation lines shift with the key so they stay deeper than it.
    edit(
        "[a]\nk = a\n  b\n[core]\n\tx = 1\n",
        "[a]\n[core]\n\tx = 1\n\tk = a\n\t  b\n",
        |d| d.rename(Some("a"), "k", Some("core"), "k", &o()),
    );
    edit("g = 1\n[s]\nx = 2\n", "[s]\nx = 2\ng = 1\n", |d| {
        d.rename(None, "g", Some("s"), "g", &o())
    });
}

#[test]
fn rename_converges_and_refuses_conflicts() {
    // Target already has the same value: the source just goes away.
    edit(
        "[a]\nk = 1\n[b]\nk = \"1\"\n",
        "[a]\n[b]\nk = \"1\"\n",
        |d| d.rename(Some("a"), "k", Some("b"), "k", &o()),
    );
    edit("[a]\n[b]\nk = 1\n", "[a]\n[b]\nk = 1\n", |d| {
        d.rename(Some("a"), "k", Some("b"), "k", &o())
    });
    edit("[a]\n", "[a]\n", |d| {
        d.rename(Some("a"), "k", Some("b"), "k", &o())
    });
    let e = err("[a]\nk = 1\n[b]\nk = 2\n", |d| {
        d.rename(Some("a"), "k", Some("b"), "k", &o())
    });
    assert_eq!(
        e.to_string(),
        "cannot rename key `k` in [a] to `k` in [b]: the target already exists with a different value (line 4); delete one of them first"
    );
    assert!(matches!(
        err("[a]\nx = 1\ny = 2\n", |d| d.rename(
            Some("a"),
            "x",
            Some("a"),
            "y",
            &o()
        )),
        EditError::KeyExists { line: 3, .. }
    ));
}

// ---- sections ----

#[test]
fn rename_section_changes_only_the_name() {
    let ren = |input: &str, expected: &str, o: MatchOptions| {
        edit(input, expected, |d| d.rename_section("old", "new", &o));
    };
    ren(
        "[ old ] ; why\r\nk = 1\r\n",
        "[ new ] ; why\r\nk = 1\r\n",
        o(),
    );
    ren(
        "[old]\na=1\n[x]\n[old]\nb=2\n",
        "[new]\na=1\n[x]\n[new]\nb=2\n",
        o(),
    );
    once(
        "[old]\na=1\n[x]\n[old]\nb=2\n",
        "[new]\na=1\n[x]\n[old]\nb=2\n",
        |d| d.rename_section("old", "new", &occ(Occurrence::First)),
    );
    ren("[new]\n", "[new]\n", o());
    ren("[x]\n", "[x]\n", o());
    let e = err("[old]\n[new]\n", |d| d.rename_section("old", "new", &o()));
    assert_eq!(
        e.to_string(),
        "cannot rename section [old] to [new]: [new] already exists (line 2); delete or merge one of them first"
    );
}

#[test]
fn delete_section_removes_up_to_the_next_header() {
    let del = |input: &str, expected: &str, o: MatchOptions| {
        edit(input, expected, |d| d.delete_section("gone", &o));
    };
    del(
        "[keep]\na = 1\n\n[gone]\nb = 2\n; about next\n\n[next]\nc = 3\n",
        "[keep]\na = 1\n\n[next]\nc = 3\n",
        o(),
    );
    del("[gone]\nx=1\n[a]\n[ gone ]\ny=2", "[a]\n", o());
    // A trailing section takes its separating blank lines along.
    del("[keep]\na = 1\n\n\n[gone]\nb = 2\n", "[keep]\na = 1\n", o());
    del("[gone]\nb = 2\n\n[gone]\nc = 3", "", o());
    let mut doc = Document::parse("a = 1\n");
    doc.set(Some("new"), "k", "v", &o()).unwrap();
    doc.delete_section("new", &o()).unwrap();
    assert_eq!(doc.to_string(), "a = 1\n");
    once(
        "[gone]\nx=1\n[a]\n[gone]\ny=2\n",
        "[gone]\nx=1\n[a]\n",
        |d| d.delete_section("gone", &occ(Occurrence::Last)),
    );
    del("[a]\n", "[a]\n", o());
}

// ---- validation and safety ----

#[test]
fn invalid_names_and_values_are_refused() {
    let bad_keys = ["", "a=b", "a:b", "[a", ";a", "#a", "!a", " a", "a\nb"];
    for key in bad_keys {
        assert!(
            matches!(
                err("", |d| d.set(None, key, "1", &o())),
                EditError::InvalidName { what: "key", .. }
            ),
            "{key:?}"
        );
    }
    for name in ["", "a]", "[a", "a\n", " a"] {
        assert!(matches!(
            err("", |d| d.set(Some(name), "k", "1", &o())),
            EditError::InvalidName {
                what: "section",
                ..
            }
        ));
    }
    assert!(matches!(
        err("", |d| d.set(None, "k", " x", &o())),
        EditError::InvalidValue { .. }
    ));
    assert!(matches!(
        err("", |d| d.set(None, "k", "x\ry", &o())),
        EditError::InvalidValue { .. }
    ));
    assert!(matches!(
        err("", |d| d.set(None, "k", "x\ny", &o())),
        EditError::MultiLineValue { .. }
    ));
    assert!(matches!(
        err("", |d| d.rename_section("a", "b]", &o())),
        EditError::InvalidName { .. }
    ));
}

#[test]
fn edits_that_would_change_how_other_lines_read_are_refused() {
    // A new global key at the top would make the indented directive its continuation.
    let e = err("  !include x\n[a]\n", |d| d.set(None, "g", "1", &o()));
    assert_eq!(
        e.to_string(),
        "editing key `g` in the global section (before the first [section]) would change how line 2 is read (it would read as a continuation of line 1 instead of a directive); indentation decides what an INI line means, so make this change by hand"
    );
    // A U+FEFF that is not at the start is text; first in the file it would be a BOM.
    assert!(matches!(
        err("k\n\u{feff}x\n", |d| d.delete(None, "k", &o())),
        EditError::Reinterpreted { line: 1, .. }
    ));
    // Deleting [s] would make the indented header continue `a`'s value.
    assert!(matches!(
        err("a = 1\n[s]\n  [t]\nb = 2\n", |d| d
            .delete_section("s", &o())),
        EditError::Reinterpreted { line: 2, .. }
    ));
}

#[test]
fn occurrence_parses_from_text() {
    assert_eq!("all".parse::<Occurrence>(), Ok(Occurrence::All));
    assert_eq!("2".parse::<Occurrence>(), Ok(Occurrence::Index(2)));
    assert!("second".parse::<Occurrence>().is_err());
    assert_eq!(Occurrence::Index(4).to_string(), "4");
}
