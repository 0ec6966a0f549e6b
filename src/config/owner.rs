//! Owner and group names of a file lockstep creates, as numeric ids: a
//! number is taken as it is, a name is looked up in `/etc/passwd` or
//! `/etc/group` (local accounts; a directory service's names need their
//! numeric id).

use std::sync::Arc;

/// Why an owner or group name gives no id. `what` is "user" or "group",
/// `table` the file looked in. Cloned with the plan's inputs, so the I/O
/// error is shared.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OwnerError {
    /// The table cannot be read. The message holds the I/O error's, in
    /// its middle, so it is no `source()`.
    #[error("cannot look up the {what} `{name}` in {table}: {error}; give its numeric id")]
    Unreadable {
        what: &'static str,
        name: String,
        table: &'static str,
        error: Arc<std::io::Error>,
    },
    #[error("there is no {what} `{name}` in {table}; give its numeric id")]
    Unknown {
        what: &'static str,
        name: String,
        table: &'static str,
    },
}

/// The uid of `owner`.
pub fn user_id(owner: &str) -> Result<u32, OwnerError> {
    id_of(owner, "/etc/passwd", "user")
}

/// The gid of `group`.
pub fn group_id(group: &str) -> Result<u32, OwnerError> {
    id_of(group, "/etc/group", "group")
}

fn id_of(name: &str, table: &'static str, what: &'static str) -> Result<u32, OwnerError> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    let text = std::fs::read_to_string(table).map_err(|e| OwnerError::Unreadable {
        what,
        name: name.to_owned(),
        table,
        error: Arc::new(e),
    })?;
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            Some((fields.next()?, fields.nth(1)?))
        })
        .find(|(n, _)| *n == name)
        .and_then(|(_, id)| id.parse().ok())
        .ok_or_else(|| OwnerError::Unknown {
            what,
            name: name.to_owned(),
            table,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(user_id("root").unwrap(), 0);
        assert_eq!(group_id("root").unwrap(), 0);
        assert_eq!(user_id("1234").unwrap(), 1234);
        assert!(user_id("no-such-user-here")
            .unwrap_err()
            .to_string()
            .contains("no user `no-such-user-here` in /etc/passwd"));
    }
}
