//! Go's `flag` parser (`vk_go::flag`), the one every command line of the binary goes through.
//! Input: NUL-separated arguments. Any result is fine but a panic. Each input is parsed twice:
//! - against a flag set holding every value kind the parser knows (string, bool, int, uint,
//!   duration, and an optional one), where an accepted command line must also keep Go's
//!   invariants: the leftover arguments are a suffix of the input starting at the first
//!   positional argument or right after `--`, and writing the parsed values back as
//!   `-name=value` and parsing that again gives the same values;
//! - against the real `agent-inject render` tables (`InjectFlags` + `RenderFlags`), so their
//!   value parsers see the same inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vk_go::flag::{self, Duration};

vk_go::go_flags! {
    struct EveryKind {
        name: String => "name" { default: "anon", env: [], usage: "a string" },
        verbose: bool => "v" { default: "false", env: [], usage: "a bool" },
        on: bool => "on" { default: "true", env: [], usage: "a bool defaulting to true" },
        count: i64 => "count" { default: "0", env: [], usage: "an int" },
        size: u64 => "size" { default: "7", env: [], usage: "a uint" },
        wait: Duration => "wait" { default: "1s", env: [], usage: "a duration" },
        path: Option<String> => "path" { default: "", env: [], usage: "unset until given" },
        seen: Option<bool> => "seen" { default: "", env: [], usage: "an optional bool" },
    }
}

/// The parsed values as a command line that sets each of them explicitly.
fn written_back(flags: &EveryKind) -> Vec<String> {
    let mut args = vec![
        format!("-name={}", flags.name),
        format!("-v={}", flags.verbose),
        format!("-on={}", flags.on),
        format!("-count={}", flags.count),
        format!("-size={}", flags.size),
        format!("-wait={}ns", flags.wait.0),
    ];
    if let Some(path) = &flags.path {
        args.push(format!("-path={path}"));
    }
    if let Some(seen) = flags.seen {
        args.push(format!("-seen={seen}"));
    }
    args
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<String> = text.split('\0').map(str::to_owned).collect();

    let mut flags = EveryKind::default();
    if let Ok(rest) = flag::parse(&mut flags, &args) {
        let start = args.len() - rest.len();
        assert_eq!(rest, &args[start..], "the leftover is a suffix of the input");
        if let Some(first) = rest.first() {
            let after_dash_dash = start > 0 && args[start - 1] == "--";
            let positional = first.len() < 2 || !first.starts_with('-');
            assert!(
                after_dash_dash || positional,
                "parsing stopped at {first:?}, a flag"
            );
        }
        let again = written_back(&flags);
        let mut reparsed = EveryKind::default();
        let rest = flag::parse(&mut reparsed, &again)
            .unwrap_or_else(|err| panic!("{again:?} written back does not parse: {err}"));
        assert!(rest.is_empty());
        assert_eq!(reparsed, flags, "values change when written back: {again:?}");
    }

    let _ = vk_injector::config::parse_render_flags(&args);
});
