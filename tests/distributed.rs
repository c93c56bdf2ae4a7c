//! The desk distributed: the edge and two ticketing replicas as separate OS
//! processes, against RabbitMQ and PostgreSQL on loopback, each service with
//! its own database.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::scenarios::{self, Desk};
use common::{Api, Process};
use runtime::testing;
use serde_json::json;

struct Cluster {
    edge: Process,
    replicas: Vec<Process>,
    ticketing_db: String,
    desk: Desk,
}

async fn start(replicas: usize) -> Cluster {
    let edge_db = testing::fresh_postgres("edge").await;
    let ticketing_db = testing::fresh_postgres("ticketing").await;
    let amqp = testing::amqp_url();
    let prefix = testing::unique("desk");
    let common = |db: &str| -> Vec<String> {
        vec![
            "--amqp-url".into(),
            amqp.clone(),
            "--bus-prefix".into(),
            prefix.clone(),
            "--database-url".into(),
            db.to_owned(),
        ]
    };
    let mut ticketing = Vec::new();
    for _ in 0..replicas {
        let mut args = vec!["--target".to_owned(), "ticketing".to_owned()];
        args.extend(common(&ticketing_db));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ticketing.push(Process::serve(&args).await);
    }
    let mut args = vec!["--target".to_owned(), "edge".to_owned()];
    args.extend(common(&edge_db));
    let edge_args: Vec<&str> = args.iter().map(String::as_str).collect();
    let edge = Process::serve(&edge_args).await;
    let desk = Desk {
        base: edge.url().to_owned(),
        store_args: vec!["--database-url".into(), edge_db],
    };
    Cluster {
        edge,
        replicas: ticketing,
        ticketing_db,
        desk,
    }
}

#[tokio::test]
async fn every_scenario_on_the_distributed_desk() {
    let cluster = start(2).await;
    scenarios::all(&cluster.desk).await;
    // Every target serves health and readiness of its own.
    for replica in &cluster.replicas {
        let api = Api::new(replica.url(), None);
        assert_eq!(api.get("/readyz").await.expect(200)["status"], "ready");
    }
    assert_eq!(
        Api::new(cluster.edge.url(), None)
            .get("/readyz")
            .await
            .expect(200)["checks"]["bus"],
        "ok"
    );
}

/// How many commands a ticketing replica has handled, from its /metrics.
async fn commands_handled(replica: &Process) -> u64 {
    let text = Api::new(replica.url(), None)
        .get("/metrics")
        .await
        .expect(200);
    text.as_str()
        .unwrap_or("")
        .lines()
        .filter(|l| l.starts_with("ticketing_commands_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test]
async fn a_replica_killed_mid_load_loses_nothing_and_doubles_nothing() {
    let mut cluster = start(2).await;
    let admin = Arc::new(cluster.desk.tenant("Load Test").await);
    const CLIENTS: usize = 12;
    const PER_CLIENT: usize = 40;
    let killed = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let admin = admin.clone();
        clients.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut refused = 0;
            for n in 0..PER_CLIENT {
                let reply = admin
                    .post(
                        "/api/v1/incidents",
                        json!({"summary": format!("load {c}-{n}"), "priority": 3}),
                    )
                    .await;
                match reply.status.as_u16() {
                    201 => accepted.push(reply.body),
                    503 => refused += 1,
                    other => panic!("unexpected {other}: {}", reply.body),
                }
            }
            (accepted, refused)
        }));
    }
    // Let both replicas take work, then crash one of them mid-load.
    let mut waited = 0;
    while commands_handled(&cluster.replicas[0]).await < 30
        || commands_handled(&cluster.replicas[1]).await < 30
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 1500, "both replicas should take work");
    }
    cluster.replicas[0].kill().await;
    killed.store(true, Ordering::SeqCst);

    let mut accepted = Vec::new();
    let mut refused = 0;
    for c in clients {
        let (a, r) = c.await.expect("client task");
        accepted.extend(a);
        refused += r;
    }
    assert!(killed.load(Ordering::SeqCst));
    assert!(
        accepted.len() >= CLIENTS * PER_CLIENT / 2,
        "most requests succeed: {} of {}",
        accepted.len(),
        CLIENTS * PER_CLIENT
    );

    // Look in the ticketing database itself.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&cluster.ticketing_db)
        .await
        .expect("ticketing db");
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, reference, summary FROM incidents")
            .fetch_all(&pool)
            .await
            .expect("incidents");
    let mut by_summary: HashMap<&str, usize> = HashMap::new();
    for (_, _, summary) in &rows {
        *by_summary.entry(summary.as_str()).or_default() += 1;
    }
    for inc in &accepted {
        let id = inc["id"].as_str().expect("id");
        let summary = inc["summary"].as_str().expect("summary");
        assert_eq!(
            rows.iter().filter(|(i, _, _)| i == id).count(),
            1,
            "accepted {id} stored exactly once"
        );
        assert_eq!(
            by_summary.get(summary),
            Some(&1),
            "{summary} created exactly once"
        );
    }
    // Nothing was done twice, even what was refused (timed out) in between.
    assert!(
        by_summary.values().all(|n| *n == 1),
        "no request done twice"
    );
    let mut refs: Vec<&str> = rows.iter().map(|(_, r, _)| r.as_str()).collect();
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), rows.len(), "references are unique");
    eprintln!(
        "accepted {}, refused {refused}, stored {}",
        accepted.len(),
        rows.len()
    );

    // The survivor carries on alone.
    admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "after the crash", "priority": 2}),
        )
        .await
        .expect(201);
}
