//! What a user does with the desk, run against each deployment (embedded,
//! distributed): [`every_scenario!`] makes each scenario a test of its own,
//! on a desk of its own.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Api, create_tenant};

/// A running desk: where its API is and how to make tenants for it.
pub struct Desk {
    pub base: String,
    /// `--data-dir …` or `--database-url …` of the edge's store.
    pub store_args: Vec<String>,
    /// The escalation service's `--test-clock-file`: how far ahead of the
    /// system clock its time runs, in seconds.
    pub clock: std::path::PathBuf,
    /// The SMTP server the desk's `--smtp-url` points at.
    pub smtp: runtime::testing::SmtpSink,
}

impl Desk {
    /// Moves the escalation service's clock to `minutes` ahead of the
    /// system clock (never back).
    pub fn advance_minutes(&self, minutes: i64) {
        let now: i64 = std::fs::read_to_string(&self.clock)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let to = (minutes * 60).max(now);
        std::fs::write(&self.clock, to.to_string()).expect("write the test clock");
    }

    /// A new tenant; returns its admin client.
    pub async fn tenant(&self, name: &str) -> Api {
        let args: Vec<&str> = self.store_args.iter().map(String::as_str).collect();
        let (_, token) = create_tenant(name, &args).await;
        Api::new(&self.base, Some(&token))
    }
}

pub(super) fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// An admin sets up the directory; returns (agent id, team id, customer id).
pub(super) async fn directory(admin: &Api) -> (String, String, String) {
    let company = admin
        .post("/api/v1/companies", json!({"name": "Globex"}))
        .await
        .expect(201);
    let team = admin
        .post("/api/v1/teams", json!({"name": "Service Desk"}))
        .await
        .expect(201);
    let agent = admin
        .post(
            "/api/v1/agents",
            json!({"name": "Ada", "email": "ada@desk.example", "team_id": id(&team)}),
        )
        .await
        .expect(201);
    let customer = admin
        .post(
            "/api/v1/customers",
            json!({"name": "Carl", "email": "carl@globex.example", "company_id": id(&company), "language": "nl"}),
        )
        .await
        .expect(201);
    assert_eq!(customer["language"], "nl");
    for (path, n) in [
        ("/api/v1/companies", 1),
        ("/api/v1/teams", 1),
        ("/api/v1/agents", 1),
        ("/api/v1/customers", 1),
    ] {
        let page = admin.get(path).await.expect(200);
        assert_eq!(
            page["items"].as_array().map(Vec::len),
            Some(n),
            "{path}: {page}"
        );
    }
    (id(&agent), id(&team), id(&customer))
}

/// Logging an incident and working it through its whole life.
pub async fn incident_lifecycle(desk: &Desk) {
    let admin = desk.tenant("Lifecycle Inc").await;
    let (agent, team, customer) = directory(&admin).await;
    let token = admin
        .post(
            "/api/v1/tokens",
            json!({"role": "agent", "agent_id": agent}),
        )
        .await
        .expect(201);
    let ada = admin.as_token(token["token"].as_str().expect("token"));

    let inc = ada
        .post(
            "/api/v1/incidents",
            json!({"summary": "Mail server down", "description": "No mail since 9:00", "priority": 2,
                   "customer_id": customer, "category": "email", "service": "Exchange"}),
        )
        .await
        .expect(201);
    assert_eq!(inc["reference"], "INC-000001");
    assert_eq!(inc["status"], "open");
    assert_eq!(inc["priority"], 2);
    assert_eq!(inc["logged_by"]["name"], "Ada");
    let iid = id(&inc);
    assert_eq!(
        ada.get(&format!("/api/v1/incidents/{iid}"))
            .await
            .expect(200),
        inc
    );
    assert_eq!(
        ada.get("/api/v1/incidents/INC-000001").await.expect(200),
        inc,
        "by reference"
    );
    assert_eq!(
        ada.get("/api/v1/incidents/inc-000001").await.expect(200)["id"],
        inc["id"]
    );

    // Impact and urgency through the priority matrix.
    let second = ada
        .post(
            "/api/v1/incidents",
            json!({"summary": "Printer jam", "impact": 2, "urgency": 3}),
        )
        .await
        .expect(201);
    assert_eq!(second["reference"], "INC-000002");
    assert_eq!(second["priority"], 4);

    let assigned = ada
        .post(
            &format!("/api/v1/incidents/{iid}/assign"),
            json!({"assignee_id": agent, "team_id": team}),
        )
        .await
        .expect(200);
    assert_eq!(assigned["assignee_id"], agent.as_str());
    assert_eq!(assigned["team_id"], team.as_str());
    let unteamed = ada
        .post(
            &format!("/api/v1/incidents/{iid}/assign"),
            json!({"team_id": null}),
        )
        .await
        .expect(200);
    assert_eq!(unteamed["team_id"], Value::Null, "null clears");
    assert_eq!(
        unteamed["assignee_id"],
        agent.as_str(),
        "absent leaves as is"
    );
    ada.post(&format!("/api/v1/incidents/{iid}/assign"), json!({}))
        .await
        .error(400, "validation_failed");
    ada.post(
        &format!("/api/v1/incidents/{iid}/assign"),
        json!({"team_id": team}),
    )
    .await
    .expect(200);

    let note = ada
        .post(
            &format!("/api/v1/incidents/{iid}/actions"),
            json!({"text": "Checked the queue", "kind": "note"}),
        )
        .await
        .expect(201);
    assert_eq!(note["public"], false);
    assert_eq!(note["author"]["name"], "Ada");
    let update = ada
        .post(
            &format!("/api/v1/incidents/{iid}/actions"),
            json!({"text": "Restarting transport", "kind": "progress", "public": true, "email_customer": true, "knowledge_base": true}),
        )
        .await
        .expect(201);
    assert_eq!(update["kind"], "progress");
    assert_eq!(update["knowledge_base"], true);
    let actions = ada
        .get(&format!("/api/v1/incidents/{iid}/actions"))
        .await
        .expect(200);
    assert_eq!(actions.as_array().map(Vec::len), Some(2));

    let path = format!("/api/v1/incidents/{iid}/status");
    // Pending says what it waits for, until it waits no more.
    ada.post(&path, json!({"status": "in_progress"}))
        .await
        .expect(200);
    let unsaid = ada
        .post(&path, json!({"status": "pending"}))
        .await
        .error(400, "validation_failed");
    assert!(
        unsaid["details"]["fields"]["pending_reason"].is_string(),
        "{unsaid}"
    );
    let pending = ada
        .post(
            &path,
            json!({"status": "pending", "pending_reason": "Waiting for the new disk"}),
        )
        .await
        .expect(200);
    assert_eq!(pending["pending_reason"], "Waiting for the new disk");
    let working = ada
        .post(&path, json!({"status": "in_progress"}))
        .await
        .expect(200);
    assert!(working.get("pending_reason").is_none(), "{working}");
    let history = ada
        .get(&format!("/api/v1/incidents/{iid}/history"))
        .await
        .expect(200);
    assert!(
        history
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| { e["change"] == "pending_reason" && e["to"] == "Waiting for the new disk" }),
        "{history}"
    );

    // Time spent: each action may record its minutes; the ticket sums them.
    for minutes in [30, 15] {
        let worked = ada
            .post(
                &format!("/api/v1/incidents/{iid}/actions"),
                json!({"text": "Worked on it", "minutes": minutes}),
            )
            .await
            .expect(201);
        assert_eq!(worked["minutes"], minutes);
    }
    ada.post(
        &format!("/api/v1/incidents/{iid}/actions"),
        json!({"text": "Worked for ever", "minutes": 0}),
    )
    .await
    .error(400, "validation_failed");
    let spent = ada
        .get(&format!("/api/v1/incidents/{iid}"))
        .await
        .expect(200);
    assert_eq!(spent["time_spent_minutes"], 45);
    let report = ada
        .get("/api/v1/reports/incidents?period=day")
        .await
        .expect(200);
    assert_eq!(report["time_spent_minutes"], 45, "{report}");
    let csv = ada
        .download("/api/v1/reports/incidents/summary.csv")
        .await
        .2;
    assert!(
        String::from_utf8_lossy(&csv).contains("time_spent_minutes,45"),
        "{}",
        String::from_utf8_lossy(&csv)
    );
    // The customer is not told the desk's accounting, nor keeps any.
    let theirs = admin
        .post(
            "/api/v1/tokens",
            json!({"role": "customer", "customer_id": customer}),
        )
        .await
        .expect(201);
    let carl = admin.as_token(theirs["token"].as_str().expect("token"));
    let seen = carl
        .get(&format!("/api/v1/incidents/{iid}"))
        .await
        .expect(200);
    assert!(seen.get("time_spent_minutes").is_none(), "{seen}");
    carl.post(
        &format!("/api/v1/incidents/{iid}/actions"),
        json!({"text": "I spent an hour too", "minutes": 60}),
    )
    .await
    .error(400, "validation_failed");
    ada.post(&path, json!({"status": "resolved"}))
        .await
        .error(400, "validation_failed");
    let resolved = ada
        .post(
            &path,
            json!({"status": "resolved", "resolution": "Restarted the transport service"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["resolution"], "Restarted the transport service");
    assert!(resolved["resolved_at"].is_string());
    assert_eq!(
        ada.post(&path, json!({"status": "open"})).await.expect(200)["status"],
        "open",
        "reopen"
    );
    ada.post(&path, json!({"status": "closed"}))
        .await
        .error(409, "invalid_transition");
    ada.post(&path, json!({"status": "resolved", "resolution": "Again"}))
        .await
        .expect(200);
    let closed = ada
        .post(&path, json!({"status": "closed"}))
        .await
        .expect(200);
    assert!(closed["closed_at"].is_string());
    let refused = ada
        .post(&path, json!({"status": "in_progress"}))
        .await
        .error(409, "invalid_transition");
    assert_eq!(refused["details"]["from"], "closed");
    ada.post(
        &format!("/api/v1/incidents/{iid}/actions"),
        json!({"text": "late"}),
    )
    .await
    .error(409, "invalid_transition");

    let history = ada
        .get(&format!("/api/v1/incidents/{iid}/history"))
        .await
        .expect(200);
    let changes: Vec<String> = history
        .as_array()
        .expect("history is a list")
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["change"].as_str().unwrap_or(""),
                e["from"].as_str().unwrap_or("-"),
                e["to"].as_str().unwrap_or("-")
            )
        })
        .collect();
    let statuses: Vec<&String> = changes.iter().filter(|c| c.starts_with("status")).collect();
    assert_eq!(
        statuses,
        [
            "status open in_progress",
            "status in_progress pending",
            "status pending in_progress",
            "status in_progress resolved",
            "status resolved open",
            "status open resolved",
            "status resolved closed"
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>()
        .iter()
        .collect::<Vec<_>>()
    );
    assert!(changes[0].starts_with("created"), "{changes:?}");
    assert!(
        changes
            .iter()
            .any(|c| c.starts_with(&format!("assignee - {agent}"))),
        "{changes:?}"
    );
    let teams: Vec<&String> = changes.iter().filter(|c| c.starts_with("team")).collect();
    assert_eq!(
        teams,
        [
            &format!("team - {team}"),
            &format!("team {team} -"),
            &format!("team - {team}")
        ]
    );
    let resolutions: Vec<String> = changes
        .iter()
        .filter(|c| c.starts_with("resolution"))
        .cloned()
        .collect();
    assert_eq!(
        resolutions,
        [
            "resolution - Restarted the transport service",
            "resolution Restarted the transport service -",
            "resolution - Again"
        ]
        .map(str::to_owned)
    );
    // Two notes and the two that recorded time (the customer's was refused).
    assert_eq!(
        changes.iter().filter(|c| c.starts_with("action")).count(),
        4,
        "{changes:?}"
    );
    assert!(
        history
            .as_array()
            .expect("list")
            .iter()
            .all(|e| e["actor"]["name"] == "Ada" && e["at"].is_string())
    );
}

