//! Keyed pseudonyms for the people and programs behind operations, so query
//! results, reports and datasets can be shared.
//!
//! Every `id` and `display_name` of the `user`, `application` and `device`
//! identities in `created_by` and `last_action_by` is replaced by a keyed
//! pseudonym: HMAC-SHA256 under a secret key, cut to a readable form:
//!
//! | value | pseudonym |
//! |---|---|
//! | user id | `user-` + 16 hex digits |
//! | user display name | `User ` + 12 hex digits |
//! | application id / name | `app-…` / `App …` |
//! | device id / name | `device-…` / `Device …` |
//!
//! The same value under the same key always gives the same pseudonym (across
//! runs, exports and machines), so counts, joins and `GROUP BY` work as on
//! the original data; without the key nobody can compute or reverse them.
//! NULL stays NULL and `""` stays `""`. Values that already have the form
//! of a pseudonym are kept, so redacting twice changes nothing.
//!
//! There is no default key: [`Redactor::from_sources`] takes it from a file
//! or `FLEETOPS_REDACT_KEY`, as hex (an even number of hex digits only) or
//! as raw text, at least [`MIN_KEY_BYTES`] bytes either way.
//!
//! [`redact_context`] puts the redaction between the data and every query of
//! a `SessionContext`: `operations` and `rejects` are replaced by views whose
//! identity columns (and raw reject records) come out redacted, so anything
//! a query derives from them (a `coalesce` of names, a `string_agg`, a CSV
//! flattening) is derived from pseudonyms.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    StructArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use datafusion::catalog::TableProvider;
use datafusion::catalog::default_table_source::provider_as_source;
use datafusion::common::utils::take_function_args;
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlanBuilder, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility, col,
};
use datafusion::prelude::SessionContext;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::schema::{TABLE_NAME, col as cols, rejects};

/// The environment variable a key can come from.
pub const KEY_ENV: &str = "FLEETOPS_REDACT_KEY";

/// The shortest key accepted, in bytes (after hex decoding).
pub const MIN_KEY_BYTES: usize = 16;

/// Hex digits of an id pseudonym (64 bits).
const ID_HEX: usize = 16;
/// Hex digits of a name pseudonym (48 bits: no collision in practice
/// among a tenant's names, still short enough to read).
const NAME_HEX: usize = 12;

/// Domain separation: the version of the scheme, then kind and field.
const DOMAIN: &[u8] = b"fleetops-redact-v1";

/// Whose identity a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A user's identity (`user` in an identity set).
    User,
    /// An application's identity (`application` in an identity set).
    Application,
    /// A device acting as an identity (`device` in an identity set).
    Device,
    /// Any other member of an identity set (only met in raw reject records).
    Other,
}

impl Kind {
    /// The kind of an identity-set member name (`user`, `Application`, ...).
    pub fn of_member(name: &str) -> Kind {
        match normalise(name).as_str() {
            "user" => Kind::User,
            "application" => Kind::Application,
            "device" => Kind::Device,
            _ => Kind::Other,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Application => "application",
            Kind::Device => "device",
            Kind::Other => "other",
        }
    }

    fn id_prefix(self) -> &'static str {
        match self {
            Kind::User => "user-",
            Kind::Application => "app-",
            Kind::Device => "device-",
            Kind::Other => "redacted-",
        }
    }

    fn name_prefix(self) -> &'static str {
        match self {
            Kind::User => "User ",
            Kind::Application => "App ",
            Kind::Device => "Device ",
            Kind::Other => "Redacted ",
        }
    }
}

/// Which property of an identity a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prop {
    /// The `id` of an identity.
    Id,
    /// The `displayName` of an identity (`display_name` in the table).
    DisplayName,
}

impl Prop {
    fn of(name: &str) -> Option<Prop> {
        match normalise(name).as_str() {
            "id" => Some(Prop::Id),
            "displayname" => Some(Prop::DisplayName),
            _ => None,
        }
    }
}

/// Lower case without `_`: how property names are matched (as in ingest).
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn is_identity_set(name: &str) -> bool {
    matches!(normalise(name).as_str(), "createdby" | "lastactionby")
}

/// Computes pseudonyms under one secret key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Redactor {
    key: Vec<u8>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key itself.
        f.debug_struct("Redactor")
            .field("key_id", &self.key_id())
            .finish()
    }
}

