//! `servicedesk mailgate`: how email reaches the desk.
//!
//! - **Pipe** (the default): one RFC 5322 message on standard input, the
//!   way an MTA's pipe transport delivers it (Postfix `pipe`, Exim
//!   `pipe`, a `.forward` or `/etc/aliases` entry). The exit code is what
//!   the MTA acts on (sysexits): 0 taken, 65 the message is refused for
//!   good (not a message, too large), 75 try again later: the desk is
//!   unreachable or busy, or this gateway is misconfigured (a wrong token),
//!   which is fixed without losing the mail the MTA holds meanwhile.
//! - **SMTP listener** (`--smtp-listen 127.0.0.1:2525`): a small SMTP
//!   server (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for
//!   an MTA to relay the desk's domain to, or for a test to send to. Each
//!   message is handed over the same way, and the answer to DATA says
//!   what the desk did: 250 taken, 451 try again, 554 refused. It has no
//!   authentication and no TLS: keep it on loopback (or a private network)
//!   behind the MTA that faces the world. DATA ends only at CRLF.CRLF (a
//!   bare LF before the dot does not end it: no SMTP smuggling), lines are
//!   bounded, and an idle session is closed.
//!
//! Either way the message goes to the edge's `POST /api/v1/mail/inbound`
//! with an admin or integration token; the notification service threads
//! it and the edge keeps its attachments.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use notification::templates::one_line;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Args)]
pub struct MailgateArgs {
    /// The desk's edge, e.g. http://127.0.0.1:8080
    #[arg(long, env = "SERVICEDESK_MAILGATE_URL")]
    pub url: String,
    /// An admin or integration token of the tenant the mail is for.
    #[arg(long, env = "SERVICEDESK_MAILGATE_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Listen for SMTP here instead of reading one message from stdin.
    #[arg(long, env = "SERVICEDESK_MAILGATE_SMTP_LISTEN")]
    pub smtp_listen: Option<SocketAddr>,
}

/// The largest message taken (the edge's limit).
const MAX_MESSAGE: usize = 25 * 1024 * 1024;
/// The longest line read (RFC 5321 allows 1000; be lenient, but bounded).
const MAX_LINE: u64 = 64 * 1024;
/// How long a session may say nothing.
const IDLE: Duration = Duration::from_secs(300);

/// What the desk said of one message.
#[derive(Debug)]
pub enum Handed {
    Taken(serde_json::Value),
    /// Try again later: the desk is unreachable, busy or failing.
    Later(String),
    /// Never: the message (or the token) is refused.
    Refused {
        status: u16,
        why: String,
    },
}

/// Hands `raw` to the desk's edge.
pub async fn hand(client: &reqwest::Client, args: &MailgateArgs, raw: Vec<u8>) -> Handed {
    let url = format!("{}/api/v1/mail/inbound", args.url.trim_end_matches('/'));
    let sent = client
        .post(url)
        .bearer_auth(&args.token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return Handed::Later(format!("the desk is unreachable: {e}")),
    };
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let why = body["message"].as_str().unwrap_or("").to_owned();
    match status {
        200..=299 => Handed::Taken(body),
        // Conflict is how the desk says "not now" (a service behind the
        // edge did not answer); 408/429 and 5xx pass too.
        408 | 409 | 429 | 500..=599 => Handed::Later(format!("{status}: {why}")),
        _ => Handed::Refused { status, why },
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

/// Runs the gateway; the process's exit code (sysexits).
pub async fn run(args: MailgateArgs) -> anyhow::Result<u8> {
    let client = client()?;
    if let Some(addr) = args.smtp_listen {
        listen(addr, args, client).await?;
        return Ok(0);
    }
    let raw = tokio::task::spawn_blocking(|| {
        use std::io::Read;
        let mut raw = Vec::new();
        std::io::stdin()
            .take(MAX_MESSAGE as u64 + 1)
            .read_to_end(&mut raw)
            .map(|_| raw)
    })
    .await
    .context("reading the message from standard input")?
    .context("reading the message from standard input")?;
    if raw.len() > MAX_MESSAGE {
        eprintln!("servicedesk mailgate: the message is larger than {MAX_MESSAGE} bytes");
        return Ok(65);
    }
    Ok(match hand(&client, &args, raw).await {
        Handed::Taken(receipt) => {
            println!("{receipt}");
            0
        }
        Handed::Later(why) => {
            eprintln!("servicedesk mailgate: try again later: {why}");
            75
        }
        // A wrong or revoked token is this gateway's configuration: the
        // MTA keeps the mail and tries again once it is fixed.
        Handed::Refused { status, why } if matches!(status, 401 | 403) => {
            eprintln!(
                "servicedesk mailgate: the token is not allowed ({status}): {why}; try again once it is fixed"
            );
            75
        }
        Handed::Refused { status, why } => {
            eprintln!("servicedesk mailgate: refused ({status}): {why}");
            65
        }
    })
}

async fn listen(
    addr: SocketAddr,
    args: MailgateArgs,
    client: reqwest::Client,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening for SMTP on {addr}"))?;
    println!(
        "servicedesk mailgate listening for SMTP on {}",
        listener.local_addr()?
    );
    let args = std::sync::Arc::new(args);
    let stop = runtime::shutdown::on_signal(runtime::shutdown::DEFAULT_GRACE);
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            accepted = listener.accept() => accepted?,
        };
        let (args, client) = (args.clone(), client.clone());
        tokio::spawn(async move {
            if let Err(e) = session(stream, &args, &client).await {
                tracing::info!(%peer, error = %e, "SMTP session ended");
            }
        });
    }
}