/// Lists filter and page without gaps or repeats.
pub async fn lists_filter_and_page(desk: &Desk) {
    let admin = desk.tenant("Paging Ltd").await;
    let (agent, _, _) = directory(&admin).await;
    let mut made = Vec::new();
    for n in 0..7 {
        let p = if n % 2 == 0 { 1 } else { 3 };
        let inc = admin
            .post(
                "/api/v1/incidents",
                json!({"summary": format!("Disk {n} full"), "priority": p}),
            )
            .await
            .expect(201);
        made.push(id(&inc));
    }
    admin
        .post(
            &format!("/api/v1/incidents/{}/assign", made[0]),
            json!({"assignee_id": agent}),
        )
        .await
        .expect(200);
    admin
        .post(
            &format!("/api/v1/incidents/{}/status", made[1]),
            json!({"status": "in_progress"}),
        )
        .await
        .expect(200);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/incidents?limit=3&cursor={c}"),
            None => "/api/v1/incidents?limit=3".to_owned(),
        };
        let page = admin.get(&path).await.expect(200);
        pages += 1;
        seen.extend(page["items"].as_array().expect("items").iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    made.reverse();
    assert_eq!(seen, made, "newest first, each once");

    // Sorted, page by page: by when logged, by priority (1 first; within
    // one priority, by id), by last change, and the other way.
    let all_of = |sort: &'static str| {
        let admin = admin.clone();
        async move {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..10 {
                let path = match &cursor {
                    Some(c) => format!("/api/v1/incidents?limit=2&sort={sort}&cursor={c}"),
                    None => format!("/api/v1/incidents?limit=2&sort={sort}"),
                };
                let page = admin.get(&path).await.expect(200);
                seen.extend(page["items"].as_array().expect("items").iter().map(id));
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => return seen,
                }
            }
            panic!("paging by {sort} does not end")
        }
    };
    let oldest: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(all_of("created").await, oldest);
    // Priority 1 (made 0, 2, 4, 6) before 3 (1, 3, 5); within one, by id.
    let by_priority: Vec<String> = [0, 2, 4, 6, 1, 3, 5]
        .iter()
        .map(|n| oldest[*n].clone())
        .collect();
    assert_eq!(all_of("priority").await, by_priority);
    let lowest: Vec<String> = by_priority.iter().rev().cloned().collect();
    assert_eq!(all_of("-priority").await, lowest);
    // The two changed after logging (0 assigned, then 1 moved) first.
    let changed = all_of("-updated").await;
    assert_eq!(changed[..2], [oldest[1].clone(), oldest[0].clone()]);
    assert_eq!(changed.len(), 7);
    admin
        .get("/api/v1/incidents?sort=size")
        .await
        .error(400, "validation_failed");
    admin
        .get(&format!(
            "/api/v1/incidents?sort=priority&cursor={}",
            oldest[0]
        ))
        .await
        .error(400, "validation_failed");

    let count = |v: Value| v["items"].as_array().map_or(0, Vec::len);
    assert_eq!(
        count(admin.get("/api/v1/incidents?priority=1").await.expect(200)),
        4
    );
    assert_eq!(
        count(
            admin
                .get("/api/v1/incidents?status=in_progress")
                .await
                .expect(200)
        ),
        1
    );
    assert_eq!(
        count(
            admin
                .get(&format!("/api/v1/incidents?assignee_id={agent}"))
                .await
                .expect(200)
        ),
        1
    );
    assert_eq!(
        count(admin.get("/api/v1/incidents?q=DISK%203").await.expect(200)),
        1,
        "case-insensitive text"
    );
    assert_eq!(
        count(admin.get("/api/v1/incidents?q=100%25").await.expect(200)),
        0,
        "% is literal"
    );
    admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Überweisung fehlgeschlagen", "priority": 3}),
        )
        .await
        .expect(201);
    assert_eq!(
        count(
            admin
                .get("/api/v1/incidents?q=%C3%BCBERWEISUNG")
                .await
                .expect(200)
        ),
        1,
        "case folds beyond ASCII on every store"
    );
    admin
        .get("/api/v1/incidents?status=sleeping")
        .await
        .error(400, "validation_failed");
    admin
        .get("/api/v1/incidents?limit=0")
        .await
        .error(400, "validation_failed");
    admin
        .get("/api/v1/incidents?cursor=not-a-cursor")
        .await
        .error(400, "validation_failed");
    admin
        .get("/api/v1/incidents?colour=red")
        .await
        .error(400, "validation_failed");
}

/// One tenant never sees another's data, not even that it exists.
pub async fn tenants_are_isolated(desk: &Desk) {
    let a = desk.tenant("Tenant A").await;
    let b = desk.tenant("Tenant B").await;
    let inc = a
        .post(
            "/api/v1/incidents",
            json!({"summary": "A's secret", "priority": 1}),
        )
        .await
        .expect(201);
    let other = b
        .post(
            "/api/v1/incidents",
            json!({"summary": "B's own", "priority": 1}),
        )
        .await
        .expect(201);
    assert_eq!(
        other["reference"], "INC-000001",
        "references count per tenant"
    );
    let iid = id(&inc);
    b.get(&format!("/api/v1/incidents/{iid}"))
        .await
        .error(404, "not_found");
    b.post(
        &format!("/api/v1/incidents/{iid}/actions"),
        json!({"text": "hi"}),
    )
    .await
    .error(404, "not_found");
    b.post(
        &format!("/api/v1/incidents/{iid}/status"),
        json!({"status": "in_progress"}),
    )
    .await
    .error(404, "not_found");
    b.get(&format!("/api/v1/incidents/{iid}/history"))
        .await
        .error(404, "not_found");
    let list = b.get("/api/v1/incidents").await.expect(200);
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["summary"] != "A's secret")
    );
    let team = a
        .post("/api/v1/teams", json!({"name": "A team"}))
        .await
        .expect(201);
    b.get(&format!("/api/v1/teams/{}", id(&team)))
        .await
        .error(404, "not_found");
    b.post(
        &format!("/api/v1/incidents/{}/assign", id(&other)),
        json!({"team_id": id(&team)}),
    )
    .await
    .error(400, "validation_failed");
}

