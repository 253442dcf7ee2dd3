//! Decoding one operation object into an [`OperationRow`], or a reject reason.
//!
//! A borrowed serde pass straight into a small struct: no DOM per record, no
//! allocation for unescaped strings. Property names match case-insensitively
//! and ignoring `_`, so Graph's camelCase, PowerShell's PascalCase and
//! snake_case exports all read the same.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::batch::{IdentityRef, IdentitySetRef, OperationRow};
use super::timestamp::{self, Parsed};
use crate::status;

/// A JSON value read where text is expected.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum Text<'a> {
    #[default]
    Absent,
    Null,
    Str(Cow<'a, str>),
    /// An object or array where a scalar was expected.
    Other(&'static str),
}

impl<'a> Text<'a> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Text::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Borrowed(if v { "true" } else { "false" })))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Text::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Text::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text::Other("an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text::Other("an array"))
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

/// True when `key` equals `target` (lowercase, no `_`) ignoring ASCII case
/// and underscores.
pub fn key_is(key: &str, target: &str) -> bool {
    let k = key.as_bytes();
    let t = target.as_bytes();
    if k.len() == t.len() {
        return k.eq_ignore_ascii_case(t);
    }
    let mut ti = 0;
    for &c in k {
        if c == b'_' {
            continue;
        }
        if ti >= t.len() || !c.eq_ignore_ascii_case(&t[ti]) {
            return false;
        }
        ti += 1;
    }
    ti == t.len()
}

/// The properties of an operation object that fleetops reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKey {
    Id,
    DeviceId,
    OperationType,
    Status,
    Created,
    Started,
    Completed,
    LastAction,
    Error,
    CreatedBy,
    LastActionBy,
    Context,
    NextLink,
    Envelope,
    Other,
}

pub(crate) fn op_key(k: &str) -> OpKey {
    // Fold case and drop `_` into a small buffer, then one match: this runs
    // for every property of every record.
    let mut buf = [0u8; 24];
    let mut n = 0;
    for &c in k.as_bytes() {
        if c == b'_' {
            continue;
        }
        if n == buf.len() {
            return OpKey::Other;
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    match &buf[..n] {
        b"id" => OpKey::Id,
        b"status" => OpKey::Status,
        b"operationtype" => OpKey::OperationType,
        b"createddatetime" => OpKey::Created,
        b"starteddatetime" => OpKey::Started,
        b"completeddatetime" => OpKey::Completed,
        b"lastactiondatetime" => OpKey::LastAction,
        b"error" => OpKey::Error,
        b"createdby" => OpKey::CreatedBy,
        b"lastactionby" => OpKey::LastActionBy,
        b"deviceid" | b"teamworkdeviceid" => OpKey::DeviceId,
        b"@odata.context" => OpKey::Context,
        b"@odata.nextlink" => OpKey::NextLink,
        b"value" | b"responses" => OpKey::Envelope,
        _ => OpKey::Other,
    }
}

/// Reads an object key as a classification, without allocating.
struct KeySeed<F>(F);

impl<'de, K, F: Fn(&str) -> K> DeserializeSeed<'de> for KeySeed<F> {
    type Value = K;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K, D::Error> {
        struct V<F>(F);
        impl<'de, K, F: Fn(&str) -> K> Visitor<'de> for V<F> {
            type Value = K;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E>(self, v: &str) -> Result<K, E> {
                Ok((self.0)(v))
            }
        }
        d.deserialize_str(V(self.0))
    }
}

/// `{id, displayName}`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawIdentity<'a> {
    pub id: Text<'a>,
    pub display_name: Text<'a>,
}

/// `{user, application, device}`; members that are not objects read as NULL.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawIdentitySet<'a> {
    pub user: Option<RawIdentity<'a>>,
    pub application: Option<RawIdentity<'a>>,
    pub device: Option<RawIdentity<'a>>,
}

/// `{code, message}`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawError<'a> {
    pub code: Text<'a>,
    pub message: Text<'a>,
}

