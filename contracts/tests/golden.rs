//! Golden tests: each message type's JSON is pinned in `tests/golden/`.
//! A failure here means the wire format changed: add a new versioned type
//! instead, or (for a new optional field) regenerate with `UPDATE_GOLDEN=1`.

use contracts::common::ReplyV1;
use contracts::incident::*;
use contracts::ticket::*;
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
        first_response_at: None,
        supplier_id: None,
        company_id: Some(id(5)),
        // Left out of the wire form when empty: the first version's golden
        // files still hold.
        problem_id: None,
        fields: Default::default(),
        pending_reason: None,
        time_spent_minutes: 0,
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
        minutes: None,
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
    check_as(M::TYPE, message);
}

/// [`check`] against `tests/golden/{name}.json`: a second example of a
/// type, for a form the first does not show.
fn check_as<M: Message>(name: &str, message: &M) {
    let json = serde_json::to_string_pretty(&envelope(message)).expect("serializes");
    let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
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

/// The incident commands of before the one ticket model, still answered
/// for a deprecation period.
#[test]
fn deprecated_incident_commands() {
    check(&LogIncidentV1 {
        actor: agent(),
        summary: "Mail server down".into(),
        description: "Nobody can send mail".into(),
        priority: None,
        impact: Some(1),
        urgency: Some(2),
        customer_id: Some(id(3)),
        company_id: Some(id(5)),
        category: Some("email".into()),
        service: None,
        fields: Default::default(),
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

/// The incident events of before the one ticket model, still accepted for
/// a deprecation period.
#[test]
fn deprecated_incident_events() {
    check(&IncidentLoggedV1 {
        incident: incident(),
    });
    check(&IncidentAssignedV1 {
        incident_id: id(10),
        reference: "INC-000042".into(),
        assignee_id: Some(id(2)),
        team_id: Some(id(4)),
        actor: agent(),
        version: Some(3),
        supplier_id: None,
    });
    check(&IncidentActionAddedV1 {
        incident_id: id(10),
        reference: "INC-000042".into(),
        action: action(),
        version: Some(4),
    });
    check(&IncidentStatusChangedV1 {
        incident_id: id(10),
        reference: "INC-000042".into(),
        from: IncidentStatus::InProgress,
        to: IncidentStatus::Resolved,
        resolution: Some("Disk replaced".into()),
        actor: agent(),
        version: Some(5),
        survey_token: Some("0123abcd".into()),
    });
}

#[test]
fn notification_messages() {
    use contracts::notification::*;
    let template = EmailTemplateV1 {
        kind: EmailKind::Logged,
        language: "fr".into(),
        subject: "[{{reference}}] Bien reçu : {{summary}}".into(),
        text: "Bonjour {{customer_name}},".into(),
        html: Some("<p>Bonjour {{customer_name}},</p>".into()),
        builtin: false,
    };
    let settings = NotificationSettingsV1 {
        disabled: vec![EmailKind::Broadcast],
        broadcasts: vec![BroadcastRuleV1 {
            name: "P1 on Exchange".into(),
            kinds: vec!["incident".into()],
            priority_at_most: Some(1),
            service: Some("Exchange".into()),
            agents: vec![id(2)],
            emails: vec!["oncall@example.com".into()],
        }],
        suppliers: vec![SupplierContactV1 {
            supplier_id: id(6),
            email: "desk@supplier.example".into(),
            name: Some("Supplier desk".into()),
        }],
        ..NotificationSettingsV1::default()
    };
    check(&SetNotificationSettingsV1 {
        actor: agent(),
        settings,
    });
    check(&GetNotificationSettingsV1 { viewer: agent() });
    check(&ListTemplatesV1 { viewer: agent() });
    check(&PutTemplateV1 {
        actor: agent(),
        template: template.clone(),
    });
    check(&DeleteTemplateV1 {
        actor: agent(),
        kind: EmailKind::Logged,
        language: "fr".into(),
    });
    check(&PreviewEmailV1 {
        viewer: agent(),
        kind: EmailKind::Logged,
        language: "fr".into(),
        ticket: "INC-000042".into(),
        template: Some(template),
    });
    check(&ListDeliveriesV1 {
        viewer: agent(),
        ticket: "INC-000042".into(),
    });
    check(&ReceiveEmailV1 {
        actor: agent(),
        raw_base64: "RnJvbTogYUBleGFtcGxlLmNvbQ0KDQpoaQ0K".into(),
    });
    check(&DirectoryChangedV1 {
        entry: DirectoryEntryV1::Customer {
            id: id(3),
            name: "Chloé Client".into(),
            email: Some("chloe@example.com".into()),
            company_id: Some(id(5)),
            language: Some("fr".into()),
            active: true,
        },
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

fn change() -> TicketV1 {
    TicketV1 {
        id: id(20),
        kind: TicketKind::Change,
        reference: "CHG-000007".into(),
        status: "requested".into(),
        priority: 2,
        impact: None,
        urgency: None,
        summary: "Replace the mail server's disks".into(),
        description: String::new(),
        customer_id: None,
        category: None,
        service: Some("Exchange".into()),
        assignee_id: None,
        team_id: None,
        resolution: None,
        logged_by: agent(),
        created_at: datetime!(2026-01-03 09:00:00 UTC),
        updated_at: datetime!(2026-01-03 09:00:00 UTC),
        resolved_at: None,
        closed_at: None,
        version: 1,
        first_response_at: None,
        supplier_id: None,
        company_id: Some(id(5)),
        problem_id: None,
        fields: [("cab".to_owned(), serde_json::json!("2026-01-05"))].into(),
        pending_reason: None,
        time_spent_minutes: 0,
        problem: None,
        change: Some(ChangeDetailsV1 {
            reason: "Disks failing".into(),
            impact_assessment: "Mail down for an hour".into(),
            risk: Risk::Medium,
            risk_assessment: "Tested on the spare".into(),
            backout_plan: "Put the old disks back".into(),
            planned_start: datetime!(2026-01-10 20:00:00 UTC),
            planned_end: datetime!(2026-01-10 22:00:00 UTC),
            affected_items: vec!["MAIL-01".into()],
            approval: ApprovalRule::All,
            approvals: vec![ApprovalV1 {
                approver_id: id(5),
                decision: Some(Decision::Approve),
                comment: Some("Go".into()),
                decided_at: Some(datetime!(2026-01-04 10:00:00 UTC)),
            }],
            review: None,
            backout_reason: None,
            conflicts_with: Vec::new(),
        }),
        request: None,
    }
}

#[test]
fn ticket_commands() {
    check(&LogTicketV1 {
        actor: agent(),
        kind: TicketKind::Change,
        summary: "Replace the mail server's disks".into(),
        description: String::new(),
        priority: Some(2),
        impact: None,
        urgency: None,
        customer_id: None,
        company_id: None,
        category: None,
        service: Some("Exchange".into()),
        fields: [("cab".to_owned(), serde_json::json!("2026-01-05"))].into(),
        change: Some(ChangePlanV1 {
            reason: "Disks failing".into(),
            impact_assessment: String::new(),
            risk: Risk::Low,
            risk_assessment: String::new(),
            backout_plan: "Put the old disks back".into(),
            planned_start: datetime!(2026-01-10 20:00:00 UTC),
            planned_end: datetime!(2026-01-10 22:00:00 UTC),
            affected_items: vec!["MAIL-01".into()],
            approval: ApprovalRule::Any,
            approvers: vec![id(5)],
            incidents: vec!["INC-000042".into()],
            problems: vec![],
        }),
        request_type: None,
    });
    check_as(
        "LogTicketV1.incident",
        &LogTicketV1 {
            actor: agent(),
            kind: TicketKind::Incident,
            summary: "Mail server down".into(),
            description: "Nobody can send mail".into(),
            priority: None,
            impact: Some(1),
            urgency: Some(2),
            customer_id: Some(id(3)),
            company_id: Some(id(5)),
            category: Some("email".into()),
            service: None,
            fields: Default::default(),
            change: None,
            request_type: None,
        },
    );
    check_as(
        "ListTicketsV1.incident",
        &ListTicketsV1 {
            viewer: agent(),
            kind: TicketKind::Incident,
            filter: TicketFilter {
                status: Some("open".into()),
                problem: Some("PRB-000001".into()),
                ..TicketFilter::default()
            },
            cursor: None,
            limit: 50,
        },
    );
    check(&GetTicketV1 {
        viewer: agent(),
        kind: TicketKind::Problem,
        ticket: "PRB-000001".into(),
    });
    check(&ListTicketsV1 {
        viewer: agent(),
        kind: TicketKind::Request,
        filter: TicketFilter {
            status: Some("open".into()),
            fields: [("site".to_owned(), "York".to_owned())].into(),
            ..TicketFilter::default()
        },
        cursor: None,
        limit: 20,
    });
    check(&UpdateTicketV1 {
        actor: agent(),
        kind: TicketKind::Problem,
        ticket: "PRB-000001".into(),
        if_version: None,
        changes: TicketChangesV1 {
            root_cause: Some(Some("A full disk".into())),
            workaround: Some(Some("Delete old logs".into())),
            workaround_flagged: Some(true),
            category: Some(None),
            ..TicketChangesV1::default()
        },
    });
    check(&AssignTicketV1 {
        actor: agent(),
        kind: TicketKind::Request,
        ticket: "REQ-000003".into(),
        if_version: None,
        assignee_id: Some(Some(id(2))),
        team_id: None,
        supplier_id: None,
    });
    check(&ChangeTicketStatusV1 {
        actor: agent(),
        kind: TicketKind::Problem,
        ticket: "PRB-000001".into(),
        if_version: None,
        to: "resolved".into(),
        resolution: Some("Disks replaced".into()),
        outcome: Some(ProblemOutcome::Change),
        pending_reason: None,
        review: None,
        backout_reason: None,
        supplier: None,
    });
    check(&AddActionV1 {
        actor: agent(),
        kind: TicketKind::Problem,
        ticket: "PRB-000001".into(),
        action_kind: ActionKind::Progress,
        text: "Discussing with the vendor".into(),
        public: false,
        email_customer: false,
        knowledge_base: true,
        minutes: None,
        supplier: None,
    });
    check(&ListActionsV1 {
        viewer: agent(),
        kind: TicketKind::Change,
        ticket: "CHG-000007".into(),
    });
    check(&GetHistoryV1 {
        viewer: agent(),
        kind: TicketKind::Change,
        ticket: "CHG-000007".into(),
    });
    check(&LinkIncidentsV1 {
        actor: agent(),
        problem: "PRB-000001".into(),
        incidents: vec!["INC-000042".into()],
    });
    check(&UnlinkIncidentV1 {
        actor: agent(),
        problem: "PRB-000001".into(),
        incident: "INC-000042".into(),
    });
    check(&ApplyWorkaroundV1 {
        actor: agent(),
        problem: "PRB-000001".into(),
        notify_customer: false,
    });
    check(&DecideChangeV1 {
        actor: agent(),
        change: "CHG-000007".into(),
        decision: Decision::Reject,
        comment: Some("Not in month end".into()),
    });
    check(&GetChangeCalendarV1 {
        viewer: agent(),
        from: datetime!(2026-01-01 00:00:00 UTC),
        to: datetime!(2026-02-01 00:00:00 UTC),
    });
    check(&LinkTicketsV1 {
        actor: agent(),
        kind: TicketKind::Incident,
        ticket: "INC-000042".into(),
        link_type: LinkType::CausedBy,
        other_kind: TicketKind::Change,
        other: "CHG-000007".into(),
    });
    check(&UnlinkTicketsV1 {
        actor: agent(),
        kind: TicketKind::Incident,
        ticket: "INC-000042".into(),
        link_id: id(30),
    });
    check(&ListLinksV1 {
        viewer: agent(),
        kind: TicketKind::Incident,
        ticket: "INC-000042".into(),
    });
    let site = FieldDefV1 {
        key: "site".into(),
        label: "Site".into(),
        field_type: FieldType::Choice,
        required: true,
        choices: vec!["Leeds".into(), "York".into()],
        min: None,
        max: None,
        whole: false,
        max_length: None,
    };
    check(&GetFieldDefinitionsV1 {
        viewer: agent(),
        kind: TicketKind::Request,
    });
    check(&SetFieldDefinitionsV1 {
        actor: agent(),
        kind: TicketKind::Request,
        fields: vec![site.clone()],
    });
    check(&DefineRequestTypeV1 {
        actor: agent(),
        name: "New starter".into(),
        description: "Everything a new colleague needs".into(),
        fields: vec![site],
        steps: vec!["Create the account".into(), "Order a laptop".into()],
    });
    check(&ListRequestTypesV1 { viewer: agent() });
    check(&CompleteRequestStepV1 {
        actor: agent(),
        request: "REQ-000003".into(),
        step: 1,
    });
}

#[test]
fn ticket_events() {
    check(&TicketChangedV1 {
        ticket: change(),
        change: "approval".into(),
        actor: agent(),
        action: None,
        survey_token: None,
    });
    let mut resolved = TicketV1::from(incident());
    resolved.status = "resolved".into();
    resolved.resolution = Some("Disk replaced".into());
    resolved.resolved_at = Some(datetime!(2026-01-02 04:00:00 UTC));
    check_as(
        "TicketChangedV1.incident",
        &TicketChangedV1 {
            ticket: resolved,
            change: "status".into(),
            actor: agent(),
            action: None,
            survey_token: Some("0123abcd".into()),
        },
    );
}

/// An incident is a ticket: its view and the ticket go back and forth
/// unchanged, and no other kind of ticket passes for one.
#[test]
fn an_incident_is_a_ticket() {
    let ticket = TicketV1::from(incident());
    assert_eq!(ticket.kind, TicketKind::Incident);
    assert_eq!(
        IncidentV1::try_from(ticket).expect("an incident"),
        incident()
    );
    assert!(IncidentV1::try_from(change()).is_err());
    let mut odd = TicketV1::from(incident());
    odd.status = "known_error".into();
    assert!(IncidentV1::try_from(odd).is_err());
}

#[test]
fn surveys() {
    let token = format!("{}{}", id(1).simple(), "ab".repeat(32));
    check(&GetSurveyV1 {
        token: token.clone(),
    });
    check(&AnswerSurveyV1 {
        token: token.clone(),
        rating: 4,
        comment: Some("Quick".into()),
    });
    check(&GetIncidentSurveyV1 {
        viewer: agent(),
        incident: "INC-000042".into(),
    });
    check(&SurveyOfferedV1 {
        incident_id: id(10),
        reference: "INC-000042".into(),
        customer_id: id(3),
        token,
        expires_at: datetime!(2026-02-01 03:04:05 UTC),
    });
}

#[test]
fn reports() {
    use contracts::report::*;
    let range = ReportRangeV1 {
        from: datetime!(2026-01-01 00:00:00 UTC),
        to: datetime!(2026-04-01 00:00:00 UTC),
        period: Period::Month,
    };
    check(&GetProblemReportV1 {
        viewer: agent(),
        range: range.clone(),
    });
    check(&GetIncidentReportV1 {
        viewer: agent(),
        range,
    });
}

#[test]
fn suppliers() {
    use contracts::supplier::*;
    check(&RegisterSupplierV1 {
        actor: agent(),
        name: "Acme Hardware".into(),
    });
    check(&ListSuppliersV1 { viewer: agent() });
    check(&RotateSupplierTokenV1 {
        actor: agent(),
        supplier: id(40),
    });
    let mut incident = incident();
    incident.supplier_id = Some(id(40));
    check(&SupplierAssignmentV1 {
        supplier_id: id(40),
        incident,
        assigned_by: agent(),
    });
    check(&SupplierUpdateV1 {
        supplier_id: id(40),
        token: format!("sup_{}", "ab".repeat(32)),
        incident: "INC-000042".into(),
        update: SupplierUpdate::Status {
            status: IncidentStatus::InProgress,
        },
    });
    check(&SupplierUnassignedV1 {
        supplier_id: id(40),
        incident_id: id(10),
        reference: "INC-000042".into(),
        unassigned_by: agent(),
    });
    check(&SupplierMessageRejectedV1 {
        message_id: id(100),
        reason: "INC-000042 is not an incident assigned to you".into(),
    });
}

#[test]
fn escalation() {
    check(&contracts::escalation::TimepointReachedV1 {
        ticket_id: id(10),
        target: "resolve".into(),
        timepoint: 3,
        due_at: datetime!(2026-01-02 11:00:00 UTC),
        target_due_at: Some(datetime!(2026-01-02 12:00:00 UTC)),
        time_zone: None,
        fired_at: datetime!(2026-01-02 11:00:00.2 UTC),
        late: false,
        reference: "INC-000042".into(),
        kind: "incident".into(),
        priority: Some(2),
        assignee_id: Some(id(2)),
        team_id: Some(id(4)),
        customer_id: Some(id(3)),
        sla_id: Some(id(50)),
        actions: vec![
            contracts::escalation::Action::RecordAction {
                template: "INC-000042 is an hour from its resolve target".into(),
            },
            contracts::escalation::Action::AlertTeamLeader,
        ],
    });
    check(&contracts::escalation::SlaBreachedV1 {
        ticket_id: id(10),
        reference: "INC-000042".into(),
        kind: "incident".into(),
        target: "response".into(),
        priority: 2,
        assignee_id: None,
        team_id: Some(id(4)),
        due_at: datetime!(2026-01-02 11:00:00 UTC),
    });
    check(&contracts::escalation::TicketTargetsV1 {
        tickets: vec![contracts::escalation::TargetsOfTicket {
            ticket_id: id(10),
            reference: "INC-000042".into(),
            kind: "incident".into(),
            response_due: None,
            resolve_due: Some(datetime!(2026-01-02 17:00:00 UTC)),
            time_zone: None,
        }],
    });
}

#[test]
fn escalation_queries() {
    use contracts::escalation::*;
    check(&GetTicketSlaV1 {
        viewer: agent(),
        kind: "incident".into(),
        ticket: "INC-000042".into(),
    });
    check(&GetSlaComplianceV1 {
        viewer: agent(),
        from: datetime!(2026-01-01 00:00:00 UTC),
        to: datetime!(2026-02-01 00:00:00 UTC),
        kind: Some("incident".into()),
    });
    check(&ListSlaBreachesV1 {
        viewer: agent(),
        from: datetime!(2026-01-01 00:00:00 UTC),
        to: datetime!(2026-02-01 00:00:00 UTC),
        kind: None,
    });
}

#[test]
fn escalation_definitions() {
    use contracts::escalation::*;
    let calendar = CalendarDefinitionV1 {
        name: "Office hours".into(),
        time_zone: "Europe/London".into(),
        week: WeekV1 {
            monday: vec![IntervalV1 {
                start: "09:00".into(),
                end: "17:00".into(),
            }],
            ..WeekV1::default()
        },
        holidays: vec!["2026-12-25".into()],
    };
    check(&DefineCalendarV1 {
        actor: agent(),
        calendar: None,
        if_version: None,
        definition: calendar,
    });
    check(&ListCalendarsV1 { viewer: agent() });
    let target = |minutes, timepoints| Target {
        minutes,
        timepoints,
    };
    check(&DefineSlaV1 {
        actor: agent(),
        sla: Some(id(50)),
        if_version: None,
        definition: SlaDefinitionV1 {
            name: "Gold".into(),
            calendar_id: id(51),
            response_met_by: ResponseMetBy::Either,
            grid: vec![GridRow {
                priority: 1,
                response: target(30, vec![]),
                resolve: target(
                    480,
                    vec![
                        Timepoint {
                            placement: Placement::Before { minutes: 120 },
                            actions: vec![Action::AlertTeamLeader],
                        },
                        Timepoint {
                            placement: Placement::AfterPercent { percent: 50 },
                            actions: vec![
                                Action::RaisePriority { priority: 1 },
                                Action::Reassign {
                                    team_id: Some(id(4)),
                                    agent_id: None,
                                },
                                Action::EmailCustomer {
                                    template: "We are late".into(),
                                },
                            ],
                        },
                    ],
                ),
            }],
        },
    });
    check(&ListSlasV1 { viewer: agent() });
    check(&SetSlaRulesV1 {
        actor: agent(),
        rules: vec![SlaRuleV1 {
            when: Conditions {
                priority: Some(1),
                kind: Some("incident".into()),
                ..Conditions::default()
            },
            sla: id(50),
        }],
    });
    check(&GetSlaRulesV1 { viewer: agent() });
}
