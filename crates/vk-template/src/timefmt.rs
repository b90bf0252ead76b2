//! Go `time.Time.Format` for UTC instants (what `timestamp` needs), from Unix seconds.

use vk_go::{civil_from_days, days_from_civil};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Format a UTC instant with a Go reference-time layout.
pub(crate) fn format(secs: i64, nanos: u32, layout: &str) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s) = (sod / 3600, (sod / 60) % 60, sod % 60);
    let wd = (days + 4).rem_euclid(7) as usize;
    let yday = days - days_from_civil(y, 1, 1) + 1;
    let mut out = String::new();
    let mut rest = layout;
    // Longest tokens first, as Go's layout scanner prefers them.
    const TOKENS: &[&str] = &[
        "January",
        "Monday",
        "Z07:00:00",
        "-07:00:00",
        "Z07:00",
        "-07:00",
        "Z0700",
        "-0700",
        "Z07",
        "-07",
        "2006",
        "002",
        "__2",
        "Jan",
        "Mon",
        "MST",
        "01",
        "02",
        "_2",
        "03",
        "04",
        "05",
        "06",
        "15",
        "PM",
        "pm",
        "1",
        "2",
        "3",
        "4",
        "5",
    ];
    while !rest.is_empty() {
        if let Some(frac) = fraction_token(rest) {
            let digits = format!("{nanos:09}");
            let n = frac.len() - 1;
            let shown = &digits[..n.min(9)];
            if frac.as_bytes()[1] == b'9' {
                let t = shown.trim_end_matches('0');
                if !t.is_empty() {
                    out.push_str(&frac[..1]);
                    out.push_str(t);
                }
            } else {
                out.push_str(&frac[..1]);
                out.push_str(shown);
            }
            rest = &rest[frac.len()..];
            continue;
        }
        let Some(tok) = TOKENS.iter().find(|t| rest.starts_with(**t)) else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let h12 = if h % 12 == 0 { 12 } else { h % 12 };
        let piece = match *tok {
            "January" => MONTHS[(mo - 1) as usize].to_string(),
            "Jan" => MONTHS[(mo - 1) as usize][..3].to_string(),
            "Monday" => DAYS[wd].to_string(),
            "Mon" => DAYS[wd][..3].to_string(),
            "MST" => "UTC".into(),
            "2006" => format!("{y:04}"),
            "06" => format!("{:02}", y.rem_euclid(100)),
            "01" => format!("{mo:02}"),
            "1" => mo.to_string(),
            "02" => format!("{d:02}"),
            "_2" => format!("{d:>2}"),
            "2" => d.to_string(),
            "002" => format!("{yday:03}"),
            "__2" => format!("{yday:>3}"),
            "15" => format!("{h:02}"),
            "03" => format!("{h12:02}"),
            "3" => h12.to_string(),
            "04" => format!("{mi:02}"),
            "4" => mi.to_string(),
            "05" => format!("{s:02}"),
            "5" => s.to_string(),
            "PM" => (if h >= 12 { "PM" } else { "AM" }).into(),
            "pm" => (if h >= 12 { "pm" } else { "am" }).into(),
            t if t.starts_with('Z') => "Z".into(),
            "-07:00:00" => "+00:00:00".into(),
            "-07:00" => "+00:00".into(),
            "-0700" => "+0000".into(),
            "-07" => "+00".into(),
            _ => String::new(),
        };
        out.push_str(&piece);
        rest = &rest[tok.len()..];
    }
    out
}

/// `.000`/`,000` or `.999`/`,999` style fractional seconds.
fn fraction_token(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() < 2 || !(b[0] == b'.' || b[0] == b',') || !(b[1] == b'0' || b[1] == b'9') {
        return None;
    }
    let digit = b[1];
    let mut n = 1;
    while n < b.len() && b[n] == digit {
        n += 1;
    }
    if n < b.len() && b[n].is_ascii_digit() {
        return None;
    }
    Some(&s[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        // 2024-02-29T13:04:05Z, a Thursday.
        let t = 1_709_211_845;
        assert_eq!(
            format(t, 0, "2006-01-02T15:04:05Z07:00"),
            "2024-02-29T13:04:05Z"
        );
        assert_eq!(
            format(t, 120_000_000, "Mon Jan _2 3:04PM .000 .999 MST 002"),
            "Thu Feb 29 1:04PM .120 .12 UTC 060"
        );
        assert_eq!(format(0, 0, "2006-01-02"), "1970-01-01");
    }
}
