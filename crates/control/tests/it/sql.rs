//! Warehouses and statements: the lease protocol workers run statements under, with faults.

use lakeplane_control::sql::Renewal;
use lakeplane_core::sql::{
    Compression, Disposition, Format, Manifest, NewStatement, StatementError, StatementState,
    WarehouseSpec, WarehouseState,
};
use lakeplane_store::testing::{Fault, Op};

use super::faulty;

fn spec(auto_stop_mins: u32) -> WarehouseSpec {
    WarehouseSpec {
        name: "wh".into(),
        cluster_size: "2X-Small".into(),
        min_num_clusters: 1,
        max_num_clusters: 1,
        auto_stop_mins,
        enable_photon: false,
        enable_serverless_compute: false,
        warehouse_type: None,
        spot_instance_policy: None,
        channel: None,
        tags: vec![],
        instance_profile_arn: None,
    }
}

fn statement(warehouse: &str) -> NewStatement {
    NewStatement {
        warehouse_id: warehouse.into(),
        session_id: None,
        statement: "SELECT 1".into(),
        catalog: None,
        schema: None,
        parameters: vec![],
        disposition: Disposition::Inline,
        format: Format::JsonArray,
        compression: Compression::None,
        row_limit: None,
        byte_limit: None,
    }
}

fn manifest() -> Manifest {
    Manifest {
        format: Format::JsonArray,
        columns: vec![],
        chunks: vec![],
        total_row_count: 0,
        total_byte_count: 0,
        truncated: false,
        compression: Compression::None,
    }
}

#[tokio::test]
async fn a_statement_is_claimed_once_renewed_and_ended_by_its_holder_only() {
    let (control, store) = faulty().await;
    let w = control.warehouses().create(spec(10), "me").await.unwrap();
    assert_eq!(
        control.warehouses().serve(0).await.unwrap(),
        vec![w.id.clone()]
    );
    let s = control
        .statements()
        .submit(statement(&w.id), "me")
        .await
        .unwrap();
    let queues = vec![w.id.clone()];
    let mut held = control
        .statements()
        .claim_next("a", &queues, 10_000)
        .await
        .unwrap()
        .unwrap();
    assert!(control
        .statements()
        .claim_next("b", &queues, 10_000)
        .await
        .unwrap()
        .is_none());
    // A renewal that meets a conflict of its own making still holds.
    store.inject(Op::Touch, Fault::Conflict);
    assert_eq!(
        control.statements().renew(&mut held, 10_000).await.unwrap(),
        Renewal::Held
    );
    assert!(control
        .statements()
        .finish(&held, Ok(manifest()), None)
        .await
        .unwrap());
    let done = control.statements().get(&s.id, "me").await.unwrap();
    assert_eq!(done.state, StatementState::Succeeded);
    // Another principal does not see it.
    assert!(control.statements().get(&s.id, "eve").await.is_err());
}

#[tokio::test]
async fn a_cancel_takes_a_statement_from_its_worker_who_then_writes_nothing() {
    let (control, _) = faulty().await;
    let w = control.warehouses().create(spec(10), "me").await.unwrap();
    let s = control
        .statements()
        .submit(statement(&w.id), "me")
        .await
        .unwrap();
    let mut held = control
        .statements()
        .claim_next("a", std::slice::from_ref(&w.id), 10_000)
        .await
        .unwrap()
        .unwrap();
    control.statements().cancel(&s.id, "me").await.unwrap();
    assert_eq!(
        control.statements().renew(&mut held, 10_000).await.unwrap(),
        Renewal::Lost
    );
    let error = StatementError::new("BAD_REQUEST", "late");
    assert!(!control
        .statements()
        .finish(&held, Err(error), None)
        .await
        .unwrap());
    assert_eq!(
        control.statements().get(&s.id, "me").await.unwrap().state,
        StatementState::Canceled
    );
}

#[tokio::test]
async fn a_lost_worker_s_statement_is_taken_over_after_its_lease() {
    let (control, _) = faulty().await;
    let w = control.warehouses().create(spec(10), "me").await.unwrap();
    control
        .statements()
        .submit(statement(&w.id), "me")
        .await
        .unwrap();
    let queues = vec![w.id.clone()];
    let first = control
        .statements()
        .claim_next("a", &queues, 1)
        .await
        .unwrap()
        .unwrap();
    // The lease (1 ms) and the clock-skew allowance (1 s) pass without a renewal.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = control
        .statements()
        .claim_next("b", &queues, 10_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.statement.attempts, 2);
    assert!(
        !control
            .statements()
            .finish(&first, Ok(manifest()), None)
            .await
            .unwrap(),
        "fenced"
    );
    assert!(control
        .statements()
        .finish(&second, Ok(manifest()), None)
        .await
        .unwrap());
}

