//! CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): small enough to compute bit by bit on a guest
//! at console speed, and catches every single-byte and burst-of-16 error in a record line.

pub const fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    let mut i = 0;
    while i < data.len() {
        crc ^= (data[i] as u16) << 8;
        let mut b = 0;
        while b < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            b += 1;
        }
        i += 1;
    }
    crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_value() {
        // The catalogue's check value for CRC-16/CCITT-FALSE.
        assert_eq!(super::crc16(b"123456789"), 0x29B1);
    }
}
