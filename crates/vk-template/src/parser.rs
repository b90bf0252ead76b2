//! Recursive-descent parser following Go's `text/template/parse` grammar and error texts.

use std::collections::BTreeMap;

use crate::ast::{Arg, Cmd, Control, Node, Number, Pipe};
use crate::gofmt;
use crate::lexer::{self, Item, Tok, line_at};

/// Nesting bound (parenthesised pipelines, control structures): keeps recursion off the stack limit.
const MAX_DEPTH: usize = 100;

/// Every template of one parse: `""` is the main body, others come from `define`/`block`.
pub(crate) type TreeSet = BTreeMap<String, Vec<Node>>;

/// A parse failure: line, byte offset of the offending item (for a column), and reason.
pub(crate) struct ParseError {
    pub(crate) line: usize,
    /// Byte offset in the template text where the offending item starts (`None`: no item).
    pub(crate) pos: Option<usize>,
    pub(crate) reason: String,
}

type PResult<T> = Result<T, ParseError>;

pub(crate) fn parse(text: &str, left: &str, right: &str) -> PResult<TreeSet> {
    let mut p = Parser::new(text, left, right);
    let root = p.parse_top()?;
    add_tree(&mut p.trees, "", root, || 1)?;
    Ok(p.trees)
}

/// [`parse`] for its verdict alone: the same parser, but the main body is not stored (only its
/// clash with a `define ""` matters), which spares the admission check the tree map.
pub(crate) fn check(text: &str, left: &str, right: &str) -> PResult<()> {
    let mut p = Parser::new(text, left, right);
    let root = p.parse_top()?;
    may_define(&p.trees, "", &root, || 1).map(drop)
}

fn is_empty_tree(list: &[Node]) -> bool {
    list.iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

/// Whether `list` becomes template `name`: not when a definition with content exists and `list`
/// has none (the existing one stays); an error when both have content.
/// `line` gives the error's line (worked out only when there is an error).
fn may_define(
    trees: &TreeSet,
    name: &str,
    list: &[Node],
    line: impl FnOnce() -> usize,
) -> PResult<bool> {
    match trees.get(name) {
        Some(existing) if !is_empty_tree(existing) => {
            if !is_empty_tree(list) {
                return Err(ParseError {
                    line: line(),
                    pos: None,
                    reason: format!(
                        "template: multiple definition of template {}",
                        vk_go::quote(name)
                    ),
                });
            }
            Ok(false)
        }
        _ => Ok(true),
    }
}

fn add_tree(
    trees: &mut TreeSet,
    name: &str,
    list: Vec<Node>,
    line: impl FnOnce() -> usize,
) -> PResult<()> {
    if may_define(trees, name, &list, line)? {
        trees.insert(name.to_string(), list);
    }
    Ok(())
}

struct Parser<'a> {
    items: Vec<Item<'a>>,
    /// The message of the lexer's `Error` item.
    lex_error: String,
    i: usize,
    /// Variables in scope besides `$`, which every scope has (so a fresh scope allocates nothing).
    vars: Vec<&'a str>,
    range_depth: usize,
    depth: usize,
    /// Where the action being parsed starts (its line is in "… started at" errors).
    action_pos: Option<usize>,
    text: &'a str,
    trees: TreeSet,
}

