//! Named queries: SQL files with a header that gives a title, a description
//! and typed parameters.
//!
//! ```sql
//! -- title: Stuck operations
//! -- description: Operations still queued, scheduled or in progress long
//! --   after they were created.
//! -- param: as_of timestamp(end) = latest  The moment to judge from.
//! -- param: older_than duration = 24h  How long counts as stuck.
//! SELECT ... WHERE created_date_time <= $as_of - $older_than
//! ```
//!
//! A parameter line is `-- param: NAME TYPE [= DEFAULT] [DESCRIPTION]`; a
//! parameter without a default is required. A comment line that is not
//! `key: value` continues the line before it. The SQL names each parameter
//! as a placeholder `$NAME`; values are bound as typed literals through
//! DataFusion's `ParamValues`, never spliced into the SQL text.
//!
//! | type | value | bound as |
//! |---|---|---|
//! | `int` | `10`, `-3` | Int64 |
//! | `float` | `0.25`, `10%` | Float64 |
//! | `text` | anything | Utf8 |
//! | `bool` | `true`, `false` | Boolean |
//! | `timestamp`, `timestamp(end)` | a WHEN: date, timestamp, span back from the latest timestamp in the data (`30d`), `latest`, `earliest`; a date is the start of the day, or its end for `timestamp(end)` | Timestamp(Microsecond, "UTC") |
//! | `duration` | a span (`24h`, `90m`, `1d12h`) or seconds (`300`) | Interval(MonthDayNano) |
//!
//! The queries under `queries/` are built into the binary; a folder given
//! with `--queries DIR` (or `./queries` when it exists) adds queries and
//! overrides built-in ones of the same name.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use arrow::datatypes::IntervalMonthDayNano;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::prelude::SessionContext;

use super::window::{self, Bounds, End, When};
use crate::error::{Error, Result};
use crate::schema::UTC;

/// The built-in queries: `(name, SQL text with header)`.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "failure_rate_by_type",
        include_str!("../../queries/failure_rate_by_type.sql"),
    ),
    (
        "daily_failure_trend",
        include_str!("../../queries/daily_failure_trend.sql"),
    ),
    (
        "slowest_operations",
        include_str!("../../queries/slowest_operations.sql"),
    ),
    (
        "top_failing_devices",
        include_str!("../../queries/top_failing_devices.sql"),
    ),
    ("error_codes", include_str!("../../queries/error_codes.sql")),
    (
        "stuck_operations",
        include_str!("../../queries/stuck_operations.sql"),
    ),
    (
        "queue_latency",
        include_str!("../../queries/queue_latency.sql"),
    ),
    (
        "operator_activity",
        include_str!("../../queries/operator_activity.sql"),
    ),
    (
        "repeated_restarts",
        include_str!("../../queries/repeated_restarts.sql"),
    ),
    (
        "recent_failures",
        include_str!("../../queries/recent_failures.sql"),
    ),
];

/// The type of a query parameter, as declared in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `int`: a whole number, bound as Int64.
    Int,
    /// `float`: a number or a percentage (`10%` is 0.10), bound as Float64.
    Float,
    /// `text`: any text, bound as Utf8.
    Text,
    /// `bool`: `true` or `false`, bound as Boolean.
    Bool,
    /// A point in time; `End::End` makes a date stand for the end of its day.
    Timestamp(End),
    /// `duration`: a span (`24h`) or seconds, bound as an interval.
    Duration,
}

impl ParamType {
    fn parse(s: &str) -> Option<ParamType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "int" | "integer" | "bigint" => ParamType::Int,
            "float" | "double" | "number" => ParamType::Float,
            "text" | "string" => ParamType::Text,
            "bool" | "boolean" => ParamType::Bool,
            "timestamp" | "timestamp(start)" => ParamType::Timestamp(End::Start),
            "timestamp(end)" => ParamType::Timestamp(End::End),
            "duration" | "interval" => ParamType::Duration,
            _ => return None,
        })
    }

    /// The name as written in a header.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Text => "text",
            ParamType::Bool => "bool",
            ParamType::Timestamp(End::Start) => "timestamp",
            ParamType::Timestamp(End::End) => "timestamp(end)",
            ParamType::Duration => "duration",
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The name; the SQL refers to it as `$NAME`.
    pub name: String,
    /// The declared type, which decides how a value is read and bound.
    pub ty: ParamType,
    /// The default as written; `None` makes the parameter required.
    pub default: Option<String>,
    /// What the parameter means, for `fleetops queries`.
    pub description: String,
}

/// Where a query comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into the binary (from the repository's `queries/`).
    BuiltIn,
    /// Read from this file (`--queries DIR`, or `./queries`).
    File(PathBuf),
}

