//! The desk distributed: the edge and two ticketing replicas as separate OS
//! processes, against RabbitMQ and PostgreSQL on loopback, each service with
//! its own database.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::scenarios::Desk;
use common::{Api, Process};
use runtime::testing;
use serde_json::json;

struct Cluster {
    edge: Process,
    replicas: Vec<Process>,
    /// The escalation service; held so it runs as long as the cluster.
    _escalation: Process,
    /// Holds the escalation service's test clock file.
    _clock_dir: testing::TempDir,
    /// The notification service.
    _notification: Process,
    ticketing_db: String,
    prefix: String,
    desk: Desk,
}

/// The bus arguments of every target of one cluster.
fn bus_args(prefix: &str, db: &str) -> Vec<String> {
    [
        "--amqp-url",
        &testing::amqp_url(),
        "--bus-prefix",
        prefix,
        "--database-url",
        db,
    ]
    .map(str::to_owned)
    .to_vec()
}

async fn ticketing_replica(prefix: &str, db: &str) -> Process {
    let mut args = vec!["--target".to_owned(), "ticketing".to_owned()];
    args.extend(bus_args(prefix, db));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Process::serve(&args).await
}

async fn start(replicas: usize) -> Cluster {
    start_with(replicas, &[]).await
}

/// [`start`], with `more` arguments to the edge.
async fn start_with(replicas: usize, more: &[&str]) -> Cluster {
    let edge_db = testing::fresh_postgres("edge").await;
    let ticketing_db = testing::fresh_postgres("ticketing").await;
    let escalation_db = testing::fresh_postgres("escalation").await;
    let notification_db = testing::fresh_postgres("notification").await;
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
    let clock_dir = testing::TempDir::new();
    let clock = clock_dir.path().join("clock");
    let mut args = vec![
        "--target".to_owned(),
        "escalation".to_owned(),
        "--test-clock-file".to_owned(),
        clock.to_string_lossy().into_owned(),
    ];
    args.extend(common(&escalation_db));
    let escalation_args: Vec<&str> = args.iter().map(String::as_str).collect();
    let escalation = Process::serve(&escalation_args).await;
    let smtp = testing::SmtpSink::start();
    let mut args = vec![
        "--target".to_owned(),
        "notification".to_owned(),
        "--smtp-url".to_owned(),
        smtp.url(),
    ];
    args.extend(common(&notification_db));
    let notification_args: Vec<&str> = args.iter().map(String::as_str).collect();
    let notification = Process::serve(&notification_args).await;
    let mut args = vec!["--target".to_owned(), "edge".to_owned()];
    args.extend(common(&edge_db));
    args.extend(more.iter().map(|a| (*a).to_owned()));
    let edge_args: Vec<&str> = args.iter().map(String::as_str).collect();
    let edge = Process::serve(&edge_args).await;
    let desk = Desk {
        base: edge.url().to_owned(),
        store_args: vec!["--database-url".into(), edge_db],
        clock,
        smtp,
    };
    Cluster {
        _clock_dir: clock_dir,
        _notification: notification,
        edge,
        replicas: ticketing,
        _escalation: escalation,
        ticketing_db,
        prefix,
        desk,
    }
}

/// A distributed desk of one scenario's own, with two ticketing replicas.
async fn desk(more: &[&str]) -> Cluster {
    start_with(2, more).await
}

common::scenarios::every_scenario!(desk);

#[tokio::test]
async fn every_target_answers_for_its_own_readiness() {
    let cluster = start(2).await;
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
    replica_stopped_mid_load(Stop::Kill).await;
}

#[tokio::test]
async fn a_replica_stopped_by_sigterm_mid_load_finishes_its_work() {
    replica_stopped_mid_load(Stop::Term).await;
}

enum Stop {
    /// SIGKILL: a crash.
    Kill,
    /// SIGTERM: a rolling restart.
    Term,
}

