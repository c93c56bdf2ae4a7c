//! `servicedesk bench`: filled in below.

#[derive(clap::Args)]
pub struct BenchArgs {}

pub async fn run(_: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("the benchmark is not written yet")
}
