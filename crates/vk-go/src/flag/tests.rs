//! One table row per Go `flag` rule; expected values and texts are what Go's `flag` package
//! gives for the same command line.

use super::*;

crate::go_flags! {
    struct Demo {
        name: String => "name" { default: "anon", env: [], usage: "a string" },
        verbose: bool => "v" { default: "false", env: [], usage: "a bool" },
        on: bool => "on" { default: "true", env: [], usage: "a bool defaulting to true" },
        count: i64 => "count" { default: "0", env: [], usage: "an int" },
        size: u64 => "size" { default: "7", env: [], usage: "a uint" },
        wait: Duration => "wait" { default: "1s", env: [], usage: "a duration" },
        path: Option<String> => "path" { default: "", env: ["DEMO_PATH"], usage: "unset until given" },
        seen: Option<bool> => "seen" { default: "", env: [], usage: "an optional bool" },
    }
}

crate::go_flags! {
    struct Extra {
        o: String => "o" { default: "pod", env: [], usage: "output" },
    }
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Parse `args` and return the flags and the leftover arguments.
fn run(args: &[&str]) -> Result<(Demo, Vec<String>), FlagError> {
    let args = words(args);
    let mut flags = Demo::default();
    let rest = parse(&mut flags, &args)?.to_vec();
    Ok((flags, rest))
}

#[test]
fn defaults_come_from_the_table() {
    let d = Demo::default();
    assert_eq!(d.name, "anon");
    assert!(!d.verbose && d.on);
    assert_eq!((d.count, d.size), (0, 7));
    assert_eq!(d.wait, Duration(1_000_000_000));
    assert_eq!((d.path, d.seen), (None, None));
    let kinds: Vec<_> = Demo::SPECS.iter().map(|s| s.kind.type_name()).collect();
    assert_eq!(
        kinds,
        [
            "string", "bool", "bool", "int", "uint", "duration", "string", "bool"
        ]
    );
    assert_eq!(Demo::SPECS[6].env, ["DEMO_PATH"]);
}

/// Arguments, then the expected name, verbose, count and leftover arguments.
type SpellingCase<'a> = (&'a [&'a str], &'a str, bool, i64, &'a [&'a str]);

