//! From an operation as read to a row, or a reject reason (README "Input").
//!
//! Each column is checked and converted by the function its row in the
//! [`fields`](super::fields) table names (`required`, `device`, `text`,
//! `status`, `time`, `error`, `identity_set` below), in table order, so the
//! first bad property gives the reason. Timestamps are parsed by
//! [`timestamp`], statuses matched by `src/status.rs`.

use super::batch::{ErrorRef, IdentityRef, IdentitySetRef, OperationRow, StatusRef};
use super::device;
use super::fields::{RawError, RawIdentity, RawIdentitySet, RawOp, Text};
use super::timestamp::{self, Parsed};
use crate::status;

/// What the checks of one record share.
pub(crate) struct Cx<'s> {
    /// The device id the record's container gives.
    pub(crate) device_hint: Option<&'s str>,
    /// A value had to be repaired to be read.
    pub(crate) repaired: bool,
}

/// Validates a decoded operation into a row; `repaired` tells whether a
/// value had to be repaired to be read.
///
/// `device_hint` is the device id the container gives (the object's own
/// URL, page URL, `$batch` response, path: see `device.rs`); a `deviceId`
/// property comes first.
pub fn validate<'s>(
    op: &'s RawOp<'_>,
    device_hint: Option<&'s str>,
    repaired: &mut bool,
) -> Result<OperationRow<'s>, String> {
    let mut cx = Cx {
        device_hint,
        repaired: false,
    };
    let row = op.to_row(&mut cx)?;
    *repaired = cx.repaired;
    Ok(row)
}

/// The text of a value, or what was found instead.
pub(super) fn text_of<'s>(t: &'s Text<'_>) -> Result<Option<&'s str>, &'static str> {
    match t {
        Text::Absent | Text::Null => Ok(None),
        Text::Str(s) => Ok(Some(s)),
        Text::Other(found) => Err(found),
    }
}

/// The id: text that is not blank, else the record is rejected.
pub(super) fn required<'s>(
    name: &str,
    raw: &'s Text<'_>,
    _: &mut Cx<'s>,
) -> Result<&'s str, String> {
    match raw {
        Text::Absent => Err(format!("missing {name}")),
        Text::Null => Err(format!("{name} is null")),
        Text::Other(found) => Err(format!("{name}: expected text, found {found}")),
        Text::Str(s) if s.trim().is_empty() => Err(format!("{name} is empty")),
        Text::Str(s) => Ok(s),
    }
}

/// The device id: the record's own property, else the container's.
pub(super) fn device<'s>(
    name: &str,
    raw: &'s Text<'_>,
    cx: &mut Cx<'s>,
) -> Result<Option<&'s str>, String> {
    Ok(device::property(name, raw)?.or(cx.device_hint))
}

/// A text property, kept as it is.
pub(super) fn text<'s>(
    name: &str,
    raw: &'s Text<'_>,
    _: &mut Cx<'s>,
) -> Result<Option<&'s str>, String> {
    text_of(raw).map_err(|found| format!("{name}: expected text, found {found}"))
}

/// The status as exported and in its normal form.
pub(super) fn status<'s>(
    name: &str,
    raw: &'s Text<'_>,
    cx: &mut Cx<'s>,
) -> Result<Option<StatusRef<'s>>, String> {
    Ok(text(name, raw, cx)?.map(|raw| StatusRef {
        normal: status::normalize(raw),
        raw,
    }))
}

/// A timestamp property, in UTC microseconds: NULL when unset, repaired
/// when Graph's documentation form or a missing zone (README "Input").
pub(super) fn time<'s>(
    name: &str,
    raw: &'s Text<'_>,
    cx: &mut Cx<'s>,
) -> Result<Option<i64>, String> {
    match text(name, raw, cx)? {
        None => Ok(None),
        Some(s) => match timestamp::parse(s) {
            Ok(Parsed::Value(v)) => Ok(Some(v)),
            Ok(Parsed::Repaired(v)) => {
                cx.repaired = true;
                Ok(Some(v))
            }
            Ok(Parsed::Unset) => Ok(None),
            Err(_) => Err(format!("{name}: not a timestamp: {s:?}")),
        },
    }
}

