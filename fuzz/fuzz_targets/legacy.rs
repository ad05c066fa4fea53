//! The artifact's table readers on arbitrary bytes: never a panic, and a file the strict reader
//! accepts reads the same, with no problem, leniently.
#![no_main]

use ivcbench::report::legacy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (notif, problems) = legacy::parse_notif_lenient(data);
    if let Ok(strict) = legacy::parse_notif(data) {
        assert!(problems.is_empty());
        assert_eq!(strict, notif);
    }
    let (transfer, problems) = legacy::parse_transfer_lenient(data);
    if let Ok(strict) = legacy::parse_transfer(data) {
        assert!(problems.is_empty());
        assert_eq!(strict, transfer);
    }
});
