//! The whole desk as a new user runs it: one `servicedesk serve` process on
//! the embedded default (SQLite files, in-process bus).

mod common;

use common::scenarios::{self, Desk};
use common::{Api, Process, dir_arg};
use runtime::testing::TempDir;
use serde_json::json;

async fn start(dir: &TempDir) -> (Process, Desk) {
    let data = dir_arg(dir.path());
    let process = Process::serve(&["--data-dir", &data]).await;
    let desk = Desk {
        base: process.url().to_owned(),
        store_args: vec!["--data-dir".into(), data],
    };
    (process, desk)
}

#[tokio::test]
async fn every_scenario_on_the_embedded_desk() {
    let dir = TempDir::new();
    let (_process, desk) = start(&dir).await;
    scenarios::all(&desk).await;
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_across_a_restart() {
    let dir = TempDir::new();
    let (mut process, desk) = start(&dir).await;
    let admin = desk.tenant("Durable").await;
    let mut refs = Vec::new();
    for n in 0..20 {
        let inc = admin
            .post(
                "/api/v1/incidents",
                json!({"summary": format!("n{n}"), "priority": 3}),
            )
            .await
            .expect(201);
        refs.push(inc["reference"].as_str().expect("ref").to_owned());
    }
    // A crash, not a clean stop.
    process.kill().await;
    let (_again, desk) = start(&dir).await;
    let admin = Api::new(&desk.base, admin.token.as_deref());
    for r in &refs {
        admin
            .get(&format!("/api/v1/incidents/{r}"))
            .await
            .expect(200);
    }
    let next = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "after", "priority": 3}),
        )
        .await
        .expect(201);
    assert_eq!(next["reference"], "INC-000021", "the sequence carries on");
}

#[tokio::test]
async fn sigterm_stops_cleanly() {
    let dir = TempDir::new();
    let (mut process, _desk) = start(&dir).await;
    let status = process.terminate().await;
    assert!(status.success(), "exit status {status}");
}
