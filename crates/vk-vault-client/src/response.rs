//! Responses of logical operations: the body exactly as received plus the parsed envelope.

use std::fmt;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The standard Vault response envelope, without the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `request_id`.
    pub request_id: String,
    /// `lease_id` (`""` for KV).
    pub lease_id: String,
    /// `lease_duration` in seconds.
    pub lease_duration: u64,
    /// `renewable`.
    pub renewable: bool,
    /// `warnings` (`None` when the field was `null` or absent).
    pub warnings: Option<Vec<String>>,
    /// `data` is present and not `null`.
    pub has_data: bool,
    /// `auth` is present and not `null` (e.g. `auth/token/create`).
    pub has_auth: bool,
    /// `wrap_info` is present and not `null`.
    pub has_wrap_info: bool,
}

#[derive(Deserialize)]
struct EnvelopeWire {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    lease_id: Option<String>,
    #[serde(default)]
    lease_duration: Option<u64>,
    #[serde(default)]
    renewable: Option<bool>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    #[serde(default)]
    data: Option<IgnoredAny>,
    #[serde(default)]
    auth: Option<IgnoredAny>,
    #[serde(default)]
    wrap_info: Option<IgnoredAny>,
}

impl Envelope {
    pub(crate) fn parse(body: &str) -> Result<Self, serde_json::Error> {
        let w: EnvelopeWire = serde_json::from_str(body)?;
        Ok(Self {
            request_id: w.request_id.unwrap_or_default(),
            lease_id: w.lease_id.unwrap_or_default(),
            lease_duration: w.lease_duration.unwrap_or_default(),
            renewable: w.renewable.unwrap_or_default(),
            warnings: w.warnings,
            has_data: w.data.is_some(),
            has_auth: w.auth.is_some(),
            has_wrap_info: w.wrap_info.is_some(),
        })
    }
}

/// A logical response. `body` is the JSON text exactly as Vault sent it (number literals
/// untouched, so the template engine can keep `json.Number` semantics); it is empty for 204.
///
/// `Debug` shows only the status, the envelope and the body length: the body holds secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// HTTP status (200, 204, or 404 for reads that returned nothing).
    pub status: u16,
    /// The response body, verbatim.
    pub body: String,
    /// The parsed envelope (`None` for an empty body).
    pub envelope: Option<Envelope>,
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("envelope", &self.envelope)
            .finish()
    }
}

impl RawResponse {
    /// `true` when the response carried a non-null `data` object.
    pub fn has_data(&self) -> bool {
        self.envelope.as_ref().is_some_and(|e| e.has_data)
    }

    /// `true` for HTTP 404.
    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    /// The body as a JSON value (`None` for an empty body). Without serde_json's
    /// `arbitrary_precision` large integers lose their exact spelling here: use `body` when
    /// literals matter.
    pub fn json(&self) -> Option<Result<serde_json::Value, serde_json::Error>> {
        if self.body.trim().is_empty() {
            None
        } else {
            Some(serde_json::from_str(&self.body))
        }
    }

    /// `data.keys` of a list response (empty when there is none).
    pub fn list_keys(&self) -> Vec<String> {
        #[derive(Deserialize)]
        struct Keys {
            #[serde(default)]
            keys: Vec<String>,
        }
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            data: Option<Keys>,
        }
        serde_json::from_str::<Wire>(&self.body)
            .ok()
            .and_then(|w| w.data)
            .map(|k| k.keys)
            .unwrap_or_default()
    }

    /// `data.metadata.deletion_time` (KV v2), when present and non-empty.
    pub(crate) fn kv2_deletion_time(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Meta {
            #[serde(default)]
            deletion_time: Option<String>,
        }
        #[derive(Deserialize)]
        struct Data {
            #[serde(default)]
            metadata: Option<Meta>,
        }
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            data: Option<Data>,
        }
        serde_json::from_str::<Wire>(&self.body)
            .ok()?
            .data?
            .metadata?
            .deletion_time
            .filter(|t| !t.is_empty())
    }
}

/// Nanoseconds since the Unix epoch of an RFC 3339 timestamp (`2024-05-01T10:00:00.123Z`,
/// `…+02:00`; fractions beyond nanoseconds are truncated). `None` if it does not parse.
pub(crate) fn rfc3339_unix_nanos(text: &str) -> Option<i128> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let s = text.get(from..to)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos: i128 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in frac
            .bytes()
            .take(9)
            .take_while(u8::is_ascii_digit)
            .enumerate()
        {
            nanos += i128::from(c - b'0') * 10i128.pow(8 - i as u32);
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || rb[3] != b':' {
                return None;
            }
            let sign = match rb[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        let s = |secs: i128| secs * 1_000_000_000;
        assert_eq!(rfc3339_unix_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_unix_nanos("2024-02-29T12:34:56.123456789Z"),
            Some(s(1_709_210_096) + 123_456_789)
        );
        assert_eq!(
            rfc3339_unix_nanos("2024-02-29T14:34:56.5+02:00"),
            Some(s(1_709_210_096) + 500_000_000)
        );
        assert_eq!(
            rfc3339_unix_nanos("2000-03-01T00:00:00Z"),
            Some(s(951_868_800))
        );
        assert_eq!(rfc3339_unix_nanos("1969-12-31T23:59:59Z"), Some(s(-1)));
        assert_eq!(rfc3339_unix_nanos(""), None);
        assert_eq!(rfc3339_unix_nanos("2024-02-29"), None);
        assert_eq!(rfc3339_unix_nanos("2024-02-29T14:34:56+0200"), None);
    }

    #[test]
    fn envelope_and_debug() {
        let body = r#"{"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"n":12345678901234567890,"pw":"hunter2"},"metadata":{"deletion_time":"2020-01-01T00:00:00Z"}},"wrap_info":null,"warnings":null,"auth":null}"#;
        let env = Envelope::parse(body).unwrap();
        assert_eq!(env.request_id, "r1");
        assert!(env.has_data && !env.has_auth && !env.has_wrap_info);
        let r = RawResponse {
            status: 200,
            body: body.into(),
            envelope: Some(env),
        };
        assert!(!format!("{r:?}").contains("hunter2"));
        assert_eq!(
            r.kv2_deletion_time().as_deref(),
            Some("2020-01-01T00:00:00Z")
        );
        let list = RawResponse {
            status: 200,
            body: r#"{"data":{"keys":["a","b/"]}}"#.into(),
            envelope: None,
        };
        assert_eq!(list.list_keys(), vec!["a", "b/"]);
    }
}