/// A named query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedQuery {
    /// The file name without `.sql`: what `fleetops run NAME` takes.
    pub name: String,
    /// The header's `title:`.
    pub title: String,
    /// The header's `description:` (continuation lines joined); empty when there is none.
    pub description: String,
    /// The declared parameters, in header order.
    pub params: Vec<Param>,
    /// The whole file, header included (DataFusion skips the comments).
    pub sql: String,
    /// Where the query was read from.
    pub origin: Origin,
}

impl NamedQuery {
    /// Parses a query file's text.
    pub fn parse(name: &str, text: &str, origin: Origin) -> Result<NamedQuery> {
        let bad = |msg: String| {
            let at = match &origin {
                Origin::BuiltIn => format!("built-in query '{name}'"),
                Origin::File(p) => p.display().to_string(),
            };
            Error::BadArgument(format!("{at}: {msg}"))
        };
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Some(comment) = line.strip_prefix("--") else {
                break;
            };
            let comment = comment.trim();
            let key = comment
                .split_once(':')
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
                .filter(|(k, _)| matches!(k.as_str(), "title" | "description" | "param" | "name"));
            match key {
                Some((k, v)) => fields.push((k, v.to_string())),
                None => match fields.last_mut() {
                    Some((_, v)) if !comment.is_empty() => {
                        v.push(' ');
                        v.push_str(comment);
                    }
                    _ => {}
                },
            }
        }
        let mut title = None;
        let mut description = String::new();
        let mut params: Vec<Param> = Vec::new();
        for (k, v) in fields {
            match k.as_str() {
                "title" => title = Some(v),
                "description" => {
                    if !description.is_empty() {
                        description.push(' ');
                    }
                    description.push_str(&v);
                }
                "param" => {
                    let p = parse_param(&v).map_err(|m| bad(format!("param '{v}': {m}")))?;
                    if params.iter().any(|q| q.name == p.name) {
                        return Err(bad(format!("parameter '{}' declared twice", p.name)));
                    }
                    params.push(p);
                }
                _ => {}
            }
        }
        let title = title.ok_or_else(|| bad("no '-- title:' line in the header".into()))?;
        for p in &params {
            if let Some(d) = &p.default {
                p.ty.check(d)
                    .map_err(|e| bad(format!("default of '{}': {e}", p.name)))?;
            }
        }
        Ok(NamedQuery {
            name: name.to_string(),
            title,
            description,
            params,
            sql: text.to_string(),
            origin,
        })
    }

    /// Binds `given` (`key=value` pairs from the command line) and the
    /// defaults to typed values.
    pub fn bind(&self, given: &[(String, String)], bounds: Bounds) -> Result<ParamValues> {
        let mut values: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in given {
            if !self.params.iter().any(|p| &p.name == k) {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(Error::BadArgument(format!(
                    "query '{}' has no parameter '{k}' (it takes: {})",
                    self.name,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            if values.insert(k, v).is_some() {
                return Err(Error::BadArgument(format!("parameter '{k}' given twice")));
            }
        }
        let mut out: HashMap<String, ScalarValue> = HashMap::new();
        for p in &self.params {
            let text = match (values.get(p.name.as_str()), &p.default) {
                (Some(v), _) => *v,
                (None, Some(d)) => d.as_str(),
                (None, None) => {
                    return Err(Error::BadArgument(format!(
                        "query '{}' needs --param {}=<{}> ({})",
                        self.name,
                        p.name,
                        p.ty.name(),
                        p.description
                    )));
                }
            };
            let v = p.ty.value(text, bounds).map_err(|e| {
                let why = match e {
                    Error::BadArgument(m) => m,
                    other => one_line(&other),
                };
                Error::BadArgument(format!("parameter '{}': {why}", p.name))
            })?;
            out.insert(p.name.clone(), v);
        }
        Ok(ParamValues::from(out))
    }

    /// Whether binding needs the data's earliest and latest timestamps.
    pub fn needs_bounds(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p.ty, ParamType::Timestamp(_)))
    }

    /// Plans the query on `ctx` with its parameters bound.
    pub async fn dataframe(
        &self,
        ctx: &SessionContext,
        given: &[(String, String)],
    ) -> Result<DataFrame> {
        let bounds = if self.needs_bounds() {
            super::model::data_bounds(ctx).await?
        } else {
            Bounds::default()
        };
        let values = self.bind(given, bounds)?;
        let df = ctx
            .sql(&self.sql)
            .await
            .map_err(|e| Error::BadArgument(format!("query '{}': {}", self.name, one_line(&e))))?;
        Ok(df.with_param_values(values)?)
    }
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ParamType {
    /// Checks that `text` is a valid value of this type (data-independent).
    fn check(self, text: &str) -> Result<()> {
        self.value(text, Bounds::default()).map(|_| ())
    }

    /// The typed value of `text`.
    pub fn value(self, text: &str, bounds: Bounds) -> Result<ScalarValue> {
        let t = text.trim();
        let bad = |what: &str| Error::BadArgument(format!("'{text}' is not {what}"));
        Ok(match self {
            ParamType::Int => ScalarValue::Int64(Some(t.parse().map_err(|_| bad("an integer"))?)),
            ParamType::Float => {
                let v = match t.strip_suffix('%') {
                    Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
                    None => t.parse::<f64>(),
                }
                .map_err(|_| bad("a number"))?;
                if !v.is_finite() {
                    return Err(bad("a finite number"));
                }
                ScalarValue::Float64(Some(v))
            }
            ParamType::Text => ScalarValue::Utf8(Some(text.to_string())),
            ParamType::Bool => ScalarValue::Boolean(Some(match t.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => true,
                "false" | "no" | "0" | "off" => false,
                _ => return Err(bad("true or false")),
            })),
            ParamType::Timestamp(end) => {
                let when: When = window::parse_when(t)?;
                let micros = when.resolve(end, bounds.latest.unwrap_or(0), bounds);
                ScalarValue::TimestampMicrosecond(Some(micros), Some(UTC.into()))
            }
            ParamType::Duration => {
                let micros = match t.parse::<f64>() {
                    Ok(s) if s.is_finite() => (s * window::SECOND as f64).round() as i64,
                    _ => window::parse_span(t)?,
                };
                ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(
                    0,
                    0,
                    micros.saturating_mul(1000),
                )))
            }
        })
    }
}

