//! Device-id rules, all of them (README "Input").
//!
//! Graph puts an operation's device only in the URL it was fetched from, so
//! the device comes from wherever an export kept it, first that applies:
//!
//! 1. the object's own `deviceId` / `teamworkDeviceId` property
//!    (`property`);
//! 2. the object's own `@odata.context` or `@odata.nextLink`, a single
//!    entity's ([`own_url`]);
//! 3. its container: a list page's `@odata.context` or `@odata.nextLink`
//!    (`of_page`), a `$batch` response's request id or the URL of that
//!    request (`of_response`);
//! 4. the file's path: `device_id=<id>/` or `devices/<id>.json`
//!    ([`device_from_path`]).
//!
//! Rule 1 is applied as the record's row is built ([`normalise::validate`]);
//! the decoder passes the others down to it as one hint: the record's own
//! URLs, else what its envelope names, else its path.

use std::borrow::Cow;
use std::path::Path;

use super::fields::{RawOp, Text};
use super::normalise;

/// The device id an object's `deviceId` property (`name`) gives: text,
/// where an empty one gives none.
pub(crate) fn property<'s>(name: &str, raw: &'s Text<'_>) -> Result<Option<&'s str>, String> {
    let id =
        normalise::text_of(raw).map_err(|found| format!("{name}: expected text, found {found}"))?;
    Ok(id.filter(|s| !s.is_empty()))
}

/// The device id an object's own `@odata.context` / `@odata.nextLink` names.
pub fn own_url<'s>(op: &'s RawOp<'_>) -> Option<Cow<'s, str>> {
    op.context
        .as_str()
        .and_then(device_from_url)
        .or_else(|| op.next_link.as_str().and_then(device_from_url))
}

/// The device a list page is about: from its `@odata.context`, else its
/// `@odata.nextLink`.
pub(crate) fn of_page<'a>(
    context: Option<&'a str>,
    next_link: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    context
        .and_then(device_from_url)
        .or_else(|| next_link.and_then(device_from_url))
}

/// The device a `$batch` response is about: its request id, else the URL
/// of the request with that id (`requests`: `(id, url)` of the requests an
/// export kept beside the responses).
pub(crate) fn of_response(id: Option<&str>, requests: &[(String, String)]) -> Option<String> {
    let id = id?;
    of_request_id(id).map(Cow::into_owned).or_else(|| {
        requests
            .iter()
            .find(|(rid, _)| rid == id)
            .and_then(|(_, url)| device_from_url(url).map(Cow::into_owned))
    })
}

/// The device id a `$batch` request id names: `<id>-operations`, a Graph
/// URL, or the id itself unless it is a plain number (Graph's examples
/// number their requests).
fn of_request_id(id: &str) -> Option<Cow<'_, str>> {
    if let Some(d) = device_from_url(id) {
        return Some(d);
    }
    let lower = id.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix("-operations") {
        return (!stem.is_empty()).then(|| Cow::Borrowed(&id[..stem.len()]));
    }
    if id.is_empty() || id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Cow::Borrowed(id))
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

/// Strips `.json`, `.ndjson`, `.jsonl` and `.gz` endings from a file name.
fn stem(name: &str) -> &str {
    let mut s = name;
    loop {
        let lower = s.to_ascii_lowercase();
        let cut = [".gz", ".json", ".ndjson", ".jsonl"]
            .iter()
            .find(|x| lower.ends_with(*x))
            .map(|x| x.len());
        match cut {
            Some(n) if s.len() > n => s = &s[..s.len() - n],
            _ => return s,
        }
    }
}

/// The device id a path names: a `device_id=<id>` segment (the innermost
/// wins), else a file `devices/<id>.json`.
pub fn device_from_path(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    let (name, dir) = parts.split_last()?;
    DirDevice::of(dir).device(name)
}

/// What a folder's path says about the device of the files in it, worked
/// out once per folder rather than per file (folders of pages hold
/// thousands).
pub(crate) struct DirDevice<'a> {
    /// The innermost `device_id=` segment's value (possibly empty).
    innermost: Option<&'a str>,
    /// The folder is named `devices`.
    in_devices: bool,
}

impl<'a> DirDevice<'a> {
    /// The folder whose path has the segments `parts`.
    pub(crate) fn of(parts: &[&'a str]) -> Self {
        DirDevice {
            innermost: parts
                .iter()
                .rev()
                .find_map(|p| p.strip_prefix("device_id=")),
            in_devices: parts
                .last()
                .is_some_and(|p| p.eq_ignore_ascii_case("devices")),
        }
    }

    /// [`device_from_path`] of the file `name` in this folder.
    pub(crate) fn device(&self, name: &str) -> Option<String> {
        let innermost = name.strip_prefix("device_id=").or(self.innermost);
        if let Some(id) = innermost.filter(|id| !id.is_empty()) {
            return Some(stem(id).to_string());
        }
        if self.in_devices {
            let id = stem(name);
            if !id.is_empty() {
                return Some(id.to_string());
            }
        }
        None
    }
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
    fn path_devices() {
        let d = |p: &str| device_from_path(Path::new(p));
        assert_eq!(d("x/device_id=abc/ops.json").as_deref(), Some("abc"));
        assert_eq!(d("x/devices/abc.json.gz").as_deref(), Some("abc"));
        assert_eq!(d("x/Devices/abc.ndjson").as_deref(), Some("abc"));
        assert_eq!(d("x/devices/sub/abc.json"), None);
        assert_eq!(d("x/ops.json"), None);
        assert_eq!(d("x/device_id=/devices/abc.json").as_deref(), Some("abc"));
        assert_eq!(d("device_id=a/device_id=b.json").as_deref(), Some("b"));
        assert_eq!(d("device_id=a/x/y.json").as_deref(), Some("a"));
        assert_eq!(d("device_id=a/device_id=/y.json"), None);
    }
}
