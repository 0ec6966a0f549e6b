//! The edit operations (`set`, `delete`, `rename`, ...) and where new lines
//! go. Every edit is a list of splices checked by `splice::apply` before it
//! replaces the document, so a refused edit leaves the document unchanged.

use super::guard::{self, Scope};
use super::line::{
    self, indent_len, requote, rewrite_value, uncomment_key, Kind, LineEnding, RawLine, Style,
};
use super::names::{
    check_assignment, check_key, check_section, check_section_opt, key_target, names_match, owned,
    sections_match,
};
use super::splice::{self, Expect, HeaderRef, Splice};
use super::{Document, EditError, MatchOptions, Occurrence, BOM};

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

/// An edit of `key` that must leave it reading as `value`.
pub(super) fn value_scope(section: Option<&str>, key: &str, value: &str) -> Scope {
    Scope {
        value: Some((owned(section), key.to_string(), value.to_string(), false)),
        ..Scope::key(section, key, key_target(section, key))
    }
}

/// An edit of whole sections.
fn section_scope(names: &[&str]) -> Scope {
    Scope {
        target: format!("section [{}]", names[0]),
        keys: Vec::new(),
        sections: names.iter().map(|n| n.to_string()).collect(),
        value: None,
        block: None,
    }
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
    /// Sets `key` to `value`, adding it (and its section) when absent.
    /// Returns whether any byte changed.
    pub fn set(
        &mut self,
        section: Option<&str>,
        key: &str,
        value: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_assignment(section, key, value)?;
        let ci = opts.case_insensitive;
        let found = self.key_lines(section, key, ci);
        let chosen = self.select(&found, opts.occurrence, section, key)?;
        if chosen.is_empty() {
            if let Occurrence::Index(index @ 1..) = opts.occurrence {
                // Adding the key would make it occurrence 0, never `index`.
                return Err(EditError::OccurrenceOutOfRange {
                    section: owned(section),
                    key: key.to_string(),
                    index,
                    lines: Vec::new(),
                });
            }
            return self.insert_key(
                section,
                key,
                Payload::Value(value),
                ci,
                !opts.keep_inactive,
                &value_scope(section, key, value),
            );
        }
        let scope = Scope {
            value: Some((
                owned(section),
                key.to_string(),
                value.to_string(),
                matches!(opts.occurrence, Occurrence::Unique | Occurrence::All),
            )),
            ..Scope::key(section, key, key_target(section, key))
        };
        let style = self.section_style(section, ci);
        let mut splices = Vec::new();
        for &i in &chosen {
            let Some(parts) = self.key_parts(i) else {
                continue;
            };
            let text = &self.lines[i].text;
            let end = self.span_end(i);
            if end == i + 1 && parts.delim.is_some() {
                let old_raw = &text[parts.value.clone()];
                if requote(Some(old_raw), value) == old_raw {
                    continue;
                }
            }
            splices.push(self.key_line(i, end, rewrite_value(text, parts, value, &style)));
        }
        self.commit(splices, &scope)
    }

    /// Adds `key = value` only when the key is absent (any occurrence counts).
    pub fn set_default(
        &mut self,
        section: Option<&str>,
        key: &str,
        value: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_assignment(section, key, value)?;
        if !self
            .key_lines(section, key, opts.case_insensitive)
            .is_empty()
        {
            return Ok(false);
        }
        self.insert_key(
            section,
            key,
            Payload::Value(value),
            opts.case_insensitive,
            !opts.keep_inactive,
            &value_scope(section, key, value),
        )
    }

    /// Removes the key line(s) and their continuation lines. An `Index` past
    /// the last occurrence is `Ok(false)`, so deleting occurrence `n` converges
    /// once fewer remain (`First`/`Last` remove one more on every run).
    pub fn delete(
        &mut self,
        section: Option<&str>,
        key: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        let found = self.key_lines(section, key, opts.case_insensitive);
        let chosen = match self.select(&found, opts.occurrence, section, key) {
            Err(EditError::OccurrenceOutOfRange { .. }) => return Ok(false),
            other => other?,
        };
        let splices = chosen.iter().map(|&i| self.removal(i)).collect();
        self.commit(splices, &Scope::key(section, key, key_target(section, key)))
    }

    /// Moves `key` to `to_key` in `to_section`. Within a section only the key
    /// text changes; across sections the line (value, spacing, continuation
    /// lines) is removed and inserted where `set` would put the key. A target
    /// that already exists with the same value just absorbs the source; with a
    /// different value it is [`EditError::KeyExists`]. A missing source is
    /// `Ok(false)` (already renamed, or nothing to rename).
    pub fn rename(
        &mut self,
        section: Option<&str>,
        key: &str,
        to_section: Option<&str>,
        to_key: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        check_section_opt(to_section)?;
        check_key(to_key)?;
        let ci = opts.case_insensitive;
        let found = self.key_lines(section, key, ci);
        let chosen = self.select(&found, opts.occurrence, section, key)?;
        let same_section = sections_match(section, to_section, ci);
        let scope = Scope {
            keys: vec![
                (owned(section), key.to_string()),
                (owned(to_section), to_key.to_string()),
            ],
            ..Scope::key(section, key, key_target(section, key))
        };
        if same_section && names_match(key, to_key, ci) {
            // Only the spelling can change (case-insensitive match).
            return self.respell_keys(&chosen, to_key, &scope);
        }
        if chosen.is_empty() {
            return Ok(false);
        }
        let targets = self.key_lines(to_section, to_key, ci);
        if let Some(&first_target) = targets.first() {
            let want = self.logical_value(first_target);
            let differing = targets
                .iter()
                .chain(&chosen)
                .find(|&&i| self.logical_value(i) != want);
            if let Some(&line) = differing {
                let line = if targets.contains(&line) {
                    line
                } else {
                    first_target
                };
                return Err(EditError::KeyExists {
                    section: owned(section),
                    key: key.to_string(),
                    to_section: owned(to_section),
                    to_key: to_key.to_string(),
                    line: line + 1,
                });
            }
            let splices = chosen.iter().map(|&i| self.removal(i)).collect();
            return self.commit(splices, &scope);
        }
        if same_section {
            return self.respell_keys(&chosen, to_key, &scope);
        }
        // Across sections: remove, then insert, on a copy so a refused
        // insertion leaves the document as it was.
        let payloads: Vec<Payload<'static>> = chosen
            .iter()
            .filter_map(|&i| {
                let parts = self.key_parts(i)?;
                let text = &self.lines[i].text;
                Some(Payload::Moved {
                    indent: text[..parts.key.start].to_string(),
                    after_key: text[parts.key.end..].to_string(),
                    rest: self.lines[i + 1..self.span_end(i)].to_vec(),
                })
            })
            .collect();
        // The readers judge the move as a whole, not its two halves.
        let mut next = self.for_masking();
        let splices = chosen.iter().map(|&i| self.removal(i)).collect();
        next.commit(splices, &scope)?;
        for payload in payloads {
            next.insert_key(to_section, to_key, payload, ci, true, &scope)?;
        }
        if !self.unguarded {
            next.classified = guard::check(
                self.syntax,
                (&self.lines, &self.infos, &self.classified),
                (&next.lines, &next.infos),
                &scope,
            )?;
        }
        next.unguarded = self.unguarded;
        *self = next;
        Ok(true)
    }

    /// Renames the section's headers, changing only the name inside the
    /// brackets. `Unique` and `All` rename every header of the logical
    /// section; `First`/`Last`/`Index` one header. An existing target is
    /// [`EditError::SectionExists`] unless the source is absent (`Ok(false)`).
    pub fn rename_section(
        &mut self,
        from: &str,
        to: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section(from)?;
        check_section(to)?;
        let ci = opts.case_insensitive;
        let found = self.headers(from, ci);
        let chosen = match self.select_headers(&found, opts.occurrence, from) {
            // Occurrence `n` already renamed: fewer remain under the old name.
            Err(EditError::SectionOccurrenceOutOfRange { .. })
                if !self.headers(to, ci).is_empty() =>
            {
                return Ok(false)
            }
            other => other?,
        };
        if !names_match(from, to, ci) {
            if chosen.is_empty() {
                return Ok(false);
            }
            if let Some(&existing) = self.headers(to, ci).first() {
                return Err(EditError::SectionExists {
                    from: from.to_string(),
                    to: to.to_string(),
                    line: existing + 1,
                });
            }
        }
        let mut splices = Vec::new();
        for &h in &chosen {
            let Kind::Header { name } = &self.infos[h].kind else {
                continue;
            };
            let text = &self.lines[h].text;
            if &text[name.clone()] == to {
                continue;
            }
            let new_text = format!("{}{}{}", &text[..name.start], to, &text[name.end..]);
            splices.push(Splice {
                start: h,
                end: h + 1,
                lines: vec![RawLine::new(new_text, self.lines[h].ending)],
                expect: vec![Expect::Header(to.to_string())],
            });
        }
        self.commit(splices, &section_scope(&[from, to]))
    }

    /// Removes each selected header and every line up to the next header; a
    /// section that runs to the end of the file also takes the blank lines
    /// before its header. `Unique` and `All` remove every header of the
    /// logical section.
    pub fn delete_section(
        &mut self,
        section: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section(section)?;
        let found = self.headers(section, opts.case_insensitive);
        // Deleting occurrence `n` converges once fewer remain, as for keys.
        let chosen = match self.select_headers(&found, opts.occurrence, section) {
            Err(EditError::SectionOccurrenceOutOfRange { .. }) => return Ok(false),
            other => other?,
        };
        let mut regions: Vec<(usize, usize)> = chosen
            .iter()
            .map(|&h| {
                let end = (h + 1..self.lines.len())
                    .find(|&j| matches!(self.infos[j].kind, Kind::Header { .. }))
                    .unwrap_or(self.lines.len());
                (h, end)
            })
            .collect();
        // Removed sections that reach the end of the file take the blank lines
        // before them along, so adding and then deleting a section restores it.
        let mut tail = self.lines.len();
        for k in (0..regions.len()).rev() {
            let (start, end) = regions[k];
            if end != tail {
                break;
            }
            let floor = if k > 0 { regions[k - 1].1 } else { 0 };
            let mut new_start = start;
            while new_start > floor && line::is_blank(&self.lines[new_start - 1].text) {
                new_start -= 1;
            }
            regions[k].0 = new_start;
            tail = new_start;
        }
        let splices = regions
            .into_iter()
            .map(|(start, end)| Splice {
                start,
                end,
                lines: Vec::new(),
                expect: Vec::new(),
            })
            .collect();
        self.commit(splices, &section_scope(&[section]))
    }

    /// Key line `i` and its lines up to `end` replaced by the one line `text`,
    /// which must read as the same key.
    pub(super) fn key_line(&self, i: usize, end: usize, text: String) -> Splice {
        Splice {
            start: i,
            end,
            lines: vec![RawLine::new(text, self.lines[end - 1].ending)],
            expect: vec![Expect::Key {
                header: self.header_ref(i),
                key: self.key_text(i).to_string(),
            }],
        }
    }

    pub(super) fn removal(&self, i: usize) -> Splice {
        Splice {
            start: i,
            end: self.span_end(i),
            lines: Vec::new(),
            expect: Vec::new(),
        }
    }

    fn respell_keys(
        &mut self,
        chosen: &[usize],
        to_key: &str,
        scope: &Scope,
    ) -> Result<bool, EditError> {
        let mut splices = Vec::new();
        for &i in chosen {
            let Some(parts) = self.key_parts(i) else {
                continue;
            };
            let text = &self.lines[i].text;
            if &text[parts.key.clone()] == to_key {
                continue;
            }
            let new_text = format!(
                "{}{}{}",
                &text[..parts.key.start],
                to_key,
                &text[parts.key.end..]
            );
            splices.push(Splice {
                start: i,
                end: i + 1,
                lines: vec![RawLine::new(new_text, self.lines[i].ending)],
                expect: vec![Expect::Key {
                    header: self.header_ref(i),
                    key: to_key.to_string(),
                }],
            });
        }
        self.commit(splices, scope)
    }

    /// Applies the splices if they change nothing else's reading.
    pub(super) fn commit(
        &mut self,
        splices: Vec<Splice>,
        scope: &Scope,
    ) -> Result<bool, EditError> {
        if splices.is_empty() {
            return Ok(false);
        }
        let target = || scope.target.clone();
        let rules = self.syntax.rules();
        match splice::apply(&self.lines, &self.infos, splices, rules) {
            Ok((lines, _))
                if !self.bom && lines.first().is_some_and(|l| l.text.starts_with(BOM)) =>
            {
                Err(EditError::Reinterpreted {
                    target: target(),
                    line: 1,
                    detail: "it would start the file and read as a byte order mark".to_string(),
                })
            }
            Ok((lines, infos)) => {
                self.classified = if self.unguarded {
                    guard::Classified::default()
                } else {
                    let in_block;
                    let scope = match &self.block {
                        Some((_, n)) => {
                            in_block = Scope {
                                block: Some(*n),
                                ..scope.clone()
                            };
                            &in_block
                        }
                        None => scope,
                    };
                    guard::check(
                        self.syntax,
                        (&self.lines, &self.infos, &self.classified),
                        (&lines, &infos),
                        scope,
                    )?
                };
                self.lines = lines;
                self.infos = infos;
                Ok(true)
            }
            Err(conflict) => Err(EditError::Reinterpreted {
                target: target(),
                line: conflict.line,
                detail: conflict.detail,
            }),
        }
    }

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
