//! The mail queue with several senders on one store (replicas): every
//! email is delivered once, to a real SMTP server, on both databases.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use contracts::notification::{EmailKind, MailboxV1};
use notification::message::{self, Outgoing};
use notification::outgoing::{self, Email};
use notification::sender::Sender;
use runtime::store::Backend;
use runtime::testing::{self, SmtpSink};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const EMAILS: usize = 300;

/// `n` emails of one tenant, queued on `store`.
async fn queue(store: &runtime::store::Store, n: usize) {
    let tenant = Uuid::now_v7();
    let emails: Vec<Email> = (0..n)
        .map(|i| {
            let id = Uuid::now_v7();
            Email {
                id,
                tenant,
                kind: EmailKind::Logged,
                language: "en".into(),
                mail: Outgoing {
                    to: MailboxV1 {
                        email: format!("c{i}@example.com"),
                        name: None,
                    },
                    from: MailboxV1 {
                        email: "desk@desk.example".into(),
                        name: None,
                    },
                    reply_to: None,
                    subject: format!("[INC-{i:06}] hello"),
                    text: "hello".into(),
                    html: None,
                    message_id: message::message_id(id, "desk@desk.example"),
                    ticket_id: None,
                },
            }
        })
        .collect();
    let mut tx = store.begin().await.expect("tx");
    outgoing::enqueue(&mut tx, &emails, runtime::store::now())
        .await
        .expect("queued");
    tx.commit().await.expect("commit");
}

/// The Message-IDs of what `sink` received.
fn message_ids(sink: &SmtpSink) -> Vec<String> {
    sink.messages()
        .iter()
        .filter_map(|raw| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .and_then(|m| m.message_id().map(str::to_owned))
        })
        .collect()
}

/// How many emails `store` has with `status`.
async fn with_status(store: &runtime::store::Store, status: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM emails WHERE status = $1")
        .bind(status)
        .fetch_one(store.pool())
        .await
        .expect("count")
}

async fn two_senders_deliver_each_email_once(backend: Backend) {
    let (store, _dir) = testing::migrated_store(
        backend,
        "mail_notification",
        &[("notification", notification::MIGRATIONS)],
    )
    .await;
    let sink = SmtpSink::start();
    queue(&store, EMAILS).await;

    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let sender = Arc::new(Sender::new(store.clone(), Some(sink.url()), None));
        tasks.push(tokio::spawn(
            sender.run(Arc::new(Notify::new()), stop.clone()),
        ));
    }
    let got = sink.wait_for(EMAILS, Duration::from_secs(60)).await;
    // Until every one is recorded sent: then nothing is left to deliver,
    // and once the senders have stopped (finishing what they hold), what
    // the sink has is all there will be.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if with_status(&store, "sent").await == EMAILS as i64
            || std::time::Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    for t in tasks {
        t.await.expect("sender stops");
    }
    assert_eq!(got.len(), EMAILS);
    assert_eq!(sink.messages().len(), EMAILS, "each delivered once");
    let ids: HashSet<String> = message_ids(&sink).into_iter().collect();
    assert_eq!(ids.len(), EMAILS, "every email, none twice");
    assert_eq!(with_status(&store, "sent").await, EMAILS as i64);
}

/// The database refuses to record what became of the deliveries for a
/// while (a blip: here a trigger that refuses to change an email's status,
/// after the relay took them all). The sender tries again until it is
/// recorded: every email is delivered once and recorded sent as soon as
/// the database takes it, not sent again when its lease ends.
async fn a_failure_to_record_is_tried_again_not_delivered_again(backend: Backend) {
    const N: usize = 20;
    let (store, _dir) = testing::migrated_store(
        backend,
        "mail_notification",
        &[("notification", notification::MIGRATIONS)],
    )
    .await;
    let refuse = match backend {
        Backend::Postgres => vec![
            "CREATE TABLE blip (on_ BOOLEAN)",
            "CREATE FUNCTION blip() RETURNS trigger AS $$ BEGIN \
             IF EXISTS (SELECT 1 FROM blip) THEN RAISE EXCEPTION 'the database blipped'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER blip BEFORE UPDATE OF status ON emails FOR EACH ROW \
             WHEN (NEW.status <> OLD.status) EXECUTE FUNCTION blip()",
        ],
        Backend::Sqlite => vec![
            "CREATE TABLE blip (on_ BOOLEAN)",
            "CREATE TRIGGER blip BEFORE UPDATE OF status ON emails \
             WHEN NEW.status <> OLD.status AND EXISTS (SELECT 1 FROM blip) \
             BEGIN SELECT RAISE(ABORT, 'the database blipped'); END",
        ],
    };
    for sql in refuse {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(store.pool())
            .await
            .expect("the blip is set up");
    }
    sqlx::query("INSERT INTO blip (on_) VALUES (TRUE)")
        .execute(store.pool())
        .await
        .expect("the blip starts");
    let sink = SmtpSink::start();
    queue(&store, N).await;
    let stop = CancellationToken::new();
    let sender = Arc::new(Sender::new(store.clone(), Some(sink.url()), None));
    let task = tokio::spawn(sender.run(Arc::new(Notify::new()), stop.clone()));
    let got = sink.wait_for(N, Duration::from_secs(60)).await;
    assert_eq!(got.len(), N, "the relay took them all");
    assert_eq!(with_status(&store, "sent").await, 0, "none recorded yet");
    sqlx::query("DELETE FROM blip")
        .execute(store.pool())
        .await
        .expect("the blip ends");
    // Recorded within seconds of the database taking it: long before the
    // claim's lease would let another round send them again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while with_status(&store, "sent").await < N as i64 {
        assert!(
            std::time::Instant::now() < deadline,
            "not recorded once the database took it again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    task.await.expect("the sender stops");
    let ids: HashSet<String> = message_ids(&sink).into_iter().collect();
    assert_eq!(sink.messages().len(), N, "each delivered once");
    assert_eq!(ids.len(), N);
}

/// A relay that takes each message `slow` after its end (enough to
/// outlast a short lease), and counts what it took. It says 250 to all
/// but `DATA` and `QUIT`, which is all a delivery needs.
async fn slow_relay(slow: Duration) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("smtp://{}", listener.local_addr().expect("its address"));
    let taken = Arc::new(AtomicUsize::new(0));
    let counted = taken.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 slow.example ESMTP\r\n").await?;
                let mut in_data = false;
                while let Some(line) = lines.next_line().await? {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            tokio::time::sleep(slow).await;
                            counted.fetch_add(1, Ordering::SeqCst);
                            write.write_all(b"250 taken\r\n").await?;
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await?;
                }
                Ok::<(), std::io::Error>(())
            });
        }
    });
    (url, taken)
}

