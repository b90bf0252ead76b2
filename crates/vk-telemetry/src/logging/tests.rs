use super::*;

#[test]
fn accepted_spellings_map_to_levels() {
    // Spec §7.10 case 83.
    for raw in [
        "info", "INFO", "inFO", " info ", "notice", " NoTiCe ", "", " ",
    ] {
        assert_eq!(LogLevel::parse(raw), Ok(LogLevel::Info), "{raw:?}");
    }
    assert_eq!(LogLevel::parse("trace"), Ok(LogLevel::Trace));
    assert_eq!(LogLevel::parse("debug"), Ok(LogLevel::Debug));
    assert_eq!(LogLevel::parse("warn"), Ok(LogLevel::Warn));
    assert_eq!(LogLevel::parse("warning"), Ok(LogLevel::Warn));
    assert_eq!(LogLevel::parse("err"), Ok(LogLevel::Error));
    assert_eq!(LogLevel::parse("error"), Ok(LogLevel::Error));
}

#[test]
fn unknown_spellings_are_rejected_with_the_raw_value() {
    for raw in [
        "ofni",
        "inf",
        "notify",
        "tracing",
        "debugging",
        "warnn",
        "errors",
        "foobar",
        "0",
        "1",
    ] {
        let err = LogLevel::parse(raw).expect_err(raw);
        assert_eq!(err.to_string(), format!("unknown log level: {raw}"));
    }
}

#[test]
fn only_json_selects_json() {
    assert_eq!(LogFormat::parse("json"), LogFormat::Json);
    assert_eq!(LogFormat::parse("JSON"), LogFormat::Standard);
    assert_eq!(LogFormat::parse("standard"), LogFormat::Standard);
    assert_eq!(LogFormat::parse("whatever"), LogFormat::Standard);
}