#[tokio::test]
async fn a_released_statement_is_waiting_again_and_its_claim_does_not_count() {
    let (control, _) = faulty().await;
    let w = control.warehouses().create(spec(10), "me").await.unwrap();
    let s = control
        .statements()
        .submit(statement(&w.id), "me")
        .await
        .unwrap();
    let held = control
        .statements()
        .claim(&s.id, "fn", 10_000)
        .await
        .unwrap()
        .unwrap();
    assert!(control.statements().release(&held).await.unwrap());
    let again = control
        .statements()
        .claim_next("w", std::slice::from_ref(&w.id), 10_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.statement.attempts, 1);
}

#[tokio::test]
async fn stopping_a_warehouse_cancels_what_waits_and_a_statement_starts_it_again() {
    let (control, _) = faulty().await;
    let w = control.warehouses().create(spec(10), "me").await.unwrap();
    control.warehouses().serve(0).await.unwrap();
    let waiting = control
        .statements()
        .submit(statement(&w.id), "me")
        .await
        .unwrap();
    control.warehouses().stop(&w.id).await.unwrap();
    assert!(control.warehouses().serve(0).await.unwrap().is_empty());
    assert_eq!(
        control.warehouses().get(&w.id).await.unwrap().state,
        WarehouseState::Stopped
    );
    assert_eq!(
        control
            .statements()
            .get(&waiting.id, "me")
            .await
            .unwrap()
            .state,
        StatementState::Canceled
    );
    control
        .statements()
        .submit(statement(&w.id), "me")
        .await
        .unwrap();
    assert_eq!(
        control.warehouses().get(&w.id).await.unwrap().state,
        WarehouseState::Starting
    );
}

#[tokio::test]
async fn an_idle_warehouse_stops_after_its_auto_stop_minutes() {
    let (control, _) = faulty().await;
    let w = control.warehouses().create(spec(1), "me").await.unwrap();
    let now = lakeplane_control::time::now_ms();
    assert_eq!(control.warehouses().serve(now).await.unwrap().len(), 1);
    assert_eq!(
        control
            .warehouses()
            .serve(now + 59_000)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(control
        .warehouses()
        .serve(now + 61_000)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        control.warehouses().get(&w.id).await.unwrap().state,
        WarehouseState::Stopped
    );
}

#[tokio::test]
async fn ended_statements_expire_and_waiting_ones_stay() {
    let (control, _) = faulty().await;
    let w = control.warehouses().create(spec(10), "me").await.unwrap();
    let ended = control
        .statements()
        .submit(statement(&w.id), "me")
        .await
        .unwrap();
    let waiting = control
        .statements()
        .submit(statement(&w.id), "me")
        .await
        .unwrap();
    control.statements().cancel(&ended.id, "me").await.unwrap();
    let now = lakeplane_control::time::now_ms();
    assert!(
        control
            .statements()
            .expire(now - 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "too recent"
    );
    assert_eq!(
        control.statements().expire(now + 1, 10).await.unwrap(),
        vec![ended.id.clone()]
    );
    assert!(control.statements().get(&ended.id, "me").await.is_err());
    assert_eq!(
        control
            .statements()
            .get(&waiting.id, "me")
            .await
            .unwrap()
            .state,
        StatementState::Pending
    );
}

#[tokio::test]
async fn principal_names_are_unique_and_tokens_expire() {
    use lakeplane_control::principals::PrincipalKind;
    let (control, _) = faulty().await;
    let p = control.principals();
    p.create(PrincipalKind::User, "ann", None).await.unwrap();
    let again = p.create(PrincipalKind::ServicePrincipal, "ann", None).await;
    assert!(matches!(
        again,
        Err(lakeplane_control::ControlError::AlreadyExists { .. })
    ));
    p.create_group("team", Default::default()).await.unwrap();
    assert!(p.create_group("team", Default::default()).await.is_err());

    let t = control.tokens().create("ann", Some(1), None).await.unwrap();
    assert_eq!(
        control
            .tokens()
            .authenticate(&t.value)
            .await
            .unwrap()
            .unwrap()
            .user_name,
        "ann"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(
        control
            .tokens()
            .authenticate(&t.value)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let id = t.info.token_id.unwrap();
    assert!(
        control.tokens().delete("bob", &id).await.is_err(),
        "another's token"
    );
    control.tokens().delete("ann", &id).await.unwrap();
    assert!(control.tokens().list("ann").await.unwrap().is_empty());
}
