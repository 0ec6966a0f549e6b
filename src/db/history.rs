//! lockstep's own tables (`lockstep_*`): what was applied, when, by which
//! host, with which checksum; an append-only log of every action; and the
//! hosts that checked in. The SQL lives here so `lockstep sql` can print
//! exactly what `apply` runs; the dialect supplies its types, placeholders
//! and the faster read where there is one.

use crate::db::bookkeeping::{Bookkeeping, Value};
use crate::db::dialect::Dialect;
use crate::vocabulary::state;

pub const TABLE_PREFIX: &str = "lockstep_";
pub const MIGRATIONS: &str = "lockstep_migrations";
pub const LOG: &str = "lockstep_log";
pub const HOSTS: &str = "lockstep_hosts";
pub const BACKFILLS: &str = "lockstep_backfills";

/// `CREATE TABLE IF NOT EXISTS` for every lockstep table.
pub fn create_tables(d: Dialect) -> Vec<String> {
    let key = d.sql().key_text();
    let long = d.sql().long_text();
    let id = d.sql().identity_key();
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {MIGRATIONS} (\n    \
             version {key} PRIMARY KEY,\n    slug {key} NOT NULL,\n    kind {key} NOT NULL,\n    \
             phase {key} NOT NULL,\n    state {key} NOT NULL,\n    checksum {key} NOT NULL,\n    \
             dialect {key} NOT NULL,\n    applied_at {key} NOT NULL,\n    updated_at {key} NOT NULL,\n    \
             duration_ms BIGINT NOT NULL,\n    host {key} NOT NULL,\n    lockstep_version {key} NOT NULL,\n    \
             failed_statement {long} NULL,\n    error {long} NULL\n)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {LOG} (\n    id {id},\n    at {key} NOT NULL,\n    \
             version {key} NOT NULL,\n    action {key} NOT NULL,\n    state {key} NOT NULL,\n    \
             checksum {key} NOT NULL,\n    host {key} NOT NULL,\n    lockstep_version {key} NOT NULL,\n    \
             detail {long} NULL\n)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {HOSTS} (\n    host_id {key} PRIMARY KEY,\n    \
             version {key} NOT NULL,\n    checked_in_at {key} NOT NULL,\n    \
             lockstep_version {key} NOT NULL,\n    retired BIGINT NOT NULL\n)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {BACKFILLS} (\n    version {key} NOT NULL,\n    \
             table_name {key} NOT NULL,\n    column_name {key} NOT NULL,\n    last_key BIGINT NULL,\n    \
             rows_done BIGINT NOT NULL,\n    batches BIGINT NOT NULL,\n    finished BIGINT NOT NULL,\n    \
             updated_at {key} NOT NULL,\n    PRIMARY KEY (version, table_name, column_name)\n)"
        ),
        crate::db::failure_point::create_table(d),
    ]
}

/// One row of `lockstep_migrations`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryRow {
    pub version: String,
    pub slug: String,
    pub kind: String,
    pub phase: String,
    pub state: String,
    pub checksum: String,
    pub dialect: String,
    pub applied_at: String,
    pub updated_at: String,
    pub duration_ms: i64,
    pub host: String,
    pub lockstep_version: String,
    pub failed_statement: Option<String>,
    pub error: Option<String>,
    /// For a `failed` migration run outside a transaction: how far it got
    /// (read from `lockstep_failures`, not a column of this table).
    pub failure_point: Option<crate::db::failure_point::FailurePoint>,
}

/// Refuses a history that holds a state this lockstep does not know (a
/// newer lockstep's, or a hand edit): planning would otherwise treat that
/// migration as neither applied nor failed and silently run it again.
pub fn check_states(rows: &[HistoryRow]) -> Result<(), UnknownStates> {
    let unknown: Vec<String> = rows
        .iter()
        .filter(|r| !state::KNOWN.contains(&r.state.as_str()))
        .map(|r| format!("migration {} has state `{}`", r.version, r.state))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(UnknownStates(unknown))
}

/// History rows in states this lockstep does not know, each as
/// "migration V has state `S`".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} holds a state this lockstep does not know: {} (known: {}); a newer lockstep or \
     a hand edit wrote it. Run the lockstep that wrote it, or correct the row by hand",
    MIGRATIONS,
    .0.join(", "),
    state::KNOWN.join(", ")
)]
pub struct UnknownStates(pub Vec<String>);