async fn replica_stopped_mid_load(how: Stop) {
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
    match how {
        Stop::Kill => cluster.replicas[0].kill().await,
        Stop::Term => {
            let status = cluster.replicas[0].terminate().await;
            assert!(
                status.success(),
                "a replica stops cleanly on SIGTERM: {status}"
            );
        }
    }
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
        sqlx::query_as("SELECT id, reference, summary FROM tickets")
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

/// Collects the events a cluster publishes.
struct Events(tokio::sync::mpsc::UnboundedSender<contracts::Envelope>);

#[async_trait::async_trait]
impl runtime::bus::Handler for Events {
    async fn handle(
        &self,
        env: contracts::Envelope,
    ) -> Result<Option<contracts::Envelope>, runtime::bus::HandlerError> {
        let _ = self.0.send(env);
        Ok(None)
    }
}

#[tokio::test]
async fn one_trace_spans_edge_broker_ticketing_and_the_events() {
    use runtime::bus::Bus;
    let cluster = start(1).await;
    let bus = runtime::bus::amqp::AmqpBus::connect(&testing::amqp_url(), &cluster.prefix)
        .await
        .expect("RabbitMQ");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = tokio_util::sync::CancellationToken::new();
    let spec = runtime::bus::QueueSpec::events("test.observer", &["ticketing.ticket.*"], 16);
    bus.consume(spec, Arc::new(Events(tx)), stop.clone())
        .await
        .expect("observe events");

    let admin = cluster.desk.tenant("Traced").await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let reply = reqwest::Client::new()
        .post(format!("{}/api/v1/incidents", cluster.desk.base))
        .bearer_auth(admin.token.as_deref().expect("token"))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&json!({"summary": "traced", "priority": 2}))
        .send()
        .await
        .expect("sent");
    assert_eq!(reply.status().as_u16(), 201);
    let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the event within 10 s")
        .expect("an event");
    assert_eq!(event.message_type, "TicketChangedV1");
    let tp = event
        .traceparent
        .as_deref()
        .expect("the event carries the trace context");
    assert_eq!(runtime::telemetry::trace_id(tp), Some(trace), "{tp}");
    assert!(
        event.causation_id.is_some(),
        "the event names the command that caused it"
    );
    stop.cancel();
}

#[tokio::test]
async fn without_ticketing_the_edge_answers_503_and_recovers() {
    let edge_db = testing::fresh_postgres("edge").await;
    let ticketing_db = testing::fresh_postgres("ticketing").await;
    let prefix = testing::unique("desk");
    let mut args = vec![
        "--target".to_owned(),
        "edge".to_owned(),
        "--request-timeout".to_owned(),
        "2".to_owned(),
    ];
    args.extend(bus_args(&prefix, &edge_db));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let edge = Process::serve(&args).await;
    let desk = Desk {
        base: edge.url().to_owned(),
        store_args: vec!["--database-url".into(), edge_db],
        clock: std::path::PathBuf::new(),
        smtp: testing::SmtpSink::unstarted(),
    };
    let admin = desk.tenant("Patient").await;

    // Ticketing has never run: nothing takes the command.
    let body = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "too early", "priority": 1}),
        )
        .await;
    let body = body.error(503, "dependency_unavailable");
    assert!(
        body["message"].as_str().unwrap_or("").contains("ticketing"),
        "{body}"
    );

    // Ticketing came and went: the command waits in its queue, the caller
    // gives up after the timeout, and the command expires unprocessed.
    let mut replica = ticketing_replica(&prefix, &ticketing_db).await;
    replica.kill().await;
    admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "while down", "priority": 1}),
        )
        .await
        .error(503, "dependency_unavailable");

    // It returns: the desk works again by itself, and what the caller was
    // told failed was not done behind their back.
    let _replica = ticketing_replica(&prefix, &ticketing_db).await;
    admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "after", "priority": 1}),
        )
        .await
        .expect(201);
    let list = admin.get("/api/v1/incidents").await.expect(200);
    let summaries: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["summary"].as_str())
        .collect();
    assert_eq!(summaries, ["after"]);
    assert_eq!(admin.get("/readyz").await.expect(200)["status"], "ready");
}