/// A delivery that takes longer than the lease (a slow relay) is not
/// taken over by another sender while its own is alive: the sender renews
/// the lease of what it still holds. Without that, the second sender
/// would claim the email once the first's lease ended and send it again.
async fn a_delivery_longer_than_its_lease_is_not_taken_over(backend: Backend) {
    let (store, _dir) = testing::migrated_store(
        backend,
        "mail_notification",
        &[("notification", notification::MIGRATIONS)],
    )
    .await;
    let (relay, taken) = slow_relay(Duration::from_secs(3)).await;
    queue(&store, 1).await;
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let sender = Sender::new(store.clone(), Some(relay.clone()), None)
            .with_lease(time::Duration::seconds(1));
        tasks.push(tokio::spawn(
            Arc::new(sender).run(Arc::new(Notify::new()), stop.clone()),
        ));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while with_status(&store, "sent").await < 1 {
        assert!(std::time::Instant::now() < deadline, "never sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each sender finishes the round it is in: a second delivery of the
    // email, had one begun, ends before this.
    stop.cancel();
    for t in tasks {
        t.await.expect("sender stops");
    }
    assert_eq!(taken.load(Ordering::SeqCst), 1, "delivered once");
}

/// A CA of the test's own and a certificate it signed for `localhost`
/// (openssl, on every machine this runs on): (ca.pem, cert.pem, key.pem).
fn private_ca(dir: &std::path::Path) -> (Vec<u8>, std::path::PathBuf, std::path::PathBuf) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Servicedesk test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "relay.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost\n").expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "relay.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        std::fs::read(dir.join("ca.pem")).expect("ca"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

/// A relay that takes mail only over STARTTLS, with a certificate from a
/// private authority: `?tls=required` refuses it (the error in the log,
/// the email kept) until the desk trusts that authority
/// (`--smtp-ca-file`); then it goes, encrypted.
async fn tls_to_a_relay_with_a_private_ca(backend: Backend) {
    let (store, _dir) = testing::migrated_store(
        backend,
        "mail_notification",
        &[("notification", notification::MIGRATIONS)],
    )
    .await;
    let certs = testing::TempDir::new();
    let (ca, cert, key) = private_ca(certs.path());
    let sink = SmtpSink::start_tls(&cert, &key);
    let url = format!("smtp://localhost:{}?tls=required", sink.port);
    let tenant = Uuid::now_v7();
    let id = Uuid::now_v7();
    let email = Email {
        id,
        tenant,
        kind: EmailKind::Logged,
        language: "en".into(),
        mail: Outgoing {
            to: MailboxV1 {
                email: "c@example.com".into(),
                name: None,
            },
            from: MailboxV1 {
                email: "desk@desk.example".into(),
                name: None,
            },
            reply_to: None,
            subject: "[INC-000001] over TLS".into(),
            text: "hello".into(),
            html: None,
            message_id: message::message_id(id, "desk@desk.example"),
            ticket_id: None,
        },
    };
    let mut tx = store.begin().await.expect("tx");
    outgoing::enqueue(&mut tx, &[email], runtime::store::now())
        .await
        .expect("queued");
    tx.commit().await.expect("commit");

    // Not trusted: refused, kept, the reason recorded.
    let untrusting = Sender::new(store.clone(), Some(url.clone()), None);
    assert_eq!(untrusting.round().await.expect("round"), 1);
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, last_error FROM emails")
            .fetch_one(store.pool())
            .await
            .expect("row");
    assert_eq!(status, "queued");
    let error = error.unwrap_or_default();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert!(sink.messages().is_empty());

    // Trusted: delivered over TLS.
    sqlx::query("UPDATE emails SET next_attempt_at = 0")
        .execute(store.pool())
        .await
        .expect("due");
    let trusting = Sender::new(store.clone(), Some(url), Some(ca));
    assert_eq!(trusting.round().await.expect("round"), 1);
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let status: String = sqlx::query_scalar("SELECT status FROM emails")
        .fetch_one(store.pool())
        .await
        .expect("row");
    assert_eq!(status, "sent");
}

runtime::on_both_stores!(
    two_senders_deliver_each_email_once,
    a_failure_to_record_is_tried_again_not_delivered_again,
    a_delivery_longer_than_its_lease_is_not_taken_over,
    tls_to_a_relay_with_a_private_ca
);
