//! `servicedesk tenant create` and `servicedesk directory announce`.

use anyhow::Context;

use crate::cli::TenantArgs;
use crate::serve::edge_store;

pub async fn create(args: TenantArgs) -> anyhow::Result<()> {
    let name = args.name.trim();
    anyhow::ensure!(!name.is_empty(), "the tenant needs a name");
    let store = edge_store(&args.store).await?;
    edge::migrate(&store)
        .await
        .context("migrating the edge database")?;
    let (tenant_id, admin) = edge::auth::create_tenant(&store, name)
        .await
        .context("creating the tenant")?;
    let out = serde_json::json!({
        "tenant_id": tenant_id,
        "name": name,
        "token": admin.token,
        "token_id": admin.id,
    });
    println!("{out}");
    Ok(())
}

/// Announces the whole directory again (into the edge's outbox; a running
/// edge publishes it): for a notification service that started after the
/// edge first announced it, when nothing was listening yet.
pub async fn announce_directory(args: crate::cli::StoreArgs) -> anyhow::Result<()> {
    let store = edge_store(&args).await?;
    edge::migrate(&store)
        .await
        .context("migrating the edge database")?;
    let n = edge::directory::announce_again(&store)
        .await
        .context("announcing the directory")?;
    println!("{}", serde_json::json!({ "announced": n }));
    Ok(())
}
