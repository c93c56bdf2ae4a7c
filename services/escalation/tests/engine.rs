//! The engine against a real database, on SQLite and PostgreSQL, with time
//! driven by the test: ticket events move the clocks, timers fire once
//! each (all twelve timepoints of a target, each action), pauses and
//! recomputes move them, concurrent firers (replicas) never fire one twice,
//! and a firer that dies mid-firing loses nothing.

use std::collections::HashSet;
use std::sync::Arc;

use contracts::common::ReplyV1;
use contracts::escalation::*;
use contracts::{Actor, Envelope, Role};
use escalation::calendar::Calendar;
use escalation::commands::Commands;
use escalation::firing::{self, Fired};
use escalation::now::{ManualNow, to_time};
use escalation::track::{Change, Event, Snapshot};
use escalation::{definitions, timers, tracker};
use jiff::{Timestamp, ToSpan};
use runtime::bus::Handler;
use runtime::commands::Answering;
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

fn admin() -> Actor {
    Actor {
        role: Role::Admin,
        id: Uuid::now_v7(),
        name: "Ada Admin".into(),
    }
}

fn t0() -> Timestamp {
    "2026-06-01T09:00:00Z".parse().expect("time")
}

fn tp(placement: Placement, actions: Vec<Action>) -> Timepoint {
    Timepoint { placement, actions }
}

/// A 24x7 UTC calendar, an SLA with `grid` under it, and a rule giving it
/// to every ticket; returns the tenant.
async fn define(store: &Store, grid: Vec<GridRow>, met_by: ResponseMetBy) -> Uuid {
    define_with_calendar(store, grid, met_by).await.0
}

/// As [`define`]; returns the tenant, the calendar's id and the SLA's.
async fn define_with_calendar(
    store: &Store,
    grid: Vec<GridRow>,
    met_by: ResponseMetBy,
) -> (Uuid, Uuid, Uuid) {
    let tenant = Uuid::now_v7();
    let mut tx = store.begin().await.expect("tx");
    let calendar = definitions::define_calendar(
        &mut tx,
        tenant,
        DefineCalendarV1 {
            actor: admin(),
            calendar: None,
            if_version: None,
            definition: Calendar::around_the_clock("24x7"),
        },
    )
    .await
    .expect("calendar");
    let sla = definitions::define_sla(
        &mut tx,
        tenant,
        DefineSlaV1 {
            actor: admin(),
            sla: None,
            if_version: None,
            definition: SlaDefinitionV1 {
                name: "Gold".into(),
                calendar_id: calendar.id,
                response_met_by: met_by,
                grid,
            },
        },
    )
    .await
    .expect("sla");
    definitions::set_rules(
        &mut tx,
        tenant,
        SetSlaRulesV1 {
            actor: admin(),
            rules: vec![SlaRuleV1 {
                when: Conditions::default(),
                sla: sla.id,
            }],
        },
    )
    .await
    .expect("rules");
    tx.commit().await.expect("commit");
    (tenant, calendar.id, sla.id)
}

fn target(minutes: u32, timepoints: Vec<Timepoint>) -> Target {
    Target {
        minutes,
        timepoints,
    }
}

fn snapshot(reference: &str, status: &str, priority: u8) -> Snapshot {
    Snapshot {
        logged_at: None,
        answered: false,
        kind: "incident".into(),
        reference: reference.into(),
        status: status.into(),
        priority,
        service: None,
        customer_id: None,
        company_id: None,
        assignee_id: None,
        team_id: None,
    }
}

/// Applies `change` to `ticket` at `at`, as the tracker does an event.
async fn happen(store: &Store, tenant: Uuid, ticket: Uuid, at: Timestamp, change: Change) {
    happen_as_of(store, tenant, ticket, at, change, None).await;
}

/// [`happen`], for an event that says the ticket's version after it.
async fn happen_as_of(
    store: &Store,
    tenant: Uuid,
    ticket: Uuid,
    at: Timestamp,
    change: Change,
    version: Option<i64>,
) {
    let event = Event {
        tenant_id: tenant,
        ticket_id: ticket,
        at,
        change,
        version,
    };
    tracker::apply(store, &[(Uuid::now_v7(), &event)])
        .await
        .expect("apply");
}

