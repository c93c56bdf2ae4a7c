//! The desk's processes beyond incidents, as users run them: problem
//! management with known errors, change management with approvals and the
//! change calendar, service requests with their types, links between
//! tickets, and extended data.

use serde_json::{Value, json};

use super::Api;
use super::scenarios::{Desk, directory, id};

/// A token for `body` (`{"role": …}`) as a client.
async fn client(admin: &Api, body: Value) -> Api {
    let token = admin.post("/api/v1/tokens", body).await.expect(201);
    admin.as_token(token["token"].as_str().expect("token"))
}

async fn agent(admin: &Api, name: &str) -> (String, Api) {
    let agent = admin
        .post("/api/v1/agents", json!({"name": name}))
        .await
        .expect(201);
    let api = client(admin, json!({"role": "agent", "agent_id": id(&agent)})).await;
    (id(&agent), api)
}

async fn incident(api: &Api, summary: &str) -> Value {
    api.post(
        "/api/v1/incidents",
        json!({"summary": summary, "priority": 3}),
    )
    .await
    .expect(201)
}

fn change_plan(approvers: &[&str], start: &str, end: &str, items: &[&str]) -> Value {
    json!({
        "reason": "The disks report errors",
        "impact_assessment": "Mail is down during the window",
        "risk": "medium",
        "risk_assessment": "Done before on the spare",
        "backout_plan": "Put the old disks back",
        "planned_start": start,
        "planned_end": end,
        "affected_items": items,
        "approvers": approvers,
    })
}

