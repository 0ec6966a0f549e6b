//! Splits INI text into raw lines and decides what each line is (header, key,
//! continuation, comment, ...). Pure functions over text: no editing here.

use std::ops::Range;

/// How a line ends. `None` only for the last line of a file without a final newline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineEnding {
    None,
    Lf,
    CrLf,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::None => "",
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }
}

/// One physical line: its text without the line ending, and the ending itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawLine {
    pub text: String,
    pub ending: LineEnding,
}

impl RawLine {
    pub fn new(text: impl Into<String>, ending: LineEnding) -> RawLine {
        RawLine {
            text: text.into(),
            ending,
        }
    }
}

/// Splits on `\n` only, so a lone `\r` stays inside the text (lossless either way;
/// old-Mac files are not worth a third ending).
pub fn split_lines(text: &str) -> Vec<RawLine> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('\n') {
        let (body, ending) = match rest[..pos].strip_suffix('\r') {
            Some(body) => (body, LineEnding::CrLf),
            None => (&rest[..pos], LineEnding::Lf),
        };
        lines.push(RawLine::new(body, ending));
        rest = &rest[pos + 1..];
    }
    if !rest.is_empty() {
        lines.push(RawLine::new(rest, LineEnding::None));
    }
    lines
}

/// Whitespace that INI readers strip. `\r` is included so a stray CR before a
/// CRLF reads as trailing space instead of being part of a value.
pub fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

pub fn is_blank(text: &str) -> bool {
    text.chars().all(is_ws)
}

/// Byte length of the leading whitespace (all whitespace chars are ASCII).
pub fn indent_len(text: &str) -> usize {
    text.len() - text.trim_start_matches(is_ws).len()
}

/// Byte ranges of an active (or uncommented) `key = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyParts {
    /// The key as written, without surrounding whitespace.
    pub key: Range<usize>,
    /// Byte index of the delimiter; `None` for a key without a value.
    pub delim: Option<usize>,
    /// The value without surrounding whitespace (quotes included) and
    /// without an inline comment where the dialect has them; an empty
    /// range after the key when there is no delimiter.
    pub value: Range<usize>,
}

/// How a dialect splits a physical line into its parts. Each dialect in
/// `syntax/` fills one of these; [`classify`] is the only reader.
pub struct LineRules {
    /// Characters that separate key and value; the first one found wins.
    pub delimiters: &'static [char],
    /// Characters that start a whole-line comment (after indentation).
    pub comments: &'static [char],
    pub continuation: Continuation,
    /// The name range of a `[name]` header line starting at the given
    /// indentation, `None` when the line is not a valid header.
    pub header: fn(&str, usize) -> Option<Range<usize>>,
    /// Whether `!include`-style lines are directives (else read as keys).
    pub directives: bool,
    /// Whether a line without a delimiter is a key without a value.
    pub bare_keys: bool,
    /// Where an inline comment starts in a value's text, if the dialect has them.
    pub inline_comment: Option<fn(&str) -> Option<usize>>,
}

/// How a value goes on past its key line.
#[derive(Clone, Copy)]
pub enum Continuation {
    /// Never (php.ini without an open quote, my.cnf).
    None,
    /// Lines indented deeper than the key line (configparser); with
    /// `blank_lines_in_values`, blank lines do not end the value.
    Indented { blank_lines_in_values: bool },
    /// `continues(text, from, first)` says whether the line goes on to the
    /// next one (`from`: where the value starts on a key line, 0 on a
    /// continuation line; `first`: a key line). With `comments_inside`,
    /// comment lines in between are skipped (systemd) rather than read as
    /// continuation text (git).
    Marked {
        continues: fn(&str, usize, bool) -> bool,
        comments_inside: bool,
    },
}

/// Parses `key <ws> delim <ws> value <ws>` starting at `start` (after the indentation).
pub fn parse_key(text: &str, start: usize, rules: &LineRules) -> Option<KeyParts> {
    let rest = text.get(start..)?;
    match rest.find(rules.delimiters) {
        Some(rel) => {
            let d = start + rel;
            let key_end = start + text[start..d].trim_end_matches(is_ws).len();
            if key_end == start {
                return None;
            }
            let value_start = d + 1 + indent_len(&text[d + 1..]);
            let mut value_end = text.len();
            if let Some(comment) = rules.inline_comment.and_then(|f| f(&text[value_start..])) {
                value_end = value_start + comment;
            }
            let value_end =
                value_start + text[value_start..value_end].trim_end_matches(is_ws).len();
            Some(KeyParts {
                key: start..key_end,
                delim: Some(d),
                value: value_start..value_end,
            })
        }
        None if rules.bare_keys => {
            let key_end = text.trim_end_matches(is_ws).len();
            if key_end <= start {
                return None;
            }
            Some(KeyParts {
                key: start..key_end,
                delim: None,
                value: key_end..key_end,
            })
        }
        None => None,
    }
}

