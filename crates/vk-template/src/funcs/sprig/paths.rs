//! Sprig's path functions (`base`, `dir`, `clean`, `ext`, `isAbs`), with Go `path` semantics.

use super::define;
use crate::funcs::{Impl, P, Registry, arg_str, ok_str};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
    s("base", &[P::Str], None, |_, a| {
        let p = arg_str(&a[0]);
        if p.is_empty() {
            return ok_str(".".into());
        }
        let t = p.trim_end_matches('/');
        ok_str(if t.is_empty() {
            "/".into()
        } else {
            t.rsplit('/').next().unwrap_or(t).to_string()
        })
    });
    s("dir", &[P::Str], None, |_, a| {
        let p = arg_str(&a[0]);
        let d = match p.rfind('/') {
            Some(i) => &p[..=i],
            None => "",
        };
        ok_str(vk_go::path_clean(d))
    });
    s("clean", &[P::Str], None, |_, a| {
        ok_str(vk_go::path_clean(arg_str(&a[0])))
    });
    s("ext", &[P::Str], None, |_, a| {
        let p = arg_str(&a[0]);
        let last = p.rsplit('/').next().unwrap_or(p);
        ok_str(
            last.rfind('.')
                .map(|i| last[i..].to_string())
                .unwrap_or_default(),
        )
    });
    s("isAbs", &[P::Str], None, |_, a| {
        Ok(Value::Bool(arg_str(&a[0]).starts_with('/')))
    });
}
