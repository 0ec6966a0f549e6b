//! The statements lockstep runs on its own tables: SQL with placeholders and
//! bind values, renderable with the values inlined for `lockstep sql`.

use crate::db::dialect::Dialect;

/// A bind value of a bookkeeping statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
    Null,
}

/// A bookkeeping statement: SQL with placeholders and its values. Run with
/// binds; shown by `lockstep sql` with the values as literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookkeeping {
    pub sql: String,
    pub values: Vec<Value>,
}

impl Bookkeeping {
    pub(crate) fn new(sql: String, values: Vec<Value>) -> Self {
        Bookkeeping { sql, values }
    }

    /// The statement with its values inlined, for review.
    pub fn render(&self, dialect: Dialect) -> String {
        let mut out = String::with_capacity(self.sql.len() + 64);
        let mut values = self.values.iter();
        let mut rest = self.sql.as_str();
        let mut n = 1;
        loop {
            let marker = dialect.sql().placeholder(n);
            let Some(pos) = rest.find(&marker) else {
                out.push_str(rest);
                break;
            };
            out.push_str(&rest[..pos]);
            match values.next() {
                Some(Value::Text(t)) => out.push_str(&dialect.sql().string_literal(t)),
                Some(Value::Int(i)) => out.push_str(&i.to_string()),
                Some(Value::Null) | None => out.push_str("NULL"),
            }
            rest = &rest[pos + marker.len()..];
            n += 1;
        }
        out
    }
}
