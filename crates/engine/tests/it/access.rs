//! SQL reads only what the access policy allows, up to the input limits.

use lakeplane_engine::access::{AccessPolicy, InputLimits};
use lakeplane_engine::EngineError;

use crate::Lake;

/// Every way out of the roots a user might try, as SQL would name it.
fn escapes(lake: &Lake) -> Vec<String> {
    let root = lake.dir.path().display().to_string();
    vec![
        "/etc/passwd".into(),
        "/proc/self/environ".into(),
        "/dev/zero".into(),
        "file:///etc/passwd".into(),
        "file://localhost/etc/passwd".into(),
        "FILE:/etc/passwd".into(),
        format!("{root}/../../../../../etc/passwd"),
        format!("{root}/escape/passwd"),
        format!("{root}/escape"),
        format!("{root}/holder/b.csv"),
        "/etc/*".into(),
        "../../../../../../etc/passwd".into(),
        "http://169.254.169.254/latest/meta-data".into(),
    ]
}

fn plant_symlinks(lake: &Lake) {
    let root = lake.dir.path();
    std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
    // A folder inside the root whose content links out: only a per-file check catches it.
    std::fs::create_dir(root.join("holder")).unwrap();
    std::fs::write(root.join("holder/a.csv"), "x\n1\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("holder/b.csv")).unwrap();
}

#[tokio::test]
async fn read_files_outside_the_roots_is_denied() {
    let lake = Lake::new().await;
    plant_symlinks(&lake);
    let root = lake.dir.path().display().to_string();
    // A folder inside the root whose content links out: denied when the query lists it.
    for path in escapes(&lake).into_iter().chain([format!("{root}/holder")]) {
        let err = lake
            .run(&format!(
                "SELECT * FROM read_files('{path}', format => 'csv')"
            ))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("access denied"), "{path}: {text}");
        assert!(
            !text.contains("root:x:0:0"),
            "nothing of the file leaks: {text}"
        );
    }
    // Inside the roots, reading works: the engine keeps serving.
    let ok = lake.dir.path().join("holder/a.csv");
    assert_eq!(
        lake.scalar(&format!(
            "SELECT count(*) FROM read_files('{}', format => 'csv', header => true)",
            ok.display()
        ))
        .await,
        "1"
    );
}

#[tokio::test]
async fn sql_files_and_locations_outside_the_roots_are_denied() {
    let lake = Lake::new().await;
    plant_symlinks(&lake);
    for path in escapes(&lake) {
        let err = lake.engine.read_sql_file(&path).await.unwrap_err();
        assert!(
            matches!(err, EngineError::AccessDenied { .. }),
            "{path}: {err}"
        );
    }
    let err = lake.error("CREATE TABLE t (a INT) LOCATION '/etc'").await;
    assert!(err.contains("access denied"), "{err}");
}

#[tokio::test]
async fn inputs_over_their_limits_are_refused() {
    let lake = Lake::with(|p| {
        p.with_limits(InputLimits {
            max_sql_file_bytes: 16,
            max_read_bytes: 100,
        })
    })
    .await;
    let big_sql = lake.dir.path().join("big.sql");
    std::fs::write(&big_sql, "SELECT 1 -- and a long comment").unwrap();
    let err = lake
        .engine
        .read_sql_file(&big_sql.display().to_string())
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::TooLarge { limit: 16, .. }),
        "{err}"
    );
    let big_csv = lake.dir.path().join("big.csv");
    std::fs::write(&big_csv, "n\n".to_string() + &"1\n".repeat(100)).unwrap();
    let err = lake
        .error(&format!(
            "SELECT * FROM read_files('{}', format => 'csv')",
            big_csv.display()
        ))
        .await;
    assert!(err.contains("larger than the 100-byte limit"), "{err}");
}

#[tokio::test]
async fn on_aws_only_configured_buckets_are_readable() {
    let lake = Lake::with(|_| AccessPolicy::s3_only(vec!["lake-data".into()])).await;
    let err = lake
        .error("SELECT * FROM read_files('s3://someone-else/x.csv', format => 'csv')")
        .await;
    assert!(err.contains("access denied"), "{err}");
    let err = lake
        .error("SELECT * FROM read_files('/etc/hosts', format => 'csv')")
        .await;
    assert!(err.contains("local files are not readable here"), "{err}");
}
