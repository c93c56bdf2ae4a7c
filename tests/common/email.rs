//! Email end to end, as a desk runs it: the directory and settings through
//! the API, emails out to a real SMTP server (aiosmtpd), mail in through
//! `servicedesk mailgate` as an MTA's pipe, and through its SMTP listener
//! with `swaks`.

use std::process::Stdio;
use std::time::Duration;

use mail_parser::MessageParser;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::scenarios::{Desk, id};
use super::{Api, BIN};

/// A one-pixel PNG: an attachment of a type the desk keeps.
const PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// `servicedesk mailgate` with `message` on its standard input; its exit
/// code and what it printed.
async fn pipe(desk: &Desk, token: &str, message: &str) -> (i32, Value) {
    let mut child = tokio::process::Command::new(BIN)
        .args(["mailgate", "--url", &desk.base, "--token", token])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("servicedesk mailgate runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(message.replace('\n', "\r\n").as_bytes())
        .await
        .expect("message written");
    drop(stdin);
    let out = child.wait_with_output().await.expect("mailgate exits");
    let printed = String::from_utf8_lossy(&out.stdout);
    let receipt = serde_json::from_str(printed.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), receipt)
}

/// Waits for `n` emails of this scenario (to `*.mail.example`; the other
/// scenarios' tenants send too) at the desk's SMTP server; parses them
/// (subject, from, to, text, Message-ID).
async fn received(desk: &Desk, n: usize) -> Vec<(String, String, String, String, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mine = parsed(desk);
        if mine.len() >= n || std::time::Instant::now() > deadline {
            assert!(mine.len() >= n, "expected {n} emails, got {mine:#?}");
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn parsed(desk: &Desk) -> Vec<(String, String, String, String, String)> {
    desk.smtp
        .messages()
        .iter()
        .map(|bytes| {
            let m = MessageParser::default().parse(bytes).expect("an email");
            let addr = |a: Option<&mail_parser::Address<'_>>| {
                a.and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                m.subject().unwrap_or_default().to_owned(),
                addr(m.from()),
                addr(m.to()),
                m.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
                m.message_id().unwrap_or_default().to_owned(),
            )
        })
        .filter(|m| m.2.ends_with(".mail.example"))
        .collect()
}

pub async fn email_in_and_out(desk: &Desk) {
    let admin = desk.tenant("Mail Ltd").await;
    let acme = admin
        .post(
            "/api/v1/companies",
            json!({"name": "Acme", "sender": {"email": "it@acme.mail.example", "name": "Acme IT"}}),
        )
        .await
        .expect(201);
    assert_eq!(acme["sender"]["email"], "it@acme.mail.example");
    admin
        .post(
            "/api/v1/companies",
            json!({"name": "Bad", "sender": {"email": "it@acme.mail.example\r\nBcc: x@evil.example"}}),
        )
        .await
        .error(400, "validation_failed");
    let chloe = admin
        .post(
            "/api/v1/customers",
            json!({"name": "Chloé Dubois", "email": "chloe@acme.mail.example", "language": "fr", "company_id": id(&acme)}),
        )
        .await
        .expect(201);
    let team = admin
        .post("/api/v1/teams", json!({"name": "Service desk"}))
        .await
        .expect(201);
    admin
        .post(
            "/api/v1/agents",
            json!({"name": "Alan", "email": "alan@desk.mail.example", "team_id": id(&team)}),
        )
        .await
        .expect(201);
    let settings = admin
        .put(
            "/api/v1/notifications/settings",
            json!({
                "default_language": "en",
                "sender": {"email": "help@desk.mail.example", "name": "The Desk"},
                "public_url": "https://desk.mail.example",
                "desk_addresses": ["support@desk.mail.example"],
            }),
        )
        .await
        .expect(200);
    assert_eq!(settings["closed_reply"], "reopen");
    admin
        .put(
            "/api/v1/notifications/settings",
            json!({"default_language": "en", "sender": {"email": "not an address"}}),
        )
        .await
        .error(400, "validation_failed");
    // A PATCH changes what it names and keeps the rest; a PUT is whole.
    let patched = admin
        .patch(
            "/api/v1/notifications/settings",
            json!({"sender": {"name": "The Help Desk"}, "closed_reply": "reopen"}),
        )
        .await
        .expect(200);
    assert_eq!(
        patched["sender"],
        json!({"email": "help@desk.mail.example", "name": "The Help Desk"})
    );
    assert_eq!(patched["public_url"], settings["public_url"]);
    assert_eq!(patched["desk_addresses"], settings["desk_addresses"]);
    for bad in [
        json!({"sendr": {"name": "x"}}),
        json!({"sender": {"name": "Desk\r\nBcc: all@example.com"}}),
        json!({"sender": null}),
    ] {
        admin
            .patch("/api/v1/notifications/settings", bad)
            .await
            .error(400, "validation_failed");
    }
    let patched = admin
        .patch(
            "/api/v1/notifications/settings",
            json!({"sender": {"name": "The Desk"}}),
        )
        .await
        .expect(200);
    assert_eq!(patched, settings, "refusals changed nothing");
    // Patches of different fields at once: each applies to the settings
    // as the one before left them, so none is lost.
    let patches = [
        json!({"reply_to": {"email": "replies@desk.mail.example"}}),
        json!({"public_url": "https://help.desk.mail.example"}),
        json!({"closed_reply": "new_ticket"}),
        json!({"disabled": ["broadcast"]}),
        json!({"desk_addresses": ["support@desk.mail.example", "it@desk.mail.example"]}),
    ];
    let sent = patches.iter().map(|p| {
        let admin = admin.clone();
        let p = p.clone();
        async move {
            admin
                .patch("/api/v1/notifications/settings", p)
                .await
                .expect(200)
        }
    });
    futures_util::future::join_all(sent).await;
    let now = admin
        .get("/api/v1/notifications/settings")
        .await
        .expect(200);
    assert_eq!(
        now["reply_to"]["email"], "replies@desk.mail.example",
        "{now}"
    );
    assert_eq!(now["public_url"], "https://help.desk.mail.example", "{now}");
    assert_eq!(now["closed_reply"], "new_ticket", "{now}");
    assert_eq!(now["disabled"], json!(["broadcast"]), "{now}");
    assert_eq!(
        now["desk_addresses"].as_array().map(Vec::len),
        Some(2),
        "{now}"
    );
    // Back as it was, for what follows.
    admin
        .put("/api/v1/notifications/settings", settings.clone())
        .await
        .expect(200);
    admin
        .put(
            "/api/v1/notifications/templates/logged/fr",
            json!({
                "subject": "[{{reference}}] Bien reçu : {{summary}}",
                "text": "Bonjour {{customer_name}}, nous traitons {{reference}}.",
                "html": "<p>Bonjour {{customer_name}}</p>",
            }),
        )
        .await
        .expect(200);
    admin
        .put(
            "/api/v1/notifications/templates/logged/fr",
            json!({"subject": "{{nope}}", "text": "x"}),
        )
        .await
        .error(400, "validation_failed");
    admin
        .put(
            "/api/v1/notifications/templates/no_such_kind/fr",
            json!({"subject": "x", "text": "x"}),
        )
        .await
        .error(404, "not_found");

    // Logged for Chloé: the confirmation, in French, from her company.
    let incident = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "Imprimante bloquée", "priority": 3, "customer_id": id(&chloe)}),
        )
        .await
        .expect(201);
    let reference = incident["reference"].as_str().expect("ref").to_owned();
    let mails = received(desk, 1).await;
    let (subject, from, to, text, message_id) = &mails[0];
    assert_eq!(
        subject,
        &format!("[{reference}] Bien reçu : Imprimante bloquée")
    );
    assert_eq!(
        (from.as_str(), to.as_str()),
        ("it@acme.mail.example", "chloe@acme.mail.example")
    );
    assert!(text.contains("Bonjour Chloé Dubois"), "{text}");
    // Alan takes it: he is told.
    let alan_id = admin.get("/api/v1/agents").await.expect(200)["items"][0]["id"]
        .as_str()
        .expect("agent")
        .to_owned();
    admin
        .post(
            &format!("/api/v1/incidents/{reference}/assign"),
            json!({"assignee_id": alan_id}),
        )
        .await
        .expect(200);
    let mails = received(desk, 2).await;
    assert_eq!(mails[1].2, "alan@desk.mail.example");
    assert!(mails[1].0.contains("Assigned to you"), "{:?}", mails[1]);
    // The log, once the sender has recorded what the server took.
    let mut log = Value::Null;
    for _ in 0..200 {
        log = admin
            .get(&format!("/api/v1/incidents/{reference}/emails"))
            .await
            .expect(200);
        if log
            .as_array()
            .is_some_and(|l| l.iter().all(|d| d["status"] != "queued"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.as_array().map(Vec::len), Some(2), "{log}");
    assert!(
        log.as_array()
            .expect("log")
            .iter()
            .all(|d| d["status"] == "sent"),
        "{log}"
    );
    assert_eq!(log[1]["language"], "fr");
    assert_eq!(log[1]["to"]["email"], "chloe@acme.mail.example");
    assert_eq!(log[1]["message_id"], format!("<{message_id}>"));
    let preview = admin
        .post(
            "/api/v1/notifications/templates/resolved/fr/preview",
            json!({"ticket": reference}),
        )
        .await
        .expect(200);
    assert!(
        preview["subject"]
            .as_str()
            .is_some_and(|s| s.contains("Résolu : Imprimante bloquée")),
        "the desk's own French one, as the tenant has none: {preview}"
    );
    admin
        .get("/api/v1/notifications/templates")
        .await
        .expect(200);

    // Mail in, through the MTA pipe, with an integration token.
    let gateway = admin
        .post(
            "/api/v1/tokens",
            json!({"role": "integration", "name": "Mail gateway"}),
        )
        .await
        .expect(201);
    let token = gateway["token"].as_str().expect("token").to_owned();
    let reply = format!(
        "From: =?utf-8?q?Chlo=C3=A9_Dubois?= <chloe@acme.mail.example>\nTo: it@acme.mail.example\nSubject: RE: =?utf-8?q?Bien_re=C3=A7u?=\nMessage-ID: <reply-1@acme.mail.example>\nIn-Reply-To: <{message_id}>\nReferences: <{message_id}>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n--outer\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\nContent-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: quoted-printable\n\nLa photo de l'=C3=A9cran est jointe.\n\n-----Original Message-----\nFrom: Acme IT\n--alt\nContent-Type: text/html; charset=\"utf-8\"\n\n<p>La photo de l'&eacute;cran est jointe.</p>\n--alt--\n--outer\nContent-Type: image/png; name=\"screen.png\"\nContent-Disposition: attachment; filename=\"screen.png\"\nContent-Transfer-Encoding: base64\n\n{PIXEL_PNG}\n--outer\nContent-Type: text/html; name=\"evil.html\"\nContent-Disposition: attachment; filename=\"evil.html\"\n\n<script>alert(1)</script>\n--outer--\n"
    );
    let (code, receipt) = pipe(desk, &token, &reply).await;
    assert_eq!(code, 0, "{receipt}");
    assert_eq!(receipt["outcome"], "added");
    assert_eq!(receipt["reference"], reference.as_str());
    let files = receipt["attachments"].as_array().expect("attachments");
    assert_eq!(files.len(), 2, "{receipt}");
    assert!(files[0]["id"].is_string(), "the PNG is kept: {receipt}");
    assert!(
        files[1]["refused"].is_string(),
        "HTML is never kept: {receipt}"
    );
    let kept = admin
        .get(&format!("/api/v1/incidents/{reference}/attachments"))
        .await
        .expect(200);
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{kept}");
    assert_eq!(kept[0]["filename"], "screen.png");
    assert_eq!(kept[0]["action_id"], receipt["action_id"]);
    let actions = admin
        .get(&format!("/api/v1/incidents/{reference}/actions"))
        .await
        .expect(200);
    // The note names what the desk did not keep, and why.
    assert_eq!(
        actions[0]["text"],
        "La photo de l'écran est jointe.\n\nNot kept from this email: evil.html (text/html is \
         not a type the desk keeps).",
        "{actions}"
    );
    assert_eq!(actions[0]["author"]["role"], "customer");

    // The same delivery again: once.
    let (code, again) = pipe(desk, &token, &reply).await;
    assert_eq!((code, again["outcome"].as_str()), (0, Some("duplicate")));
    let kept = admin
        .get(&format!("/api/v1/incidents/{reference}/attachments"))
        .await
        .expect(200);
    assert_eq!(kept.as_array().map(Vec::len), Some(1));

    // An out-of-office: never a ticket. An agent's token: refused (77).
    let ooo = "From: chloe@acme.mail.example\nSubject: Absente\nAuto-Submitted: auto-replied\nMessage-ID: <ooo-1@acme.mail.example>\n\nJe suis absente.\n";
    let (code, r) = pipe(desk, &token, ooo).await;
    assert_eq!((code, r["outcome"].as_str()), (0, Some("ignored")));
    let (code, _) = pipe(
        desk,
        admin.token.as_deref().unwrap_or(""),
        "not a message at all",
    )
    .await;
    assert_eq!(code, 65, "a refused message is a permanent failure");
    // A wrong token is the gateway's configuration: the MTA keeps the mail.
    let (code, _) = pipe(desk, "sd_wrong", ooo).await;
    assert_eq!(code, 75);

    // A new message from someone unknown: a new incident, no customer.
    let new = "From: Bob <bob@elsewhere.mail.example>\nTo: support@desk.mail.example\nSubject: VPN down\nMessage-ID: <bob-1@elsewhere.mail.example>\nContent-Type: text/plain; charset=us-ascii\n\nThe VPN drops every minute.\n";
    let (code, r) = pipe(desk, &token, new).await;
    assert_eq!((code, r["outcome"].as_str()), (0, Some("logged")), "{r}");
    let bobs = r["reference"].as_str().expect("ref").to_owned();
    let logged = admin
        .get(&format!("/api/v1/incidents/{bobs}"))
        .await
        .expect(200);
    assert_eq!(logged["summary"], "VPN down");
    assert!(logged["customer_id"].is_null());

    // Through the SMTP listener, sent with swaks.
    // Port 0: it says which port it took (a port found free and handed
    // over could be taken by another test in between).
    let mut listener = tokio::process::Command::new(BIN)
        .args([
            "mailgate",
            "--url",
            &desk.base,
            "--token",
            &token,
            "--smtp-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mailgate listens");
    let mut lines = tokio::io::BufReader::new(listener.stdout.take().expect("stdout"));
    let mut first = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut first)
        .await
        .expect("mailgate says where it listens");
    let listen = first
        .trim()
        .strip_prefix("servicedesk mailgate listening for SMTP on ")
        .unwrap_or_else(|| panic!("where does it listen? {first}"))
        .to_owned();
    let swaks = tokio::process::Command::new("swaks")
        .args([
            "--server",
            &listen,
            "--from",
            "chloe@acme.mail.example",
            "--to",
            "support@desk.mail.example",
            "--header",
            &format!("Subject: Re: [{reference}] encore"),
            "--header",
            "Message-ID: <swaks-1@acme.mail.example>",
            "--body",
            "Toujours bloquée après le redémarrage.",
            "--attach-type",
            "image/png",
            "--attach-name",
            "again.png",
            "--attach",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut swaks = swaks.expect("swaks is installed (apt-get install swaks)");
    let png = base64_decode(PIXEL_PNG);
    let mut stdin = swaks.stdin.take().expect("stdin");
    stdin.write_all(&png).await.expect("attachment written");
    drop(stdin);
    let out = swaks.wait_with_output().await.expect("swaks ran");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{transcript}");
    assert!(
        transcript.contains(&format!("250 2.0.0 added {reference}")),
        "{transcript}"
    );
    let actions = admin
        .get(&format!("/api/v1/incidents/{reference}/actions"))
        .await
        .expect(200);
    assert!(
        actions
            .as_array()
            .expect("actions")
            .iter()
            .any(|a| a["text"] == "Toujours bloquée après le redémarrage."),
        "{actions}"
    );
    let kept = admin
        .get(&format!("/api/v1/incidents/{reference}/attachments"))
        .await
        .expect(200);
    assert_eq!(kept.as_array().map(Vec::len), Some(2), "{kept}");
    // SMTP smuggling: a bare LF before the dot does not end the message,
    // so what follows it is the same message's text, not a second one.
    let mut smtp = tokio::net::TcpStream::connect(&listen)
        .await
        .expect("connects");
    let session = format!(
        "EHLO test\r\nMAIL FROM:<chloe@acme.mail.example>\r\nRCPT TO:<support@desk.mail.example>\r\nDATA\r\n\
         From: chloe@acme.mail.example\r\nSubject: Re: [{reference}] smuggled\r\nMessage-ID: <smuggle-1@acme.mail.example>\r\n\r\n\
         first part\n.\nMAIL FROM:<ceo@acme.mail.example>\r\nRCPT TO:<support@desk.mail.example>\r\nDATA\r\n\
         From: ceo@acme.mail.example\r\nSubject: forged\r\n\r\nforged part\r\n.\r\nQUIT\r\n"
    );
    smtp.write_all(session.as_bytes()).await.expect("sent");
    let mut transcript = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut smtp, &mut transcript)
        .await
        .expect("the session ends");
    assert_eq!(
        transcript
            .matches(&format!("250 2.0.0 added {reference}"))
            .count(),
        1,
        "one message: {transcript}"
    );
    assert!(transcript.ends_with("221 2.0.0 bye\r\n"), "{transcript}");
    let actions = admin
        .get(&format!("/api/v1/incidents/{reference}/actions"))
        .await
        .expect(200);
    let smuggled = actions
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["text"].as_str().is_some_and(|t| t.contains("first part")))
        .expect("the message");
    assert!(
        smuggled["text"]
            .as_str()
            .is_some_and(|t| t.contains("forged part")),
        "the forged part stayed inside the one message: {smuggled}"
    );
    let _ = listener.kill().await;

    // Alan heard of each of the customer's three notes.
    let mut notes = Vec::new();
    for _ in 0..200 {
        notes = received(desk, 5)
            .await
            .into_iter()
            .filter(|m| m.2 == "alan@desk.mail.example" && m.0.contains("The customer wrote"))
            .collect();
        if notes.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(notes.len(), 3, "{notes:#?}");
    assert!(
        notes.iter().any(|n| n.3.contains("Toujours bloquée")),
        "{notes:#?}"
    );
    // Chloé now reads the desk's default language, and Acme writes from a
    // new address: the next email follows both.
    let changed = admin
        .patch(
            &format!("/api/v1/customers/{}", id(&chloe)),
            json!({"language": null}),
        )
        .await
        .expect(200);
    assert!(changed["language"].is_null());
    assert_eq!(
        changed["email"], "chloe@acme.mail.example",
        "the rest stays"
    );
    admin
        .patch(
            &format!("/api/v1/companies/{}", id(&acme)),
            json!({"sender": {"email": "helpdesk@acme.mail.example", "name": "Acme Helpdesk"}}),
        )
        .await
        .expect(200);
    admin
        .patch(
            &format!("/api/v1/customers/{}", id(&chloe)),
            json!({"shoe_size": 42}),
        )
        .await
        .error(400, "validation_failed");
    // The directory reaches notification apart from tickets: an incident
    // logged the moment the sender changed may still go out from the old
    // one. Each email is written as notification knows the directory when
    // its ticket's event comes, so a later one is from the new sender.
    let mut from_the_new_sender = false;
    for _ in 0..20 {
        let second = admin
            .post(
                "/api/v1/incidents",
                json!({"summary": "Scanner", "priority": 3, "customer_id": id(&chloe)}),
            )
            .await
            .expect(201);
        let second_ref = second["reference"].as_str().expect("ref").to_owned();
        let mut confirmation = None;
        for _ in 0..200 {
            confirmation = parsed(desk).into_iter().find(|m| {
                m.0.starts_with(&format!("[{second_ref}]")) && m.2 == "chloe@acme.mail.example"
            });
            if confirmation.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let confirmation = confirmation.expect("the second confirmation");
        assert_eq!(
            confirmation.0,
            format!("[{second_ref}] We have logged your incident: Scanner")
        );
        if confirmation.1 == "helpdesk@acme.mail.example" {
            from_the_new_sender = true;
            break;
        }
        assert_eq!(
            confirmation.1, "it@acme.mail.example",
            "the old sender, or the new"
        );
    }
    assert!(from_the_new_sender, "never from the company's new sender");
    // A customer may not read the delivery log.
    let portal = admin
        .post(
            "/api/v1/tokens",
            json!({"role": "customer", "customer_id": id(&chloe)}),
        )
        .await
        .expect(201);
    Api::new(&desk.base, portal["token"].as_str())
        .get(&format!("/api/v1/incidents/{reference}/emails"))
        .await
        .error(403, "forbidden");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}
