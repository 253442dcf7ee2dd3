//! Runs every `tests/slt/*.slt` file through `sqllogictest` against a fresh
//! DataFusion `SessionContext` on which `fleetops::functions::register_all`
//! was called, and fails listing every failing file.
//!
//! Result conventions (what the expected values in the `.slt` files mean):
//! - every value is printed with Arrow's display formatting;
//! - NULL is `NULL`, the empty string is `(empty)`;
//! - floats print as the shortest decimal that reads back as the same value
//!   (`9.55`, `0.1`, `1.0`, `1e-9`), so an expected float is an exact check;
//! - booleans are `true` / `false`; timestamps are ISO 8601
//!   (`2024-03-08T11:00:00Z` with a time zone);
//! - column types: `I` for integers, `R` for floats and decimals, `T` for
//!   everything else; they are checked (`query IRT` must match the result).
//!
//! Set `FLEETOPS_SLT=<part of a file name>` to run only the matching files.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};

/// One `.slt` file's database: a session with the fleetops functions.
struct FleetopsDb {
    ctx: SessionContext,
}

impl FleetopsDb {
    fn new() -> Result<Self, DataFusionError> {
        let ctx = SessionContext::new();
        fleetops::functions::register_all(&ctx)?;
        Ok(Self { ctx })
    }
}

#[async_trait]
impl AsyncDB for FleetopsDb {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let df = self.ctx.sql(sql).await?;
        let schema = df.schema().as_arrow().clone();
        let batches = df.collect().await?;
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        Ok(DBOutput::Rows {
            types,
            rows: format_rows(&batches)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "fleetops"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

fn column_type(data_type: &DataType) -> DefaultColumnType {
    match data_type {
        t if t.is_integer() => DefaultColumnType::Integer,
        t if t.is_floating() => DefaultColumnType::FloatingPoint,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => DefaultColumnType::FloatingPoint,
        DataType::Dictionary(_, value) => column_type(value),
        _ => DefaultColumnType::Text,
    }
}

fn format_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, DataFusionError> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| match f.value(row).to_string() {
                        s if s.is_empty() => "(empty)".to_owned(),
                        s => s,
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

fn slt_files() -> Vec<PathBuf> {
    let dir = crate::support::root().join("tests/slt");
    let filter = std::env::var("FLEETOPS_SLT").unwrap_or_default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| p.to_string_lossy().contains(&filter))
        .collect();
    files.sort();
    files
}

/// Runs every record of one file (a failing record does not stop the file),
/// returning the failures.
async fn run_file(file: &Path) -> Vec<String> {
    let records = match sqllogictest::parse_file::<DefaultColumnType>(file) {
        Ok(records) => records,
        Err(e) => return vec![format!("cannot parse: {e}")],
    };
    let mut runner = sqllogictest::Runner::new(|| async { FleetopsDb::new() });
    runner.with_column_validator(sqllogictest::strict_column_validator);
    let mut errors = Vec::new();
    for record in records {
        if let sqllogictest::Record::Halt { .. } = record {
            break;
        }
        if let Err(e) = runner.run_async(record).await {
            errors.push(e.display(false).to_string());
        }
    }
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_files_pass() {
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files found");
    let mut failures = Vec::new();
    for file in &files {
        let errors = run_file(file).await;
        if !errors.is_empty() {
            failures.push(format!("{}:\n{}", file.display(), errors.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} .slt files failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Every SQL example in the function docs runs; where an example line ends in
/// `-- result`, the one row it returns, joined by `, `, is that result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doc_examples_run() {
    let mut db = FleetopsDb::new().expect("session");
    db.run(
        "CREATE TABLE operations AS SELECT arrow_cast('op-1', 'Utf8') AS id, \
         arrow_cast('restart', 'Utf8') AS operation_type, arrow_cast('failed', 'Utf8') AS status, \
         arrow_cast('2024-03-08T11:00:00Z', 'Timestamp(Microsecond, Some(\"UTC\"))') AS created_date_time, \
         arrow_cast('2024-03-08T11:00:01Z', 'Timestamp(Microsecond, Some(\"UTC\"))') AS started_date_time, \
         arrow_cast('2024-03-08T11:00:03Z', 'Timestamp(Microsecond, Some(\"UTC\"))') AS completed_date_time",
    )
    .await
    .expect("operations table");

    let mut failures = Vec::new();
    for doc in fleetops::functions::function_docs() {
        for line in doc.example.lines() {
            let (sql, expected) = match line.split_once("-- ") {
                Some((sql, expected)) => (sql.trim(), Some(expected.trim())),
                None => (line.trim(), None),
            };
            match db.run(sql).await {
                Ok(DBOutput::Rows { rows, .. }) => {
                    if let Some(expected) = expected {
                        let actual: Vec<String> = rows.iter().map(|r| r.join(", ")).collect();
                        if actual != [expected] {
                            failures.push(format!(
                                "{}: {sql}\n  expected {expected}, got {actual:?}",
                                doc.name
                            ));
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("{}: {sql}\n  {e}", doc.name)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "doc examples failed:\n{}",
        failures.join("\n")
    );
}