/// A customer sees only their own incidents and the public actions on them.
pub async fn customers_see_only_their_own(desk: &Desk) {
    let admin = desk.tenant("Customer Co").await;
    let carl = admin
        .post("/api/v1/customers", json!({"name": "Carl"}))
        .await
        .expect(201);
    let dora = admin
        .post("/api/v1/customers", json!({"name": "Dora"}))
        .await
        .expect(201);
    let token = |c: &Value| json!({"role": "customer", "customer_id": id(c)});
    let carl_api = admin.as_token(
        admin.post("/api/v1/tokens", token(&carl)).await.expect(201)["token"]
            .as_str()
            .expect("token"),
    );
    let dora_api = admin.as_token(
        admin.post("/api/v1/tokens", token(&dora)).await.expect(201)["token"]
            .as_str()
            .expect("token"),
    );

    // Carl logs one for himself, even if he names someone else.
    let mine = carl_api
        .post(
            "/api/v1/incidents",
            json!({"summary": "My laptop is slow", "priority": 4, "customer_id": id(&dora)}),
        )
        .await
        .expect(201);
    assert_eq!(mine["customer_id"], id(&carl).as_str());
    let theirs = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Dora's VPN", "priority": 3, "customer_id": id(&dora)}),
        )
        .await
        .expect(201);
    let mid = id(&mine);
    admin
        .post(
            &format!("/api/v1/incidents/{mid}/actions"),
            json!({"text": "internal: old model"}),
        )
        .await
        .expect(201);
    admin
        .post(
            &format!("/api/v1/incidents/{mid}/actions"),
            json!({"text": "We ordered a new one", "public": true}),
        )
        .await
        .expect(201);
    let reply = carl_api
        .post(
            &format!("/api/v1/incidents/{mid}/actions"),
            json!({"text": "Thanks!"}),
        )
        .await
        .expect(201);
    assert_eq!(reply["public"], true, "what a customer writes is public");

    let visible = carl_api
        .get(&format!("/api/v1/incidents/{mid}/actions"))
        .await
        .expect(200);
    let texts: Vec<&str> = visible
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["text"].as_str())
        .collect();
    assert_eq!(texts, ["We ordered a new one", "Thanks!"]);
    assert_eq!(
        admin
            .get(&format!("/api/v1/incidents/{mid}/actions"))
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    let list = carl_api.get("/api/v1/incidents").await.expect(200);
    let refs: Vec<&Value> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(refs, [&mine["id"]]);
    let tid = id(&theirs);
    carl_api
        .get(&format!("/api/v1/incidents/{tid}"))
        .await
        .error(404, "not_found");
    carl_api
        .get(&format!(
            "/api/v1/incidents/{}",
            theirs["reference"].as_str().expect("ref")
        ))
        .await
        .error(404, "not_found");
    carl_api
        .post(
            &format!("/api/v1/incidents/{tid}/actions"),
            json!({"text": "peek"}),
        )
        .await
        .error(404, "not_found");
    assert_eq!(
        dora_api.get("/api/v1/incidents").await.expect(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // The desk's moves are the desk's (a customer's own are in
    // `customers_move_their_own_tickets`).
    carl_api
        .post(
            &format!("/api/v1/incidents/{mid}/status"),
            json!({"status": "in_progress"}),
        )
        .await
        .error(403, "forbidden");
    carl_api
        .post(
            &format!("/api/v1/incidents/{mid}/assign"),
            json!({"team_id": id(&carl)}),
        )
        .await
        .error(403, "forbidden");
    carl_api
        .get(&format!("/api/v1/incidents/{mid}/history"))
        .await
        .error(403, "forbidden");
    carl_api
        .get("/api/v1/customers")
        .await
        .error(403, "forbidden");
    carl_api
        .post("/api/v1/teams", json!({"name": "mine"}))
        .await
        .error(403, "forbidden");
    // The role is checked before the body: a customer hears 403, not 400.
    carl_api
        .post("/api/v1/teams", json!({"colour": 1}))
        .await
        .error(403, "forbidden");
    carl_api
        .post(&format!("/api/v1/incidents/{mid}/assign"), json!({}))
        .await
        .error(403, "forbidden");
    // A customer does not make their own ticket the desk's top priority:
    // they report impact and urgency, and the priority matrix decides.
    for p in [1, 2] {
        let body = carl_api
            .post(
                "/api/v1/incidents",
                json!({"summary": "Urgent!", "priority": p}),
            )
            .await
            .error(400, "validation_failed");
        assert!(body["details"]["fields"]["priority"].is_string(), "{body}");
    }
    let reported = carl_api
        .post(
            "/api/v1/incidents",
            json!({"summary": "Nobody can print", "impact": 1, "urgency": 1}),
        )
        .await
        .expect(201);
    assert_eq!(
        reported["priority"], 1,
        "the matrix may give the top priority"
    );
    // What a customer is told of a ticket: not the problem behind it, nor
    // the internal ids of who works it.
    let team = admin
        .post("/api/v1/teams", json!({"name": "Desk"}))
        .await
        .expect(201);
    let ada = admin
        .post("/api/v1/agents", json!({"name": "Ada"}))
        .await
        .expect(201);
    admin
        .post(
            &format!("/api/v1/incidents/{}/assign", id(&reported)),
            json!({"assignee_id": id(&ada), "team_id": id(&team)}),
        )
        .await
        .expect(200);
    let problem = admin
        .post(
            "/api/v1/problems",
            json!({"summary": "Print server", "priority": 2}),
        )
        .await
        .expect(201);
    admin
        .post(
            &format!("/api/v1/problems/{}/incidents", id(&problem)),
            json!({"incidents": [id(&reported)]}),
        )
        .await
        .expect(200);
    let staff_view = admin
        .get(&format!("/api/v1/incidents/{}", id(&reported)))
        .await
        .expect(200);
    assert_eq!(staff_view["problem_id"], id(&problem).as_str());
    assert_eq!(staff_view["assignee_id"], id(&ada).as_str());
    let seen = carl_api
        .get(&format!("/api/v1/incidents/{}", id(&reported)))
        .await
        .expect(200);
    let listed = carl_api.get("/api/v1/incidents").await.expect(200);
    let listed = listed["items"]
        .as_array()
        .and_then(|i| i.iter().find(|t| t["id"] == reported["id"]).cloned())
        .expect("listed");
    // Nor do their lists filter by who works a ticket.
    for filter in [
        "unassigned=true",
        "team_id=01a24942-0000-7000-8000-000000000000",
    ] {
        carl_api
            .get(&format!("/api/v1/incidents?{filter}"))
            .await
            .error(400, "validation_failed");
    }
    for view in [&seen, &listed] {
        assert!(view.get("problem_id").is_none_or(Value::is_null), "{view}");
        assert!(
            view["assignee_id"].is_null() && view["team_id"].is_null(),
            "{view}"
        );
        assert_eq!(view["summary"], "Nobody can print");
    }
}

/// Bad input gets a clear error with a stable code and loses nothing.
pub async fn bad_input_is_refused_clearly(desk: &Desk) {
    let admin = desk.tenant("Strict Corp").await;
    let anonymous = Api::new(&desk.base, None);
    anonymous
        .get("/api/v1/incidents")
        .await
        .error(401, "unauthorized");
    admin
        .as_token("sd_0000")
        .get("/api/v1/incidents")
        .await
        .error(401, "unauthorized");

    let create = "/api/v1/incidents";
    admin
        .send_raw(
            Method::POST,
            create,
            Some("application/json"),
            b"{\"summary\": ".to_vec(),
        )
        .await
        .error(400, "malformed_json");
    admin
        .send_raw(
            Method::POST,
            create,
            Some("text/plain"),
            b"{\"summary\": \"x\", \"priority\": 1}".to_vec(),
        )
        .await
        .error(415, "unsupported_media_type");
    let wrong = admin
        .post(create, json!({"summary": "x", "priority": "high"}))
        .await
        .error(400, "validation_failed");
    assert!(
        wrong["details"]["fields"]["priority"].is_string(),
        "{wrong}"
    );
    let missing = admin
        .post(create, json!({"priority": 1}))
        .await
        .error(400, "validation_failed");
    assert!(
        missing["details"]["fields"]["summary"].is_string(),
        "{missing}"
    );
    let unknown = admin
        .post(
            create,
            json!({"summary": "x", "priority": 1, "colour": "red"}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        unknown["message"].as_str().unwrap_or("").contains("colour"),
        "{unknown}"
    );
    let range = admin
        .post(create, json!({"summary": "x", "priority": 9}))
        .await
        .error(400, "validation_failed");
    assert!(
        range["details"]["fields"]["priority"].is_string(),
        "{range}"
    );
    admin
        .post(create, json!({"summary": "   ", "priority": 1}))
        .await
        .error(400, "validation_failed");
    admin
        .post(create, json!({"summary": "x"}))
        .await
        .error(400, "validation_failed");
    admin
        .post(create, json!({"summary": "x", "impact": 4, "urgency": 1}))
        .await
        .error(400, "validation_failed");
    let nobody = admin.post(create, json!({"summary": "x", "priority": 1, "customer_id": "0190f0a0-0000-7000-8000-000000000000"})).await.error(400, "validation_failed");
    assert!(
        nobody["details"]["fields"]["customer_id"].is_string(),
        "{nobody}"
    );
    // Within every field's limit is within the body's: 90,000 characters
    // of a script of three-byte characters, even each written as a JSON
    // escape, is taken; past the text's limit is a 400 naming the field,
    // and only far past it the body's 413.
    let escaped = "\\u0915".repeat(90_000);
    let long = format!(r#"{{"summary": "x", "priority": 3, "description": "{escaped}"}}"#);
    // (In a tenant of its own: nothing in this one is stored.)
    let roomy = desk.tenant("Roomy Ltd").await;
    let taken = roomy
        .send_raw(
            Method::POST,
            create,
            Some("application/json"),
            long.into_bytes(),
        )
        .await
        .expect(201);
    assert_eq!(
        taken["description"].as_str().map(|d| d.chars().count()),
        Some(90_000)
    );
    let over = json!({"summary": "x", "priority": 3, "description": "क".repeat(100_001)});
    let over = admin
        .post(create, over)
        .await
        .error(400, "validation_failed");
    assert!(
        over["details"]["fields"]["description"].is_string(),
        "{}",
        over["message"]
    );
    let huge = json!({"summary": "x", "priority": 1, "description": "a".repeat(5 * 1024 * 1024)});
    admin
        .send_raw(
            Method::POST,
            create,
            Some("application/json"),
            serde_json::to_vec(&huge).expect("json"),
        )
        .await
        .error(413, "payload_too_large");
    admin
        .get("/api/v1/incidents/INC-999999")
        .await
        .error(404, "not_found");
    admin
        .get("/api/v1/incidents/0190f0a0-0000-7000-8000-000000000000")
        .await
        .error(404, "not_found");
    admin
        .get("/api/v1/nothing-here")
        .await
        .error(404, "not_found");
    admin
        .send(Method::DELETE, "/api/v1/incidents", None)
        .await
        .error(405, "method_not_allowed");
    admin
        .post(
            "/api/v1/agents",
            json!({"name": "Eve", "email": "eve@@example"}),
        )
        .await
        .error(400, "validation_failed");
    admin
        .post("/api/v1/agents", json!({"name": "Eve\r\nBcc: x@y"}))
        .await
        .error(400, "validation_failed");
    admin
        .post("/api/v1/tokens", json!({"role": "agent"}))
        .await
        .error(400, "validation_failed");
    admin
        .post("/api/v1/tokens", json!({"role": "janitor", "name": "x"}))
        .await
        .error(400, "validation_failed");
    admin
        .post("/api/v1/tokens", json!({"role": "integration"}))
        .await
        .error(400, "validation_failed");
    admin
        .post("/api/v1/tokens", json!({"role": "integration", "name": "x", "customer_id": "0190f0a0-0000-7000-8000-000000000000"}))
        .await
        .error(400, "validation_failed");
    admin
        .get("/api/v1/incidents?priority=9")
        .await
        .error(400, "validation_failed");
    // Control characters (NUL above all, which PostgreSQL cannot store).
    let nul = admin
        .post(create, json!({"summary": "bad\u{0}byte", "priority": 1}))
        .await
        .error(400, "validation_failed");
    assert!(nul["details"]["fields"]["summary"].is_string(), "{nul}");
    admin
        .post(
            create,
            json!({"summary": "x", "priority": 1, "category": "a\u{7}"}),
        )
        .await
        .error(400, "validation_failed");
    admin
        .get("/api/v1/incidents/INC%00")
        .await
        .error(404, "not_found");
    admin
        .get("/api/v1/incidents?q=%00")
        .await
        .error(400, "validation_failed");
    admin
        .send(Method::POST, "/healthz", None)
        .await
        .error(405, "method_not_allowed");

    // Nothing above was stored.
    let list = admin.get("/api/v1/incidents").await.expect(200);
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(0),
        "{:.2000}",
        list.to_string()
    );
    // And the desk still works.
    admin
        .post(create, json!({"summary": "after all that", "priority": 5}))
        .await
        .expect(201);
}

/// What HTTP clients rely on: a request refused before its body was read
/// still gets its answer on a kept-alive connection, which stays usable
/// (once, a client saw such a connection closed without a response); a
/// path that is not UTF-8 is a JSON error; JSON is never sniffed.
pub async fn http_answers_reach_the_client(desk: &Desk) {
    use tokio::io::AsyncWriteExt;

    let admin = desk.tenant("Plain HTTP").await;
    let addr = desk.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    // Larger than any socket buffer, refused on its token before the body
    // is read.
    let big = format!("{{\"summary\": \"{}\"}}", "x".repeat(200_000));
    let mut answers = Vec::new();
    for (token, body) in [("sd_wrong", big.as_str()), ("sd_wrong", "{}")] {
        let request = format!(
            "POST /api/v1/requests/0195c0d8-0000-7000-8000-000000000000/assign HTTP/1.1\r\n\
             Host: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(request.as_bytes())
            .await
            .expect("request sent");
        answers.push(read_answer(&mut conn).await);
    }
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(answer.contains("\"unauthorized\""), "{answer}");
        assert!(
            !answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }

    // A path that is not UTF-8: JSON like every other refusal.
    admin
        .get("/api/v1/incidents/%FF%FE")
        .await
        .error(400, "validation_failed");
    let (status, headers, _) = admin.download("/api/v1/incidents").await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-type"], "application/json");
}

/// One HTTP/1.1 answer (headers and a `Content-Length` body) from `conn`.
async fn read_answer(conn: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;

    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("the connection stays open until the answer is read");
        assert!(n > 0, "connection closed without a response; got: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

/// Health, readiness, metrics and the API description answer without a token.
pub async fn operations_endpoints(desk: &Desk) {
    let anyone = Api::new(&desk.base, None);
    assert_eq!(anyone.get("/healthz").await.expect(200)["status"], "ok");
    assert_eq!(anyone.get("/readyz").await.expect(200)["status"], "ready");
    let doc = anyone.get("/api/v1/openapi.json").await.expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(
        doc["paths"]["/api/v1/incidents"]["post"].is_object(),
        "documents incident creation"
    );
    let metrics = anyone.get("/metrics").await.expect(200);
    let text = metrics.as_str().expect("text exposition");
    assert!(text.contains("http_requests_total"), "{text}");
}

/// A client that retries with the same `Idempotency-Key` gets the first
/// answer again; nothing is created twice.
pub async fn retries_with_an_idempotency_key_are_served_once(desk: &Desk) {
    let admin = desk.tenant("Retry Ltd").await;
    let http = reqwest::Client::new();
    let send = |key: &'static str, summary: &'static str| {
        http.post(format!("{}/api/v1/incidents", desk.base))
            .bearer_auth(admin.token.as_deref().unwrap_or(""))
            .header("Idempotency-Key", key)
            .json(&json!({"summary": summary, "priority": 3}))
            .send()
    };
    let first: Value = send("order-7781", "Printer on fire")
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let again: Value = send("order-7781", "Printer on fire")
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(
        first["id"], again["id"],
        "the retry is answered, not done again"
    );
    assert_eq!(first["reference"], "INC-000001");
    let other: Value = send("order-7782", "Printer on fire")
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(
        other["reference"], "INC-000002",
        "another key is another request"
    );
    let list = admin.get("/api/v1/incidents").await.expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    // A key is for one request: sent again with another body, or to
    // another route, it is refused (the IETF draft's 422), neither
    // answered with the first result nor done as a new request.
    let post = |path: &str, key: &'static str, body: Value| {
        http.post(format!("{}/api/v1/{path}", desk.base))
            .bearer_auth(admin.token.as_deref().unwrap_or(""))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let reused = post(
        "incidents",
        "order-7781",
        json!({"summary": "Other", "priority": 3}),
    )
    .await
    .expect("sent");
    assert_eq!(reused.status().as_u16(), 422);
    let reused: Value = reused.json().await.expect("json");
    assert_eq!(reused["error"], "idempotency_key_reused", "{reused}");
    let elsewhere = post(
        "problems",
        "order-7781",
        json!({"summary": "Printer on fire", "priority": 3}),
    )
    .await
    .expect("sent");
    assert_eq!(elsewhere.status().as_u16(), 422, "another route");
    // A refused request leaves its key free: corrected, it is done once.
    let refused = post(
        "incidents",
        "order-7783",
        json!({"summary": "", "priority": 3}),
    )
    .await
    .expect("sent");
    assert_eq!(refused.status().as_u16(), 400);
    for _ in 0..2 {
        let corrected = post(
            "incidents",
            "order-7783",
            json!({"summary": "Toner", "priority": 3}),
        )
        .await
        .expect("sent");
        assert_eq!(corrected.status().as_u16(), 201);
        let corrected: Value = corrected.json().await.expect("json");
        assert_eq!(corrected["reference"], "INC-000003", "{corrected}");
    }
    // Keys are each caller's own: another token may use the same one.
    let agent = admin
        .post("/api/v1/agents", json!({"name": "Kay"}))
        .await
        .expect(201);
    let token = admin
        .post(
            "/api/v1/tokens",
            json!({"role": "agent", "agent_id": agent["id"]}),
        )
        .await
        .expect(201);
    let theirs = http
        .post(format!("{}/api/v1/incidents", desk.base))
        .bearer_auth(token["token"].as_str().expect("token"))
        .header("Idempotency-Key", "order-7781")
        .json(&json!({"summary": "Kay's own", "priority": 3}))
        .send()
        .await
        .expect("sent");
    assert_eq!(theirs.status().as_u16(), 201);
    let list = admin.get("/api/v1/incidents").await.expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(4));
    // The scheme of Authorization is case-insensitive.
    let lower = http
        .get(format!("{}/api/v1/incidents", desk.base))
        .header(
            "Authorization",
            format!("bearer {}", admin.token.as_deref().unwrap_or("")),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(lower.status().as_u16(), 200);
}

/// What an agent reaches for on day one: search across the text of a
/// ticket, several statuses at once, unassigned, "mine", a company, time
/// ranges, `GET /me`, and extended-data filters that say what is wrong.
pub async fn agents_find_what_they_look_for(desk: &Desk) {
    let admin = desk.tenant("Search Ltd").await;
    let (agent, _, customer) = directory(&admin).await;
    let ada = admin.as_token(
        admin
            .post(
                "/api/v1/tokens",
                json!({"role": "agent", "agent_id": agent}),
            )
            .await
            .expect(201)["token"]
            .as_str()
            .expect("token"),
    );
    let carl = admin.as_token(
        admin
            .post(
                "/api/v1/tokens",
                json!({"role": "customer", "customer_id": customer}),
            )
            .await
            .expect(201)["token"]
            .as_str()
            .expect("token"),
    );
    let me = ada.get("/api/v1/me").await.expect(200);
    assert_eq!(
        (me["role"].as_str(), me["id"].as_str()),
        (Some("agent"), Some(agent.as_str()))
    );
    assert_eq!(carl.get("/api/v1/me").await.expect(200)["role"], "customer");
    let before = time::OffsetDateTime::now_utc();
    let printer = carl
        .post(
            "/api/v1/incidents",
            json!({"summary": "Printer", "description": "The tray is jammed with Élan paper", "priority": 3}),
        )
        .await
        .expect(201);
    let mail = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Mail", "priority": 2}),
        )
        .await
        .expect(201);
    let vpn = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "VPN", "priority": 2}),
        )
        .await
        .expect(201);
    ada.post(
        &format!("/api/v1/incidents/{}/actions", id(&mail)),
        json!({"text": "Queue stuck behind a FROZEN relay", "public": false}),
    )
    .await
    .expect(201);
    ada.post(
        &format!("/api/v1/incidents/{}/assign", id(&mail)),
        json!({"assignee_id": agent}),
    )
    .await
    .expect(200);
    ada.post(
        &format!("/api/v1/incidents/{}/status", id(&mail)),
        json!({"status": "in_progress"}),
    )
    .await
    .expect(200);
    ada.post(
        &format!("/api/v1/incidents/{}/status", id(&vpn)),
        json!({"status": "pending", "pending_reason": "waiting for a new token"}),
    )
    .await
    .expect(200);
    let refs = |page: Value| -> Vec<String> {
        let mut refs: Vec<String> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| t["reference"].as_str().expect("reference").to_owned())
            .collect();
        refs.sort();
        refs
    };
    let (p, m, v) = (
        printer["reference"].as_str().expect("ref").to_owned(),
        mail["reference"].as_str().expect("ref").to_owned(),
        vpn["reference"].as_str().expect("ref").to_owned(),
    );
    let found = |q: &str| {
        let ada = ada.clone();
        let q = q.to_owned();
        async move { refs(ada.get(&format!("/api/v1/incidents?{q}")).await.expect(200)) }
    };
    assert_eq!(
        found("q=%C3%A9LAN").await,
        vec![p.clone()],
        "the description, folded"
    );
    assert_eq!(found("q=frozen").await, vec![m.clone()], "an action's text");
    assert_eq!(
        found(&format!("q={}", v.to_lowercase())).await,
        vec![v.clone()],
        "the reference"
    );
    assert_eq!(
        refs(carl.get("/api/v1/incidents?q=frozen").await.expect(200)),
        Vec::<String>::new(),
        "a customer does not find by what they may not read"
    );
    assert_eq!(
        found("status=open,pending").await,
        vec![p.clone(), v.clone()]
    );
    assert_eq!(found("unassigned=true").await, vec![p.clone(), v.clone()]);
    assert_eq!(found("assignee_id=me").await, vec![m.clone()]);
    assert_eq!(
        refs(
            admin
                .get("/api/v1/incidents?assignee_id=me")
                .await
                .expect(200)
        ),
        Vec::<String>::new(),
        "nothing is assigned to an admin token"
    );
    admin
        .get("/api/v1/incidents?assignee_id=you")
        .await
        .error(400, "validation_failed");
    let company = admin
        .get(&format!("/api/v1/customers/{customer}"))
        .await
        .expect(200);
    let company = company["company_id"].as_str().expect("company");
    assert_eq!(
        found(&format!("company_id={company}")).await,
        vec![p.clone()]
    );
    let at = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("rfc3339")
            .replace('+', "%2B")
    };
    assert_eq!(
        found(&format!("created_to={}", at(before))).await,
        Vec::<String>::new()
    );
    assert_eq!(
        found(&format!("created_from={}", at(before))).await.len(),
        3
    );
    let edited = time::OffsetDateTime::parse(
        vpn["updated_at"].as_str().expect("updated_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("a time");
    assert_eq!(
        found(&format!(
            "updated_from={}",
            at(edited + time::Duration::microseconds(1))
        ))
        .await,
        vec![m.clone(), v.clone()],
        "assigned and pending since"
    );
    admin
        .get("/api/v1/incidents?created_from=yesterday")
        .await
        .error(400, "validation_failed");

    // Extended data: an unknown key says so; numbers compare as numbers.
    admin
        .put(
            "/api/v1/fields/incidents",
            json!({"fields": [
                {"key": "cost", "label": "Cost", "type": "number"},
                {"key": "seats", "label": "Seats", "type": "number", "whole": true},
            ]}),
        )
        .await
        .expect(200);
    let body = admin
        .get("/api/v1/incidents?field.cots=200")
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["field.cots"].is_string(),
        "{body}"
    );
    admin
        .get("/api/v1/incidents?field.cost=cheap")
        .await
        .error(400, "validation_failed");
    admin
        .patch(
            &format!("/api/v1/incidents/{}", id(&mail)),
            json!({"fields": {"cost": 200.0, "seats": 3}}),
        )
        .await
        .expect(200);
    for q in [
        "field.cost=200",
        "field.cost=200.0",
        "field.cost=2e2",
        "field.seats=3.0",
    ] {
        assert_eq!(found(q).await, vec![m.clone()], "{q}");
    }
    let body = admin
        .patch(
            &format!("/api/v1/incidents/{}", id(&mail)),
            json!({"fields": {"seats": 2.5}}),
        )
        .await
        .error(400, "validation_failed");
    assert!(
        body["details"]["fields"]["fields.seats"].is_string(),
        "{body}"
    );
    admin
        .put(
            "/api/v1/fields/incidents",
            json!({"fields": [{"key": "site", "label": "Site", "type": "text", "whole": true}]}),
        )
        .await
        .error(400, "validation_failed");
}

/// A desk moving here imports its companies and customers from CSV: all
/// of a file, or none of it with every wrong row named.
pub async fn the_directory_is_imported_from_csv(desk: &Desk) {
    let admin = desk.tenant("Movers Ltd").await;
    let csv = |path: &'static str, body: &str| {
        let admin = admin.clone();
        let body = body.as_bytes().to_vec();
        async move {
            admin
                .send_raw(Method::POST, path, Some("text/csv"), body)
                .await
        }
    };
    let companies = csv(
        "/api/v1/companies/import",
        "name,sender_email,sender_name\nAcme,it@acme.example,Acme IT\n\"Globex, Inc.\",,\n",
    )
    .await
    .expect(201);
    assert_eq!(companies["imported"], 2);
    let listed = admin.get("/api/v1/companies").await.expect(200);
    let names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Acme", "Globex, Inc."]);
    assert_eq!(listed["items"][0]["sender"]["name"], "Acme IT");
    admin
        .post(
            "/api/v1/customers",
            json!({"name": "Existing", "email": "old@acme.example"}),
        )
        .await
        .expect(201);

    // Three wrong rows: each named, and nothing written.
    let wrong = "name,email,company,language\n\
                 Ann,ann@acme.example,acme,en\n\
                 Bob,bob@nowhere.example,Initech,\n\
                 Cy,not an address,,\n\
                 Dee,OLD@acme.example,,\n\
                 Eve,ann@ACME.example,,\n";
    let refused = csv("/api/v1/customers/import", wrong)
        .await
        .error(400, "validation_failed");
    let rows = refused["details"]["rows"].as_array().expect("rows").clone();
    let named: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["column"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        named,
        [(3, "company"), (4, "email"), (5, "email"), (6, "email")],
        "{refused}"
    );
    let customers = admin.get("/api/v1/customers").await.expect(200);
    assert_eq!(
        customers["items"].as_array().map(Vec::len),
        Some(1),
        "none written"
    );

    let right = "name,email,company,language\n\
                 Ann,ann@acme.example,acme,en\n\
                 Bob,bob@globex.example,\"Globex, Inc.\",fr-CA\n\
                 Cy,,,\n";
    let imported = csv("/api/v1/customers/import", right).await.expect(201);
    assert_eq!(imported["imported"], 3);
    let bob = admin
        .get(&format!(
            "/api/v1/customers/{}",
            imported["ids"][1].as_str().unwrap_or("")
        ))
        .await
        .expect(200);
    assert_eq!(bob["company_id"], listed["items"][1]["id"]);
    assert_eq!(bob["language"], "fr-CA");

    // Not CSV, a column it may not have, or someone else: refused.
    admin
        .send_raw(
            Method::POST,
            "/api/v1/customers/import",
            Some("application/json"),
            b"[]".to_vec(),
        )
        .await
        .error(415, "unsupported_media_type");
    let header = csv("/api/v1/customers/import", "name,phone\nZed,123\n")
        .await
        .error(400, "validation_failed");
    assert!(
        header["details"]["fields"]["header"].is_string(),
        "{header}"
    );
    super::limits::agent_token(&admin, "ada")
        .await
        .send_raw(
            Method::POST,
            "/api/v1/companies/import",
            Some("text/csv"),
            b"name\nMine\n".to_vec(),
        )
        .await
        .error(403, "forbidden");
}

