//! Tokeniser following Go `text/template/parse` lexing rules (delimiters, trim markers,
//! comments, literals) and its error texts.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Error,
    Text,
    Comment,
    LeftDelim,
    RightDelim,
    Space,
    Assign,
    Declare,
    Pipe,
    LeftParen,
    RightParen,
    Char,
    String,
    RawString,
    CharConstant,
    Number,
    Bool,
    Identifier,
    Field,
    Variable,
    Dot,
    Nil,
    // Keywords.
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
    Eof,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    pub(crate) tok: Tok,
    /// Byte offset in the source.
    pub(crate) pos: usize,
    /// Borrowed from the source, so lexing allocates nothing per token and the parser's
    /// look-ahead copies are cheap. Empty for `Error`: the message is [`Lexed::error`].
    pub(crate) val: &'a str,
    // No line: only errors need one, and [`line_at`] its position gives it (32-byte items).
}

/// The 1-based line of byte offset `pos` in `text` (the line an item starting there is on).
pub(crate) fn line_at(text: &str, pos: usize) -> usize {
    1 + text
        .as_bytes()
        .get(..pos)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// What [`lex`] makes of a text.
pub(crate) struct Lexed<'a> {
    /// The last item is `Eof` or `Error`.
    pub(crate) items: Vec<Item<'a>>,
    /// The message of the `Error` item (empty without one).
    pub(crate) error: String,
}

impl Item<'_> {
    /// Go's `item.String()` used in "unexpected …" parse errors (not for `Error` items, which
    /// are reported by their message).
    pub(crate) fn describe(&self) -> String {
        match self.tok {
            Tok::Eof => "EOF".into(),
            t if is_keyword(t) => format!("<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let head: String = self.val.chars().take(10).collect();
                    format!("{}...", vk_go::quote(&head))
                } else {
                    vk_go::quote(self.val)
                }
            }
        }
    }
}

fn is_keyword(t: Tok) -> bool {
    matches!(
        t,
        Tok::Block
            | Tok::Break
            | Tok::Continue
            | Tok::Define
            | Tok::Else
            | Tok::End
            | Tok::If
            | Tok::Range
            | Tok::Template
            | Tok::With
            | Tok::Dot
            | Tok::Nil
    )
}

fn keyword(word: &str) -> Option<Tok> {
    Some(match word {
        "block" => Tok::Block,
        "break" => Tok::Break,
        "continue" => Tok::Continue,
        "define" => Tok::Define,
        "else" => Tok::Else,
        "end" => Tok::End,
        "if" => Tok::If,
        "range" => Tok::Range,
        "template" => Tok::Template,
        "with" => Tok::With,
        "nil" => Tok::Nil,
        _ => return None,
    })
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        // The only ASCII letters and digits Unicode knows are these.
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        c.is_alphabetic() || c.is_numeric()
    }
}

/// Byte offset of the first `needle` in `hay` (`str::find`, without building a two-way
/// searcher per call: the delimiters are short and a template is lexed in a few calls).
/// The needle's first byte is ASCII or a UTF-8 lead byte, so it only matches where a character
/// starts, and the offset returned is a character boundary.
fn find_str(hay: &str, needle: &str) -> Option<usize> {
    let hay = hay.as_bytes();
    let needle = needle.as_bytes();
    let Some(&first) = needle.first() else {
        return Some(0);
    };
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if starts_with(&hay[at..], needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `hay.starts_with(needle)` for short needles (delimiters), without a `memcmp` call.
#[inline]
fn starts_with(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay.iter().zip(needle).all(|(a, b)| a == b)
}

/// Items a text of `len` bytes is likely to lex into (an agent template makes about one per
/// five bytes), so the list rarely grows; bounded so a huge text does not reserve far ahead.
fn items_capacity(len: usize) -> usize {
    (len / 4).clamp(8, 4096)
}

/// Lex the whole input. The last item is `Eof` or `Error`.
pub(crate) fn lex<'a>(input: &'a str, left: &str, right: &str) -> Lexed<'a> {
    let mut l = Lexer {
        input,
        left,
        right,
        pos: 0,
        start: 0,
        items: Vec::with_capacity(items_capacity(input.len())),
        paren_depth: 0,
        error: String::new(),
    };
    l.run();
    Lexed {
        items: l.items,
        error: l.error,
    }
}

