//! The mail queue with several senders on one store (replicas): every
//! email is delivered once, to a real SMTP server, on both databases.

use std::collections::HashSet;
use std::sync::Arc;
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

async fn two_senders_deliver_each_email_once(backend: Backend) {
    let (store, _dir) = testing::migrated_store(
        backend,
        "mail_notification",
        &[("notification", notification::MIGRATIONS)],
    )
    .await;
    let sink = SmtpSink::start();
    let tenant = Uuid::now_v7();
    let emails: Vec<Email> = (0..EMAILS)
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

    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let sender = Arc::new(Sender::new(store.clone(), Some(sink.url())));
        tasks.push(tokio::spawn(
            sender.run(Arc::new(Notify::new()), stop.clone()),
        ));
    }
    let got = sink.wait_for(EMAILS, Duration::from_secs(60)).await;
    // Time for a second delivery of any of them to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.cancel();
    for t in tasks {
        t.await.expect("sender stops");
    }
    let got_after = sink.messages();
    assert_eq!(got.len(), EMAILS);
    assert_eq!(got_after.len(), EMAILS, "each delivered once");
    let ids: HashSet<String> = got_after
        .iter()
        .filter_map(|raw| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .and_then(|m| m.message_id().map(str::to_owned))
        })
        .collect();
    assert_eq!(ids.len(), EMAILS, "every email, none twice");
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM emails WHERE status = 'sent'")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(sent, EMAILS as i64);
}

runtime::on_both_stores!(two_senders_deliver_each_email_once);
