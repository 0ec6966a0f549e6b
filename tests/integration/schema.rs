//! `docs/output.schema.json` is generated from lockstep's report types
//! (`cargo run --example output-schema`), so the documented shape is the
//! printed one; every JSON result of these tests is validated against it
//! (`test::output`). Here: the committed file is the generated one, and the
//! schema still rejects a result of the wrong shape.

use crate::test::repo;
use serde_json::{json, Value};

const REGENERATE: &str = "cargo run --example output-schema > docs/output.schema.json";

#[test]
fn the_committed_schema_is_generated() {
    let path = repo().join("docs/output.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = lockstep::report::schema::output_schema();
    assert!(
        committed == generated,
        "{} is not the schema lockstep's report types generate; regenerate it with `{REGENERATE}` \
         and commit it",
        path.display()
    );
}

fn valid(result: &Value) -> bool {
    let schema: Value = serde_json::from_str(&lockstep::report::schema::output_schema()).unwrap();
    jsonschema::draft202012::new(&schema)
        .expect("the generated schema is a valid JSON Schema")
        .is_valid(result)
}

fn ok_result() -> Value {
    json!({
        "changed": false,
        "failed": false,
        "check_mode": false,
        "phase": "all",
        "msg": "",
        "database": {
            "url": "sqlite://db.sqlite3",
            "dialect": "sqlite",
            "applied": [],
            "pending": [],
            "current": null
        },
        "config": { "files": [] },
        "drift": [],
        "diff": [],
        "warnings": []
    })
}

#[test]
fn the_schema_rejects_a_result_of_the_wrong_shape() {
    assert!(valid(&ok_result()));
    for (pointer, wrong) in [
        ("/phase", json!("sideways")),
        ("/database/current", json!("v1")),
        ("/database/dialect", json!("oracle")),
        ("/hosts", json!("web1")),
        ("/would_apply", json!(["0001", "x"])),
        ("/config/files", json!([{ "path": "app.ini" }])),
        (
            "/drift",
            json!([{ "kind": "migration_missing", "version": "1" }]),
        ),
        (
            "/diff",
            json!([{ "before_header": "a", "after_header": "b" }]),
        ),
        ("/problems", json!([{ "kind": "Not-A-Kind", "msg": "" }])),
        (
            "/resumed",
            json!({ "version": "1", "checksum": "sha256:00" }),
        ),
    ] {
        let mut result = ok_result();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        result.pointer_mut(parent).unwrap()[key] = wrong.clone();
        assert!(!valid(&result), "{pointer} = {wrong} passed the schema");
    }
    let mut missing = ok_result();
    missing.as_object_mut().unwrap().remove("msg");
    assert!(!valid(&missing), "a result without msg passed the schema");
}
