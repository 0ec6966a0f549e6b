//! The contract gate predicted: `plan`, `apply --check` and
//! `plan --detailed-exitcode` refuse a contract exactly as `apply` does,
//! naming the hosts that lag, and without writing anything.

use crate::test::Test;

const CONTRACT: &str = "-- lockstep:phase contract\n-- lockstep:up\nDROP TABLE old_items;\n";

fn fleet(t: &Test) {
    t.migration(
        "0001_items.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);\nCREATE TABLE old_items (id INTEGER PRIMARY KEY);\n",
    );
    // web2 and web3 checked in at release 0001; web3 is gone for good.
    for host in ["web2", "web3"] {
        t.run(&["--host-id", host, "apply"]).assert_ok();
    }
    t.run(&["hosts", "--retire", "web3"]).assert_ok();
    t.migration("0002_drop_old_items.sql", CONTRACT);
}

const REFUSAL: &str = "contract of migration 0002 refused: 1 host has not checked in at 0002 or later: \
                       web2 (at 0001). Finish the rolling deploy (each host runs `lockstep apply --phase expand`), \
                       retire a host that is gone with `lockstep hosts --retire NAME`, or pass --force";

dialects!(check_mode_predicts_the_refusal, |t: Test| {
    fleet(&t);
    let before = t.db().history();
    // The real run, with a fresh host web1 that checks itself in first.
    for args in [
        &["--host-id", "web1", "plan"][..],
        &["--host-id", "web1", "--check", "apply"],
        &["--host-id", "web1", "plan", "--detailed-exitcode"],
    ] {
        let out = t.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        assert_eq!(out.json["failed"], true);
        assert_eq!(out.msg(), REFUSAL, "{args:?}");
        assert_eq!(out.json["problems"][0]["kind"], "contract_gated");
        assert_eq!(
            out.json["lagging_hosts"],
            serde_json::json!(["web2 (at 0001)"])
        );
        assert_eq!(out.json["would_apply"], serde_json::json!(["0002"]));
        assert_eq!(t.db().history(), before, "{args:?} wrote history");
    }
    let real = t.run(&["--host-id", "web1", "apply"]);
    assert_eq!(real.code, 1, "{}", real.stdout);
    assert_eq!(real.msg(), REFUSAL);
    assert_eq!(
        real.json["lagging_hosts"],
        serde_json::json!(["web2 (at 0001)"])
    );
});

dialects!(check_mode_predicts_a_contract_that_may_run, |t: Test| {
    fleet(&t);
    // --force skips the gate in the prediction as in the run.
    let forced = t.run(&["--host-id", "web1", "plan", "--force"]);
    forced.assert_ok();
    assert_eq!(forced.json["would_apply"], serde_json::json!(["0002"]));
    // web2 upgrades (expand only); then web1's contract may run.
    t.run(&["--host-id", "web2", "--phase", "expand", "apply"])
        .assert_ok();
    let plan = t.run(&["--host-id", "web1", "plan"]);
    plan.assert_ok();
    assert_eq!(plan.json["changed"], true);
    assert!(plan.json.get("lagging_hosts").is_none(), "{}", plan.stdout);
    t.run(&["--host-id", "web1", "apply"]).assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
});

#[test]
fn the_checking_host_counts_at_its_release() {
    // A host alone, behind on record: its own check-in comes first, so
    // neither the prediction nor the run refuses.
    let t = Test::with_db(crate::databases::Kind::Sqlite).unwrap();
    t.migration("0001_items.sql", "CREATE TABLE old_items (id INTEGER);\n");
    t.run(&["apply"]).assert_ok();
    t.migration("0002_drop.sql", CONTRACT);
    t.run(&["plan"]).assert_ok();
    t.run(&["apply"]).assert_ok();
}
