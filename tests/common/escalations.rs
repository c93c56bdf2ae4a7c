//! An incident escalating end to end: ticketing's events reach the
//! escalation service, its clocks run in the SLA's calendar, timepoints fire
//! as the test moves the escalation service's clock (never by sleeping), and
//! ticketing carries out what they do: an action recorded from a template,
//! a reassignment, a raised priority that recomputes the targets.

use std::time::Duration;

use serde_json::{Value, json};

use super::Api;
use super::scenarios::{Desk, directory, id};

/// Polls `path` until `done` holds for the body (the services work
/// asynchronously); fails after ten seconds with the last body.
async fn until(api: &Api, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let reply = api.get(path).await;
        if reply.status.is_success() && done(&reply.body) {
            return reply.body;
        }
        last = reply.body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: never happened; last {path}: {last}");
}

fn steps(sla: &Value, target: &str) -> Vec<String> {
    sla["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["target"] == target)
        .map(|e| match e["event"].as_str().expect("event") {
            "escalated" => format!("escalated {}", e["timepoint"]),
            other => other.to_owned(),
        })
        .collect()
}

pub async fn an_incident_escalates(desk: &Desk) {
    let admin = desk.tenant("Escalating Co").await;
    let (agent, team, customer) = directory(&admin).await;
    let always = json!({"name": "24x7", "time_zone": "UTC", "week": {
        "monday": [{"start": "00:00", "end": "24:00"}], "tuesday": [{"start": "00:00", "end": "24:00"}],
        "wednesday": [{"start": "00:00", "end": "24:00"}], "thursday": [{"start": "00:00", "end": "24:00"}],
        "friday": [{"start": "00:00", "end": "24:00"}], "saturday": [{"start": "00:00", "end": "24:00"}],
        "sunday": [{"start": "00:00", "end": "24:00"}]}});
    let calendar = admin.post("/api/v1/calendars", always).await.expect(201);
    let sla = admin
        .post(
            "/api/v1/slas",
            json!({"name": "Gold", "calendar_id": id(&calendar), "response_met_by": "first_action", "grid": [
                {"priority": 3,
                 "response": {"minutes": 30, "timepoints": [
                     {"placement": {"at": "target"}, "actions": [
                         {"do": "warn_response_breach"}, {"do": "alert_agents", "agents": [agent]}]}]},
                 "resolve": {"minutes": 120, "timepoints": [
                     {"placement": {"at": "before", "minutes": 60},
                      "actions": [{"do": "record_action", "template": "{{reference}} is an hour from its {{target}} target ({{sla}})"}]},
                     {"placement": {"at": "target"},
                      "actions": [{"do": "reassign", "team_id": team}, {"do": "alert_team_leader"}]},
                     {"placement": {"at": "after_percent", "percent": 50},
                      "actions": [{"do": "raise_priority", "priority": 2}]}]}},
                {"priority": 2, "response": {"minutes": 15}, "resolve": {"minutes": 60}}]}),
        )
        .await
        .expect(201);
    // An action naming an agent or a team the tenant does not have is
    // refused when the SLA is saved, naming it.
    let nobody = "01a24942-0000-7000-8000-000000000000";
    for (action, field) in [
        (
            json!({"do": "alert_agents", "agents": [agent, nobody]}),
            "agents[1]",
        ),
        (json!({"do": "reassign", "team_id": nobody}), "team_id"),
        (json!({"do": "reassign", "agent_id": nobody}), "agent_id"),
    ] {
        let body = admin
            .post(
                "/api/v1/slas",
                json!({"name": "Broken", "calendar_id": id(&calendar), "grid": [
                    {"priority": 3, "response": {"minutes": 30}, "resolve": {"minutes": 120, "timepoints": [
                        {"placement": {"at": "target"}, "actions": [action]}]}}]}),
            )
            .await
            .error(400, "validation_failed");
        let named = format!("grid[0].resolve.timepoints[0].actions[0].{field}");
        assert!(
            body["details"]["fields"][&named].is_string(),
            "{named}: {body}"
        );
    }
    // The customer's company has an SLA of its own, chosen first.
    let company = admin
        .get(&format!("/api/v1/customers/{customer}"))
        .await
        .expect(200)["company_id"]
        .clone();
    let platinum = admin
        .post(
            "/api/v1/slas",
            json!({"name": "Platinum", "calendar_id": id(&calendar), "grid": [
                {"priority": 3, "response": {"minutes": 10}, "resolve": {"minutes": 60}}]}),
        )
        .await
        .expect(201);
    admin
        .put(
            "/api/v1/sla-rules",
            json!({"rules": [
                {"when": {"company_id": company}, "sla": id(&platinum)},
                {"when": {"kind": "incident"}, "sla": id(&sla)}]}),
        )
        .await
        .expect(200);

    let late = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Printer on fire", "priority": 3}),
        )
        .await
        .expect(201);
    let reference = late["reference"].as_str().expect("reference").to_owned();
    let path = format!("/api/v1/incidents/{reference}/sla");
    let state = until(&admin, &path, "the SLA applied", |s| {
        s["resolve"]["state"] == "running"
    })
    .await;
    assert_eq!(state["sla"]["name"], "Gold");
    assert_eq!(state["response"]["target_minutes"], 30);
    assert_eq!(state["resolve"]["target_minutes"], 120);

    // Pending pauses both clocks; back in progress resumes them.
    let status = format!("/api/v1/incidents/{reference}/status");
    admin
        .post(
            &status,
            json!({"status": "pending", "pending_reason": "waiting for the customer"}),
        )
        .await
        .expect(200);
    until(&admin, &path, "paused", |s| {
        s["resolve"]["state"] == "paused"
    })
    .await;
    admin
        .post(&status, json!({"status": "in_progress"}))
        .await
        .expect(200);
    until(&admin, &path, "resumed", |s| {
        s["resolve"]["state"] == "running"
    })
    .await;

    // A second incident the desk answers and resolves in time.
    let answered = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Toner low", "priority": 3}),
        )
        .await
        .expect(201);
    let answered_path = format!("/api/v1/incidents/{}/sla", id(&answered));
    until(&admin, &answered_path, "the SLA applied", |s| {
        s["response"]["state"] == "running"
    })
    .await;
    admin
        .post(
            &format!("/api/v1/incidents/{}/actions", id(&answered)),
            json!({"kind": "note", "text": "Ordered more"}),
        )
        .await
        .expect(201);
    let state = until(&admin, &answered_path, "the response", |s| {
        s["response"]["state"] == "met"
    })
    .await;
    assert_eq!(state["response"]["breached"], false);
    assert_eq!(state["resolve"]["state"], "running");
    admin
        .post(
            &format!("/api/v1/incidents/{}/status", id(&answered)),
            json!({"status": "resolved", "resolution": "Toner replaced"}),
        )
        .await
        .expect(200);
    until(&admin, &answered_path, "the resolution", |s| {
        s["resolve"]["state"] == "met"
    })
    .await;

    // An hour on: the response target passed unmet, and the resolve
    // target's first timepoint recorded its action on the ticket.
    desk.advance_minutes(61);
    let actions = format!("/api/v1/incidents/{reference}/actions");
    let recorded = until(&admin, &actions, "the timepoint's action", |a| {
        a.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(
        recorded[0]["text"],
        format!("{reference} is an hour from its resolve target (Gold)")
    );
    assert_eq!(recorded[0]["author"]["name"], "Escalation");
    assert_eq!(recorded[0]["public"], false);
    let state = until(&admin, &path, "the response breach", |s| {
        s["response"]["breached"] == true
    })
    .await;
    assert_eq!(
        steps(&state, "response"),
        ["started", "paused", "resumed", "breached", "escalated 0"]
    );
    assert_eq!(
        state["response"]["state"], "running",
        "the escalation's own action is not the desk's response"
    );
    // The notification service emailed the alert the timepoint named.
    let subject = format!("[{reference}] Escalation: response due");
    let mut alerted = false;
    for _ in 0..200 {
        alerted = desk.smtp.messages().iter().any(|raw| {
            let text = String::from_utf8_lossy(raw);
            text.contains(&subject) && text.contains("<ada@desk.example>")
        });
        if alerted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(alerted, "Ada was alerted by email");

    // Two hours: the target itself hands the ticket to the team.
    desk.advance_minutes(121);
    until(
        &admin,
        &format!("/api/v1/incidents/{reference}"),
        "the reassignment",
        |i| i["team_id"] == json!(team),
    )
    .await;
    // The team's agents were told, with the SLA's due times (as the
    // escalation service announced them, kept by notification).
    let subject = format!("[{reference}] Assigned to you: Printer on fire");
    let mut told = None;
    for _ in 0..200 {
        told = desk.smtp.messages().into_iter().find(|raw| {
            let text = String::from_utf8_lossy(raw);
            text.contains(&subject) && text.contains("<ada@desk.example>")
        });
        if told.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let told = String::from_utf8_lossy(&told.expect("Ada was told of the assignment")).into_owned();
    // Written as its English reader writes a time, in the calendar's zone
    // (UTC here): `Sun 6 Dec 2026, 11:00 UTC`.
    let due = told
        .split("Resolve by: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or("");
    assert!(
        due.ends_with(" UTC") && due.contains(", "),
        "the due time is in it: {told}"
    );
    // Three: +50 % raises the priority, and the targets are recomputed
    // from the priority-2 row (the hours used stay used).
    desk.advance_minutes(181);
    let state = until(&admin, &path, "the recompute", |s| {
        s["resolve"]["target_minutes"] == 60
    })
    .await;
    assert_eq!(state["priority"], 2);
    // Ticketing's clock is not the one the test moves: the priority change
    // it announces is timed by the real clock, hours "before" the
    // escalation that caused it. Everything else is in order.
    let resolve: Vec<String> = steps(&state, "resolve")
        .into_iter()
        .filter(|s| s != "recomputed")
        .collect();
    assert_eq!(
        resolve,
        [
            "started",
            "paused",
            "resumed",
            "escalated 0",
            "breached",
            "escalated 1",
            "escalated 2",
        ],
        "{state}"
    );
    let recomputed = state["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["event"] == "recomputed" && e["target"] == "resolve")
        .expect("recomputed");
    assert_eq!(recomputed["reason"], "priority 3 → 2");
    assert_eq!(recomputed["from_seconds"], 7200);
    assert_eq!(recomputed["to_seconds"], 3600);
    let escalated: Vec<&Value> = state["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["event"] == "escalated")
        .collect();
    assert_eq!(escalated.len(), 4, "each timepoint fired once: {state}");

    // Compliance and breaches over a window around it all.
    let window = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    let report = until(
        &admin,
        &format!("/api/v1/reports/sla?{window}"),
        "the report",
        |r| r["response"]["met"] == 1,
    )
    .await;
    assert_eq!(report["response"]["breached"], 1, "{report}");
    assert_eq!(report["response"]["percent"], 50.0);
    assert_eq!(report["resolve"]["breached"], 1);
    assert_eq!(report["resolve"]["met"], 1);
    assert_eq!(report["by_priority"][0]["priority"], 2, "{report}");
    let breaches = admin
        .get(&format!("/api/v1/reports/sla/breaches?{window}"))
        .await
        .expect(200);
    let mut targets: Vec<&str> = breaches
        .as_array()
        .expect("list")
        .iter()
        .map(|b| {
            assert_eq!(b["reference"], reference.as_str());
            b["target"].as_str().expect("target")
        })
        .collect();
    targets.sort_unstable();
    assert_eq!(targets, ["resolve", "response"]);
    // The company's customer gets the company's SLA.
    let theirs = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "VPN down", "priority": 3, "customer_id": customer}),
        )
        .await
        .expect(201);
    assert_eq!(theirs["company_id"], company);
    let state = until(
        &admin,
        &format!("/api/v1/incidents/{}/sla", id(&theirs)),
        "the company's SLA",
        |s| s["sla"]["name"] == "Platinum",
    )
    .await;
    assert_eq!(state["resolve"]["target_minutes"], 60);
    // Out of the rules, an SLA tickets have had still stays: the reports
    // name it.
    admin
        .put(
            "/api/v1/sla-rules",
            json!({"rules": [{"when": {"kind": "incident"}, "sla": id(&sla)}]}),
        )
        .await
        .expect(200);
    let had = admin
        .delete(&format!("/api/v1/slas/{}", id(&platinum)))
        .await
        .error(409, "conflict");
    assert!(
        had["message"].as_str().unwrap_or("").contains("tickets"),
        "{had}"
    );
    // A window that ends before it starts is refused, naming the field.
    admin
        .get("/api/v1/reports/sla?from=2100-01-01T00:00:00Z&to=2000-01-01T00:00:00Z")
        .await
        .error(400, "validation_failed");
}
