//! The capture decoder on arbitrary bytes: it must never panic, the strict and lenient decoders
//! must agree, and decoding line by line must give what decoding the whole does.
#![no_main]

use ivc_proto::capture::{decode, decode::Decoder, decode_lenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lenient = decode_lenient(data);
    match decode(data) {
        Ok(strict) => {
            assert!(lenient.errors().is_empty());
            assert_eq!(strict, lenient);
        }
        Err(e) => assert_eq!(lenient.errors().first().map(|f| (*f).clone()), Some(e)),
    }
    // A group's columns are the ones its names say: the header's, plus a PMU group's counters
    // and `cycles`.
    for r in &lenient.runs {
        for g in &r.groups {
            assert_eq!(g.columns.len().max(r.header.columns.len()), g.names(&r.header).len());
        }
    }
    let mut d = Decoder::default();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        d.line(i + 1, line);
    }
    assert_eq!(d.finish(), lenient);
});
