//! What the `.slt` files cannot pin: history and detail (times and paths vary), maintenance
//! metrics, multi-line answers, racing writers, and the same SQL on S3 (moto).

use std::sync::Arc;

use lakeplane_engine::EngineError;

use crate::Lake;

#[tokio::test]
async fn history_and_detail_say_what_happened_and_who_did_it() {
    let lake = Lake::new().await;
    lake.run("CREATE TABLE h (k INT, v STRING) PARTITIONED BY (k) COMMENT 'hist'; INSERT INTO h VALUES (1, 'a'), (2, 'b'); UPDATE h SET v = 'c' WHERE k = 1; DELETE FROM h WHERE k = 2")
        .await
        .unwrap();
    let rows = lake.rows("DESCRIBE HISTORY h").await;
    let ops: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[3].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("3", "DELETE", "tester"),
            ("2", "UPDATE", "tester"),
            ("1", "WRITE", "tester"),
            ("0", "CREATE TABLE", "tester")
        ]
    );
    assert_eq!(lake.rows("DESCRIBE HISTORY h LIMIT 1").await.len(), 1);

    let detail = lake.rows("DESCRIBE DETAIL h").await;
    let d = &detail[0];
    assert_eq!(
        (d[0].as_str(), d[2].as_str(), d[3].as_str()),
        ("delta", "main.default.h", "hist")
    );
    assert!(
        d[4].starts_with("file:///") && d[4].contains("/main/default/"),
        "{}",
        d[4]
    );
    assert_eq!(d[7], r#"["k"]"#);
    assert_eq!(d[8], "1", "one data file left");
    assert_eq!((d[13].as_str(), d[14].as_str()), ("MANAGED", "true"));
}

#[tokio::test]
async fn optimize_reports_what_it_compacted_and_show_create_table_reads_back() {
    let lake = Lake::new().await;
    lake.run("CREATE TABLE o (a INT NOT NULL COMMENT 'the a') COMMENT 'it''s o'")
        .await
        .unwrap();
    for i in 0..3 {
        lake.run(&format!("INSERT INTO o VALUES ({i})"))
            .await
            .unwrap();
    }
    let m = &lake.rows("OPTIMIZE o").await[0];
    // path, added, removed, partitions, considered, skipped
    assert_eq!(&m[1..], ["1", "3", "1", "3", "0"]);
    assert_eq!(lake.scalar("SELECT sum(a) FROM o").await, "3");
    let again = &lake.rows("OPTIMIZE o").await[0];
    assert_eq!(again[1], "0", "nothing left to compact");

    let create = lake.scalar("SHOW CREATE TABLE o").await;
    assert_eq!(
        create,
        "CREATE TABLE main.default.o (\n  `a` INT NOT NULL COMMENT 'the a')\nUSING delta\nCOMMENT 'it''s o'"
    );
    // What SHOW CREATE TABLE says creates the same table.
    lake.run("DROP TABLE o").await.unwrap();
    lake.run(&create).await.unwrap();
    assert_eq!(lake.scalar("SHOW CREATE TABLE o").await, create);
}

#[tokio::test]
async fn dropping_a_managed_table_deletes_its_files_and_an_external_one_keeps_them() {
    let lake = Lake::new().await;
    lake.run("CREATE TABLE managed AS SELECT 1 AS v")
        .await
        .unwrap();
    let managed = lake.location("managed").await;
    assert!(managed.join("_delta_log").is_dir());
    let outside = lake.dir.path().join("outside");
    // (A local LOCATION must exist already: the access policy resolves it before anything is made.)
    std::fs::create_dir_all(&outside).unwrap();
    lake.run(&format!(
        "CREATE TABLE ext (v INT) LOCATION '{}'",
        outside.display()
    ))
    .await
    .unwrap();
    lake.run("INSERT INTO ext VALUES (2)").await.unwrap();
    lake.run("DROP TABLE managed; DROP TABLE ext")
        .await
        .unwrap();
    assert!(!managed.exists(), "the managed table's folder is gone");
    assert!(
        outside.join("_delta_log").is_dir(),
        "the external table's files stay"
    );
    // And can be registered again, as they are.
    lake.run(&format!(
        "CREATE TABLE ext LOCATION '{}'",
        outside.display()
    ))
    .await
    .unwrap();
    assert_eq!(lake.scalar("SELECT v FROM ext").await, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_racing_on_the_same_files_fail_clearly_and_leave_the_table_whole() {
    let lake = Arc::new(Lake::new().await);
    lake.run("CREATE TABLE m AS SELECT * FROM (VALUES (1, 0), (2, 0)) AS t(id, n)")
        .await
        .unwrap();
    let mut conflicts = 0;
    let mut wins = 0;
    for round in 0..3 {
        let mut tasks = vec![];
        for w in 0..4 {
            let lake = lake.clone();
            tasks.push(tokio::spawn(async move {
                lake.run(&format!(
                    "MERGE INTO m USING (SELECT 1 AS id, {} AS n) s ON m.id = s.id \
                     WHEN MATCHED THEN UPDATE SET n = s.n",
                    round * 10 + w + 1
                ))
                .await
            }));
        }
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => wins += 1,
                Err(EngineError::ConcurrentModification { table, message }) => {
                    assert_eq!(table, "main.default.m");
                    assert!(message.contains("Run the statement again"), "{message}");
                    conflicts += 1;
                }
                Err(e) => panic!("a racing MERGE failed otherwise: {e}"),
            }
        }
        // Whole after every round: both rows, once each.
        assert_eq!(lake.scalar("SELECT count(*) FROM m").await, "2");
        assert_eq!(lake.scalar("SELECT count(DISTINCT id) FROM m").await, "2");
    }
    assert!(wins >= 3, "each round has a winner ({wins} wins)");
    assert!(
        conflicts > 0,
        "12 MERGEs of one file in 3 rounds of 4 never collided"
    );
}

/// The `.slt` files again, with the storage root on S3 (moto): the same SQL, the same answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_surface_works_the_same_on_s3() {
    for file in [
        "catalog.slt",
        "dml.slt",
        "history.slt",
        "schema.slt",
        "maintenance.slt",
    ] {
        let lake = Lake::on_s3().await;
        crate::slt::run_file_in(&lake, &crate::slt::slt_dir().join(file)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_writers_appending_25_times_to_one_table_on_s3_lose_nothing() {
    let lake = Arc::new(Lake::on_s3().await);
    lake.run("CREATE TABLE a (writer INT, i INT)")
        .await
        .unwrap();
    let mut tasks = vec![];
    for w in 0..4 {
        let lake = lake.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                lake.run(&format!("INSERT INTO a VALUES ({w}, {i})"))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(lake.scalar("SELECT count(*) FROM a").await, "100");
    assert_eq!(
        lake.scalar("SELECT count(*) FROM (SELECT DISTINCT writer, i FROM a)")
            .await,
        "100"
    );
    let history = lake.rows("DESCRIBE HISTORY a").await;
    assert_eq!(history.len(), 101, "the CREATE and exactly 100 appends");
    assert_eq!(history[0][0], "100");
    assert!(lake.location_url("a").await.as_str().starts_with("s3://"));
}
