//! The authorization matrix, generated from the API document the desk
//! serves: every operation is called with each role's token, and every
//! operation on something of one tenant's is called by the other tenant's
//! tokens and by another customer. A new operation is in it the moment it
//! is in the document; one whose roles are not in the document fails.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use super::Api;
use super::scenarios::{Desk, id};

const ROLES: [&str; 4] = ["admin", "agent", "customer", "integration"];

/// The 403s a role the operation names may still get, from a thing's own
/// rules rather than its role: (the end of the operation's path, the
/// refusal's message). Any other 403 to a named role fails the matrix,
/// whichever service answers it.
const THINGS_OWN_RULES: [(&str, &str); 1] = [(
    "/{id}/decision",
    "only the change's named approvers decide on it",
)];

/// The things (by path segment) that belong to one customer of a tenant:
/// their incidents and service requests, and the files on them.
const CUSTOMERS_OWN: [&str; 3] = ["incidents", "requests", "attachments"];

/// One operation of the document.
struct Operation {
    method: Method,
    /// As documented: `/api/v1/incidents/{id}`.
    path: String,
    roles: Vec<String>,
    /// Whether it takes a body ([`body`]).
    body: bool,
}

/// Every operation that needs a token; one without `x-roles` fails here.
fn operations(doc: &Value) -> Vec<Operation> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if op["security"] == json!([]) {
                continue;
            }
            let roles = op["x-roles"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} does not say which roles may call it"))
                .iter()
                .map(|r| r.as_str().expect("a role").to_owned())
                .collect();
            all.push(Operation {
                method,
                path: path.clone(),
                roles,
                body: op.get("requestBody").is_some(),
            });
        }
    }
    all
}

/// A tenant's callers, one per role, and a second customer.
struct Tenant {
    by_role: BTreeMap<&'static str, Api>,
    other_customer: Api,
    customer_id: String,
}

async fn tenant(desk: &Desk, name: &str) -> Tenant {
    let admin = desk.tenant(name).await;
    let agent = admin
        .post("/api/v1/agents", json!({"name": "Ada"}))
        .await
        .expect(201);
    let carl = admin
        .post("/api/v1/customers", json!({"name": "Carl"}))
        .await
        .expect(201);
    let dora = admin
        .post("/api/v1/customers", json!({"name": "Dora"}))
        .await
        .expect(201);
    let token = |body: Value| {
        let admin = &admin;
        async move {
            let t = admin.post("/api/v1/tokens", body).await.expect(201);
            admin.as_token(t["token"].as_str().expect("a token"))
        }
    };
    let mut by_role = BTreeMap::new();
    by_role.insert(
        "agent",
        token(json!({"role": "agent", "agent_id": id(&agent)})).await,
    );
    by_role.insert(
        "customer",
        token(json!({"role": "customer", "customer_id": id(&carl)})).await,
    );
    by_role.insert(
        "integration",
        token(json!({"role": "integration", "name": "Monitor"})).await,
    );
    let other_customer = token(json!({"role": "customer", "customer_id": id(&dora)})).await;
    by_role.insert("admin", admin);
    Tenant {
        by_role,
        other_customer,
        customer_id: id(&carl),
    }
}

impl Tenant {
    fn admin(&self) -> &Api {
        &self.by_role["admin"]
    }
}

