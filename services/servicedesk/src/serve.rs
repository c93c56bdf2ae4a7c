//! `servicedesk serve`: which parts run, on which transport and store.
//!
//! - Embedded (no `--amqp-url`, no `--database-url`): every service in this
//!   process on the in-process bus, one SQLite file per service in
//!   `--data-dir`.
//! - Distributed: one `--target` per process against RabbitMQ and that
//!   target's own PostgreSQL database; run as many replicas as you like.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use runtime::bus::Bus;
use runtime::bus::amqp::AmqpBus;
use runtime::bus::embedded::EmbeddedBus;
use runtime::store::Store;
use runtime::{shutdown, telemetry};
use tokio_util::sync::CancellationToken;

use crate::cli::{LogFormat, ServeArgs, StoreArgs, Target};

/// The edge's store: PostgreSQL if a URL is given, else `edge.sqlite`.
pub async fn edge_store(args: &StoreArgs) -> anyhow::Result<Store> {
    open_store(args, "edge").await
}

async fn open_store(args: &StoreArgs, service: &str) -> anyhow::Result<Store> {
    match &args.database_url {
        Some(url) => Store::connect(url)
            .await
            .with_context(|| format!("connecting to the {service} database")),
        None => {
            std::fs::create_dir_all(&args.data_dir).with_context(|| {
                format!("creating the data directory {}", args.data_dir.display())
            })?;
            let path = args.data_dir.join(format!("{service}.sqlite"));
            Store::open_sqlite(&path)
                .await
                .with_context(|| format!("opening {}", path.display()))
        }
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let format = match args.log_format {
        LogFormat::Json => telemetry::LogFormat::Json,
        LogFormat::Text => telemetry::LogFormat::Text,
    };
    let service = match args.target {
        Target::All => "servicedesk",
        Target::Edge => "servicedesk-edge",
        Target::Ticketing => "servicedesk-ticketing",
        Target::Escalation => "servicedesk-escalation",
        Target::Notification => "servicedesk-notification",
    };
    // Held to the end of `run`: dropping it flushes the spans.
    let _telemetry = telemetry::init(format, args.otlp_endpoint.as_deref(), service);
    // Prometheus recorder before anything records.
    runtime::metrics::handle();
    let stop = shutdown::on_signal();
    let distributed = args.amqp_url.is_some() || args.store.database_url.is_some();
    if !distributed {
        return embedded(args, stop).await;
    }
    let (Some(amqp), Some(_)) = (&args.amqp_url, &args.store.database_url) else {
        bail!(
            "distributed mode needs both --amqp-url and --database-url (this target's own database)"
        );
    };
    let connect = || async {
        let bus = AmqpBus::connect(amqp, &args.bus_prefix)
            .await
            .context("connecting to RabbitMQ")?;
        anyhow::Ok(Arc::new(bus) as Arc<dyn Bus>)
    };
    match args.target {
        Target::All => bail!(
            "distributed mode runs one target per process: pass --target edge, ticketing, escalation or notification"
        ),
        Target::Edge => {
            let store = edge_store(&args.store).await?;
            edge::migrate(&store)
                .await
                .context("migrating the edge database")?;
            serve_edge(&args, store, connect().await?, vec![], stop).await
        }
        Target::Escalation => {
            let store = open_store(&args.store, "escalation").await?;
            let bus = connect().await?;
            let services = CancellationToken::new();
            let escalation = escalation::Escalation::start(
                store.clone(),
                bus.clone(),
                args.now(),
                services.clone(),
            )
            .await
            .context("starting escalation")?;
            let drain = escalation.run_until_stopped();
            serve_service(&args, "escalation", store, bus, services, drain, stop).await
        }
        Target::Notification => {
            let store = open_store(&args.store, "notification").await?;
            let bus = connect().await?;
            let services = CancellationToken::new();
            let notification = notification::Notification::start(
                store.clone(),
                bus.clone(),
                args.mail()?,
                services.clone(),
            )
            .await
            .context("starting notification")?;
            let drain = notification.run_until_stopped();
            serve_service(&args, "notification", store, bus, services, drain, stop).await
        }
        Target::Ticketing => {
            let store = open_store(&args.store, "ticketing").await?;
            let bus = connect().await?;
            let services = CancellationToken::new();
            let ticketing =
                ticketing::Ticketing::start(store.clone(), bus.clone(), services.clone())
                    .await
                    .context("starting ticketing")?;
            let drain = ticketing.run_until_stopped();
            serve_service(&args, "ticketing", store, bus, services, drain, stop).await
        }
    }
}

/// Serves a service target's health and metrics until `stop`. On SIGTERM
/// it stops taking messages at once (`services`); in-flight ones finish and
/// are acked (`drain`), the rest stay queued for another replica.
async fn serve_service(
    args: &ServeArgs,
    name: &'static str,
    store: Store,
    bus: Arc<dyn Bus>,
    services: CancellationToken,
    drain: impl std::future::Future<Output = ()> + Send + 'static,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let readiness = edge::ops::Readiness {
        stores: vec![(name, store)],
        bus,
    };
    let listener = bind(args).await?;
    announce(&listener, name, None)?;
    let drained = tokio::spawn({
        let stop = stop.clone();
        async move {
            stop.cancelled().await;
            services.cancel();
            drain.await;
        }
    });
    edge::serve(listener, edge::ops::router(readiness), stop).await?;
    drained.await?;
    Ok(())
}

