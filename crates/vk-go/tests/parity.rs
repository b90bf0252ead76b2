//! Parity tables: inputs and the results Go's standard library gives for them (from Go's
//! documented behaviour and its own test tables), error texts included.

use vk_go::{format_duration, parse_bool, parse_duration, parse_int, path_clean, quote};

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;

#[test]
fn parse_bool_matches_go() {
    for t in ["1", "t", "T", "TRUE", "true", "True"] {
        assert_eq!(parse_bool(t), Ok(true), "{t}");
    }
    for f in ["0", "f", "F", "FALSE", "false", "False"] {
        assert_eq!(parse_bool(f), Ok(false), "{f}");
    }
    let cases = [
        ("", r#"strconv.ParseBool: parsing "": invalid syntax"#),
        ("yes", r#"strconv.ParseBool: parsing "yes": invalid syntax"#),
        (
            "tRUE",
            r#"strconv.ParseBool: parsing "tRUE": invalid syntax"#,
        ),
        (
            "trUe",
            r#"strconv.ParseBool: parsing "trUe": invalid syntax"#,
        ),
        (
            " true",
            r#"strconv.ParseBool: parsing " true": invalid syntax"#,
        ),
        ("2", r#"strconv.ParseBool: parsing "2": invalid syntax"#),
        ("on", r#"strconv.ParseBool: parsing "on": invalid syntax"#),
    ];
    for (input, want) in cases {
        assert_eq!(parse_bool(input).unwrap_err().to_string(), want);
    }
}

#[test]
fn parse_duration_values_match_go() {
    let cases: &[(&str, i64)] = &[
        ("0", 0),
        ("-0", 0),
        ("+0", 0),
        ("5s", 5 * S),
        ("30s", 30 * S),
        ("1478s", 1478 * S),
        ("-5s", -5 * S),
        ("+5s", 5 * S),
        ("-0s", 0),
        ("5.0s", 5 * S),
        ("5.6s", 5 * S + 600 * MS),
        ("5.s", 5 * S),
        (".5s", 500 * MS),
        ("1.0s", S),
        ("1.00s", S),
        ("1.004s", S + 4 * MS),
        ("1.0040s", S + 4 * MS),
        ("100.00100s", 100 * S + MS),
        ("10ns", 10 * NS),
        ("11us", 11 * US),
        ("12\u{b5}s", 12 * US),
        ("12\u{3bc}s", 12 * US),
        ("13ms", 13 * MS),
        ("14s", 14 * S),
        ("15m", 15 * M),
        ("16h", 16 * H),
        ("3h30m", 3 * H + 30 * M),
        ("10.5s4m", 4 * M + 10 * S + 500 * MS),
        ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
        (
            "1h2m3s4ms5us6ns",
            H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS,
        ),
        ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
        ("52763797000ns", 52_763_797_000),
        ("0.3333333333333333333h", 20 * M),
        ("9007199254740993ns", 9_007_199_254_740_993),
        ("9223372036854775807ns", i64::MAX),
        ("9223372036854775.807us", i64::MAX),
        ("9223372036s854ms775us807ns", i64::MAX),
        ("-9223372036854775808ns", i64::MIN),
        ("-9223372036854775.808us", i64::MIN),
        ("-9223372036s854ms775us808ns", i64::MIN),
        ("0.100000000000000000000h", 6 * M),
        ("0.830103483285477580700h", 49 * M + 48 * S + 372_539_827),
        ("1.000000000000000000000000000000000000001s", S),
    ];
    for (input, want) in cases {
        assert_eq!(parse_duration(input), Ok(*want), "{input}");
    }
}

#[test]
fn parse_duration_errors_match_go() {
    let cases = [
        ("", r#"time: invalid duration """#),
        ("3", r#"time: missing unit in duration "3""#),
        ("-", r#"time: invalid duration "-""#),
        ("s", r#"time: invalid duration "s""#),
        (".", r#"time: invalid duration ".""#),
        ("-.", r#"time: invalid duration "-.""#),
        (".s", r#"time: invalid duration ".s""#),
        ("+.s", r#"time: invalid duration "+.s""#),
        ("1d", r#"time: unknown unit "d" in duration "1d""#),
        ("1.5", r#"time: missing unit in duration "1.5""#),
        ("1h30", r#"time: missing unit in duration "1h30""#),
        ("1sec", r#"time: unknown unit "sec" in duration "1sec""#),
        (" 1s", r#"time: invalid duration " 1s""#),
        ("1s ", r#"time: unknown unit "s " in duration "1s ""#),
        ("1..2s", r#"time: missing unit in duration "1..2s""#),
        ("--1s", r#"time: invalid duration "--1s""#),
        ("1e3s", r#"time: unknown unit "e" in duration "1e3s""#),
        (
            "9223372036854775808ns",
            r#"time: invalid duration "9223372036854775808ns""#,
        ),
        (
            "9223372036854775.808us",
            r#"time: invalid duration "9223372036854775.808us""#,
        ),
        (
            "9223372036854ms775us808ns",
            r#"time: invalid duration "9223372036854ms775us808ns""#,
        ),
        (
            "-9223372036854775809ns",
            r#"time: invalid duration "-9223372036854775809ns""#,
        ),
        ("3000000h", r#"time: invalid duration "3000000h""#),
        ("x\ty", r#"time: invalid duration "x\ty""#),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse_duration(input).unwrap_err().to_string(),
            want,
            "{input:?}"
        );
    }
}

#[test]
fn std_durations_refuse_negative_values() {
    assert_eq!(
        vk_go::parse_std_duration("1m30s"),
        Ok(std::time::Duration::from_secs(90))
    );
    assert_eq!(
        vk_go::parse_std_duration("-1s").unwrap_err().to_string(),
        r#"negative duration "-1s" is not allowed"#
    );
    assert_eq!(
        vk_go::parse_std_duration("-0s"),
        Ok(std::time::Duration::ZERO)
    );
}

#[test]
fn format_duration_matches_go() {
    let cases: &[(i64, &str)] = &[
        (0, "0s"),
        (NS, "1ns"),
        (1100 * NS, "1.1\u{b5}s"),
        (2200 * US, "2.2ms"),
        (3300 * MS, "3.3s"),
        (4 * M + 5 * S, "4m5s"),
        (4 * M + 5001 * MS, "4m5.001s"),
        (5 * H + 6 * M + 7001 * MS, "5h6m7.001s"),
        (8 * M + NS, "8m0.000000001s"),
        (H, "1h0m0s"),
        (M, "1m0s"),
        (300 * S, "5m0s"),
        (-1500 * MS, "-1.5s"),
        (i64::MAX, "2562047h47m16.854775807s"),
        (i64::MIN, "-2562047h47m16.854775808s"),
    ];
    for (nanos, want) in cases {
        assert_eq!(format_duration(*nanos), *want, "{nanos}");
    }
}

#[test]
fn parse_int_matches_go() {
    let ok: &[(&str, u32, u32, i64)] = &[
        ("0", 10, 64, 0),
        ("-0", 10, 64, 0),
        ("+1", 10, 64, 1),
        ("1", 10, 64, 1),
        ("-1", 10, 64, -1),
        ("12345", 10, 64, 12345),
        ("-12345", 10, 64, -12345),
        ("012345", 10, 64, 12345),
        ("98765432100", 10, 64, 98_765_432_100),
        ("9223372036854775807", 10, 64, i64::MAX),
        ("-9223372036854775807", 10, 64, -i64::MAX),
        ("-9223372036854775808", 10, 0, i64::MIN),
        ("0x10", 0, 64, 16),
        ("0X10", 0, 64, 16),
        ("010", 0, 64, 8),
        ("0o10", 0, 64, 8),
        ("0b101", 0, 64, 5),
        ("-0x10", 0, 64, -16),
        ("1_000", 0, 64, 1000),
        ("0x_1F", 0, 64, 31),
        ("0_7", 0, 64, 7),
        ("0", 0, 64, 0),
        ("ff", 16, 64, 255),
        ("zz", 36, 64, 1295),
        ("127", 10, 8, 127),
        ("-128", 10, 8, -128),
        ("2147483647", 10, 32, 2_147_483_647),
    ];
    for (input, base, bits, want) in ok {
        assert_eq!(
            parse_int(input, *base, *bits),
            Ok(*want),
            "{input} base {base}"
        );
    }
    let bad: &[(&str, u32, u32, &str)] = &[
        ("", 10, 64, "invalid syntax"),
        ("+", 10, 64, "invalid syntax"),
        ("-", 10, 64, "invalid syntax"),
        ("x", 10, 64, "invalid syntax"),
        ("1e3", 10, 64, "invalid syntax"),
        (" 1", 10, 64, "invalid syntax"),
        ("1_000", 10, 64, "invalid syntax"),
        ("_12345", 0, 64, "invalid syntax"),
        ("1__2345", 0, 64, "invalid syntax"),
        ("12345_", 0, 64, "invalid syntax"),
        ("08", 0, 64, "invalid syntax"),
        ("0x", 0, 64, "invalid syntax"),
        ("12", 1, 64, "invalid syntax"),
        ("12", 37, 64, "invalid syntax"),
        ("9223372036854775808", 10, 64, "value out of range"),
        ("-9223372036854775809", 10, 64, "value out of range"),
        ("99999999999999999999x", 10, 64, "value out of range"),
        ("128", 10, 8, "value out of range"),
        ("-129", 10, 8, "value out of range"),
        ("2147483648", 10, 32, "value out of range"),
    ];
    for (input, base, bits, why) in bad {
        let err = parse_int(input, *base, *bits).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("strconv.ParseInt: parsing {}: {why}", quote(input)),
            "{input} base {base}"
        );
    }
}

#[test]
fn quote_matches_go() {
    let cases = [
        ("", r#""""#),
        ("hello", r#""hello""#),
        ("a\tb", r#""a\tb""#),
        ("\u{7}\u{8}\u{c}\r\n\u{b}\\\"", r#""\a\b\f\r\n\v\\\"""#),
        ("\u{0}", r#""\x00""#),
        ("\u{1b}[0m", r#""\x1b[0m""#),
        ("\u{7f}", r#""\x7f""#),
        ("\u{80}", r#""\u0080""#),
        ("\u{a0}", r#""\u00a0""#),
        ("\u{ad}", r#""\u00ad""#),
        ("\u{2028}", r#""\u2028""#),
        ("\u{feff}", r#""\ufeff""#),
        ("\u{e000}", r#""\ue000""#),
        ("\u{10ffff}", r#""\U0010ffff""#),
        ("\u{263a}", "\"\u{263a}\""),
        ("caf\u{e9} \u{1f600}", "\"caf\u{e9} \u{1f600}\""),
        ("'single'", r#""'single'""#),
    ];
    for (input, want) in cases {
        assert_eq!(quote(input), want, "{input:?}");
    }
}

#[test]
fn path_clean_matches_go() {
    let cases = [
        ("", "."),
        ("abc", "abc"),
        ("abc/def", "abc/def"),
        ("a/b/c", "a/b/c"),
        (".", "."),
        ("..", ".."),
        ("../..", "../.."),
        ("../../abc", "../../abc"),
        ("/abc", "/abc"),
        ("/", "/"),
        ("abc/", "abc"),
        ("a/b/c/", "a/b/c"),
        ("/abc/", "/abc"),
        ("abc//def//ghi", "abc/def/ghi"),
        ("//abc", "/abc"),
        ("///abc", "/abc"),
        ("//abc//", "/abc"),
        ("abc//", "abc"),
        ("abc/./def", "abc/def"),
        ("/./abc/def", "/abc/def"),
        ("abc/.", "abc"),
        ("abc/def/ghi/../jkl", "abc/def/jkl"),
        ("abc/def/../ghi/../jkl", "abc/jkl"),
        ("abc/def/..", "abc"),
        ("abc/def/../..", "."),
        ("/abc/def/../..", "/"),
        ("abc/def/../../..", ".."),
        ("/abc/def/../../..", "/"),
        ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
        ("abc/./../def", "def"),
        ("abc//./../def", "def"),
        ("abc/../../././../def", "../../def"),
        ("/../abc", "/abc"),
    ];
    for (input, want) in cases {
        assert_eq!(path_clean(input), want, "{input:?}");
    }
}

/// Inputs the workspace's former per-crate copies tested (vk-inject, vk-injector, vk-template).
#[test]
fn former_copies_inputs_match_go() {
    for bad in ["tRuE", "fAlSe"] {
        assert_eq!(
            parse_bool(bad).unwrap_err().to_string(),
            format!("strconv.ParseBool: parsing {}: invalid syntax", quote(bad))
        );
    }
    let durations: &[(&str, i64)] = &[
        ("1s", S),
        ("1m", M),
        ("1.5h", H + 30 * M),
        ("-2ms", -2 * MS),
        ("+3us", 3 * US),
        ("300us", 300 * US),
        ("1m30s", 90 * S),
        ("1h2m3s", H + 2 * M + 3 * S),
    ];
    for (input, want) in durations {
        assert_eq!(parse_duration(input), Ok(*want), "{input}");
    }
    let bad_durations = [
        ("x", r#"time: invalid duration "x""#),
        ("+", r#"time: invalid duration "+""#),
        ("abc", r#"time: invalid duration "abc""#),
        ("1", r#"time: missing unit in duration "1""#),
        ("5d", r#"time: unknown unit "d" in duration "5d""#),
        ("1..5s", r#"time: missing unit in duration "1..5s""#),
        (
            "9999999999999999999h",
            r#"time: invalid duration "9999999999999999999h""#,
        ),
    ];
    for (input, want) in bad_durations {
        assert_eq!(parse_duration(input).unwrap_err().to_string(), want);
    }
    for (input, want) in [
        ("a/b/../c", "a/c"),
        ("a//b/./c/", "a/b/c"),
        ("a/..", "."),
        (
            "/vault/secrets//special/volume/foofile",
            "/vault/secrets/special/volume/foofile",
        ),
    ] {
        assert_eq!(path_clean(input), want, "{input:?}");
    }
    for (input, want) in [
        ("a\"b\\c\n", r#""a\"b\\c\n""#),
        ("\u{1}", r#""\x01""#),
        ("a\u{1}b", r#""a\x01b""#),
        ("\u{e9}\u{a0}", "\"\u{e9}\\u00a0\""),
        (
            "h\u{e9}llo \u{2713} \u{65e5}\u{672c}",
            "\"h\u{e9}llo \u{2713} \u{65e5}\u{672c}\"",
        ),
    ] {
        assert_eq!(quote(input), want, "{input:?}");
    }
    assert_eq!(
        parse_int("root", 10, 64).unwrap_err().to_string(),
        r#"strconv.ParseInt: parsing "root": invalid syntax"#
    );
    assert_eq!(
        parse_int("99999999999999999999", 10, 64)
            .unwrap_err()
            .to_string(),
        r#"strconv.ParseInt: parsing "99999999999999999999": value out of range"#
    );
}

#[test]
fn quote_to_ascii_matches_go() {
    for (input, want) in [
        ("", r#""""#),
        ("\u{e9}", r#""\u00e9""#),
        ("a\tb\u{1}", r#""a\tb\x01""#),
        ("\u{263a}\u{1f600}", r#""\u263a\U0001f600""#),
        ("plain \"q\"", r#""plain \"q\"""#),
    ] {
        assert_eq!(vk_go::quote_to_ascii(input), want, "{input:?}");
    }
}

#[test]
fn is_print_matches_go() {
    for c in [' ', 'a', '~', '\u{e9}', '\u{263a}', '\u{1f600}'] {
        assert!(vk_go::is_print(c), "{c:?}");
    }
    for c in [
        '\t', '\n', '\u{7f}', '\u{85}', '\u{a0}', '\u{ad}', '\u{2028}', '\u{feff}', '\u{e000}',
        '\u{fffe}',
    ] {
        assert!(!vk_go::is_print(c), "{c:?}");
    }
}

#[test]
fn parse_uint_matches_go() {
    for (input, want) in [("0", 0), ("01", 1), ("18446744073709551615", u64::MAX)] {
        assert_eq!(vk_go::parse_uint(input, 10), Ok(want), "{input}");
    }
    for (input, why) in [
        ("", "invalid syntax"),
        ("-1", "invalid syntax"),
        ("+1", "invalid syntax"),
        ("1_0", "invalid syntax"),
        ("18446744073709551616", "value out of range"),
    ] {
        assert_eq!(
            vk_go::parse_uint(input, 10).unwrap_err().to_string(),
            format!("strconv.ParseUint: parsing {}: {why}", quote(input))
        );
    }
}

#[test]
fn parseutil_wrappers_match_vault() {
    assert_eq!(vk_go::parseutil_bool(""), Ok(false));
    assert_eq!(vk_go::parseutil_bool("True"), Ok(true));
    assert_eq!(vk_go::parseutil_bool("F"), Ok(false));
    assert_eq!(
        vk_go::parseutil_bool("yes").unwrap_err().to_string(),
        r#"cannot parse '' as bool: strconv.ParseBool: parsing "yes": invalid syntax"#
    );
    assert_eq!(vk_go::parseutil_int(""), Ok(0));
    assert_eq!(vk_go::parseutil_int("+7"), Ok(7));
    assert_eq!(vk_go::parseutil_int("-7"), Ok(-7));
    assert_eq!(
        vk_go::parseutil_int("1_000").unwrap_err().to_string(),
        r#"strconv.ParseInt: parsing "1_000": invalid syntax"#
    );
}

#[test]
fn parse_float_matches_go() {
    let ok: &[(&str, f64)] = &[
        ("0.75", 0.75),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("1.", 1.0),
        ("-Inf", f64::NEG_INFINITY),
        ("+infinity", f64::INFINITY),
        ("0x1.8p1", 3.0),
        ("0x1_0p0", 16.0),
        ("1E3", 1000.0),
        ("-0.5", -0.5),
        // Underscores between digits (checked against `bao agent`'s parseFloat).
        ("1_000.5", 1000.5),
        ("1_0", 10.0),
        ("0x_1p-2", 0.25),
        ("1_23.50_0_0e+1_2", 1.235e14),
    ];
    for (input, want) in ok {
        assert_eq!(vk_go::parse_float(input), Ok(*want), "{input}");
    }
    assert!(vk_go::parse_float("NaN").is_ok_and(f64::is_nan));
    let bad = [
        ("", "invalid syntax"),
        ("e5", "invalid syntax"),
        ("abc", "invalid syntax"),
        ("most", "invalid syntax"),
        ("one-third", "invalid syntax"),
        ("+NaN", "invalid syntax"),
        ("0x1", "invalid syntax"),
        ("1__0", "invalid syntax"),
        ("_1", "invalid syntax"),
        ("1_", "invalid syntax"),
        ("1_.5", "invalid syntax"),
        ("1e400", "value out of range"),
    ];
    for (input, why) in bad {
        assert_eq!(
            vk_go::parse_float(input).unwrap_err().to_string(),
            format!("strconv.ParseFloat: parsing {}: {why}", quote(input)),
            "{input}"
        );
    }
}

#[test]
fn json_string_escaping_matches_go() {
    use vk_go::push_json_string;
    // (input, json.Marshal, Encoder with SetEscapeHTML(false))
    let cases = [
        ("plain", r#""plain""#, r#""plain""#),
        ("", r#""""#, r#""""#),
        ("a<b>&c", r#""a\u003cb\u003e\u0026c""#, r#""a<b>&c""#),
        ("q\"b\\", r#""q\"b\\""#, r#""q\"b\\""#),
        ("\n\r\t\u{8}\u{c}", r#""\n\r\t\b\f""#, r#""\n\r\t\b\f""#),
        (
            "\u{0}\u{1}\u{1f}",
            r#""\u0000\u0001\u001f""#,
            r#""\u0000\u0001\u001f""#,
        ),
        ("\u{7f}é€", "\"\u{7f}é€\"", "\"\u{7f}é€\""),
        ("\u{2028}\u{2029}", r#""\u2028\u2029""#, r#""\u2028\u2029""#),
        // Other characters led by 0xE2 stay as they are.
        (
            "\u{2027}\u{202a}\u{20ac}",
            "\"\u{2027}\u{202a}\u{20ac}\"",
            "\"\u{2027}\u{202a}\u{20ac}\"",
        ),
    ];
    for (input, html, plain) in cases {
        let mut out = String::new();
        push_json_string(&mut out, input, true);
        assert_eq!(out, html, "{input:?}");
        let mut out = String::new();
        push_json_string(&mut out, input, false);
        assert_eq!(out, plain, "{input:?}");
        let mut bytes = Vec::new();
        vk_go::push_json_string_bytes(&mut bytes, input, true);
        assert_eq!(bytes, html.as_bytes(), "{input:?}");
    }
}

#[test]
fn json_floats_match_go() {
    use vk_go::format_json_float;
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (0.75, "0.75"),
        (3.0, "3"),
        (0.1, "0.1"),
        (1e8, "100000000"),
        (1e20, "100000000000000000000"),
        (12345678901234567890.0, "12345678901234567000"),
        (1e21, "1e+21"),
        (-2.5e22, "-2.5e+22"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
    ];
    for (x, want) in cases {
        assert_eq!(format_json_float(*x).as_deref(), Some(*want), "{x}");
    }
    // Go's encoder refuses these (`json: unsupported value`).
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(format_json_float(x), None);
    }
}

#[test]
fn format_float_matches_go() {
    // strconv.FormatFloat(x, 'g', -1, 64), as fmt's %v prints a float64.
    let shortest: &[(f64, &str)] = &[
        (1.0, "1"),
        (1e6, "1e+06"),
        (999999.0, "999999"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e-7, "1e-07"),
        (1e100, "1e+100"),
        (-0.0, "-0"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
    ];
    for (x, want) in shortest {
        assert_eq!(vk_go::format_g_shortest(*x), *want, "{x}");
    }
    assert_eq!(vk_go::format_g(1234.5678, 3), "1.23e+03");
    assert_eq!(vk_go::format_g(100.0, 3), "100");
    assert_eq!(vk_go::format_e(1234.5678, Some(2)), "1.23e+03");
    assert_eq!(vk_go::format_e(0.0, Some(3)), "0.000e+00");
    assert_eq!(vk_go::format_f(4.56789, Some(2)), "4.57");
    assert_eq!(vk_go::format_f(2.5, Some(0)), "2");
    assert_eq!(vk_go::format_f(-1.0, None), "-1");
}

#[test]
fn quote_bytes_matches_go() {
    use vk_go::quote_bytes;
    assert_eq!(quote_bytes(b"text/plain"), r#""text/plain""#);
    assert_eq!(quote_bytes(b"a\"b\\c\n\x01\x7f"), r#""a\"b\\c\n\x01\x7f""#);
    assert_eq!(quote_bytes(b"\xff\xfe"), r#""\xff\xfe""#);
    assert_eq!(quote_bytes(b"ok\xe2\x82"), r#""ok\xe2\x82""#);
    assert_eq!(quote_bytes("é\u{2028}".as_bytes()), r#""é\u2028""#);
}

#[test]
fn utc_dates_match_go() {
    use vk_go::{UtcDateTime, civil_from_days, days_from_civil};
    // time.Unix(secs, 0).UTC().Format(time.RFC3339)
    let cases: &[(i64, &str)] = &[
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (951_868_800, "2000-03-01T00:00:00Z"),
        (1_798_761_599, "2026-12-31T23:59:59Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
        (-62_135_596_800, "0001-01-01T00:00:00Z"),
    ];
    for (secs, want) in cases {
        assert_eq!(UtcDateTime::from_unix(*secs).rfc3339(), *want, "{secs}");
    }
    // metav1.MicroTime: t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
    let micro = UtcDateTime::from_unix(1_798_761_599);
    assert_eq!(micro.rfc3339_micros(5), "2026-12-31T23:59:59.000005Z");
    assert_eq!(micro.rfc3339_micros(999_999), "2026-12-31T23:59:59.999999Z");
    assert_eq!(
        UtcDateTime::from_unix(0).rfc3339_micros(120_000),
        "1970-01-01T00:00:00.120000Z"
    );
    assert_eq!(civil_from_days(20_428), (2025, 12, 6));
    for days in (-800_000..800_000).step_by(997) {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
    }
}
