//! The properties fleetops reads, one table per object.
//!
//! Both readers, the hand-written [`scanner`](super::scanner) and the serde
//! [`fallback`](super::fallback), take everything they know about an object
//! from its table here: the struct it is read into, how each property name
//! is recognised, what kind of value each holds (its field's type picks the
//! reader's method), and the order Graph writes them in. For the operation
//! itself the table also says which column each property fills and how it
//! is checked ([`normalise`]). So the two readers cannot
//! drift apart: neither has a list of names of its own.
//!
//! Property names match case-insensitively and ignoring `_`, so Graph's
//! camelCase, PowerShell's PascalCase and snake_case exports all read the
//! same (README "Input").
//!
//! Adding an operation property takes a row in the [`RawOp`] table below,
//! its column in `src/schema.rs`, and its field and builder in
//! [`batch`](super::batch).

use super::batch::OperationRow;
use super::normalise;

/// A JSON value read where text is expected.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum Text<'a> {
    #[default]
    Absent,
    Null,
    Str(std::borrow::Cow<'a, str>),
    /// An object or array where a scalar was expected.
    Other(&'static str),
}

impl<'a> Text<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Text::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A property whose value is not kept, only noticed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Present(pub bool);

/// How a reader reads the values of an object's properties. The scanner's
/// `Out` is `Option<()>` (`None`: leave the record to serde), serde's a
/// `Result`.
pub(crate) trait Reader {
    type Out;
    /// Reads past a value that is not kept.
    fn skip(&mut self) -> Self::Out;
}

/// Reads a value into a field of type `T`.
pub(crate) trait ReadInto<T>: Reader {
    fn read_into(&mut self, out: &mut T) -> Self::Out;
}

/// Every type a table's field may have: a reader implements them all. A new
/// kind of value is a new bound here, and a method in each reader.
pub(crate) trait ReadValues<'a>:
    Reader
    + ReadInto<Text<'a>>
    + ReadInto<Present>
    + ReadInto<Option<RawError<'a>>>
    + ReadInto<Option<RawIdentitySet<'a>>>
    + ReadInto<Option<RawIdentity<'a>>>
{
}

impl<'a, R> ReadValues<'a> for R where
    R: Reader
        + ReadInto<Text<'a>>
        + ReadInto<Present>
        + ReadInto<Option<RawError<'a>>>
        + ReadInto<Option<RawIdentitySet<'a>>>
        + ReadInto<Option<RawIdentity<'a>>>
{
}

/// What both readers need of an object read by a table.
pub(crate) trait Fields<'a>: Default {
    type Key: Copy + 'static;
    /// `"name":` of the properties in the order Graph writes them, and what
    /// each is: the scanner takes a name found where it expects it without
    /// reading it. The order only makes reading faster.
    const GRAPH_ORDER: &'static [(&'static [u8], Self::Key)];
    /// What the property `name` is.
    fn key(name: &str) -> Self::Key;
    /// Reads the value of the property `key` into its field (or past it).
    fn read<R: ReadValues<'a>>(&mut self, key: Self::Key, r: &mut R) -> R::Out;
}

/// The longest property name (case folded, `_` dropped) a table matches;
/// longer ones are unknown without looking further.
const FOLDED_MAX: usize = 24;

