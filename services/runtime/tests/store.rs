//! Store, outbox and inbox tests, run the same on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use contracts::{Envelope, Event, Message};
use runtime::bus::embedded::EmbeddedBus;
use runtime::bus::{Bus, Handler, HandlerError, QueueSpec};
use runtime::inbox;
use runtime::outbox::{self, Outgoing, Relay};
use runtime::store::{Backend, Migration, Store};
use runtime::testing;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ThingHappened {
    n: i64,
}

impl Message for ThingHappened {
    const TYPE: &'static str = "ThingHappenedV1";
    const VERSION: u32 = 1;
}

impl Event for ThingHappened {
    const ROUTING_KEY: &'static str = "test.thing.happened";
}

const THINGS: &[Migration] = &[Migration {
    version: 1,
    name: "things",
    sql: "CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL);",
}];

async fn store(backend: Backend) -> (Store, Option<testing::TempDir>) {
    let (store, dir) = testing::migrated_store(backend, "storetest", &[("test", THINGS)]).await;
    assert_eq!(store.backend(), backend);
    (store, dir)
}

async fn migrations_apply_once(backend: Backend) {
    let (store, _dir) = store(backend).await;
    // Again, and from two tasks at once: nothing is applied twice.
    let (a, b) = tokio::join!(store.migrate("test", THINGS), store.migrate("test", THINGS));
    a.expect("first");
    b.expect("second");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations_test")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(n, 1);
}

/// A migration changed after it was applied is refused, not skipped: the
/// schema would no longer be what the code says.
async fn an_edited_migration_is_refused(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let edited = [Migration {
        sql: "CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, m BIGINT);",
        ..THINGS[0]
    }];
    let refused = store.migrate("test", &edited).await.expect_err("refused");
    assert!(refused.to_string().contains("modified"), "{refused}");
    // Another scope's line is its own: its version 1 is not this one's.
    store
        .migrate(
            "other",
            &[Migration {
                version: 1,
                name: "others",
                sql: "CREATE TABLE others (id TEXT PRIMARY KEY);",
            }],
        )
        .await
        .expect("another scope");
}

/// A store the desk migrated before it used sqlx's migrator (versions kept
/// in `schema_migrations`) upgrades in place: what it applied is not run
/// again, what is new is.
async fn a_store_from_before_upgrades_in_place(backend: Backend) {
    let (url, _dir) = match backend {
        Backend::Postgres => (testing::fresh_postgres("storetest").await, None),
        Backend::Sqlite => {
            let (dir, url) = testing::fresh_sqlite();
            (url, Some(dir))
        }
    };
    let store = Store::connect(&url).await.expect("connect");
    // What the earlier migrator left: the SQL run, the versions recorded.
    let mut tx = store.begin().await.expect("begin");
    sqlx::raw_sql(
        "CREATE TABLE schema_migrations (scope TEXT NOT NULL, version BIGINT NOT NULL, \
         name TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (scope, version))",
    )
    .execute(&mut *tx)
    .await
    .expect("old table");
    for (scope, m) in [("runtime", &runtime::MIGRATIONS[0]), ("test", &THINGS[0])] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql))
            .execute(&mut *tx)
            .await
            .expect("old migration");
        sqlx::query(
            "INSERT INTO schema_migrations (scope, version, name, applied_at) VALUES ($1, $2, $3, 0)",
        )
        .bind(scope)
        .bind(m.version)
        .bind(m.name)
        .execute(&mut *tx)
        .await
        .expect("old record");
    }
    sqlx::query("INSERT INTO things (id, n) VALUES ('kept', 7)")
        .execute(&mut *tx)
        .await
        .expect("a row from before");
    tx.commit().await.expect("commit");

    let next = [
        THINGS[0].clone(),
        Migration {
            version: 2,
            name: "notes",
            sql: "ALTER TABLE things ADD COLUMN note TEXT;",
        },
    ];
    store
        .migrate("runtime", runtime::MIGRATIONS)
        .await
        .expect("runtime upgraded");
    // Version 1 would fail if run again (its table exists).
    store.migrate("test", &next).await.expect("upgraded");
    store
        .migrate("test", &next)
        .await
        .expect("and again: nothing to do");
    let (n, note): (i64, Option<String>) =
        sqlx::query_as("SELECT n, note FROM things WHERE id = 'kept'")
            .fetch_one(store.pool())
            .await
            .expect("the row from before, with the new column");
    assert_eq!((n, note), (7, None));
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations_test ORDER BY version")
            .fetch_all(store.pool())
            .await
            .expect("versions");
    assert_eq!(versions, [1, 2]);
}

struct Collect(mpsc::UnboundedSender<Envelope>);

#[async_trait]
impl Handler for Collect {
    async fn handle(&self, env: Envelope) -> Result<Option<Envelope>, HandlerError> {
        let _ = self.0.send(env);
        Ok(None)
    }
}

async fn write(store: &Store, n: i64, commit: bool) -> Envelope {
    let env = Envelope::new(Uuid::now_v7(), &ThingHappened { n });
    let mut tx = store.begin().await.expect("begin");
    sqlx::query("INSERT INTO things (id, n) VALUES ($1, $2)")
        .bind(Uuid::now_v7().to_string())
        .bind(n)
        .execute(&mut *tx)
        .await
        .expect("insert");
    outbox::enqueue(&mut tx, &[Outgoing::event::<ThingHappened>(env.clone())])
        .await
        .expect("enqueue");
    if commit {
        tx.commit().await.expect("commit");
    } else {
        tx.rollback().await.expect("rollback");
    }
    env
}