fn logged(reference: &str) -> Change {
    Change::Snapshot {
        ticket: snapshot(reference, "open", 3),
        assigned_by: None,
        acted_by: None,
    }
}

async fn fire(store: &Store, now: Timestamp) -> Vec<Fired> {
    firing::fire_due(store, now, 100).await.expect("fire")
}

/// The timepoint events in the outbox, in the order they were due.
async fn reached(store: &Store) -> Vec<TimepointReachedV1> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT envelope FROM outbox WHERE routing_key = 'escalation.timepoint.reached'",
    )
    .fetch_all(store.pool())
    .await
    .expect("outbox");
    let mut events: Vec<TimepointReachedV1> = rows
        .iter()
        .map(|r| {
            let env: Envelope = serde_json::from_str(r).expect("envelope");
            env.decode().expect("event")
        })
        .collect();
    events.sort_by_key(|e| (e.due_at, e.timepoint));
    events
}

async fn ticket_sla(store: &Store, tenant: Uuid, reference: &str, now: Timestamp) -> TicketSlaV1 {
    let mut conn = store.pool().acquire().await.expect("conn");
    escalation::queries::ticket_sla(
        &mut conn,
        tenant,
        &GetTicketSlaV1 {
            viewer: admin(),
            kind: "incident".into(),
            ticket: reference.into(),
        },
        now,
    )
    .await
    .expect("sla")
}

async fn all_twelve_timepoints_fire_once_each_with_their_actions(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let (team, agent) = (Uuid::now_v7(), Uuid::now_v7());
    // Ten hours to resolve; twelve timepoints of every placement, between
    // them every action.
    let twelve = vec![
        tp(
            Placement::Before { minutes: 120 },
            vec![Action::AlertAssignee],
        ),
        tp(
            Placement::Before { minutes: 60 },
            vec![Action::AlertTeamLeader],
        ),
        tp(
            Placement::Before { minutes: 30 },
            vec![Action::AlertAgents {
                agents: vec![agent],
            }],
        ),
        tp(
            Placement::Target,
            vec![Action::RecordAction {
                template: "{{reference}} missed its {{target}} target under {{sla}}".into(),
            }],
        ),
        tp(
            Placement::After { minutes: 15 },
            vec![Action::EmailCustomer {
                template: "Sorry: {{reference}} is late".into(),
            }],
        ),
        tp(
            Placement::After { minutes: 30 },
            vec![Action::Reassign {
                team_id: Some(team),
                agent_id: None,
            }],
        ),
        tp(
            Placement::After { minutes: 60 },
            vec![Action::RaisePriority { priority: 1 }],
        ),
        tp(
            Placement::After { minutes: 120 },
            vec![Action::WarnResponseBreach],
        ),
        tp(
            Placement::AfterPercent { percent: 25 },
            vec![Action::AlertAssignee],
        ),
        tp(
            Placement::AfterPercent { percent: 50 },
            vec![Action::AlertTeamLeader],
        ),
        tp(
            Placement::AfterPercent { percent: 75 },
            vec![Action::AlertAssignee],
        ),
        tp(
            Placement::AfterPercent { percent: 100 },
            vec![Action::AlertTeamLeader],
        ),
    ];
    let offsets = [480, 540, 570, 600, 615, 630, 660, 720, 750, 900, 1050, 1200];
    let grid = vec![GridRow {
        priority: 3,
        response: target(60, vec![]),
        resolve: target(600, twelve),
    }];
    let tenant = define(&store, grid, ResponseMetBy::FirstAction).await;
    let ticket = Uuid::now_v7();
    happen(&store, tenant, ticket, t0(), logged("INC-000001")).await;
    assert_eq!(
        timers::next_due(&store).await.expect("next"),
        Some(t0() + 60.minutes()),
        "the response breach comes first"
    );
    // The response breach, on time.
    let breach = fire(&store, t0() + 60.minutes()).await;
    assert_eq!(breach.len(), 1);
    assert_eq!((breach[0].timer.timepoint, breach[0].late), (None, false));
    // Each timepoint at its minute, on time, once.
    for (n, minutes) in offsets.iter().enumerate() {
        let due = t0() + i64::from(*minutes).minutes();
        assert!(
            fire(&store, due - 1.second()).await.is_empty(),
            "timepoint {n} not before it is due"
        );
        let fired = fire(&store, due).await;
        let points: Vec<Option<u32>> = fired.iter().map(|f| f.timer.timepoint).collect();
        let n = u32::try_from(n).expect("small");
        let expected = if *minutes == 600 {
            // The resolve breach is due with the target's timepoint.
            vec![None, Some(n)]
        } else {
            vec![Some(n)]
        };
        assert_eq!(points, expected, "at +{minutes} min");
        assert!(fired.iter().all(|f| !f.late));
        assert!(fire(&store, due).await.is_empty(), "once");
    }
    assert_eq!(timers::next_due(&store).await.expect("next"), None);
    let events = reached(&store).await;
    assert_eq!(events.len(), 12);
    assert_eq!(
        events[3].actions,
        [Action::RecordAction {
            template: "INC-000001 missed its resolve target under Gold".into()
        }],
        "templates rendered for the ticket"
    );
    assert_eq!(
        events[4].actions,
        [Action::EmailCustomer {
            template: "Sorry: INC-000001 is late".into()
        }]
    );
    assert_eq!(
        events[5].actions,
        [Action::Reassign {
            team_id: Some(team),
            agent_id: None
        }]
    );
    assert_eq!(events[6].actions, [Action::RaisePriority { priority: 1 }]);
    assert!(events.iter().all(|e| e.reference == "INC-000001"
        && e.kind == "incident"
        && e.target == "resolve"
        && e.priority == Some(3)));
    let sla = ticket_sla(&store, tenant, "INC-000001", t0() + 20.hours()).await;
    let escalated = sla
        .timeline
        .iter()
        .filter(|e| matches!(e.step, SlaStepV1::Escalated { late: false, .. }))
        .count();
    assert_eq!(escalated, 12, "each on the timeline once");
    let resolve = sla.resolve.expect("resolve");
    assert!(resolve.breached);
    assert_eq!(resolve.elapsed_seconds, 20 * 3600);
}