/// Parses `NAME TYPE [= DEFAULT] [DESCRIPTION]`.
fn parse_param(v: &str) -> std::result::Result<Param, String> {
    let mut rest = v.trim();
    let word = |s: &str| -> (String, usize) {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        (s[..end].to_string(), end)
    };
    let (name, n) = word(rest);
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!(
            "'{name}' is not a parameter name (letters, digits, _)"
        ));
    }
    rest = rest[n..].trim_start();
    let (ty_text, n) = word(rest);
    let ty = ParamType::parse(&ty_text).ok_or_else(|| {
        format!(
            "unknown type '{ty_text}' (int, float, text, bool, timestamp, timestamp(end), duration)"
        )
    })?;
    rest = rest[n..].trim_start();
    let mut default = None;
    if let Some(after) = rest.strip_prefix('=') {
        let after = after.trim_start();
        let (d, n) = word(after);
        if d.is_empty() {
            return Err("'=' without a default value".into());
        }
        default = Some(d);
        rest = after[n..].trim_start();
    }
    Ok(Param {
        name,
        ty,
        default,
        description: rest.to_string(),
    })
}

/// The built-in queries, parsed.
pub fn builtin() -> Vec<NamedQuery> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            NamedQuery::parse(name, text, Origin::BuiltIn).expect("built-in queries parse")
        })
        .collect()
}

/// Every query: the built-in ones, then those of `dir` (or `./queries` when it
/// is a folder) adding to or overriding them by file name. Sorted by name.
pub fn load(dir: Option<&Path>) -> Result<Vec<NamedQuery>> {
    let mut all: BTreeMap<String, NamedQuery> =
        builtin().into_iter().map(|q| (q.name.clone(), q)).collect();
    let dir = match dir {
        Some(d) => {
            if !d.is_dir() {
                return Err(Error::io(
                    d,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder of queries"),
                ));
            }
            Some(d.to_path_buf())
        }
        None => Some(PathBuf::from("queries")).filter(|d| d.is_dir()),
    };
    if let Some(dir) = dir {
        for q in load_dir(&dir)? {
            // A copy of a built-in query (as in a checkout) is still that query.
            if all.get(&q.name).is_some_and(|b| b.sql == q.sql) {
                continue;
            }
            all.insert(q.name.clone(), q);
        }
    }
    Ok(all.into_values().collect())
}

/// The `*.sql` files of one folder (not recursive), parsed.
pub fn load_dir(dir: &Path) -> Result<Vec<NamedQuery>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
        out.push(NamedQuery::parse(&name, &text, Origin::File(f.clone()))?);
    }
    Ok(out)
}

