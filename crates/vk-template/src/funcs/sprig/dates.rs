//! Sprig's hermetic duration functions (`date.go`); the clock-reading ones are not registered.

use super::define;
use crate::funcs::{Impl, P, Registry, ok_str};
use crate::value::{IntKind, Value};

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
    s("duration", &[P::Any], None, |_, a| {
        let n: i64 = match &a[0] {
            Value::Str(t) => t.parse().unwrap_or(0),
            Value::Int(i, IntKind::Int64) => *i,
            _ => 0,
        };
        ok_str(go_duration(i128::from(n) * 1_000_000_000))
    });
    s("durationRound", &[P::Any], None, |_, a| {
        let d: i128 = match &a[0] {
            Value::Str(t) => vk_go::parse_duration(t).map_or(0, i128::from),
            Value::Int(i, IntKind::Int64) => i128::from(*i),
            _ => 0,
        };
        let u = d.unsigned_abs();
        let hour: u128 = 3_600_000_000_000;
        let units = [
            (hour * 24 * 365, "y"),
            (hour * 24 * 30, "mo"),
            (hour * 24, "d"),
            (hour, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
        ];
        for (size, name) in units {
            if u > size {
                return ok_str(format!("{}{name}", u / size));
            }
        }
        ok_str("0s".into())
    });
}

/// Go's `time.Duration.String`.
pub(crate) fn go_duration(d: i128) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let h = secs / 3600;
        let m = (secs / 60) % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(u % 60_000_000_000, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac(v: u128, div: u128) -> String {
    let whole = v / div;
    let rest = v % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}
