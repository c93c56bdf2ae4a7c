//! `servicedesk dead-letters`: work the bus's dead-letter queue by hand.
//! `list` shows what is there (id, age, queue, reason, type), `show` one
//! letter in full, `replay` sends letters back to the queue each came from
//! (after the fault that sent them there is fixed), `purge` deletes them.
//! Nothing is lost by looking: see `runtime::bus::amqp::Listed`.

use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use runtime::bus::amqp::{AmqpBus, Listed, Settle};

#[derive(Args, Clone)]
pub struct BusArgs {
    /// RabbitMQ, as the desk's targets reach it.
    #[arg(long, env = "SERVICEDESK_AMQP_URL")]
    pub amqp_url: String,
    /// The desk's bus prefix (`serve --bus-prefix`).
    #[arg(long, env = "SERVICEDESK_BUS_PREFIX", default_value = "servicedesk")]
    pub bus_prefix: String,
}

#[derive(Subcommand)]
pub enum DeadLettersCommand {
    /// List dead letters, oldest first: id, age, queue, reason and type.
    List {
        #[command(flatten)]
        bus: BusArgs,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One dead letter in full, as JSON: why, from where, since when, and
    /// the message itself.
    Show {
        #[command(flatten)]
        bus: BusArgs,
        /// Its message id, as `list` shows it.
        id: String,
    },
    /// Send dead letters back to the queue each came from, to be handled
    /// again (the services' inboxes make a message handled before harmless).
    Replay {
        #[command(flatten)]
        bus: BusArgs,
        #[command(flatten)]
        pick: Pick,
    },
    /// Delete dead letters for good.
    Purge {
        #[command(flatten)]
        bus: BusArgs,
        #[command(flatten)]
        pick: Pick,
    },
}

/// Which dead letters: by id, or all of them, narrowed by the filters.
#[derive(Args)]
pub struct Pick {
    /// Message ids, as `list` shows them.
    pub ids: Vec<String>,
    /// Every dead letter the filters let through.
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// Only those from this queue (without the prefix: `ticketing.commands`).
    #[arg(long)]
    pub queue: Option<String>,
    /// Only those dead for this reason (`expired`, `delivery_limit`, ...).
    #[arg(long)]
    pub reason: Option<String>,
    /// Only those dead for longer than this many seconds.
    #[arg(long)]
    pub older_than: Option<u64>,
}

impl Pick {
    fn matches(&self, letter: &Listed, now: SystemTime) -> bool {
        (self.all || self.ids.contains(&letter.message_id))
            && self.queue.as_ref().is_none_or(|q| *q == letter.queue)
            && self.reason.as_ref().is_none_or(|r| *r == letter.reason)
            && self.older_than.is_none_or(|secs| {
                letter
                    .age(now)
                    .is_some_and(|age| age > Duration::from_secs(secs))
            })
    }
}

pub async fn run(command: DeadLettersCommand) -> anyhow::Result<()> {
    match command {
        DeadLettersCommand::List { bus, limit } => {
            let letters = connect(&bus).await?.list_dead_letters(limit).await?;
            let now = SystemTime::now();
            println!(
                "{:<38} {:>9}  {:<28} {:<24} TYPE",
                "MESSAGE ID", "AGE", "QUEUE", "REASON"
            );
            for l in &letters {
                println!(
                    "{:<38} {:>9}  {:<28} {:<24} {}",
                    l.message_id,
                    l.age(now).map_or_else(|| "?".to_owned(), age),
                    l.queue,
                    l.reason,
                    l.message_type.as_deref().unwrap_or("-"),
                );
            }
            eprintln!("{} dead letter(s) shown (at most {limit})", letters.len());
            Ok(())
        }
        DeadLettersCommand::Show { bus, id } => {
            let letters = connect(&bus).await?.list_dead_letters(usize::MAX).await?;
            let letter = letters
                .into_iter()
                .find(|l| l.message_id == id)
                .with_context(|| format!("no dead letter {id}"))?;
            let body = serde_json::from_slice(&letter.body).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&letter.body).into_owned())
            });
            let shown = serde_json::json!({
                "message_id": letter.message_id,
                "queue": letter.queue,
                "reason": letter.reason,
                "type": letter.message_type,
                "dead_since": letter.dead_since,
                "age_seconds": letter.age(SystemTime::now()).map(|a| a.as_secs()),
                "body": body,
            });
            println!("{shown:#}");
            Ok(())
        }
        DeadLettersCommand::Replay { bus, pick } => settle(&bus, &pick, Settle::Replay).await,
        DeadLettersCommand::Purge { bus, pick } => settle(&bus, &pick, Settle::Purge).await,
    }
}

async fn connect(bus: &BusArgs) -> anyhow::Result<AmqpBus> {
    AmqpBus::connect(&bus.amqp_url, &bus.bus_prefix)
        .await
        .context("connecting to RabbitMQ")
}

async fn settle(bus: &BusArgs, pick: &Pick, how: Settle) -> anyhow::Result<()> {
    if pick.ids.is_empty() && !pick.all {
        bail!(
            "name the dead letters by id, or give --all (narrowed by --queue, --reason, --older-than)"
        );
    }
    let now = SystemTime::now();
    let n = connect(bus)
        .await?
        .settle_dead_letters(|l| pick.matches(l, now), how)
        .await?;
    let done = match how {
        Settle::Replay => "replayed",
        Settle::Purge => "purged",
    };
    println!("{done} {n} dead letter(s)");
    if !pick.ids.is_empty() && n < pick.ids.len() {
        bail!(
            "{} of the {} named were not found",
            pick.ids.len() - n,
            pick.ids.len()
        );
    }
    Ok(())
}

/// `3d4h`, `2h5m`, `4m10s`, `12s`.
fn age(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m{seconds}s"),
        (0, _, _) => format!("{hours}h{minutes}m"),
        _ => format!("{days}d{hours}h"),
    }
}
