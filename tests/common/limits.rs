//! The rate limits, as a client meets them: a desk started with
//! `--failed-auth-limit` and `--token-request-limit` small enough to reach.

use serde_json::{Value, json};

use super::Api;

/// Waits, if the minute is nearly over, for the next one: the limits count
/// per minute, and a test that crossed into the next would start over
/// halfway.
pub async fn fresh_minute() {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let second = unix % 60;
    if second >= 40 {
        let wait = (60 - second) * 1000 + 200;
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
}

/// `n` requests with `api`'s token, each answered.
pub async fn spend(api: &Api, n: u32) {
    for _ in 0..n {
        api.get("/api/v1/me").await.expect(200);
    }
}

/// A 429 `rate_limited` for `reason`, with how long to wait in the header
/// and in the body.
pub async fn is_limited(api: &Api, reason: &str) -> Value {
    let (status, headers, body) = api.download("/api/v1/me").await;
    let body: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!(status.as_u16(), 429, "{body}");
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert_eq!(body["details"]["reason"], reason, "{body}");
    let retry_after: i64 = headers["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(body["details"]["retry_after"], retry_after, "{body}");
    body
}

/// A token of its own for a new agent of `admin`'s tenant.
pub async fn agent_token(admin: &Api, name: &str) -> Api {
    let agent = admin
        .post(
            "/api/v1/agents",
            json!({"name": name, "email": format!("{name}@desk.example")}),
        )
        .await
        .expect(201);
    let token = admin
        .post(
            "/api/v1/tokens",
            json!({"role": "agent", "agent_id": agent["id"]}),
        )
        .await
        .expect(201);
    admin.as_token(token["token"].as_str().expect("token"))
}

/// On a desk whose limits are `failed` failed authentications per address
/// and `budget` requests per token a minute, reached through `edges` (one
/// or more replicas; `shared` waits until what the first counted is known
/// to the others): a token's budget is its own and holds across the
/// replicas, and an address that keeps failing is refused.
pub async fn limits_hold(edges: &[Api], failed: u32, budget: u32, shared: impl AsyncFn(u64)) {
    fresh_minute().await;
    let admin = &edges[0];
    // Setting up takes four requests of the admin's budget.
    let ada = agent_token(admin, "ada").await;
    let bob = agent_token(admin, "bob").await;
    let used = 4;

    // Ada spends her budget, across the replicas: the last one to answer
    // knows what the first counted.
    let on = |n: usize| edges[n % edges.len()].as_token(ada.token.as_deref().expect("token"));
    let first = budget / 2;
    spend(&on(0), first).await;
    shared(u64::from(first)).await;
    spend(&on(1), budget - first).await;
    let limited = is_limited(&on(1), "token_budget").await;
    assert!(
        limited["message"]
            .as_str()
            .unwrap_or("")
            .contains("try again"),
        "{limited}"
    );
    // A replica learns what the others counted when it next shares its
    // own (every second): until then it may let a few more through.
    let mut learnt = false;
    for _ in 0..100 {
        if on(0).get("/api/v1/me").await.status.as_u16() == 429 {
            learnt = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(learnt, "every replica refuses a spent token");
    is_limited(&on(0), "token_budget").await;
    // The admin's own budget is untouched.
    spend(admin, budget - used).await;
    is_limited(admin, "token_budget").await;

    // Guessing tokens: each failure counts against the address, and past
    // the limit the address is refused whatever token it sends.
    let guesser = admin.as_token(&format!("sd_{}", "0".repeat(64)));
    for _ in 0..failed {
        guesser.get("/api/v1/me").await.error(401, "unauthorized");
    }
    is_limited(&guesser, "failed_authentication").await;
    is_limited(&bob, "failed_authentication").await;
    // A request without a token is not limited.
    Api::new(&admin.base, None)
        .get("/api/v1/openapi.json")
        .await
        .expect(200);
}