/// An admin renames a team, gives it a leader and sets who is in it.
pub async fn teams_are_edited(desk: &Desk) {
    let admin = desk.tenant("Teams Ltd").await;
    let team = admin
        .post("/api/v1/teams", json!({"name": "Desk"}))
        .await
        .expect(201);
    let tid = id(&team);
    let other = admin
        .post("/api/v1/teams", json!({"name": "Network"}))
        .await
        .expect(201);
    let agent = |name: &str, team: Option<&str>| {
        let admin = admin.clone();
        let body = json!({"name": name, "email": format!("{name}@teams.example"), "team_id": team});
        async move { id(&admin.post("/api/v1/agents", body).await.expect(201)) }
    };
    let ann = agent("ann", Some(&tid)).await;
    let bob = agent("bob", None).await;
    let cat = agent("cat", Some(&id(&other))).await;

    let edited = admin
        .patch(
            &format!("/api/v1/teams/{tid}"),
            json!({"name": "Service Desk L1", "leader_id": bob, "member_ids": [bob, cat]}),
        )
        .await
        .expect(200);
    assert_eq!(edited["name"], "Service Desk L1");
    assert_eq!(edited["leader_id"], bob.as_str());
    let team_of = |agent: &str| {
        let admin = admin.clone();
        let path = format!("/api/v1/agents/{agent}");
        async move { admin.get(&path).await.expect(200)["team_id"].clone() }
    };
    assert_eq!(
        team_of(&ann).await,
        Value::Null,
        "left out: leaves the team"
    );
    assert_eq!(team_of(&bob).await, tid.as_str());
    assert_eq!(team_of(&cat).await, tid.as_str(), "moved from Network");
    assert_eq!(
        admin.get(&format!("/api/v1/teams/{tid}")).await.expect(200),
        edited
    );

    // Two edits of different fields at once: both hold.
    let path = format!("/api/v1/teams/{tid}");
    let (renamed, led) = tokio::join!(
        admin.patch(&path, json!({"name": "Service Desk L2"})),
        admin.patch(&path, json!({"leader_id": ann})),
    );
    renamed.expect(200);
    led.expect(200);
    let both = admin.get(&path).await.expect(200);
    assert_eq!(both["name"], "Service Desk L2", "{both}");
    assert_eq!(both["leader_id"], ann.as_str(), "{both}");
    admin
        .patch(&path, json!({"name": "Service Desk L1", "leader_id": bob}))
        .await
        .expect(200);

    // Left out stays; null clears.
    let unled = admin
        .patch(&format!("/api/v1/teams/{tid}"), json!({"leader_id": null}))
        .await
        .expect(200);
    assert_eq!(unled["leader_id"], Value::Null);
    assert_eq!(unled["name"], "Service Desk L1");
    assert_eq!(team_of(&bob).await, tid.as_str());

    // Refused: an agent the tenant does not have, twice the same, a
    // leader who is nobody, and anyone but an admin.
    let nobody = "01890000-0000-7000-8000-000000000000";
    for (body, field) in [
        (json!({"member_ids": [nobody]}), "member_ids"),
        (json!({"member_ids": [bob, bob]}), "member_ids"),
        (json!({"leader_id": nobody}), "leader_id"),
    ] {
        let refused = admin
            .patch(&format!("/api/v1/teams/{tid}"), body)
            .await
            .error(400, "validation_failed");
        assert!(refused["details"]["fields"][field].is_string(), "{refused}");
    }
    let token = admin
        .post("/api/v1/tokens", json!({"role": "agent", "agent_id": bob}))
        .await
        .expect(201);
    admin
        .as_token(token["token"].as_str().expect("token"))
        .patch(&format!("/api/v1/teams/{tid}"), json!({"name": "Mine"}))
        .await
        .error(403, "forbidden");
}