/// One SMTP session.
async fn session(
    stream: TcpStream,
    args: &MailgateArgs,
    client: &reqwest::Client,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write
        .write_all(b"220 servicedesk mailgate ESMTP ready\r\n")
        .await?;
    let mut from: Option<String> = None;
    let mut recipients = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        if read_line(&mut read, &mut line).await? == 0 {
            return Ok(());
        }
        if line.len() > 2048 || !line.ends_with(b"\n") {
            write.write_all(b"500 5.5.2 line too long\r\n").await?;
            // The rest of that line is not a command either.
            while !line.ends_with(b"\n") {
                line.clear();
                if read_line(&mut read, &mut line).await? == 0 {
                    return Ok(());
                }
            }
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let command = text.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => {
                b"250-servicedesk mailgate\r\n250-8BITMIME\r\n250-SIZE 26214400\r\n250 SMTPUTF8\r\n"
            }
            "HELO" => b"250 servicedesk mailgate\r\n",
            "MAIL" => {
                from = Some(command.to_owned());
                recipients = 0;
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" if from.is_none() => b"503 5.5.1 MAIL first\r\n",
            "RCPT" if recipients >= 100 => b"452 4.5.3 too many recipients\r\n",
            "RCPT" => {
                recipients += 1;
                b"250 2.1.5 OK\r\n"
            }
            "DATA" if recipients == 0 => b"503 5.5.1 RCPT first\r\n",
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let message = data(&mut read).await?;
                from = None;
                recipients = 0;
                let answer = match message {
                    None => "552 5.3.4 message too big".to_owned(),
                    Some(raw) => match hand(client, args, raw).await {
                        Handed::Taken(r) => format!(
                            "250 2.0.0 {} {}",
                            r["outcome"].as_str().unwrap_or("taken"),
                            r["reference"].as_str().unwrap_or("")
                        ),
                        Handed::Later(why) => {
                            format!("451 4.3.0 try again later: {}", one_line(&why))
                        }
                        Handed::Refused { why, .. } => {
                            format!("554 5.6.0 refused: {}", one_line(&why))
                        }
                    },
                };
                write
                    .write_all(format!("{}\r\n", answer.trim_end()).as_bytes())
                    .await?;
                continue;
            }
            "RSET" => {
                from = None;
                recipients = 0;
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "VRFY" => b"252 2.1.5 cannot verify\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => b"500 5.5.1 unknown command\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// One line (to its LF), at most [`MAX_LINE`] bytes, within [`IDLE`].
async fn read_line<R: AsyncBufReadExt + Unpin>(
    read: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    use tokio::io::AsyncReadExt;
    match tokio::time::timeout(IDLE, read.take(MAX_LINE).read_until(b'\n', line)).await {
        Ok(read) => read,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// The message after DATA, dot-unstuffed, up to the `.` alone on a line
/// that follows a CRLF; `None` if it was larger than the desk takes (read
/// to its end all the same).
async fn data<R: AsyncBufReadExt + Unpin>(read: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut too_big = false;
    let mut line = Vec::new();
    // Whether what was read before ended in CRLF (the DATA command did),
    // and whether it ended a line at all (a line longer than MAX_LINE
    // comes in pieces; only a line's start is dot-stuffed).
    let (mut after_crlf, mut line_start) = (true, true);
    loop {
        line.clear();
        if read_line(read, &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if after_crlf && line == b".\r\n" {
            return Ok((!too_big).then_some(message));
        }
        let content = match line.strip_prefix(b".") {
            Some(rest) if line_start => rest,
            _ => &line,
        };
        after_crlf = line.ends_with(b"\r\n");
        line_start = line.ends_with(b"\n");
        if message.len() + content.len() > MAX_MESSAGE {
            too_big = true;
        } else {
            message.extend_from_slice(content);
        }
    }
}
