//! Read-only queries on a parsed document that the edits build on: which
//! lines hold a key or header, a key's value and lines, occurrence picks and
//! the styles new lines copy. Nothing here changes the document.

use super::line::{is_ws, unquote, KeyParts, Kind, LineEnding, Style};
use super::names::{names_match, owned};
use super::splice::HeaderRef;
use super::{Document, EditError, Occurrence, Value};

impl Document {
    pub(super) fn dominant_ending(&self) -> LineEnding {
        let crlf = self
            .lines
            .iter()
            .filter(|l| l.ending == LineEnding::CrLf)
            .count();
        let lf = self
            .lines
            .iter()
            .filter(|l| l.ending == LineEnding::Lf)
            .count();
        if crlf > lf {
            LineEnding::CrLf
        } else if lf > crlf || crlf == 0 {
            LineEnding::Lf
        } else {
            // A tie goes to whichever the file starts with.
            self.lines
                .iter()
                .map(|l| l.ending)
                .find(|e| *e != LineEnding::None)
                .unwrap_or(LineEnding::Lf)
        }
    }

    pub(super) fn header_name(&self, h: usize) -> Option<&str> {
        match &self.infos.get(h)?.kind {
            Kind::Header { name } => self.lines[h].text.get(name.clone()),
            _ => None,
        }
    }

    pub(super) fn section_of(&self, i: usize) -> Option<&str> {
        self.infos[i].header.and_then(|h| self.header_name(h))
    }

    pub(super) fn header_ref(&self, i: usize) -> HeaderRef {
        match self.infos[i].header {
            Some(h) => HeaderRef::Old(h),
            None => HeaderRef::Global,
        }
    }

    pub(super) fn key_parts(&self, i: usize) -> Option<&KeyParts> {
        match &self.infos.get(i)?.kind {
            Kind::Key(parts) => Some(parts),
            _ => None,
        }
    }

    pub(super) fn key_text(&self, i: usize) -> &str {
        self.key_parts(i)
            .and_then(|p| self.lines[i].text.get(p.key.clone()))
            .unwrap_or("")
    }

    pub(super) fn in_section(&self, i: usize, section: Option<&str>, ci: bool) -> bool {
        let ci = ci || self.syntax.folds_section_case();
        match (self.infos[i].header, section) {
            (None, None) => true,
            (Some(h), Some(s)) => {
                self.header_name(h).is_some_and(|n| names_match(n, s, ci))
                    && match &self.block {
                        Some((block, _)) if names_match(block, s, ci) => {
                            self.headers(s, ci).first() == Some(&h)
                        }
                        _ => true,
                    }
            }
            _ => false,
        }
    }

    /// The header lines of section `name`; inside [`Document::in_block`]
    /// for that section, only the block's own.
    pub(super) fn headers(&self, name: &str, ci: bool) -> Vec<usize> {
        let ci = ci || self.syntax.folds_section_case();
        let all = (0..self.lines.len()).filter(|&h| {
            self.header_name(h)
                .is_some_and(|n| names_match(n, name, ci))
        });
        match &self.block {
            Some((section, index)) if names_match(section, name, ci) => {
                all.skip(*index).take(1).collect()
            }
            _ => all.collect(),
        }
    }

    pub(super) fn section_exists(&self, section: Option<&str>, ci: bool) -> bool {
        section.is_none_or(|s| !self.headers(s, ci).is_empty())
    }

    pub(super) fn key_lines(&self, section: Option<&str>, key: &str, ci: bool) -> Vec<usize> {
        let key_ci = ci || self.syntax.folds_key_case();
        (0..self.lines.len())
            .filter(|&i| {
                matches!(self.infos[i].kind, Kind::Key(_))
                    && self.in_section(i, section, ci)
                    && names_match(self.key_text(i), key, key_ci)
            })
            .collect()
    }

    /// One past the key's last continuation line.
    pub(super) fn span_end(&self, i: usize) -> usize {
        let mut end = i + 1;
        for j in i + 1..self.lines.len() {
            match self.infos[j].kind {
                Kind::Continuation { owner } if owner == i => end = j + 1,
                Kind::ValueComment { owner } | Kind::ValueBlank { owner } if owner == i => {}
                _ => break,
            }
        }
        end
    }