/// Folds `name` (ASCII lowercase, `_` dropped) into `buf`: its length, or
/// `None` when it is longer than any name a table knows.
#[inline(always)]
fn fold(name: &str, buf: &mut [u8; FOLDED_MAX]) -> Option<usize> {
    let mut n = 0;
    for &c in name.as_bytes() {
        if c == b'_' {
            continue;
        }
        if n == buf.len() {
            return None;
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    Some(n)
}

/// [`fold`] at compile time (the Graph-order lists are built with it); a
/// length over [`FOLDED_MAX`] when too long.
const fn fold_const(name: &str) -> ([u8; FOLDED_MAX], usize) {
    let b = name.as_bytes();
    let mut buf = [0u8; FOLDED_MAX];
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c == b'_' {
            continue;
        }
        if n == FOLDED_MAX {
            return (buf, FOLDED_MAX + 1);
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    (buf, n)
}

/// True when `key` equals `target` (lowercase, no `_`) ignoring ASCII case
/// and underscores: the same rule as the tables', for the envelopes' names.
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

/// Writes an object's struct, its key enum and [`Fields`] from a table.
///
/// A row is `field: Type = Key [b"spelling" | ...]`: the field of the
/// struct, its type (which says how it is read), the variant of the key
/// enum, and the property's names folded (lowercase, no `_`). With a
/// `row Row` header, a row may add `=> column = normaliser("name")`: the
/// field of `Row` it fills, the function in [`normalise`] that checks and
/// converts it, and the name reject reasons give it; every field of `Row`
/// is filled so, in table order, so the first bad property names the
/// reason. `graph_order`
/// lists Graph's spellings in its order (what each is comes from the same
/// match, so the list can only be slow, never wrong).
macro_rules! fields_table {
    // The columns, gathered one row at a time (rows without `=>` have
    // none); then `to_row`, which fills them all in one struct literal.
    (@columns $Raw:ident $Row:ident [
        $([$(#[cfg($c:meta)])*] $col:ident $norm:ident $name:literal $f:ident;)*
    ]) => {
        impl<'a> $Raw<'a> {
            /// The row of this object: each column checked and converted
            /// from its property, in table order, so the first bad one
            /// gives the reason.
            #[inline(always)]
            pub(crate) fn to_row<'s>(
                &'s self,
                cx: &mut normalise::Cx<'s>,
            ) -> Result<$Row<'s>, String> {
                Ok($Row {
                    $($(#[cfg($c)])* $col: normalise::$norm($name, &self.$f, cx)?,)*
                })
            }
        }
    };
    (@columns $Raw:ident $Row:ident [$($done:tt)*]
        $(#[doc = $fdoc:literal])*
        $(#[cfg($cfg:meta)])*
        $field:ident: $ty:ty = $Variant:ident [$($folded:literal)|+]
        => $column:ident = $norm:ident($name:literal);
        $($rest:tt)*
    ) => {
        fields_table! {
            @columns $Raw $Row [$($done)* [$(#[cfg($cfg)])*] $column $norm $name $field;]
            $($rest)*
        }
    };
    (@columns $Raw:ident $Row:ident [$($done:tt)*]
        $(#[doc = $fdoc:literal])*
        $(#[cfg($cfg:meta)])*
        $field:ident: $ty:ty = $Variant:ident [$($folded:literal)|+];
        $($rest:tt)*
    ) => {
        fields_table! { @columns $Raw $Row [$($done)*] $($rest)* }
    };
    (
        $(#[doc = $doc:literal])*
        struct $Raw:ident, key $Key:ident, row $Row:ident;
        graph_order [$($graph:literal),* $(,)?];
        $($rows:tt)*
    ) => {
        fields_table! { @columns $Raw $Row [] $($rows)* }
        fields_table! {
            $(#[doc = $doc])*
            struct $Raw, key $Key;
            graph_order [$($graph),*];
            $($rows)*
        }
    };
    (
        $(#[doc = $doc:literal])*
        struct $Raw:ident, key $Key:ident;
        graph_order [$($graph:literal),* $(,)?];
        $(
            $(#[doc = $fdoc:literal])*
            $(#[cfg($cfg:meta)])*
            $field:ident: $ty:ty = $Variant:ident [$($folded:literal)|+]
            $(=> $column:ident = $norm:ident($name:literal))?;
        )*
    ) => {
        #[doc = concat!("What a property of [`", stringify!($Raw), "`] is.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $Key {
            $(
                $(#[cfg($cfg)])*
                $Variant,
            )*
            Other,
        }

        $(#[doc = $doc])*
        #[derive(Debug, Default, Clone, PartialEq)]
        pub struct $Raw<'a> {
            $(
                $(#[doc = $fdoc])*
                $(#[cfg($cfg)])*
                pub $field: $ty,
            )*
        }

        impl $Raw<'_> {
            /// What a folded property name is: one match, for every
            /// property of every record serde reads.
            #[inline(always)]
            const fn folded(name: &[u8]) -> $Key {
                match name {
                    $(
                        $(#[cfg($cfg)])*
                        $($folded)|+ => $Key::$Variant,
                    )*
                    _ => $Key::Other,
                }
            }
        }

        impl<'a> Fields<'a> for $Raw<'a> {
            type Key = $Key;

            const GRAPH_ORDER: &'static [(&'static [u8], $Key)] = &[
                $((concat!("\"", $graph, "\":").as_bytes(), {
                    // What `key` says of the name, worked out at compile time.
                    let (buf, n) = fold_const($graph);
                    if n > FOLDED_MAX {
                        $Key::Other
                    } else {
                        $Raw::folded(buf.split_at(n).0)
                    }
                }),)*
            ];

            fn key(name: &str) -> $Key {
                let mut buf = [0u8; FOLDED_MAX];
                match fold(name, &mut buf) {
                    Some(n) => Self::folded(&buf[..n]),
                    None => $Key::Other,
                }
            }

            #[inline(always)]
            fn read<R: ReadValues<'a>>(&mut self, key: $Key, r: &mut R) -> R::Out {
                match key {
                    $(
                        $(#[cfg($cfg)])*
                        $Key::$Variant => r.read_into(&mut self.$field),
                    )*
                    $Key::Other => r.skip(),
                }
            }
        }
    };
}

fields_table! {
    /// An operation object as read, before validation (README "Input").
    struct RawOp, key OpKey, row OperationRow;
    graph_order [
        "@odata.type", "id", "operationType", "status", "createdDateTime",
        "startedDateTime", "completedDateTime", "lastActionDateTime",
        "createdBy", "lastActionBy", "error",
        // Not Graph's: exports that merge devices add it, last.
        "deviceId",
    ];
    id: Text<'a> = Id [b"id"] => id = required("id");
    /// Else the device its container names (see [`super::device`]).
    device_id: Text<'a> = DeviceId [b"deviceid" | b"teamworkdeviceid"]
        => device_id = device("deviceId");
    operation_type: Text<'a> = OperationType [b"operationtype"]
        => operation_type = text("operationType");
    /// Two columns: `status`, its normal form, and `status_raw`.
    status: Text<'a> = Status [b"status"] => status = status("status");
    created: Text<'a> = Created [b"createddatetime"] => created = time("createdDateTime");
    started: Text<'a> = Started [b"starteddatetime"] => started = time("startedDateTime");
    completed: Text<'a> = Completed [b"completeddatetime"]
        => completed = time("completedDateTime");
    last_action: Text<'a> = LastAction [b"lastactiondatetime"]
        => last_action = time("lastActionDateTime");
    error: Option<RawError<'a>> = Error [b"error"] => error = error("error");
    created_by: Option<RawIdentitySet<'a>> = CreatedBy [b"createdby"]
        => created_by = identity_set("createdBy");
    last_action_by: Option<RawIdentitySet<'a>> = LastActionBy [b"lastactionby"]
        => last_action_by = identity_set("lastActionBy");
    /// A single entity's own `@odata.context`: may name its device.
    context: Text<'a> = Context [b"@odata.context"];
    /// A single entity's own `@odata.nextLink`: may name its device.
    next_link: Text<'a> = NextLink [b"@odata.nextlink"];
    /// Has a `value` or `responses` property: maybe a page, not an operation.
    envelope: Present = Envelope [b"value" | b"responses"];
    /// A property the unit tests add, to show the table's row, the schema's
    /// column and the builder's are all a property needs.
    #[cfg(test)]
    test_note: Text<'a> = TestNote [b"testnote"] => test_note = text("testNote");
}

fields_table! {
    /// `{code, message}`: a Graph operationError.
    struct RawError, key ErrKey;
    // Read without an expected order (see the scanner's `error`).
    graph_order [];
    code: Text<'a> = Code [b"code"];
    message: Text<'a> = Message [b"message"];
}

fields_table! {
    /// `{user, application, device}`: a Graph identitySet; members that are
    /// not objects read as NULL.
    struct RawIdentitySet, key SetKey;
    graph_order ["application", "device", "user"];
    user: Option<RawIdentity<'a>> = User [b"user"];
    application: Option<RawIdentity<'a>> = Application [b"application"];
    device: Option<RawIdentity<'a>> = Device [b"device"];
}

fields_table! {
    /// `{id, displayName}`: one identity of an identitySet.
    struct RawIdentity, key IdKey;
    // A user's identity has a `userIdentityType`, an application's an
    // `applicationIdentityType`.
    graph_order [
        "@odata.type", "id", "displayName", "userIdentityType", "applicationIdentityType",
    ];
    id: Text<'a> = Id [b"id"];
    display_name: Text<'a> = DisplayName [b"displayname"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(key_is("CreatedDateTime", "createddatetime"));
        assert!(key_is("created_date_time", "createddatetime"));
        assert!(!key_is("createdDate", "createddatetime"));
        assert_eq!(RawOp::key("ID"), OpKey::Id);
        assert_eq!(RawOp::key("TeamworkDeviceId"), OpKey::DeviceId);
        assert_eq!(RawOp::key("@odata.nextLink"), OpKey::NextLink);
        assert_eq!(RawOp::key("last_action_date_time"), OpKey::LastAction);
        assert_eq!(
            RawOp::key("a_very_long_property_name_over_24"),
            OpKey::Other
        );
        assert_eq!(RawIdentity::key("Display_Name"), IdKey::DisplayName);
    }

    /// The Graph-order lists say what each name is as the match does.
    #[test]
    fn graph_order_lists() {
        let op: Vec<(String, OpKey)> = RawOp::GRAPH_ORDER
            .iter()
            .map(|(p, k)| (String::from_utf8(p.to_vec()).unwrap(), *k))
            .collect();
        assert_eq!(op[0], ("\"@odata.type\":".into(), OpKey::Other));
        assert_eq!(op[2], ("\"operationType\":".into(), OpKey::OperationType));
        assert_eq!(op[11], ("\"deviceId\":".into(), OpKey::DeviceId));
        for (p, k) in RawOp::GRAPH_ORDER {
            let name = std::str::from_utf8(&p[1..p.len() - 2]).unwrap();
            assert_eq!(RawOp::key(name), *k, "{name}");
        }
        for (p, k) in RawIdentity::GRAPH_ORDER {
            let name = std::str::from_utf8(&p[1..p.len() - 2]).unwrap();
            assert_eq!(RawIdentity::key(name), *k, "{name}");
        }
        for (p, k) in RawIdentitySet::GRAPH_ORDER {
            let name = std::str::from_utf8(&p[1..p.len() - 2]).unwrap();
            assert_eq!(RawIdentitySet::key(name), *k, "{name}");
        }
    }

    /// The test-only `testNote` row above, its column in `src/schema.rs`
    /// and its builder in `batch.rs` are all it takes: the property reaches
    /// its Parquet column by the scanner and by serde, whatever its
    /// spelling, and a bad value rejects the record under its name.
    #[test]
    fn a_property_added_to_the_table_reaches_its_parquet_column() {
        use arrow::array::{Array, AsArray};

        use crate::ingest::dataset::{self, Dataset};
        use crate::ingest::{self, Options};
        use crate::schema::{col, idx};

        let dir = tempfile::tempdir().expect("a temp folder");
        let input = dir.path().join("ops.ndjson");
        let lines = [
            // Read by the scanner.
            r#"{"id":"a","testNote":"scanned"}"#,
            // An escaped property name: left to serde.
            r#"{"id":"b","test\u004eote":"by serde"}"#,
            // Another spelling, on a list page.
            r#"{"value":[{"id":"c","Test_Note":"on a page"}]}"#,
            r#"{"id":"d"}"#,
            r#"{"id":"e","testNote":{"not":"text"}}"#,
        ];
        std::fs::write(&input, lines.join("\n")).expect("write the input");
        let out = dir.path().join("dataset");
        let report = ingest::ingest_dataset(&[input], &out, &Options::default()).expect("ingests");
        assert_eq!(report.counts.rows, 4);
        assert_eq!(report.counts.rejected, 1);

        let mut notes = Vec::new();
        for part in Dataset::new(&out).files().expect("parts") {
            dataset::read_part(&part, |b| {
                assert_eq!(b.schema().field(idx::TEST_NOTE).name(), col::TEST_NOTE);
                let ids = b.column(idx::ID).as_string::<i32>();
                let note = b.column(idx::TEST_NOTE).as_string::<i32>();
                for i in 0..b.num_rows() {
                    let n = note.is_valid(i).then(|| note.value(i).to_string());
                    notes.push((ids.value(i).to_string(), n));
                }
                Ok(())
            })
            .expect("reads the part");
        }
        notes.sort();
        let want = [
            ("a", Some("scanned")),
            ("b", Some("by serde")),
            ("c", Some("on a page")),
            ("d", None),
        ];
        let want: Vec<(String, Option<String>)> = want
            .iter()
            .map(|(i, n)| (i.to_string(), n.map(str::to_string)))
            .collect();
        assert_eq!(notes, want);

        let rejects = std::fs::read_to_string(report.rejects_file.expect("a reject"))
            .expect("reads the rejects");
        assert!(
            rejects.contains("testNote: expected text, found an object"),
            "{rejects}"
        );
    }
}
