//! Schemathesis (PyPI), a client that knows nothing but the document: it
//! calls every operation with data the document allows and data it
//! forbids, and checks each answer against it (no 5xx, the documented
//! statuses, content types, headers and schemas, allowed data taken and
//! forbidden data refused, 401 without the token, 405 and `Allow` for an
//! undocumented method).
//!
//! It must find nothing. Where the document promises a 400 that JSON
//! Schema cannot state (a referenced agent that must exist, `to` after
//! `from`, a template's grammar), `tests/schemathesis/schemathesis.toml`
//! says so for those operations, with the reason. `tests/schemathesis/mail.py`
//! tells it how to write the one body that is not JSON or a file: an email.

use std::path::{Path, PathBuf};

use super::scenarios::Desk;

/// Schemathesis' settings, beside this crate's tests.
fn settings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/schemathesis")
}

/// `PYTHONPATH` with `dir` first, so Python finds the hooks there.
fn python_path(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(more) = std::env::var_os("PYTHONPATH") {
        paths.extend(std::env::split_paths(&more));
    }
    std::env::join_paths(paths).expect("paths Python can take")
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
        // How to write an RFC 5322 message, the mail gateway's body, which
        // Schemathesis cannot do by itself (`mail.py`).
        .env("SCHEMATHESIS_HOOKS", "mail")
        .env("PYTHONPATH", python_path(&dir));
    let out = command
        .output()
        .await
        .expect("Schemathesis runs (`st`; pip install schemathesis, as ops/test.sh does)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Schemathesis found the desk and its document disagree:\n{stdout}\n{stderr}"
    );
}