async fn embedded(args: ServeArgs, stop: CancellationToken) -> anyhow::Result<()> {
    if args.target != Target::All {
        bail!(
            "--target {:?} needs --amqp-url and --database-url; the embedded default runs --target all",
            args.target
        );
    }
    let bus = Arc::new(EmbeddedBus::new());
    let ticketing_store = open_store(&args.store, "ticketing").await?;
    let edge_store = edge_store(&args.store).await?;
    edge::migrate(&edge_store)
        .await
        .context("migrating the edge database")?;
    // Services stop after the HTTP server has drained, so requests in
    // flight still get their answers.
    let escalation_store = open_store(&args.store, "escalation").await?;
    let notification_store = open_store(&args.store, "notification").await?;
    let services = CancellationToken::new();
    let ticketing =
        ticketing::Ticketing::start(ticketing_store.clone(), bus.clone(), services.clone())
            .await
            .context("starting ticketing")?;
    let escalation = escalation::Escalation::start(
        escalation_store.clone(),
        bus.clone(),
        args.now(),
        services.clone(),
    )
    .await
    .context("starting escalation")?;
    let notification = notification::Notification::start(
        notification_store.clone(),
        bus.clone(),
        args.mail()?,
        services.clone(),
    )
    .await
    .context("starting notification")?;
    serve_edge(
        &args,
        edge_store,
        bus,
        vec![
            ("ticketing", ticketing_store),
            ("escalation", escalation_store),
            ("notification", notification_store),
        ],
        stop,
    )
    .await?;
    services.cancel();
    ticketing.run_until_stopped().await;
    escalation.run_until_stopped().await;
    notification.run_until_stopped().await;
    Ok(())
}

async fn serve_edge(
    args: &ServeArgs,
    store: Store,
    bus: Arc<dyn Bus>,
    more_stores: Vec<(&'static str, Store)>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut stores = vec![("edge", store.clone())];
    stores.extend(more_stores);
    let readiness = edge::ops::Readiness {
        stores,
        bus: bus.clone(),
    };
    // The edge's outbox (its directory's announcements), relayed until the
    // HTTP server has stopped.
    let relay = runtime::outbox::Relay::new(store.clone(), bus.clone());
    let relay_stop = CancellationToken::new();
    let relay_task = tokio::spawn(relay.clone().run(relay_stop.clone()));
    let state = edge::AppState {
        store,
        bus,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        tokens: Arc::default(),
        relay,
    };
    let listener = bind(args).await?;
    let hint = match &args.store.database_url {
        Some(_) => {
            "servicedesk tenant create <name> --database-url <this edge's database>".to_owned()
        }
        None => format!(
            "servicedesk tenant create <name> --data-dir {}",
            args.store.data_dir.display()
        ),
    };
    announce(&listener, "edge", Some(&hint))?;
    edge::serve(listener, edge::router(state, readiness), stop).await?;
    relay_stop.cancel();
    let _ = relay_task.await;
    Ok(())
}

async fn bind(args: &ServeArgs) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))
}

/// Tells the person (and the tests, which read stdout) where we listen.
fn announce(
    listener: &tokio::net::TcpListener,
    target: &str,
    hint: Option<&str>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    println!("servicedesk {target} listening on http://{addr}");
    if let Some(hint) = hint {
        println!("first admin token: {hint}");
        println!("then: curl -H 'Authorization: Bearer <token>' http://{addr}/api/v1/incidents");
    }
    Ok(())
}