fn usage(msg: impl Into<String>) -> Error {
    Error::BadArgument(msg.into())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

impl Redactor {
    /// A redactor with exactly these key bytes (at least [`MIN_KEY_BYTES`]).
    pub fn from_key(key: &[u8]) -> Result<Redactor> {
        if key.len() < MIN_KEY_BYTES {
            return Err(usage(format!(
                "the redaction key has {} bytes; it needs at least {MIN_KEY_BYTES}",
                key.len()
            )));
        }
        Ok(Redactor { key: key.to_vec() })
    }

    /// A key as written in a key file or `FLEETOPS_REDACT_KEY`: surrounding
    /// whitespace is dropped; text of only hex digits, an even number of
    /// them, is hex; anything else is the key's bytes as they stand.
    pub fn from_key_text(text: &[u8]) -> Result<Redactor> {
        let text = text.trim_ascii();
        let is_hex = !text.is_empty()
            && text.len().is_multiple_of(2)
            && text.iter().all(|b| hex_value(*b).is_some());
        if is_hex {
            let bytes: Vec<u8> = text
                .chunks(2)
                .map(|p| hex_value(p[0]).unwrap_or(0) << 4 | hex_value(p[1]).unwrap_or(0))
                .collect();
            if bytes.len() < MIN_KEY_BYTES {
                return Err(usage(format!(
                    "the redaction key is {} hex digits ({} bytes); it needs at least {} \
                     (e.g. `openssl rand -hex 32`)",
                    text.len(),
                    bytes.len(),
                    MIN_KEY_BYTES
                )));
            }
            return Redactor::from_key(&bytes);
        }
        Redactor::from_key(text)
    }

    /// The key from `key_file` when given, else from `FLEETOPS_REDACT_KEY`;
    /// an error when neither holds one: there is no default key.
    pub fn from_sources(key_file: Option<&Path>) -> Result<Redactor> {
        if let Some(path) = key_file {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            return Redactor::from_key_text(&bytes).map_err(|e| match e {
                Error::BadArgument(m) => usage(format!("{}: {m}", path.display())),
                other => other,
            });
        }
        match std::env::var_os(KEY_ENV) {
            Some(v) if !v.is_empty() => {
                use std::os::unix::ffi::OsStrExt;
                Redactor::from_key_text(v.as_bytes()).map_err(|e| match e {
                    Error::BadArgument(m) => usage(format!("{KEY_ENV}: {m}")),
                    other => other,
                })
            }
            _ => Err(usage(format!(
                "--redact needs a secret key: --redact-key-file FILE or {KEY_ENV} \
                 (at least {MIN_KEY_BYTES} bytes, hex or text; there is no default key)"
            ))),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(DOMAIN);
        for p in parts {
            mac.update(&[0]);
            // The length first: no two part lists feed the same bytes.
            mac.update(&(p.len() as u64).to_le_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// A short public name for the key (16 hex digits of an HMAC of a fixed
    /// text): tells whether two exports were redacted with the same key,
    /// and reveals nothing of it.
    pub fn key_id(&self) -> String {
        to_hex(&self.mac(&[b"key-id"])[..ID_HEX / 2])
    }

    /// True when `value` already has the form of a pseudonym of this kind.
    fn is_pseudonym(kind: Kind, field: Prop, value: &str) -> bool {
        let (prefix, hex) = match field {
            Prop::Id => (kind.id_prefix(), ID_HEX),
            Prop::DisplayName => (kind.name_prefix(), NAME_HEX),
        };
        value.strip_prefix(prefix).is_some_and(|h| {
            h.len() == hex && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
    }

    /// The pseudonym of one value; `""` stays `""`.
    pub fn pseudonym<'a>(&self, kind: Kind, field: Prop, value: &'a str) -> Cow<'a, str> {
        if value.is_empty() || Redactor::is_pseudonym(kind, field, value) {
            return Cow::Borrowed(value);
        }
        let (field_tag, prefix, hex): (&[u8], _, _) = match field {
            Prop::Id => (b"id", kind.id_prefix(), ID_HEX),
            Prop::DisplayName => (b"display_name", kind.name_prefix(), NAME_HEX),
        };
        let mac = self.mac(&[kind.tag().as_bytes(), field_tag, value.as_bytes()]);
        let mut hex_text = to_hex(&mac[..hex.div_ceil(2)]);
        hex_text.truncate(hex);
        Cow::Owned(format!("{prefix}{hex_text}"))
    }

    /// Pseudonyms of a run of values; repeated values are computed once.
    fn map_strings<'a>(
        &self,
        kind: Kind,
        prop: Prop,
        values: impl Iterator<Item = Option<&'a str>>,
    ) -> Vec<Option<String>> {
        let mut cache: HashMap<&'a str, String> = HashMap::new();
        values
            .map(|v| {
                let v = v?;
                Some(
                    cache
                        .entry(v)
                        .or_insert_with(|| self.pseudonym(kind, prop, v).into_owned())
                        .clone(),
                )
            })
            .collect()
    }

    /// Redacts a string array (any of Utf8, LargeUtf8, Utf8View).
    fn redact_strings(&self, kind: Kind, prop: Prop, array: &ArrayRef) -> Result<ArrayRef> {
        Ok(match array.data_type() {
            DataType::Utf8 => Arc::new(StringArray::from(self.map_strings(
                kind,
                prop,
                array.as_string::<i32>().iter(),
            ))),
            DataType::LargeUtf8 => Arc::new(LargeStringArray::from(self.map_strings(
                kind,
                prop,
                array.as_string::<i64>().iter(),
            ))),
            DataType::Utf8View => Arc::new(StringViewArray::from(self.map_strings(
                kind,
                prop,
                array.as_string_view().iter(),
            ))),
            DataType::Null => array.clone(),
            other => {
                // Anything else (a dictionary, a number): through Utf8.
                let text = arrow::compute::cast(array, &DataType::Utf8)?;
                let red = self.redact_strings(kind, prop, &text)?;
                arrow::compute::cast(&red, other).unwrap_or(red)
            }
        })
    }

    /// Redacts an identity `{id, display_name, ...}` of `kind`.
    fn redact_identity(&self, kind: Kind, array: &StructArray) -> Result<ArrayRef> {
        let DataType::Struct(fields) = array.data_type() else {
            unreachable!("a struct array")
        };
        let columns = fields
            .iter()
            .zip(array.columns())
            .map(|(f, c)| match Prop::of(f.name()) {
                Some(field) => self.redact_strings(kind, field, c),
                None => self.redact_any(f.name(), c),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(StructArray::try_new(
            fields.clone(),
            columns,
            array.nulls().cloned(),
        )?))
    }

    /// Redacts an identity set `{user, application, device}`.
    pub fn redact_identity_set(&self, array: &ArrayRef) -> Result<ArrayRef> {
        let Some(s) = array.as_struct_opt() else {
            return Ok(array.clone());
        };
        let DataType::Struct(fields) = s.data_type() else {
            unreachable!("a struct array")
        };
        let columns = fields
            .iter()
            .zip(s.columns())
            .map(|(f, c)| match c.as_struct_opt() {
                Some(member) => self.redact_identity(Kind::of_member(f.name()), member),
                // A member that is not an identity: every string in it.
                None => self.redact_strings(Kind::Other, Prop::Id, c),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(StructArray::try_new(
            fields.clone(),
            columns,
            s.nulls().cloned(),
        )?))
    }

    /// Redacts the identities anywhere inside a column named `name`.
    fn redact_any(&self, name: &str, array: &ArrayRef) -> Result<ArrayRef> {
        if is_identity_set(name) && array.as_struct_opt().is_some() {
            return self.redact_identity_set(array);
        }
        let Some(s) = array.as_struct_opt() else {
            return Ok(array.clone());
        };
        let DataType::Struct(fields) = s.data_type() else {
            unreachable!("a struct array")
        };
        // A bare identity `{id, display_name}` under a member name.
        let kind = Kind::of_member(name);
        if kind != Kind::Other && fields.iter().any(|f| Prop::of(f.name()).is_some()) {
            return self.redact_identity(kind, s);
        }
        let columns = fields
            .iter()
            .zip(s.columns())
            .map(|(f, c)| self.redact_any(f.name(), c))
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(StructArray::try_new(
            fields.clone(),
            columns,
            s.nulls().cloned(),
        )?))
    }

    /// Redacts any batch: struct columns named `created_by`/`last_action_by`
    /// (at any depth), structs named `user`/`application`/`device` holding
    /// `id`/`display_name`, and flattened columns named like
    /// `created_by.user.id` (as CSV writes them). Other columns are kept.
    pub fn redact_batch(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let schema = batch.schema();
        let columns = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| match flattened_path(f.name()) {
                Some((kind, field)) => self.redact_strings(kind, field, c),
                None => self.redact_any(f.name(), c),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new_with_options(
            schema,
            columns,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )?)
    }

    /// Redacts a batch of the `operations` schema: its `created_by` and
    /// `last_action_by` columns (for the ingest path, before rows are
    /// stored or keyed).
    pub fn redact_operations(&self, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let schema = batch.schema();
        let mut columns = batch.columns().to_vec();
        for name in [cols::CREATED_BY, cols::LAST_ACTION_BY] {
            if let Ok(i) = schema.index_of(name) {
                columns[i] = self
                    .redact_identity_set(&columns[i])
                    .map_err(|e| ArrowError::ComputeError(e.to_string()))?;
            }
        }
        RecordBatch::try_new(schema, columns)
    }

    /// Redacts the raw text of a rejected record: in JSON, every value
    /// under a `createdBy`/`lastActionBy` property (at any depth) is replaced
    /// by its pseudonym; text that is not JSON (a cut-off line) cannot be
    /// told apart, so it is replaced by a note of its length.
    pub fn redact_record_text(&self, text: &str) -> String {
        if text.trim().is_empty() {
            return text.to_string();
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(mut v) => {
                self.redact_json(&mut v);
                v.to_string()
            }
            Err(_) => format!(
                "[redacted: not valid JSON, {} bytes; its identities cannot be told apart]",
                text.len()
            ),
        }
    }

    fn redact_json(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if is_identity_set(k) {
                        self.redact_json_identity_set(child);
                    } else {
                        self.redact_json(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.redact_json(i)),
            _ => {}
        }
    }

    fn redact_json_identity_set(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                for (member, identity) in map.iter_mut() {
                    let kind = Kind::of_member(member);
                    match identity {
                        Value::Object(props) => {
                            for (prop, value) in props.iter_mut() {
                                let field = Prop::of(prop).unwrap_or(Prop::Id);
                                let kind = if Prop::of(prop).is_some() {
                                    kind
                                } else {
                                    Kind::Other
                                };
                                self.redact_json_scalars(kind, field, value);
                            }
                        }
                        other => self.redact_json_scalars(Kind::Other, Prop::Id, other),
                    }
                }
            }
            other => self.redact_json_scalars(Kind::Other, Prop::Id, other),
        }
    }

    /// Every string and number in `v` becomes a pseudonym.
    fn redact_json_scalars(&self, kind: Kind, field: Prop, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => *s = self.pseudonym(kind, field, s).into_owned(),
            Value::Number(n) => {
                *v = Value::String(self.pseudonym(kind, field, &n.to_string()).into_owned())
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|i| self.redact_json_scalars(kind, field, i)),
            Value::Object(map) => map
                .values_mut()
                .for_each(|i| self.redact_json_scalars(Kind::Other, Prop::Id, i)),
            Value::Null | Value::Bool(_) => {}
        }
    }
}

/// `created_by.user.id` → (User, Id): a flattened identity column.
fn flattened_path(name: &str) -> Option<(Kind, Prop)> {
    let parts: Vec<&str> = name.split('.').collect();
    let [.., set, member, prop] = parts.as_slice() else {
        return None;
    };
    if !is_identity_set(set) {
        return None;
    }
    Some((Kind::of_member(member), Prop::of(prop)?))
}

/// The internal function the redacting views apply to identity sets.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RedactIdentitySet {
    redactor: Redactor,
    signature: Signature,
}

impl ScalarUDFImpl for RedactIdentitySet {
    fn name(&self) -> &str {
        "fleetops_redact_identity_set"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let [arg] = take_function_args(self.name(), args.args)?;
        let rows = args.number_rows;
        let array = arg.into_array(rows)?;
        let out = self
            .redactor
            .redact_identity_set(&array)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        Ok(ColumnarValue::Array(out))
    }
}

/// The internal function the redacting `rejects` view applies to `record`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RedactRecordText {
    redactor: Redactor,
    signature: Signature,
}

