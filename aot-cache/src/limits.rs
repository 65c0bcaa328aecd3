//! Human-friendly sizes (`5G`, `500M`) and ages (`7d`, `12h`) for cache limits.

use std::time::Duration;

/// The cache size limit when `VMX_CACHE_MAXSIZE` is not set: 5 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 5 << 30;

/// A size or age string that cannot be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    /// Not a size.
    #[error("bad size {0:?}: expected a number with an optional K, M, G or T suffix (powers of 1024), e.g. 500M or 5G")]
    Size(String),
    /// Not an age.
    #[error("bad age {0:?}: expected a number with a s, m, h, d or w suffix, e.g. 7d or 12h")]
    Age(String),
}

/// Splits `"12.5G"` into `(12.5, "G")`.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let value: f64 = num.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some((value, unit.trim()))
}

/// Parses a byte size: a number with an optional `K`, `M`, `G` or `T` suffix (powers of
/// 1024; `KB`/`KiB` spellings and lowercase accepted; a bare number is bytes).
pub fn parse_size(s: &str) -> Result<u64, LimitError> {
    let bad = || LimitError::Size(s.to_string());
    let (value, unit) = split_number(s).ok_or_else(bad)?;
    let unit = unit.to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(bad()),
    };
    let bytes = value * (1u64 << shift) as f64;
    if bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// Formats a byte count the way [`parse_size`] reads it, e.g. `1.5 GiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Parses an age: a number with a `s`, `m`, `h`, `d` or `w` suffix (a bare number is
/// seconds).
pub fn parse_age(s: &str) -> Result<Duration, LimitError> {
    let bad = || LimitError::Age(s.to_string());
    let (value, unit) = split_number(s).ok_or_else(bad)?;
    let secs = match unit {
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "w" => 7.0 * 86400.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(value * secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("5G"), Ok(5 << 30));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("500m"), Ok(500 << 20));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("2 GB"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in ["", "G", "-1G", "5X", "1e3", "5GG", "nan", "99999999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_size(10), "10 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(5 << 30), "5.0 GiB");
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_age("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_age("1w"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        for bad in ["", "d", "7 days", "-1d", "7y"] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
    }
}
