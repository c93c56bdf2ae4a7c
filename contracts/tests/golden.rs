//! Golden tests: each message type's JSON is pinned in `tests/golden/`.
//! A failure here means the wire format changed: add a new versioned type
//! instead, or (for a new optional field) regenerate with `UPDATE_GOLDEN=1`.

use contracts::common::ReplyV1;
use contracts::incident::*;
use contracts::{Actor, Envelope, ErrorBody, ErrorCode, Message, Role};
use time::macros::datetime;
use uuid::Uuid;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn agent() -> Actor {
    Actor {
        role: Role::Agent,
        id: id(2),
        name: "Ada Agent".into(),
    }
}

fn incident() -> IncidentV1 {
    IncidentV1 {
        id: id(10),
        reference: "INC-000042".into(),
        status: IncidentStatus::InProgress,
        priority: 2,
        impact: Some(1),
        urgency: Some(2),
        summary: "Mail server down".into(),
        description: "Nobody can send mail".into(),
        customer_id: Some(id(3)),
        category: Some("email".into()),
        service: Some("Exchange".into()),
        assignee_id: Some(id(2)),
        team_id: Some(id(4)),
        resolution: None,
        logged_by: agent(),
        created_at: datetime!(2026-01-02 03:04:05 UTC),
        updated_at: datetime!(2026-01-02 03:14:05 UTC),
        resolved_at: None,
        closed_at: None,
        version: 3,
    }
}

fn action() -> ActionV1 {
    ActionV1 {
        id: id(11),
        kind: ActionKind::Progress,
        text: "Restarted the transport service".into(),
        public: true,
        email_customer: true,
        knowledge_base: false,
        author: agent(),
        created_at: datetime!(2026-01-02 03:10:00 UTC),
    }
}

fn envelope<M: Message>(message: &M) -> Envelope {
    let mut e = Envelope::new(id(1), message);
    e.message_id = id(100);
    e.correlation_id = id(101);
    e.causation_id = Some(id(102));
    e.occurred_at = datetime!(2026-01-02 03:04:05.123 UTC);
    e.traceparent = Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into());
    e
}

fn check<M: Message>(message: &M) {
    let json = serde_json::to_string_pretty(&envelope(message)).expect("serializes");
    let path = format!(
        "{}/tests/golden/{}.json",
        env!("CARGO_MANIFEST_DIR"),
        M::TYPE
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{json}\n")).expect("write golden");
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {path}"));
    assert_eq!(
        json.trim_end(),
        golden.trim_end(),
        "wire form of {}",
        M::TYPE
    );
    // And it reads back to the same value.
    let back = Envelope::from_bytes(golden.as_bytes()).expect("golden parses");
    let decoded: M = back.decode().expect("golden decodes");
    assert_eq!(
        serde_json::to_value(&decoded).expect("to value"),
        serde_json::to_value(message).expect("to value")
    );
}

#[test]
fn commands() {
    check(&LogIncidentV1 {
        actor: agent(),
        summary: "Mail server down".into(),
        description: "Nobody can send mail".into(),
        priority: None,
        impact: Some(1),
        urgency: Some(2),
        customer_id: Some(id(3)),
        category: Some("email".into()),
        service: None,
    });
    check(&GetIncidentV1 {
        viewer: agent(),
        incident: "INC-000042".into(),
    });
    check(&ListIncidentsV1 {
        viewer: agent(),
        filter: IncidentFilter {
            status: Some(IncidentStatus::Open),
            priority: Some(1),
            text: Some("mail".into()),
            ..IncidentFilter::default()
        },
        cursor: Some("0190f0a0-0000-7000-8000-000000000000".into()),
        limit: 50,
    });
    check(&AssignIncidentV1 {
        actor: agent(),
        incident: id(10).to_string(),
        assignee_id: Some(Some(id(2))),
        team_id: Some(None),
    });
    check(&AddIncidentActionV1 {
        actor: agent(),
        incident: id(10).to_string(),
        kind: ActionKind::Note,
        text: "Called the customer".into(),
        public: false,
        email_customer: false,
        knowledge_base: true,
    });
    check(&ChangeIncidentStatusV1 {
        actor: agent(),
        incident: id(10).to_string(),
        to: IncidentStatus::Resolved,
        resolution: Some("Disk replaced".into()),
    });
    check(&ListIncidentActionsV1 {
        viewer: agent(),
        incident: "INC-000042".into(),
    });
    check(&GetIncidentHistoryV1 {
        viewer: agent(),
        incident: "INC-000042".into(),
    });
}

#[test]
fn priority_matrix() {
    check(&GetPriorityMatrixV1 { viewer: agent() });
    check(&SetPriorityMatrixV1 {
        actor: agent(),
        cells: vec![PriorityCell {
            impact: 2,
            urgency: 3,
            priority: 2,
        }],
    });
}

#[test]
fn replies() {
    check(&ReplyV1::Ok(
        serde_json::to_value(incident()).expect("incident to value"),
    ));
    let mut err = ErrorBody::new(ErrorCode::InvalidTransition, "closed → in_progress");
    err.details = Some(serde_json::json!({"from": "closed", "to": "in_progress"}));
    let json = serde_json::to_value(ReplyV1::Error(err)).expect("to value");
    assert_eq!(
        json,
        serde_json::json!({"error": {"code": "invalid_transition", "message": "closed → in_progress",
            "details": {"from": "closed", "to": "in_progress"}}})
    );
}

#[test]
fn events() {
    check(&IncidentLoggedV1 {
        incident: incident(),
    });
    check(&IncidentAssignedV1 {
        incident_id: id(10),
        reference: "INC-000042".into(),
        assignee_id: Some(id(2)),
        team_id: Some(id(4)),
        actor: agent(),
    });
    check(&IncidentActionAddedV1 {
        incident_id: id(10),
        reference: "INC-000042".into(),
        action: action(),
    });
    check(&IncidentStatusChangedV1 {
        incident_id: id(10),
        reference: "INC-000042".into(),
        from: IncidentStatus::InProgress,
        to: IncidentStatus::Resolved,
        resolution: Some("Disk replaced".into()),
        actor: agent(),
    });
}

#[test]
fn decode_refuses_another_type() {
    let e = Envelope::new(
        id(1),
        &GetIncidentV1 {
            viewer: agent(),
            incident: "x".into(),
        },
    );
    assert!(matches!(
        e.decode::<LogIncidentV1>(),
        Err(contracts::DecodeError::WrongType { .. })
    ));
}

#[test]
fn decode_names_the_bad_field() {
    let mut e = Envelope::new(
        id(1),
        &GetIncidentV1 {
            viewer: agent(),
            incident: "x".into(),
        },
    );
    e.payload = serde_json::json!({"viewer": {"role": "janitor", "id": id(1), "name": "x"}, "incident": "x"});
    let err = e.decode::<GetIncidentV1>().expect_err("bad role");
    assert!(err.to_string().contains("janitor"), "{err}");
}