/// Things of tenant `t`'s, by the path segment whose `{id}` names them:
/// what the matrix asks other tenants about.
async fn things(t: &Tenant) -> BTreeMap<&'static str, String> {
    let admin = t.admin();
    let mut things = BTreeMap::new();
    let incident = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Carl's printer", "priority": 3, "customer_id": t.customer_id}),
        )
        .await
        .expect(201);
    things.insert("incidents", id(&incident));
    let problem = admin
        .post(
            "/api/v1/problems",
            json!({"summary": "Printers jam", "priority": 3}),
        )
        .await
        .expect(201);
    things.insert("problems", id(&problem));
    let company = admin
        .post("/api/v1/companies", json!({"name": "Initech"}))
        .await
        .expect(201);
    things.insert("companies", id(&company));
    things.insert("customers", t.customer_id.clone());
    let team = admin
        .post("/api/v1/teams", json!({"name": "Printers"}))
        .await
        .expect(201);
    things.insert("teams", id(&team));
    let agent = admin
        .post("/api/v1/agents", json!({"name": "Bob"}))
        .await
        .expect(201);
    things.insert("agents", id(&agent));
    let supplier = admin
        .post("/api/v1/suppliers", json!({"name": "Acme"}))
        .await
        .expect(201);
    things.insert(
        "suppliers",
        supplier["supplier"]["id"].as_str().expect("id").to_owned(),
    );
    let plan = json!({
        "reason": "Printers jam", "impact_assessment": "None", "risk": "low",
        "risk_assessment": "None", "backout_plan": "Put the old one back",
        "planned_start": "2030-01-10T20:00:00Z", "planned_end": "2030-01-10T22:00:00Z",
        "affected_items": ["PRN-01"], "approvers": [id(&agent)],
    });
    let change = admin
        .post(
            "/api/v1/changes",
            json!({"summary": "New printer", "change": plan}),
        )
        .await
        .expect(201);
    things.insert("changes", id(&change));
    admin
        .post("/api/v1/request-types", json!({"name": "Toner"}))
        .await
        .expect(200);
    let request = admin
        .post(
            "/api/v1/requests",
            json!({"summary": "Toner please", "request_type": "toner", "customer_id": t.customer_id}),
        )
        .await
        .expect(201);
    things.insert("requests", id(&request));
    let incident_files = format!(
        "/api/v1/incidents/{}/attachments?filename=log.txt",
        id(&incident)
    );
    let file = admin
        .send_raw(
            Method::POST,
            &incident_files,
            Some("text/plain"),
            b"paper jam".to_vec(),
        )
        .await
        .expect(201);
    things.insert("attachments", id(&file));
    let article = admin
        .post(
            &format!("/api/v1/incidents/{}/publish", id(&incident)),
            json!({}),
        )
        .await
        .expect(201);
    things.insert("kb", id(&article));
    let calendar = admin
        .post("/api/v1/calendars", calendar_body("Office"))
        .await
        .expect(201);
    things.insert("calendars", id(&calendar));
    let sla = admin
        .post("/api/v1/slas", sla_body("Gold", &id(&calendar)))
        .await
        .expect(201);
    things.insert("slas", id(&sla));
    things
}

fn calendar_body(name: &str) -> Value {
    json!({
        "name": name, "time_zone": "UTC",
        "week": {"monday": [{"start": "09:00", "end": "17:00"}]},
    })
}

/// An SLA on `calendar`: a calendar of the caller's tenant, or of none.
fn sla_body(name: &str, calendar: &str) -> Value {
    json!({
        "name": name, "calendar_id": calendar,
        "grid": [{"priority": 3, "response": {"minutes": 60}, "resolve": {"minutes": 480}}],
    })
}

/// `op`'s path with its parameters filled: `{id}` with the thing of
/// `things` its first segment names, if there is one, and every other
/// parameter with something well-formed that names nothing.
fn filled(op: &Operation, things: &BTreeMap<&'static str, String>) -> (String, bool) {
    let segment = op.path.split('/').nth(3).unwrap_or_default();
    let thing = things.get(segment);
    let mut path = op.path.clone();
    for (param, value) in [
        ("{kind}", "incidents"),
        ("{language}", "en"),
        ("{token}", "0190b3a4-7c1e-7d2a-9f3e-5b6c7d8e9f01"),
    ] {
        path = path.replace(param, value);
    }
    if let Some(thing) = thing {
        path = path.replace("{id}", thing);
    }
    while let (Some(start), Some(end)) = (path.find('{'), path.find('}')) {
        path.replace_range(start..=end, "0190b3a4-7c1e-7d2a-9f3e-5b6c7d8e9f01");
    }
    // The kind a template path names is an email's kind.
    if op.path.starts_with("/api/v1/notifications/templates/") {
        path = path.replace("/templates/incidents/", "/templates/logged/");
    }
    // An upload names its file (its bytes are [`body`]'s `{}`).
    if op.method == Method::POST && op.path.ends_with("/attachments") {
        path.push_str("?filename=note.json");
    }
    (path, thing.is_some() && op.path.contains("{id}"))
}

/// A body `op` takes whatever the tenant has: one that names nothing of
/// the tenant's (an assignment that clears the team, a link to a
/// reference), so a refusal is the thing's or the role's, not the body's.
/// `{}` for the rest, which need nothing.
fn body(op: &Operation) -> Option<Value> {
    if !op.body {
        return None;
    }
    let mut segments = op.path.trim_start_matches("/api/v1/").split('/');
    let (what, _, action) = (segments.next(), segments.next(), segments.next());
    let tickets = ["incidents", "problems", "changes", "requests"];
    Some(match (what.unwrap_or_default(), action) {
        (kind, None) if tickets.contains(&kind) => json!({"summary": "Changed"}),
        ("agents" | "companies" | "customers", None) => json!({"name": "Changed"}),
        (_, Some("actions")) => json!({"text": "A note"}),
        (_, Some("assign")) => json!({"team_id": null}),
        (_, Some("status")) => json!({"status": "closed"}),
        (_, Some("links")) => json!({"ticket": "INC-000001", "link_type": "related"}),
        (_, Some("decision")) => json!({"decision": "approve"}),
        ("calendars", _) => calendar_body("Elsewhere"),
        ("slas", _) => sla_body("Silver", "0190b3a4-7c1e-7d2a-9f3e-5b6c7d8e9f01"),
        ("problems", Some("incidents")) => json!({"incidents": ["INC-000001"]}),
        _ => json!({}),
    })
}