#[test]
fn accepted_spellings() {
    let cases: &[SpellingCase<'_>] = &[
        (&["-name", "x"], "x", false, 0, &[]),
        (&["-name=x"], "x", false, 0, &[]),
        (&["--name", "x"], "x", false, 0, &[]),
        (&["--name=x"], "x", false, 0, &[]),
        (&["-name="], "", false, 0, &[]),
        (&["-name=a=b"], "a=b", false, 0, &[]),
        // The next word is taken verbatim, even when it looks like a flag.
        (&["-name", "-v"], "-v", false, 0, &[]),
        (&["-name", "--"], "--", false, 0, &[]),
        (&["-v"], "anon", true, 0, &[]),
        (&["--v"], "anon", true, 0, &[]),
        (&["-v=true"], "anon", true, 0, &[]),
        (&["-v=T"], "anon", true, 0, &[]),
        (&["-v=0"], "anon", false, 0, &[]),
        // A bool never takes the next word: `false` is the first positional.
        (
            &["-v", "false", "-name=x"],
            "anon",
            true,
            0,
            &["false", "-name=x"],
        ),
        // `--` ends the flags and is dropped.
        (&["-v", "--", "-name=x"], "anon", true, 0, &["-name=x"]),
        // The first positional stops parsing; a lone `-` is a positional.
        (
            &["-count=3", "2>&1", "-nope"],
            "anon",
            false,
            3,
            &["2>&1", "-nope"],
        ),
        (&["-", "-v"], "anon", false, 0, &["-", "-v"]),
        (&["", "-v"], "anon", false, 0, &["", "-v"]),
        // Given twice: the last value wins.
        (&["-name=a", "-name", "b"], "b", false, 0, &[]),
        (&["-v", "-v=false"], "anon", false, 0, &[]),
        (&["-count", "0x10"], "anon", false, 16, &[]),
        (&["-count=-1_000"], "anon", false, -1000, &[]),
        (&["-count=010"], "anon", false, 8, &[]),
    ];
    for (args, name, verbose, count, rest) in cases {
        let (flags, left) = run(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(flags.name, *name, "{args:?}");
        assert_eq!(flags.verbose, *verbose, "{args:?}");
        assert_eq!(flags.count, *count, "{args:?}");
        assert_eq!(left, words(rest), "{args:?}");
    }
}

#[test]
fn typed_values() {
    let (flags, _) = run(&["-size=42", "-wait", "1m30s", "-path", "/x", "-seen"]).expect("parse");
    assert_eq!(flags.size, 42);
    assert_eq!(flags.wait, Duration(90_000_000_000));
    assert_eq!(
        flags.wait.to_std(),
        Some(std::time::Duration::from_secs(90))
    );
    assert_eq!(flags.path.as_deref(), Some("/x"));
    assert_eq!(flags.seen, Some(true));
    let (flags, _) = run(&["-seen=false", "-path="]).expect("parse");
    assert_eq!(flags.seen, Some(false));
    assert_eq!(flags.path.as_deref(), Some(""));
    assert_eq!(Duration(-1).to_std(), None);
}

#[test]
fn errors_carry_go_texts() {
    let cases: &[(&[&str], &str)] = &[
        (&["-x"], "flag provided but not defined: -x"),
        (&["--x=1"], "flag provided but not defined: -x"),
        (
            &["-name=x", "-nope", "y"],
            "flag provided but not defined: -nope",
        ),
        (&["-h"], "flag: help requested"),
        (&["--help"], "flag: help requested"),
        (&["-name"], "flag needs an argument: -name"),
        (&["-v", "-count"], "flag needs an argument: -count"),
        (&["---x"], "bad flag syntax: ---x"),
        (&["-=x"], "bad flag syntax: -=x"),
        (&["--=x"], "bad flag syntax: --=x"),
        (
            &["-v=yes"],
            r#"invalid boolean value "yes" for -v: parse error"#,
        ),
        (&["-v="], r#"invalid boolean value "" for -v: parse error"#),
        (
            &["-v=tRUE"],
            r#"invalid boolean value "tRUE" for -v: parse error"#,
        ),
        (
            &["-count=x"],
            r#"invalid value "x" for flag -count: parse error"#,
        ),
        (
            &["-count", "1.5"],
            r#"invalid value "1.5" for flag -count: parse error"#,
        ),
        (
            &["-count=99999999999999999999"],
            r#"invalid value "99999999999999999999" for flag -count: value out of range"#,
        ),
        (
            &["-size=-1"],
            r#"invalid value "-1" for flag -size: parse error"#,
        ),
        (
            &["-wait=5"],
            r#"invalid value "5" for flag -wait: parse error"#,
        ),
        (
            &["-wait=soon"],
            r#"invalid value "soon" for flag -wait: parse error"#,
        ),
        // Go quotes the value with strconv.Quote.
        (
            &["-count=a\tb"],
            r#"invalid value "a\tb" for flag -count: parse error"#,
        ),
    ];
    for (args, want) in cases {
        let err = run(args).expect_err("must fail");
        assert_eq!(err.to_string(), *want, "{args:?}");
    }
}

#[test]
fn two_tables_parse_as_one_command_line() {
    let args = words(&["-o", "patch", "-name=n", "-v", "rest"]);
    let mut both = (Demo::default(), Extra::default());
    let rest = parse(&mut both, &args).expect("parse");
    assert_eq!(rest, ["rest"]);
    assert_eq!(both.0.name, "n");
    assert!(both.0.verbose);
    assert_eq!(both.1.o, "patch");
    assert_eq!(
        parse(&mut both, &words(&["-q"]))
            .expect_err("undefined")
            .to_string(),
        "flag provided but not defined: -q"
    );
}
