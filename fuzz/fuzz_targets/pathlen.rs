//! The path-length file decoder (ivc_proto::pathlen) on arbitrary bytes: it must never panic,
//! and what it decodes must write back to text that decodes to the same.
#![no_main]

use ivc_proto::pathlen::{calibration_line, decode, header_line, sample_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = decode(text) {
        let mut again = header_line(p.vcpus);
        p.samples.iter().for_each(|s| again += &sample_line(s));
        p.calibrations.iter().for_each(|c| again += &calibration_line(c));
        assert_eq!(decode(&again), Ok(p));
    }
});