async fn call(api: &Api, op: &Operation, path: &str) -> (u16, Value) {
    let reply = api.send(op.method.clone(), path, body(op).as_ref()).await;
    (reply.status.as_u16(), reply.body)
}

/// Every operation answers each role as its `x-roles` say: a role not
/// named is refused (403, or 404 where to that role the thing does not
/// exist), never served; a role named is never refused, but by a thing's
/// own rules ([`THINGS_OWN_RULES`]: a change's approvers). The role half
/// runs after the isolation half and its bodies change A's things, so an
/// operation may find a ticket another has moved on: what it answers then
/// (409, 400) is not a refusal. And
/// every operation on one tenant's thing (an incident,
/// problem, change, service request, file, article, company, customer,
/// team, agent or supplier) answers the other tenant's tokens, and another
/// customer what is a customer's own, 404 (or 403 for a role not named),
/// and leaves the thing as it was.
pub async fn the_authorization_matrix_holds(desk: &Desk) {
    let doc = Api::new(&desk.base, None)
        .get("/api/v1/openapi.json")
        .await
        .expect(200);
    let ops = operations(&doc);
    assert!(ops.len() > 100, "{} operations", ops.len());
    let a = tenant(desk, "Matrix A").await;
    let b = tenant(desk, "Matrix B").await;
    let mine = things(&a).await;
    let before: Vec<(String, Value)> = snapshot(a.admin(), &mine).await;

    let mut wrong = Vec::new();
    // Another tenant's callers, and another customer, on A's things.
    for op in &ops {
        let (path, names_a_thing) = filled(op, &mine);
        if !names_a_thing {
            continue;
        }
        let mut callers: Vec<(&str, &Api)> = ROLES.iter().map(|r| (*r, &b.by_role[r])).collect();
        // What is a customer's own is no other customer's; the rest of the
        // tenant's (its published articles) every customer of it reads.
        if CUSTOMERS_OWN.contains(&op.path.split('/').nth(3).unwrap_or_default()) {
            callers.push(("customer", &a.other_customer));
        }
        for (role, api) in callers {
            let (status, body) = call(api, op, &path).await;
            let declared = op.roles.iter().any(|r| r == role);
            let ok = status == 404 || (!declared && status == 403);
            if !ok {
                wrong.push(format!(
                    "{} {path} by another's {role}: {status} {body}",
                    op.method
                ));
            }
        }
    }
    assert_eq!(
        snapshot(a.admin(), &mine).await,
        before,
        "another tenant's or customer's calls changed A's things"
    );
    // Each of A's roles on A's own things.
    for op in &ops {
        let (path, _) = filled(op, &mine);
        for role in ROLES {
            let (status, body) = call(&a.by_role[role], op, &path).await;
            let declared = op.roles.iter().any(|r| r == role);
            let refused = matches!(status, 403 | 404);
            let things_own = THINGS_OWN_RULES
                .iter()
                .any(|(end, message)| op.path.ends_with(end) && body["message"] == *message);
            let ok = if status >= 500 {
                false
            } else if declared {
                status != 403 || things_own
            } else {
                refused
            };
            if !ok {
                let say = if declared { "named" } else { "not named" };
                wrong.push(format!(
                    "{} {path} by {role} ({say} in x-roles {:?}): {status} {body}",
                    op.method, op.roles
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers against the matrix:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Each of A's things as its admin reads it.
async fn snapshot(admin: &Api, things: &BTreeMap<&'static str, String>) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for (kind, id) in things {
        // A supplier, calendar or SLA has no read of its own: its list.
        let path = match *kind {
            "suppliers" | "calendars" | "slas" => format!("/api/v1/{kind}"),
            "kb" => format!("/api/v1/kb/articles/{id}"),
            _ => format!("/api/v1/{kind}/{id}"),
        };
        let read = admin.get(&path).await.expect(200);
        all.push(((*kind).to_owned(), read));
    }
    all
}
