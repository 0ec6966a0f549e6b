//! `drop_constraint`: contract drops a named CHECK, FOREIGN KEY, UNIQUE
//! constraint or unique index, as each database can in place; before
//! contract (and after a rollback of expand) the catalog is untouched; a
//! name the table does not have, a primary key and what SQLite cannot drop
//! in place are refused before anything runs, naming the migration.

use crate::databases::{block_on, Kind};
use crate::online_writes::definition;
use crate::test::Test;

/// The table's constraints and indexes as the catalog states them, one
/// line each (SQLite: the stored definitions of the table and its indexes).
fn constraints(t: &Test, table: &str) -> Vec<String> {
    let queries = match t.db().kind {
        Kind::Postgres => vec![
            format!("SELECT CAST(conname || ' ' || pg_get_constraintdef(oid) AS TEXT) FROM pg_constraint WHERE conrelid = to_regclass('{table}') ORDER BY conname"),
            format!("SELECT CAST('index ' || indexdef AS TEXT) FROM pg_indexes WHERE tablename = '{table}' ORDER BY indexname"),
        ],
        Kind::Mysql => vec![
            format!("SELECT CAST(CONCAT(tc.constraint_name, ' ', tc.constraint_type, ' ', COALESCE(cc.check_clause, '')) AS CHAR(255)) \
                     FROM information_schema.table_constraints tc LEFT JOIN information_schema.check_constraints cc \
                     ON cc.constraint_schema = tc.constraint_schema AND cc.table_name = tc.table_name AND cc.constraint_name = tc.constraint_name \
                     WHERE tc.table_schema = DATABASE() AND tc.table_name = '{table}' ORDER BY tc.constraint_name"),
            format!("SELECT CAST(CONCAT('index ', index_name, ' ', non_unique, ' ', GROUP_CONCAT(column_name ORDER BY seq_in_index)) AS CHAR(255)) \
                     FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '{table}' GROUP BY index_name, non_unique ORDER BY index_name"),
            format!("SELECT CAST(CONCAT(column_name, ' comment=', column_comment) AS CHAR(255)) FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"),
        ],
        Kind::Sqlite => vec![format!(
            "SELECT type || ' ' || name || ' ' || sql FROM sqlite_master WHERE tbl_name = '{table}' AND sql IS NOT NULL ORDER BY name"
        )],
    };
    queries.iter().flat_map(|q| t.db().strings(q)).collect()
}