/// Closes, from the broker's side, every connection of the desk using
/// `prefix` (as a broker restart or a network cut would).
fn broker_drops_connections(prefix: &str) -> usize {
    let out = std::process::Command::new("rabbitmqctl")
        .args(["list_connections", "pid", "client_properties"])
        .output()
        .expect("rabbitmqctl (installed with RabbitMQ) is needed by this test");
    let listing = String::from_utf8_lossy(&out.stdout);
    let name = format!("servicedesk-{prefix}");
    let pids: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains(&name))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for pid in &pids {
        let closed = std::process::Command::new("rabbitmqctl")
            .args(["close_connection", pid, "test: the broker drops the desk"])
            .status()
            .expect("rabbitmqctl close_connection");
        assert!(closed.success(), "closing {pid}");
    }
    pids.len()
}

#[tokio::test]
async fn the_desk_recovers_when_the_broker_drops_its_connections() {
    let cluster = start(1).await;
    let admin = cluster.desk.tenant("Resilient").await;
    admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "before", "priority": 2}),
        )
        .await
        .expect(201);
    let dropped = broker_drops_connections(&cluster.prefix);
    assert!(
        dropped >= 2,
        "the edge's and ticketing's connections were dropped ({dropped})"
    );
    // The connections recover by themselves; the desk answers again.
    let mut recovered = false;
    for _ in 0..60 {
        let reply = admin
            .post(
                "/api/v1/incidents",
                json!({"summary": "after", "priority": 2}),
            )
            .await;
        match reply.status.as_u16() {
            201 => {
                recovered = true;
                break;
            }
            503 => tokio::time::sleep(Duration::from_millis(500)).await,
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert!(recovered, "the desk works again within 30 s");
    assert_eq!(admin.get("/readyz").await.expect(200)["status"], "ready");
    let listed = admin.get("/api/v1/incidents?q=after").await.expect(200);
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "created once"
    );
}

/// Runs one statement on the test server's maintenance database.
async fn admin_sql(sql: String) {
    sqlx::any::install_default_drivers();
    let mut conn =
        <sqlx::AnyConnection as sqlx::Connection>::connect(&testing::postgres_server_url())
            .await
            .expect("PostgreSQL");
    sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql))
        .await
        .expect("admin statement");
}