impl ScalarUDFImpl for RedactRecordText {
    fn name(&self) -> &str {
        "fleetops_redact_record"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let [arg] = take_function_args(self.name(), args.args)?;
        let array = arg.into_array(args.number_rows)?;
        let text = arrow::compute::cast(&array, &DataType::Utf8)?;
        let out: StringArray = text
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(|t| self.redactor.redact_record_text(t)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// Replaces the table `name` of `ctx` by a view of it where each column
/// that `wrap` gives an expression for is computed by that expression. The
/// table itself stays reachable only through the view.
fn wrap_table(
    ctx: &SessionContext,
    name: &str,
    wrap: impl Fn(&Field) -> Option<Expr>,
) -> Result<bool> {
    let Some(inner) = ctx.deregister_table(name)? else {
        return Ok(false);
    };
    let schema: Arc<Schema> = inner.schema();
    let exprs: Vec<Expr> = schema
        .fields()
        .iter()
        .map(|f| match wrap(f) {
            Some(e) => e.alias(f.name()),
            None => col(datafusion::common::Column::new_unqualified(f.name())),
        })
        .collect();
    let plan = LogicalPlanBuilder::scan(name, provider_as_source(inner), None)?
        .project(exprs)?
        .build()?;
    let view: Arc<dyn TableProvider> = Arc::new(ViewTable::new(plan, None));
    ctx.register_table(name, view)?;
    Ok(true)
}

/// Puts redaction between the data and every query of `ctx`: `operations`
/// (its `created_by` and `last_action_by`) and `rejects` (its raw
/// `record` text) are replaced by redacting views. Call it after the data
/// is registered and before any query runs.
pub fn redact_context(ctx: &SessionContext, redactor: &Redactor) -> Result<()> {
    let identity = ScalarUDF::from(RedactIdentitySet {
        redactor: redactor.clone(),
        signature: Signature::any(1, Volatility::Immutable),
    });
    wrap_table(ctx, TABLE_NAME, |f| {
        is_identity_set(f.name()).then(|| {
            identity.call(vec![col(datafusion::common::Column::new_unqualified(
                f.name(),
            ))])
        })
    })?;
    let record = ScalarUDF::from(RedactRecordText {
        redactor: redactor.clone(),
        signature: Signature::any(1, Volatility::Immutable),
    });
    wrap_table(ctx, rejects::TABLE_NAME, |f| {
        (f.name() == rejects::col::RECORD).then(|| {
            record.call(vec![col(datafusion::common::Column::new_unqualified(
                f.name(),
            ))])
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(key: &str) -> Redactor {
        Redactor::from_key_text(key.as_bytes()).unwrap()
    }

    #[test]
    fn keys() {
        assert!(Redactor::from_key_text(b"short").is_err());
        assert!(Redactor::from_key_text(b"00112233445566778899aabbccddeeff").is_ok());
        // 16 hex digits are 8 bytes: too short, even though 16 characters.
        assert!(Redactor::from_key_text(b"0011223344556677").is_err());
        assert!(Redactor::from_key_text(b"sixteen chars ok").is_ok());
        // Hex and its bytes are the same key; a trailing newline is dropped.
        assert_eq!(
            Redactor::from_key_text(b"7369787465656e206368617273206f6b\n").unwrap(),
            Redactor::from_key_text(b"sixteen chars ok").unwrap()
        );
        assert!(!format!("{:?}", r("a secret key text")).contains("secret"));
    }

    #[test]
    fn pseudonyms() {
        let a = r("key number one, long enough");
        let b = r("key number two, long enough");
        let p = a.pseudonym(Kind::User, Prop::Id, "4b6c-alice");
        assert!(p.starts_with("user-") && p.len() == 5 + ID_HEX, "{p}");
        assert_eq!(p, a.pseudonym(Kind::User, Prop::Id, "4b6c-alice"));
        assert_ne!(p, b.pseudonym(Kind::User, Prop::Id, "4b6c-alice"));
        assert_ne!(p, a.pseudonym(Kind::Device, Prop::Id, "4b6c-alice"));
        let n = a.pseudonym(Kind::Application, Prop::DisplayName, "Alice");
        assert!(n.starts_with("App ") && n.len() == 4 + NAME_HEX, "{n}");
        // Idempotent, and "" stays.
        assert_eq!(a.pseudonym(Kind::User, Prop::Id, &p), p);
        assert_eq!(b.pseudonym(Kind::User, Prop::Id, &p), p);
        assert_eq!(a.pseudonym(Kind::User, Prop::Id, ""), "");
    }

    #[test]
    fn record_text() {
        let a = r("key number one, long enough");
        let t = r#"{"id":"op1","createdBy":{"user":{"id":"u1","displayName":"Alice Smith","email":"alice@example.com"},"application":null},"LastActionBy":{"Device":{"Id":"d1","DisplayName":"Room"}}}"#;
        let out = a.redact_record_text(t);
        for secret in ["u1\"", "Alice", "alice@", "\"d1\"", "Room"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("\"op1\""));
        assert!(out.contains(&*a.pseudonym(Kind::User, Prop::Id, "u1")));
        let cut = r#"{"id":"op1","createdBy":{"user":{"displayName":"Alice"#;
        assert!(!a.redact_record_text(cut).contains("Alice"));
    }
}