pub async fn problem_management(desk: &Desk) {
    let admin = desk.tenant("Problem Co").await;
    let (_, _, customer) = directory(&admin).await;
    let (_, ada) = agent(&admin, "Ada").await;
    let carl = client(&admin, json!({"role": "customer", "customer_id": customer})).await;

    let first = incident(&ada, "Mail bounces").await;
    let second = incident(&ada, "Mail bounces again").await;
    let third = incident(&ada, "Printer jam").await;

    let problem = ada
        .post(
            "/api/v1/problems",
            json!({"summary": "Recurring mail outages", "priority": 2}),
        )
        .await
        .expect(201);
    assert_eq!(problem["reference"], "PRB-000001");
    assert_eq!(problem["kind"], "problem");
    assert_eq!(problem["status"], "open");
    assert_eq!(problem["problem"]["linked_incidents"], 0);
    carl.post("/api/v1/problems", json!({"summary": "Mine"}))
        .await
        .error(403, "forbidden");
    // Problems are the desk's own, even one logged for a customer.
    ada.post(
        "/api/v1/problems",
        json!({"summary": "Carl's printers", "customer_id": customer}),
    )
    .await
    .expect(201);
    carl.get("/api/v1/problems/PRB-000002")
        .await
        .error(404, "not_found");
    assert_eq!(
        carl.get("/api/v1/problems").await.expect(200)["items"],
        json!([])
    );
    carl.post(
        "/api/v1/problems/PRB-000002/actions",
        json!({"text": "Mine?"}),
    )
    .await
    .error(404, "not_found");

    // Incidents link to the problem, many to one.
    let linked = ada
        .post(
            "/api/v1/problems/PRB-000001/incidents",
            json!({"incidents": ["INC-000001", id(&second)]}),
        )
        .await
        .expect(200);
    assert_eq!(linked["problem"]["linked_incidents"], 2);
    let inc = ada.get("/api/v1/incidents/INC-000001").await.expect(200);
    assert_eq!(inc["problem_id"], problem["id"]);
    let listed = ada
        .get("/api/v1/problems/PRB-000001/incidents")
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
    let filtered = ada
        .get("/api/v1/incidents?problem=prb-000001")
        .await
        .expect(200);
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(2));
    let body = ada
        .post(
            "/api/v1/problems/PRB-000001/incidents",
            json!({"incidents": ["INC-000999"]}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["incidents[0]"].is_string(),
        "{body}"
    );

    // Unlinking one linked by mistake.
    let third_path = format!("/api/v1/problems/PRB-000001/incidents/{}", id(&third));
    ada.delete(&third_path).await.error(404, "not_found");
    ada.post(
        "/api/v1/problems/PRB-000001/incidents",
        json!({"incidents": [id(&third)]}),
    )
    .await
    .expect(200);
    let unlinked = ada.delete(&third_path).await.expect(200);
    assert_eq!(unlinked["problem"]["linked_incidents"], 2);
    ada.get("/api/v1/incidents?problem=PRB-000404")
        .await
        .error(400, "validation_failed");

    // A known error needs its root cause.
    let body = ada
        .post(
            "/api/v1/problems/PRB-000001/status",
            json!({"status": "known_error"}),
        )
        .await
        .error(409, "invalid_transition");
    assert_eq!(body["details"]["missing"], "root_cause");
    let body = ada
        .patch(
            "/api/v1/problems/PRB-000001",
            json!({"workaround_flagged": true}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("workaround_flagged")
    );
    let edited = ada
        .patch(
            "/api/v1/problems/PRB-000001",
            json!({"root_cause": "The mail relay's disk fills up", "workaround": "Rotate the relay's logs",
                   "workaround_flagged": true}),
        )
        .await
        .expect(200);
    assert_eq!(edited["problem"]["workaround_flagged"], true);
    let ke = ada
        .post(
            "/api/v1/problems/PRB-000001/status",
            json!({"status": "known_error"}),
        )
        .await
        .expect(200);
    assert_eq!(ke["status"], "known_error");
    assert_eq!(ke["problem"]["known_error"], true);

    // The workaround goes to every linked incident still open.
    ada.post(
        &format!("/api/v1/incidents/{}/status", id(&second)),
        json!({"status": "resolved", "resolution": "Relay restarted"}),
    )
    .await
    .expect(200);
    let responded =
        ada.get("/api/v1/incidents/INC-000001").await.expect(200)["first_response_at"].clone();
    let applied = ada
        .post("/api/v1/problems/PRB-000001/workaround/apply", json!({}))
        .await
        .expect(200);
    assert_eq!(applied["incidents"], json!(["INC-000001"]));
    let actions = ada
        .get("/api/v1/incidents/INC-000001/actions")
        .await
        .expect(200);
    let text = actions[0]["text"].as_str().unwrap_or("");
    assert!(
        text.contains("PRB-000001") && text.contains("Rotate the relay's logs"),
        "{actions}"
    );
    // The desk wrote it: not a response to the customer, and private.
    assert_eq!(actions[0]["author"]["name"], "Workaround", "{actions}");
    assert_eq!(actions[0]["public"], false);
    assert_eq!(
        ada.get("/api/v1/incidents/INC-000001").await.expect(200)["first_response_at"],
        responded,
        "a workaround note is not a first response"
    );
    // Applied again, it is not added again, told to the customer or not.
    for apply in [
        "/api/v1/problems/PRB-000001/workaround/apply",
        "/api/v1/problems/PRB-000001/workaround/apply?notify_customer=true",
    ] {
        let again = ada.post(apply, json!({})).await.expect(200);
        assert_eq!(again["incidents"], json!([]), "{again}");
        assert_eq!(again["already"], json!(["INC-000001"]), "{again}");
    }
    let again = ada
        .get("/api/v1/incidents/INC-000001/actions")
        .await
        .expect(200);
    assert_eq!(
        again.as_array().map(Vec::len),
        actions.as_array().map(Vec::len)
    );
    assert_eq!(
        ada.get(&format!("/api/v1/incidents/{}/actions", id(&second)))
            .await
            .expect(200),
        json!([]),
        "a resolved incident does not get it"
    );

    // Resolved by a change: the change must be linked first.
    let body = ada
        .post(
            "/api/v1/problems/PRB-000001/status",
            json!({"status": "resolved", "resolution": "Bigger disk", "outcome": "change"}),
        )
        .await
        .error(409, "invalid_transition");
    assert_eq!(body["details"]["outcome"], "change");
    let (approver, approver_api) = agent(&admin, "Cleo").await;
    let mut plan = change_plan(
        &[&approver],
        "2026-12-01T20:00:00Z",
        "2026-12-01T22:00:00Z",
        &["RELAY-01"],
    );
    plan["problems"] = json!(["PRB-000001"]);
    let change = ada
        .post(
            "/api/v1/changes",
            json!({"summary": "Bigger disk for the relay", "change": plan}),
        )
        .await
        .expect(201);
    assert_eq!(change["reference"], "CHG-000001");
    let links = ada
        .get("/api/v1/problems/PRB-000001/links")
        .await
        .expect(200);
    assert_eq!(links[0]["link_type"], "resolved_by");
    assert_eq!(links[0]["ticket"]["reference"], "CHG-000001");
    // Only a change carried out resolves it.
    ada.post(
        "/api/v1/problems/PRB-000001/status",
        json!({"status": "resolved", "resolution": "Bigger disk", "outcome": "change"}),
    )
    .await
    .error(409, "invalid_transition");
    approver_api
        .post(
            "/api/v1/changes/CHG-000001/decision",
            json!({"decision": "approve"}),
        )
        .await
        .expect(200);
    for status in ["scheduled", "implementing", "implemented"] {
        ada.post(
            "/api/v1/changes/CHG-000001/status",
            json!({"status": status}),
        )
        .await
        .expect(200);
    }
    let resolved = ada
        .post(
            "/api/v1/problems/PRB-000001/status",
            json!({"status": "resolved", "resolution": "Bigger disk", "outcome": "change"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["problem"]["outcome"], "change");
    assert!(resolved["resolved_at"].is_string());

    // Closed only once its changes are done: a second one is still requested.
    let mut follow_up = change_plan(
        &[&approver],
        "2026-12-02T20:00:00Z",
        "2026-12-02T22:00:00Z",
        &["RELAY-02"],
    );
    follow_up["problems"] = json!(["PRB-000001"]);
    ada.post(
        "/api/v1/changes",
        json!({"summary": "The spare relay too", "change": follow_up}),
    )
    .await
    .expect(201);
    let body = ada
        .post(
            "/api/v1/problems/PRB-000001/status",
            json!({"status": "closed"}),
        )
        .await
        .error(409, "invalid_transition");
    assert_eq!(body["details"]["changes"], json!(["CHG-000002"]));
    approver_api
        .post(
            "/api/v1/changes/CHG-000002/decision",
            json!({"decision": "reject", "comment": "Buy a new relay instead"}),
        )
        .await
        .expect(200);
    ada.post(
        "/api/v1/problems/PRB-000001/status",
        json!({"status": "closed"}),
    )
    .await
    .expect(200);

    // A closed problem's incidents stay as they are, also when another
    // problem would take them; and the trail of it all.
    ada.delete(&format!(
        "/api/v1/problems/PRB-000001/incidents/{}",
        id(&first)
    ))
    .await
    .error(409, "invalid_transition");
    let other = ada
        .post(
            "/api/v1/problems",
            json!({"summary": "Relays again", "priority": 3}),
        )
        .await
        .expect(201);
    let body = ada
        .post(
            &format!("/api/v1/problems/{}/incidents", id(&other)),
            json!({"incidents": [id(&first)]}),
        )
        .await
        .error(409, "invalid_transition");
    assert_eq!(body["details"]["status"], "closed", "{body}");
    assert_eq!(
        ada.get(&format!("/api/v1/incidents/{}", id(&first)))
            .await
            .expect(200)["problem_id"],
        resolved["id"],
        "still the closed problem's"
    );
    let history = ada
        .get("/api/v1/problems/PRB-000001/history")
        .await
        .expect(200);
    let changes: Vec<&str> = history
        .as_array()
        .map(|h| h.iter().filter_map(|e| e["change"].as_str()).collect())
        .unwrap_or_default();
    for expected in [
        "created",
        "incident_linked",
        "root_cause",
        "workaround",
        "status",
        "workaround_applied",
        "link",
        "incident_unlinked",
    ] {
        assert!(changes.contains(&expected), "{expected} in {changes:?}");
    }
    let page = ada.get("/api/v1/problems?status=closed").await.expect(200);
    assert_eq!(page["items"][0]["reference"], "PRB-000001");
    ada.get("/api/v1/problems?status=approved")
        .await
        .error(400, "validation_failed");
}

pub async fn change_management(desk: &Desk) {
    let admin = desk.tenant("Change Co").await;
    let (ada_id, ada) = agent(&admin, "Ada").await;
    let (bob_id, bob) = agent(&admin, "Bob").await;
    let (_, eve) = agent(&admin, "Eve").await;
    // An approver with an address, in the directory notification keeps
    // (from the edge's events) long before a change names her.
    let (cara_id, cara) = {
        let cara = admin
            .post(
                "/api/v1/agents",
                json!({"name": "Cara", "email": "cara@change.example"}),
            )
            .await
            .expect(201);
        let api = client(&admin, json!({"role": "agent", "agent_id": id(&cara)})).await;
        (id(&cara), api)
    };

    let window = |start: &str, end: &str, items: &[&str]| {
        change_plan(&[&ada_id, &bob_id], start, end, items)
    };
    let mut bad = window("2026-12-01T20:00:00Z", "2026-12-01T22:00:00Z", &["MAIL-01"]);
    bad["backout_plan"] = json!(" ");
    let body = ada
        .post(
            "/api/v1/changes",
            json!({"summary": "Disks", "change": bad}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["change.backout_plan"].is_string(),
        "{body}"
    );
    let backwards = window("2026-12-01T22:00:00Z", "2026-12-01T20:00:00Z", &["MAIL-01"]);
    let body = ada
        .post(
            "/api/v1/changes",
            json!({"summary": "Disks", "change": backwards}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["change.planned_end"].is_string(),
        "{body}"
    );
    let stranger = change_plan(
        &["0190f0a0-0000-7000-8000-000000000001"],
        "2026-12-01T20:00:00Z",
        "2026-12-01T22:00:00Z",
        &[],
    );
    let body = ada
        .post(
            "/api/v1/changes",
            json!({"summary": "Disks", "change": stranger}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["change.approvers[0]"].is_string(),
        "{body}"
    );
    ada.post("/api/v1/changes", json!({"summary": "No plan"}))
        .await
        .error(400, "validation_failed");

    let first = ada
        .post(
            "/api/v1/changes",
            json!({"summary": "Replace the mail disks",
                   "change": window("2026-12-01T20:00:00Z", "2026-12-01T22:00:00Z", &["MAIL-01", "DNS-01"])}),
        )
        .await
        .expect(201);
    assert_eq!(first["reference"], "CHG-000001");
    assert_eq!(first["status"], "requested");
    assert_eq!(
        first["change"]["approvals"].as_array().map(Vec::len),
        Some(2)
    );

    // Approval comes from the approvers, never from a status change.
    ada.post(
        "/api/v1/changes/CHG-000001/status",
        json!({"status": "approved"}),
    )
    .await
    .error(409, "invalid_transition");
    ada.post(
        "/api/v1/changes/CHG-000001/status",
        json!({"status": "scheduled"}),
    )
    .await
    .error(409, "invalid_transition");
    eve.post(
        "/api/v1/changes/CHG-000001/decision",
        json!({"decision": "approve"}),
    )
    .await
    .error(403, "forbidden");
    let half = ada
        .post(
            "/api/v1/changes/CHG-000001/decision",
            json!({"decision": "approve", "comment": "Fine"}),
        )
        .await
        .expect(200);
    assert_eq!(half["status"], "requested", "all must approve");
    ada.post(
        "/api/v1/changes/CHG-000001/decision",
        json!({"decision": "approve"}),
    )
    .await
    .error(409, "conflict");
    let approved = bob
        .post(
            "/api/v1/changes/CHG-000001/decision",
            json!({"decision": "approve"}),
        )
        .await
        .expect(200);
    assert_eq!(approved["status"], "approved");

    // Any one approver is enough when the rule says so.
    let mut any = window("2026-12-01T21:00:00Z", "2026-12-01T23:00:00Z", &["mail-01"]);
    any["approval"] = json!("any");
    ada.post(
        "/api/v1/changes",
        json!({"summary": "Patch the mail server", "change": any}),
    )
    .await
    .expect(201);
    let second = bob
        .post(
            "/api/v1/changes/CHG-000002/decision",
            json!({"decision": "approve"}),
        )
        .await
        .expect(200);
    assert_eq!(second["status"], "approved");
    // A rejected change in the same window holds nothing.
    ada.post(
        "/api/v1/changes",
        json!({"summary": "Move the mail server", "change": window("2026-12-01T20:30:00Z", "2026-12-01T21:30:00Z", &["MAIL-01"])}),
    )
    .await
    .expect(201);
    let rejected = ada
        .post(
            "/api/v1/changes/CHG-000003/decision",
            json!({"decision": "reject"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected["status"], "rejected");
    // Elsewhere in time: no conflict.
    ada.post(
        "/api/v1/changes",
        json!({"summary": "Later disks", "change": window("2026-12-03T20:00:00Z", "2026-12-03T22:00:00Z", &["MAIL-01"])}),
    )
    .await
    .expect(201);

    let calendar = ada
        .get("/api/v1/changes/calendar?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z")
        .await
        .expect(200);
    let shown: Vec<&str> = calendar["changes"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["reference"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(shown, vec!["CHG-000001", "CHG-000002"]);
    assert_eq!(
        calendar["conflicts"],
        json!([{"changes": ["CHG-000001", "CHG-000002"], "affected_items": ["MAIL-01"]}])
    );
    ada.get("/api/v1/changes/calendar?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z")
        .await
        .error(400, "validation_failed");
    ada.get("/api/v1/changes/calendar?from=yesterday&to=2026-12-01T00:00:00Z")
        .await
        .error(400, "validation_failed");

    // Scheduling into a window another change holds is allowed, with the
    // conflict said on the answer (and only there).
    let scheduled = ada
        .post(
            "/api/v1/changes/CHG-000002/status",
            json!({"status": "scheduled"}),
        )
        .await
        .expect(200);
    assert_eq!(scheduled["change"]["conflicts_with"], json!(["CHG-000001"]));
    let read = ada.get("/api/v1/changes/CHG-000002").await.expect(200);
    assert!(read["change"].get("conflicts_with").is_none(), "{read}");

    // Replanned: moved out of the way, it is requested again, its
    // decisions undone, its approver asked again by email.
    let version = scheduled["version"].as_i64().expect("version");
    let replanned = ada
        .patch(
            "/api/v1/changes/CHG-000002/plan",
            json!({"planned_start": "2026-12-02T21:00:00Z", "planned_end": "2026-12-02T23:00:00Z",
                   "approvers": [cara_id], "backout_plan": "Reinstall the old patch"}),
        )
        .await
        .expect(200);
    assert_eq!(replanned["status"], "requested");
    assert_eq!(replanned["version"], version + 1);
    assert_eq!(
        replanned["change"]["approvals"],
        json!([{"approver_id": cara_id, "decision": null, "comment": null, "decided_at": null}])
    );
    assert_eq!(replanned["change"]["planned_start"], "2026-12-02T21:00:00Z");
    assert_eq!(
        replanned["change"]["reason"], "The disks report errors",
        "left out: kept"
    );
    let history = ada
        .get("/api/v1/changes/CHG-000002/history")
        .await
        .expect(200);
    assert!(
        history
            .as_array()
            .expect("history")
            .iter()
            .any(|e| e["change"] == "plan"
                && e["to"] == "backout_plan, planned_start, planned_end, approvers"),
        "{history}"
    );
    let mut asked = false;
    for _ in 0..200 {
        asked = desk.smtp.messages().iter().any(|raw| {
            let text = String::from_utf8_lossy(raw);
            text.contains("[CHG-000002] Your decision is wanted")
                && text.contains("<cara@change.example>")
        });
        if asked {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(asked, "Cara is asked for her decision by email");
    ada.patch(
        "/api/v1/changes/CHG-000002/plan",
        json!({"planned_end": "2026-12-02T20:00:00Z"}),
    )
    .await
    .error(400, "validation_failed");
    cara.post(
        "/api/v1/changes/CHG-000002/decision",
        json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    ada.patch(
        "/api/v1/changes/CHG-000003/plan",
        json!({"reason": "Again"}),
    )
    .await
    .error(409, "invalid_transition");

    // Through the lifecycle to the post-implementation review, which is
    // said as the change moves to reviewed.
    for status in ["scheduled", "implementing", "implemented"] {
        let moved = ada
            .post(
                "/api/v1/changes/CHG-000001/status",
                json!({"status": status}),
            )
            .await
            .expect(200);
        assert_eq!(moved["status"], status);
    }
    ada.post(
        "/api/v1/changes/CHG-000001/status",
        json!({"status": "reviewed"}),
    )
    .await
    .error(400, "validation_failed");
    let reviewed = ada
        .post(
            "/api/v1/changes/CHG-000001/status",
            json!({"status": "reviewed", "review": "Went to plan; mail back at 21:40"}),
        )
        .await
        .expect(200);
    assert_eq!(
        reviewed["change"]["review"],
        "Went to plan; mail back at 21:40"
    );
    ada.post(
        "/api/v1/changes/CHG-000001/status",
        json!({"status": "closed"}),
    )
    .await
    .expect(200);
    ada.post(
        "/api/v1/changes/CHG-000001/actions",
        json!({"text": "One more thing"}),
    )
    .await
    .error(409, "invalid_transition");
    let history = ada
        .get("/api/v1/changes/CHG-000001/history")
        .await
        .expect(200);
    let approvals = history
        .as_array()
        .map(|h| h.iter().filter(|e| e["change"] == "approval").count())
        .unwrap_or(0);
    assert_eq!(approvals, 2);

    // Backed out, saying why.
    for approver in [&ada, &bob] {
        approver
            .post(
                "/api/v1/changes/CHG-000004/decision",
                json!({"decision": "approve"}),
            )
            .await
            .expect(200);
    }
    for status in ["scheduled", "implementing"] {
        ada.post(
            "/api/v1/changes/CHG-000004/status",
            json!({"status": status}),
        )
        .await
        .expect(200);
    }
    ada.post(
        "/api/v1/changes/CHG-000004/status",
        json!({"status": "backed_out"}),
    )
    .await
    .error(400, "validation_failed");
    let backed_out = ada
        .post(
            "/api/v1/changes/CHG-000004/status",
            json!({"status": "backed_out", "backout_reason": "The new disks were the wrong size"}),
        )
        .await
        .expect(200);
    assert_eq!(
        backed_out["change"]["backout_reason"],
        "The new disks were the wrong size"
    );
}

pub async fn service_requests(desk: &Desk) {
    let admin = desk.tenant("Request Co").await;
    let (_, _, customer) = directory(&admin).await;
    let (ada_id, ada) = agent(&admin, "Ada").await;
    let carl = client(&admin, json!({"role": "customer", "customer_id": customer})).await;
    let other = admin
        .post("/api/v1/customers", json!({"name": "Dora"}))
        .await
        .expect(201);
    let dora = client(
        &admin,
        json!({"role": "customer", "customer_id": id(&other)}),
    )
    .await;

    let fields = json!([
        {"key": "start_date", "label": "Start date", "type": "date", "required": true},
        {"key": "site", "label": "Site", "type": "choice", "choices": ["Leeds", "York"], "required": true},
    ]);
    let body = admin
        .post(
            "/api/v1/request-types",
            json!({"name": "Broken", "fields": [{"key": "site", "label": "Site", "type": "choice"}]}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["fields[0].choices"].is_string(),
        "{body}"
    );
    ada.post("/api/v1/request-types", json!({"name": "Mine"}))
        .await
        .error(403, "forbidden");
    let starter = admin
        .post(
            "/api/v1/request-types",
            json!({"name": "New starter", "description": "A new colleague", "fields": fields,
                   "steps": ["Create the account", "Order a laptop"]}),
        )
        .await
        .expect(200);
    let listed = carl.get("/api/v1/request-types").await.expect(200);
    assert_eq!(listed, json!([starter]));

    // A customer asks; the request is theirs.
    let request = |f: Value| json!({"summary": "New starter: Dana", "request_type": "new starter", "fields": f});
    let body = carl
        .post(
            "/api/v1/requests",
            request(json!({"start_date": "2026-12-07"})),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["fields.site"].is_string(),
        "{body}"
    );
    let body = carl
        .post(
            "/api/v1/requests",
            request(json!({"start_date": "7/12/2026", "site": "York"})),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["fields.start_date"].is_string(),
        "{body}"
    );
    let body = carl
        .post(
            "/api/v1/requests",
            json!({"summary": "Something", "request_type": "Nope"}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["request_type"].is_string(),
        "{body}"
    );
    let req = carl
        .post(
            "/api/v1/requests",
            request(json!({"start_date": "2026-12-07", "site": "York"})),
        )
        .await
        .expect(201);
    assert_eq!(req["reference"], "REQ-000001");
    assert_eq!(req["customer_id"], customer.as_str());
    assert_eq!(req["request"]["request_type"], "New starter");
    assert_eq!(req["request"]["steps"][1]["name"], "Order a laptop");
    assert_eq!(req["request"]["steps"][1]["done_at"], Value::Null);
    assert_eq!(
        carl.get("/api/v1/requests").await.expect(200)["items"][0]["id"],
        req["id"]
    );
    assert_eq!(
        dora.get("/api/v1/requests").await.expect(200)["items"],
        json!([])
    );
    dora.get("/api/v1/requests/REQ-000001")
        .await
        .error(404, "not_found");
    carl.post("/api/v1/requests/REQ-000001/steps/0/done", json!({}))
        .await
        .error(403, "forbidden");

    // Assignable like incidents; suppliers are for incidents only.
    let assigned = ada
        .post(
            "/api/v1/requests/REQ-000001/assign",
            json!({"assignee_id": ada_id}),
        )
        .await
        .expect(200);
    assert_eq!(assigned["assignee_id"], ada_id.as_str());
    let body = ada
        .post(
            "/api/v1/requests/REQ-000001/assign",
            json!({"supplier_id": ada_id}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["supplier_id"].is_string(),
        "{body}"
    );
    let mine = ada
        .get(&format!("/api/v1/requests?assignee_id={ada_id}"))
        .await
        .expect(200);
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));

    // Fulfilled once every step is done.
    let body = ada
        .post(
            "/api/v1/requests/REQ-000001/status",
            json!({"status": "fulfilled"}),
        )
        .await
        .error(409, "invalid_transition");
    assert_eq!(
        body["details"]["pending_steps"],
        json!(["Create the account", "Order a laptop"])
    );
    ada.post("/api/v1/requests/REQ-000001/steps/0/done", json!({}))
        .await
        .expect(200);
    ada.post("/api/v1/requests/REQ-000001/steps/0/done", json!({}))
        .await
        .error(409, "conflict");
    ada.post("/api/v1/requests/REQ-000001/steps/7/done", json!({}))
        .await
        .error(404, "not_found");
    let done = ada
        .post("/api/v1/requests/REQ-000001/steps/1/done", json!({}))
        .await
        .expect(200);
    assert_eq!(done["request"]["steps"][1]["done_by"]["name"], "Ada");
    // The last step done fulfils it, with the steps as its resolution.
    assert_eq!(done["status"], "fulfilled", "{done}");
    assert_eq!(
        done["resolution"],
        "Every step done: Create the account, Order a laptop"
    );
    let history = ada
        .get("/api/v1/requests/REQ-000001/history")
        .await
        .expect(200);
    assert!(
        history
            .as_array()
            .expect("history")
            .iter()
            .any(|e| e["change"] == "status" && e["to"] == "fulfilled"),
        "{history}"
    );
    carl.post(
        "/api/v1/requests/REQ-000001/actions",
        json!({"text": "Thanks!"}),
    )
    .await
    .expect(201);

    // Lists filter on the request's own fields.
    let york = ada
        .get("/api/v1/requests?field.site=York")
        .await
        .expect(200);
    assert_eq!(york["items"].as_array().map(Vec::len), Some(1));
    let leeds = ada
        .get("/api/v1/requests?field.site=Leeds")
        .await
        .expect(200);
    assert_eq!(leeds["items"], json!([]));

    // A type retired: no new request takes it; those logged with it keep
    // what they were logged with.
    ada.delete("/api/v1/request-types/new%20starter")
        .await
        .error(403, "forbidden");
    let retired = admin
        .delete("/api/v1/request-types/New%20Starter")
        .await
        .expect(200);
    assert_eq!(retired["name"], "New starter");
    admin
        .delete(&format!("/api/v1/request-types/{}", id(&retired)))
        .await
        .error(404, "not_found");
    ada.post(
        "/api/v1/requests",
        json!({"summary": "Another starter", "request_type": "New starter"}),
    )
    .await
    .error(400, "validation_failed");
    let kept = ada.get("/api/v1/requests/REQ-000001").await.expect(200);
    assert_eq!(kept["request"]["request_type"], "New starter");
    assert_eq!(kept["request"]["steps"].as_array().map(Vec::len), Some(2));
}

pub async fn links_and_extended_data(desk: &Desk) {
    let admin = desk.tenant("Links Co").await;
    let (_, ada) = agent(&admin, "Ada").await;

    // Extended data on incidents.
    ada.put("/api/v1/fields/incidents", json!({"fields": []}))
        .await
        .error(403, "forbidden");
    admin
        .put("/api/v1/fields/widgets", json!({"fields": []}))
        .await
        .error(404, "not_found");
    let defs = admin
        .put(
            "/api/v1/fields/incidents",
            json!({"fields": [
                {"key": "asset_tag", "label": "Asset tag", "type": "text", "max_length": 12},
                {"key": "cost", "label": "Cost", "type": "number", "min": 0},
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(ada.get("/api/v1/fields/incidents").await.expect(200), defs);
    let new = |fields: Value| json!({"summary": "Broken laptop", "priority": 3, "fields": fields});
    for (fields, bad) in [
        (json!({"nope": 1}), "fields.nope"),
        (
            json!({"asset_tag": "PC-0042-0042-0042"}),
            "fields.asset_tag",
        ),
        (json!({"cost": -1}), "fields.cost"),
        (json!({"cost": "cheap"}), "fields.cost"),
    ] {
        let body = ada
            .post("/api/v1/incidents", new(fields))
            .await
            .error(400, "validation_failed");
        assert!(body["details"]["fields"][bad].is_string(), "{bad}: {body}");
    }
    let laptop = ada
        .post("/api/v1/incidents", new(json!({"asset_tag": "PC-0042"})))
        .await
        .expect(201);
    assert_eq!(laptop["fields"]["asset_tag"], "PC-0042");
    incident(&ada, "Another laptop").await;
    let found = ada
        .get("/api/v1/incidents?field.asset_tag=PC-0042")
        .await
        .expect(200);
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["items"][0]["id"], laptop["id"]);
    let edited = ada
        .patch(
            "/api/v1/incidents/INC-000001",
            json!({"fields": {"cost": 12.5}, "summary": "Broken laptop screen"}),
        )
        .await
        .expect(200);
    assert_eq!(
        edited["fields"],
        json!({"asset_tag": "PC-0042", "cost": 12.5})
    );
    assert_eq!(edited["summary"], "Broken laptop screen");
    assert_eq!(edited["status"], "open");
    let cleared = ada
        .patch(
            "/api/v1/incidents/INC-000001",
            json!({"fields": {"asset_tag": null}}),
        )
        .await
        .expect(200);
    assert_eq!(cleared["fields"], json!({"cost": 12.5}));
    let gone = ada
        .get("/api/v1/incidents?field.asset_tag=PC-0042")
        .await
        .expect(200);
    assert_eq!(gone["items"], json!([]));
    let body = ada
        .patch("/api/v1/incidents/INC-000001", json!({"colour": "red"}))
        .await
        .error(400, "validation_failed");
    assert!(
        body["message"].as_str().unwrap_or("").contains("colour"),
        "{body}"
    );
    ada.patch("/api/v1/incidents/INC-000001", json!({"root_cause": "x"}))
        .await
        .error(400, "validation_failed");

    // Links, read from both ends.
    ada.post("/api/v1/problems", json!({"summary": "Bad laptop batch"}))
        .await
        .expect(201);
    let link = ada
        .post(
            "/api/v1/incidents/INC-000001/links",
            json!({"link_type": "caused_by", "ticket": "PRB-000001"}),
        )
        .await
        .expect(201);
    assert_eq!(link["link_type"], "caused_by");
    assert_eq!(link["ticket"]["reference"], "PRB-000001");
    let from_problem = ada
        .get("/api/v1/problems/PRB-000001/links")
        .await
        .expect(200);
    assert_eq!(from_problem[0]["link_type"], "causes");
    assert_eq!(from_problem[0]["ticket"]["reference"], "INC-000001");
    ada.post(
        "/api/v1/problems/PRB-000001/links",
        json!({"link_type": "causes", "ticket": "INC-000001"}),
    )
    .await
    .error(409, "conflict");
    ada.post(
        "/api/v1/incidents/INC-000001/links",
        json!({"link_type": "related", "ticket": "INC-000001"}),
    )
    .await
    .error(400, "validation_failed");
    ada.post(
        "/api/v1/incidents/INC-000001/links",
        json!({"link_type": "related", "ticket": "CHG-000404"}),
    )
    .await
    .error(400, "validation_failed");
    ada.post(
        "/api/v1/incidents/INC-000001/links",
        json!({"link_type": "sibling_of", "ticket": "INC-000002"}),
    )
    .await
    .error(400, "validation_failed");
    ada.post(
        "/api/v1/incidents/INC-000002/links",
        json!({"link_type": "parent_of", "ticket": "INC-000001"}),
    )
    .await
    .expect(201);
    let child = ada
        .get("/api/v1/incidents/INC-000001/links")
        .await
        .expect(200);
    let types: Vec<&str> = child
        .as_array()
        .map(|l| l.iter().filter_map(|l| l["link_type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types, vec!["caused_by", "child_of"]);
    // Orders do not contradict themselves: no ticket is its own ancestor
    // or cause, directly or through others.
    let third = incident(&ada, "Third in line").await;
    ada.post(
        "/api/v1/incidents/INC-000001/links",
        json!({"link_type": "parent_of", "ticket": third["reference"]}),
    )
    .await
    .expect(201);
    for (from, link_type, to) in [
        ("INC-000001", "parent_of", "INC-000002"),
        ("INC-000002", "child_of", "INC-000001"),
        (
            third["reference"].as_str().expect("ref"),
            "parent_of",
            "INC-000002",
        ),
        ("PRB-000001", "caused_by", "INC-000001"),
    ] {
        let path = format!(
            "/api/v1/{}/{from}/links",
            if from.starts_with("PRB") {
                "problems"
            } else {
                "incidents"
            }
        );
        let body = ada
            .post(&path, json!({"link_type": link_type, "ticket": to}))
            .await
            .error(400, "validation_failed");
        assert!(
            body["details"]["fields"]["ticket"].is_string(),
            "{from} {link_type} {to}: {body}"
        );
    }
    let left = ada
        .delete(&format!("/api/v1/problems/PRB-000001/links/{}", id(&link)))
        .await
        .expect(200);
    assert_eq!(left, json!([]));
    ada.delete(&format!("/api/v1/problems/PRB-000001/links/{}", id(&link)))
        .await
        .error(404, "not_found");

    // Another tenant sees none of it.
    let other = desk.tenant("Other Links Co").await;
    other
        .get("/api/v1/problems/PRB-000001")
        .await
        .error(404, "not_found");
    other
        .get("/api/v1/incidents/INC-000001/links")
        .await
        .error(404, "not_found");
}

pub async fn satisfaction_and_reports(desk: &Desk) {
    let admin = desk.tenant("Report Co").await;
    let (_, _, customer) = directory(&admin).await;
    let (_, ada) = agent(&admin, "Ada").await;
    let carl = client(&admin, json!({"role": "customer", "customer_id": customer})).await;
    let other = admin
        .post("/api/v1/customers", json!({"name": "Dora"}))
        .await
        .expect(201);
    let dora = client(
        &admin,
        json!({"role": "customer", "customer_id": id(&other)}),
    )
    .await;
    let anyone = Api::new(&admin.base, None);

    carl.post(
        "/api/v1/incidents",
        json!({"summary": "VPN drops", "priority": 3}),
    )
    .await
    .expect(201);
    incident(&ada, "Disk full").await;
    incident(&ada, "Slow wiki").await;
    let answered = ada
        .post(
            "/api/v1/incidents/INC-000001/actions",
            json!({"text": "Looking at the VPN concentrator", "public": true}),
        )
        .await
        .expect(201);
    let first = ada.get("/api/v1/incidents/INC-000001").await.expect(200);
    assert_eq!(first["first_response_at"], answered["created_at"]);

    // Resolving offers the customer one survey, answered once by link.
    carl.get("/api/v1/incidents/INC-000001/survey")
        .await
        .error(404, "not_found");
    ada.post(
        "/api/v1/incidents/INC-000001/status",
        json!({"status": "resolved", "resolution": "Firmware updated"}),
    )
    .await
    .expect(200);
    let survey = carl
        .get("/api/v1/incidents/INC-000001/survey")
        .await
        .expect(200);
    assert_eq!(survey["reference"], "INC-000001");
    assert_eq!(survey["rating"], Value::Null);
    let token = survey["token"].as_str().expect("token").to_owned();
    dora.get("/api/v1/incidents/INC-000001/survey")
        .await
        .error(404, "not_found");
    ada.get("/api/v1/incidents/INC-000001/survey")
        .await
        .error(404, "not_found");
    let link = format!("/api/v1/surveys/{token}");
    assert_eq!(anyone.get(&link).await.expect(200)["summary"], "VPN drops");
    anyone
        .post(&link, json!({"rating": 6}))
        .await
        .error(400, "validation_failed");
    let rated = anyone
        .post(&link, json!({"rating": 5, "comment": "Quick & friendly"}))
        .await
        .expect(200);
    assert_eq!(rated["rating"], 5);
    anyone
        .post(&link, json!({"rating": 1}))
        .await
        .error(409, "conflict");
    let forged = format!("{}{}", &token[..32], "0".repeat(64));
    anyone
        .get(&format!("/api/v1/surveys/{forged}"))
        .await
        .error(404, "not_found");
    anyone
        .get("/api/v1/surveys/not-a-token")
        .await
        .error(404, "not_found");
    // Reopened and resolved again: still the one survey.
    for (status, resolution) in [("open", None), ("resolved", Some("Firmware rolled back"))] {
        ada.post(
            "/api/v1/incidents/INC-000001/status",
            json!({"status": status, "resolution": resolution}),
        )
        .await
        .expect(200);
    }
    let again = carl
        .get("/api/v1/incidents/INC-000001/survey")
        .await
        .expect(200);
    assert_eq!(again["token"], token.as_str());

    // Problems for the problem management report.
    ada.post("/api/v1/problems", json!({"summary": "VPN instability"}))
        .await
        .expect(201);
    ada.post("/api/v1/problems", json!({"summary": "Disks fill up"}))
        .await
        .expect(201);
    ada.post(
        "/api/v1/problems/PRB-000001/incidents",
        json!({"incidents": ["INC-000001"]}),
    )
    .await
    .expect(200);
    ada.post(
        "/api/v1/problems/PRB-000001/status",
        json!({"status": "resolved", "resolution": "Firmware fixed it", "outcome": "other"}),
    )
    .await
    .expect(200);
    ada.post(
        "/api/v1/problems/PRB-000002/actions",
        json!({"kind": "progress", "text": "Asked the vendor about log rotation\nMore detail here"}),
    )
    .await
    .expect(201);

    let report = ada
        .get("/api/v1/reports/problems?period=day")
        .await
        .expect(200);
    let sum = |items: &Value, key: &str| -> u64 {
        items
            .as_array()
            .map(|a| a.iter().filter_map(|p| p[key].as_u64()).sum())
            .unwrap_or(0)
    };
    assert_eq!(sum(&report["trend"], "problems_raised"), 2);
    assert_eq!(sum(&report["trend"], "incidents_raised"), 3);
    assert_eq!(report["resolved"]["total"], 1);
    assert_eq!(report["resolved"]["other"], 1);
    assert_eq!(report["resolved"]["linked_incidents"], 1);
    assert_eq!(report["resolved"]["problems"][0]["reference"], "PRB-000001");
    assert_eq!(report["days_open"][0]["reference"], "PRB-000002");
    assert_eq!(report["days_open"][0]["days_open"], 0);
    assert_eq!(
        report["activity"][0]["actions"][0]["text"],
        "Asked the vendor about log rotation"
    );

    let incidents = ada
        .get("/api/v1/reports/incidents?period=month")
        .await
        .expect(200);
    assert_eq!(sum(&incidents["volume"], "raised"), 3);
    assert_eq!(sum(&incidents["volume"], "resolved"), 1);
    assert_eq!(incidents["first_response"]["count"], 1);
    assert_eq!(incidents["resolve"]["count"], 1);
    assert_eq!(incidents["resolved"], 1);
    assert_eq!(incidents["reopened"], 1);
    assert_eq!(incidents["reopen_rate"], 1.0);
    assert_eq!(incidents["satisfaction"]["responses"], 1);
    assert_eq!(incidents["satisfaction"]["ratings"], json!([0, 0, 0, 0, 1]));

    let csv = ada
        .get("/api/v1/reports/problems/days-open.csv")
        .await
        .expect(200);
    let csv = csv.as_str().expect("CSV text");
    assert!(
        csv.starts_with(
            "reference,days_open,priority,status,summary\r\nPRB-000002,0,3,open,Disks fill up"
        ),
        "{csv}"
    );
    let svg = ada
        .get("/api/v1/reports/problems/trend.svg")
        .await
        .expect(200);
    assert!(svg.as_str().is_some_and(|s| s.starts_with("<svg")), "{svg}");
    let summary = ada
        .get("/api/v1/reports/incidents/summary.csv")
        .await
        .expect(200);
    assert!(
        summary
            .as_str()
            .is_some_and(|s| s.contains("satisfaction_mean,5")),
        "{summary}"
    );
    ada.get("/api/v1/reports/problems/nothing.csv")
        .await
        .error(404, "not_found");
    carl.get("/api/v1/reports/problems")
        .await
        .error(403, "forbidden");
    ada.get("/api/v1/reports/incidents?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z")
        .await
        .error(400, "validation_failed");
}

pub async fn knowledge_base(desk: &Desk) {
    let admin = desk.tenant("Knowledge Co").await;
    let (_, _, customer) = directory(&admin).await;
    let (_, ada) = agent(&admin, "Ada").await;
    let carl = client(&admin, json!({"role": "customer", "customer_id": customer})).await;

    admin
        .put(
            "/api/v1/fields/incidents",
            json!({"fields": [{"key": "model", "label": "Printer model", "type": "text"}]}),
        )
        .await
        .expect(200);
    ada.post(
        "/api/v1/incidents",
        json!({"summary": "Printer prints blank pages", "priority": 3,
               "description": "Since the update <script>alert(1)</script>",
               "fields": {"model": "HP <4050>"}}),
    )
    .await
    .expect(201);
    for (text, flagged, public) in [
        (
            "Restart the <b>spooler</b>\nthen print a test page",
            true,
            true,
        ),
        ("Internal: the vendor owes us one", false, false),
        (
            "Internal steps, flagged for the knowledge base",
            true,
            false,
        ),
        ("Public, but not for the knowledge base", false, true),
    ] {
        ada.post(
            "/api/v1/incidents/INC-000001/actions",
            json!({"text": text, "knowledge_base": flagged, "public": public}),
        )
        .await
        .expect(201);
    }

    // The export: only flagged actions, every value escaped.
    let html = ada
        .get("/api/v1/incidents/INC-000001/export")
        .await
        .expect(200);
    let html = html.as_str().expect("HTML");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("Since the update &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("<dt>Printer model</dt><dd>HP &lt;4050&gt;</dd>"),
        "extended data is in the export: {html}"
    );
    assert!(
        html.contains("Restart the &lt;b&gt;spooler&lt;/b&gt;<br>\nthen print a test page"),
        "{html}"
    );
    assert!(
        !html.contains("vendor owes us"),
        "unflagged actions stay out: {html}"
    );
    // Exactly the flag decides (the seed's rule): a private note flagged
    // for the knowledge base goes in, a public action not flagged stays out.
    assert!(
        html.contains("Internal steps, flagged for the knowledge base"),
        "flagged private ones go in: {html}"
    );
    assert!(
        !html.contains("not for the knowledge base"),
        "unflagged public ones stay out: {html}"
    );
    carl.get("/api/v1/incidents/INC-000001/export")
        .await
        .error(403, "forbidden");

    // The tenant's own template.
    ada.put(
        "/api/v1/kb/template",
        json!({"template": "<p>{{summary}}</p>"}),
    )
    .await
    .error(403, "forbidden");
    admin
        .put("/api/v1/kb/template", json!({}))
        .await
        .error(400, "validation_failed");
    let body = admin
        .put(
            "/api/v1/kb/template",
            json!({"template": "<p>{{secret}}</p>"}),
        )
        .await
        .error(400, "validation_failed");
    assert!(body["details"]["fields"]["template"].is_string(), "{body}");
    let own = admin
        .put(
            "/api/v1/kb/template",
            json!({"template": "<h1>{{summary}}</h1>{{#actions}}<p>{{text}}</p>{{/actions}}"}),
        )
        .await
        .expect(200);
    assert_eq!(own["is_default"], false);

    // Published articles are for everyone in the tenant to read.
    let article = ada
        .post("/api/v1/incidents/INC-000001/publish", json!({}))
        .await
        .expect(201);
    assert_eq!(article["title"], "Printer prints blank pages");
    assert_eq!(
        article["html"],
        "<h1>Printer prints blank pages</h1><p>Restart the &lt;b&gt;spooler&lt;/b&gt;<br>\nthen print a test page</p>\
         <p>Internal steps, flagged for the knowledge base</p>"
    );
    carl.post("/api/v1/incidents/INC-000001/publish", json!({}))
        .await
        .error(403, "forbidden");
    let listed = carl.get("/api/v1/kb/articles").await.expect(200);
    assert_eq!(listed["items"][0]["id"], article["id"]);
    let path = format!("/api/v1/kb/articles/{}", id(&article));
    assert_eq!(carl.get(&path).await.expect(200)["html"], article["html"]);
    assert_eq!(
        carl.get(&format!("{path}/html")).await.expect(200),
        article["html"]
    );
    let again = ada
        .post(
            "/api/v1/incidents/INC-000001/publish",
            json!({"title": "Blank pages after the printer update"}),
        )
        .await
        .expect(201);
    assert_eq!(again["id"], article["id"], "publishing again replaces it");
    ada.post("/api/v1/problems", json!({"summary": "Spooler crashes"}))
        .await
        .expect(201);
    ada.post("/api/v1/problems/PRB-000001/publish", json!({}))
        .await
        .expect(201);
    let found = carl.get("/api/v1/kb/articles?q=BLANK").await.expect(200);
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        carl.get("/api/v1/kb/articles").await.expect(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    carl.delete(&path).await.error(403, "forbidden");
    ada.delete(&path).await.expect(200);
    carl.get(&path).await.error(404, "not_found");
    let reset = admin
        .put("/api/v1/kb/template", json!({"template": null}))
        .await
        .expect(200);
    assert_eq!(reset["is_default"], true);
}

pub async fn attachments(desk: &Desk) {
    let admin = desk.tenant("Attachment Co").await;
    let (_, _, customer) = directory(&admin).await;
    let (_, ada) = agent(&admin, "Ada").await;
    let carl = client(&admin, json!({"role": "customer", "customer_id": customer})).await;
    let other = admin
        .post("/api/v1/customers", json!({"name": "Dora"}))
        .await
        .expect(201);
    let dora = client(
        &admin,
        json!({"role": "customer", "customer_id": id(&other)}),
    )
    .await;
    carl.post(
        "/api/v1/incidents",
        json!({"summary": "Screen flickers", "priority": 3}),
    )
    .await
    .expect(201);
    let path = "/api/v1/incidents/INC-000001/attachments";
    let upload = |api: &Api, query: &str, content_type: &str, bytes: &[u8]| {
        let (api, url, ct, bytes) = (
            api.clone(),
            format!("{path}?{query}"),
            content_type.to_owned(),
            bytes.to_vec(),
        );
        async move {
            api.send_raw(reqwest::Method::POST, &url, Some(&ct), bytes)
                .await
        }
    };

    let notes = upload(
        &carl,
        "filename=notes.txt",
        "text/plain",
        b"It flickers at 60 Hz",
    )
    .await
    .expect(201);
    assert_eq!(notes["public"], true, "what a customer attaches is public");
    assert_eq!(notes["size"], 20);
    assert_eq!(notes["filename"], "notes.txt");
    let pdf = upload(
        &ada,
        "filename=diagnosis.pdf",
        "application/pdf",
        b"%PDF-1.4 the findings",
    )
    .await
    .expect(201);
    assert_eq!(pdf["public"], false);
    upload(
        &ada,
        "filename=page.html",
        "text/html",
        b"<script>alert(1)</script>",
    )
    .await
    .error(415, "unsupported_media_type");
    upload(
        &ada,
        "filename=logo.svg",
        "image/svg+xml",
        b"<svg onload=alert(1)/>",
    )
    .await
    .error(415, "unsupported_media_type");
    let body = upload(
        &ada,
        "filename=shot.png",
        "image/png",
        b"<html>not a png</html>",
    )
    .await
    .error(400, "validation_failed");
    assert!(body["details"]["fields"]["body"].is_string(), "{body}");
    let body = upload(&ada, "filename=..%2F..%2Fetc%2Fpasswd", "text/plain", b"x")
        .await
        .error(400, "validation_failed");
    assert!(body["details"]["fields"]["filename"].is_string(), "{body}");
    upload(&ada, "public=true", "text/plain", b"x")
        .await
        .error(400, "validation_failed");
    upload(
        &ada,
        "filename=big.bin",
        "application/octet-stream",
        &vec![0u8; 10 * 1024 * 1024 + 1],
    )
    .await
    .error(413, "payload_too_large");
    let action = ada
        .post(
            "/api/v1/incidents/INC-000001/actions",
            json!({"text": "Swapped the cable", "public": true}),
        )
        .await
        .expect(201);
    let on_action = upload(
        &ada,
        &format!("filename=cable.txt&public=true&action_id={}", id(&action)),
        "text/plain",
        b"new cable",
    )
    .await
    .expect(201);
    assert_eq!(on_action["action_id"], action["id"]);
    upload(
        &ada,
        &format!("filename=x.txt&action_id={}", id(&notes)),
        "text/plain",
        b"x",
    )
    .await
    .error(400, "validation_failed");

    // Customers see the public ones of their own tickets only.
    let mine = carl.get(path).await.expect(200);
    assert_eq!(mine.as_array().map(Vec::len), Some(2), "{mine}");
    assert_eq!(
        ada.get(path).await.expect(200).as_array().map(Vec::len),
        Some(3)
    );
    dora.get(path).await.error(404, "not_found");
    let (status, headers, bytes) = carl
        .download(&format!("/api/v1/attachments/{}", id(&notes)))
        .await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(bytes, b"It flickers at 60 Hz");
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()
            .is_ok_and(|d| d.starts_with("attachment; filename=\"notes.txt\"")),
        "{headers:?}"
    );
    let private = format!("/api/v1/attachments/{}", id(&pdf));
    assert_eq!(carl.download(&private).await.0.as_u16(), 404);
    assert_eq!(
        dora.download(&format!("/api/v1/attachments/{}", id(&notes)))
            .await
            .0
            .as_u16(),
        404
    );
    let (status, _, bytes) = ada.download(&private).await;
    assert_eq!(
        (status.as_u16(), bytes.as_slice()),
        (200, &b"%PDF-1.4 the findings"[..])
    );
    let stranger = desk.tenant("Other Attachment Co").await;
    assert_eq!(stranger.download(&private).await.0.as_u16(), 404);
    carl.delete(&private).await.error(403, "forbidden");
    ada.delete(&private).await.expect(200);
    assert_eq!(ada.download(&private).await.0.as_u16(), 404);

    // On other kinds too, as far as their readers go.
    ada.post("/api/v1/problems", json!({"summary": "Monitors flicker"}))
        .await
        .expect(201);
    let problem_files = "/api/v1/problems/PRB-000001/attachments?filename=trace.txt";
    ada.send_raw(
        reqwest::Method::POST,
        problem_files,
        Some("text/plain"),
        b"trace".to_vec(),
    )
    .await
    .expect(201);
    carl.send_raw(
        reqwest::Method::POST,
        problem_files,
        Some("text/plain"),
        b"trace".to_vec(),
    )
    .await
    .error(404, "not_found");
}

pub async fn calendars_and_slas(desk: &Desk) {
    let admin = desk.tenant("SLA Co").await;
    let (_, ada) = agent(&admin, "Ada").await;
    let office = json!({"name": "Office hours", "time_zone": "Europe/London",
        "week": {"monday": [{"start": "09:00", "end": "17:00"}],
                 "tuesday": [{"start": "09:00", "end": "17:00"}],
                 "wednesday": [{"start": "09:00", "end": "17:00"}],
                 "thursday": [{"start": "09:00", "end": "17:00"}],
                 "friday": [{"start": "09:00", "end": "12:30"}, {"start": "13:30", "end": "17:00"}]},
        "holidays": ["2026-12-25", "2026-12-28"]});
    ada.post("/api/v1/calendars", office.clone())
        .await
        .error(403, "forbidden");
    for (bad, field) in [
        (
            json!({"name": "Never", "time_zone": "UTC", "week": {}}),
            "week",
        ),
        (
            json!({"name": "Odd", "time_zone": "Mars/Olympus_Mons",
                   "week": {"monday": [{"start": "09:00", "end": "17:00"}]}}),
            "time_zone",
        ),
        (
            json!({"name": "Overlap", "time_zone": "UTC",
                   "week": {"monday": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "17:00"}]}}),
            "week.monday[1]",
        ),
        (
            json!({"name": "Late", "time_zone": "UTC",
                   "week": {"monday": [{"start": "09:00", "end": "25:00"}]}}),
            "week.monday[0].end",
        ),
    ] {
        let body = admin
            .post("/api/v1/calendars", bad)
            .await
            .error(400, "validation_failed");
        assert!(
            body["details"]["fields"][field].is_string(),
            "{field}: {body}"
        );
    }
    let calendar = admin
        .post("/api/v1/calendars", office.clone())
        .await
        .expect(201);
    assert_eq!(calendar["time_zone"], "Europe/London");
    admin
        .post("/api/v1/calendars", office.clone())
        .await
        .error(409, "conflict");
    let listed = ada.get("/api/v1/calendars").await.expect(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    // The seed's five timepoints on the resolve target.
    let timepoint = |placement: serde_json::Value| json!({"placement": placement, "actions": [{"do": "alert_assignee"}]});
    let five = json!([
        timepoint(json!({"at": "before", "minutes": 120})),
        timepoint(json!({"at": "before", "minutes": 60})),
        {"placement": {"at": "target"}, "actions": [{"do": "alert_team_leader"}, {"do": "email_customer", "template": "We are late"}]},
        timepoint(json!({"at": "after_percent", "percent": 25})),
        {"placement": {"at": "after_percent", "percent": 50}, "actions": [{"do": "raise_priority", "priority": 1}]},
    ]);
    let sla = |resolve_timepoints: serde_json::Value,
               resolve_minutes: u32,
               calendar_id: &serde_json::Value| {
        json!({"name": "Gold", "calendar_id": calendar_id, "response_met_by": "either",
               "grid": [{"priority": 1,
                         "response": {"minutes": 30, "timepoints": [{"placement": {"at": "target"}, "actions": [{"do": "warn_response_breach"}]}]},
                         "resolve": {"minutes": resolve_minutes, "timepoints": resolve_timepoints}}]})
    };
    let thirteen: Vec<serde_json::Value> = (1..=13)
        .map(|m| timepoint(json!({"at": "after", "minutes": m})))
        .collect();
    for (bad, field) in [
        (
            sla(json!(thirteen), 480, &calendar["id"]),
            "grid[0].resolve.timepoints",
        ),
        (
            sla(five.clone(), 0, &calendar["id"]),
            "grid[0].resolve.minutes",
        ),
        (
            sla(
                five.clone(),
                480,
                &json!("0190f0a0-0000-7000-8000-000000000001"),
            ),
            "calendar_id",
        ),
    ] {
        let body = admin
            .post("/api/v1/slas", bad)
            .await
            .error(400, "validation_failed");
        assert!(
            body["details"]["fields"][field].is_string(),
            "{field}: {body}"
        );
    }
    let gold = admin
        .post("/api/v1/slas", sla(five.clone(), 480, &calendar["id"]))
        .await
        .expect(201);
    assert_eq!(
        gold["grid"][0]["resolve"]["timepoints"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
    let faster = admin
        .put(
            &format!("/api/v1/slas/{}", id(&gold)),
            sla(five, 240, &calendar["id"]),
        )
        .await
        .expect(200);
    assert_eq!(faster["id"], gold["id"]);
    assert_eq!(faster["grid"][0]["resolve"]["minutes"], 240);

    // Rules choose a ticket's SLA, in order.
    let body = admin
        .put(
            "/api/v1/sla-rules",
            json!({"rules": [{"when": {"priority": 1}, "sla": "0190f0a0-0000-7000-8000-000000000001"}]}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["rules[0].sla"].is_string(),
        "{body}"
    );
    let body = admin
        .put(
            "/api/v1/sla-rules",
            json!({"rules": [{"when": {"priorty": 1}, "sla": gold["id"]}]}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["message"].as_str().unwrap_or("").contains("priorty"),
        "{body}"
    );
    // Logged before any rule gives it an SLA, and not answered: when it
    // next changes and gets one, its clocks count from when it was logged.
    let early = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Logged before the rules", "priority": 1}),
        )
        .await
        .expect(201);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let rules =
        json!({"rules": [{"when": {"priority": 1, "kind": "incident"}, "sla": gold["id"]}]});
    admin
        .put("/api/v1/sla-rules", rules.clone())
        .await
        .expect(200);
    assert_eq!(ada.get("/api/v1/sla-rules").await.expect(200), rules);
    admin
        .patch(
            &format!("/api/v1/incidents/{}", id(&early)),
            json!({"summary": "Logged before the rules, edited after"}),
        )
        .await
        .expect(200);
    let path = format!("/api/v1/incidents/{}/sla", id(&early));
    let mut clocked = Value::Null;
    for _ in 0..200 {
        clocked = admin.get(&path).await.expect(200);
        if clocked["timeline"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(clocked["sla"]["name"], "Gold", "{clocked}");
    let started = clocked["timeline"][0]["at"].as_str().unwrap_or("");
    let logged = early["created_at"].as_str().unwrap_or("");
    assert_eq!(
        time::OffsetDateTime::parse(started, &time::format_description::well_known::Rfc3339).ok(),
        time::OffsetDateTime::parse(logged, &time::format_description::well_known::Rfc3339).ok(),
        "{clocked}"
    );

    // Another tenant sees none of it.
    let other = desk.tenant("Other SLA Co").await;
    assert_eq!(other.get("/api/v1/slas").await.expect(200), json!([]));
    other
        .put(
            &format!("/api/v1/slas/{}", id(&gold)),
            sla(json!([]), 60, &calendar["id"]),
        )
        .await
        .error(404, "not_found");
    // Not even under a name it uses itself: the calendar is looked up
    // before the name is.
    other
        .post("/api/v1/calendars", office.clone())
        .await
        .expect(201);
    other
        .put(
            &format!("/api/v1/calendars/{}", id(&calendar)),
            office.clone(),
        )
        .await
        .error(404, "not_found");
    other
        .delete(&format!("/api/v1/slas/{}", id(&gold)))
        .await
        .error(404, "not_found");

    // What is not in use may go; what is in use stays, saying what uses it.
    let in_use = admin
        .delete(&format!("/api/v1/calendars/{}", id(&calendar)))
        .await
        .error(409, "conflict");
    assert!(
        in_use["message"].as_str().unwrap_or("").contains("Gold"),
        "{in_use}"
    );
    let named = admin
        .delete(&format!("/api/v1/slas/{}", id(&gold)))
        .await
        .error(409, "conflict");
    assert!(
        named["message"].as_str().unwrap_or("").contains("rules[0]"),
        "{named}"
    );
    let mut spare = office;
    spare["name"] = json!("Spare hours");
    let spare = admin.post("/api/v1/calendars", spare).await.expect(201);
    let unused = admin
        .post("/api/v1/slas", {
            let mut d = sla(json!([]), 60, &spare["id"]);
            d["name"] = json!("Unused");
            d
        })
        .await
        .expect(201);
    ada.delete(&format!("/api/v1/slas/{}", id(&unused)))
        .await
        .error(403, "forbidden");
    assert_eq!(
        admin
            .delete(&format!("/api/v1/slas/{}", id(&unused)))
            .await
            .expect(200)["id"],
        unused["id"]
    );
    admin
        .delete(&format!("/api/v1/calendars/{}", id(&spare)))
        .await
        .expect(200);
    admin
        .delete(&format!("/api/v1/calendars/{}", id(&spare)))
        .await
        .error(404, "not_found");
    let left: Vec<Value> = admin
        .get("/api/v1/calendars")
        .await
        .expect(200)
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(left.len(), 1, "{left:?}");
}