async fn pauses_recomputes_and_responses_move_the_timers(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let grid = vec![
        GridRow {
            priority: 3,
            response: target(60, vec![]),
            resolve: target(
                480,
                vec![tp(
                    Placement::Before { minutes: 60 },
                    vec![Action::AlertAssignee],
                )],
            ),
        },
        GridRow {
            priority: 1,
            response: target(15, vec![]),
            resolve: target(120, vec![]),
        },
    ];
    let tenant = define(&store, grid, ResponseMetBy::Assignment).await;
    let ticket = Uuid::now_v7();
    happen(&store, tenant, ticket, t0(), logged("INC-000007")).await;
    // An action does not answer an SLA met by assignment; the escalation
    // service's own reassignment does not either; the desk's does.
    happen(
        &store,
        tenant,
        ticket,
        t0() + 5.minutes(),
        Change::Acted {
            by: Uuid::now_v7(),
            staff: true,
        },
    )
    .await;
    happen(
        &store,
        tenant,
        ticket,
        t0() + 6.minutes(),
        Change::Assigned {
            assignee_id: None,
            team_id: Some(Uuid::now_v7()),
            by: ESCALATION_ACTOR_ID,
        },
    )
    .await;
    let sla = ticket_sla(&store, tenant, "INC-000007", t0() + 7.minutes()).await;
    assert_eq!(sla.response.as_ref().expect("response").state, "running");
    happen(
        &store,
        tenant,
        ticket,
        t0() + 10.minutes(),
        Change::Assigned {
            assignee_id: Some(Uuid::now_v7()),
            team_id: None,
            by: Uuid::now_v7(),
        },
    )
    .await;
    // Pending from +1 h to +3 h: no timer while paused.
    happen(
        &store,
        tenant,
        ticket,
        t0() + 1.hour(),
        Change::Status("pending".into()),
    )
    .await;
    assert_eq!(timers::next_due(&store).await.expect("next"), None);
    assert!(fire(&store, t0() + 100.hours()).await.is_empty());
    happen(
        &store,
        tenant,
        ticket,
        t0() + 3.hours(),
        Change::Status("in_progress".into()),
    )
    .await;
    // 1 h used: the 7 h mark is 6 h on.
    assert_eq!(
        timers::next_due(&store).await.expect("next"),
        Some(t0() + 9.hours())
    );
    // Priority 1 at +4 h: 2 h used of a 2 h target.
    happen_as_of(
        &store,
        tenant,
        ticket,
        t0() + 4.hours(),
        Change::Snapshot {
            ticket: snapshot("INC-000007", "in_progress", 1),
            assigned_by: None,
            acted_by: None,
        },
        Some(5),
    )
    .await;
    assert_eq!(
        timers::next_due(&store).await.expect("next"),
        Some(t0() + 4.hours()),
        "the new target is reached now; the priority-1 row has no timepoints"
    );
    let fired = fire(&store, t0() + 4.hours() + 1.second()).await;
    assert_eq!(
        fired.iter().map(|f| f.timer.timepoint).collect::<Vec<_>>(),
        [None]
    );
    // An older snapshot arriving late changes nothing.
    happen_as_of(
        &store,
        tenant,
        ticket,
        t0() + 4.hours(),
        Change::Snapshot {
            ticket: snapshot("INC-000007", "in_progress", 3),
            assigned_by: None,
            acted_by: None,
        },
        Some(4),
    )
    .await;
    // So does an older status change.
    happen_as_of(
        &store,
        tenant,
        ticket,
        t0() + 4.hours(),
        Change::Status("pending".into()),
        Some(3),
    )
    .await;
    let sla = ticket_sla(&store, tenant, "INC-000007", t0() + 5.hours()).await;
    assert_eq!(sla.priority, 1);
    let response = sla.response.expect("response");
    assert_eq!((response.state.as_str(), response.breached), ("met", false));
    let resolve = sla.resolve.expect("resolve");
    assert_eq!(resolve.target_minutes, 120);
    assert_eq!(resolve.elapsed_seconds, 3 * 3600);
    let steps: Vec<String> = sla
        .timeline
        .iter()
        .filter(|e| e.target == "resolve")
        .map(|e| match &e.step {
            SlaStepV1::Recomputed {
                from_seconds,
                to_seconds,
                elapsed_seconds,
                reason,
            } => format!("recomputed {from_seconds}→{to_seconds} at {elapsed_seconds} ({reason})"),
            other => serde_json::to_value(other).expect("json")["event"]
                .as_str()
                .expect("event")
                .to_owned(),
        })
        .collect();
    assert_eq!(
        steps,
        [
            "started",
            "paused",
            "resumed",
            "recomputed 28800→7200 at 7200 (priority 3 → 1)",
            "breached"
        ]
    );
    // Resolved at +6 h, reopened at +8 h: the resolve clock goes on from
    // where it stopped.
    happen(
        &store,
        tenant,
        ticket,
        t0() + 6.hours(),
        Change::Status("resolved".into()),
    )
    .await;
    happen(
        &store,
        tenant,
        ticket,
        t0() + 8.hours(),
        Change::Status("open".into()),
    )
    .await;
    let sla = ticket_sla(&store, tenant, "INC-000007", t0() + 9.hours()).await;
    let resolve = sla.resolve.expect("resolve");
    assert_eq!(resolve.state, "running");
    assert_eq!(resolve.elapsed_seconds, 5 * 3600);
}

