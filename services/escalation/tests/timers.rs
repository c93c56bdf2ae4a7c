//! The timer store against a real database, on SQLite and PostgreSQL: due
//! timers fire once, late ones are marked, and concurrent firers (replicas)
//! never fire one timer twice.

use std::collections::HashSet;

use escalation::timers::{self, Timer};
use jiff::{Timestamp, ToSpan};
use runtime::store::{Backend, Store};
use runtime::testing;
use uuid::Uuid;

async fn store(backend: Backend) -> (Store, Option<testing::TempDir>) {
    testing::migrated_store(
        backend,
        "escalation",
        &[("escalation", escalation::MIGRATIONS)],
    )
    .await
}

fn timer(tenant: Uuid, ticket: Uuid, timepoint: u32, due_at: Timestamp) -> Timer {
    Timer {
        tenant_id: tenant,
        ticket_id: ticket,
        target: "resolve".into(),
        timepoint,
        due_at,
    }
}

async fn outbox_rows(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(store.pool())
        .await
        .expect("count")
}

async fn due_timers_fire_once_and_late_ones_say_so(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let (tenant, ticket) = (Uuid::now_v7(), Uuid::now_v7());
    let now: Timestamp = "2026-06-01T09:00:00Z".parse().expect("time");
    let mut conn = store.pool().acquire().await.expect("conn");
    let list = [
        timer(tenant, ticket, 0, now - 5.seconds()),
        timer(tenant, ticket, 1, now - 200.milliseconds()),
        timer(tenant, ticket, 2, now + 1.hour()),
    ];
    timers::schedule(&mut conn, tenant, ticket, "resolve", &list)
        .await
        .expect("schedule");
    drop(conn);
    let fired = timers::fire_due(&store, now, 100).await.expect("fire");
    let got: Vec<(u32, bool)> = fired.iter().map(|f| (f.timer.timepoint, f.late)).collect();
    assert_eq!(
        got,
        [(0, true), (1, false)],
        "in due order; 5 s late is late"
    );
    assert!(
        timers::fire_due(&store, now, 100)
            .await
            .expect("fire")
            .is_empty(),
        "once"
    );
    assert_eq!(
        outbox_rows(&store).await,
        2,
        "an event per firing, in the same commit"
    );
    assert_eq!(
        timers::next_due(&store).await.expect("next"),
        Some(now + 1.hour())
    );
    // A recompute replaces what has not fired; what fired stays fired.
    let mut conn = store.pool().acquire().await.expect("conn");
    let moved = [timer(tenant, ticket, 2, now + 30.minutes())];
    timers::schedule(&mut conn, tenant, ticket, "resolve", &moved)
        .await
        .expect("schedule");
    drop(conn);
    assert_eq!(
        timers::next_due(&store).await.expect("next"),
        Some(now + 30.minutes())
    );
    let later = timers::fire_due(&store, now + 2.hours(), 100)
        .await
        .expect("fire");
    assert_eq!(later.len(), 1);
    assert!(later[0].late);
    let mut conn = store.pool().acquire().await.expect("conn");
    timers::cancel(&mut conn, tenant, ticket, "resolve")
        .await
        .expect("cancel");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(rows, 3, "cancelling leaves the fired ones as history");
}

async fn concurrent_firers_never_fire_a_timer_twice(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let tenant = Uuid::now_v7();
    let now: Timestamp = "2026-06-01T09:00:00Z".parse().expect("time");
    let mut conn = store.pool().acquire().await.expect("conn");
    for t in 0..300 {
        let ticket = Uuid::now_v7();
        let due = now - i64::from(t % 7).milliseconds();
        timers::schedule(
            &mut conn,
            tenant,
            ticket,
            "resolve",
            &[timer(tenant, ticket, 0, due)],
        )
        .await
        .expect("schedule");
    }
    drop(conn);
    // Four firers at once, as four replicas' loops would run.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let fired = timers::fire_due(&store, now, 25).await.expect("fire");
                if fired.is_empty() {
                    break;
                }
                mine.extend(fired.into_iter().map(|f| f.timer.ticket_id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let distinct: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(all.len(), 300, "every timer fired");
    assert_eq!(distinct.len(), 300, "none twice");
    assert_eq!(outbox_rows(&store).await, 300);
}

runtime::on_both_stores!(
    due_timers_fire_once_and_late_ones_say_so,
    concurrent_firers_never_fire_a_timer_twice,
);
