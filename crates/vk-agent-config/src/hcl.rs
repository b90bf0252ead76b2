//! A small HCL version 1 reader (the dialect Vault Agent reads): `key = value`, blocks with and
//! without labels, `key { }` ≡ `key = { }`, lists, heredocs, three comment styles, numbers with
//! HCL1's leading-zero-is-octal rule, and strings whose `${…}` stays literal text.
//!
//! It produces the shared syntax tree ([`crate::ast`]); decoding happens elsewhere.

use crate::ast::{Item, Kind, Lit, Node};
use crate::error::ConfigError;

/// Deeper nesting is refused, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Heredoc(String),
    Int(i64),
    Float(f64),
    LBrace,
    RBrace,
    LBrack,
    RBrack,
    Assign,
    Comma,
    Eof,
}

struct Lexer<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    line: u32,
    col: u32,
}

type Res<T> = Result<T, (u32, u32, String)>;

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            src: text.as_bytes(),
            text,
            pos: 0,
            line: 1,
            col: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.src.get(self.pos + n).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        if b == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if b & 0xC0 != 0x80 {
            // Count characters, not UTF-8 continuation bytes.
            self.col += 1;
        }
        Some(b)
    }

    fn err<T>(&self, msg: impl Into<String>) -> Res<T> {
        Err((self.line, self.col, msg.into()))
    }

    /// Skips white space and comments.
    fn skip_trivia(&mut self) -> Res<()> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(b' ' | b'\t' | b'\r' | b'\n'), _) => {
                    self.bump();
                }
                (Some(b'#'), _) | (Some(b'/'), Some(b'/')) => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek(), self.peek_at(1)) {
                            (Some(b'*'), Some(b'/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            (Some(_), _) => {
                                self.bump();
                            }
                            (None, _) => return self.err("comment not terminated"),
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// The next token and the line it starts on.
    fn next(&mut self) -> Res<(Tok, u32)> {
        self.skip_trivia()?;
        let line = self.line;
        let Some(b) = self.peek() else {
            return Ok((Tok::Eof, line));
        };
        let tok = match b {
            b'{' => self.single(Tok::LBrace),
            b'}' => self.single(Tok::RBrace),
            b'[' => self.single(Tok::LBrack),
            b']' => self.single(Tok::RBrack),
            b'=' => self.single(Tok::Assign),
            b',' => self.single(Tok::Comma),
            b'"' => Tok::Str(self.string()?),
            b'<' if self.peek_at(1) == Some(b'<') => Tok::Heredoc(self.heredoc()?),
            b'-' | b'0'..=b'9' => self.number()?,
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
                {
                    self.bump();
                }
                Tok::Ident(self.text.get(start..self.pos).unwrap_or("").to_owned())
            }
            _ => {
                let c = self.text.get(self.pos..).and_then(|s| s.chars().next());
                return self.err(format!("illegal char {:?}", c.unwrap_or('?')));
            }
        };
        Ok((tok, line))
    }

    fn single(&mut self, tok: Tok) -> Tok {
        self.bump();
        tok
    }

    /// A double-quoted string; `${…}` may contain quotes and is kept verbatim.
    fn string(&mut self) -> Res<String> {
        self.bump();
        let mut out = String::new();
        let mut interp_depth = 0usize;
        loop {
            let Some(b) = self.peek() else {
                return self.err("literal not terminated");
            };
            match b {
                b'\n' => return self.err("literal not terminated"),
                b'"' if interp_depth == 0 => {
                    self.bump();
                    return Ok(out);
                }
                b'$' if self.peek_at(1) == Some(b'{') => {
                    interp_depth += 1;
                    self.bump();
                    self.bump();
                    out.push_str("${");
                }
                b'}' if interp_depth > 0 => {
                    interp_depth -= 1;
                    self.bump();
                    out.push('}');
                }
                b'\\' if interp_depth == 0 => {
                    self.bump();
                    self.escape(&mut out)?;
                }
                _ => {
                    let start = self.pos;
                    self.bump();
                    while self.peek().is_some_and(|c| c & 0xC0 == 0x80) {
                        self.bump();
                    }
                    out.push_str(self.text.get(start..self.pos).unwrap_or(""));
                }
            }
        }
    }

    /// One escape sequence after `\`, with Go's rules.
    fn escape(&mut self, out: &mut String) -> Res<()> {
        let Some(b) = self.bump() else {
            return self.err("literal not terminated");
        };
        let simple = match b {
            b'a' => Some('\u{7}'),
            b'b' => Some('\u{8}'),
            b'f' => Some('\u{c}'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            b'v' => Some('\u{b}'),
            b'\\' => Some('\\'),
            b'"' => Some('"'),
            b'\'' => Some('\''),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            return Ok(());
        }
        let (digits, radix) = match b {
            b'x' => (2, 16),
            b'u' => (4, 16),
            b'U' => (8, 16),
            b'0'..=b'7' => (3, 8),
            _ => return self.err("unknown escape sequence"),
        };
        let mut text = String::new();
        if radix == 8 {
            text.push(char::from(b));
        }
        while text.len() < digits {
            match self.bump() {
                Some(c) if char::from(c).is_digit(radix) => text.push(char::from(c)),
                _ => return self.err("illegal char escape"),
            }
        }
        let code = u32::from_str_radix(&text, radix).unwrap_or(u32::MAX);
        match b {
            // \x and octal escapes are bytes; only the ASCII range maps to one character.
            b'x' | b'0'..=b'7' if code > 0x7f => {
                out.push(char::REPLACEMENT_CHARACTER);
                Ok(())
            }
            _ => match char::from_u32(code) {
                Some(c) => {
                    out.push(c);
                    Ok(())
                }
                None => self.err("escape sequence is invalid Unicode code point"),
            },
        }
    }

    /// `<<ID` / `<<-ID` up to a line holding only `ID`; the value keeps its final newline.
    fn heredoc(&mut self) -> Res<String> {
        self.bump();
        self.bump();
        let indented = self.peek() == Some(b'-');
        if indented {
            self.bump();
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.bump();
        }
        let anchor = self.text.get(start..self.pos).unwrap_or("").to_owned();
        if anchor.is_empty() {
            return self.err("zero-length heredoc anchor");
        }
        if self.peek() == Some(b'\r') {
            self.bump();
        }
        if self.bump() != Some(b'\n') {
            return self.err("invalid characters in heredoc anchor");
        }
        let mut lines: Vec<&str> = Vec::new();
        loop {
            if self.peek().is_none() {
                return self.err("heredoc not terminated");
            }
            let line_start = self.pos;
            while self.peek().is_some_and(|c| c != b'\n') {
                self.bump();
            }
            let raw = self.text.get(line_start..self.pos).unwrap_or("");
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let is_end = if indented {
                line.trim_start() == anchor
            } else {
                line == anchor
            };
            if is_end {
                let indent = &line[..line.len() - line.trim_start().len()];
                return Ok(join_heredoc(&lines, indented.then_some(indent)));
            }
            lines.push(line);
            self.bump();
        }
    }

    fn number(&mut self) -> Res<Tok> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        let mut float = false;
        while let Some(c) = self.peek() {
            let exp_sign = matches!(c, b'+' | b'-')
                && matches!(self.src.get(self.pos.wrapping_sub(1)), Some(b'e' | b'E'));
            if c.is_ascii_alphanumeric() || c == b'.' || exp_sign {
                float |= c == b'.' || exp_sign;
                self.bump();
            } else {
                break;
            }
        }
        let text = self.text.get(start..self.pos).unwrap_or("");
        let is_hex = text.trim_start_matches('-').starts_with("0x")
            || text.trim_start_matches('-').starts_with("0X");
        if !is_hex && (float || text.contains(['e', 'E'])) {
            return match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Tok::Float(f)),
                _ => self.err(format!("invalid float {text:?}")),
            };
        }
        match parse_int(text) {
            Some(i) => Ok(Tok::Int(i)),
            None => self.err(format!("invalid number {text:?}")),
        }
    }
}

