//! How numbers are written for people, in one place for every layer: object ids and addresses in
//! hex, counts with thousands separators, sizes in binary units. (Descriptions of objects are
//! made in the analyses and read in every report, so these sit below both.)

/// `0x1f40` for an object id or address.
pub fn hex(v: u64) -> String {
    format!("0x{v:x}")
}

/// Serialises a `u64` as its [`hex`] string (`#[serde(serialize_with = "crate::units::serialize_hex")]`).
pub fn serialize_hex<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(*v))
}

/// `1234567` -> `1,234,567`.
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// [`thousands`] with a sign: `-1,024`.
pub fn thousands_signed(v: i64) -> String {
    let out = thousands(v.unsigned_abs());
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Binary units with three significant digits: `1.21 GiB`, `640 B`.
pub fn human_bytes(v: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if v < 1024 {
        return format!("{v} B");
    }
    let mut x = v as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    if x >= 100.0 {
        format!("{x:.0} {}", UNITS[u])
    } else if x >= 10.0 {
        format!("{x:.1} {}", UNITS[u])
    } else {
        format!("{x:.2} {}", UNITS[u])
    }
}

/// Seconds since the Unix epoch as a UTC calendar time: (year, month, day, hour, minute,
/// second). The civil date is Howard Hinnant's algorithm, exact for any day.
pub fn utc_fields(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_people_read_them() {
        assert_eq!(hex(0xf03cd580), "0xf03cd580");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands_signed(-1024), "-1,024");
        assert_eq!(thousands_signed(i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(human_bytes(640), "640 B");
        assert_eq!(human_bytes(1024), "1.00 KiB");
        assert_eq!(human_bytes(4_344_376), "4.14 MiB");
        assert_eq!(human_bytes(u64::MAX), "16384 PiB");
        assert_eq!(utc_fields(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(utc_fields(1_796_134_863), (2026, 12, 1, 14, 21, 3));
        assert_eq!(utc_fields(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(utc_fields(-1), (1969, 12, 31, 23, 59, 59));
    }
}
