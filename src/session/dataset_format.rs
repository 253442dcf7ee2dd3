//! Parquet as a dataset's `operations` table reads it: DataFusion's own
//! format, except that a file's statistics leave out the struct columns.
//!
//! Every query plans with each file's statistics (the footers are read once
//! per session). DataFusion computes them for every column, and for the three
//! struct columns (`error`, `created_by`, `last_action_by`) that meant
//! building and comparing nested values for each file: about 12 ms of the
//! 18 a query over 90 day files spent on statistics. Nothing fleetops plans
//! uses them (pruning by creation time, totals from statistics and the
//! stuck-operations shortcut read only timestamps), and a query that could
//! use them, `count(error)`, scans instead, with the same answer.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{ColumnStatistics, Result, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::{FileFormat, FileMeta};
use datafusion::datasource::physical_plan::{FileScanConfig, FileSinkConfig, FileSource};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::object_store::{ObjectMeta, ObjectStore};
use datafusion::physical_expr::LexRequirement;
use datafusion::physical_plan::ExecutionPlan;

/// [`ParquetFormat`] with statistics of the non-struct columns only.
#[derive(Debug)]
pub struct DatasetFormat {
    inner: ParquetFormat,
}

impl DatasetFormat {
    /// Wraps `inner` (made with the session's Parquet options).
    pub fn new(inner: ParquetFormat) -> Self {
        DatasetFormat { inner }
    }
}

#[async_trait]
impl FileFormat for DatasetFormat {
    fn get_ext(&self) -> String {
        self.inner.get_ext()
    }

    fn get_ext_with_compression(&self, c: &FileCompressionType) -> Result<String> {
        self.inner.get_ext_with_compression(c)
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        self.inner.compression_type()
    }

    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        self.inner.infer_schema(state, store, objects).await
    }

    async fn infer_stats(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        Ok(self
            .infer_stats_and_ordering(state, store, table_schema, object)
            .await?
            .statistics)
    }

    async fn infer_stats_and_ordering(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<FileMeta> {
        let flat: Vec<usize> = table_schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !matches!(f.data_type(), DataType::Struct(_)))
            .map(|(i, _)| i)
            .collect();
        if flat.len() == table_schema.fields().len() {
            return self
                .inner
                .infer_stats_and_ordering(state, store, table_schema, object)
                .await;
        }
        let projected = Arc::new(table_schema.project(&flat)?);
        let meta = self
            .inner
            .infer_stats_and_ordering(state, store, projected, object)
            .await?;
        if meta.ordering.is_some() {
            // An ordering names columns of the projection: take DataFusion's
            // whole answer instead (fleetops' files declare none).
            return self
                .inner
                .infer_stats_and_ordering(state, store, table_schema, object)
                .await;
        }
        let mut columns = vec![ColumnStatistics::new_unknown(); table_schema.fields().len()];
        for (stats, &i) in meta.statistics.column_statistics.into_iter().zip(&flat) {
            columns[i] = stats;
        }
        Ok(FileMeta::new(Statistics {
            num_rows: meta.statistics.num_rows,
            total_byte_size: meta.statistics.total_byte_size,
            column_statistics: columns,
        }))
    }

    async fn create_physical_plan(
        &self,
        state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.create_physical_plan(state, conf).await
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        state: &dyn Session,
        conf: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner
            .create_writer_physical_plan(input, state, conf, order_requirements)
            .await
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        self.inner.file_source(table_schema)
    }
}
