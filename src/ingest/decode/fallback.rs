//! The serde path: what the scanner leaves, and the reference it is tested
//! against.
//!
//! A borrowed serde pass straight into the [`fields`](super::fields)
//! structs: no DOM per record, no allocation for unescaped strings. It reads
//! everything serde_json reads, and gives a malformed record its exact error
//! message. `tests/scan_props.rs` and the `scan` fuzz target check that the
//! scanner, wherever it decides, decides as this path does.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::envelope::{Decline, Page, PageParts};
use super::fields::{Fields, Present, RawOp, ReadInto, Reader, Text};

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

/// The value of the entry a map stands at, read into a field.
struct NextValue<'m, 'de, A>(&'m mut A, PhantomData<&'de ()>);

impl<'m, 'de, A: MapAccess<'de>> NextValue<'m, 'de, A> {
    fn new(map: &'m mut A) -> Self {
        NextValue(map, PhantomData)
    }
}

impl<'de, A: MapAccess<'de>> Reader for NextValue<'_, 'de, A> {
    type Out = Result<(), A::Error>;
    fn skip(&mut self) -> Self::Out {
        self.0.next_value::<IgnoredAny>().map(drop)
    }
}

impl<'de, A: MapAccess<'de>> ReadInto<Text<'de>> for NextValue<'_, 'de, A> {
    fn read_into(&mut self, out: &mut Text<'de>) -> Self::Out {
        *out = self.0.next_value()?;
        Ok(())
    }
}

impl<'de, A: MapAccess<'de>> ReadInto<Present> for NextValue<'_, 'de, A> {
    fn read_into(&mut self, out: &mut Present) -> Self::Out {
        out.0 = true;
        self.skip()
    }
}

/// The nested objects (error, identitySet, identity), read leniently.
impl<'de, A: MapAccess<'de>, T: Fields<'de>> ReadInto<Option<T>> for NextValue<'_, 'de, A> {
    fn read_into(&mut self, out: &mut Option<T>) -> Self::Out {
        *out = self.0.next_value::<Lenient<T>>()?.0;
        Ok(())
    }
}

/// A list page's operations.
impl<'de, A: MapAccess<'de>> ReadInto<Vec<Decoded<'de>>> for NextValue<'_, 'de, A> {
    fn read_into(&mut self, out: &mut Vec<Decoded<'de>>) -> Self::Out {
        *out = self.0.next_value_seed(Elems)?;
        Ok(())
    }
}

impl<'de, A: MapAccess<'de>> Decline for NextValue<'_, 'de, A> {
    fn decline(&mut self) -> Self::Out {
        Err(serde::de::Error::custom("not a list page"))
    }
}

/// Reads the entries of `map` into `out` by its table.
#[inline]
fn fill<'de, T: Fields<'de>, A: MapAccess<'de>>(out: &mut T, mut map: A) -> Result<(), A::Error> {
    while let Some(k) = map.next_key_seed(KeySeed(T::key))? {
        out.read(k, &mut NextValue::new(&mut map))?;
    }
    Ok(())
}

/// An object read leniently: anything that is not an object is `None`.
/// (PowerShell's shallow `ConvertTo-Json` writes nested objects as type names.)
struct Lenient<T>(Option<T>);

impl<'de, T: Fields<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Fields<'de>> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let mut out = T::default();
                fill(&mut out, map)?;
                Ok(Lenient(Some(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
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
        d.deserialize_any(V(PhantomData))
    }
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
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut op = Box::<RawOp>::default();
        fill(&mut *op, map)?;
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
struct OpSeed;

impl<'de> DeserializeSeed<'de> for OpSeed {
    type Value = Decoded<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Decoded<'de>, D::Error> {
        d.deserialize_any(OpVisitor)
    }
}

/// Parses one record's JSON. `Err` is malformed JSON.
pub fn parse_bytes(bytes: &[u8]) -> Result<Decoded<'_>, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        // Text already known to be UTF-8 skips serde_json's per-string check.
        Ok(text) => parse_str(text),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let v = de.deserialize_any(OpVisitor)?;
            de.end()?;
            Ok(v)
        }
    }
}

/// [`parse_bytes`] for text known to be UTF-8: the reference
/// [`super::scanner::op_document`] must agree with.
pub fn parse_str(text: &str) -> Result<Decoded<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = de.deserialize_any(OpVisitor)?;
    de.end()?;
    Ok(v)
}

/// A list page or a top-level array read by serde alone (by the rules of
/// `PageParts` in [`super::envelope`]), its elements decoded in the same
/// pass: the reference [`super::scanner::page`] must agree with. `None`
/// when it is no list page or not valid JSON.
pub fn page(text: &str) -> Option<Page<'_, Decoded<'_>>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let page = de.deserialize_any(PageVisitor).ok()?;
    de.end().ok()?;
    Some(page)
}

struct PageVisitor;

/// The elements of a JSON array, each decoded as an operation.
struct Elems;

impl<'de> DeserializeSeed<'de> for Elems {
    type Value = Vec<Decoded<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(PageVisitor).map(|p: Page<'de, _>| p.ops)
    }
}

impl<'de> Visitor<'de> for PageVisitor {
    type Value = Page<'de, Decoded<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of operations")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut ops = Vec::with_capacity(seq.size_hint().unwrap_or(64));
        while let Some(e) = seq.next_element_seed(OpSeed)? {
            ops.push(e);
        }
        Ok(Page::list(ops))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut parts = PageParts::default();
        while let Some(k) = map.next_key::<Cow<'de, str>>()? {
            parts.read(&k, &mut NextValue::new(&mut map))?;
        }
        parts
            .finish()
            .ok_or_else(|| serde::de::Error::custom("not a list page"))
    }
}