    /// Value as written: quotes kept, continuation lines joined with `\n`.
    pub(super) fn raw_value(&self, i: usize) -> Value {
        let parts = self.key_parts(i)?;
        let text = &self.lines[i].text;
        let first = parts.delim.and_then(|_| text.get(parts.value.clone()));
        let continued: Vec<&str> = (i + 1..self.span_end(i))
            .filter_map(|j| match self.infos[j].kind {
                Kind::Continuation { .. } => Some(self.lines[j].text.trim_matches(is_ws)),
                Kind::ValueBlank { .. } => Some(""),
                _ => None,
            })
            .collect();
        if continued.is_empty() {
            return first.map(str::to_string);
        }
        let mut value = first.unwrap_or("").to_string();
        for c in continued {
            value.push('\n');
            value.push_str(c);
        }
        Some(value)
    }

    /// Value as `get` reports it: one pair of quotes stripped from a one-line value.
    pub(super) fn logical_value(&self, i: usize) -> Value {
        let raw = self.raw_value(i)?;
        if raw.contains('\n') {
            return Some(raw);
        }
        Some(unquote(&raw).to_string())
    }

    pub(super) fn duplicate(&self, section: Option<&str>, key: &str, found: &[usize]) -> EditError {
        EditError::DuplicateKey {
            section: owned(section),
            key: key.to_string(),
            lines: found.iter().map(|i| i + 1).collect(),
        }
    }

    pub(super) fn select(
        &self,
        found: &[usize],
        occurrence: Occurrence,
        section: Option<&str>,
        key: &str,
    ) -> Result<Vec<usize>, EditError> {
        Ok(match occurrence {
            Occurrence::Unique if found.len() > 1 => {
                return Err(self.duplicate(section, key, found))
            }
            Occurrence::Unique | Occurrence::All => found.to_vec(),
            Occurrence::First => found.first().copied().into_iter().collect(),
            Occurrence::Last => found.last().copied().into_iter().collect(),
            Occurrence::Index(n) => match found.get(n) {
                Some(&i) => vec![i],
                None if found.is_empty() => Vec::new(),
                None => {
                    return Err(EditError::OccurrenceOutOfRange {
                        section: owned(section),
                        key: key.to_string(),
                        index: n,
                        lines: found.iter().map(|i| i + 1).collect(),
                    })
                }
            },
        })
    }

    pub(super) fn select_headers(
        &self,
        found: &[usize],
        occurrence: Occurrence,
        section: &str,
    ) -> Result<Vec<usize>, EditError> {
        Ok(match occurrence {
            Occurrence::Unique | Occurrence::All => found.to_vec(),
            Occurrence::First => found.first().copied().into_iter().collect(),
            Occurrence::Last => found.last().copied().into_iter().collect(),
            Occurrence::Index(n) => match found.get(n) {
                Some(&h) => vec![h],
                None if found.is_empty() => Vec::new(),
                None => {
                    return Err(EditError::SectionOccurrenceOutOfRange {
                        section: section.to_string(),
                        index: n,
                        lines: found.iter().map(|h| h + 1).collect(),
                    })
                }
            },
        })
    }

    /// The most common style of `key = value` lines, ties to the first seen.
    pub(super) fn dominant_style(&self) -> Style {
        let mut counts: Vec<(Style, usize)> = Vec::new();
        for i in 0..self.lines.len() {
            let Some(style) = self
                .key_parts(i)
                .and_then(|p| Style::of(&self.lines[i].text, p))
            else {
                continue;
            };
            match counts.iter_mut().find(|(s, _)| *s == style) {
                Some((_, n)) => *n += 1,
                None => counts.push((style, 1)),
            }
        }
        let mut best: Option<(Style, usize)> = None;
        for (style, n) in counts {
            if best.as_ref().is_none_or(|(_, b)| n > *b) {
                best = Some((style, n));
            }
        }
        best.map(|(s, _)| s).unwrap_or_default()
    }

    /// The style of the section's last `key = value` line, else the file's.
    pub(super) fn section_style(&self, section: Option<&str>, ci: bool) -> Style {
        (0..self.lines.len())
            .rev()
            .filter(|&i| self.in_section(i, section, ci))
            .find_map(|i| {
                self.key_parts(i)
                    .and_then(|p| Style::of(&self.lines[i].text, p))
            })
            .unwrap_or_else(|| self.dominant_style())
    }
}