/// Go `strconv.ParseInt(s, 0, 64)` for the forms HCL1 lexes: decimal, `0x` hex, and a leading
/// zero meaning octal.
fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (radix, body) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, h)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    let value = if neg { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

fn join_heredoc(lines: &[&str], indent: Option<&str>) -> String {
    // `<<-`: the closing marker's indentation is removed from every line, when all have it.
    let strip = indent.filter(|p| !p.is_empty() && lines.iter().all(|l| l.starts_with(p)));
    let mut out = String::new();
    for line in lines {
        out.push_str(strip.map_or(line, |p| &line[p.len()..]));
        out.push('\n');
    }
    out
}

struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok,
    line: u32,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Res<Self> {
        let mut lex = Lexer::new(text);
        let (tok, line) = lex.next()?;
        Ok(Self { lex, tok, line })
    }

    fn advance(&mut self) -> Res<Tok> {
        let (tok, line) = self.lex.next()?;
        self.line = line;
        Ok(std::mem::replace(&mut self.tok, tok))
    }

    fn err<T>(&self, msg: impl Into<String>) -> Res<T> {
        Err((self.line, 1, msg.into()))
    }

    /// Items until `end` (EOF at the root, `}` inside an object); commas between items are
    /// optional.
    fn items(&mut self, root: bool, depth: usize) -> Res<Vec<Item>> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        let mut items = Vec::new();
        loop {
            match &self.tok {
                Tok::Eof if root => return Ok(items),
                Tok::Eof => return self.err("object expected closing RBRACE got: EOF"),
                Tok::RBrace if !root => return Ok(items),
                Tok::Comma if !items.is_empty() => {
                    self.advance()?;
                }
                _ => items.push(self.item(depth)?),
            }
        }
    }

    fn item(&mut self, depth: usize) -> Res<Item> {
        let line = self.line;
        let mut keys = Vec::new();
        loop {
            match &self.tok {
                Tok::Ident(_) | Tok::Str(_) => {
                    if let Tok::Ident(k) | Tok::Str(k) = self.advance()? {
                        keys.push(k);
                    }
                }
                Tok::Assign if keys.len() == 1 => {
                    self.advance()?;
                    let value = self.value(depth)?;
                    return Ok(Item {
                        keys,
                        line: Some(line),
                        value,
                    });
                }
                Tok::Assign if keys.len() > 1 => {
                    return self.err(format!(
                        "nested object expected: LBRACE got: ASSIGN (after key {:?})",
                        keys.last().map_or("", String::as_str)
                    ));
                }
                Tok::LBrace if !keys.is_empty() => {
                    let value = self.value(depth)?;
                    return Ok(Item {
                        keys,
                        line: Some(line),
                        value,
                    });
                }
                other => {
                    return self.err(format!("expected a key, \"=\" or \"{{\", got {other:?}"));
                }
            }
        }
    }

    fn value(&mut self, depth: usize) -> Res<Node> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        let line = Some(self.line);
        let kind = match self.advance()? {
            Tok::Str(s) | Tok::Heredoc(s) => Kind::Lit(Lit::Str(s)),
            Tok::Int(i) => Kind::Lit(Lit::Int(i)),
            Tok::Float(f) => Kind::Lit(Lit::Float(f)),
            Tok::Ident(id) if id == "true" => Kind::Lit(Lit::Bool(true)),
            Tok::Ident(id) if id == "false" => Kind::Lit(Lit::Bool(false)),
            Tok::LBrace => {
                let items = self.items(false, depth + 1)?;
                self.advance()?;
                Kind::Object(items)
            }
            Tok::LBrack => {
                let mut elems = Vec::new();
                loop {
                    match &self.tok {
                        Tok::RBrack => {
                            self.advance()?;
                            break;
                        }
                        Tok::Comma if !elems.is_empty() => {
                            self.advance()?;
                        }
                        _ => elems.push(self.value(depth + 1)?),
                    }
                }
                Kind::List(elems)
            }
            other => return self.err(format!("Unknown token: {other:?}")),
        };
        Ok(Node { line, kind })
    }
}

