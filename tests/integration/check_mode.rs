//! `--check` reports what would change and writes nothing, not even
//! lockstep's own tables; `plan` is `apply --check --diff`.

use crate::test::{Test, SAMPLE_VERSIONS};

dialects!(check_mode_writes_nothing, |t: Test| {
    t.sample_migrations();
    let out = t.run(&["apply", "--check"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], true);
    assert_eq!(out.json["check_mode"], true);
    assert_eq!(out.distinct_versions("/database/pending"), SAMPLE_VERSIONS);
    assert_eq!(out.versions("/database/applied"), Vec::<String>::new());
    assert_eq!(out.json["msg"], "would apply 6 database migrations");
    assert_eq!(t.db().tables(), Vec::<String>::new());
});

dialects!(
    check_mode_after_partial_apply_lists_only_the_rest,
    |t: Test| {
        t.sample_migrations();
        t.run(&["apply", "--target", "0003"]).assert_ok();
        let before = t.db().history();
        let out = t.run(&["apply", "--check"]);
        assert_eq!(
            out.distinct_versions("/database/pending"),
            ["0004", "0005", "0006"]
        );
        assert_eq!(t.db().history(), before);
    }
);

dialects!(plan_shows_sql_and_detailed_exit_codes, |t: Test| {
    t.sample_migrations();
    let out = t.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(out.json["changed"], true);
    assert_eq!(out.json["diff"][0]["before_header"], "database");
    let prepared = out.json["diff"][0]["prepared"].as_str().unwrap();
    assert!(
        prepared.contains("-- 0001_create_users (expand)\nCREATE TABLE users"),
        "{prepared}"
    );
    assert!(prepared.contains("items_title_idx"), "{prepared}");
    assert_eq!(t.db().tables(), Vec::<String>::new());
    t.run(&["apply"]).assert_ok();
    let out = t.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.json["changed"], false);
    assert_eq!(out.json["diff"], serde_json::json!([]));
});
