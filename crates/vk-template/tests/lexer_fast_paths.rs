//! The lexer reads ASCII by byte and finds delimiters by their first byte; these inputs are where
//! that could part from reading by character: non-ASCII identifiers and text, custom, one-char
//! and multibyte delimiters, line counting, and the errors of unclosed actions and comments.
//! `check_syntax` (the admission check) must agree with `parse` (the agent).

use vk_template::{
    DataSource, Dependency, Lookup, ParseOptions, RenderOptions, SyntaxError, check_syntax, parse,
};

struct NoData;

impl DataSource for NoData {
    fn lookup(&mut self, _: &Dependency) -> Lookup {
        Lookup::Missing
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
    fn now(&self) -> (i64, u32) {
        (0, 0)
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        Err(format!("{path}: not here"))
    }
}

fn render_with(text: &str, left: &str, right: &str) -> String {
    let opts = ParseOptions {
        name: String::new(),
        left_delim: left.into(),
        right_delim: right.into(),
    };
    let t = parse(text, &opts).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    t.render(&mut NoData, &RenderOptions::default())
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .output
}

fn render(text: &str) -> String {
    render_with(text, "", "")
}

fn err(text: &str) -> (usize, Option<usize>, String) {
    let SyntaxError { line, col, reason } =
        check_syntax(text, "", "").expect_err(&format!("{text:?} should not parse"));
    (line, col, reason)
}

#[test]
fn non_ascii_identifiers() {
    assert_eq!(render("{{ $é := \"v\" }}{{ $é }}"), "v");
    assert_eq!(render("{{ $日本_1 := 1 }}{{ $日本_1 }}"), "1");
    // A non-ASCII digit is an identifier character.
    assert_eq!(render("{{ $x٣ := 2 }}{{ $x٣ }}"), "2");
    assert_eq!(check_syntax("{{ .é.ü }}", "", ""), Ok(()));
    // A non-ASCII character that is not a letter or digit ends the identifier badly.
    assert_eq!(
        err("{{ .a« }}"),
        (1, Some(4), "bad character U+00AB '«'".into())
    );
    assert_eq!(
        err("x\n{{ $ä» }}"),
        (2, Some(4), "bad character U+00BB '»'".into())
    );
}

#[test]
fn multibyte_text_next_to_delimiters() {
    assert_eq!(render("é{{ 1 }}ü"), "é1ü");
    assert_eq!(render("日本 \n{{- 1 -}}\t 𝔘"), "日本1𝔘");
    // Only ASCII white space is trimmed.
    assert_eq!(
        render("日本\u{3000}{{- 1 -}}\u{3000}x"),
        "日本\u{3000}1\u{3000}x"
    );
    assert_eq!(render("a{b}{{\"é\\\"x\"}}}c"), "a{b}é\"x}c");
    assert_eq!(render("é{{- /* ü */ -}} ö"), "éö");
}

#[test]
fn custom_single_char_and_multibyte_delimiters() {
    assert_eq!(
        render_with("a [ b [[ 1 ]] c ] {{ x }}", "[[", "]]"),
        "a [ b 1 c ] {{ x }}"
    );
    assert_eq!(render_with("a<1>b<- 2 ->  c", "<", ">"), "a1b2c");
    assert_eq!(render_with("é«- 1 -» ü", "«", "»"), "é1ü");
    // `¢` and `«` share their first byte (0xC2): only the whole delimiter opens an action.
    assert_eq!(render_with("¢«1»¢", "«", "»"), "¢1¢");
    assert_eq!(render_with("日本{{1]]本", "{{", "]]"), "日本1本");
    assert_eq!(render_with("x[", "[[", "]]"), "x[");
    // Half a right delimiter is an ordinary character.
    let e = check_syntax("a\n[[ 1 ]", "[[", "]]").unwrap_err();
    assert_eq!(
        (e.line, e.reason.as_str()),
        (2, "unexpected \"]\" in operand")
    );
    let e = check_syntax("a\n[[ 1 ", "[[", "]]").unwrap_err();
    assert_eq!((e.line, e.reason.as_str()), (2, "unclosed action"));
    let e = check_syntax("a < 1", "<", ">").unwrap_err();
    assert_eq!((e.line, e.reason.as_str()), (1, "unclosed action"));
}

#[test]
fn lines_count_newlines_in_text_and_actions() {
    assert_eq!(
        err("a\n\n{{- 1 -}}\n\n{{ nosuch }}"),
        (5, Some(4), "function \"nosuch\" not defined".into())
    );
    assert_eq!(
        err("{{ .A\n.B\n| nosuch }}"),
        (3, Some(3), "function \"nosuch\" not defined".into())
    );
    assert_eq!(
        err("{{ `a\nb` }}é{{ nosuch }}"),
        (2, Some(10), "function \"nosuch\" not defined".into())
    );
    assert_eq!(
        err("{{/* a\nb */}}\n{{ nosuch }}"),
        (3, Some(4), "function \"nosuch\" not defined".into())
    );
}

#[test]
fn unclosed_actions_comments_and_strings() {
    assert_eq!(
        err("a\nb\n{{ .A }}\n\n{{ .B\n"),
        (6, Some(1), "unclosed action started at :5".into())
    );
    assert_eq!(err("x {{ .B"), (1, Some(8), "unclosed action".into()));
    assert_eq!(err("x\n{{/* abc"), (2, Some(3), "unclosed comment".into()));
    assert_eq!(
        err("é\n {{/* a */ x }}"),
        (2, Some(4), "comment ends before closing delimiter".into())
    );
    assert_eq!(
        err("{{ \"日本\n\" }}"),
        (1, Some(4), "unterminated quoted string".into())
    );
    assert_eq!(
        err("{{ \"a\\"),
        (1, Some(4), "unterminated quoted string".into())
    );
    assert_eq!(
        err("{{ `a\nb"),
        (1, Some(4), "unterminated raw quoted string".into())
    );
}

#[test]
fn check_syntax_agrees_with_parse() {
    for text in [
        "{{ define \"\" }}x{{ end }}y",
        "{{ define \"\" }}{{ end }}y",
        "{{ define \"\" }}x{{ end }} \n",
        "{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}",
        "{{ block \"b\" . }}x{{ end }}",
        "{{ with secret \"secret/data/x\" }}{{ .Data.data.password }}{{ end }}",
        "{{ $x := 1 }}{{ $x }}{{ $y }}",
        "{{ if 1 }}{{ else if 2 }}{{ else }}{{ end }}",
    ] {
        let parsed = parse(text, &ParseOptions::default());
        let checked = check_syntax(text, "", "");
        match (parsed, checked) {
            (Ok(_), Ok(())) => {}
            (Err(p), Err(c)) => {
                assert_eq!(p.line(), Some(c.line), "{text:?}");
                assert_eq!(p.reason(), c.reason, "{text:?}");
            }
            (p, c) => panic!("{text:?}: parse {p:?}, check {c:?}"),
        }
    }
}