/// An object read leniently: anything that is not an object is `None`.
/// (PowerShell's shallow `ConvertTo-Json` writes nested objects as type names.)
struct Lenient<T>(Option<T>);

macro_rules! lenient_object {
    ($ty:ident, $visit:expr) => {
        impl<'de> Deserialize<'de> for Lenient<$ty<'de>> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Lenient<$ty<'de>>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                        #[allow(clippy::redundant_closure_call)]
                        ($visit)(map).map(|v| Lenient(Some(v)))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Self::Value, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(Lenient(None))
                    }
                    fn visit_unit<E>(self) -> Result<Self::Value, E> {
                        Ok(Lenient(None))
                    }
                    fn visit_none<E>(self) -> Result<Self::Value, E> {
                        Ok(Lenient(None))
                    }
                    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                        Ok(Lenient(None))
                    }
                    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                        Ok(Lenient(None))
                    }
                    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                        Ok(Lenient(None))
                    }
                    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                        Ok(Lenient(None))
                    }
                    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                        Ok(Lenient(None))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// What a property of an identity is.
#[derive(Clone, Copy)]
pub(crate) enum IdKey {
    Id,
    DisplayName,
    Other,
}

/// Classifies a property of an identity (both decoders use this).
pub(crate) fn identity_key(k: &str) -> IdKey {
    if key_is(k, "id") {
        IdKey::Id
    } else if key_is(k, "displayname") {
        IdKey::DisplayName
    } else {
        IdKey::Other
    }
}