/// The directory holds one company of a name and one customer at an
/// address, in any case; customers and companies are found by search.
pub async fn the_directory_has_no_duplicates(desk: &Desk) {
    let admin = desk.tenant("Unique Ltd").await;
    let other = desk.tenant("Other Unique Ltd").await;
    let acme = admin
        .post("/api/v1/companies", json!({"name": "Acme Corp"}))
        .await
        .expect(201);
    let body = admin
        .post("/api/v1/companies", json!({"name": "  ACME corp "}))
        .await
        .error(409, "conflict");
    assert_eq!(body["details"]["field"], "name", "{body}");
    other
        .post("/api/v1/companies", json!({"name": "Acme Corp"}))
        .await
        .expect(201);
    let globex = admin
        .post("/api/v1/companies", json!({"name": "Globex"}))
        .await
        .expect(201);
    admin
        .patch(
            &format!("/api/v1/companies/{}", id(&globex)),
            json!({"name": "acme CORP"}),
        )
        .await
        .error(409, "conflict");
    let carl = admin
        .post(
            "/api/v1/customers",
            json!({"name": "Carl", "email": "Carl@Acme.example", "company_id": id(&acme)}),
        )
        .await
        .expect(201);
    let body = admin
        .post(
            "/api/v1/customers",
            json!({"name": "Carl Two", "email": "carl@acme.EXAMPLE"}),
        )
        .await
        .error(409, "conflict");
    assert_eq!(body["details"]["field"], "email", "{body}");
    let dora = admin
        .post("/api/v1/customers", json!({"name": "Dora"}))
        .await
        .expect(201);
    admin
        .post("/api/v1/customers", json!({"name": "Dora too"}))
        .await
        .expect(201);
    admin
        .patch(
            &format!("/api/v1/customers/{}", id(&dora)),
            json!({"email": "CARL@acme.example"}),
        )
        .await
        .error(409, "conflict");
    admin
        .patch(
            &format!("/api/v1/customers/{}", id(&carl)),
            json!({"email": "carl@ACME.example"}),
        )
        .await
        .expect(200);
    // Found by name or address, in any case.
    let names = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(
        names(admin.get("/api/v1/customers?q=DORA").await.expect(200)),
        vec!["Dora", "Dora too"]
    );
    assert_eq!(
        names(admin.get("/api/v1/customers?q=acme.ex").await.expect(200)),
        vec!["Carl"]
    );
    assert_eq!(
        names(admin.get("/api/v1/companies?q=glob").await.expect(200)),
        vec!["Globex"]
    );
    admin
        .get("/api/v1/teams?q=x")
        .await
        .error(400, "validation_failed");
}

