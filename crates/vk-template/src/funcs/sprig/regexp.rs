//! Sprig's regular expression functions (`regex.go`); Sprig's argument order: regex, string, ….

use std::rc::Rc;

use super::{define, to_i64};
use crate::funcs::strings as cts;
use crate::funcs::{CallResult, Impl, P, Registry, arg_str, ok_str};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
    s("regexMatch", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(
            regex(arg_str(&a[0])).is_ok_and(|r| r.is_match(arg_str(&a[1]))),
        ))
    });
    s("mustRegexMatch", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(regex(arg_str(&a[0]))?.is_match(arg_str(&a[1]))))
    });
    s("regexFind", &[P::Str, P::Str], None, |_, a| {
        ok_str(
            regex(arg_str(&a[0]))
                .ok()
                .and_then(|r| r.find(arg_str(&a[1])).map(|m| m.as_str().to_string()))
                .unwrap_or_default(),
        )
    });
    s("mustRegexFind", &[P::Str, P::Str], None, |_, a| {
        ok_str(
            regex(arg_str(&a[0]))?
                .find(arg_str(&a[1]))
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        )
    });
    s("regexFindAll", &[P::Str, P::Str, P::Int], None, |_, a| {
        find_all(&a, false)
    });
    s(
        "mustRegexFindAll",
        &[P::Str, P::Str, P::Int],
        None,
        |_, a| find_all(&a, true),
    );
    s(
        "regexReplaceAll",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            ok_str(
                regex(arg_str(&a[0]))
                    .map(|r| cts::regex_replace(&r, arg_str(&a[1]), arg_str(&a[2])))
                    .unwrap_or_default(),
            )
        },
    );
    s(
        "mustRegexReplaceAll",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            ok_str(cts::regex_replace(
                &regex(arg_str(&a[0]))?,
                arg_str(&a[1]),
                arg_str(&a[2]),
            ))
        },
    );
    s(
        "regexReplaceAllLiteral",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            ok_str(
                regex(arg_str(&a[0]))
                    .map(|r| {
                        r.replace_all(arg_str(&a[1]), regex::NoExpand(arg_str(&a[2])))
                            .into_owned()
                    })
                    .unwrap_or_default(),
            )
        },
    );
    s(
        "mustRegexReplaceAllLiteral",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            ok_str(
                regex(arg_str(&a[0]))?
                    .replace_all(arg_str(&a[1]), regex::NoExpand(arg_str(&a[2])))
                    .into_owned(),
            )
        },
    );
    s("regexSplit", &[P::Str, P::Str, P::Int], None, |_, a| {
        split_re(&a, false)
    });
    s("mustRegexSplit", &[P::Str, P::Str, P::Int], None, |_, a| {
        split_re(&a, true)
    });
    s("regexQuoteMeta", &[P::Str], None, |_, a| {
        ok_str(regex::escape(arg_str(&a[0])))
    });
}

fn regex(re: &str) -> Result<regex::Regex, String> {
    cts::compile(re)
}

fn find_all(a: &[Value], must: bool) -> CallResult {
    let re = match regex(arg_str(&a[0])) {
        Ok(r) => r,
        Err(e) if must => return Err(e.into()),
        Err(_) => return Ok(Value::StrList(Rc::new(Vec::new()))),
    };
    let n = to_i64(&a[2]);
    let it = re.find_iter(arg_str(&a[1])).map(|m| m.as_str().to_string());
    let v: Vec<String> = if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    };
    Ok(Value::StrList(Rc::new(v)))
}

fn split_re(a: &[Value], must: bool) -> CallResult {
    let re = match regex(arg_str(&a[0])) {
        Ok(r) => r,
        Err(e) if must => return Err(e.into()),
        Err(_) => return Ok(Value::StrList(Rc::new(Vec::new()))),
    };
    let n = to_i64(&a[2]);
    let s = arg_str(&a[1]);
    let v: Vec<String> = match n {
        0 => Vec::new(),
        n if n < 0 => re.split(s).map(str::to_string).collect(),
        n => re.splitn(s, n as usize).map(str::to_string).collect(),
    };
    Ok(Value::StrList(Rc::new(v)))
}
