//! `servicedesk tenant create`.

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