enum Stop {
    End,
    Else,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, left: &str, right: &str) -> Self {
        let lexed = lexer::lex(text, left, right);
        Parser {
            items: lexed.items,
            lex_error: lexed.error,
            i: 0,
            vars: Vec::new(),
            range_depth: 0,
            depth: 0,
            action_pos: None,
            text,
            trees: TreeSet::new(),
        }
    }

    fn cur_line(&self) -> usize {
        self.items
            .get(self.i.saturating_sub(1))
            .map_or(1, |t| self.line_of(t))
    }

    fn line_of(&self, item: &Item<'_>) -> usize {
        line_at(self.text, item.pos)
    }

    fn err<T>(&self, reason: String) -> PResult<T> {
        Err(ParseError {
            line: self.cur_line(),
            pos: self.items.get(self.i.saturating_sub(1)).map(|t| t.pos),
            reason,
        })
    }

    fn next(&mut self) -> Item<'a> {
        if let Some(&it) = self.items.get(self.i) {
            self.i += 1;
            return it;
        }
        self.items.last().copied().unwrap_or(Item {
            tok: Tok::Eof,
            pos: 0,
            val: "",
        })
    }

    fn backup(&mut self) {
        self.i = self.i.saturating_sub(1);
    }

    fn peek(&self) -> Tok {
        self.items.get(self.i).map_or(Tok::Eof, |t| t.tok)
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let t = self.next();
            if t.tok != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn unexpected<T>(&self, item: &Item<'_>, context: &str) -> PResult<T> {
        if item.tok == Tok::Error {
            let mut extra = String::new();
            let line = self.line_of(item);
            let action_line = self.action_pos.map(|p| line_at(self.text, p));
            if let Some(action_line) = action_line.filter(|l| *l != line) {
                extra = format!(" in action started at :{action_line}");
                if self.lex_error.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return Err(ParseError {
                line,
                pos: Some(item.pos),
                reason: format!("{}{extra}", self.lex_error),
            });
        }
        Err(ParseError {
            line: self.line_of(item),
            pos: Some(item.pos),
            reason: format!("unexpected {} in {context}", item.describe()),
        })
    }

    fn expect(&mut self, tok: Tok, context: &str) -> PResult<Item<'a>> {
        let t = self.next_non_space();
        if t.tok != tok {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("max expression depth exceeded".into());
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek() != Tok::Eof {
            if self.peek() == Tok::LeftDelim {
                let save = self.i;
                self.next();
                if self.next_non_space().tok == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Ok(n) => root.push(n),
                Err(Stop::End) => return self.err("unexpected {{end}}".into()),
                Err(Stop::Else) => return self.err("unexpected {{else}}".into()),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let name_tok = self.next_non_space();
        if name_tok.tok != Tok::String && name_tok.tok != Tok::RawString {
            return self.unexpected(&name_tok, CONTEXT);
        }
        let name = gofmt::unquote(name_tok.val).map_err(|e| ParseError {
            line: self.line_of(&name_tok),
            pos: Some(name_tok.pos),
            reason: e,
        })?;
        self.expect(Tok::RightDelim, CONTEXT)?;
        let saved_vars = std::mem::take(&mut self.vars);
        let (list, stop) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(stop, Stop::End) {
            return self.err(format!("unexpected {{{{else}}}} in {CONTEXT}"));
        }
        let text = self.text;
        add_tree(&mut self.trees, &name, list, || line_at(text, name_tok.pos))
    }

    /// Nodes up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(Vec<Node>, Stop)> {
        // A body alternates text and actions: room for a few of each without regrowing.
        let mut list = Vec::with_capacity(8);
        while self.peek_non_space().tok != Tok::Eof {
            match self.text_or_action()? {
                Ok(n) => list.push(n),
                Err(stop) => return Ok((list, stop)),
            }
        }
        self.err("unexpected EOF".into())
    }

    fn text_or_action(&mut self) -> PResult<Result<Node, Stop>> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Text => Ok(Ok(Node::Text(t.val.to_string()))),
            Tok::LeftDelim => {
                self.action_pos = Some(t.pos);
                let r = self.action();
                self.action_pos = None;
                r
            }
            Tok::Comment => Ok(Ok(Node::Text(String::new()))),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Result<Node, Stop>> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Block => return self.block_control().map(Ok),
            Tok::Break | Tok::Continue => {
                let ctx = if t.tok == Tok::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let n = self.next_non_space();
                if n.tok != Tok::RightDelim {
                    return self.unexpected(&n, ctx);
                }
                if self.range_depth == 0 {
                    return self.err(format!("{ctx} outside {{{{range}}}}"));
                }
                return Ok(Ok(if t.tok == Tok::Break {
                    Node::Break(t.pos)
                } else {
                    Node::Continue(t.pos)
                }));
            }
            Tok::Else => {
                let p = self.peek_non_space();
                if p.tok == Tok::If || p.tok == Tok::With {
                    return Ok(Err(Stop::Else));
                }
                self.expect(Tok::RightDelim, "else")?;
                return Ok(Err(Stop::Else));
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Err(Stop::End));
            }
            Tok::If => return self.control("if").map(|c| Ok(Node::If(c))),
            Tok::With => return self.control("with").map(|c| Ok(Node::With(c))),
            Tok::Range => return self.control("range").map(|c| Ok(Node::Range(c))),
            Tok::Template => return self.template_control().map(Ok),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Ok(Node::Action(pipe)))
    }

    fn control(&mut self, context: &str) -> PResult<Control> {
        self.enter()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, stop) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Stop::Else = stop {
            let p = self.peek_non_space();
            if (context == "if" && p.tok == Tok::If) || (context == "with" && p.tok == Tok::With) {
                self.next_non_space();
                let inner = self.control(context)?;
                let node = if context == "if" {
                    Node::If(inner)
                } else {
                    Node::With(inner)
                };
                else_list = Some(vec![node]);
            } else {
                let (list, stop) = self.item_list()?;
                if !matches!(stop, Stop::End) {
                    return self.err("expected end; found {{else}}".into());
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Control {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, context: &str) -> PResult<(Item<'a>, String)> {
        let t = self.next_non_space();
        match t.tok {
            Tok::String | Tok::RawString => {
                let name = gofmt::unquote(t.val).map_err(|e| ParseError {
                    line: self.line_of(&t),
                    pos: Some(t.pos),
                    reason: e,
                })?;
                Ok((t, name))
            }
            _ => self.unexpected(&t, context),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let (t, name) = self.template_name(CONTEXT)?;
        let pipe = if self.next_non_space().tok != Tok::RightDelim {
            self.backup();
            Some(self.pipeline(CONTEXT, Tok::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        self.enter()?;
        let (t, name) = self.template_name(CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Tok::RightDelim)?;
        let saved_vars = std::mem::take(&mut self.vars);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, stop) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if !matches!(stop, Stop::End) {
            return self.err(format!("unexpected {{{{else}}}} in {CONTEXT}"));
        }
        let text = self.text;
        add_tree(&mut self.trees, &name, list, || line_at(text, t.pos))?;
        self.depth -= 1;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        self.enter()?;
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            // What a first push would reserve, without the growth path.
            cmds: Vec::with_capacity(4),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $v :=` (range only).
        loop {
            let v = self.peek_non_space();
            if v.tok != Tok::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val);
                    break;
                }
                Tok::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue,
                            _ => return self.err("range can only initialize variables".into()),
                        }
                    }
                    return self.err(format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.tok == end {
                if pipe.cmds.is_empty() {
                    return self.err(format!("missing value for {context}"));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args[0],
                        Arg::Bool(..)
                            | Arg::Dot(_)
                            | Arg::Nil(_)
                            | Arg::Number(..)
                            | Arg::String { .. }
                    ) {
                        return self.err(format!(
                            "non executable command in pipeline stage {}",
                            i + 1
                        ));
                    }
                }
                self.depth -= 1;
                return Ok(pipe);
            }
            match t.tok {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn command(&mut self) -> PResult<Cmd> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Cmd {
            pos,
            args: Vec::with_capacity(4),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err("empty command".into());
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek() != Tok::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.items.get(self.i).map_or(0, |t| t.pos);
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                self.push_fields(&mut idents);
                Arg::Field {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Variable { mut idents, .. } => {
                self.push_fields(&mut idents);
                Arg::Variable {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Bool(..) | Arg::String { .. } | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                // Go reads the whole chain first: the error points at its last field.
                self.push_fields(&mut Vec::new());
                return self.err(format!(
                    "unexpected . after term {}",
                    vk_go::quote(&node.to_string())
                ));
            }
            other => {
                let mut fields = Vec::new();
                self.push_fields(&mut fields);
                Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(other),
                    fields,
                }
            }
        }))
    }

    /// Consumes a run of `.Field` items, appending their names (without the dot).
    fn push_fields(&mut self, out: &mut Vec<String>) {
        while self.peek() == Tok::Field {
            let f = self.next();
            out.push(f.val[1..].to_string());
        }
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.tok {
            Tok::Identifier => {
                if !crate::funcs::exists(t.val) {
                    return self.err(format!("function {} not defined", vk_go::quote(t.val)));
                }
                Arg::Identifier {
                    pos: t.pos,
                    name: t.val.to_string(),
                }
            }
            Tok::Dot => Arg::Dot(t.pos),
            Tok::Nil => Arg::Nil(t.pos),
            Tok::Variable => {
                let mut parts = t.val.split('.');
                let name = parts.next().unwrap_or("$").to_string();
                if name != "$" && !self.vars.contains(&name.as_str()) {
                    return self.err(format!("undefined variable {}", vk_go::quote(&name)));
                }
                let mut idents = vec![name];
                idents.extend(parts.map(str::to_string));
                Arg::Variable { pos: t.pos, idents }
            }
            Tok::Field => Arg::Field {
                pos: t.pos,
                idents: t.val[1..].split('.').map(str::to_string).collect(),
            },
            Tok::Bool => Arg::Bool(t.pos, t.val == "true"),
            Tok::CharConstant | Tok::Number => {
                let n = parse_number(t.val, t.tok == Tok::CharConstant).map_err(|reason| {
                    ParseError {
                        line: self.line_of(&t),
                        pos: Some(t.pos),
                        reason,
                    }
                })?;
                Arg::Number(t.pos, n)
            }
            Tok::LeftParen => {
                let p = self.pipeline("parenthesized pipeline", Tok::RightParen)?;
                Arg::Pipe(Box::new(p))
            }
            Tok::String | Tok::RawString => {
                let text = gofmt::unquote(t.val).map_err(|reason| ParseError {
                    line: self.line_of(&t),
                    pos: Some(t.pos),
                    reason,
                })?;
                Arg::String {
                    pos: t.pos,
                    quoted: t.val.to_string(),
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// Integer text with Go's base prefixes and `_` separators (`strconv.ParseInt(s, 0, 64)`).
fn parse_go_uint(text: &str) -> Option<u64> {
    let t = text.strip_prefix('+').unwrap_or(text);
    let (digits, radix) = if let Some(r) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (r, 16)
    } else if let Some(r) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
        (r, 8)
    } else if let Some(r) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        (r, 2)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    if digits.is_empty()
        || digits.starts_with('_') && radix == 10
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    u64::from_str_radix(&digits.replace('_', ""), radix).ok()
}

fn parse_go_int(text: &str) -> Option<i64> {
    if let Some(r) = text.strip_prefix('-') {
        let u = parse_go_uint(r)?;
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        let u = parse_go_uint(text)?;
        i64::try_from(u).ok()
    }
}

/// Go's `newNumber`: every interpretation that succeeds is kept.
pub(crate) fn parse_number(text: &str, is_char: bool) -> Result<Number, String> {
    if is_char {
        let c = gofmt::unquote_char(text)?;
        let v = c as i64;
        return Ok(Number {
            text: text.into(),
            int: Some(v),
            uint: Some(v as u64),
            float: Some(v as f64),
            is_char: true,
        });
    }
    if text.ends_with('i') {
        return Err(format!("illegal number syntax: {}", vk_go::quote(text)));
    }
    let mut n = Number {
        text: text.into(),
        int: None,
        uint: None,
        float: None,
        is_char: false,
    };
    n.uint = if text.starts_with('-') {
        None
    } else {
        parse_go_uint(text)
    };
    n.int = parse_go_int(text);
    if n.int == Some(0) && n.uint.is_none() {
        n.uint = Some(0);
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else {
        let clean = text.replace('_', "");
        let lower = clean.to_ascii_lowercase();
        let is_hex = lower.trim_start_matches(['+', '-']).starts_with("0x");
        if is_hex && lower.contains('p') {
            n.float = hex_float(&lower);
            if let Some(f) = n.float.filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18) {
                n.int = Some(f as i64);
            }
        } else if !is_hex
            && !lower.contains("inf")
            && !lower.contains("nan")
            && let Ok(f) = clean.parse::<f64>()
        {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {}", vk_go::quote(text)));
            }
            n.float = Some(f);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                n.int = Some(f as i64);
            }
            if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) {
                n.uint = Some(f as u64);
            }
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!("illegal number syntax: {}", vk_go::quote(text)));
    }
    Ok(n)
}

/// Go hex float literal (`0x1.8p3`): hex mantissa times a power of two.
fn hex_float(lower: &str) -> Option<f64> {
    let (neg, t) = match lower.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, lower.strip_prefix('+').unwrap_or(lower)),
    };
    let t = t.strip_prefix("0x")?;
    let (mant, exp) = t.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp.clamp(-1100, 1100));
    Some(if neg { -v } else { v })
}