/// A comment that looks like a disabled key (`;key = x`, `# key=x`, `#key: x`):
/// the text with the comment marker removed, and that text's key parts.
/// A delimiter is required so prose like `# port` is not taken for a key.
pub fn uncomment_key(text: &str, rules: &LineRules) -> Option<(String, KeyParts)> {
    let indent = indent_len(text);
    let rest = &text[indent..];
    if !rest.starts_with(rules.comments) {
        return None;
    }
    let marker_end = indent + (rest.len() - rest.trim_start_matches(rules.comments).len());
    let key_start = marker_end + indent_len(&text[marker_end..]);
    let body = &text[key_start..];
    if body.is_empty() || body.starts_with(['[', ';', '#', '!']) {
        return None;
    }
    let uncommented = format!("{}{}", &text[..indent], body);
    let parts = parse_key(&uncommented, indent, rules)?;
    parts.delim?;
    Some((uncommented, parts))
}

/// Name range of a `[ name ]` header starting at `start`. The closing bracket is
/// the first `]` followed only by whitespace or a comment, so `[a]]` is named `a]`
/// and `[a] ; note` is named `a`.
pub fn header_name(text: &str, start: usize) -> Option<Range<usize>> {
    let open = start + 1;
    for (rel, _) in text[open..].match_indices(']') {
        let close = open + rel;
        let after = text[close + 1..].trim_start_matches(is_ws);
        if after.is_empty() || after.starts_with([';', '#']) {
            let inner = &text[open..close];
            let name_start = open + indent_len(inner);
            let name_end = (open + inner.trim_end_matches(is_ws).len()).max(name_start);
            return Some(name_start..name_end);
        }
    }
    None
}

/// What a line means in its document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Empty or whitespace only, outside any value.
    Blank,
    /// A whole-line comment, outside any value.
    Comment,
    /// `[name]`; the range is the name as the dialect reads it.
    Header { name: Range<usize> },
    /// `key = value`, `key: value` or a bare `key`.
    Key(KeyParts),
    /// A line continuing the value of the key on line `owner` (0-based).
    Continuation { owner: usize },
    /// A comment between continuation lines; part of the key's lines, not its value.
    ValueComment { owner: usize },
    /// A blank line between continuation lines (configparser keeps it in the value).
    ValueBlank { owner: usize },
    /// `!include ...` style directive (my.cnf); never a key.
    Directive,
    /// Anything else (`= x`, `[unclosed`); kept as is and ignored.
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInfo {
    pub kind: Kind,
    /// Index of the header line whose section this line is in (the line itself
    /// for a header); `None` for the global section.
    pub header: Option<usize>,
}

/// A value that may still go on, and where it started.
struct Open {
    owner: usize,
    /// Indentation of the line that opened it (indented continuation).
    indent: usize,
    /// The last line asked to go on (marked continuation).
    marked: bool,
}

/// Classifies every line by `rules`. Lines that sit between a key and a
/// later continuation line (comments, and blank lines where the dialect
/// keeps them in values) belong to the key's lines; at the end of a value
/// they stay plain comments and blank lines.
pub fn classify(lines: &[RawLine], rules: &LineRules) -> Vec<LineInfo> {
    let mut infos: Vec<LineInfo> = Vec::with_capacity(lines.len());
    let mut header: Option<usize> = None;
    let mut open: Option<Open> = None;
    // Comments (and blank lines) seen while a value was open; they join the
    // value's lines only if a continuation line follows them.
    let mut pending: Vec<usize> = Vec::new();

    for (i, line) in lines.iter().enumerate() {
        let text = line.text.as_str();
        let indent = indent_len(text);
        let rest = &text[indent..];
        let blank = rest.is_empty();
        let comment = !blank && rest.starts_with(rules.comments);
        let push = move |infos: &mut Vec<LineInfo>, kind| infos.push(LineInfo { kind, header });
        if let Some(o) = &open {
            let owner = o.owner;
            let continued = match rules.continuation {
                Continuation::None => false,
                Continuation::Indented {
                    blank_lines_in_values,
                } => {
                    if blank || comment {
                        push(&mut infos, if blank { Kind::Blank } else { Kind::Comment });
                        if comment || blank_lines_in_values {
                            pending.push(i);
                        } else {
                            open = None;
                            pending.clear();
                        }
                        continue;
                    }
                    indent > o.indent
                }
                Continuation::Marked {
                    continues,
                    comments_inside,
                } => {
                    if !o.marked {
                        false
                    } else if comment && comments_inside {
                        push(&mut infos, Kind::ValueComment { owner });
                        continue;
                    } else if blank {
                        open = None;
                        push(&mut infos, Kind::Continuation { owner });
                        continue;
                    } else {
                        let marked = continues(text, 0, false);
                        open = Some(Open {
                            owner,
                            indent: o.indent,
                            marked,
                        });
                        true
                    }
                }
            };
            if continued {
                for p in pending.drain(..) {
                    infos[p].kind = match infos[p].kind {
                        Kind::Blank => Kind::ValueBlank { owner },
                        _ => Kind::ValueComment { owner },
                    };
                }
                push(&mut infos, Kind::Continuation { owner });
                continue;
            }
        }
        if blank || comment {
            push(&mut infos, if blank { Kind::Blank } else { Kind::Comment });
            open = None;
            pending.clear();
            continue;
        }
        pending.clear();
        let kind = if rest.starts_with('[') {
            match (rules.header)(text, indent) {
                Some(name) => {
                    header = Some(i);
                    open = None;
                    Kind::Header { name }
                }
                None => Kind::Invalid,
            }
        } else if rules.directives && rest.starts_with('!') {
            open = None;
            Kind::Directive
        } else {
            match parse_key(text, indent, rules) {
                Some(parts) => {
                    let marked = match rules.continuation {
                        Continuation::Marked { continues, .. } => {
                            continues(text, parts.delim.map_or(text.len(), |d| d + 1), true)
                        }
                        _ => false,
                    };
                    open = Some(Open {
                        owner: i,
                        indent,
                        marked,
                    });
                    Kind::Key(parts)
                }
                None => Kind::Invalid,
            }
        };
        if kind == Kind::Invalid {
            // configparser keeps the open value across an unreadable line
            // but measures later lines against that line's indentation.
            if let Some(o) = &mut open {
                o.indent = indent;
                o.marked = false;
            }
        }
        infos.push(LineInfo { kind, header });
    }
    infos
}

