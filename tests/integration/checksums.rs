//! An applied migration edited afterwards is drift: apply and verify fail
//! naming it; a CRLF or BOM checkout of the same text is not an edit.

use crate::test::Test;

dialects!(edited_migration_fails_apply_and_verify, |t: Test| {
    t.sample_migrations();
    t.run(&["apply"]).assert_ok();
    let file = "migrations/release-1/0002_create_items.sql";
    let original = t.read(file);
    let mut edited = original.clone();
    let pos = edited.iter().position(|&b| b == b'L').unwrap();
    edited[pos] = b'l';
    t.write(file, &edited);
    for command in ["apply", "verify"] {
        let out = t.run(&[command]);
        out.assert_failed().assert_msg_contains(&[
            "0002",
            "release-1/0002_create_items.sql",
            "lockstep resolve --restamp 0002",
        ]);
        assert_eq!(out.json["drift"][0]["kind"], "migration_edited");
        assert_eq!(out.json["drift"][0]["version"], "0002");
    }

    // A Windows checkout of the original text is not an edit.
    let text = String::from_utf8(original).unwrap();
    let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    t.write(file, crlf);
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], false);
    t.run(&["verify"])
        .assert_ok()
        .assert_msg_contains(&["6 applied migrations verified"]);
});

dialects!(restamp_accepts_an_intended_edit, |t: Test| {
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    t.run(&["apply"]).assert_ok();
    t.migration(
        "0001_a.sql",
        "-- a comment added later\nCREATE TABLE a (id INT);\n",
    );
    t.run(&["apply"]).assert_failed();
    let out = t.run(&["resolve", "--restamp", "0001"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], true);
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], false);
    t.run(&["verify"]).assert_ok();
    let again = t.run(&["resolve", "--restamp", "0001"]);
    assert_eq!(again.json["changed"], false);
});
