//! Operations on one line of a key that holds several values (systemd's
//! `Environment=`, php's `extension=`, git's `fetch`), on keys without a
//! value (my.cnf's `skip-name-resolve`) and on empty sections. Built on the
//! same splices and reading checks as `edit.rs`.

use super::edit::value_scope;
use super::guard::Scope;
use super::line::{indent_len, LineEnding, RawLine};
use super::names::{check_key, check_section, check_section_opt, check_value, key_target};
use super::placement::Payload;
use super::splice::Expect;
use super::{Document, EditError, MatchOptions};

impl Document {
    /// Adds a `key = value` line unless one of the key's lines already has
    /// that value; it goes after the key's last line, in that line's style.
    pub fn add_value(
        &mut self,
        section: Option<&str>,
        key: &str,
        value: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        let found = self.checked_key_lines(section, key, &[value], opts)?;
        let ci = opts.case_insensitive;
        if found
            .iter()
            .any(|&i| self.logical_value(i).as_deref() == Some(value))
        {
            return Ok(false);
        }
        let scope = value_scope(section, key, value);
        match found.last() {
            None => self.insert_key(
                section,
                key,
                Payload::Value(value),
                ci,
                !opts.keep_inactive,
                &scope,
            ),
            Some(&last) => {
                let splice = self.plan_after(last, key, &Payload::Value(value));
                self.commit(vec![splice], &scope)
            }
        }
    }

    /// Removes every line of the key whose value is `value`.
    pub fn remove_value(
        &mut self,
        section: Option<&str>,
        key: &str,
        value: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        let splices = self
            .key_lines(section, key, opts.case_insensitive)
            .into_iter()
            .filter(|&i| self.logical_value(i).as_deref() == Some(value))
            .map(|i| self.removal(i))
            .collect();
        self.commit(splices, &Scope::key(section, key, key_target(section, key)))
    }

    /// The key has exactly these values, one line each: lines with other
    /// values (and repeats) go, missing values are added after the key's
    /// last line, in the order given.
    pub fn set_values(
        &mut self,
        section: Option<&str>,
        key: &str,
        values: &[String],
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        let found = self.checked_key_lines(section, key, values, opts)?;
        let mut kept: Vec<String> = Vec::new();
        let mut splices = Vec::new();
        for i in found {
            match self.logical_value(i) {
                Some(v) if values.contains(&v) && !kept.contains(&v) => kept.push(v),
                _ => splices.push(self.removal(i)),
            }
        }
        let mut next = self.clone();
        let mut changed =
            next.commit(splices, &Scope::key(section, key, key_target(section, key)))?;
        for value in values.iter().filter(|v| !kept.contains(v)) {
            changed |= next.add_value(section, key, value, opts)?;
        }
        *self = next;
        Ok(changed)
    }

    /// The key is present without a value (`skip-name-resolve`): a line
    /// with a value loses it, a missing key is added bare.
    pub fn set_flag(
        &mut self,
        section: Option<&str>,
        key: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        let ci = opts.case_insensitive;
        let found = self.key_lines(section, key, ci);
        let chosen = self.select(&found, opts.occurrence, section, key)?;
        let scope = Scope::key(section, key, key_target(section, key));
        if chosen.is_empty() {
            return self.insert_key(section, key, Payload::Bare, ci, false, &scope);
        }
        let mut splices = Vec::new();
        for &i in &chosen {
            let Some(parts) = self.key_parts(i) else {
                continue;
            };
            if parts.delim.is_none() {
                continue;
            }
            let text = &self.lines[i].text;
            let end = self.span_end(i);
            splices.push(self.key_line(i, end, text[..parts.key.end].to_string()));
        }
        self.commit(splices, &scope)
    }

    /// Adds an empty `[section]` at the end unless it exists.
    pub fn ensure_section(
        &mut self,
        section: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section(section)?;
        if !self.headers(section, opts.case_insensitive).is_empty() {
            return Ok(false);
        }
        let mut lines = Vec::new();
        let mut expect = Vec::new();
        if self
            .lines
            .last()
            .is_some_and(|l| !super::line::is_blank(&l.text))
        {
            lines.push(RawLine::new("", LineEnding::Lf));
            expect.push(Expect::Blank);
        }
        lines.push(RawLine::new(format!("[{section}]"), LineEnding::Lf));
        expect.push(Expect::Header(section.to_string()));
        let splice = self.place(self.lines.len(), lines, expect);
        let scope = Scope {
            target: format!("section [{section}]"),
            keys: Vec::new(),
            sections: vec![section.to_string()],
            value: None,
            block: None,
        };
        self.commit(vec![splice], &scope)
    }

    /// The opening every edit that writes values shares: the section, the
    /// key and each of `values` checked, then the key's lines.
    pub(super) fn checked_key_lines(
        &self,
        section: Option<&str>,
        key: &str,
        values: &[impl AsRef<str>],
        opts: &MatchOptions,
    ) -> Result<Vec<usize>, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        for value in values {
            check_value(section, key, value.as_ref())?;
        }
        Ok(self.key_lines(section, key, opts.case_insensitive))
    }

    /// Indentation of the key line `i`, for lines added next to it.
    pub(super) fn indent_of(&self, i: usize) -> &str {
        let text = &self.lines[i].text;
        &text[..indent_len(text)]
    }
}
