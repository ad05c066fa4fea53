//! Log-linear histogram buckets: a million samples per cell in a few kilobytes of capture.
//!
//! Values below 2^SUB_BITS have a bucket each; above, every power of two is split into 2^SUB_BITS
//! equal buckets. A bucket's width is at most 1/2^SUB_BITS of its lower bound, so any value read
//! back from a bucket (its midpoint) is within [`REL_ERROR`] of the value measured.

/// Sub-buckets per power of two.
pub const SUB_BITS: u32 = 6;
/// Buckets for every u64 value.
pub const BUCKETS: usize = (64 - SUB_BITS as usize + 1) << SUB_BITS;
/// Bound on the relative error of a value read back from its bucket (1/64, 1.6%).
pub const REL_ERROR: f64 = 1.0 / (1u64 << SUB_BITS) as f64;

/// The bucket of `v`.
pub const fn bucket(v: u64) -> usize {
    if v < (1 << SUB_BITS) {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS;
    (((shift + 1) as usize) << SUB_BITS) + ((v >> shift) as usize & ((1 << SUB_BITS) - 1))
}

/// The smallest value of bucket `i`, and the bucket's width.
pub const fn bounds(i: usize) -> (u64, u64) {
    let sub = 1usize << SUB_BITS;
    if i < sub {
        return (i as u64, 1);
    }
    let shift = (i >> SUB_BITS) - 1;
    let m = i & (sub - 1);
    (((sub + m) as u64) << shift, 1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lies_in_its_bucket_within_the_bound() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            for x in [v - 1, v, v + 1, v + v / 3] {
                let (low, width) = bounds(bucket(x));
                assert!(low <= x && x - low < width, "{x} in [{low}, +{width})");
                assert!(bucket(x) < BUCKETS);
                if x >= 64 {
                    assert!(width as f64 / low as f64 <= REL_ERROR);
                }
            }
            v = v * 3 / 2 + 1;
        }
        assert_eq!(bucket(63), 63);
        assert_eq!(bucket(64), 64);
        assert_eq!(bucket(128), 128);
        assert_eq!(bounds(bucket(1007)), (1000, 8));
    }
}
