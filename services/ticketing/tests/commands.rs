//! The ticketing command handler against a real store, on SQLite and
//! PostgreSQL: grouped commits, refusals inside a group, redelivery.

use std::sync::Arc;

use contracts::common::ReplyV1;
use contracts::incident::*;
use contracts::ticket::{ChangeTicketStatusV1, LogTicketV1, TicketChangedV1, TicketKind};
use contracts::{Actor, Envelope, ErrorCode, Event, Role};
use runtime::bus::embedded::EmbeddedBus;
use runtime::bus::{Handler, HandlerError};
use runtime::commands::Answering;
use runtime::outbox::Relay;
use runtime::store::{Backend, Store};
use runtime::testing;
use ticketing::commands::Commands;
use uuid::Uuid;

async fn store(backend: Backend) -> (Store, Option<testing::TempDir>) {
    testing::migrated_store(
        backend,
        "ticketing",
        &[("ticketing", ticketing::MIGRATIONS)],
    )
    .await
}

fn agent() -> Actor {
    Actor {
        role: Role::Agent,
        id: Uuid::now_v7(),
        name: "Ada".into(),
    }
}

fn incident(summary: &str, priority: Option<u8>) -> LogTicketV1 {
    LogTicketV1 {
        actor: agent(),
        kind: TicketKind::Incident,
        summary: summary.into(),
        description: String::new(),
        priority,
        impact: None,
        urgency: None,
        customer_id: None,
        company_id: None,
        category: None,
        service: None,
        fields: Default::default(),
        change: None,
        request_type: None,
    }
}

fn log(tenant: Uuid, summary: &str, priority: Option<u8>) -> Envelope {
    Envelope::new(tenant, &incident(summary, priority))
}

fn body(reply: Result<Option<Envelope>, HandlerError>) -> ReplyV1 {
    reply
        .expect("handled")
        .expect("a reply")
        .decode::<ReplyV1>()
        .expect("a ReplyV1")
}

