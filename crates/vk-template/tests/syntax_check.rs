//! `check_syntax`: the line and column the injector's admission check reports (issue [9]).

use vk_template::{SyntaxError, check_syntax};

#[test]
fn valid_templates_pass() {
    for text in [
        "",
        "plain text",
        "{{ with secret \"secret/data/x\" }}{{ .Data.data.password }}{{ end }}",
        "{{- range $k, $v := .Data }}{{ $k }}={{ $v }}\n{{ end -}}",
    ] {
        assert_eq!(check_syntax(text, "", ""), Ok(()), "{text}");
    }
    assert_eq!(check_syntax("[[ .Data ]]", "[[", "]]"), Ok(()));
}

#[test]
fn errors_carry_line_column_and_go_reason() {
    let text = "line one\n  ok {{ .A }}\n   {{ with secret \"x\" }}{{ .B }\n";
    let err = check_syntax(text, "", "").unwrap_err();
    assert_eq!(err.line, 3, "{err:?}");
    let col = err.col.expect("a column");
    assert!(
        (4..=40).contains(&col),
        "column {col} should point into line 3: {err:?}"
    );
    assert!(!err.reason.is_empty());

    // A missing `end` is reported at the end of input; a bad function name where it is.
    let unknown = check_syntax("a\nb {{ nosuchfunc 1 }}", "", "").unwrap_err();
    assert_eq!(
        (unknown.line, unknown.reason.as_str()),
        (2, "function \"nosuchfunc\" not defined"),
        "{unknown:?}"
    );
    assert_eq!(unknown.col, Some(6), "{unknown:?}");
    let unclosed = check_syntax("{{ if .A }}x", "", "").unwrap_err();
    assert_eq!(unclosed.line, 1);
    assert!(unclosed.reason.contains("unexpected EOF"), "{unclosed:?}");
}

#[test]
fn custom_delimiters_are_honoured() {
    // Valid with `{{`, broken with `[[`/`]]`.
    let text = "[[ .A ";
    assert!(check_syntax(text, "", "").is_ok());
    let e: SyntaxError = check_syntax(text, "[[", "]]").unwrap_err();
    assert_eq!(e.line, 1);
}