lenient_object!(RawIdentity, |mut map: A| {
    let mut out = RawIdentity::default();
    while let Some(k) = map.next_key_seed(KeySeed(identity_key))? {
        match k {
            IdKey::Id => out.id = map.next_value()?,
            IdKey::DisplayName => out.display_name = map.next_value()?,
            IdKey::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(out)
});

/// What a member of an identitySet is.
#[derive(Clone, Copy)]
pub(crate) enum SetKey {
    User,
    Application,
    Device,
    Other,
}

/// Classifies a member of an identitySet (both decoders use this).
pub(crate) fn set_key(k: &str) -> SetKey {
    if key_is(k, "user") {
        SetKey::User
    } else if key_is(k, "application") {
        SetKey::Application
    } else if key_is(k, "device") {
        SetKey::Device
    } else {
        SetKey::Other
    }
}

lenient_object!(RawIdentitySet, |mut map: A| {
    let mut out = RawIdentitySet::default();
    while let Some(k) = map.next_key_seed(KeySeed(set_key))? {
        match k {
            SetKey::User => out.user = map.next_value::<Lenient<RawIdentity>>()?.0,
            SetKey::Application => out.application = map.next_value::<Lenient<RawIdentity>>()?.0,
            SetKey::Device => out.device = map.next_value::<Lenient<RawIdentity>>()?.0,
            SetKey::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(out)
});

/// What a property of an error is.
#[derive(Clone, Copy)]
pub(crate) enum ErrKey {
    Code,
    Message,
    Other,
}

/// Classifies a property of an error (both decoders use this).
pub(crate) fn error_key(k: &str) -> ErrKey {
    if key_is(k, "code") {
        ErrKey::Code
    } else if key_is(k, "message") {
        ErrKey::Message
    } else {
        ErrKey::Other
    }
}

lenient_object!(RawError, |mut map: A| {
    let mut out = RawError::default();
    while let Some(k) = map.next_key_seed(KeySeed(error_key))? {
        match k {
            ErrKey::Code => out.code = map.next_value()?,
            ErrKey::Message => out.message = map.next_value()?,
            ErrKey::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(out)
});

/// An operation object as read, before validation.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawOp<'a> {
    pub id: Text<'a>,
    pub device_id: Text<'a>,
    pub operation_type: Text<'a>,
    pub status: Text<'a>,
    pub created: Text<'a>,
    pub started: Text<'a>,
    pub completed: Text<'a>,
    pub last_action: Text<'a>,
    pub error: Option<RawError<'a>>,
    pub created_by: Option<RawIdentitySet<'a>>,
    pub last_action_by: Option<RawIdentitySet<'a>>,
    pub context: Text<'a>,
    pub next_link: Text<'a>,
    /// Has a `value` or `responses` property: maybe a page, not an operation.
    pub envelope: bool,
}

/// What the top-level value of a record turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
    Object(Box<RawOp<'a>>),
    /// Not an object: the JSON type found.
    NotObject(&'static str),
}

struct OpVisitor;

impl<'de> Visitor<'de> for OpVisitor {
    type Value = Decoded<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an operation object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut op = Box::<RawOp>::default();
        while let Some(k) = map.next_key_seed(KeySeed(op_key))? {
            match k {
                OpKey::Id => op.id = map.next_value()?,
                OpKey::DeviceId => op.device_id = map.next_value()?,
                OpKey::OperationType => op.operation_type = map.next_value()?,
                OpKey::Status => op.status = map.next_value()?,
                OpKey::Created => op.created = map.next_value()?,
                OpKey::Started => op.started = map.next_value()?,
                OpKey::Completed => op.completed = map.next_value()?,
                OpKey::LastAction => op.last_action = map.next_value()?,
                OpKey::Error => op.error = map.next_value::<Lenient<RawError>>()?.0,
                OpKey::CreatedBy => op.created_by = map.next_value::<Lenient<RawIdentitySet>>()?.0,
                OpKey::LastActionBy => {
                    op.last_action_by = map.next_value::<Lenient<RawIdentitySet>>()?.0
                }
                OpKey::Context => op.context = map.next_value()?,
                OpKey::NextLink => op.next_link = map.next_value()?,
                OpKey::Envelope => {
                    op.envelope = true;
                    map.next_value::<IgnoredAny>()?;
                }
                OpKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Decoded::Object(op))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Decoded::NotObject("an array"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Decoded::NotObject("a string"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Decoded::NotObject("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Decoded::NotObject("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Decoded::NotObject("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Decoded::NotObject("a number"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Decoded::NotObject("null"))
    }
}

/// Decodes one record where it stands inside a larger document (the
/// elements of a page read in one pass).
pub struct OpSeed;

impl<'de> DeserializeSeed<'de> for OpSeed {
    type Value = Decoded<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Decoded<'de>, D::Error> {
        d.deserialize_any(OpVisitor)
    }
}

/// Parses one record's JSON text. `Err` is malformed JSON.
pub fn parse(bytes: &[u8]) -> Result<Decoded<'_>, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text),
        Err(_) => parse_serde(bytes),
    }
}

/// [`parse`] by serde_json alone.
pub fn parse_serde(bytes: &[u8]) -> Result<Decoded<'_>, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        // Text already known to be UTF-8 skips serde_json's per-string check.
        Ok(text) => parse_str_serde(text),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let v = de.deserialize_any(OpVisitor)?;
            de.end()?;
            Ok(v)
        }
    }
}

/// [`parse`] for text known to be UTF-8.
pub fn parse_str(text: &str) -> Result<Decoded<'_>, serde_json::Error> {
    if let Some(op) = super::scan::op_document(text) {
        return Ok(Decoded::Object(Box::new(op)));
    }
    parse_str_serde(text)
}

/// [`parse_str`] by serde_json alone: the reference [`super::scan`] must agree with.
pub fn parse_str_serde(text: &str) -> Result<Decoded<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = de.deserialize_any(OpVisitor)?;
    de.end()?;
    Ok(v)
}

/// Finds the device id in a Graph URL: `devices('<id>')/operations` or
/// `devices/<id>/operations`, anywhere in the URL, any case.
pub fn device_from_url(url: &str) -> Option<Cow<'_, str>> {
    let lower = url.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("devices") {
        let start = from + pos + "devices".len();
        from = start;
        let rest = &url[start..];
        let lrest = &lower[start..];
        let (id, after) = if let Some(r) = lrest.strip_prefix("('") {
            let end = r.find("')")?;
            (&rest[2..2 + end], &lrest[2 + end + 2..])
        } else if let Some(r) = lrest.strip_prefix("(%27") {
            let end = r.find("%27)")?;
            (&rest[4..4 + end], &lrest[4 + end + 4..])
        } else if let Some(r) = lrest.strip_prefix('/') {
            let end = r.find(['/', '?', '#']).unwrap_or(r.len());
            (&rest[1..1 + end], &lrest[1 + end..])
        } else {
            continue;
        };
        if !id.is_empty() && after.starts_with("/operations") {
            return Some(percent_decode(id));
        }
    }
    None
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Timestamps after parsing, owned by the caller's stack.
#[derive(Debug, Default, Clone, Copy)]
pub struct Times {
    pub created: Option<i64>,
    pub started: Option<i64>,
    pub completed: Option<i64>,
    pub last_action: Option<i64>,
    pub repaired: bool,
}

fn text_field<'s>(name: &str, t: &'s Text<'_>) -> Result<Option<&'s str>, String> {
    match t {
        Text::Absent | Text::Null => Ok(None),
        Text::Str(s) => Ok(Some(s)),
        Text::Other(found) => Err(format!("{name}: expected text, found {found}")),
    }
}

fn time_field(name: &str, t: &Text<'_>, repaired: &mut bool) -> Result<Option<i64>, String> {
    match text_field(name, t)? {
        None => Ok(None),
        Some(s) => match timestamp::parse(s) {
            Ok(Parsed::Value(v)) => Ok(Some(v)),
            Ok(Parsed::Repaired(v)) => {
                *repaired = true;
                Ok(Some(v))
            }
            Ok(Parsed::Unset) => Ok(None),
            Err(_) => Err(format!("{name}: not a timestamp: {s:?}")),
        },
    }
}

fn identity<'s>(i: &'s Option<RawIdentity<'_>>) -> Option<IdentityRef<'s>> {
    i.as_ref().map(|i| IdentityRef {
        id: i.id.as_str(),
        display_name: i.display_name.as_str(),
    })
}

fn identity_set<'s>(s: &'s Option<RawIdentitySet<'_>>) -> Option<IdentitySetRef<'s>> {
    s.as_ref().map(|s| IdentitySetRef {
        user: identity(&s.user),
        application: identity(&s.application),
        device: identity(&s.device),
    })
}

/// Validates a decoded operation (contract §2, §5) into a row.
///
/// `device_hint` is the device id the container gives (page URL, `$batch`
/// response, path); a `deviceId` property or the object's own
/// `@odata.context` comes first.
pub fn validate<'s>(
    op: &'s RawOp<'_>,
    device_hint: Option<&'s str>,
    times: &mut Times,
) -> Result<OperationRow<'s>, String> {
    let id = match &op.id {
        Text::Absent => return Err("missing id".into()),
        Text::Null => return Err("id is null".into()),
        Text::Other(found) => return Err(format!("id: expected text, found {found}")),
        Text::Str(s) if s.trim().is_empty() => return Err("id is empty".into()),
        Text::Str(s) => s.as_ref(),
    };
    let device_id = text_field("deviceId", &op.device_id)?.filter(|s| !s.is_empty());
    let operation_type = text_field("operationType", &op.operation_type)?;
    let status_raw = text_field("status", &op.status)?;
    let mut repaired = false;
    *times = Times {
        created: time_field("createdDateTime", &op.created, &mut repaired)?,
        started: time_field("startedDateTime", &op.started, &mut repaired)?,
        completed: time_field("completedDateTime", &op.completed, &mut repaired)?,
        last_action: time_field("lastActionDateTime", &op.last_action, &mut repaired)?,
        repaired,
    };
    let error = match &op.error {
        None => None,
        Some(e) => Some((
            text_field("error.code", &e.code)?,
            text_field("error.message", &e.message)?,
        )),
    };
    Ok(OperationRow {
        id,
        device_id: device_id.or(device_hint),
        operation_type,
        status: status_raw.map(status::normalize),
        status_raw,
        created: times.created,
        started: times.started,
        completed: times.completed,
        last_action: times.last_action,
        error,
        created_by: identity_set(&op.created_by),
        last_action_by: identity_set(&op.last_action_by),
    })
}

