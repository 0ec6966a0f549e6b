//! The edit operations (`set`, `delete`, `rename`, ...) and `commit`, which
//! applies an edit. Every edit is a list of splices checked by
//! `splice::apply` before it replaces the document, so a refused edit leaves
//! the document unchanged. Where new lines go is `placement.rs`.

use super::guard::{self, Scope};
use super::line::{self, requote, rewrite_value, Kind, RawLine};
use super::names::{
    check_key, check_section, check_section_opt, key_target, names_match, owned, sections_match,
};
use super::placement::Payload;
use super::splice::{self, Expect, Splice};
use super::{Document, EditError, MatchOptions, Occurrence, BOM};

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
        let found = self.checked_key_lines(section, key, &[value], opts)?;
        let ci = opts.case_insensitive;
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
        if !self
            .checked_key_lines(section, key, &[value], opts)?
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
}