async fn concurrent_firers_never_fire_a_timer_twice(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let grid = vec![GridRow {
        priority: 3,
        response: target(1, vec![]),
        resolve: target(2, vec![tp(Placement::Target, vec![Action::AlertAssignee])]),
    }];
    let tenant = define(&store, grid, ResponseMetBy::FirstAction).await;
    let events: Vec<(Uuid, Event)> = (0..300)
        .map(|n| {
            (
                Uuid::now_v7(),
                Event {
                    tenant_id: tenant,
                    ticket_id: Uuid::now_v7(),
                    at: t0() - i64::from(n % 7).milliseconds(),
                    change: logged(&format!("INC-{n:06}")),
                    version: Some(1),
                },
            )
        })
        .collect();
    let refs: Vec<(Uuid, &Event)> = events.iter().map(|(id, e)| (*id, e)).collect();
    tracker::apply(&store, &refs).await.expect("apply");
    let now = t0() + 10.minutes();
    // A replica that dies mid-firing: it claimed timers, then its
    // transaction never committed. They are still there for the others.
    let mut dying = store.begin().await.expect("tx");
    let claimed = timers::claim_due(&mut dying, store.backend(), now, 50)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 50);
    drop(dying);
    // Four firers at once, as four replicas' loops would run, ten minutes
    // on (after a restart, say): late, marked so, and each once.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let fired = firing::fire_due(&store, now, 25).await.expect("fire");
                if fired.is_empty() {
                    break;
                }
                mine.extend(fired);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let distinct: HashSet<(Uuid, String, Option<u32>)> = all
        .iter()
        .map(|f| (f.timer.ticket_id, f.timer.target.clone(), f.timer.timepoint))
        .collect();
    // Per ticket: the response breach, the resolve timepoint, the resolve
    // breach.
    assert_eq!(all.len(), 900, "every timer fired");
    assert_eq!(distinct.len(), 900, "none twice");
    assert!(all.iter().all(|f| f.late), "fired late, and marked so");
    assert_eq!(reached(&store).await.len(), 300, "one event per timepoint");
}

