//! Where new lines go: an absent key over its commented-out line, after
//! its section's last key or in a new section at the end; another value
//! after a key's lines; new lines with the file's line endings, also at the
//! end of a file without a final newline. Each place is a splice that
//! `Document::commit` checks like any other edit.

use super::guard::Scope;
use super::line::{
    self, indent_len, rewrite_value, uncomment_key, Kind, LineEnding, RawLine, Style,
};
use super::names::{key_target, names_match};
use super::splice::{Expect, HeaderRef, Splice};
use super::{Document, EditError};

/// What a new key line carries: a value to render in the target's style, or
/// the rest of a moved key line (after the key) plus its continuation lines.
pub(super) enum Payload<'a> {
    Value(&'a str),
    /// A key without a value (`skip-name-resolve`).
    Bare,
    Moved {
        /// Indentation of the source key line.
        indent: String,
        after_key: String,
        rest: Vec<RawLine>,
    },
}

/// The first line of a new key in `style`, and the continuation lines it brings.
fn render(style: &Style, key: &str, payload: &Payload<'_>) -> (String, Vec<RawLine>) {
    match payload {
        Payload::Value(v) => (style.render(key, v), Vec::new()),
        Payload::Bare => (format!("{}{key}", style.indent), Vec::new()),
        Payload::Moved {
            indent,
            after_key,
            rest,
        } => (
            format!("{}{}{}", style.indent, key, after_key),
            reindent(rest, indent, &style.indent),
        ),
    }
}

/// A line with this ending, as a fresh parse would store it: text ending in
/// `\r` plus `\n` is a CRLF line.
fn terminated(mut text: String, ending: LineEnding) -> RawLine {
    if ending == LineEnding::Lf && text.ends_with('\r') {
        text.pop();
        return RawLine::new(text, LineEnding::CrLf);
    }
    RawLine::new(text, ending)
}

/// Continuation lines of a key moved from indentation `from` to `to`, shifted
/// alike so they stay deeper than their key.
fn reindent(rest: &[RawLine], from: &str, to: &str) -> Vec<RawLine> {
    rest.iter()
        .map(|line| {
            if from == to {
                return line.clone();
            }
            let body = line.text.strip_prefix(from).unwrap_or(&line.text);
            RawLine::new(format!("{to}{body}"), line.ending)
        })
        .collect()
}

impl Document {
    /// Adds an absent key: over its commented-out line if there is one,
    /// `uncomment` allows it and that reads cleanly, else after the
    /// section's last key, else in a new section at the end.
    pub(super) fn insert_key(
        &mut self,
        section: Option<&str>,
        key: &str,
        payload: Payload<'_>,
        ci: bool,
        uncomment: bool,
        scope: &Scope,
    ) -> Result<bool, EditError> {
        let mut plans = if uncomment {
            self.plan_uncomment(section, key, &payload, ci)
        } else {
            Vec::new()
        };
        plans.push(self.plan_append(section, key, &payload, ci));
        let mut last = None;
        for plan in plans {
            match self.commit(vec![plan], scope) {
                Ok(changed) => return Ok(changed),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| EditError::Reinterpreted {
            target: key_target(section, key),
            line: 1,
            detail: "no place to insert it".to_string(),
        }))
    }

    /// Replaces the first `;key = x` comment of the section with an active
    /// line: first with the comment's own indentation, then with that of the
    /// nearest key in the section (when the own one would read as a
    /// continuation line, e.g. `;   load printers = no` among keys indented by 3).
    fn plan_uncomment(
        &self,
        section: Option<&str>,
        key: &str,
        payload: &Payload<'_>,
        ci: bool,
    ) -> Vec<Splice> {
        let Some((i, uncommented, parts)) = (0..self.lines.len())
            .filter(|&i| self.infos[i].kind == Kind::Comment && self.in_section(i, section, ci))
            .find_map(|i| {
                let (u, parts) = uncomment_key(&self.lines[i].text, self.syntax.rules())?;
                names_match(&u[parts.key.clone()], key, ci).then_some((i, u, parts))
            })
        else {
            return Vec::new();
        };
        let own = &uncommented[..parts.key.start];
        let body = &uncommented[parts.key.start..];
        let header = self.infos[i].header;
        let nearest_key = (0..i).rev().chain(i + 1..self.lines.len()).find(|&j| {
            self.infos[j].header == header && matches!(self.infos[j].kind, Kind::Key(_))
        });
        let mut indents = vec![own.to_string()];
        if let Some(j) = nearest_key {
            let text = &self.lines[j].text;
            let theirs = &text[..indent_len(text)];
            if theirs != own {
                indents.push(theirs.to_string());
            }
        }
        let mut plans = Vec::new();
        for indent in indents {
            let line = format!("{indent}{body}");
            let Some(parts) = line::parse_key(&line, indent.len(), self.syntax.rules()) else {
                continue;
            };
            let (first, key_spelling, rest) = match payload {
                Payload::Bare => continue,
                Payload::Value(v) => (
                    rewrite_value(&line, &parts, v, &Style::default()),
                    line[parts.key.clone()].to_string(),
                    Vec::new(),
                ),
                Payload::Moved {
                    indent: from,
                    after_key,
                    rest,
                } => (
                    format!("{indent}{key}{after_key}"),
                    key.to_string(),
                    reindent(rest, from, &indent),
                ),
            };
            let mut block = vec![RawLine::new(first, LineEnding::Lf)];
            block.extend(rest);
            let mut expect = vec![Expect::Key {
                header: self.header_ref(i),
                key: key_spelling,
            }];
            expect.extend((1..block.len()).map(|_| Expect::ValueOf(0)));
            self.set_endings(&mut block, self.lines[i].ending);
            plans.push(Splice {
                start: i,
                end: i + 1,
                lines: block,
                expect,
            });
        }
        plans
    }

