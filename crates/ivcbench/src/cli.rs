//! Parsers for the units people type: durations (`10ms`) and sizes (`16M`).

use anyhow::{bail, Result};
use std::time::Duration;

/// `500ns`, `100us`, `10ms`, `2s` (a bare number is nanoseconds).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let Ok(v) = num.parse::<f64>() else { bail!("`{s}` is not a duration (e.g. 10ms, 100us, 2s)") };
    let scale = match unit {
        "" | "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "min" => 60.0,
        _ => bail!("`{s}`: unknown unit `{unit}` (use ns, us, ms, s, min)"),
    };
    Ok(Duration::from_secs_f64(v * scale))
}

/// `4096`, `4K`, `16M` (binary multiples, as the seed's buffer names are).
pub fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, mult) = match s.strip_suffix(['K', 'k']) {
        Some(n) => (n, 1u64 << 10),
        None => match s.strip_suffix(['M', 'm']) {
            Some(n) => (n, 1 << 20),
            None => (s, 1),
        },
    };
    match num.parse::<u64>() {
        Ok(v) if v > 0 => Ok(v * mult),
        _ => bail!("`{s}` is not a size (e.g. 4096, 4K, 16M)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("10ms").unwrap(), Duration::from_millis(10));
        assert_eq!(parse_duration("100us").unwrap(), Duration::from_micros(100));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("10 parsecs").is_err());
        assert_eq!(parse_size("16M").unwrap(), 16 << 20);
        assert_eq!(parse_size("4K").unwrap(), 4096);
        assert!(parse_size("0").is_err());
        assert!(parse_size("big").is_err());
    }
}