/// Access can be taken back: tokens are listed and revoked, may expire,
/// and stop working when their agent or customer is deactivated (whose
/// history stays).
pub async fn access_can_be_taken_back(desk: &Desk) {
    let admin = desk.tenant("Access Ltd").await;
    let ada = admin
        .post("/api/v1/agents", json!({"name": "Ada"}))
        .await
        .expect(201);
    assert_eq!(ada["active"], true);
    let issue = |body: Value| {
        let admin = admin.clone();
        async move { admin.post("/api/v1/tokens", body).await.expect(201) }
    };
    let ada_token = issue(json!({"role": "agent", "agent_id": id(&ada)})).await;
    let ada_api = admin.as_token(ada_token["token"].as_str().expect("token"));
    let script = issue(json!({"role": "integration", "name": "Nightly import"})).await;
    let script_api = admin.as_token(script["token"].as_str().expect("token"));
    let logged = ada_api
        .post(
            "/api/v1/incidents",
            json!({"summary": "Logged by Ada", "priority": 3}),
        )
        .await
        .expect(201);
    script_api.get("/api/v1/incidents").await.expect(200);

    // Listed, never with the token itself.
    let tokens = admin.get("/api/v1/tokens").await.expect(200);
    let items = tokens["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{tokens}");
    assert!(items.iter().all(|t| t.get("token").is_none()), "{tokens}");
    ada_api.get("/api/v1/tokens").await.error(403, "forbidden");

    // Revoked: it stops at once.
    let revoked = admin
        .delete(&format!("/api/v1/tokens/{}", id(&script)))
        .await
        .expect(200);
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    script_api
        .get("/api/v1/incidents")
        .await
        .error(401, "unauthorized");
    admin
        .delete(&format!("/api/v1/tokens/{}", uuid::Uuid::now_v7()))
        .await
        .error(404, "not_found");

    // Expiring: refused in the past, and gone once the time has come.
    issue_refused(
        &admin,
        json!({"role": "integration", "name": "Old", "expires_at": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let soon = soon
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc3339");
    let brief = issue(json!({"role": "integration", "name": "Brief", "expires_at": soon})).await;
    let brief_api = admin.as_token(brief["token"].as_str().expect("token"));
    brief_api.get("/api/v1/me").await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    brief_api.get("/api/v1/me").await.error(401, "unauthorized");

    // Deactivated: their tokens stop, their history stays; active again,
    // they work again.
    let off = admin
        .patch(
            &format!("/api/v1/agents/{}", id(&ada)),
            json!({"active": false}),
        )
        .await
        .expect(200);
    assert_eq!(off["active"], false);
    ada_api
        .get("/api/v1/incidents")
        .await
        .error(401, "unauthorized");
    let still = admin
        .get(&format!("/api/v1/incidents/{}", id(&logged)))
        .await
        .expect(200);
    assert_eq!(still["logged_by"]["name"], "Ada");
    admin
        .patch(
            &format!("/api/v1/agents/{}", id(&ada)),
            json!({"active": true}),
        )
        .await
        .expect(200);
    ada_api.get("/api/v1/incidents").await.expect(200);
    let carl = admin
        .post("/api/v1/customers", json!({"name": "Carl"}))
        .await
        .expect(201);
    let carl_api = admin.as_token(
        issue(json!({"role": "customer", "customer_id": id(&carl)})).await["token"]
            .as_str()
            .expect("token"),
    );
    carl_api.get("/api/v1/incidents").await.expect(200);
    admin
        .patch(
            &format!("/api/v1/customers/{}", id(&carl)),
            json!({"active": false}),
        )
        .await
        .expect(200);
    carl_api
        .get("/api/v1/incidents")
        .await
        .error(401, "unauthorized");
}

async fn issue_refused(admin: &Api, body: Value) {
    let refused = admin
        .post("/api/v1/tokens", body)
        .await
        .error(400, "validation_failed");
    assert!(
        refused["details"]["fields"]["expires_at"].is_string(),
        "{refused}"
    );
}

/// An edit made on a stale copy of a ticket is refused, not applied over
/// what was written since: every ticket answers with its version as its
/// `ETag`, and `If-Match` with an older one is 412.
pub async fn edits_are_guarded_against_lost_updates(desk: &Desk) {
    let admin = desk.tenant("Guarded Ltd").await;
    let http = reqwest::Client::new();
    let token = admin.token.clone().unwrap_or_default();
    let created = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Printer", "priority": 3}),
        )
        .await
        .expect(201);
    let url = |path: &str| format!("{}/api/v1/incidents/{}{path}", desk.base, id(&created));
    let read = http
        .get(url(""))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    let etag = read.headers()["etag"].to_str().expect("ascii").to_owned();
    assert_eq!(etag, format!("\"{}\"", created["version"]));
    let send = |method: Method, path: &str, tag: &str, body: Value| {
        http.request(method, url(path))
            .bearer_auth(&token)
            .header("If-Match", tag)
            .json(&body)
            .send()
    };
    // Two agents read version 1; the first edit wins, the second is told.
    let first = send(
        Method::PATCH,
        "",
        &etag,
        json!({"summary": "Printer jammed"}),
    )
    .await
    .expect("sent");
    assert_eq!(first.status().as_u16(), 200);
    let newer = first.headers()["etag"].to_str().expect("ascii").to_owned();
    assert_ne!(newer, etag);
    let second = send(
        Method::PATCH,
        "",
        &etag,
        json!({"summary": "Printer on fire"}),
    )
    .await
    .expect("sent");
    assert_eq!(second.status().as_u16(), 412);
    let body: Value = second.json().await.expect("json");
    assert_eq!(body["error"], "precondition_failed", "{body}");
    assert_eq!(format!("\"{}\"", body["details"]["version"]), newer);
    for (path, change) in [
        ("/status", json!({"status": "in_progress"})),
        ("/assign", json!({"team_id": null})),
    ] {
        let stale = send(Method::POST, path, &etag, change).await.expect("sent");
        assert_eq!(stale.status().as_u16(), 412, "{path}");
    }
    assert_eq!(
        admin
            .get(&format!("/api/v1/incidents/{}", id(&created)))
            .await
            .expect(200)["summary"],
        "Printer jammed",
        "nothing stale was written"
    );
    // The current version, weak or strong, or `*`, goes through.
    let weak = format!("W/{newer}");
    let moved = send(
        Method::POST,
        "/status",
        &weak,
        json!({"status": "in_progress"}),
    )
    .await
    .expect("sent");
    assert_eq!(moved.status().as_u16(), 200);
    let any = send(Method::PATCH, "", "*", json!({"priority": 2}))
        .await
        .expect("sent");
    assert_eq!(any.status().as_u16(), 200);
    let nonsense = send(Method::PATCH, "", "\"abc\"", json!({"priority": 3}))
        .await
        .expect("sent");
    assert_eq!(nonsense.status().as_u16(), 412);

    // Definitions too: a calendar and an SLA are replaced only as read.
    let hours = |name: &str| {
        json!({"name": name, "time_zone": "UTC",
               "week": {"monday": [{"start": "09:00", "end": "17:00"}]}})
    };
    let made = http
        .post(format!("{}/api/v1/calendars", desk.base))
        .bearer_auth(&token)
        .json(&hours("Weekdays"))
        .send()
        .await
        .expect("sent");
    assert_eq!(made.status().as_u16(), 201);
    let first_tag = made.headers()["etag"].to_str().expect("ascii").to_owned();
    let calendar: Value = made.json().await.expect("json");
    assert_eq!(first_tag, format!("\"{}\"", calendar["version"]));
    let sla = json!({"name": "Basic", "calendar_id": calendar["id"],
                     "grid": [{"priority": 3, "response": {"minutes": 60}, "resolve": {"minutes": 480}}]});
    let made_sla: Value = admin.post("/api/v1/slas", sla.clone()).await.expect(201);
    for (path, body, tag) in [
        (
            format!("/api/v1/calendars/{}", id(&calendar)),
            hours("Mondays"),
            first_tag.clone(),
        ),
        (
            format!("/api/v1/slas/{}", id(&made_sla)),
            sla,
            format!("\"{}\"", made_sla["version"]),
        ),
    ] {
        let put = |tag: String, body: Value| {
            http.put(format!("{}{path}", desk.base))
                .bearer_auth(&token)
                .header("If-Match", tag)
                .json(&body)
                .send()
        };
        let replaced = put(tag.clone(), body.clone()).await.expect("sent");
        assert_eq!(replaced.status().as_u16(), 200, "{path}");
        let newer = replaced.headers()["etag"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_ne!(newer, tag, "{path}");
        let stale = put(tag, body).await.expect("sent");
        assert_eq!(stale.status().as_u16(), 412, "{path}");
        let body: Value = stale.json().await.expect("json");
        assert_eq!(format!("\"{}\"", body["details"]["version"]), newer);
    }
    let listed = admin.get("/api/v1/calendars").await.expect(200);
    assert_eq!(listed[0]["name"], "Mondays");
    assert_eq!(listed[0]["version"], 2);
}

/// What a customer's own moves do: writing on a pending ticket puts it
/// back to work, writing on a resolved one reopens it, and they may close
/// their resolved ticket or withdraw their incident, and nothing else.
pub async fn customers_move_their_own_tickets(desk: &Desk) {
    let admin = desk.tenant("Moves Ltd").await;
    let carl = admin
        .post("/api/v1/customers", json!({"name": "Carl"}))
        .await
        .expect(201);
    let dora = admin
        .post("/api/v1/customers", json!({"name": "Dora"}))
        .await
        .expect(201);
    let as_customer = |c: &Value| {
        let admin = admin.clone();
        let body = json!({"role": "customer", "customer_id": id(c)});
        async move {
            let token = admin.post("/api/v1/tokens", body).await.expect(201);
            admin.as_token(token["token"].as_str().expect("token"))
        }
    };
    let carl_api = as_customer(&carl).await;
    let dora_api = as_customer(&dora).await;
    let ticket = carl_api
        .post(
            "/api/v1/incidents",
            json!({"summary": "VPN drops", "priority": 3}),
        )
        .await
        .expect(201);
    let path = |p: &str| format!("/api/v1/incidents/{}{p}", id(&ticket));
    let status = |api: &Api, to: Value| {
        let api = api.clone();
        let at = path("/status");
        async move { api.post(&at, to).await }
    };
    let now = |api: &Api| {
        let api = api.clone();
        let at = path("");
        async move { api.get(&at).await.expect(200)["status"].clone() }
    };
    status(
        &admin,
        json!({"status": "pending", "pending_reason": "waiting for the log"}),
    )
    .await
    .expect(200);
    carl_api
        .post(
            &path("/actions"),
            json!({"text": "Here is the log you asked for"}),
        )
        .await
        .expect(201);
    assert_eq!(
        now(&admin).await,
        "in_progress",
        "a customer's note resumes it"
    );
    status(
        &admin,
        json!({"status": "resolved", "resolution": "Reset the tunnel"}),
    )
    .await
    .expect(200);
    carl_api
        .post(&path("/actions"), json!({"text": "It dropped again"}))
        .await
        .expect(201);
    assert_eq!(now(&admin).await, "open", "a customer's reply reopens it");
    // Not the desk's moves, not someone else's ticket.
    status(&carl_api, json!({"status": "in_progress"}))
        .await
        .error(403, "forbidden");
    status(
        &dora_api,
        json!({"status": "resolved", "resolution": "mine now"}),
    )
    .await
    .error(404, "not_found");
    carl_api
        .post(
            "/api/v1/problems/PRB-000001/status",
            json!({"status": "closed"}),
        )
        .await
        .error(403, "forbidden");
    // Withdrawn, saying why; then closed.
    let withdrawn = status(
        &carl_api,
        json!({"status": "resolved", "resolution": "Works from home now"}),
    )
    .await
    .expect(200);
    assert_eq!(withdrawn["resolution"], "Works from home now");
    let closed = status(&carl_api, json!({"status": "closed"}))
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");
}

/// An incident is corrected after logging: its customer (one logged by
/// mail from an unknown sender is given theirs), impact, urgency and
/// category, each change in its history.
pub async fn an_incident_is_corrected_after_logging(desk: &Desk) {
    let admin = desk.tenant("Corrected Ltd").await;
    let (_, _, customer) = directory(&admin).await;
    let logged = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Mail from a stranger", "impact": 3, "urgency": 3}),
        )
        .await
        .expect(201);
    assert_eq!(logged["priority"], 5);
    let path = format!("/api/v1/incidents/{}", id(&logged));
    let edited = admin
        .patch(
            &path,
            json!({"customer_id": customer, "impact": 1, "category": "Mail"}),
        )
        .await
        .expect(200);
    assert_eq!(edited["customer_id"], customer.as_str());
    assert_eq!(
        (edited["impact"].clone(), edited["urgency"].clone()),
        (json!(1), json!(3))
    );
    assert_eq!(
        edited["priority"], 3,
        "impact 1 + urgency 3 - 1, by the matrix"
    );
    assert_eq!(edited["category"], "Mail");
    let pinned = admin
        .patch(&path, json!({"urgency": 1, "priority": 4}))
        .await
        .expect(200);
    assert_eq!(
        pinned["priority"], 4,
        "a priority given wins over the matrix"
    );
    let history = admin.get(&format!("{path}/history")).await.expect(200);
    let changes: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["change"].as_str())
        .collect();
    for change in ["customer", "impact", "urgency", "priority", "category"] {
        assert!(
            changes.contains(&change),
            "{change} is audited: {changes:?}"
        );
    }
    admin
        .patch(
            &path,
            json!({"customer_id": "01a24942-0000-7000-8000-000000000000"}),
        )
        .await
        .error(400, "validation_failed");
    admin
        .patch(&path, json!({"impact": 4}))
        .await
        .error(400, "validation_failed");
    let problem = admin
        .post(
            "/api/v1/problems",
            json!({"summary": "Spam", "priority": 3}),
        )
        .await
        .expect(201);
    admin
        .patch(
            &format!("/api/v1/problems/{}", id(&problem)),
            json!({"impact": 1}),
        )
        .await
        .error(400, "validation_failed");
    let cleared = admin
        .patch(&path, json!({"customer_id": null}))
        .await
        .expect(200);
    assert!(cleared["customer_id"].is_null());
}

/// Many tickets changed in one call, each on its own and audited; one
/// refused does not stop the others.
pub async fn many_tickets_change_at_once(desk: &Desk) {
    let admin = desk.tenant("Bulk Ltd").await;
    let (agent, _, _) = directory(&admin).await;
    let mut refs = Vec::new();
    for n in 0..3 {
        let t = admin
            .post(
                "/api/v1/incidents",
                json!({"summary": format!("Relay {n}"), "priority": 3}),
            )
            .await
            .expect(201);
        refs.push(t["reference"].as_str().expect("ref").to_owned());
    }
    // One already closed: its resolution is refused, the others go on.
    admin
        .post(
            &format!("/api/v1/incidents/{}/status", refs[2]),
            json!({"status": "resolved", "resolution": "x"}),
        )
        .await
        .expect(200);
    admin
        .post(
            &format!("/api/v1/incidents/{}/status", refs[2]),
            json!({"status": "closed"}),
        )
        .await
        .expect(200);
    let answer = admin
        .post(
            "/api/v1/incidents/bulk",
            json!({
                "tickets": refs,
                "changes": {"category": "Mail"},
                "assign": {"assignee_id": agent},
                "status": {"status": "resolved", "resolution": "The relay's disk was replaced"},
            }),
        )
        .await
        .expect(200);
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    for r in &results[..2] {
        assert_eq!(r["done"]["status"], "resolved", "{r}");
        assert_eq!(r["done"]["category"], "Mail");
        assert_eq!(r["done"]["assignee_id"], agent.as_str());
    }
    assert_eq!(
        results[2]["refused"]["error"], "invalid_transition",
        "{}",
        results[2]
    );
    let history = admin
        .get(&format!("/api/v1/incidents/{}/history", refs[0]))
        .await
        .expect(200);
    let changes: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["change"].as_str())
        .collect();
    for change in ["category", "assignee", "status"] {
        assert!(changes.contains(&change), "{change}: {changes:?}");
    }
    for bad in [
        json!({"tickets": [], "changes": {"category": "x"}}),
        json!({"tickets": ["INC-000001", "inc-000001"], "changes": {"category": "x"}}),
        json!({"tickets": ["INC-000001"]}),
    ] {
        admin
            .post("/api/v1/incidents/bulk", bad)
            .await
            .error(400, "validation_failed");
    }
}

