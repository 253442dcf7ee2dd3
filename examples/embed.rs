//! fleetops inside your own DataFusion session: one call registers the SQL
//! functions, one call registers the `operations` table (from a dataset
//! written by `fleetops ingest`, or from raw export files ingested in memory).
//!
//! cargo run --example embed -- sample-data

use datafusion::prelude::SessionContext;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    let data = if data.is_empty() {
        vec!["sample-data".into()]
    } else {
        data
    };

    let ctx = SessionContext::new();
    fleetops::functions::register_all(&ctx)?;
    fleetops::session::register_data(&ctx, &data, &fleetops::ingest::Options::default())?;

    ctx.sql(
        "SELECT operation_type,
                count(*) AS operations,
                failure_rate(status) AS failure_rate,
                op_percentile(op_duration_seconds(started_date_time, completed_date_time), 0.95) AS p95_s
         FROM operations
         GROUP BY operation_type
         ORDER BY failure_rate DESC NULLS LAST",
    )
    .await?
    .show()
    .await?;

    // The table function gives the same per-type figures and more.
    ctx.sql("SELECT * FROM operation_type_stats()")
        .await?
        .show()
        .await?;
    Ok(())
}
