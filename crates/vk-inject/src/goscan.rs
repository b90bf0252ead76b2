//! Go `encoding/json` syntax checking, only to reproduce its error texts (e.g.
//! `invalid character 'a' looking for beginning of value`) in deny messages.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    ObjectKey,
    ObjectValue,
    Array,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    /// Remaining bytes of a literal and its name.
    Literal(&'static [u8], &'static str),
}

fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        _ => {
            let q = crate::primitives::go_quote(&char::from(c).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Returns Go's syntax error message for `data`, or `None` when it is valid JSON.
pub(crate) fn syntax_error(data: &[u8]) -> Option<String> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut state = State::BeginValue;
    let err = |c: u8, ctx: &str| Some(format!("invalid character {} {ctx}", quote_char(c)));
    for &c in data {
        // A number ends at the first byte that cannot continue it; that byte is then re-read
        // as the end of a value, exactly like Go's state functions chain into stateEndValue.
        let mut redo = true;
        while redo {
            redo = false;
            match state {
                State::BeginValue | State::BeginValueOrEmpty => {
                    if is_space(c) {
                        continue;
                    }
                    if state == State::BeginValueOrEmpty && c == b']' {
                        stack.pop();
                        state = State::EndValue;
                        continue;
                    }
                    state = match c {
                        b'{' => {
                            stack.push(Frame::ObjectKey);
                            State::BeginStringOrEmpty
                        }
                        b'[' => {
                            stack.push(Frame::Array);
                            State::BeginValueOrEmpty
                        }
                        b'"' => State::InString,
                        b'-' => State::Neg,
                        b'0' => State::Zero,
                        b'1'..=b'9' => State::One,
                        b't' => State::Literal(b"rue", "true"),
                        b'f' => State::Literal(b"alse", "false"),
                        b'n' => State::Literal(b"ull", "null"),
                        _ => return err(c, "looking for beginning of value"),
                    };
                }
                State::BeginStringOrEmpty | State::BeginString => {
                    if is_space(c) {
                        continue;
                    }
                    if state == State::BeginStringOrEmpty && c == b'}' {
                        stack.pop();
                        state = State::EndValue;
                        continue;
                    }
                    if c != b'"' {
                        return err(c, "looking for beginning of object key string");
                    }
                    state = State::InString;
                }
                State::EndValue => {
                    let Some(top) = stack.last().copied() else {
                        state = State::EndTop;
                        redo = true;
                        continue;
                    };
                    if is_space(c) {
                        continue;
                    }
                    match (top, c) {
                        (Frame::ObjectKey, b':') => {
                            if let Some(t) = stack.last_mut() {
                                *t = Frame::ObjectValue;
                            }
                            state = State::BeginValue;
                        }
                        (Frame::ObjectKey, _) => return err(c, "after object key"),
                        (Frame::ObjectValue, b',') => {
                            if let Some(t) = stack.last_mut() {
                                *t = Frame::ObjectKey;
                            }
                            state = State::BeginString;
                        }
                        (Frame::ObjectValue, b'}') => {
                            stack.pop();
                        }
                        (Frame::ObjectValue, _) => return err(c, "after object key:value pair"),
                        (Frame::Array, b',') => state = State::BeginValue,
                        (Frame::Array, b']') => {
                            stack.pop();
                        }
                        (Frame::Array, _) => return err(c, "after array element"),
                    }
                }
                State::EndTop => {
                    if !is_space(c) {
                        return err(c, "after top-level value");
                    }
                }
                State::InString => match c {
                    b'"' => state = State::EndValue,
                    b'\\' => state = State::InStringEsc,
                    c if c < 0x20 => return err(c, "in string literal"),
                    _ => {}
                },
                State::InStringEsc => match c {
                    b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                        state = State::InString
                    }
                    b'u' => state = State::InStringEscU(0),
                    _ => return err(c, "in string escape code"),
                },
                State::InStringEscU(n) => {
                    if !c.is_ascii_hexdigit() {
                        return err(c, "in \\u hexadecimal character escape");
                    }
                    state = if n == 3 {
                        State::InString
                    } else {
                        State::InStringEscU(n + 1)
                    };
                }
                State::Neg => match c {
                    b'0' => state = State::Zero,
                    b'1'..=b'9' => state = State::One,
                    _ => return err(c, "in numeric literal"),
                },
                State::One | State::Zero => {
                    if state == State::One && c.is_ascii_digit() {
                        continue;
                    }
                    match c {
                        b'.' => state = State::Dot,
                        b'e' | b'E' => state = State::E,
                        _ => {
                            state = State::EndValue;
                            redo = true;
                        }
                    }
                }
                State::Dot => {
                    if !c.is_ascii_digit() {
                        return err(c, "after decimal point in numeric literal");
                    }
                    state = State::Dot0;
                }
                State::Dot0 => match c {
                    b'0'..=b'9' => {}
                    b'e' | b'E' => state = State::E,
                    _ => {
                        state = State::EndValue;
                        redo = true;
                    }
                },
                State::E => {
                    if c == b'+' || c == b'-' {
                        state = State::ESign;
                    } else {
                        state = State::ESign;
                        redo = true;
                    }
                }
                State::ESign => {
                    if !c.is_ascii_digit() {
                        return err(c, "in exponent of numeric literal");
                    }
                    state = State::E0;
                }
                State::E0 => {
                    if !c.is_ascii_digit() {
                        state = State::EndValue;
                        redo = true;
                    }
                }
                State::Literal(rest, name) => {
                    let Some((&want, tail)) = rest.split_first() else {
                        state = State::EndValue;
                        redo = true;
                        continue;
                    };
                    if c != want {
                        return err(
                            c,
                            &format!("in literal {name} (expecting {})", quote_char(want)),
                        );
                    }
                    state = if tail.is_empty() {
                        State::EndValue
                    } else {
                        State::Literal(tail, name)
                    };
                }
            }
        }
    }
    let complete = stack.is_empty()
        && matches!(
            state,
            State::EndValue | State::EndTop | State::One | State::Zero | State::Dot0 | State::E0
        );
    if complete {
        None
    } else {
        Some("unexpected end of JSON input".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::syntax_error;

    #[test]
    fn go_messages() {
        let cases = [
            (
                "abc",
                Some("invalid character 'a' looking for beginning of value"),
            ),
            ("", Some("unexpected end of JSON input")),
            ("[", Some("unexpected end of JSON input")),
            ("[1 2]", Some("invalid character '2' after array element")),
            ("{\"a\" 1}", Some("invalid character '1' after object key")),
            (
                "{\"a\":1 x}",
                Some("invalid character 'x' after object key:value pair"),
            ),
            (
                "{1}",
                Some("invalid character '1' looking for beginning of object key string"),
            ),
            ("1 2", Some("invalid character '2' after top-level value")),
            ("tru", Some("unexpected end of JSON input")),
            (
                "trx",
                Some("invalid character 'x' in literal true (expecting 'u')"),
            ),
            ("-x", Some("invalid character 'x' in numeric literal")),
            (
                "1.x",
                Some("invalid character 'x' after decimal point in numeric literal"),
            ),
            (
                "1ex",
                Some("invalid character 'x' in exponent of numeric literal"),
            ),
            (
                "\"\\x\"",
                Some("invalid character 'x' in string escape code"),
            ),
            (
                "'a'",
                Some("invalid character '\\'' looking for beginning of value"),
            ),
            ("null", None),
            (
                "[{\"op\":\"add\",\"path\":\"/a\",\"value\":[1,-2.5e3,true,{}]}]",
                None,
            ),
            (" 12 ", None),
            ("0", None),
        ];
        for (input, want) in cases {
            assert_eq!(syntax_error(input.as_bytes()).as_deref(), want, "{input}");
        }
    }
}
