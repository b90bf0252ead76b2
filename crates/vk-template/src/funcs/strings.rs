//! consul-template string helpers: trim family, case, split/join, replace, regex, indent.

use std::rc::Rc;

use super::{P, Registry, add, arg_str, ok_str};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    add(r, "trimSpace", &[P::Str], None, |_, a| {
        ok_str(arg_str(&a[0]).trim_matches(go_space).to_string())
    });
    add(r, "trim", &[P::Str, P::Str], None, |_, a| {
        let cut = arg_str(&a[0]).to_string();
        ok_str(arg_str(&a[1]).trim_matches(|c| cut.contains(c)).to_string())
    });
    add(r, "trimPrefix", &[P::Str, P::Str], None, |_, a| {
        let (p, s) = (arg_str(&a[0]), arg_str(&a[1]));
        ok_str(s.strip_prefix(p).unwrap_or(s).to_string())
    });
    add(r, "trimSuffix", &[P::Str, P::Str], None, |_, a| {
        let (p, s) = (arg_str(&a[0]), arg_str(&a[1]));
        ok_str(s.strip_suffix(p).unwrap_or(s).to_string())
    });
    add(r, "toLower", &[P::Str], None, |_, a| {
        ok_str(go_lower(arg_str(&a[0])))
    });
    add(r, "toUpper", &[P::Str], None, |_, a| {
        ok_str(go_upper(arg_str(&a[0])))
    });
    add(r, "toTitle", &[P::Str], None, |_, a| {
        ok_str(title(arg_str(&a[0])))
    });
    add(r, "replaceAll", &[P::Str, P::Str, P::Str], None, |_, a| {
        ok_str(replace_all(arg_str(&a[2]), arg_str(&a[0]), arg_str(&a[1])))
    });
    add(r, "split", &[P::Str, P::Str], None, |_, a| {
        let s = arg_str(&a[1]).trim_matches(go_space);
        if s.is_empty() {
            return Ok(Value::StrList(Rc::new(Vec::new())));
        }
        Ok(Value::StrList(Rc::new(go_split(s, arg_str(&a[0])))))
    });
    add(r, "join", &[P::Str, P::StrList], None, |_, a| match &a[1] {
        Value::StrList(l) => ok_str(l.join(arg_str(&a[0]))),
        _ => ok_str(String::new()),
    });
    add(r, "regexMatch", &[P::Str, P::Str], None, |_, a| {
        let re = compile(arg_str(&a[0]))?;
        Ok(Value::Bool(re.is_match(arg_str(&a[1]))))
    });
    add(
        r,
        "regexReplaceAll",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            let re = compile(arg_str(&a[0]))?;
            ok_str(regex_replace(&re, arg_str(&a[2]), arg_str(&a[1])))
        },
    );
    add(r, "indent", &[P::Int, P::Str], None, |_, a| {
        let n = if let Value::Int(n, _) = a[0] { n } else { 0 };
        if n < 0 {
            return Err("indent value must be a positive integer".into());
        }
        if n as usize > crate::exec::MAX_VALUE_LEN {
            return Err("indent value too large".into());
        }
        ok_str(indent(n as usize, arg_str(&a[1])))
    });
}

/// Go's `unicode.IsSpace` as used by `strings.TrimSpace`.
pub(crate) fn go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// `strings.Split` (an empty separator splits into UTF-8 characters).
pub(crate) fn go_split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(|c| c.to_string()).collect();
    }
    s.split(sep).map(str::to_string).collect()
}

/// `strings.ReplaceAll` (an empty `from` inserts `to` around every character, as Go does).
pub(crate) fn replace_all(s: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        let mut out = String::from(to);
        for c in s.chars() {
            out.push(c);
            out.push_str(to);
        }
        return out;
    }
    s.replace(from, to)
}

/// Go's `strings.ToUpper`: simple (one-to-one) case mapping, so `ß` and `ﬀ` stay as they are.
pub(crate) fn go_upper(s: &str) -> String {
    s.chars().map(|c| single(c.to_uppercase(), c)).collect()
}

