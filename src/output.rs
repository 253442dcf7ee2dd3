//! Writing query results: a table for people, CSV/JSON/NDJSON/Parquet/Arrow
//! for notebooks (pandas, Polars, DuckDB read each as it is).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};

/// An output format (`--format` of `fleetops sql` and `run`: the lower-case
/// variant names). The CLI's help lists the names only, hence `help = None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// A pretty-printed table.
    #[cfg_attr(feature = "cli", value(help = None::<&str>))]
    Table,
    /// CSV with a header; struct columns are flattened to `parent.child`.
    #[cfg_attr(feature = "cli", value(help = None::<&str>))]
    Csv,
    /// One JSON array of row objects, NULLs as explicit `null`.
    #[cfg_attr(feature = "cli", value(help = None::<&str>))]
    Json,
    /// One JSON object per line, NULLs as explicit `null`.
    #[cfg_attr(feature = "cli", value(help = None::<&str>))]
    Ndjson,
    /// A Parquet file (zstd).
    #[cfg_attr(feature = "cli", value(help = None::<&str>))]
    Parquet,
    /// An Arrow IPC file.
    #[cfg_attr(feature = "cli", value(help = None::<&str>))]
    Arrow,
}

/// Casts view string/binary types to their plain forms, recursively, so every
/// reader (older pyarrow, DuckDB, CSV) takes the file as it is.
pub fn plain_types(batch: &RecordBatch) -> Result<RecordBatch> {
    fn plain(dt: &DataType) -> DataType {
        match dt {
            DataType::Utf8View => DataType::Utf8,
            DataType::BinaryView => DataType::Binary,
            DataType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|f| Arc::new(f.as_ref().clone().with_data_type(plain(f.data_type()))))
                    .collect(),
            ),
            DataType::List(f) => DataType::List(Arc::new(
                f.as_ref().clone().with_data_type(plain(f.data_type())),
            )),
            DataType::LargeList(f) => DataType::LargeList(Arc::new(
                f.as_ref().clone().with_data_type(plain(f.data_type())),
            )),
            other => other.clone(),
        }
    }
    retype(batch, plain)
}

/// Flattens struct columns into `parent.child` columns (for CSV).
pub fn flatten_structs(batch: &RecordBatch) -> Result<RecordBatch> {
    fn walk(name: &str, field: &Field, col: &ArrayRef, out: &mut Vec<(Field, ArrayRef)>) {
        match col.as_struct_opt() {
            Some(s) => {
                let DataType::Struct(children) = field.data_type() else {
                    unreachable!("a struct array has a struct type")
                };
                for (f, c) in children.iter().zip(s.columns()) {
                    // A NULL parent makes its children NULL.
                    let c = match s.nulls() {
                        Some(n) if n.null_count() > 0 => {
                            let mask = arrow::array::BooleanArray::new(n.inner().clone(), None);
                            arrow::compute::nullif(
                                c,
                                &arrow::compute::not(&mask).expect("same length"),
                            )
                            .expect("same length")
                        }
                        _ => c.clone(),
                    };
                    walk(&format!("{name}.{}", f.name()), f, &c, out);
                }
            }
            None => out.push((
                Field::new(name, field.data_type().clone(), true),
                col.clone(),
            )),
        }
    }
    let mut out = Vec::new();
    let schema = batch.schema();
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        walk(f.name(), f, c, &mut out);
    }
    let (fields, cols): (Vec<Field>, Vec<ArrayRef>) = out.into_iter().unzip();
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        cols,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

/// The text form of every timestamp in CSV and JSON: ISO 8601 in UTC with a
/// `Z`, with 0, 3, 6 or 9 fraction digits as the value needs.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// Moves every timestamp with a time zone to `UTC` (the instant is kept;
/// only the zone it is shown in changes), so CSV and JSON always write `Z`.
pub fn utc_timestamps(batch: &RecordBatch) -> Result<RecordBatch> {
    fn utc(dt: &DataType) -> DataType {
        match dt {
            DataType::Timestamp(unit, Some(_)) => {
                DataType::Timestamp(*unit, Some(crate::schema::UTC.into()))
            }
            DataType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|f| Arc::new(f.as_ref().clone().with_data_type(utc(f.data_type()))))
                    .collect(),
            ),
            DataType::List(f) => DataType::List(Arc::new(
                f.as_ref().clone().with_data_type(utc(f.data_type())),
            )),
            DataType::LargeList(f) => DataType::LargeList(Arc::new(
                f.as_ref().clone().with_data_type(utc(f.data_type())),
            )),
            other => other.clone(),
        }
    }
    retype(batch, utc)
}

