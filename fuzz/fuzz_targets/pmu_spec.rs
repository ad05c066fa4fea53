//! `--pmu-events` specs on arbitrary text: the parser must never panic, and whatever it accepts
//! must survive the parameter block and the capture's `G` record unchanged.
#![no_main]

use ivc_proto::pmu::{parse_group_item, GroupList, Selection};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = std::str::from_utf8(data) else { return };
    let Ok(sel) = Selection::parse(spec) else { return };
    assert_eq!(Selection::decode(&sel.encode()), Some(sel));
    let list = GroupList(sel.as_slice()).to_string();
    if !sel.is_empty() {
        let back: Vec<_> = list.split(',').map(|i| parse_group_item(i).expect("a G record item parses")).collect();
        assert_eq!(back, sel.as_slice());
    }
    for c in sel.as_slice() {
        let _ = c.column().to_string();
    }
});
