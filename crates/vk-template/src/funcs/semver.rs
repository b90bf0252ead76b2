//! Sprig's `semver` / `semverCompare`: semantic versions and version constraints with the
//! semantics of the Masterminds semver v3 library Sprig v3 uses (loose parsing: a `v` prefix and
//! missing minor/patch are accepted; constraints with comparison operators, `~`, `~>`, `^`,
//! wildcards `x`/`X`/`*`, hyphen ranges, `,`/space for AND and `||` for OR).

use std::cmp::Ordering;
use std::rc::Rc;

use super::{CallResult, Func, P, arg_str};
use crate::exec::State;
use crate::value::Value;

/// `*semver.Version`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) patch: u64,
    pub(crate) pre: String,
    pub(crate) metadata: String,
    pub(crate) original: String,
}

const INVALID: &str = "invalid semantic version";

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

/// `[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*`
fn valid_idents(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Splits `core[-pre][+meta]` (the pre-release ends at the first `+`).
fn split_suffixes(s: &str) -> Result<(&str, &str, &str), &'static str> {
    let (rest, meta) = match s.split_once('+') {
        Some((r, m)) => {
            if !valid_idents(m) {
                return Err(INVALID);
            }
            (r, m)
        }
        None => (s, ""),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => {
            if !valid_idents(p) {
                return Err(INVALID);
            }
            (c, p)
        }
        None => (rest, ""),
    };
    Ok((core, pre, meta))
}

fn segment(s: &str) -> Result<u64, String> {
    s.parse::<u64>().map_err(|_| {
        format!(
            "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            vk_go::quote(s)
        )
    })
}