/// Fails on a date or time no format can show (a cast far outside years
/// 1–9999, say): the JSON writer and the table would otherwise print an
/// `ERROR: …` text in its place and carry on.
pub fn check_printable(batch: &RecordBatch) -> Result<()> {
    fn check(name: &str, col: &dyn Array) -> Result<()> {
        match col.data_type() {
            DataType::Struct(fields) => {
                let s = col.as_struct();
                for (f, c) in fields.iter().zip(s.columns()) {
                    check(&format!("{name}.{}", f.name()), c.as_ref())?;
                }
            }
            DataType::List(_) => check(name, col.as_list::<i32>().values().as_ref())?,
            DataType::LargeList(_) => check(name, col.as_list::<i64>().values().as_ref())?,
            DataType::Timestamp(unit, _) if timestamps_in_range(col, *unit) => {}
            dt if dt.is_temporal() => {
                let options =
                    arrow::util::display::FormatOptions::default().with_display_error(false);
                let f = arrow::util::display::ArrayFormatter::try_new(col, &options)?;
                let mut sink = String::new();
                for i in 0..col.len() {
                    sink.clear();
                    if f.value(i).write(&mut sink).is_err() {
                        return Err(Error::BadArgument(format!(
                            "column {name}, row {}: a {dt} value no format can show (outside years 1-9999?); \
                             filter it out or cast it to a number",
                            i + 1
                        )));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        check(field.name(), col.as_ref())?;
    }
    Ok(())
}

/// True when every timestamp of `col` lies in years 1–9999, which every
/// format shows: the common case, decided by the column's min and max
/// instead of formatting each value twice.
fn timestamps_in_range(col: &dyn Array, unit: arrow::datatypes::TimeUnit) -> bool {
    use arrow::datatypes::TimeUnit;
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds.
    const LO: i64 = -62_135_596_800;
    const HI: i64 = 253_402_300_799;
    let Ok(values) = arrow::compute::cast(col, &DataType::Int64) else {
        return false;
    };
    let values = values.as_primitive::<arrow::datatypes::Int64Type>();
    let (Some(lo), Some(hi)) = (arrow::compute::min(values), arrow::compute::max(values)) else {
        return true; // no values, or only NULLs
    };
    let per_second = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    lo.div_euclid(per_second) >= LO && hi.div_euclid(per_second) <= HI
}

/// Control characters in a table cell, shown escaped (`\n`, `\u{1b}`), so
/// text from an export cannot move the cursor or recolour the terminal.
fn escape_controls(batch: &RecordBatch) -> Result<RecordBatch> {
    fn walk(col: &ArrayRef) -> ArrayRef {
        match col.data_type() {
            DataType::Utf8 => {
                let s = col.as_string::<i32>();
                if !s.iter().flatten().any(|v| v.chars().any(char::is_control)) {
                    return col.clone();
                }
                let escaped: arrow::array::StringArray = s
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            v.chars()
                                .map(|c| {
                                    if c.is_control() {
                                        c.escape_default().to_string()
                                    } else {
                                        c.to_string()
                                    }
                                })
                                .collect::<String>()
                        })
                    })
                    .collect();
                Arc::new(escaped)
            }
            DataType::Struct(fields) => {
                let s = col.as_struct();
                let cols = s.columns().iter().map(walk).collect();
                Arc::new(arrow::array::StructArray::new(
                    fields.clone(),
                    cols,
                    s.nulls().cloned(),
                ))
            }
            _ => col.clone(),
        }
    }
    Ok(RecordBatch::try_new(
        batch.schema(),
        batch.columns().iter().map(walk).collect(),
    )?)
}

/// Casts each column of `batch` to the type `map` gives it, when that differs.
fn retype(batch: &RecordBatch, map: impl Fn(&DataType) -> DataType) -> Result<RecordBatch> {
    let schema = batch.schema();
    if schema
        .fields()
        .iter()
        .all(|f| map(f.data_type()) == *f.data_type())
    {
        return Ok(batch.clone());
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(map(f.data_type())))
        .collect();
    let cols = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                arrow::compute::cast(c, f.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        cols,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

/// True for the types arrow-csv cannot write (after structs are flattened).
fn csv_needs_json(dt: &DataType) -> bool {
    match dt {
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::FixedSizeList(_, _)
        | DataType::Map(_, _)
        | DataType::Struct(_)
        | DataType::Union(_, _)
        | DataType::RunEndEncoded(_, _) => true,
        DataType::Dictionary(_, v) => csv_needs_json(v),
        _ => false,
    }
}

/// Encodes each value of `col` as JSON text (NULL stays NULL).
fn json_text(field: &Field, col: &ArrayRef) -> Result<ArrayRef> {
    let field = Arc::new(field.clone());
    let options = arrow::json::writer::EncoderOptions::default()
        .with_explicit_nulls(true)
        .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string());
    let mut encoder = arrow::json::writer::make_encoder(&field, col.as_ref(), &options)?;
    let mut builder = arrow::array::StringBuilder::new();
    let mut buf = Vec::new();
    for i in 0..col.len() {
        if col.is_null(i) || encoder.is_null(i) {
            builder.append_null();
        } else {
            buf.clear();
            encoder.encode(i, &mut buf);
            builder.append_value(String::from_utf8_lossy(&buf));
        }
    }
    Ok(Arc::new(builder.finish()))
}

/// What a CSV file holds of `batch`: structs flattened to `parent.child`
/// columns, lists and maps as JSON text, timestamps in UTC.
pub fn csv_ready(batch: &RecordBatch) -> Result<RecordBatch> {
    let flat = flatten_structs(&utc_timestamps(batch)?)?;
    let schema = flat.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| csv_needs_json(f.data_type()))
    {
        return Ok(flat);
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut cols = Vec::with_capacity(schema.fields().len());
    for (f, c) in schema.fields().iter().zip(flat.columns()) {
        if csv_needs_json(f.data_type()) {
            fields.push(Field::new(f.name(), DataType::Utf8, true));
            cols.push(json_text(f, c)?);
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        cols,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(flat.num_rows())),
    )?)
}