async fn outbox_relays_committed_events_only(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let bus = Arc::new(EmbeddedBus::new());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    bus.consume(
        QueueSpec::events("test.things", &["test.#"], 8),
        Arc::new(Collect(tx)),
        stop.clone(),
    )
    .await
    .expect("consume");
    let relay = Relay::new(store.clone(), bus.clone());
    let kept = write(&store, 1, true).await;
    let _dropped = write(&store, 2, false).await;
    assert_eq!(
        relay.pending().await.expect("pending"),
        1,
        "the rolled-back event was never written"
    );
    assert_eq!(relay.relay_once().await.expect("relay"), 1);
    let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("in time")
        .expect("event");
    assert_eq!(got, kept);
    assert_eq!(
        relay.pending().await.expect("pending"),
        0,
        "deleted once confirmed"
    );
    assert_eq!(
        relay.relay_once().await.expect("relay"),
        0,
        "nothing left to do"
    );
    assert!(rx.try_recv().is_err(), "published once");
    stop.cancel();
}

async fn outbox_keeps_what_the_bus_did_not_take(backend: Backend) {
    let (store, _dir) = store(backend).await;
    // A consumer that stops before handling: the embedded publish fails.
    let bus = Arc::new(EmbeddedBus::new());
    let stop = CancellationToken::new();
    let (tx, _rx) = mpsc::unbounded_channel();
    let task = bus
        .consume(
            QueueSpec::events("test.gone", &["test.#"], 1),
            Arc::new(Collect(tx)),
            stop.clone(),
        )
        .await
        .expect("consume");
    stop.cancel();
    task.await.expect("stopped");
    write(&store, 3, true).await;
    let relay = Relay::new(store.clone(), bus.clone());
    let relayed = tokio::time::timeout(Duration::from_millis(300), relay.relay_once()).await;
    // Either the publish is still waiting (timed out here) or it failed:
    // in both cases the row is still there for the next attempt.
    if let Ok(outcome) = relayed {
        assert_eq!(outcome.expect("relay step"), 0);
    }
    assert_eq!(relay.pending().await.expect("pending"), 1);
}

async fn inbox_remembers_replies(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut tx = store.begin().await.expect("begin");
    assert!(
        inbox::check(&mut tx, "c", &[a, b])
            .await
            .expect("check")
            .is_empty()
    );
    inbox::record(
        &mut tx,
        "c",
        vec![(a, Some("the answer".into())), (b, None)],
    )
    .await
    .expect("record");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    let seen = inbox::check(&mut tx, "c", &[a, b, c]).await.expect("check");
    assert_eq!(seen.get(&a), Some(&Some("the answer".to_owned())));
    assert_eq!(seen.get(&b), Some(&None));
    assert!(!seen.contains_key(&c));
    assert!(
        inbox::record(&mut tx, "c", vec![(a, None)]).await.is_err(),
        "recording twice fails, so a racing replica rolls back"
    );
    drop(tx);
    // Another consumer has its own record of the same message.
    let mut tx = store.begin().await.expect("begin");
    assert!(
        inbox::check(&mut tx, "other", &[a])
            .await
            .expect("check")
            .is_empty()
    );
}

async fn many_rows_in_one_statement(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let mut tx = store.begin().await.expect("begin");
    // More rows than fit one statement's parameters, so it splits.
    let rows: Vec<Vec<runtime::store::Param>> = (0..16_000i64)
        .map(|n| vec![Uuid::now_v7().to_string().into(), n.into()])
        .collect();
    runtime::store::insert_many(&mut tx, "things", &["id", "n"], rows)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let (count, sum): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), CAST(SUM(n) AS BIGINT) FROM things")
            .fetch_one(store.pool())
            .await
            .expect("count");
    assert_eq!((count, sum), (16_000, (0..16_000).sum()));
}

/// While a process of the version before holds the lock its migrator took
/// (a transaction lock on [`runtime::migrate::LOCK`]), this version's
/// migrator waits for it, then migrates: the two never migrate at once
/// during a rolling upgrade.
#[tokio::test]
async fn migrating_waits_for_the_migrator_of_the_version_before() {
    const MORE: &[Migration] = &[
        Migration {
            version: 1,
            name: "things",
            sql: "CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL);",
        },
        Migration {
            version: 2,
            name: "notes",
            sql: "CREATE TABLE notes (id TEXT PRIMARY KEY);",
        },
    ];
    let (store, _dir) = store(Backend::Postgres).await;
    let mut old = store.pool().begin().await.expect("a transaction");
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(runtime::migrate::LOCK)
        .execute(&mut *old)
        .await
        .expect("the old migrator's lock");
    let applied = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations_test")
            .fetch_one(store.pool())
            .await
            .expect("count")
    };
    let the_old_one = async {
        // Until the new migrator is waiting for the lock.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            // This database's waiters on the migrations' lock (an advisory
            // lock's 64-bit key is `classid` and `objid`), no other test's.
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND classid = 0 AND objid = $1",
            )
            .bind(runtime::migrate::LOCK)
            .fetch_one(store.pool())
            .await
            .expect("pg_locks");
            if waiting == 1 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the migrator never waited for the lock"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(applied().await, 1, "it migrated while the lock was held");
        old.commit().await.expect("the old migrator is done");
    };
    let (migrated, ()) = tokio::join!(store.migrate("test", MORE), the_old_one);
    migrated.expect("migrates");
    assert_eq!(applied().await, 2);
}

runtime::on_both_stores!(
    migrations_apply_once,
    an_edited_migration_is_refused,
    a_store_from_before_upgrades_in_place,
    outbox_relays_committed_events_only,
    outbox_keeps_what_the_bus_did_not_take,
    inbox_remembers_replies,
    many_rows_in_one_statement,
);
