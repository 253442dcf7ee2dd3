//! Arbitrary text through the hand-written reader and through serde_json.
//! Invariant: whatever `ingest::decode::scanner` accepts (an operation object, a list
//! page), serde_json accepts too and decodes to the same value.
#![no_main]

use fleetops::internals::ingest::decode::{Decoded, fallback, scanner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fast) = scanner::op_document(text) {
        match fallback::parse_str(text) {
            Ok(Decoded::Object(slow)) => assert_eq!(fast, *slow),
            other => panic!("scan accepted what serde_json reads as {other:?}"),
        }
    }
    if let Some(fast) = scanner::page(text) {
        let slow = fallback::page(text).expect("serde_json accepts the page");
        assert_eq!(fast.context, slow.context);
        assert_eq!(fast.next_link, slow.next_link);
        assert_eq!(fast.ops.len(), slow.ops.len());
        for (f, s) in fast.ops.iter().zip(&slow.ops) {
            match s {
                Decoded::Object(s) => assert_eq!(f, &**s),
                Decoded::NotObject(_) => panic!("scan read a non-object element"),
            }
        }
    }
});