fn io_err(e: std::io::Error) -> Error {
    Error::io("<output>", e)
}

/// Writes `batches` (all of `schema`) to `out` in `format`.
///
/// - `Table`: NULL is shown as `NULL`; no rows still shows the header.
/// - `Csv`: a header row; struct columns flattened to `parent.child`
///   (`error.code`), lists and maps as JSON text, NULL as an empty field.
/// - `Json`: one array of row objects (`[]` for no rows), NULL as `null`.
/// - `Ndjson`: one object per line, NULL as `null`.
/// - `Parquet` (zstd) and `Arrow` (IPC file): the types as they are, strings
///   as plain Utf8.
///
/// CSV and JSON write timestamps as ISO 8601 in UTC with a `Z` (a zone-less
/// timestamp as it is, without one).
pub fn write_batches(
    batches: &[RecordBatch],
    schema: &SchemaRef,
    format: OutputFormat,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let batches = batches
        .iter()
        .map(plain_types)
        .collect::<Result<Vec<_>>>()?;
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => plain_types(&RecordBatch::new_empty(schema.clone()))?.schema(),
    };
    match format {
        OutputFormat::Table => {
            for b in &batches {
                check_printable(b)?;
            }
            let batches = batches
                .iter()
                .map(escape_controls)
                .collect::<Result<Vec<_>>>()?;
            let options = arrow::util::display::FormatOptions::default().with_null("NULL");
            let table = if batches.iter().all(|b| b.num_rows() == 0) {
                arrow::util::pretty::pretty_format_batches_with_options(
                    &[RecordBatch::new_empty(schema)],
                    &options,
                )?
            } else {
                arrow::util::pretty::pretty_format_batches_with_options(&batches, &options)?
            };
            writeln!(out, "{table}").map_err(io_err)?;
        }
        OutputFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string())
                .build(out);
            if batches.is_empty() {
                w.write(&csv_ready(&RecordBatch::new_empty(schema))?)?;
            }
            for b in &batches {
                w.write(&csv_ready(b)?)?;
            }
        }
        OutputFormat::Json => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string())
                .build::<_, arrow::json::writer::JsonArray>(out);
            for b in &batches {
                check_printable(b)?;
                w.write(&utc_timestamps(b)?)?;
            }
            // Writes `[]` when there were no rows.
            w.finish()?;
            w.into_inner().write_all(b"\n").map_err(io_err)?;
        }
        OutputFormat::Ndjson => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string())
                .build::<_, arrow::json::writer::LineDelimited>(out);
            for b in &batches {
                check_printable(b)?;
                w.write(&utc_timestamps(b)?)?;
            }
            w.finish()?;
        }
        OutputFormat::Parquet => {
            let mut w = parquet::arrow::ArrowWriter::try_new(
                out,
                schema,
                Some(crate::ingest::dataset::writer_properties()),
            )?;
            for b in &batches {
                w.write(b)?;
            }
            w.close()?;
        }
        OutputFormat::Arrow => {
            let mut w = arrow::ipc::writer::FileWriter::try_new(out, &schema)?;
            for b in &batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}

/// Writes to `path` atomically (a temporary file beside it, then a rename),
/// or to stdout when `path` is `None`.
pub fn write_output(
    path: Option<&Path>,
    f: impl FnOnce(&mut (dyn Write + Send)) -> Result<()>,
) -> Result<()> {
    match path {
        None => {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
            f(&mut w)?;
            w.flush().map_err(|e| Error::io("<stdout>", e))
        }
        Some(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("output");
            let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
            let result = (|| {
                let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
                let mut w = std::io::BufWriter::new(file);
                f(&mut w)?;
                let file = w
                    .into_inner()
                    .map_err(|e| Error::io(&tmp, e.into_error()))?;
                file.sync_all().map_err(|e| Error::io(&tmp, e))?;
                std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        }
    }
}