struct Lexer<'a, 'd> {
    input: &'a str,
    left: &'d str,
    right: &'d str,
    pos: usize,
    start: usize,
    items: Vec<Item<'a>>,
    paren_depth: i32,
    error: String,
}

enum State {
    Text,
    Inside,
    Done,
}

impl<'a> Lexer<'a, '_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    #[inline]
    fn peek(&self) -> Option<char> {
        match *self.input.as_bytes().get(self.pos)? {
            b if b.is_ascii() => Some(char::from(b)),
            _ => self.rest().chars().next(),
        }
    }

    #[inline]
    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
    }

    fn advance(&mut self, n: usize) {
        self.pos += n.min(self.input.len() - self.pos);
    }

    fn emit(&mut self, tok: Tok) {
        let val = &self.input[self.start..self.pos];
        self.items.push(Item {
            tok,
            pos: self.start,
            val,
        });
        self.ignore();
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn error(&mut self, msg: String) -> State {
        self.items.push(Item {
            tok: Tok::Error,
            pos: self.start,
            val: "",
        });
        self.error = msg;
        State::Done
    }

    fn run(&mut self) {
        let mut state = State::Text;
        loop {
            state = match state {
                State::Text => self.lex_text(),
                State::Inside => self.lex_inside(),
                State::Done => return,
            };
        }
    }

    fn has_left_trim(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
    }

    fn has_right_trim(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
    }

    fn left_trim_len(s: &str) -> usize {
        s.len() - s.trim_start_matches(is_space).len()
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = find_str(self.rest(), self.left) {
            if x > 0 {
                let after = &self.input[self.pos + x + self.left.len()..];
                let mut end = self.pos + x;
                if Self::has_left_trim(after) {
                    end = self.input[..end]
                        .trim_end_matches(is_space)
                        .len()
                        .max(self.start);
                }
                self.advance(x);
                if end > self.start {
                    let val = &self.input[self.start..end];
                    self.items.push(Item {
                        tok: Tok::Text,
                        pos: self.start,
                        val,
                    });
                }
                self.ignore();
            }
            return self.lex_left_delim();
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.emit(Tok::Text);
        }
        self.items.push(Item {
            tok: Tok::Eof,
            pos: self.pos,
            val: "",
        });
        State::Done
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let r = &self.input.as_bytes()[self.pos..];
        let right = self.right.as_bytes();
        if r.len() >= 2 && is_space(char::from(r[0])) && r[1] == b'-' && starts_with(&r[2..], right)
        {
            return (true, true);
        }
        (starts_with(r, right), false)
    }

    fn lex_left_delim(&mut self) -> State {
        self.advance(self.left.len());
        let trim = Self::has_left_trim(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.rest()[after..].starts_with("/*") {
            self.advance(after);
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Tok::LeftDelim);
        self.advance(after);
        self.ignore();
        self.paren_depth = 0;
        State::Inside
    }

    fn lex_comment(&mut self) -> State {
        self.advance(2);
        let Some(x) = find_str(self.rest(), "*/") else {
            return self.error("unclosed comment".into());
        };
        self.advance(x + 2);
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        self.emit(Tok::Comment);
        if trim {
            self.advance(2);
        }
        self.advance(self.right.len());
        if trim {
            let n = Self::left_trim_len(self.rest());
            self.advance(n);
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.advance(2);
            self.ignore();
        }
        self.advance(self.right.len());
        self.emit(Tok::RightDelim);
        if trim {
            let n = Self::left_trim_len(self.rest());
            self.advance(n);
            self.ignore();
        }
        State::Text
    }

    fn lex_inside(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return self.lex_right_delim();
            }
            return self.error("unclosed left paren".into());
        }
        let Some(c) = self.next() else {
            return self.error("unclosed action".into());
        };
        match c {
            c if is_space(c) => {
                self.backup(c);
                return self.lex_space();
            }
            '=' => self.emit(Tok::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.error("expected :=".into());
                }
                self.emit(Tok::Declare);
            }
            '|' => self.emit(Tok::Pipe),
            '"' => return self.lex_quote(),
            '`' => return self.lex_raw_quote(),
            '$' => return self.lex_field_or_variable(Tok::Variable),
            '\'' => return self.lex_char(),
            '.' if !matches!(self.peek(), Some('0'..='9')) => {
                return self.lex_field_or_variable(Tok::Field);
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.backup(c);
                return self.lex_number();
            }
            c if is_alnum(c) => {
                self.backup(c);
                return self.lex_identifier();
            }
            '(' => {
                self.emit(Tok::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                self.emit(Tok::RightParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren".into());
                }
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.emit(Tok::Char),
            c => {
                return self.error(format!(
                    "unrecognized character in action: {}",
                    crate::gofmt::go_unicode(c)
                ));
            }
        }
        State::Inside
    }

    fn lex_space(&mut self) -> State {
        let mut n = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            n += 1;
        }
        let prev = self.pos - 1;
        if Self::has_right_trim(&self.input[prev..])
            && self.input[prev + 2..].starts_with(self.right)
        {
            let c = self.input[prev..].chars().next().unwrap_or(' ');
            self.backup(c);
            if n == 1 {
                return State::Inside;
            }
        }
        self.emit(Tok::Space);
        State::Inside
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            // An ASCII character starts the delimiter when its first byte is that character.
            Some(c) if c.is_ascii() => self.right.as_bytes().first() == Some(&(c as u8)),
            Some(c) => self.right.starts_with(c),
        }
    }

    /// Skips identifier characters.
    fn skip_alnum(&mut self) {
        let bytes = self.input.as_bytes();
        let mut i = self.pos;
        while let Some(&b) = bytes.get(i) {
            if b.is_ascii() {
                if !IS_ASCII_ALNUM[usize::from(b)] {
                    break;
                }
                i += 1;
            } else {
                match self.input[i..].chars().next() {
                    Some(c) if is_alnum(c) => i += c.len_utf8(),
                    _ => break,
                }
            }
        }
        self.pos = i;
    }

    fn lex_identifier(&mut self) -> State {
        self.skip_alnum();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", crate::gofmt::go_unicode(c)));
        }
        let word = &self.input[self.start..self.pos];
        let tok = if let Some(k) = keyword(word) {
            k
        } else if word == "true" || word == "false" {
            Tok::Bool
        } else {
            Tok::Identifier
        };
        self.emit(tok);
        State::Inside
    }

    fn lex_field_or_variable(&mut self, tok: Tok) -> State {
        if self.at_terminator() {
            self.emit(if tok == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
            return State::Inside;
        }
        self.skip_alnum();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", crate::gofmt::go_unicode(c)));
        }
        self.emit(tok);
        State::Inside
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => {
                        return self.error("unterminated character constant".into());
                    }
                    _ => {}
                },
                Some('\n') | None => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(Tok::CharConstant);
        State::Inside
    }

    fn lex_quote(&mut self) -> State {
        // By byte: what ends or escapes a string is ASCII, and no byte of a multibyte
        // character is ASCII.
        let bytes = self.input.as_bytes();
        let mut i = self.pos;
        loop {
            match bytes.get(i) {
                Some(b'\\') if !matches!(bytes.get(i + 1), Some(b'\n') | None) => i += 2,
                Some(b'\\' | b'\n') | None => {
                    self.pos = i;
                    return self.error("unterminated quoted string".into());
                }
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        self.emit(Tok::String);
        State::Inside
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(Tok::RawString);
        State::Inside
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn lex_number(&mut self) -> State {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            let text = self.input[self.start..self.pos].to_string();
            return self.error(format!("bad number syntax: {}", vk_go::quote(&text)));
        }
        self.emit(Tok::Number);
        State::Inside
    }
}

/// ASCII letters, digits and `_` (identifier characters), by byte value.
static IS_ASCII_ALNUM: [bool; 128] = {
    let mut t = [false; 128];
    let mut b = 0;
    while b < 128 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(Tok, String)> {
        let lexed = lex(s, "{{", "}}");
        lexed
            .items
            .into_iter()
            .map(|i| {
                let val = if i.tok == Tok::Error {
                    &lexed.error
                } else {
                    i.val
                };
                (i.tok, val.to_string())
            })
            .collect()
    }

    #[test]
    fn trim_markers_and_text() {
        let t = toks("a  {{- .x -}}  b");
        assert_eq!(t[0], (Tok::Text, "a".into()));
        assert_eq!(t[1].0, Tok::LeftDelim);
        assert_eq!(t[2], (Tok::Field, ".x".into()));
        assert_eq!(t[3].0, Tok::RightDelim);
        assert_eq!(t[4], (Tok::Text, "b".into()));
    }

    #[test]
    fn dash_without_space_is_a_number() {
        let t = toks("{{-3}}");
        assert_eq!(t[1], (Tok::Number, "-3".into()));
    }

    #[test]
    fn comments_and_errors() {
        let t = toks("x {{- /* c */ -}} y");
        assert_eq!(t[0], (Tok::Text, "x".into()));
        assert_eq!(t[1].0, Tok::Comment);
        assert_eq!(t[2], (Tok::Text, "y".into()));
        assert_eq!(
            toks("{{ \"a\nb\" }}").last().unwrap().1,
            "unterminated quoted string"
        );
        // Not a comment: `/` is an ordinary character token (the parser rejects it).
        assert_eq!(toks("{{ /* x */ }}")[2], (Tok::Char, "/".into()));
        assert_eq!(
            toks("{{ \u{1} }}").last().unwrap().1,
            "unrecognized character in action: U+0001"
        );
        assert_eq!(toks("{{/* x").last().unwrap().1, "unclosed comment");
        assert_eq!(toks("{{ .x").last().unwrap().1, "unclosed action");
    }

    #[test]
    fn find_str_matches_str_find() {
        for (hay, needle) in [
            ("a{b{{c", "{{"),
            ("¢«x«", "«"),
            ("abc", "{{"),
            ("", "{{"),
            ("x{", "{{"),
            ("ab", ""),
            ("{{{", "{{"),
            ("日本日本", "本日"),
            ("a*/b", "*/"),
        ] {
            assert_eq!(
                find_str(hay, needle),
                hay.find(needle),
                "{hay:?} {needle:?}"
            );
        }
    }

    #[test]
    fn custom_delims() {
        let t = lex("[[ .a ]]{{x}}", "[[", "]]").items;
        assert_eq!(t[2].tok, Tok::Field);
        assert_eq!(t[5].val, "{{x}}");
    }

    #[test]
    fn literals() {
        let t = toks("{{ 0x1F 1_000 1.5e3 'a' `r` \"s\\n\" true nil $x $ . }}");
        let kinds: Vec<Tok> = t.iter().map(|x| x.0).filter(|t| *t != Tok::Space).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::LeftDelim,
                Tok::Number,
                Tok::Number,
                Tok::Number,
                Tok::CharConstant,
                Tok::RawString,
                Tok::String,
                Tok::Bool,
                Tok::Nil,
                Tok::Variable,
                Tok::Variable,
                Tok::Dot,
                Tok::RightDelim,
                Tok::Eof
            ]
        );
    }
}