/// Each tenant maps impact × urgency to priority through its own matrix.
pub async fn the_priority_matrix_is_the_tenants_own(desk: &Desk) {
    let admin = desk.tenant("Matrix Inc").await;
    let other = desk.tenant("Other Inc").await;
    let matrix = admin.get("/api/v1/priority-matrix").await.expect(200);
    let cells = matrix["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 9);
    let cell = |m: &Value, i: u64, u: u64| {
        m["cells"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["impact"] == i && c["urgency"] == u))
            .map(|c| c["priority"].clone())
    };
    assert_eq!(
        cell(&matrix, 2, 3),
        Some(json!(4)),
        "the default: impact + urgency - 1"
    );
    let set = admin
        .send(
            Method::PUT,
            "/api/v1/priority-matrix",
            Some(&json!({"cells": [{"impact": 2, "urgency": 3, "priority": 2}]})),
        )
        .await
        .expect(200);
    assert_eq!(cell(&set, 2, 3), Some(json!(2)));
    assert_eq!(
        cell(&set, 1, 1),
        Some(json!(1)),
        "cells left out keep the default"
    );
    let inc = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "VPN flaky", "impact": 2, "urgency": 3}),
        )
        .await
        .expect(201);
    assert_eq!(inc["priority"], 2, "logged through the tenant's matrix");
    let theirs = other
        .post(
            "/api/v1/incidents",
            json!({"summary": "VPN flaky", "impact": 2, "urgency": 3}),
        )
        .await
        .expect(201);
    assert_eq!(theirs["priority"], 4, "another tenant keeps its own");
    let bad = json!({"cells": [{"impact": 2, "urgency": 3, "priority": 7}]});
    admin
        .send(Method::PUT, "/api/v1/priority-matrix", Some(&bad))
        .await
        .error(400, "validation_failed");
    let twice = json!({"cells": [{"impact": 1, "urgency": 1, "priority": 1}, {"impact": 1, "urgency": 1, "priority": 2}]});
    admin
        .send(Method::PUT, "/api/v1/priority-matrix", Some(&twice))
        .await
        .error(400, "validation_failed");
    let agent = admin
        .post("/api/v1/agents", json!({"name": "Al"}))
        .await
        .expect(201);
    let token = admin
        .post(
            "/api/v1/tokens",
            json!({"role": "agent", "agent_id": agent["id"]}),
        )
        .await
        .expect(201);
    let al = admin.as_token(token["token"].as_str().expect("token"));
    al.get("/api/v1/priority-matrix").await.expect(200);
    al.send(
        Method::PUT,
        "/api/v1/priority-matrix",
        Some(&json!({"cells": []})),
    )
    .await
    .error(403, "forbidden");
    assert_eq!(
        cell(
            &admin.get("/api/v1/priority-matrix").await.expect(200),
            2,
            3
        ),
        Some(json!(2)),
        "refusals changed nothing"
    );
}

