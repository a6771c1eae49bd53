//! Counts and sizes as a person reads them.

pub fn count(n: u64, noun: &str) -> String {
    let plural = match noun {
        "directory" => "directories".to_string(),
        "entry" => "entries".to_string(),
        _ => format!("{noun}s"),
    };
    format!("{} {}", grouped(n), if n == 1 { noun } else { &plural })
}

/// `1023 B`, `1.5 KiB`, `2.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Every byte: `2,150 B`.
pub fn exact_bytes(n: u64) -> String {
    format!("{} B", grouped(n))
}

/// Two sizes to be told apart: rounded, unless rounding would make two
/// different sizes read the same (`2.1 KiB` and `2.1 KiB`), then exact.
pub fn two_sizes(a: u64, b: u64) -> (String, String) {
    let (rounded_a, rounded_b) = (bytes(a), bytes(b));
    if a != b && rounded_a == rounded_b {
        (exact_bytes(a), exact_bytes(b))
    } else {
        (rounded_a, rounded_b)
    }
}

/// `12,345,678`: digits in groups of three.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(bytes(32), "32 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn two_sizes_that_round_alike_are_shown_exactly() {
        assert_eq!(two_sizes(2150, 2148), ("2,150 B".into(), "2,148 B".into()));
        assert_eq!(two_sizes(2150, 2150), ("2.1 KiB".into(), "2.1 KiB".into()));
        assert_eq!(two_sizes(64, 32), ("64 B".into(), "32 B".into()));
        assert_eq!(grouped(1_073_741_825), "1,073,741,825");
        assert_eq!(grouped(999), "999");
    }
}