/// The device id an object's own `@odata.context` / `@odata.nextLink` names.
pub fn own_url_device<'s>(op: &'s RawOp<'_>) -> Option<Cow<'s, str>> {
    op.context
        .as_str()
        .and_then(device_from_url)
        .or_else(|| op.next_link.as_str().and_then(device_from_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ctx = "https://graph.microsoft.com/beta/$metadata#teamwork/devices('0f3ce432-e432-0f3c-32e4-3c0f32e43c0f')/operations";
        assert_eq!(
            device_from_url(ctx).as_deref(),
            Some("0f3ce432-e432-0f3c-32e4-3c0f32e43c0f")
        );
        let next =
            "https://graph.microsoft.com/beta/teamwork/devices/abc-1/operations?$skiptoken=x";
        assert_eq!(device_from_url(next).as_deref(), Some("abc-1"));
        assert_eq!(
            device_from_url("https://x/teamwork/Devices(%27d%201%27)/Operations").as_deref(),
            Some("d 1")
        );
        assert_eq!(device_from_url("https://x/teamwork/devices('d')"), None);
        assert_eq!(
            device_from_url("https://x/teamwork/devices/operations"),
            None
        );
    }

    #[test]
    fn keys() {
        assert!(key_is("CreatedDateTime", "createddatetime"));
        assert!(key_is("created_date_time", "createddatetime"));
        assert!(!key_is("createdDate", "createddatetime"));
        assert_eq!(op_key("ID"), OpKey::Id);
        assert_eq!(op_key("TeamworkDeviceId"), OpKey::DeviceId);
        assert_eq!(op_key("@odata.nextLink"), OpKey::NextLink);
    }

    #[test]
    fn pascal_case_record() {
        let json = br#"{"Id":"a","OperationType":"restart","Status":"Succeeded",
            "CreatedDateTime":"2026-11-01T10:00:00Z","Error":{"Code":null,"Message":"Unknown"},
            "CreatedBy":{"User":{"Id":"u1","DisplayName":"Amy"},"Application":null,"Device":"Microsoft.Graph.Identity"}}"#;
        let Decoded::Object(op) = parse(json).unwrap() else {
            panic!("object expected")
        };
        let mut t = Times::default();
        let row = validate(&op, Some("dev"), &mut t).unwrap();
        assert_eq!(row.id, "a");
        assert_eq!(row.device_id, Some("dev"));
        assert_eq!(row.status, Some("successful"));
        assert_eq!(row.status_raw, Some("Succeeded"));
        assert_eq!(row.created, Some(1_793_527_200_000_000));
        assert_eq!(row.error, Some((None, Some("Unknown"))));
        let by = row.created_by.unwrap();
        assert_eq!(by.user.unwrap().display_name, Some("Amy"));
        assert_eq!(by.application, None);
        assert_eq!(by.device, None);
    }

    #[test]
    fn rejects() {
        let reason = |j: &[u8]| match parse(j).unwrap() {
            Decoded::Object(op) => validate(&op, None, &mut Times::default())
                .err()
                .unwrap_or_default(),
            Decoded::NotObject(t) => format!("not an object: {t}"),
        };
        assert_eq!(reason(br#"{"status":"failed"}"#), "missing id");
        assert_eq!(reason(br#"{"id":null}"#), "id is null");
        assert_eq!(reason(br#"{"id":""}"#), "id is empty");
        assert_eq!(
            reason(br#"{"id":"x","createdDateTime":"not-a-date"}"#),
            "createdDateTime: not a timestamp: \"not-a-date\""
        );
        assert_eq!(reason(br#"[1,2]"#), "not an object: an array");
        assert!(parse(br#"{"id":"x""#).is_err());
    }
}