    /// Puts the key after the last key of the section's last header (or a new section).
    fn plan_append(
        &self,
        section: Option<&str>,
        key: &str,
        payload: &Payload<'_>,
        ci: bool,
    ) -> Splice {
        let render = |style: &Style| render(style, key, payload);
        let rest;
        let mut block = Vec::new();
        let mut expect = Vec::new();
        let pos;
        if self.section_exists(section, ci) {
            // The last header of the logical section; the global section has none.
            let last_header = section.and_then(|s| self.headers(s, ci).last().copied());
            let mut style = self.section_style(section, ci);
            let last_key = (0..self.lines.len()).rev().find(|&i| {
                self.infos[i].header == last_header && matches!(self.infos[i].kind, Kind::Key(_))
            });
            pos = match (last_key, last_header) {
                (Some(k), _) => {
                    // Same indentation as the key before, or the new line would continue its value.
                    let text = &self.lines[k].text;
                    style.indent = text[..indent_len(text)].to_string();
                    self.span_end(k)
                }
                (None, Some(h)) => h + 1,
                (None, None) => {
                    // Top of the file: nothing to line up with, and global keys are flush left.
                    style.indent.clear();
                    0
                }
            };
            let (first, moved) = render(&style);
            block.push(first);
            rest = moved;
            expect.push(Expect::Key {
                header: last_header.map_or(HeaderRef::Global, HeaderRef::Old),
                key: key.to_string(),
            });
        } else {
            pos = self.lines.len();
            let name = section.unwrap_or_default();
            let ends_blank = self.lines.last().is_none_or(|l| line::is_blank(&l.text));
            if !ends_blank {
                block.push(String::new());
                expect.push(Expect::Blank);
            }
            let header_at = block.len();
            block.push(format!("[{name}]"));
            expect.push(Expect::Header(name.to_string()));
            let (first, moved) = render(&self.dominant_style());
            block.push(first);
            rest = moved;
            expect.push(Expect::Key {
                header: HeaderRef::New(header_at),
                key: key.to_string(),
            });
        }
        let key_at = expect.len() - 1;
        let lines: Vec<RawLine> = block
            .into_iter()
            .map(|t| RawLine::new(t, LineEnding::Lf))
            .chain(rest)
            .collect();
        expect.extend((key_at + 1..lines.len()).map(|_| Expect::ValueOf(key_at)));
        self.place(pos, lines, expect)
    }

    /// A new line for `key` right after the lines of key line `k`, in its
    /// style and indentation (another value of a multi-valued key).
    pub(super) fn plan_after(&self, k: usize, key: &str, payload: &Payload<'_>) -> Splice {
        let text = &self.lines[k].text;
        let mut style = self
            .key_parts(k)
            .and_then(|p| Style::of(text, p))
            .unwrap_or_else(|| self.dominant_style());
        style.indent = self.indent_of(k).to_string();
        let (first, rest) = render(&style, key, payload);
        let mut lines = vec![RawLine::new(first, LineEnding::Lf)];
        lines.extend(rest);
        let mut expect = vec![Expect::Key {
            header: self.header_ref(k),
            key: key.to_string(),
        }];
        expect.extend((1..lines.len()).map(|_| Expect::ValueOf(0)));
        self.place(self.span_end(k), lines, expect)
    }

    /// New `lines` inserted before old line `pos`, with the file's line
    /// ending; at the end of a file without a final newline the old last
    /// line gets one and the new last line has none.
    pub(super) fn place(&self, pos: usize, mut lines: Vec<RawLine>, expect: Vec<Expect>) -> Splice {
        let eol = self.dominant_ending();
        let at_unterminated_end =
            pos > 0 && pos == self.lines.len() && self.lines[pos - 1].ending == LineEnding::None;
        if at_unterminated_end {
            // Terminate the old last line; the new last line stays unterminated.
            self.set_endings(&mut lines, LineEnding::None);
            let prev = terminated(self.lines[pos - 1].text.clone(), eol);
            lines.insert(0, prev);
            let shifted = expect.into_iter().map(|e| match e {
                Expect::Key {
                    header: HeaderRef::New(o),
                    key,
                } => Expect::Key {
                    header: HeaderRef::New(o + 1),
                    key,
                },
                Expect::ValueOf(o) => Expect::ValueOf(o + 1),
                other => other,
            });
            let mut all = vec![Expect::Same(pos - 1)];
            all.extend(shifted);
            Splice {
                start: pos - 1,
                end: pos,
                lines,
                expect: all,
            }
        } else {
            self.set_endings(&mut lines, eol);
            Splice {
                start: pos,
                end: pos,
                lines,
                expect,
            }
        }
    }

    /// Gives new lines the dominant ending, and the last one `last`.
    fn set_endings(&self, lines: &mut [RawLine], last: LineEnding) {
        let eol = self.dominant_ending();
        let n = lines.len();
        for (i, line) in lines.iter_mut().enumerate() {
            let ending = if i + 1 == n { last } else { eol };
            *line = terminated(std::mem::take(&mut line.text), ending);
        }
    }
}
