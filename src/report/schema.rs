//! The JSON Schema of the result, generated from the report's types:
//! `docs/output.schema.json` is [`output_schema`]'s text, and a test fails
//! when the committed file differs from it. Regenerate it with
//! `cargo run --example output-schema > docs/output.schema.json`.
//!
//! The types below exist for the schema alone: strings with a shape
//! (versions, checksums, timestamps), named once in `$defs` and referred to
//! by the fields that hold them (`#[schemars(with = "…")]`).

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;

/// The `$id` of the schema.
pub const ID: &str = "https://github.com/lockstep/lockstep/docs/output.schema.json";

/// The schema of every result lockstep prints, as pretty JSON with a final
/// newline: the committed `docs/output.schema.json`.
pub fn output_schema() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<super::Report>();
    let mut root = serde_json::Map::new();
    if let Some(object) = schema.as_object() {
        // What the schema is and says first, as a reader expects them.
        root.insert("$schema".to_owned(), object["$schema"].clone());
        root.insert("$id".to_owned(), ID.into());
        for key in ["title", "description"] {
            root.insert(key.to_owned(), object[key].clone());
        }
        for (key, value) in object {
            root.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    let mut text = serde_json::to_string_pretty(&root).unwrap_or_default();
    text.push('\n');
    text
}

macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, $id:literal, $schema:tt) => {
        $(#[$doc])*
        pub struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $id.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

string_schema!(
    /// A migration version.
    Version,
    "version",
    {
        "type": "string",
        "pattern": "^[0-9]+(\\.[0-9]+)*$",
        "description": "A migration version: digits, ordered numerically, shown as written."
    }
);

string_schema!(
    /// A file's checksum.
    Checksum,
    "checksum",
    {
        "type": "string",
        "pattern": "^sha256:[0-9a-f]{64}$",
        "description": "sha256 of a file with a BOM removed and line endings normalised to LF."
    }
);

string_schema!(
    /// A point in time.
    Timestamp,
    "timestamp",
    {
        "type": "string",
        "description": "UTC, RFC 3339 with milliseconds, e.g. 2026-11-22T02:13:44.084Z."
    }
);

string_schema!(
    /// Which part of a migration.
    Part,
    "part",
    {
        "type": "string",
        "description": "Which part of a migration: expand or contract for up, down for a rollback (YAML migrations may add backfill), skipped for a migration with no SQL for this database's dialect (recorded, never run)."
    }
);

/// Migration versions.
pub type Versions = Vec<Version>;