/// `semver.NewVersion`.
pub(crate) fn parse_version(text: &str) -> Result<Version, String> {
    let s = text.strip_prefix('v').unwrap_or(text);
    let (core, pre, meta) = split_suffixes(s)?;
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(INVALID.into());
    }
    // Numeric pre-release identifiers must not start with 0.
    for id in pre.split('.').filter(|p| !p.is_empty()) {
        if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
            return Err("version segment starts with 0".into());
        }
    }
    let num = |i: usize| parts.get(i).map_or(Ok(0), |p| segment(p));
    Ok(Version {
        major: num(0)?,
        minor: num(1)?,
        patch: num(2)?,
        pre: pre.to_string(),
        metadata: meta.to_string(),
        original: text.to_string(),
    })
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Ok(a), Ok(b)) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    let x: Vec<&str> = a.split('.').collect();
    let y: Vec<&str> = b.split('.').collect();
    for i in 0..x.len().max(y.len()) {
        let d = compare_pre_part(
            x.get(i).copied().unwrap_or(""),
            y.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

impl Version {
    /// `Version.Compare` (metadata ignored).
    pub(crate) fn compare(&self, o: &Version) -> Ordering {
        let core = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if core != Ordering::Equal {
            return core;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_pre(&self.pre, &o.pre),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_wild(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// Length of a constraint version (`v?[0-9xX*]+(\.[0-9xX*]+){0,2}(-pre)?(+meta)?`) at the start
/// of `s`, with its parts; `None` when there is none.
struct CvMatch<'a> {
    len: usize,
    parts: Vec<&'a str>,
    pre: &'a str,
}

fn is_cv_digit(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*')
}

fn match_cv(s: &str) -> Option<CvMatch<'_>> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let mut parts = Vec::new();
    loop {
        let start = i;
        while i < b.len() && is_cv_digit(b[i]) {
            i += 1;
        }
        if i == start {
            if parts.is_empty() {
                return None;
            }
            // A trailing dot is not part of the version.
            i -= 1;
            break;
        }
        parts.push(&s[start..i]);
        if parts.len() < 3 && i < b.len() && b[i] == b'.' {
            i += 1;
            continue;
        }
        break;
    }
    let ident_run = |mut j: usize| -> usize {
        // [0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*
        let start = j;
        loop {
            let seg = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-') {
                j += 1;
            }
            if j == seg {
                return if seg == start { start } else { seg - 1 };
            }
            if j < b.len() && b[j] == b'.' {
                j += 1;
            } else {
                return j;
            }
        }
    };
    let mut pre = "";
    if i < b.len() && b[i] == b'-' {
        let end = ident_run(i + 1);
        if end > i + 1 {
            pre = &s[i + 1..end];
            i = end;
        }
    }
    if i < b.len() && b[i] == b'+' {
        let end = ident_run(i + 1);
        if end > i + 1 {
            i = end;
        }
    }
    Some(CvMatch { len: i, parts, pre })
}

const OPS: &[(&str, Op)] = &[
    ("!=", Op::NotEqual),
    (">=", Op::GreaterEqual),
    ("=>", Op::GreaterEqual),
    ("<=", Op::LessEqual),
    ("=<", Op::LessEqual),
    ("~>", Op::Tilde),
    (">", Op::Greater),
    ("<", Op::Less),
    ("~", Op::Tilde),
    ("^", Op::Caret),
    ("=", Op::TildeOrEqual),
];

fn skip_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
}

fn build(op: Op, cv: &CvMatch<'_>) -> Result<Constraint, String> {
    let p = |i: usize| cv.parts.get(i).copied().unwrap_or("");
    let pre = if cv.pre.is_empty() {
        String::new()
    } else {
        format!("-{}", cv.pre)
    };
    let (ver, dirty, minor_dirty, patch_dirty) = if p(0).is_empty() || is_wild(p(0)) {
        (format!("0.0.0{pre}"), true, false, false)
    } else if p(1).is_empty() || is_wild(p(1)) {
        (format!("{}.0.0{pre}", p(0)), true, true, false)
    } else if p(2).is_empty() || is_wild(p(2)) {
        (format!("{}.{}.0{pre}", p(0), p(1)), true, false, true)
    } else {
        (
            format!("{}.{}.{}{pre}", p(0), p(1), p(2)),
            false,
            false,
            false,
        )
    };
    let con = parse_version(&ver).map_err(|_| "constraint Parser Error".to_string())?;
    Ok(Constraint {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// One `||` alternative: constraints separated by optional commas and whitespace.
fn parse_and(seg: &str) -> Result<Vec<Constraint>, String> {
    let improper = || format!("improper constraint: {seg}");
    let mut out = Vec::new();
    let mut rest = skip_ws(seg);
    if rest.is_empty() {
        return Err(improper());
    }
    while !rest.is_empty() {
        let (op, after) = OPS
            .iter()
            .find_map(|(t, op)| rest.strip_prefix(t).map(|r| (*op, r)))
            .unwrap_or((Op::TildeOrEqual, rest));
        let after = skip_ws(after);
        let cv = match_cv(after).ok_or_else(improper)?;
        out.push(build(op, &cv)?);
        rest = skip_ws(&after[cv.len..]);
        if let Some(r) = rest.strip_prefix(',') {
            rest = skip_ws(r);
        }
    }
    Ok(out)
}

/// Rewrites hyphen ranges `A - B` into `>= A, <= B`.
fn rewrite_ranges(c: &str) -> String {
    let words: Vec<&str> = c.split_whitespace().collect();
    if !words.contains(&"-") {
        return c.to_string();
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if i + 2 < words.len() && words[i + 1] == "-" {
            let (a, b) = (words[i], words[i + 2]);
            if match_cv(a).is_some_and(|m| m.len == a.len())
                && match_cv(b).is_some_and(|m| m.len == b.len())
            {
                out.push(format!(">= {a}, <= {b}"));
                i += 3;
                continue;
            }
        }
        out.push(words[i].to_string());
        i += 1;
    }
    out.join(" ")
}

/// `semver.NewConstraint`: OR groups of AND lists.
fn parse_constraints(c: &str) -> Result<Vec<Vec<Constraint>>, String> {
    rewrite_ranges(c).split("||").map(parse_and).collect()
}

fn check_one(v: &Version, c: &Constraint) -> bool {
    let con = &c.con;
    if !v.pre.is_empty() && con.pre.is_empty() {
        return false;
    }
    match c.op {
        Op::TildeOrEqual if c.dirty => tilde(v, c),
        Op::TildeOrEqual => v.compare(con) == Ordering::Equal,
        Op::NotEqual => {
            if c.dirty {
                if con.major != v.major {
                    return true;
                }
                if c.minor_dirty {
                    return false;
                }
                if con.minor != v.minor {
                    return true;
                }
                if c.patch_dirty {
                    return false;
                }
            }
            v.compare(con) != Ordering::Equal
        }
        Op::Greater => {
            if !c.dirty {
                return v.compare(con) == Ordering::Greater;
            }
            if v.major != con.major {
                return v.major > con.major;
            }
            if c.minor_dirty {
                return false;
            }
            if c.patch_dirty {
                return v.minor > con.minor;
            }
            v.compare(con) == Ordering::Greater
        }
        Op::Less => v.compare(con) == Ordering::Less,
        Op::GreaterEqual => v.compare(con) != Ordering::Less,
        Op::LessEqual => {
            if !c.dirty {
                return v.compare(con) != Ordering::Greater;
            }
            if v.major > con.major {
                return false;
            }
            !(v.major == con.major && v.minor > con.minor && !c.minor_dirty)
        }
        Op::Tilde => tilde(v, c),
        Op::Caret => {
            if v.compare(con) == Ordering::Less {
                return false;
            }
            if con.major > 0 || c.minor_dirty {
                return v.major == con.major;
            }
            if v.major != con.major {
                return false;
            }
            if con.minor > 0 || c.patch_dirty {
                return v.minor == con.minor;
            }
            if v.minor != con.minor {
                return false;
            }
            v.patch == con.patch
        }
    }
}

fn tilde(v: &Version, c: &Constraint) -> bool {
    let con = &c.con;
    if v.compare(con) == Ordering::Less {
        return false;
    }
    if con.major == 0 && con.minor == 0 && con.patch == 0 && !c.minor_dirty && !c.patch_dirty {
        return true;
    }
    if v.major != con.major {
        return false;
    }
    if v.minor != con.minor && !c.minor_dirty {
        return false;
    }
    true
}

/// `semverCompare constraint version`.
pub(crate) fn semver_compare(constraint: &str, version: &str) -> Result<bool, String> {
    let groups = parse_constraints(constraint)?;
    let v = parse_version(version)?;
    Ok(groups
        .iter()
        .any(|and| and.iter().all(|c| check_one(&v, c))))
}

fn sv_semver(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    Ok(Value::Semver(Rc::new(parse_version(arg_str(&a[0]))?)))
}

fn sv_compare(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    Ok(Value::Bool(semver_compare(arg_str(&a[0]), arg_str(&a[1]))?))
}

pub(super) fn register(r: &mut super::Registry) {
    super::add(r, "sprig_semver", &[P::Str], None, sv_semver);
    super::add(
        r,
        "sprig_semverCompare",
        &[P::Str, P::Str],
        None,
        sv_compare,
    );
}

fn receiver(a: &[Value]) -> Result<&Version, String> {
    match a.first() {
        Some(Value::Semver(v)) => Ok(v),
        _ => Err("semver: bad receiver".into()),
    }
}

macro_rules! method {
    ($name:ident, $body:expr) => {
        static $name: Func = Func {
            params: &[],
            variadic: None,
            call: |_, a| {
                let v = receiver(&a)?;
                #[allow(clippy::redundant_closure_call)]
                Ok(($body)(v))
            },
        };
    };
}

method!(MAJOR, |v: &Version| Value::Uint(v.major));
method!(MINOR, |v: &Version| Value::Uint(v.minor));
method!(PATCH, |v: &Version| Value::Uint(v.patch));
method!(PRERELEASE, |v: &Version| Value::str(&v.pre));
method!(METADATA, |v: &Version| Value::str(&v.metadata));
method!(ORIGINAL, |v: &Version| Value::str(&v.original));
method!(STRING, |v: &Version| Value::string(v.to_string()));

/// Methods of `*semver.Version` callable without arguments from a template.
pub(crate) fn method(name: &str) -> Option<&'static Func> {
    Some(match name {
        "Major" => &MAJOR,
        "Minor" => &MINOR,
        "Patch" => &PATCH,
        "Prerelease" => &PRERELEASE,
        "Metadata" => &METADATA,
        "Original" => &ORIGINAL,
        "String" => &STRING,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(c: &str, v: &str) -> bool {
        semver_compare(c, v).unwrap_or_else(|e| panic!("{c} {v}: {e}"))
    }

    #[test]
    fn versions() {
        let v = parse_version("v1.2.3-beta.1+b5").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 3));
        assert_eq!((v.pre.as_str(), v.metadata.as_str()), ("beta.1", "b5"));
        assert_eq!(v.to_string(), "1.2.3-beta.1+b5");
        assert_eq!(parse_version("1.2").unwrap().to_string(), "1.2.0");
        assert_eq!(parse_version("1.2.x").unwrap_err(), INVALID);
        assert_eq!(parse_version("").unwrap_err(), INVALID);
        assert_eq!(parse_version("1.2.3.4").unwrap_err(), INVALID);
        assert_eq!(parse_version("1.2.3-").unwrap_err(), INVALID);
        assert!(parse_version("1.0.0-01").is_err());
        let a = parse_version("1.0.0-alpha").unwrap();
        let b = parse_version("1.0.0-alpha.1").unwrap();
        let c = parse_version("1.0.0-beta.2").unwrap();
        let d = parse_version("1.0.0-beta.11").unwrap();
        let e = parse_version("1.0.0").unwrap();
        assert_eq!(a.compare(&b), Ordering::Less);
        assert_eq!(b.compare(&c), Ordering::Less);
        assert_eq!(c.compare(&d), Ordering::Less);
        assert_eq!(d.compare(&e), Ordering::Less);
    }

    #[test]
    fn constraints() {
        assert!(cmp(">=1.2.0", "1.3.0"));
        assert!(!cmp("~1.2", "1.3.0"));
        assert!(cmp("~1.2", "1.2.9"));
        assert!(cmp("~1", "1.9.0"));
        assert!(!cmp("~1.2.3", "1.2.2"));
        assert!(cmp("^1.2.3", "1.9.9"));
        assert!(!cmp("^1.2.3", "2.0.0"));
        assert!(cmp("^0.2.3", "0.2.9"));
        assert!(!cmp("^0.2.3", "0.3.0"));
        assert!(!cmp("^0.0.3", "0.0.4"));
        assert!(cmp("1.2.x", "1.2.7"));
        assert!(!cmp("1.2.x", "1.3.0"));
        assert!(cmp("*", "4.5.6"));
        assert!(cmp(">1.0, <2.0", "1.5.0"));
        assert!(cmp(">1.0 <2.0", "1.5.0"));
        assert!(!cmp(">1.0, <2.0", "2.0.0"));
        assert!(cmp("<1.0 || >=3", "3.1.0"));
        assert!(!cmp("<1.0 || >=3", "2.1.0"));
        assert!(cmp("1.1 - 2", "1.5.0"));
        assert!(!cmp("1.1 - 2", "3.0.0"));
        assert!(!cmp(">11", "11.1.0"));
        assert!(cmp(">11.1", "11.2.0"));
        assert!(cmp("!=1.2.3", "1.2.4"));
        assert!(!cmp("!=1.2.x", "1.2.4"));
        assert!(!cmp(">=1.0.0", "1.5.0-beta"));
        assert!(cmp(">=1.0.0-0", "1.5.0-beta"));
        assert!(cmp("=1.2.3", "v1.2.3"));
        assert_eq!(
            semver_compare("foo", "1.0.0").unwrap_err(),
            "improper constraint: foo"
        );
        assert_eq!(
            semver_compare(">1", "x").unwrap_err(),
            "invalid semantic version"
        );
    }
}