/// An error object: `(code, message)`, `None` when null or absent.
pub(super) fn error<'s>(
    name: &str,
    raw: &'s Option<RawError<'_>>,
    _: &mut Cx<'s>,
) -> Result<Option<ErrorRef<'s>>, String> {
    let Some(e) = raw else {
        return Ok(None);
    };
    let member = |member: &str, t: &'s Text<'_>| {
        text_of(t).map_err(|found| format!("{name}.{member}: expected text, found {found}"))
    };
    Ok(Some((
        member("code", &e.code)?,
        member("message", &e.message)?,
    )))
}

fn identity<'s>(i: &'s Option<RawIdentity<'_>>) -> Option<IdentityRef<'s>> {
    i.as_ref().map(|i| IdentityRef {
        id: i.id.as_str(),
        display_name: i.display_name.as_str(),
    })
}

/// An identitySet: never a reason to reject (what is not text reads as NULL).
pub(super) fn identity_set<'s>(
    _: &str,
    raw: &'s Option<RawIdentitySet<'_>>,
    _: &mut Cx<'s>,
) -> Result<Option<IdentitySetRef<'s>>, String> {
    Ok(raw.as_ref().map(|s| IdentitySetRef {
        user: identity(&s.user),
        application: identity(&s.application),
        device: identity(&s.device),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::{Decoded, parse};
    use super::*;

    #[test]
    fn pascal_case_record() {
        let json = br#"{"Id":"a","OperationType":"restart","Status":"Succeeded",
            "CreatedDateTime":"2026-11-01T10:00:00Z","Error":{"Code":null,"Message":"Unknown"},
            "CreatedBy":{"User":{"Id":"u1","DisplayName":"Amy"},"Application":null,"Device":"Microsoft.Graph.Identity"}}"#;
        let Decoded::Object(op) = parse(json).unwrap() else {
            panic!("object expected")
        };
        let mut repaired = false;
        let row = validate(&op, Some("dev"), &mut repaired).unwrap();
        assert!(!repaired);
        assert_eq!(row.id, "a");
        assert_eq!(row.device_id, Some("dev"));
        assert_eq!(
            row.status,
            Some(StatusRef {
                normal: "successful",
                raw: "Succeeded"
            })
        );
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
            Decoded::Object(op) => validate(&op, None, &mut false).err().unwrap_or_default(),
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

    /// The first bad property names the reason: the id, the device id, then
    /// the table's order.
    #[test]
    fn first_bad_property_names_the_reason() {
        let reason = |j: &[u8]| match parse(j).unwrap() {
            Decoded::Object(op) => validate(&op, None, &mut false).err(),
            Decoded::NotObject(_) => None,
        };
        assert_eq!(
            reason(br#"{"error":{"code":[]},"deviceId":{},"status":[],"id":"x"}"#).as_deref(),
            Some("deviceId: expected text, found an object")
        );
        assert_eq!(
            reason(br#"{"error":{"message":{}},"lastActionDateTime":"x","id":"x"}"#).as_deref(),
            Some("lastActionDateTime: not a timestamp: \"x\"")
        );
        assert_eq!(
            reason(br#"{"error":{"message":{}},"id":"x"}"#).as_deref(),
            Some("error.message: expected text, found an object")
        );
        assert_eq!(
            reason(br#"{"startedDateTime":"x","status":{},"id":"x"}"#).as_deref(),
            Some("status: expected text, found an object")
        );
    }

    #[test]
    fn repaired_and_device_rules() {
        let Decoded::Object(op) =
            parse(br#"{"id":"a","deviceId":"","createdDateTime":"2021-06-19T12-01-03Z"}"#).unwrap()
        else {
            panic!("object expected")
        };
        let mut repaired = false;
        let row = validate(&op, Some("hint"), &mut repaired).unwrap();
        assert!(repaired);
        assert_eq!(row.device_id, Some("hint"), "an empty deviceId gives way");
        let Decoded::Object(op) = parse(br#"{"id":"a","teamworkDeviceId":"own"}"#).unwrap() else {
            panic!("object expected")
        };
        let row = validate(&op, Some("hint"), &mut repaired).unwrap();
        assert!(!repaired);
        assert_eq!(row.device_id, Some("own"));
    }
}