/// Go's `strings.ToLower` (simple case mapping).
pub(crate) fn go_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\u{130}' {
                'i'
            } else {
                single(c.to_lowercase(), c)
            }
        })
        .collect()
}

fn single(mut it: impl Iterator<Item = char>, orig: char) -> char {
    match (it.next(), it.next()) {
        (Some(c), None) => c,
        _ => orig,
    }
}

/// consul-template's `toTitle` (Go's deprecated `strings.Title`): upper-case word starts.
pub(crate) fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.push(single(c.to_uppercase(), c));
        } else {
            out.push(c);
        }
        // Observed: letters, digits, `_` and `'` continue a word; other characters separate.
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

pub(crate) fn compile(re: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(re)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            format!(
                "error parsing regexp: {}",
                go_regex_error(re, &e.to_string())
            )
        })
}

/// The text Rust's error display marks with `^` (single-line patterns), if any.
fn marked_span(rust: &str) -> Option<String> {
    let lines: Vec<&str> = rust.lines().collect();
    let idx = lines.iter().position(|l| {
        let t = l.trim();
        !t.is_empty() && t.chars().all(|c| c == '^')
    })?;
    let pattern_line = lines.get(idx.checked_sub(1)?)?;
    let carets = lines[idx];
    let start = carets.find('^')?;
    let end = carets.rfind('^')? + 1;
    let chars: Vec<char> = pattern_line.chars().collect();
    if end > chars.len() {
        return None;
    }
    Some(chars[start..end].iter().collect())
}

/// Go's `regexp/syntax` wording for the common syntax errors (Rust's parser words them differently).
fn go_regex_error(re: &str, rust: &str) -> String {
    let last = rust
        .lines()
        .last()
        .unwrap_or("invalid")
        .trim_start_matches("error: ");
    let span = marked_span(rust);
    if last.contains("unclosed group") {
        format!("missing closing ): `{re}`")
    } else if last.contains("unopened group") {
        format!("unexpected ): `{re}`")
    } else if last.contains("unclosed character class") {
        let from = re.rfind('[').unwrap_or(0);
        format!("missing closing ]: `{}`", &re[from..])
    } else if last.contains("repetition operator missing expression") {
        let op = re
            .chars()
            .find(|c| matches!(c, '*' | '+' | '?'))
            .unwrap_or('*');
        format!("missing argument to repetition operator: `{op}`")
    } else if let (true, Some(sp)) = (
        last.contains("unrecognized escape sequence")
            || last.contains("incomplete escape sequence"),
        span.as_deref(),
    ) {
        format!("invalid escape sequence: `{sp}`")
    } else if let (true, Some(sp)) = (
        last.contains("invalid character class range"),
        span.as_deref(),
    ) {
        format!("invalid character class range: `{sp}`")
    } else if let (true, Some(sp)) = (last.contains("look-around"), span.as_deref()) {
        format!("invalid or unsupported Perl syntax: `{sp}`")
    } else if let (true, Some(sp)) = (
        last.contains("repetition") && (last.contains("invalid") || last.contains("exceeds")),
        span.as_deref(),
    ) {
        format!("invalid repeat count: `{sp}`")
    } else {
        format!("invalid regexp: {last}: `{re}`")
    }
}

/// Go's `Regexp.ReplaceAllString` (`$1`, `${name}` expansion; Go's `$name` greedily takes
/// `[A-Za-z0-9_]`, which Rust's expansion also does).
pub(crate) fn regex_replace(re: &regex::Regex, s: &str, repl: &str) -> String {
    re.replace_all(s, repl).into_owned()
}

pub(crate) fn indent(n: usize, s: &str) -> String {
    let pad = " ".repeat(n);
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod regex_error_tests {
    use super::compile;

    #[test]
    fn go_wording() {
        let e = |re: &str| compile(re).unwrap_err();
        assert_eq!(e("("), "error parsing regexp: missing closing ): `(`");
        assert_eq!(e("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(e("[a"), "error parsing regexp: missing closing ]: `[a`");
        assert_eq!(
            e("*a"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            e("a\\qb"),
            "error parsing regexp: invalid escape sequence: `\\q`"
        );
        assert_eq!(
            e("[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(
            e("a(?=b)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"
        );
    }
}