async fn a_replaced_calendar_recomputes_open_tickets(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let grid = vec![GridRow {
        priority: 3,
        response: target(60, vec![]),
        resolve: target(600, vec![]),
    }];
    let (tenant, calendar, _) =
        define_with_calendar(&store, grid, ResponseMetBy::FirstAction).await;
    let ticket = Uuid::now_v7();
    // Monday 2026-06-01 09:00 UTC, ten hours to resolve around the clock.
    happen(&store, tenant, ticket, t0(), logged("INC-000009")).await;
    let sla = ticket_sla(&store, tenant, "INC-000009", t0()).await;
    assert_eq!(
        sla.resolve.expect("resolve").due_at,
        Some(escalation::now::to_time(t0() + 10.hours()))
    );
    // At 13:00 the calendar becomes office hours, weekdays 09:00–17:00.
    let office = vec![IntervalV1 {
        start: "09:00".into(),
        end: "17:00".into(),
    }];
    let now = Arc::new(ManualNow::new(t0() + 4.hours()));
    let commands = Answering(Arc::new(Commands {
        store: store.clone(),
        now: now.clone(),
    }));
    let replace = DefineCalendarV1 {
        actor: admin(),
        calendar: Some(calendar),
        if_version: None,
        definition: CalendarDefinitionV1 {
            name: "24x7".into(),
            time_zone: "UTC".into(),
            week: WeekV1 {
                monday: office.clone(),
                tuesday: office.clone(),
                wednesday: office.clone(),
                thursday: office.clone(),
                friday: office,
                ..WeekV1::default()
            },
            holidays: vec![],
        },
    };
    let reply = commands
        .handle(Envelope::new(tenant, &replace))
        .await
        .expect("handled")
        .expect("a reply");
    assert!(matches!(reply.decode::<ReplyV1>(), Ok(ReplyV1::Ok(_))));
    // Four hours used around the clock; six left in office hours: 13:00–
    // 17:00 today, 09:00–11:00 tomorrow.
    let sla = ticket_sla(&store, tenant, "INC-000009", t0() + 4.hours()).await;
    let resolve = sla.resolve.expect("resolve");
    assert_eq!(resolve.elapsed_seconds, 4 * 3600);
    assert_eq!(
        resolve.due_at,
        Some(escalation::now::to_time(t0() + 26.hours()))
    );
    assert!(sla.timeline.iter().any(|e| e.target == "resolve"
        && e.step
            == SlaStepV1::Recomputed {
                from_seconds: 36_000,
                to_seconds: 36_000,
                elapsed_seconds: 4 * 3600,
                reason: "the SLA's calendar changed".into(),
            }));
    // The response target (an hour) passed while no firer ran: its breach
    // is due now. Then the resolve breach, where it moved.
    assert_eq!(
        timers::next_due(&store).await.expect("next"),
        Some(t0() + 4.hours())
    );
    let fired = fire(&store, t0() + 4.hours()).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].timer.target, "response");
    assert_eq!(
        timers::next_due(&store).await.expect("next"),
        Some(t0() + 26.hours())
    );
}

