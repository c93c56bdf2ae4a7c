//! Schemathesis (PyPI), a client that knows nothing but the document: it
//! calls every operation with data the document allows and data it
//! forbids, and checks each answer against it (no 5xx, the documented
//! statuses, content types, headers and schemas, allowed data taken and
//! forbidden data refused, 401 without the token, 405 and `Allow` for an
//! undocumented method).
//!
//! What it still finds is in `tests/schemathesis/baseline.json`, one entry
//! per operation and check, each a rule the server enforces that the
//! document does not yet state (the operations still written by hand in
//! `services/edge/src/openapi/`) or one it cannot (a referenced agent that
//! must exist). Anything else fails this test; an entry that no longer
//! reproduces is dropped with `SCHEMATHESIS_BASELINE=prune` (record new
//! ones with `update`, after fixing what can be fixed).

use std::path::{Path, PathBuf};

use super::scenarios::Desk;

/// The settings and the accepted failures, beside this crate's tests.
fn settings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/schemathesis")
}

pub async fn the_document_holds_against_schemathesis(desk: &Desk) {
    let admin = desk.tenant("Schemathesis").await;
    let token = admin.token.clone().expect("the admin's token");
    let dir = settings_dir();
    let work = runtime::testing::TempDir::new();
    let mut command = tokio::process::Command::new("st");
    command
        .current_dir(work.path())
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .args(["run", &format!("{}/api/v1/openapi.json", desk.base)])
        .args(["--url", &desk.base])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all", "--mode", "all"])
        // Minutes, not an hour: a bound per operation and a fixed seed, so
        // a failure is found again by the same run.
        .args(["--max-examples", "15", "--seed", "1"])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--warnings", "off", "--output-truncate", "true"])
        // Raw RFC 5322 messages Schemathesis cannot generate ("serialization
        // not possible"); the email scenario sends real ones with swaks.
        .args(["--exclude-path", "/api/v1/mail/inbound"])
        .arg("--baseline")
        .arg(dir.join("baseline.json"));
    let recording = match std::env::var("SCHEMATHESIS_BASELINE").as_deref() {
        Ok("update") => Some("--baseline-update"),
        Ok("prune") => Some("--baseline-prune"),
        _ => None,
    };
    command.args(recording);
    let out = command
        .output()
        .await
        .expect("Schemathesis runs (`st`; pip install schemathesis, as ops/test.sh does)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || recording.is_some(),
        "Schemathesis found what the baseline does not accept:\n{stdout}\n{stderr}"
    );
}