#[tokio::test]
async fn the_edge_answers_503_while_its_database_is_down_and_recovers() {
    let cluster = start(1).await;
    let admin = cluster.desk.tenant("Outage").await;
    admin
        .post("/api/v1/teams", json!({"name": "Night shift"}))
        .await
        .expect(201);
    let url = &cluster.desk.store_args[1];
    let db = url.rsplit('/').next().expect("database name").to_owned();

    // The edge's database goes away: no new connections, the open ones cut.
    admin_sql(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false")).await;
    admin_sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await;
    let down = admin
        .get("/api/v1/teams")
        .await
        .error(503, "dependency_unavailable");
    assert!(
        down["message"].as_str().unwrap_or("").contains("database"),
        "{down}"
    );
    assert_eq!(
        admin.get("/readyz").await.status.as_u16(),
        503,
        "not ready while the database is down"
    );

    // It comes back: so does the edge, by itself.
    admin_sql(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true")).await;
    let mut back = false;
    for _ in 0..40 {
        if admin.get("/api/v1/teams").await.status.as_u16() == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(back, "the edge recovers within 10 s");
    let teams = admin.get("/api/v1/teams").await.expect(200);
    assert_eq!(teams["items"][0]["name"], "Night shift", "nothing was lost");
}

/// A supplier, played by a Python program with pika (from PyPI), receives an
/// incident over the queue and resolves it through the queue; what it may
/// not do is dead-lettered with a reason, and it is told why.
#[tokio::test]
async fn a_supplier_works_an_incident_over_the_queue() {
    let cluster = start(1).await;
    let admin = cluster.desk.tenant("Supplier Co").await;
    let acme = admin
        .post("/api/v1/suppliers", json!({"name": "Acme Hardware"}))
        .await
        .expect(201);
    let other = admin
        .post("/api/v1/suppliers", json!({"name": "Other Parts"}))
        .await
        .expect(201);
    admin
        .post("/api/v1/suppliers", json!({"name": "acme hardware"}))
        .await
        .error(409, "conflict");
    assert_eq!(
        acme["queue"],
        format!("supplier.{}", acme["supplier"]["id"].as_str().expect("id"))
    );
    // A retried registration is answered, not done again, and the token is
    // not kept to be shown twice.
    let register = || {
        reqwest::Client::new()
            .post(format!("{}/api/v1/suppliers", cluster.desk.base))
            .bearer_auth(admin.token.as_deref().unwrap_or(""))
            .header("Idempotency-Key", "register-spare-parts")
            .json(&json!({"name": "Spare Parts"}))
            .send()
    };
    let first: serde_json::Value = register().await.expect("sent").json().await.expect("json");
    let again: serde_json::Value = register().await.expect("sent").json().await.expect("json");
    assert_eq!(first["supplier"]["id"], again["supplier"]["id"]);
    assert!(
        first["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("sup_")),
        "{first}"
    );
    assert_eq!(again["token"], "(shown once, when it was issued)");
    let listed = admin.get("/api/v1/suppliers").await.expect(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
    assert!(
        listed.to_string().find("token").is_none(),
        "tokens are shown once"
    );

    admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Disk failing on MAIL-01", "priority": 2}),
        )
        .await
        .expect(201);
    admin
        .post(
            "/api/v1/incidents/INC-000001/assign",
            json!({"supplier_id": "0190f0a0-0000-7000-8000-000000000001"}),
        )
        .await
        .error(400, "validation_failed");
    let assigned = admin
        .post(
            "/api/v1/incidents/INC-000001/assign",
            json!({"supplier_id": acme["supplier"]["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(assigned["supplier_id"], acme["supplier"]["id"]);

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/supplier/supplier.py"
    );
    let run = tokio::process::Command::new("python3")
        .arg(script)
        .env("AMQP_URL", testing::amqp_url())
        .env("BUS_PREFIX", &cluster.prefix)
        .env("SUPPLIER_ID", acme["supplier"]["id"].as_str().expect("id"))
        .env("SUPPLIER_TOKEN", acme["token"].as_str().expect("token"))
        .env(
            "OTHER_SUPPLIER_ID",
            other["supplier"]["id"].as_str().expect("id"),
        )
        .env(
            "OTHER_SUPPLIER_TOKEN",
            other["token"].as_str().expect("token"),
        )
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the supplier finishes")
        .expect("python3 runs (pika installed from PyPI)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "supplier failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("a JSON line");
    assert_eq!(seen["incident"], "INC-000001");
    assert!(
        seen["rejected"]
            .as_str()
            .is_some_and(|r| r.contains("SupplierUpdateV1")),
        "{seen}"
    );
    assert!(
        seen["foreign"]
            .as_str()
            .is_some_and(|r| r.contains("not an incident assigned to you")),
        "{seen}"
    );

    // The updates are taken in order: resolved, by the supplier.
    let mut incident = serde_json::Value::Null;
    for _ in 0..100 {
        incident = admin.get("/api/v1/incidents/INC-000001").await.expect(200);
        if incident["status"] == "resolved" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(incident["status"], "resolved", "{incident}");
    assert_eq!(incident["resolution"], "Disk replaced under warranty");
    let actions = admin
        .get("/api/v1/incidents/INC-000001/actions")
        .await
        .expect(200);
    assert_eq!(
        actions.as_array().map(Vec::len),
        Some(1),
        "only the real note: {actions}"
    );
    assert_eq!(actions[0]["text"], "Replacement disk ordered");
    assert_eq!(actions[0]["author"]["name"], "Acme Hardware");
    let history = admin
        .get("/api/v1/incidents/INC-000001/history")
        .await
        .expect(200);
    let by_supplier = history
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|e| e["change"] == "status" && e["actor"]["name"] == "Acme Hardware")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(by_supplier, 2, "in_progress, then resolved: {history}");

    // A new token replaces the old one at once.
    let acme_id = acme["supplier"]["id"].as_str().expect("id");
    let rotated = admin
        .post(&format!("/api/v1/suppliers/{acme_id}/token"), json!({}))
        .await
        .expect(200);
    assert_ne!(rotated["token"], acme["token"]);
    admin
        .post(
            "/api/v1/suppliers/0190f0a0-0000-7000-8000-000000000001/token",
            json!({}),
        )
        .await
        .error(404, "not_found");

    // Each refused message is a dead letter with its reason.
    let bus = runtime::bus::amqp::AmqpBus::connect(&testing::amqp_url(), &cluster.prefix)
        .await
        .expect("broker");
    let mut reasons = Vec::new();
    for _ in 0..50 {
        reasons.extend(
            bus.take_dead_letters(100)
                .await
                .expect("dead letters")
                .into_iter()
                .map(|d| d.reason),
        );
        if reasons.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for expected in [
        "not a valid SupplierUpdateV1",
        "not an incident assigned to you",
        "not its token",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "{expected} in {reasons:?}"
        );
    }
}

/// Every queue of the desk, as `<prefix>.<name>`.
const QUEUES: [&str; 7] = [
    "ticketing.commands",
    "ticketing.escalations",
    "ticketing.supplier-updates",
    "escalation.commands",
    "escalation.tickets",
    "notification.commands",
    "notification.events",
];

/// `servicedesk dead-letters <args> --amqp-url … --bus-prefix …`: its
/// standard output, after checking it succeeded.
async fn dead_letters(prefix: &str, args: &[&str]) -> String {
    let out = tokio::process::Command::new(common::BIN)
        .arg("dead-letters")
        .args(args)
        .args(["--amqp-url", &testing::amqp_url(), "--bus-prefix", prefix])
        .output()
        .await
        .expect("servicedesk dead-letters runs");
    assert!(
        out.status.success(),
        "dead-letters {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The listed letters: (message id, queue, reason).
fn listed(table: &str) -> Vec<(String, String, String)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // id, age, queue, reason (words), type
            let (id, queue) = (cols.first()?, cols.get(2)?);
            let reason = cols.get(3..cols.len() - 1)?.join(" ");
            Some((id.to_string(), queue.to_string(), reason))
        })
        .collect()
}

#[tokio::test]
async fn poison_on_every_queue_is_dead_lettered_and_worked_by_hand() {
    let cluster = start(1).await;
    let admin = cluster.desk.tenant("Poisoned").await;
    let bus = runtime::bus::amqp::AmqpBus::connect(&testing::amqp_url(), &cluster.prefix)
        .await
        .expect("broker");
    // A type nobody handles, in a well-formed envelope.
    let unknown = json!({
        "message_id": uuid::Uuid::now_v7(), "message_type": "NoSuchThingV1", "type_version": 1,
        "tenant_id": uuid::Uuid::now_v7(), "occurred_at": "2026-01-01T00:00:00Z",
        "correlation_id": uuid::Uuid::now_v7(), "payload": {}});
    for queue in QUEUES {
        for poison in [
            b"{ not an envelope".to_vec(),
            unknown.to_string().into_bytes(),
        ] {
            bus.send_raw(queue, &poison).await.expect("poison sent");
        }
    }
    // The messages behind the poison are handled: an incident is logged
    // (ticketing's commands), gets its clock (escalation's tickets) and is
    // read back.
    let incident = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "behind the poison", "priority": 2}),
        )
        .await
        .expect(201);
    let id = incident["id"].as_str().expect("id");
    admin
        .get(&format!("/api/v1/incidents/{id}"))
        .await
        .expect(200);

    // Each poison is a dead letter of its queue, with its reason.
    let mut letters = Vec::new();
    for _ in 0..100 {
        letters = listed(&dead_letters(&cluster.prefix, &["list", "--limit", "1000"]).await);
        if letters.len() >= 2 * QUEUES.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for queue in QUEUES {
        let reasons: Vec<&str> = letters
            .iter()
            .filter(|(_, q, _)| q == queue)
            .map(|(_, _, r)| r.as_str())
            .collect();
        assert_eq!(reasons.len(), 2, "{queue}: {letters:?}");
        assert!(
            reasons.iter().any(|r| r.starts_with("malformed envelope")),
            "{queue}: {reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("NoSuchThingV1")),
            "{queue} names the unknown type: {reasons:?}"
        );
    }

    // One shown in full, replayed (it comes back: still poison), purged.
    let (first, queue, _) = letters[0].clone();
    let shown: serde_json::Value =
        serde_json::from_str(&dead_letters(&cluster.prefix, &["show", &first]).await)
            .expect("show prints JSON");
    assert_eq!(shown["message_id"], first.as_str());
    assert_eq!(shown["queue"], queue.as_str());
    assert!(shown["age_seconds"].is_u64(), "{shown}");
    let replayed = dead_letters(&cluster.prefix, &["replay", &first]).await;
    assert_eq!(replayed.trim(), "replayed 1 dead letter(s)");
    let mut back = false;
    for _ in 0..100 {
        let now = listed(&dead_letters(&cluster.prefix, &["list", "--limit", "1000"]).await);
        if now.len() == letters.len() && now.iter().any(|(id, _, _)| *id == first) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(back, "the replayed poison is dead-lettered again");
    let purged = dead_letters(
        &cluster.prefix,
        &["purge", "--all", "--queue", "ticketing.commands"],
    )
    .await;
    assert_eq!(purged.trim(), "purged 2 dead letter(s)");
    let left = listed(&dead_letters(&cluster.prefix, &["list", "--limit", "1000"]).await);
    assert_eq!(left.len(), letters.len() - 2, "{left:?}");
    assert!(left.iter().all(|(_, q, _)| q != "ticketing.commands"));
    dead_letters(&cluster.prefix, &["purge", "--all"]).await;
    assert!(listed(&dead_letters(&cluster.prefix, &["list"]).await).is_empty());
}

/// The rate limits hold across two edge replicas sharing one database: a
/// token's budget spent half on each is spent.
#[tokio::test]
async fn rate_limits_hold_across_edge_replicas() {
    let edge_db = testing::fresh_postgres("edge").await;
    let prefix = testing::unique("desk");
    let mut args = vec![
        "--target".to_owned(),
        "edge".to_owned(),
        "--failed-auth-limit".to_owned(),
        "3".to_owned(),
        "--token-request-limit".to_owned(),
        "12".to_owned(),
    ];
    args.extend(bus_args(&prefix, &edge_db));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let one = Process::serve(&args).await;
    let two = Process::serve(&args).await;
    let (_, token) = common::create_tenant("Limited", &["--database-url", &edge_db]).await;
    let edges = [
        Api::new(one.url(), Some(&token)),
        Api::new(two.url(), Some(&token)),
    ];
    // What the first replica counted is in the store once it shared it.
    let shared = async |n: u64| {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&edge_db)
            .await
            .expect("the edge's database");
        for _ in 0..200 {
            let most: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(used), 0) FROM rate_counts WHERE subject LIKE 'token:%'",
            )
            .fetch_one(&mut conn)
            .await
            .expect("read the counts");
            if most.unsigned_abs() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the first replica never shared its count of {n}");
    };
    common::limits::limits_hold(&edges, 3, 12, shared).await;
}