/// The columns of `lockstep_migrations`: all of them, or (`full` false)
/// the ones planning needs, which a no-op run of a thousand migrations
/// reads noticeably faster.
pub fn select_history(d: Dialect, full: bool) -> String {
    format!("SELECT {} FROM {MIGRATIONS}", history_columns(d, full))
}

/// Where the dialect reads many rows faster as one (SQLite), the columns
/// of [`select_history`] in one row: a JSON array with an array per
/// migration, which [`decode_history_json`] reads.
pub fn select_history_json(d: Dialect, full: bool) -> Option<String> {
    d.sql()
        .json_rows_query(&history_columns(d, full), MIGRATIONS)
}

/// The column list both reads share, in [`HistoryRow`] decoding order.
fn history_columns(d: Dialect, full: bool) -> String {
    if full {
        format!(
            "version, slug, phase, state, checksum, kind, {}, {}, dialect, applied_at, updated_at, \
             duration_ms, host, lockstep_version",
            d.sql().text_expr("failed_statement"),
            d.sql().text_expr("error")
        )
    } else {
        "version, slug, phase, state, checksum".to_owned()
    }
}

/// Decodes what [`select_history_json`] reads.
pub fn decode_history_json(json: &str, full: bool) -> serde_json::Result<Vec<HistoryRow>> {
    type Full = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
        i64,
        String,
        String,
    );
    if full {
        let rows: Vec<Full> = serde_json::from_str(json)?;
        Ok(rows
            .into_iter()
            .map(|r| HistoryRow {
                version: r.0,
                slug: r.1,
                phase: r.2,
                state: r.3,
                checksum: r.4,
                kind: r.5,
                failed_statement: r.6,
                error: r.7,
                dialect: r.8,
                applied_at: r.9,
                updated_at: r.10,
                duration_ms: r.11,
                host: r.12,
                lockstep_version: r.13,
                failure_point: None,
            })
            .collect())
    } else {
        let rows: Vec<(String, String, String, String, String)> = serde_json::from_str(json)?;
        Ok(rows
            .into_iter()
            .map(|(version, slug, phase, state, checksum)| HistoryRow {
                version,
                slug,
                phase,
                state,
                checksum,
                ..HistoryRow::default()
            })
            .collect())
    }
}

/// Removes a migration's row; paired with [`insert_row`] it replaces it
/// (portable where upsert syntax is not).
pub fn delete_row(d: Dialect, version: &str) -> Bookkeeping {
    Bookkeeping::new(
        format!(
            "DELETE FROM {MIGRATIONS} WHERE version = {}",
            d.sql().placeholder(1)
        ),
        vec![Value::Text(version.to_owned())],
    )
}

pub fn insert_row(d: Dialect, row: &HistoryRow) -> Bookkeeping {
    let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    Bookkeeping::new(
        format!(
            "INSERT INTO {MIGRATIONS} (version, slug, kind, phase, state, checksum, dialect, \
             applied_at, updated_at, duration_ms, host, lockstep_version, failed_statement, error) \
             VALUES ({})",
            d.sql().placeholders(14)
        ),
        vec![
            Value::Text(row.version.clone()),
            Value::Text(row.slug.clone()),
            Value::Text(row.kind.clone()),
            Value::Text(row.phase.clone()),
            Value::Text(row.state.clone()),
            Value::Text(row.checksum.clone()),
            Value::Text(row.dialect.clone()),
            Value::Text(row.applied_at.clone()),
            Value::Text(row.updated_at.clone()),
            Value::Int(row.duration_ms),
            Value::Text(row.host.clone()),
            Value::Text(row.lockstep_version.clone()),
            opt(&row.failed_statement),
            opt(&row.error),
        ],
    )
}

/// Sets a row's state (and its failure details, cleared when `None`).
pub fn update_state(
    d: Dialect,
    version: &str,
    state: &str,
    updated_at: &str,
    duration_ms: i64,
    failure: Option<(&str, &str)>,
) -> Bookkeeping {
    let (stmt, error) = failure.map_or((Value::Null, Value::Null), |(s, e)| {
        (Value::Text(s.to_owned()), Value::Text(e.to_owned()))
    });
    Bookkeeping::new(
        format!(
            "UPDATE {MIGRATIONS} SET state = {}, updated_at = {}, duration_ms = {}, \
             failed_statement = {}, error = {} WHERE version = {}",
            d.sql().placeholder(1),
            d.sql().placeholder(2),
            d.sql().placeholder(3),
            d.sql().placeholder(4),
            d.sql().placeholder(5),
            d.sql().placeholder(6)
        ),
        vec![
            Value::Text(state.to_owned()),
            Value::Text(updated_at.to_owned()),
            Value::Int(duration_ms),
            stmt,
            error,
            Value::Text(version.to_owned()),
        ],
    )
}