async fn a_replaced_sla_moves_the_timepoints_of_open_tickets(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let grid = |before: u32| {
        vec![GridRow {
            priority: 3,
            response: target(60, vec![]),
            resolve: target(
                600,
                vec![tp(
                    Placement::Before { minutes: before },
                    vec![Action::AlertAssignee],
                )],
            ),
        }]
    };
    let (tenant, calendar, sla) =
        define_with_calendar(&store, grid(60), ResponseMetBy::FirstAction).await;
    let ticket = Uuid::now_v7();
    happen(&store, tenant, ticket, t0(), logged("INC-000010")).await;
    // Same targets, the timepoint moved from 9 h to 5 h.
    let commands = Answering(Arc::new(Commands {
        store: store.clone(),
        now: Arc::new(ManualNow::new(t0() + 2.hours())),
    }));
    let replace = DefineSlaV1 {
        actor: admin(),
        sla: Some(sla),
        if_version: None,
        definition: SlaDefinitionV1 {
            name: "Gold".into(),
            calendar_id: calendar,
            response_met_by: ResponseMetBy::FirstAction,
            grid: grid(300),
        },
    };
    commands
        .handle(Envelope::new(tenant, &replace))
        .await
        .expect("handled");
    assert_eq!(
        fire(&store, t0() + 2.hours()).await.len(),
        1,
        "the response breach"
    );
    let fired = fire(&store, t0() + 5.hours()).await;
    assert_eq!(
        fired.iter().map(|f| f.timer.timepoint).collect::<Vec<_>>(),
        [Some(0)],
        "the timepoint where the SLA now puts it"
    );
    assert!(fire(&store, t0() + 9.hours()).await.is_empty(), "not again");
}

/// The firer and the tracker on the same tickets at once: every event is
/// applied (none lost behind a row the other rewrote).
async fn the_firer_and_the_tracker_on_the_same_tickets_lose_nothing(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let grid = vec![GridRow {
        priority: 3,
        response: target(1, vec![]),
        resolve: target(
            30,
            (1..=12)
                .map(|m| {
                    tp(
                        Placement::Before { minutes: m },
                        vec![Action::AlertAssignee],
                    )
                })
                .collect(),
        ),
    }];
    let tenant = define(&store, grid, ResponseMetBy::FirstAction).await;
    let tickets: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
    for (n, id) in tickets.iter().enumerate() {
        happen(&store, tenant, *id, t0(), logged(&format!("INC-{n:06}"))).await;
    }
    let firer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut minute = 0;
            while minute < 40 {
                let fired = firing::fire_due(&store, t0() + minute.minutes(), 5)
                    .await
                    .expect("fire");
                if fired.is_empty() {
                    minute += 1;
                }
            }
        })
    };
    for (step, status) in [
        "pending",
        "in_progress",
        "pending",
        "in_progress",
        "resolved",
    ]
    .iter()
    .enumerate()
    {
        for id in &tickets {
            let at = t0() + (i64::try_from(step).expect("small") * 5 + 1).minutes();
            happen(&store, tenant, *id, at, Change::Status((*status).into())).await;
        }
    }
    firer.await.expect("firer");
    for n in 0..tickets.len() {
        let sla = ticket_sla(&store, tenant, &format!("INC-{n:06}"), t0() + 1.hours()).await;
        assert_eq!(sla.status, "resolved", "INC-{n:06}");
        assert_eq!(sla.resolve.expect("resolve").state, "met", "INC-{n:06}");
    }
}

/// The targets of the tickets a store followed before escalation announced
/// them are announced once, whatever the number of starts.
async fn the_targets_that_were_are_announced_once(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let grid = vec![GridRow {
        priority: 3,
        response: target(60, vec![]),
        resolve: target(600, vec![]),
    }];
    let tenant = define(&store, grid, ResponseMetBy::FirstAction).await;
    happen(&store, tenant, Uuid::now_v7(), t0(), logged("INC-000001")).await;
    // A store from before: its tickets' targets were never announced.
    sqlx::query("DELETE FROM outbox")
        .execute(store.pool())
        .await
        .expect("outbox emptied");
    let announced = tracker::announce_existing_targets(&store)
        .await
        .expect("announced");
    assert_eq!(announced, 1);
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT envelope FROM outbox WHERE routing_key = 'escalation.ticket.targets'",
    )
    .fetch_all(store.pool())
    .await
    .expect("outbox");
    assert_eq!(rows.len(), 1);
    let env: Envelope = serde_json::from_str(&rows[0]).expect("envelope");
    let targets: TicketTargetsV1 = env.decode().expect("targets");
    assert_eq!(targets.tickets.len(), 1);
    assert_eq!(targets.tickets[0].reference, "INC-000001");
    assert_eq!(
        targets.tickets[0].resolve_due,
        Some(escalation::now::to_time(t0() + 10.hours()))
    );
    // The calendar's time zone, for the emails that show the due times.
    assert_eq!(targets.tickets[0].time_zone.as_deref(), Some("UTC"));
    assert_eq!(
        tracker::announce_existing_targets(&store)
            .await
            .expect("again"),
        0
    );
}