async fn concurrent_commands_commit_together(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let relay = Relay::new(store.clone(), Arc::new(EmbeddedBus::new()));
    let (handler, _writer) =
        Commands::new(store.clone(), relay.clone(), Arc::new(EmbeddedBus::new()));
    let handler = Arc::new(Answering(handler));
    let tenant = Uuid::now_v7();
    // 60 at once, every third one invalid: the writer groups them, and the
    // refused ones must not undo (or be undone by) their neighbours.
    let mut tasks = Vec::new();
    for n in 0..60 {
        let h = handler.clone();
        let env = log(
            tenant,
            &format!("incident {n}"),
            if n % 3 == 0 { Some(9) } else { Some(2) },
        );
        tasks.push(tokio::spawn(async move { (n, body(h.handle(env).await)) }));
    }
    let mut refs = Vec::new();
    for t in tasks {
        let (n, reply) = t.await.expect("task");
        match reply {
            ReplyV1::Ok(v) => {
                assert_ne!(n % 3, 0, "invalid {n} accepted");
                refs.push(v["reference"].as_str().expect("reference").to_owned());
            }
            ReplyV1::Error(e) => {
                assert_eq!(n % 3, 0, "valid {n} refused: {e:?}");
                assert_eq!(e.code, ErrorCode::ValidationFailed);
            }
        }
    }
    refs.sort();
    let expected: Vec<String> = (1..=40).map(|n| format!("INC-{n:06}")).collect();
    assert_eq!(
        refs, expected,
        "references are gap-free: refused commands take no number"
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(stored, 40);
    assert_eq!(
        relay.pending().await.expect("outbox"),
        40,
        "one event per incident, in the same commits"
    );
}

async fn a_redelivered_command_is_answered_not_repeated(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let relay = Relay::new(store.clone(), Arc::new(EmbeddedBus::new()));
    let (handler, _writer) = Commands::new(store.clone(), relay, Arc::new(EmbeddedBus::new()));
    let handler = Arc::new(Answering(handler));
    let tenant = Uuid::now_v7();
    let env = log(tenant, "only once", Some(1));
    // The same message three times, two of them in the same group.
    let (a, b) = tokio::join!(handler.handle(env.clone()), handler.handle(env.clone()));
    let c = handler.handle(env.clone()).await;
    let (a, b, c) = (body(a), body(b), body(c));
    assert_eq!(a, b);
    assert_eq!(a, c);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(stored, 1);
}

async fn malformed_commands_are_rejected_alone(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let relay = Relay::new(store.clone(), Arc::new(EmbeddedBus::new()));
    let (handler, _writer) = Commands::new(store.clone(), relay, Arc::new(EmbeddedBus::new()));
    let handler = Arc::new(Answering(handler));
    let tenant = Uuid::now_v7();
    let mut bad = log(tenant, "x", Some(1));
    bad.payload = serde_json::json!({"summary": 5});
    let mut unknown = log(tenant, "x", Some(1));
    unknown.message_type = "SummonDragonV1".into();
    let good = log(tenant, "fine", Some(1));
    let (bad, unknown, good) = tokio::join!(
        handler.handle(bad),
        handler.handle(unknown),
        handler.handle(good)
    );
    assert!(
        matches!(bad, Err(HandlerError::Reject(ref r)) if r.contains("summary")),
        "{bad:?}"
    );
    assert!(
        matches!(unknown, Err(HandlerError::Reject(ref r)) if r.contains("SummonDragonV1")),
        "{unknown:?}"
    );
    assert!(matches!(body(good), ReplyV1::Ok(_)));
}

async fn lifecycle_rules_hold(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let relay = Relay::new(store.clone(), Arc::new(EmbeddedBus::new()));
    let (handler, _writer) = Commands::new(store.clone(), relay, Arc::new(EmbeddedBus::new()));
    let handler = Arc::new(Answering(handler));
    let tenant = Uuid::now_v7();
    let ReplyV1::Ok(inc) = body(handler.handle(log(tenant, "disk", Some(3))).await) else {
        panic!("logged")
    };
    let id = inc["id"].as_str().expect("id").to_owned();
    let change = |to: IncidentStatus, resolution: Option<&str>| {
        Envelope::new(
            tenant,
            &ChangeTicketStatusV1 {
                actor: agent(),
                kind: TicketKind::Incident,
                ticket: id.clone(),
                if_version: None,
                to: to.as_str().to_owned(),
                resolution: resolution.map(str::to_owned),
                outcome: None,
                pending_reason: None,
                review: None,
                backout_reason: None,
                supplier: None,
            },
        )
    };
    let ReplyV1::Error(e) = body(handler.handle(change(IncidentStatus::Closed, None)).await) else {
        panic!("refused")
    };
    assert_eq!(e.code, ErrorCode::InvalidTransition);
    let ReplyV1::Ok(v) = body(
        handler
            .handle(change(IncidentStatus::Resolved, Some("fixed")))
            .await,
    ) else {
        panic!("resolved")
    };
    assert_eq!(v["version"], 2);
    // Another tenant cannot touch it.
    let other = Envelope::new(
        Uuid::now_v7(),
        &ChangeTicketStatusV1 {
            actor: agent(),
            kind: TicketKind::Incident,
            ticket: id.clone(),
            if_version: None,
            to: IncidentStatus::Closed.as_str().to_owned(),
            resolution: None,
            outcome: None,
            pending_reason: None,
            review: None,
            backout_reason: None,
            supplier: None,
        },
    );
    let ReplyV1::Error(e) = body(handler.handle(other).await) else {
        panic!("refused")
    };
    assert_eq!(e.code, ErrorCode::NotFound);
}

async fn an_expired_command_is_not_carried_out(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let relay = Relay::new(store.clone(), Arc::new(EmbeddedBus::new()));
    let (handler, _writer) = Commands::new(store.clone(), relay, Arc::new(EmbeddedBus::new()));
    let handler = Arc::new(Answering(handler));
    let tenant = Uuid::now_v7();
    let late = log(tenant, "too late", Some(1))
        .expiring_at(time::OffsetDateTime::now_utc() - time::Duration::seconds(1));
    let outcome = handler.handle(late).await;
    assert!(
        matches!(outcome, Err(HandlerError::Reject(ref r)) if r.contains("expired")),
        "{outcome:?}"
    );
    let in_time = log(tenant, "in time", Some(1))
        .expiring_at(time::OffsetDateTime::now_utc() + time::Duration::seconds(30));
    assert!(matches!(
        body(handler.handle(in_time).await),
        ReplyV1::Ok(_)
    ));
    let stored: Vec<String> = sqlx::query_scalar("SELECT summary FROM tickets")
        .fetch_all(store.pool())
        .await
        .expect("rows");
    assert_eq!(stored, ["in time"]);
}

/// A supplier's update is checked against the incident's supplier in the
/// same transaction that applies it: taken back a moment ago is refused.
async fn a_supplier_acts_only_on_what_is_assigned_to_it(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let relay = Relay::new(store.clone(), Arc::new(EmbeddedBus::new()));
    let (handler, _writer) = Commands::new(store.clone(), relay, Arc::new(EmbeddedBus::new()));
    let handler = Arc::new(Answering(handler));
    let tenant = Uuid::now_v7();
    let ReplyV1::Ok(logged) = body(handler.handle(log(tenant, "disk", Some(2))).await) else {
        panic!("logged");
    };
    let supplier = Uuid::now_v7();
    let note = contracts::ticket::AddActionV1 {
        actor: Actor {
            role: Role::Integration,
            id: supplier,
            name: "Acme".into(),
        },
        kind: contracts::ticket::TicketKind::Incident,
        ticket: logged["reference"].as_str().expect("reference").to_owned(),
        action_kind: ActionKind::Note,
        text: "not yours".into(),
        public: false,
        email_customer: false,
        knowledge_base: false,
        minutes: None,
        supplier: Some(supplier),
    };
    match body(handler.handle(Envelope::new(tenant, &note)).await) {
        ReplyV1::Error(e) => assert_eq!(e.code, ErrorCode::Forbidden, "{e:?}"),
        other => panic!("a supplier wrote on an incident not assigned to it: {other:?}"),
    }
    let actions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_actions")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(actions, 0);
}

/// An incident is a ticket: logged with the ticket command (its priority
/// from the matrix), announced with the ticket event; the incident commands
/// of before, still answered, answer with the incident view of the same
/// rows.
async fn an_incident_is_one_ticket_model(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let relay = Relay::new(store.clone(), Arc::new(EmbeddedBus::new()));
    let (handler, _writer) =
        Commands::new(store.clone(), relay.clone(), Arc::new(EmbeddedBus::new()));
    let handler = Arc::new(Answering(handler));
    let tenant = Uuid::now_v7();
    let mut cmd = incident("mail down", None);
    cmd.impact = Some(1);
    cmd.urgency = Some(2);
    let ReplyV1::Ok(ticket) = body(handler.handle(Envelope::new(tenant, &cmd)).await) else {
        panic!("logged")
    };
    assert_eq!(ticket["kind"], "incident");
    assert_eq!(ticket["reference"], "INC-000001");
    assert_eq!(ticket["status"], "open");
    assert_eq!(
        ticket["priority"], 2,
        "impact 1 and urgency 2 by the matrix"
    );
    // Neither priority nor both of impact and urgency: refused.
    let mut vague = incident("vague", None);
    vague.impact = Some(1);
    let ReplyV1::Error(e) = body(handler.handle(Envelope::new(tenant, &vague)).await) else {
        panic!("refused")
    };
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    // Only an incident has an impact.
    let mut problem = incident("why", Some(2));
    problem.kind = TicketKind::Problem;
    problem.impact = Some(1);
    let ReplyV1::Error(e) = body(handler.handle(Envelope::new(tenant, &problem)).await) else {
        panic!("refused")
    };
    assert_eq!(e.code, ErrorCode::ValidationFailed);

    // The deprecated command logs the same kind of ticket, answered as an
    // incident.
    let old = LogIncidentV1 {
        actor: agent(),
        summary: "printer".into(),
        description: String::new(),
        priority: Some(4),
        impact: None,
        urgency: None,
        customer_id: None,
        company_id: None,
        category: None,
        service: None,
        fields: Default::default(),
    };
    let ReplyV1::Ok(v) = body(handler.handle(Envelope::new(tenant, &old)).await) else {
        panic!("logged")
    };
    let logged: IncidentV1 = serde_json::from_value(v.clone()).expect("an incident");
    assert_eq!(logged.reference, "INC-000002");
    assert!(v.get("kind").is_none(), "the incident view: {v}");
    let get = GetIncidentV1 {
        viewer: agent(),
        incident: "INC-000001".into(),
    };
    let ReplyV1::Ok(v) = body(handler.handle(Envelope::new(tenant, &get)).await) else {
        panic!("found")
    };
    assert_eq!(v["id"], ticket["id"]);
    assert_eq!(v["priority"], 2);
    let list = ListIncidentsV1 {
        viewer: agent(),
        filter: IncidentFilter::default(),
        cursor: None,
        limit: 10,
    };
    let ReplyV1::Ok(v) = body(handler.handle(Envelope::new(tenant, &list)).await) else {
        panic!("listed")
    };
    let page: contracts::Page<IncidentV1> = serde_json::from_value(v).expect("a page");
    assert_eq!(page.items.len(), 2);

    // Both announced as tickets.
    let keys: Vec<String> = sqlx::query_scalar("SELECT routing_key FROM outbox")
        .fetch_all(store.pool())
        .await
        .expect("outbox");
    assert_eq!(keys, vec![TicketChangedV1::ROUTING_KEY; 2]);
}

runtime::on_both_stores!(
    an_incident_is_one_ticket_model,
    a_supplier_acts_only_on_what_is_assigned_to_it,
    concurrent_commands_commit_together,
    a_redelivered_command_is_answered_not_repeated,
    malformed_commands_are_rejected_alone,
    lifecycle_rules_hold,
    an_expired_command_is_not_carried_out,
);