/// Parses HCL1 text into the root item list.
pub(crate) fn parse(text: &str, file: &str) -> Result<Vec<Item>, ConfigError> {
    let syntax = |(line, column, message): (u32, u32, String)| ConfigError::Syntax {
        file: file.to_owned(),
        line,
        column,
        message,
    };
    let mut parser = Parser::new(text).map_err(syntax)?;
    parser.items(true, 0).map_err(syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Vec<Item> {
        parse(text, "t.hcl").unwrap_or_else(|e| panic!("{e}"))
    }

    fn lit(items: &[Item], i: usize) -> Option<&Lit> {
        match &items.get(i)?.value.kind {
            Kind::Lit(l) => Some(l),
            _ => None,
        }
    }

    #[test]
    fn numbers_follow_hcl1() {
        let items = root("a = 0640\nb = 10\nc = -1\nd = 0x1F\ne = 1.5\nf = 1e3\ng = 0");
        let got: Vec<Option<&Lit>> = (0..7).map(|i| lit(&items, i)).collect();
        assert_eq!(
            got,
            [
                Some(&Lit::Int(0o640)),
                Some(&Lit::Int(10)),
                Some(&Lit::Int(-1)),
                Some(&Lit::Int(31)),
                Some(&Lit::Float(1.5)),
                Some(&Lit::Float(1000.0)),
                Some(&Lit::Int(0)),
            ]
        );
        assert!(parse("a = 08", "t.hcl").is_err());
    }

    #[test]
    fn strings_escapes_and_literal_interpolation() {
        let items = root(r#"a = "x\n\t\"\u00e9${ "q" }""#);
        assert_eq!(
            lit(&items, 0),
            Some(&Lit::Str("x\n\t\"é${ \"q\" }".to_owned()))
        );
        assert!(parse("a = \"open\nb = 1", "t.hcl").is_err());
        assert!(parse(r#"a = "\q""#, "t.hcl").is_err());
    }

    #[test]
    fn heredocs_plain_and_indented() {
        let items = root("a = <<EOF\n  x\ny\nEOF\nb = <<-EOT\n    p\n      q\n    EOT\n");
        assert_eq!(lit(&items, 0), Some(&Lit::Str("  x\ny\n".to_owned())));
        assert_eq!(lit(&items, 1), Some(&Lit::Str("p\n  q\n".to_owned())));
        assert!(parse("a = <<EOF\nx\n", "t.hcl").is_err());
    }

    #[test]
    fn comments_blocks_labels_and_lists() {
        let items = root(
            "# c1\n// c2\n/* c3\n */ m \"k8s\" \"x\" { a = [1, \"b\", { c = true },] }, n { }",
        );
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].keys, ["m", "k8s", "x"]);
        assert_eq!(items[0].line, Some(4));
        assert_eq!(items[1].keys, ["n"]);
        assert!(parse("a \"b\" = 1", "t.hcl").is_err());
        assert!(parse("a = ident", "t.hcl").is_err());
        assert!(parse("a { b = 1", "t.hcl").is_err());
    }

    #[test]
    fn errors_carry_positions() {
        match parse("a = 1\nb = @", "f.hcl") {
            Err(ConfigError::Syntax {
                file, line, column, ..
            }) => {
                assert_eq!((file.as_str(), line, column), ("f.hcl", 2, 5));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("a = {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&text, "t.hcl").is_err());
    }
}