pub fn update_checksum(d: Dialect, version: &str, checksum: &str, updated_at: &str) -> Bookkeeping {
    Bookkeeping::new(
        format!(
            "UPDATE {MIGRATIONS} SET checksum = {}, updated_at = {} WHERE version = {}",
            d.sql().placeholder(1),
            d.sql().placeholder(2),
            d.sql().placeholder(3)
        ),
        vec![
            Value::Text(checksum.to_owned()),
            Value::Text(updated_at.to_owned()),
            Value::Text(version.to_owned()),
        ],
    )
}

/// One entry of the append-only action log.
pub struct LogEntry<'a> {
    pub at: &'a str,
    pub version: &'a str,
    pub action: &'a str,
    pub state: &'a str,
    pub checksum: &'a str,
    pub host: &'a str,
    pub detail: Option<&'a str>,
}

pub fn insert_log(d: Dialect, e: &LogEntry<'_>) -> Bookkeeping {
    Bookkeeping::new(
        format!(
            "INSERT INTO {LOG} (at, version, action, state, checksum, host, lockstep_version, detail) \
             VALUES ({})",
            d.sql().placeholders(8)
        ),
        vec![
            Value::Text(e.at.to_owned()),
            Value::Text(e.version.to_owned()),
            Value::Text(e.action.to_owned()),
            Value::Text(e.state.to_owned()),
            Value::Text(e.checksum.to_owned()),
            Value::Text(e.host.to_owned()),
            Value::Text(crate::VERSION.to_owned()),
            e.detail.map_or(Value::Null, |t| Value::Text(t.to_owned())),
        ],
    )
}

/// The action of a version's newest log entry; for an interrupted YAML
/// migration, the part (`expand` or `contract`) that was running.
pub fn select_last_action(d: Dialect) -> String {
    format!(
        "SELECT action FROM {LOG} WHERE version = {} ORDER BY id DESC LIMIT 1",
        d.sql().placeholder(1)
    )
}

/// A host checking in at `version`: (delete, insert), a portable upsert.
pub fn check_in(d: Dialect, host: &str, version: &str, at: &str) -> [Bookkeeping; 2] {
    [
        Bookkeeping::new(
            format!(
                "DELETE FROM {HOSTS} WHERE host_id = {}",
                d.sql().placeholder(1)
            ),
            vec![Value::Text(host.to_owned())],
        ),
        Bookkeeping::new(
            format!(
                "INSERT INTO {HOSTS} (host_id, version, checked_in_at, lockstep_version, retired) \
                 VALUES ({})",
                d.sql().placeholders(5)
            ),
            vec![
                Value::Text(host.to_owned()),
                Value::Text(version.to_owned()),
                Value::Text(at.to_owned()),
                Value::Text(crate::VERSION.to_owned()),
                Value::Int(0),
            ],
        ),
    ]
}

pub fn select_hosts() -> String {
    format!("SELECT host_id, version, checked_in_at, lockstep_version, retired FROM {HOSTS} ORDER BY host_id")
}

pub fn retire_host(d: Dialect, host: &str) -> Bookkeeping {
    Bookkeeping::new(
        format!(
            "UPDATE {HOSTS} SET retired = 1 WHERE host_id = {}",
            d.sql().placeholder(1)
        ),
        vec![Value::Text(host.to_owned())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_states_message() {
        assert_eq!(
            UnknownStates(vec!["migration 0001 has state `x`".to_owned()]).to_string(),
            "lockstep_migrations holds a state this lockstep does not know: migration 0001 has \
             state `x` (known: applied, running, failed, rolled_back, expanded, backfilled, \
             contracted, skipped); a newer lockstep or a hand edit wrote it. Run the lockstep \
             that wrote it, or correct the row by hand"
        );
    }

    #[test]
    fn render_inlines_values_per_dialect() {
        let b = delete_row(Dialect::Postgres, "0001");
        assert_eq!(
            b.render(Dialect::Postgres),
            "DELETE FROM lockstep_migrations WHERE version = '0001'"
        );
        let b = update_checksum(Dialect::Mysql, "7", "sha256:ab", "t");
        assert_eq!(
            b.render(Dialect::Mysql),
            "UPDATE lockstep_migrations SET checksum = 'sha256:ab', updated_at = 't' WHERE version = '7'"
        );
    }
}