/// The quote character if `raw` is wrapped in a matching pair of `"` or `'`.
pub fn quote_of(raw: &str) -> Option<char> {
    let first = raw.chars().next()?;
    if raw.len() >= 2 && (first == '"' || first == '\'') && raw.ends_with(first) {
        Some(first)
    } else {
        None
    }
}

/// `raw` without one pair of matching quotes.
pub fn unquote(raw: &str) -> &str {
    match quote_of(raw) {
        Some(_) => &raw[1..raw.len() - 1],
        None => raw,
    }
}

/// What to write for `value` where `old_raw` was: an unquoted value takes the old
/// quote style, so `"x"` set to `y` becomes `"y"` and set to `x` stays `"x"`.
pub fn requote(old_raw: Option<&str>, value: &str) -> String {
    if quote_of(value).is_some() {
        return value.to_string();
    }
    match old_raw.and_then(quote_of) {
        Some(q) => format!("{q}{value}{q}"),
        None => value.to_string(),
    }
}

/// The spacing of a `key = value` line, copied onto new lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Style {
    pub indent: String,
    pub pre: String,
    pub delim: char,
    pub post: String,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            indent: String::new(),
            pre: " ".to_string(),
            delim: '=',
            post: " ".to_string(),
        }
    }
}

impl Style {
    /// The style of a key line, if it has a delimiter and a non-empty value
    /// (`key =` says nothing about the space after the delimiter).
    pub fn of(text: &str, parts: &KeyParts) -> Option<Style> {
        let d = parts.delim?;
        if parts.value.is_empty() {
            return None;
        }
        Some(Style {
            indent: text[..indent_len(text)].to_string(),
            pre: text[parts.key.end..d].to_string(),
            delim: text[d..].chars().next()?,
            post: text[d + 1..parts.value.start].to_string(),
        })
    }

    pub fn render(&self, key: &str, value: &str) -> String {
        if value.is_empty() {
            format!("{}{}{}{}", self.indent, key, self.pre, self.delim)
        } else {
            format!(
                "{}{}{}{}{}{}",
                self.indent, key, self.pre, self.delim, self.post, value
            )
        }
    }
}

/// `text` (a key line) with its value replaced by `value`, keeping the key
/// spelling, indentation, delimiter, spacing, trailing whitespace and quote
/// style. A bare key gets `style`'s delimiter. An empty value drops the
/// spacing after the delimiter (`key =`); filling an empty value adds one
/// space after the delimiter when there is one before it.
pub fn rewrite_value(text: &str, parts: &KeyParts, value: &str, style: &Style) -> String {
    match parts.delim {
        Some(d) => {
            let head = &text[..=d];
            let old_raw = &text[parts.value.clone()];
            let new_raw = requote(Some(old_raw), value);
            if new_raw.is_empty() {
                return head.to_string();
            }
            let post = if old_raw.is_empty() {
                if parts.key.end == d {
                    ""
                } else {
                    " "
                }
            } else {
                &text[d + 1..parts.value.start]
            };
            format!("{head}{post}{new_raw}{}", &text[parts.value.end..])
        }
        None => {
            let head = &text[..parts.key.end];
            if value.is_empty() {
                format!("{head}{}{}", style.pre, style.delim)
            } else {
                format!("{head}{}{}{}{value}", style.pre, style.delim, style.post)
            }
        }
    }
}
