//! Column definitions in the text SQLite keeps for a table (`sqlite_master.sql`):
//! where one column's definition sits, what its DEFAULT, NOT NULL and
//! COLLATE clauses say, and the same definition without NOT NULL and
//! DEFAULT. SQLite cannot drop a default or a NOT NULL in place, but its
//! documentation allows editing that text for exactly these two changes
//! (<https://www.sqlite.org/lang_altertable.html>, "otherwise alter table").
//! Not a full SQL parser: it tokenizes just enough to find clause limits.

/// One column's definition as written, and what it declares.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ColumnText {
    /// The definition, from its name to the comma or parenthesis after it,
    /// preceded by the comma or parenthesis before it and any whitespace, so
    /// that it cannot match inside another column's definition.
    pub written: String,
    /// The same with NOT NULL, NULL and DEFAULT clauses left out.
    pub relaxed: String,
    pub not_null: bool,
    pub default: Option<String>,
    pub collation: Option<String>,
}

impl ColumnText {
    /// The definition with its NOT NULL kept and its DEFAULT replaced by
    /// `default` (or none).
    pub fn with_default(&self, default: Option<&str>) -> String {
        let mut out = self.relaxed.clone();
        if self.not_null {
            out.push_str(" NOT NULL");
        }
        if let Some(d) = default {
            out.push_str(&format!(" DEFAULT {d}"));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

impl Token<'_> {
    fn is(&self, word: &str) -> bool {
        self.text.eq_ignore_ascii_case(word)
    }
}

/// Splits SQL into words, quoted names, strings, numbers, parenthesised
/// groups (one token each) and single punctuation characters.
fn tokens(sql: &str) -> Vec<Token<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = sql[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
            continue;
        }
        i = match c {
            b'\'' | b'"' | b'`' => quoted_end(b, i, c),
            b'[' => sql[i..].find(']').map_or(b.len(), |p| i + p + 1),
            b'(' => group_end(b, i),
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 => {
                let mut j = i;
                while j < b.len()
                    && (b[j].is_ascii_alphanumeric()
                        || b[j] == b'_'
                        || b[j] == b'$'
                        || b[j] >= 0x80
                        || b[j] == b'.')
                {
                    j += 1;
                }
                j
            }
            _ => i + 1,
        };
        out.push(Token {
            text: &sql[start..i],
            start,
            end: i,
        });
    }
    out
}

fn quoted_end(b: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn group_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            q @ (b'\'' | b'"' | b'`') => {
                i = quoted_end(b, i, q);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// A name without its quotes.
fn unquote(name: &str) -> String {
    let inner = |s: &str, q: char| s[1..s.len() - 1].replace(&format!("{q}{q}"), &q.to_string());
    match name.chars().next() {
        Some(q @ ('"' | '`' | '\'')) if name.len() >= 2 => inner(name, q),
        Some('[') if name.len() >= 2 => name[1..name.len() - 1].to_owned(),
        _ => name.to_owned(),
    }
}

const TABLE_CONSTRAINTS: [&str; 5] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];

/// The column definitions and table constraints of a `CREATE TABLE`
/// statement: each one's tokens, and where in the text it starts.
fn items(create_sql: &str) -> Vec<(usize, Vec<Token<'_>>)> {
    let Some(open) = tokens(create_sql)
        .into_iter()
        .find(|t| t.text.starts_with('('))
    else {
        return Vec::new();
    };
    let body = &create_sql[open.start + 1..open.end - 1];
    let offset = open.start + 1;
    // Top-level commas split the body into column and table constraints.
    let mut bounds = Vec::new();
    let mut from = 0;
    for t in tokens(body) {
        if t.text == "," {
            bounds.push((from, t.start));
            from = t.end;
        }
    }
    bounds.push((from, body.len()));
    bounds
        .into_iter()
        .map(|(start, end)| {
            (
                offset + start,
                tokens(&create_sql[offset + start..offset + end]),
            )
        })
        .filter(|(_, toks)| !toks.is_empty())
        .collect()
}

/// Where the whitespace before `at` begins, and with `delimiter` the
/// comma or parenthesis before that.
fn lead(sql: &str, at: usize, delimiter: bool) -> usize {
    let mut lead = at;
    while lead > 0 && sql.as_bytes()[lead - 1].is_ascii_whitespace() {
        lead -= 1;
    }
    if delimiter {
        lead.saturating_sub(1)
    } else {
        lead
    }
}

/// The definition of `column` in a `CREATE TABLE` statement's text.
pub fn find(create_sql: &str, column: &str) -> Option<ColumnText> {
    for (start, toks) in items(create_sql) {
        let name = &toks[0];
        if TABLE_CONSTRAINTS.iter().any(|k| name.is(k)) || unquote(name.text) != column {
            continue;
        }
        // Back over the whitespace to the delimiter before the definition.
        let abs_start = start + name.start;
        let abs_end = start + toks.last().map_or(name.end, |t| t.end);
        let lead = lead(create_sql, abs_start, true);
        let prefix = &create_sql[lead..abs_start];
        let definition = &create_sql[abs_start..abs_end];
        return Some(describe(prefix, definition));
    }
    None
}

/// A named constraint (`CONSTRAINT name …`) in a table's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintText {
    /// The keyword after the name, upper case: `CHECK`, `FOREIGN`
    /// (table constraint), `REFERENCES` (column constraint), `UNIQUE`, ...
    pub kind: String,
    /// From `CONSTRAINT` to the end of the constraint.
    pub clause: String,
    /// For a CHECK or a foreign key, which SQLite lets the table's text
    /// lose in place: the text to remove, with the comma (table
    /// constraint) or whitespace (column constraint) before it.
    pub written: Option<String>,
}

