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
use runtime::service::{Died, Running};
use runtime::store::Store;
use runtime::{shutdown, telemetry};
use tokio_util::sync::CancellationToken;

use crate::cli::{LogFormat, ServeArgs, StoreArgs, Target};

/// How often the edge looks for expired commands past their retention.
const EXPIRED_SWEEP_EVERY: Duration = Duration::from_secs(60);

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
    let stop = shutdown::on_signal(Duration::from_secs(args.shutdown_grace));
    let distributed = args.amqp_url.is_some() || args.store.database_url.is_some();
    if !distributed {
        return embedded(args, stop).await;
    }
    let (Some(amqp), Some(_)) = (&args.amqp_url, &args.store.database_url) else {
        bail!(
            "distributed mode needs both --amqp-url and --database-url (this target's own database)"
        );
    };
    let connect_amqp = || async {
        AmqpBus::connect(amqp, &args.bus_prefix)
            .await
            .context("connecting to RabbitMQ")
    };
    let connect = || async { anyhow::Ok(Arc::new(connect_amqp().await?) as Arc<dyn Bus>) };
    match args.target {
        Target::All => bail!(
            "distributed mode runs one target per process: pass --target edge, ticketing, escalation or notification"
        ),
        Target::Edge => {
            let store = edge_store(&args.store).await?;
            let bus = connect_amqp().await?;
            // The edge sends the commands, so it keeps their dead letters
            // tidy: one that expired waiting for a taker is purged after
            // the retention.
            bus.keep_expired_for(
                Duration::from_secs(args.expired_retention),
                EXPIRED_SWEEP_EVERY,
                stop.clone(),
            );
            let edge = start_edge(&args, store, Arc::new(bus), &stop).await?;
            serve_edge(&args, edge, vec![], vec![], stop).await
        }
        Target::Escalation => {
            let store = open_store(&args.store, "escalation").await?;
            let bus = connect().await?;
            let escalation =
                escalation::Escalation::start(store.clone(), bus.clone(), args.now(), stop.clone())
                    .await
                    .context("starting escalation")?;
            serve_service(&args, "escalation", store, bus, escalation.running, stop).await
        }
        Target::Notification => {
            let store = open_store(&args.store, "notification").await?;
            let bus = connect().await?;
            let notification = notification::Notification::start(
                store.clone(),
                bus.clone(),
                args.mail()?,
                stop.clone(),
            )
            .await
            .context("starting notification")?;
            serve_service(
                &args,
                "notification",
                store,
                bus,
                notification.running,
                stop,
            )
            .await
        }
        Target::Ticketing => {
            let store = open_store(&args.store, "ticketing").await?;
            let bus = connect().await?;
            let ticketing = ticketing::Ticketing::start(store.clone(), bus.clone(), stop.clone())
                .await
                .context("starting ticketing")?;
            serve_service(&args, "ticketing", store, bus, ticketing.running, stop).await
        }
    }
}

/// Serves a service target's health and metrics until `stop` (SIGTERM) or
/// until a task of the service dies. Then it stops taking messages at once;
/// in-flight ones finish and are acked, the rest stay queued for another
/// replica. A task that died makes the process exit non-zero, so the
/// orchestrator restarts it.
async fn serve_service(
    args: &ServeArgs,
    name: &'static str,
    store: Store,
    bus: Arc<dyn Bus>,
    mut running: Running,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let readiness = edge::ops::Readiness::new(vec![(name, store)], bus, args.liveness_bound());
    let listener = bind(args).await?;
    announce(&listener, name, None)?;
    let http = tokio::spawn(edge::serve(
        listener,
        edge::ops::router(readiness),
        stop.clone(),
    ));
    let died = until_stopped(&stop, &mut [&mut running]).await;
    let stopped = running.stop().await;
    http.await??;
    outcome(died, vec![stopped])
}

/// Waits for the shutdown signal, or for a task of one of `services` to
/// die; then asks the whole process to stop, and says which died.
async fn until_stopped(stop: &CancellationToken, services: &mut [&mut Running]) -> Option<Died> {
    let died = futures_util::future::select_all(services.iter_mut().map(|s| Box::pin(s.died())));
    let died = tokio::select! {
        biased;
        () = stop.cancelled() => None,
        (died, _, _) = died => Some(died),
    };
    stop.cancel();
    died
}

/// The process's result: the task that died while it ran, else one that
/// failed while stopping.
fn outcome(died: Option<Died>, stopped: Vec<Result<(), Died>>) -> anyhow::Result<()> {
    if let Some(died) = died {
        bail!("stopped because {died}");
    }
    for s in stopped {
        s.context("while stopping")?;
    }
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
    let escalation_store = open_store(&args.store, "escalation").await?;
    let notification_store = open_store(&args.store, "notification").await?;
    // Services stop after the HTTP server has drained, so requests in
    // flight still get their answers: they run on a token of their own.
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
    let edge = start_edge(&args, edge_store, bus, &services).await?;
    serve_edge(
        &args,
        edge,
        vec![
            ("ticketing", ticketing_store),
            ("escalation", escalation_store),
            ("notification", notification_store),
        ],
        vec![ticketing.running, escalation.running, notification.running],
        stop,
    )
    .await
}

async fn start_edge(
    args: &ServeArgs,
    store: Store,
    bus: Arc<dyn Bus>,
    stop: &CancellationToken,
) -> anyhow::Result<edge::Edge> {
    let timeout = Duration::from_secs(args.request_timeout.max(1));
    edge::Edge::start(store, bus, timeout, args.limits(), stop)
        .await
        .context("migrating the edge database")
}

/// Serves the API until `stop` or until a task of the edge or of
/// `services` (the embedded desk's) dies; then the HTTP server finishes its
/// open requests, and the services and the edge's relay stop, in that
/// order.
async fn serve_edge(
    args: &ServeArgs,
    edge: edge::Edge,
    more_stores: Vec<(&'static str, Store)>,
    mut services: Vec<Running>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let edge::Edge { state, mut running } = edge;
    let mut stores = vec![("edge", state.store.clone())];
    stores.extend(more_stores);
    let readiness = edge::ops::Readiness::new(stores, state.bus.clone(), args.liveness_bound());
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
    let http = tokio::spawn(edge::serve(
        listener,
        edge::router(state, readiness),
        stop.clone(),
    ));
    let mut watched: Vec<&mut Running> = services.iter_mut().collect();
    watched.push(&mut running);
    let died = until_stopped(&stop, &mut watched).await;
    http.await??;
    // Every service stops taking work at once, then each finishes.
    for service in &services {
        service.halt();
    }
    let mut stopped = Vec::new();
    for service in services {
        stopped.push(service.stop().await);
    }
    stopped.push(running.stop().await);
    outcome(died, stopped)
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