/// A priority the grid has no row for keeps the ticket's clocks and
/// timepoints, under the nearest row, and the timeline says which.
async fn a_priority_without_a_row_takes_the_nearest(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let grid = vec![
        GridRow {
            priority: 4,
            response: target(60, vec![]),
            resolve: target(
                480,
                vec![tp(Placement::Target, vec![Action::AlertAssignee])],
            ),
        },
        GridRow {
            priority: 1,
            response: target(15, vec![]),
            resolve: target(
                120,
                vec![tp(Placement::Target, vec![Action::AlertTeamLeader])],
            ),
        },
    ];
    let tenant = define(&store, grid, ResponseMetBy::FirstAction).await;
    let ticket = Uuid::now_v7();
    let logged = snapshot("INC-000009", "open", 4);
    happen(
        &store,
        tenant,
        ticket,
        t0(),
        Change::Snapshot {
            ticket: logged,
            assigned_by: None,
            acted_by: None,
        },
    )
    .await;
    // Raised to 2: no row; 1 is nearer than 4.
    let raised = snapshot("INC-000009", "open", 2);
    happen(
        &store,
        tenant,
        ticket,
        t0() + 30.minutes(),
        Change::Snapshot {
            ticket: raised,
            assigned_by: None,
            acted_by: None,
        },
    )
    .await;
    let sla = ticket_sla(&store, tenant, "INC-000009", t0() + 31.minutes()).await;
    let resolve = sla.resolve.expect("the clock goes on");
    assert_eq!(resolve.target_minutes, 120);
    let said = sla.timeline.iter().find_map(|e| match &e.step {
        SlaStepV1::Recomputed { reason, .. } if e.target == "resolve" => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(
        said.as_deref(),
        Some("priority 4 → 2; the SLA has no row for it: the nearest, priority 1's")
    );
    let fired = fire(&store, t0() + 2.hours() + 1.second()).await;
    assert!(
        fired.iter().any(|f| f.timer.timepoint == Some(0)),
        "the nearest row's timepoint fires: {fired:?}"
    );
}

/// A ticket first heard of after it was logged (logged before the rules
/// gave it an SLA, or its event late): its clocks count from its logging.
async fn clocks_count_from_when_the_ticket_was_logged(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let grid = vec![GridRow {
        priority: 3,
        response: target(60, vec![]),
        resolve: target(240, vec![]),
    }];
    let tenant = define(&store, grid, ResponseMetBy::FirstAction).await;
    let ticket = Uuid::now_v7();
    let mut snapshot = snapshot("INC-000010", "open", 3);
    snapshot.logged_at = Some(t0());
    let change = Change::Snapshot {
        ticket: snapshot,
        assigned_by: None,
        acted_by: None,
    };
    happen(&store, tenant, ticket, t0() + 30.minutes(), change).await;
    let sla = ticket_sla(&store, tenant, "INC-000010", t0() + 30.minutes()).await;
    assert_eq!(sla.timeline.first().map(|e| e.at), Some(to_time(t0())));
    let response = sla.response.expect("the response clock");
    assert_eq!(response.elapsed_seconds, 30 * 60);
    assert_eq!(response.due_at, Some(to_time(t0() + 60.minutes())));
}

runtime::on_both_stores!(
    clocks_count_from_when_the_ticket_was_logged,
    a_priority_without_a_row_takes_the_nearest,
    the_targets_that_were_are_announced_once,
    a_replaced_sla_moves_the_timepoints_of_open_tickets,
    the_firer_and_the_tracker_on_the_same_tickets_lose_nothing,
    a_replaced_calendar_recomputes_open_tickets,
    all_twelve_timepoints_fire_once_each_with_their_actions,
    pauses_recomputes_and_responses_move_the_timers,
    concurrent_firers_never_fire_a_timer_twice,
);