/// The query called `name`.
pub fn find(name: &str, dir: Option<&Path>) -> Result<NamedQuery> {
    let all = load(dir)?;
    let names: BTreeSet<&str> = all.iter().map(|q| q.name.as_str()).collect();
    if let Some(q) = all.iter().find(|q| q.name == name) {
        return Ok(q.clone());
    }
    let name = name.strip_suffix(".sql").unwrap_or(name);
    all.iter().find(|q| q.name == name).cloned().ok_or_else(|| {
        Error::BadArgument(format!(
            "no query named '{name}' (list them with `fleetops queries`; known: {})",
            names.into_iter().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The listing printed by `fleetops queries`.
pub fn listing(queries: &[NamedQuery]) -> String {
    let mut out = String::new();
    for q in queries {
        out.push_str(&format!("{}  {}\n", q.name, q.title));
        if let Origin::File(p) = &q.origin {
            out.push_str(&format!("    (from {})\n", p.display()));
        }
        for line in wrap(&q.description, 76) {
            out.push_str(&format!("    {line}\n"));
        }
        for p in &q.params {
            let default = match &p.default {
                Some(d) => format!(" (default {d})"),
                None => " (required)".to_string(),
            };
            let head = format!("--param {}=<{}>{default}", p.name, p.ty.name());
            out.push_str(&format!("    {head}\n"));
            for line in wrap(&p.description, 72) {
                out.push_str(&format!("        {line}\n"));
            }
        }
        out.push('\n');
    }
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Parses `key=value` as given to `--param`.
pub fn parse_assignment(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(Error::BadArgument(format!(
            "'{s}': expected key=value, e.g. --param since=7d"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_is_documented() {
        let all = builtin();
        assert!(all.len() >= 8);
        for q in &all {
            assert!(!q.title.is_empty(), "{}", q.name);
            assert!(q.description.len() > 20, "{}", q.name);
            for p in &q.params {
                assert!(!p.description.is_empty(), "{}: {}", q.name, p.name);
                assert!(
                    q.sql.contains(&format!("${}", p.name)),
                    "{}: ${} is declared but not used",
                    q.name,
                    p.name
                );
            }
        }
    }

    #[test]
    fn every_file_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let files = load_dir(&dir).unwrap();
        let builtin = builtin();
        assert_eq!(files.len(), builtin.len());
        for f in files {
            let b = builtin.iter().find(|b| b.name == f.name).unwrap();
            assert_eq!(b.sql, f.sql);
        }
    }

    #[test]
    fn header() {
        let q = NamedQuery::parse(
            "x",
            "-- title: T\n-- description: one\n--   two\n\
             -- param: n int = 5 How many.\n-- param: since timestamp\n\
             -- param: d duration = 1h30m\nSELECT $n, $since, $d",
            Origin::BuiltIn,
        )
        .unwrap();
        assert_eq!(q.title, "T");
        assert_eq!(q.description, "one two");
        assert_eq!(q.params.len(), 3);
        assert_eq!(q.params[0].default.as_deref(), Some("5"));
        assert_eq!(q.params[0].description, "How many.");
        assert_eq!(q.params[1].default, None);
        assert!(NamedQuery::parse("x", "SELECT 1", Origin::BuiltIn).is_err());
        assert!(
            NamedQuery::parse(
                "x",
                "-- title: T\n-- param: n int = x\nSELECT 1",
                Origin::BuiltIn
            )
            .is_err()
        );
        assert!(
            NamedQuery::parse(
                "x",
                "-- title: T\n-- param: n money\nSELECT 1",
                Origin::BuiltIn
            )
            .is_err()
        );
    }

    #[test]
    fn binding() {
        let q = NamedQuery::parse(
            "x",
            "-- title: T\n-- param: n int = 5 N.\n-- param: f float = 0.5 F.\n\
             -- param: until timestamp(end) = latest U.\n-- param: d duration = 24h D.\n\
             -- param: s text S.\nSELECT 1",
            Origin::BuiltIn,
        )
        .unwrap();
        let bounds = Bounds {
            earliest: Some(0),
            latest: Some(10 * window::DAY),
        };
        let given = vec![
            ("s".to_string(), "it's; DROP".to_string()),
            ("f".to_string(), "10%".to_string()),
        ];
        let ParamValues::Map(m) = q.bind(&given, bounds).unwrap() else {
            panic!("named")
        };
        assert_eq!(m["n"].value, ScalarValue::Int64(Some(5)));
        assert_eq!(m["f"].value, ScalarValue::Float64(Some(0.1)));
        assert_eq!(m["s"].value, ScalarValue::Utf8(Some("it's; DROP".into())));
        assert_eq!(
            m["until"].value,
            ScalarValue::TimestampMicrosecond(Some(10 * window::DAY), Some(UTC.into()))
        );
        assert_eq!(
            m["d"].value,
            ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(
                0,
                0,
                86_400_000_000_000
            )))
        );
        // Unknown, missing and badly typed parameters are errors.
        assert!(q.bind(&[("zz".into(), "1".into())], bounds).is_err());
        assert!(q.bind(&[], bounds).is_err());
        assert!(
            q.bind(
                &[("s".into(), "x".into()), ("n".into(), "five".into())],
                bounds
            )
            .is_err()
        );
        assert!(parse_assignment("a=b=c").unwrap() == ("a".into(), "b=c".into()));
        assert!(parse_assignment("=x").is_err());
    }
}