/// Runs one statement, keeping the database's answer.
fn try_execute(t: &Test, sql: &str) -> Result<(), String> {
    block_on(async {
        let mut c = t.db().connect().await;
        sqlx::query(sql)
            .execute(&mut c)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

/// `items` with a CHECK written after a column (MariaDB names it after
/// the column), a table CHECK, a foreign key and a unique index.
fn items(kind: Kind) -> (String, &'static str) {
    let (qty, qty_check) = match kind {
        Kind::Mysql => (
            "qty INTEGER NOT NULL DEFAULT 1 COMMENT 'how many' CHECK (qty > 0)",
            "qty",
        ),
        _ => (
            "qty INTEGER NOT NULL DEFAULT 1 CONSTRAINT items_qty_pos CHECK (qty > 0)",
            "items_qty_pos",
        ),
    };
    let sql = format!(
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE items (\n  id INTEGER PRIMARY KEY,\n  {qty},\n  parent_id INTEGER,\n  code VARCHAR(20),\n  \
         CONSTRAINT items_code_len CHECK (LENGTH(code) < 10),\n  \
         CONSTRAINT items_parent_fk FOREIGN KEY (parent_id) REFERENCES parents (id)\n);\n\
         CREATE UNIQUE INDEX items_code_key ON items (code);\n\
         INSERT INTO parents (id) VALUES (1);\n\
         INSERT INTO items (id, qty, parent_id, code) VALUES (1, 2, 1, 'a');\n"
    );
    (sql, qty_check)
}

dialects!(drop_constraint_at_contract_and_not_before, |t: Test| {
    let kind = t.db().kind;
    let (sql, qty_check) = items(kind);
    t.migration("0001_items.sql", &sql);
    t.run(&["apply"]).assert_ok();
    let before = constraints(&t, "items");
    let qty_before = definition(&t, "items", "qty");
    for name in [
        qty_check,
        "items_code_len",
        "items_parent_fk",
        "items_code_key",
    ] {
        assert!(
            before.iter().any(|l| l.contains(name)),
            "{name} missing before: {before:#?}"
        );
    }
    t.migration(
        "0002_relax_items.yaml",
        &format!(
            "operations:\n  - drop_constraint: {{table: items, name: {qty_check}}}\n  \
             - drop_constraint: {{table: items, name: items_code_len}}\n  \
             - drop_constraint: {{table: items, name: items_parent_fk}}\n  \
             - drop_constraint: {{table: items, name: items_code_key}}\n"
        ),
    );

    // plan and --check show the contract that drops them, and change nothing.
    let plan = t.run(&["plan"]);
    plan.assert_ok();
    let prepared = plan.json["diff"][0]["prepared"].as_str().unwrap();
    let contract = &prepared[prepared
        .find("-- 0002_relax_items (contract)")
        .unwrap_or_else(|| panic!("{prepared}"))..];
    let expected: Vec<String> = match kind {
        Kind::Postgres => vec![
            "ALTER TABLE \"items\" DROP CONSTRAINT \"items_qty_pos\";".to_owned(),
            "ALTER TABLE \"items\" DROP CONSTRAINT \"items_code_len\";".to_owned(),
            "ALTER TABLE \"items\" DROP CONSTRAINT \"items_parent_fk\";".to_owned(),
            "DROP INDEX CONCURRENTLY IF EXISTS \"items_code_key\";".to_owned(),
        ],
        Kind::Mysql => vec![
            "ALTER TABLE `items` MODIFY COLUMN `qty` int(11) NOT NULL DEFAULT 1 COMMENT 'how many', ALGORITHM=INPLACE, LOCK=NONE;".to_owned(),
            "ALTER TABLE `items` DROP CONSTRAINT `items_code_len`, ALGORITHM=INPLACE, LOCK=NONE;".to_owned(),
            "ALTER TABLE `items` DROP FOREIGN KEY `items_parent_fk`, ALGORITHM=INPLACE, LOCK=NONE;".to_owned(),
            "ALTER TABLE `items` DROP INDEX `items_code_key`, ALGORITHM=INPLACE, LOCK=NONE;".to_owned(),
        ],
        Kind::Sqlite => vec![
            "UPDATE sqlite_master SET sql = replace(sql, ' CONSTRAINT items_qty_pos CHECK (qty > 0)', '') WHERE type = 'table' AND name = 'items';".to_owned(),
            "UPDATE sqlite_master SET sql = replace(sql, ',\n  CONSTRAINT items_code_len CHECK (LENGTH(code) < 10)', '') WHERE type = 'table' AND name = 'items';".to_owned(),
            "UPDATE sqlite_master SET sql = replace(sql, ',\n  CONSTRAINT items_parent_fk FOREIGN KEY (parent_id) REFERENCES parents (id)', '') WHERE type = 'table' AND name = 'items';".to_owned(),
            "DROP INDEX IF EXISTS \"items_code_key\";".to_owned(),
        ],
    };
    let mut at = 0;
    for statement in &expected {
        let found = contract[at..]
            .find(statement.as_str())
            .unwrap_or_else(|| panic!("plan lacks (in order) {statement}\n{contract}"));
        at += found + statement.len();
    }
    assert!(
        !prepared[..prepared.find("(contract)").unwrap()].contains("DROP"),
        "expand drops something: {prepared}"
    );
    let check = t.run(&["apply", "--check"]);
    check.assert_ok();
    assert_eq!(
        check.version_and("/database/pending", "part"),
        ["0002:expand", "0002:contract"]
    );
    assert_eq!(constraints(&t, "items"), before);

    // Expand leaves them all (old code may rely on them), and a rollback
    // of it finds them as they were.
    t.run(&["apply", "--phase", "expand"]).assert_ok();
    assert_eq!(constraints(&t, "items"), before);
    assert!(try_execute(&t, "INSERT INTO items (id, qty) VALUES (2, 0)").is_err());
    t.run(&["rollback", "--to", "0001"]).assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:rolled_back"]);
    assert_eq!(constraints(&t, "items"), before);

    // Contract drops them; the column that held a CHECK keeps its definition.
    let apply = t.run(&["apply"]);
    apply.assert_ok();
    assert_eq!(
        apply.version_and("/database/applied", "part"),
        ["0002:expand", "0002:contract"]
    );
    let after = constraints(&t, "items");
    assert_eq!(definition(&t, "items", "qty"), qty_before);
    match kind {
        Kind::Sqlite => assert_eq!(
            after,
            ["table items CREATE TABLE items (\n  id INTEGER PRIMARY KEY,\n  qty INTEGER NOT NULL DEFAULT 1,\n  parent_id INTEGER,\n  code VARCHAR(20)\n)"]
        ),
        Kind::Postgres => assert_eq!(
            after,
            ["items_pkey PRIMARY KEY (id)", "index CREATE UNIQUE INDEX items_pkey ON public.items USING btree (id)"]
        ),
        // The index MariaDB made for the foreign key stays (`drop_index`).
        Kind::Mysql => assert_eq!(
            after,
            [
                "PRIMARY PRIMARY KEY ",
                "index items_parent_fk 1 parent_id",
                "index PRIMARY 0 id",
                "id comment=",
                "qty comment=how many",
                "parent_id comment=",
                "code comment=",
            ]
        ),
    }
    // What they refused is accepted now.
    t.db().execute(
        "INSERT INTO items (id, qty, parent_id, code) VALUES (2, 0, 99, 'a'), (3, 1, NULL, 'abcdefghijkl')",
    );
    assert_eq!(
        t.db().count("SELECT COUNT(*) FROM items WHERE code = 'a'"),
        2
    );

    // Applying again is a no-op.
    let again = t.run(&["apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false);
    assert_eq!(
        again.version_and("/database/applied", "part"),
        Vec::<String>::new()
    );
    assert_eq!(constraints(&t, "items"), after);
});

// `add_constraint` unique and `drop_constraint` of it, portable: on
// PostgreSQL a constraint, elsewhere a unique index.
dialects!(drop_a_unique_constraint_lockstep_added, |t: Test| {
    t.migration(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(100));\nINSERT INTO users (id, mail) VALUES (1, 'a');\n",
    );
    t.migration(
        "0002_unique_mail.yaml",
        "operations:\n  - add_constraint: {table: users, name: users_mail_key, unique: [mail]}\n",
    );
    t.run(&["apply"]).assert_ok();
    let unique = constraints(&t, "users");
    assert!(
        unique.iter().any(|l| l.contains("users_mail_key")),
        "{unique:#?}"
    );
    assert!(try_execute(&t, "INSERT INTO users (id, mail) VALUES (2, 'a')").is_err());
    t.migration(
        "0003_mail_not_unique.yaml",
        "operations:\n  - drop_constraint: {table: users, name: users_mail_key}\n",
    );
    t.run(&["apply"]).assert_ok();
    let after = constraints(&t, "users");
    assert!(
        !after.iter().any(|l| l.contains("users_mail_key")),
        "{after:#?}"
    );
    t.db()
        .execute("INSERT INTO users (id, mail) VALUES (2, 'a')");
});

/// `plan` and `apply` refuse the migration alike, before anything runs,
/// with a message naming its file and each of `parts`.
#[track_caller]
fn refused(t: &Test, yaml: &str, parts: &[&str]) {
    t.migration("0002_drop.yaml", yaml);
    let path = "migrations/0002_drop.yaml";
    for args in [&["plan"][..], &["apply"]] {
        let out = t.run(args);
        out.assert_failed();
        let mut all = vec![path];
        all.extend(parts);
        out.assert_msg_contains(&all);
    }
    assert_eq!(t.db().history(), ["0001:applied"]);
}

dialects!(drop_constraint_refusals_name_the_migration, |t: Test| {
    let kind = t.db().kind;
    let (sql, _) = items(kind);
    t.migration(
        "0001_items.sql",
        &format!("{sql}CREATE INDEX items_parent_idx ON items (parent_id);\n"),
    );
    t.run(&["apply"]).assert_ok();
    let before = constraints(&t, "items");
    refused(
        &t,
        "operations:\n  - drop_constraint: {table: items, name: items_nope}\n",
        &[
            "operation 1 (drop_constraint)",
            "table items has no constraint named items_nope",
        ],
    );
    refused(
        &t,
        "operations:\n  - drop_constraint: {table: nowhere, name: items_code_len}\n",
        &["table nowhere does not exist"],
    );
    let primary = match kind {
        Kind::Postgres => "items_pkey",
        _ => "PRIMARY",
    };
    if kind != Kind::Sqlite {
        refused(
            &t,
            &format!("operations:\n  - drop_constraint: {{table: items, name: {primary}}}\n"),
            &[
                &format!("{primary} is the primary key of items"),
                "`sql` operation",
            ],
        );
    }
    refused(
        &t,
        "operations:\n  - drop_constraint: {table: items, name: items_parent_idx}\n",
        &["items_parent_idx is an index of items that enforces nothing: drop it with `drop_index`"],
    );
    assert_eq!(constraints(&t, "items"), before);
});

/// SQLite: a UNIQUE or PRIMARY KEY written in the table's definition owns
/// an index only a table rebuild removes.
#[test]
fn sqlite_refuses_a_unique_constraint_in_the_table_definition() {
    let Some(t) = Test::with_db(Kind::Sqlite) else {
        return;
    };
    t.migration(
        "0001_codes.sql",
        "CREATE TABLE codes (id INTEGER, code TEXT, CONSTRAINT codes_pk PRIMARY KEY (id), CONSTRAINT codes_code_uq UNIQUE (code));\n",
    );
    t.run(&["apply"]).assert_ok();
    for (name, what) in [
        (
            "codes_code_uq",
            "a UNIQUE constraint (its index belongs to the table)",
        ),
        ("codes_pk", "the primary key of codes"),
    ] {
        t.migration(
            "0002_drop.yaml",
            &format!("operations:\n  - drop_constraint: {{table: codes, name: {name}}}\n"),
        );
        t.run(&["apply"]).assert_failed().assert_msg_contains(&[
            "migrations/0002_drop.yaml",
            name,
            what,
            "`sql` operation",
        ]);
    }
    assert_eq!(t.db().history(), ["0001:applied"]);
}

// After a `rename_table` in the same migration the table goes by its new
// name, before expand (when the catalog still has the old one) and after.
dialects!(drop_constraint_of_a_table_renamed_before_it, |t: Test| {
    let (sql, _) = items(t.db().kind);
    t.migration("0001_items.sql", &sql);
    t.run(&["apply"]).assert_ok();
    t.migration(
        "0002_goods.yaml",
        "operations:\n  - rename_table: {from: items, to: goods}\n  \
         - drop_constraint: {table: goods, name: items_code_len}\n",
    );
    t.run(&["plan"]).assert_ok();
    t.run(&["apply", "--phase", "expand"]).assert_ok();
    assert!(constraints(&t, "goods")
        .iter()
        .any(|l| l.contains("items_code_len")));
    t.run(&["apply"]).assert_ok();
    let after = constraints(&t, "goods");
    assert!(
        !after.iter().any(|l| l.contains("items_code_len")),
        "{after:#?}"
    );
    assert!(
        after.iter().any(|l| l.contains("items_parent_fk")),
        "{after:#?}"
    );
    assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
});

// A unique index a foreign key of another table references is refused
// until an operation before it drops that foreign key (PostgreSQL and
// MariaDB would fail the contract; SQLite every later child write).
dialects!(
    drop_constraint_refuses_what_a_foreign_key_needs,
    |t: Test| {
        t.migration(
            "0001_parents.sql",
            "CREATE TABLE parents (id INTEGER PRIMARY KEY, code VARCHAR(20));\n\
         CREATE UNIQUE INDEX parents_code_key ON parents (code);\n\
         CREATE TABLE children (id INTEGER PRIMARY KEY, parent_code VARCHAR(20),\n  \
         CONSTRAINT children_code_fk FOREIGN KEY (parent_code) REFERENCES parents (code));\n\
         INSERT INTO parents (id, code) VALUES (1, 'a');\n\
         INSERT INTO children (id, parent_code) VALUES (1, 'a');\n",
        );
        t.run(&["apply"]).assert_ok();
        refused(
            &t,
            "operations:\n  - drop_constraint: {table: parents, name: parents_code_key}\n",
            &[
                "parents_code_key of parents is what",
                "of table children references",
                "a `drop_constraint` before this one",
            ],
        );
        t.migration(
            "0002_drop.yaml",
            "operations:\n  - drop_constraint: {table: children, name: children_code_fk}\n  \
         - drop_constraint: {table: parents, name: parents_code_key}\n",
        );
        t.run(&["apply"]).assert_ok();
        assert!(!constraints(&t, "parents")
            .iter()
            .any(|l| l.contains("parents_code_key")));
        // (MariaDB keeps the index it made for the foreign key.)
        assert!(!constraints(&t, "children")
            .iter()
            .any(|l| l.contains("children_code_fk") && !l.starts_with("index ")));
        t.db()
            .execute("INSERT INTO parents (id, code) VALUES (2, 'a')");
        t.db()
            .execute("INSERT INTO children (id, parent_code) VALUES (2, 'zz')");
    }
);