/// Declares, in the test file that calls it, one test per scenario, each
/// on a desk of its own from `$desk()` (an async fn returning what keeps the
/// desk running, with the [`Desk`] in its `desk` field): one failure does
/// not hide the rest, and one scenario runs alone by its name.
/// What the edge of `scenario`'s desk is started with besides the usual.
/// Schemathesis sends bad tokens on purpose, hundreds a minute from one
/// address, to check each operation refuses them: its desk does not
/// throttle failed authentication (the limits have tests of their own).
pub fn edge_args(scenario: &str) -> &'static [&'static str] {
    match scenario {
        "the_document_holds_against_schemathesis" => &["--failed-auth-limit", "0"],
        _ => &[],
    }
}

macro_rules! every_scenario {
    ($desk:ident) => {
        $crate::common::scenarios::every_scenario!(@each $desk;
            incident_lifecycle = $crate::common::scenarios::incident_lifecycle,
            lists_filter_and_page = $crate::common::scenarios::lists_filter_and_page,
            tenants_are_isolated = $crate::common::scenarios::tenants_are_isolated,
            customers_see_only_their_own = $crate::common::scenarios::customers_see_only_their_own,
            bad_input_is_refused_clearly = $crate::common::scenarios::bad_input_is_refused_clearly,
            http_answers_reach_the_client = $crate::common::scenarios::http_answers_reach_the_client,
            operations_endpoints = $crate::common::scenarios::operations_endpoints,
            retries_with_an_idempotency_key_are_served_once =
                $crate::common::scenarios::retries_with_an_idempotency_key_are_served_once,
            the_priority_matrix_is_the_tenants_own =
                $crate::common::scenarios::the_priority_matrix_is_the_tenants_own,
            agents_find_what_they_look_for =
                $crate::common::scenarios::agents_find_what_they_look_for,
            the_directory_has_no_duplicates =
                $crate::common::scenarios::the_directory_has_no_duplicates,
            teams_are_edited = $crate::common::scenarios::teams_are_edited,
            the_directory_is_imported_from_csv =
                $crate::common::scenarios::the_directory_is_imported_from_csv,
            access_can_be_taken_back = $crate::common::scenarios::access_can_be_taken_back,
            edits_are_guarded_against_lost_updates =
                $crate::common::scenarios::edits_are_guarded_against_lost_updates,
            customers_move_their_own_tickets =
                $crate::common::scenarios::customers_move_their_own_tickets,
            an_incident_is_corrected_after_logging =
                $crate::common::scenarios::an_incident_is_corrected_after_logging,
            many_tickets_change_at_once = $crate::common::scenarios::many_tickets_change_at_once,
            problem_management = $crate::common::processes::problem_management,
            change_management = $crate::common::processes::change_management,
            service_requests = $crate::common::processes::service_requests,
            links_and_extended_data = $crate::common::processes::links_and_extended_data,
            satisfaction_and_reports = $crate::common::processes::satisfaction_and_reports,
            knowledge_base = $crate::common::processes::knowledge_base,
            attachments = $crate::common::processes::attachments,
            calendars_and_slas = $crate::common::processes::calendars_and_slas,
            an_incident_escalates = $crate::common::escalations::an_incident_escalates,
            email_in_and_out = $crate::common::email::email_in_and_out,
            the_authorization_matrix_holds =
                $crate::common::authorization::the_authorization_matrix_holds,
            the_document_holds_against_schemathesis =
                $crate::common::schemathesis::the_document_holds_against_schemathesis,
        );
    };
    (@each $desk:ident; $($name:ident = $scenario:path),+ $(,)?) => {
        mod scenario {
            $(
                #[tokio::test]
                async fn $name() {
                    let running =
                        super::$desk($crate::common::scenarios::edge_args(stringify!($name)))
                            .await;
                    $scenario(&running.desk).await;
                }
            )+
        }
    };
}
pub(crate) use every_scenario;