/// The constraint `name` in a `CREATE TABLE` statement's text.
pub fn find_constraint(create_sql: &str, name: &str) -> Option<ConstraintText> {
    for (start, toks) in items(create_sql) {
        let table_level = toks[0].is("CONSTRAINT");
        for (i, t) in toks.iter().enumerate() {
            if !t.is("CONSTRAINT") || toks.get(i + 1).is_none_or(|n| unquote(n.text) != name) {
                continue;
            }
            let kind = toks
                .get(i + 2)
                .map_or(String::new(), |k| k.text.to_ascii_uppercase());
            // A table constraint runs to the end of its item; a column
            // constraint to the end of its clause.
            let end = if table_level {
                toks.len()
            } else {
                i + 2 + clause_len(&toks[i + 2..])
            };
            let (from, to) = (start + t.start, start + toks[end - 1].end);
            let droppable = matches!(kind.as_str(), "CHECK" | "FOREIGN" | "REFERENCES");
            return Some(ConstraintText {
                clause: create_sql[from..to].to_owned(),
                written: droppable
                    .then(|| create_sql[lead(create_sql, from, table_level)..to].to_owned()),
                kind,
            });
        }
    }
    None
}

/// Tokens in the column constraint starting at `toks[0]`'s keyword: a
/// CHECK and its expression, or a REFERENCES clause with its actions;
/// other constraints are not measured (one token).
fn clause_len(toks: &[Token<'_>]) -> usize {
    let Some(first) = toks.first() else { return 0 };
    if first.is("CHECK") {
        return toks.len().min(2);
    }
    if !first.is("REFERENCES") {
        return 1;
    }
    // REFERENCES table [(columns)] then ON …, MATCH …, [NOT] DEFERRABLE
    // [INITIALLY …] in any order.
    let mut i = 2;
    if toks.get(i).is_some_and(|t| t.text.starts_with('(')) {
        i += 1;
    }
    loop {
        let at = |k: usize, w: &str| toks.get(i + k).is_some_and(|t| t.is(w));
        i += if at(0, "ON") {
            if at(2, "SET") || at(2, "NO") {
                4
            } else {
                3
            }
        } else if at(0, "MATCH") || at(0, "INITIALLY") || (at(0, "NOT") && at(1, "DEFERRABLE")) {
            2
        } else if at(0, "DEFERRABLE") {
            1
        } else {
            return i.min(toks.len());
        };
    }
}

fn describe(prefix: &str, definition: &str) -> ColumnText {
    let toks = tokens(definition);
    let mut kept: Vec<&Token<'_>> = Vec::new();
    let (mut not_null, mut default, mut collation) = (false, None, None);
    let mut i = 0;
    // A `CONSTRAINT name` before a clause that is left out goes with it.
    let mut pending_name: Vec<&Token<'_>> = Vec::new();
    while i < toks.len() {
        let t = &toks[i];
        if t.is("CONSTRAINT") && i + 1 < toks.len() {
            pending_name = vec![t, &toks[i + 1]];
            i += 2;
            continue;
        }
        if t.is("NOT") && toks.get(i + 1).is_some_and(|n| n.is("NULL")) {
            not_null = true;
            i += 2 + conflict_clause(&toks[i + 2..]);
            pending_name.clear();
            continue;
        }
        if t.is("NULL") {
            i += 1 + conflict_clause(&toks[i + 1..]);
            pending_name.clear();
            continue;
        }
        if t.is("DEFAULT") {
            let value_len = match toks.get(i + 1) {
                Some(s) if (s.text == "-" || s.text == "+") && i + 2 < toks.len() => 2,
                Some(_) => 1,
                None => 0,
            };
            if value_len > 0 {
                let first = &toks[i + 1];
                let last = &toks[i + value_len];
                default = Some(definition[first.start..last.end].to_owned());
            }
            i += 1 + value_len;
            pending_name.clear();
            continue;
        }
        if t.is("COLLATE") {
            collation = toks.get(i + 1).map(|c| unquote(c.text));
        }
        kept.append(&mut pending_name);
        kept.push(t);
        i += 1;
    }
    // The kept tokens as written; one space where a clause was left out.
    let mut relaxed = String::new();
    for (n, t) in kept.iter().enumerate() {
        if n > 0 {
            let before = kept[n - 1];
            let adjacent = toks
                .iter()
                .position(|x| x.start == before.start)
                .is_some_and(|p| toks.get(p + 1).is_some_and(|x| x.start == t.start));
            if adjacent {
                relaxed.push_str(&definition[before.end..t.start]);
            } else {
                relaxed.push(' ');
            }
        }
        relaxed.push_str(t.text);
    }
    ColumnText {
        written: format!("{prefix}{definition}"),
        relaxed: format!("{prefix}{relaxed}"),
        not_null,
        default,
        collation,
    }
}

/// Length of an `ON CONFLICT …` clause at the start of `toks`.
fn conflict_clause(toks: &[Token<'_>]) -> usize {
    if toks.len() >= 3 && toks[0].is("ON") && toks[1].is("CONFLICT") {
        3
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_column_and_relaxes_it() {
        let sql = "CREATE TABLE t (\n  id INTEGER PRIMARY KEY,\n  hits INTEGER NOT NULL DEFAULT '0',\n  xhits INTEGER NOT NULL DEFAULT 0\n)";
        let c = find(sql, "hits").unwrap();
        assert_eq!(c.written, ",\n  hits INTEGER NOT NULL DEFAULT '0'");
        assert_eq!(c.relaxed, ",\n  hits INTEGER");
        assert!(c.not_null);
        assert_eq!(c.default.as_deref(), Some("'0'"));
        assert_eq!(sql.matches(&c.written).count(), 1);
        assert_eq!(
            c.with_default(Some("5")),
            ",\n  hits INTEGER NOT NULL DEFAULT 5"
        );
        assert_eq!(c.with_default(None), ",\n  hits INTEGER NOT NULL");
    }

    #[test]
    fn keeps_other_clauses_and_reads_collation() {
        let sql = "CREATE TABLE \"t\" (\"id\" integer primary key, \"Name\" varchar(10, 2) CONSTRAINT nn NOT NULL ON CONFLICT ABORT COLLATE NOCASE DEFAULT (lower('A,B')) CHECK (length(\"Name\") > 0), UNIQUE (\"Name\"))";
        let c = find(sql, "Name").unwrap();
        assert_eq!(
            c.relaxed,
            ", \"Name\" varchar(10, 2) COLLATE NOCASE CHECK (length(\"Name\") > 0)"
        );
        assert_eq!(c.default.as_deref(), Some("(lower('A,B'))"));
        assert_eq!(c.collation.as_deref(), Some("NOCASE"));
        assert!(c.not_null);
        assert!(find(sql, "UNIQUE").is_none());
        assert!(find(sql, "name").is_none());
    }

    #[test]
    fn finds_named_constraints_and_the_text_that_drops_them() {
        let sql = "CREATE TABLE t (\n  id INTEGER PRIMARY KEY,\n  qty INT NOT NULL CONSTRAINT qty_pos CHECK (qty > 0) DEFAULT 1,\n  \
                   p INT CONSTRAINT t_p_fk REFERENCES parent (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED NOT NULL,\n  \
                   CONSTRAINT \"t_pair\" UNIQUE (qty, p),\n  CONSTRAINT t_fk FOREIGN KEY (p) REFERENCES parent (id) ON UPDATE CASCADE\n)";
        let check = find_constraint(sql, "qty_pos").unwrap();
        assert_eq!(check.kind, "CHECK");
        assert_eq!(
            check.written.as_deref(),
            Some(" CONSTRAINT qty_pos CHECK (qty > 0)")
        );
        let fk = find_constraint(sql, "t_p_fk").unwrap();
        assert_eq!(fk.kind, "REFERENCES");
        assert_eq!(
            fk.written.as_deref(),
            Some(" CONSTRAINT t_p_fk REFERENCES parent (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED")
        );
        let unique = find_constraint(sql, "t_pair").unwrap();
        assert_eq!((unique.kind.as_str(), unique.written), ("UNIQUE", None));
        assert_eq!(unique.clause, "CONSTRAINT \"t_pair\" UNIQUE (qty, p)");
        let table_fk = find_constraint(sql, "t_fk").unwrap();
        assert_eq!(
            table_fk.written.as_deref(),
            Some(",\n  CONSTRAINT t_fk FOREIGN KEY (p) REFERENCES parent (id) ON UPDATE CASCADE")
        );
        let dropped = sql
            .replace(check.written.as_deref().unwrap(), "")
            .replace(table_fk.written.as_deref().unwrap(), "");
        assert!(dropped.contains("qty INT NOT NULL DEFAULT 1,"), "{dropped}");
        assert!(dropped.ends_with("UNIQUE (qty, p)\n)"), "{dropped}");
        assert!(find_constraint(sql, "qty").is_none());
        assert!(find_constraint(sql, "missing").is_none());
    }

    #[test]
    fn negative_defaults_and_nullable_columns() {
        let sql = "CREATE TABLE t(a INT DEFAULT -1 NULL, b TEXT) -- trailing";
        let a = find(sql, "a").unwrap();
        assert_eq!(a.written, "(a INT DEFAULT -1 NULL");
        assert_eq!(a.relaxed, "(a INT");
        assert_eq!(a.default.as_deref(), Some("-1"));
        assert!(!a.not_null);
        let b = find(sql, "b").unwrap();
        assert_eq!((b.written.as_str(), b.default), (", b TEXT", None));
    }
}
