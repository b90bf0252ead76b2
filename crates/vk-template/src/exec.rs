//! Execution: Go `text/template` semantics (missingkey, nil chains, truthiness, argument
//! conversion, variables, range/break/continue, template calls) with guard rails.

use std::cell::RefCell;
use std::rc::Rc;

use crate::ast::{Arg, Cmd, Control, Node, Pipe};
use crate::funcs::{self, Func, P};
use crate::objects;
use crate::parser::TreeSet;
use crate::printf;
use crate::value::{IntKind, Scratch, Value};
use crate::{DataSource, Dependency, RenderOptions, TemplateError};

/// Nested `template`/`executeTemplate` calls allowed (Go allows 100000; the stack here is smaller).
const MAX_TEMPLATE_DEPTH: usize = 100;

/// Nested walks/pipelines across template calls: keeps native recursion well inside the stack.
const MAX_NESTING_EXEC: usize = 1000;
/// Node evaluations allowed per render: bounds `range` over big ints/loops and recursion.
const MAX_STEPS: u64 = 2_000_000;
/// Largest string or list a single function may produce (memory guard).
pub(crate) const MAX_VALUE_LEN: usize = 32 << 20;

/// A value plus whether its static Go type is `interface {}` (a map element, a range element).
/// That changes error texts and the nil-chain behaviour (§3.2).
#[derive(Clone, Debug)]
pub(crate) struct Tv {
    pub(crate) v: Value,
    pub(crate) iface: bool,
}

impl Tv {
    fn plain(v: Value) -> Tv {
        Tv { v, iface: false }
    }
}

/// Where execution is, for error messages (Go's `state.at`).
#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Arg(&'a Arg),
    Cmd(&'a Cmd),
    Pipe(&'a Pipe),
    Node(&'a Node),
}

/// Control flow out of a node: errors, `break`, `continue`.
pub(crate) enum Flow {
    Err(TemplateError),
    Break,
    Continue,
}

impl From<TemplateError> for Flow {
    fn from(e: TemplateError) -> Self {
        Flow::Err(e)
    }
}

type R<T> = Result<T, Flow>;

pub(crate) struct State<'a> {
    pub(crate) text: &'a str,
    pub(crate) name: &'a str,
    pub(crate) trees: &'a TreeSet,
    pub(crate) source: &'a mut dyn DataSource,
    pub(crate) opts: &'a RenderOptions,
    pub(crate) dependencies: Vec<Dependency>,
    pub(crate) missing: Vec<Dependency>,
    pub(crate) scratch: Rc<RefCell<Scratch>>,
    out: String,
    vars: Vec<(String, Tv)>,
    at: At<'a>,
    tmpl_name: String,
    depth: usize,
    nest: usize,
    steps: u64,
}

impl<'a> State<'a> {
    pub(crate) fn new(
        text: &'a str,
        name: &'a str,
        trees: &'a TreeSet,
        source: &'a mut dyn DataSource,
        opts: &'a RenderOptions,
    ) -> Self {
        State {
            text,
            name,
            trees,
            source,
            opts,
            dependencies: Vec::new(),
            missing: Vec::new(),
            scratch: Rc::new(RefCell::new(Scratch::default())),
            out: String::new(),
            vars: Vec::new(),
            at: At::None,
            tmpl_name: String::new(),
            depth: 0,
            nest: 0,
            steps: 0,
        }
    }

    /// Run the main template; returns the output.
    pub(crate) fn run(&mut self) -> Result<String, TemplateError> {
        let Some(root) = self.trees.get("") else {
            return Ok(String::new());
        };
        self.vars.push(("$".into(), Tv::plain(Value::Invalid)));
        match self.walk_list(&Tv::plain(Value::Invalid), root) {
            Ok(()) => Ok(std::mem::take(&mut self.out)),
            Err(Flow::Err(e)) => Err(e),
            Err(_) => Ok(std::mem::take(&mut self.out)),
        }
    }

    /// Record a dependency use (first-use order, deduplicated).
    pub(crate) fn use_dependency(&mut self, d: &Dependency, missing: bool) {
        if !self.dependencies.contains(d) {
            self.dependencies.push(d.clone());
        }
        if missing && !self.missing.contains(d) {
            self.missing.push(d.clone());
        }
    }

    // ---- errors ----

    fn line_col(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let col = match before.iter().rposition(|b| *b == b'\n') {
            Some(nl) => pos - (nl + 1),
            None => pos,
        };
        (line, col)
    }

    pub(crate) fn error(&self, reason: impl Into<String>) -> Flow {
        let reason = reason.into();
        let (pos, node) = match self.at {
            At::None => {
                return Flow::Err(TemplateError::ExecNoNode {
                    name: self.name.into(),
                    template: self.tmpl_name.clone(),
                    reason,
                });
            }
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Node(n) => (node_pos(n), n.to_string()),
        };
        let (line, col) = self.line_col(pos);
        Flow::Err(TemplateError::Exec {
            name: self.name.into(),
            template: self.tmpl_name.clone(),
            line,
            col,
            node,
            reason,
        })
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(Flow::Err(TemplateError::Limit(format!(
                "execution exceeded {MAX_STEPS} steps"
            ))));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > self.opts.max_output_bytes {
            return Err(Flow::Err(TemplateError::Limit(format!(
                "output exceeds {} bytes",
                self.opts.max_output_bytes
            ))));
        }
        self.out.push_str(s);
        Ok(())
    }

    // ---- variables ----

    fn var_value(&self, name: &str) -> R<Tv> {
        for (n, v) in self.vars.iter().rev() {
            if n == name {
                return Ok(v.clone());
            }
        }
        Err(self.error(format!("undefined variable: {name}")))
    }

    fn set_var(&mut self, name: &str, v: Tv) -> R<()> {
        for (n, slot) in self.vars.iter_mut().rev() {
            if n == name {
                *slot = v;
                return Ok(());
            }
        }
        Err(self.error(format!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, v: Tv) {
        let len = self.vars.len();
        if n <= len {
            self.vars[len - n].1 = v;
        }
    }

    // ---- walking ----

    fn walk_list(&mut self, dot: &Tv, list: &'a [Node]) -> R<()> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Tv, node: &'a Node) -> R<()> {
        self.nest += 1;
        let r = self.walk_inner(dot, node);
        self.nest -= 1;
        r
    }

    fn walk_inner(&mut self, dot: &Tv, node: &'a Node) -> R<()> {
        self.step()?;
        if self.nest > MAX_NESTING_EXEC {
            return Err(Flow::Err(TemplateError::Limit(format!(
                "exceeded maximum nesting depth ({MAX_NESTING_EXEC})"
            ))));
        }
        match node {
            Node::Text(t) => self.write(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Node(node);
                    let text = print_action_value(&v.v);
                    self.write(&text)?;
                }
                Ok(())
            }
            Node::If(c) => self.walk_if_with(dot, c, false),
            Node::With(c) => self.walk_if_with(dot, c, true),
            Node::Range(c) => self.walk_range(dot, node, c),
            Node::Template { name, pipe, .. } => {
                self.at = At::Node(node);
                let Some(tree) = self.trees.get(name) else {
                    return Err(self.error(format!("template {} not defined", vk_go::quote(name))));
                };
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Tv::plain(Value::Invalid),
                };
                self.call_template(name, tree, new_dot)
            }
            Node::Break(_) => Err(Flow::Break),
            Node::Continue(_) => Err(Flow::Continue),
        }
    }

    fn call_template(&mut self, name: &str, tree: &'a [Node], dot: Tv) -> R<()> {
        if self.depth >= MAX_TEMPLATE_DEPTH {
            return Err(self.error(format!(
                "exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
            )));
        }
        self.depth += 1;
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), dot.clone())]);
        let saved_name = std::mem::replace(&mut self.tmpl_name, name.to_string());
        let r = self.walk_list(&dot, tree);
        self.vars = saved_vars;
        self.tmpl_name = saved_name;
        self.depth -= 1;
        r
    }

    /// `executeTemplate`: run a defined template into a string.
    pub(crate) fn execute_template(&mut self, name: &str, dot: Value) -> Result<String, String> {
        let Some(tree) = self.trees.get(name) else {
            return Err(format!(
                "template: no template {} associated with template \"\"",
                vk_go::quote(name)
            ));
        };
        let saved_out = std::mem::take(&mut self.out);
        let saved_at = self.at;
        let r = self.call_template(name, tree, Tv::plain(dot));
        let produced = std::mem::replace(&mut self.out, saved_out);
        self.at = saved_at;
        match r {
            Ok(()) | Err(Flow::Break) | Err(Flow::Continue) => Ok(produced),
            Err(Flow::Err(e)) => Err(e.to_string()),
        }
    }

    fn walk_if_with(&mut self, dot: &Tv, c: &'a Control, is_with: bool) -> R<()> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &c.pipe)?;
        let r = if v.v.truth() {
            if is_with {
                self.walk_list(&v, &c.list)
            } else {
                self.walk_list(dot, &c.list)
            }
        } else if let Some(e) = &c.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Tv, node: &'a Node, c: &'a Control) -> R<()> {
        self.at = At::Node(node);
        let mark = self.vars.len();
        let r = self.walk_range_inner(dot, c);
        self.vars.truncate(mark);
        match r {
            Err(Flow::Break) => Ok(()),
            other => other,
        }
    }

    fn one_iteration(&mut self, c: &'a Control, index: Tv, elem: Tv) -> R<()> {
        let decl = &c.pipe.decl;
        if !decl.is_empty() {
            if c.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if c.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let mark = self.vars.len();
        let r = self.walk_list(&elem, &c.list);
        self.vars.truncate(mark);
        match r {
            Err(Flow::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner(&mut self, dot: &Tv, c: &'a Control) -> R<()> {
        let val = self.eval_pipeline(dot, &c.pipe)?.v;
        let mut ran = false;
        match &val {
            Value::List(l) => {
                for (i, e) in l.iter().enumerate() {
                    ran = true;
                    self.step()?;
                    self.one_iteration(
                        c,
                        Tv::plain(Value::int(i as i64)),
                        Tv {
                            v: e.clone(),
                            iface: true,
                        },
                    )?;
                }
            }
            Value::StrList(l) => {
                for (i, e) in l.iter().enumerate() {
                    ran = true;
                    self.step()?;
                    self.one_iteration(
                        c,
                        Tv::plain(Value::int(i as i64)),
                        Tv::plain(Value::str(e)),
                    )?;
                }
            }
            Value::Map(m) => {
                // Go's range visits the entries present when it starts (sorted keys).
                for (k, e) in m.snapshot().iter() {
                    ran = true;
                    self.step()?;
                    self.one_iteration(
                        c,
                        Tv::plain(Value::str(k)),
                        Tv {
                            v: e.clone(),
                            iface: true,
                        },
                    )?;
                }
            }
            Value::StrMap(m) => {
                for (k, e) in m.iter() {
                    ran = true;
                    self.step()?;
                    self.one_iteration(c, Tv::plain(Value::str(k)), Tv::plain(Value::str(e)))?;
                }
            }
            Value::Chan(a, b) => {
                let (a, b) = (*a, *b);
                let mut x = a;
                let mut i = 0i64;
                while x < b {
                    ran = true;
                    self.step()?;
                    self.one_iteration(
                        c,
                        Tv::plain(Value::int(i)),
                        Tv::plain(Value::Int(x, IntKind::Int64)),
                    )?;
                    x += 1;
                    i += 1;
                }
            }
            Value::Int(n, kind) => {
                if c.pipe.decl.len() > 1 {
                    return Err(self.error(format!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                for i in 0..*n {
                    ran = true;
                    self.step()?;
                    let v = Tv::plain(Value::Int(i, *kind));
                    self.one_iteration(c, v.clone(), v)?;
                }
            }
            Value::Uint(n) => {
                if c.pipe.decl.len() > 1 {
                    return Err(self.error(format!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                for i in 0..*n {
                    ran = true;
                    self.step()?;
                    let v = Tv::plain(Value::Uint(i));
                    self.one_iteration(c, v.clone(), v)?;
                }
            }
            Value::Invalid | Value::Nil | Value::NilPtr(_) => {}
            other => {
                return Err(self.error(format!(
                    "range can't iterate over {}",
                    printf::sprint_one(other)
                )));
            }
        }
        if !ran && let Some(e) = &c.else_list {
            return self.walk_list(dot, e);
        }
        Ok(())
    }

    // ---- evaluation ----

    pub(crate) fn eval_pipeline(&mut self, dot: &Tv, pipe: &'a Pipe) -> R<Tv> {
        self.nest += 1;
        let r = self.eval_pipeline_inner(dot, pipe);
        self.nest -= 1;
        r
    }

    fn eval_pipeline_inner(&mut self, dot: &Tv, pipe: &'a Pipe) -> R<Tv> {
        if self.nest > MAX_NESTING_EXEC {
            return Err(Flow::Err(TemplateError::Limit(format!(
                "exceeded maximum nesting depth ({MAX_NESTING_EXEC})"
            ))));
        }
        self.at = At::Pipe(pipe);
        let mut value: Option<Tv> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            // Pipeline boundary: an interface{} is replaced by what it holds; nil becomes "no value".
            value = Some(unwrap_iface(v));
        }
        let value = value.unwrap_or(Tv::plain(Value::Invalid));
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Tv>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.error(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Tv, cmd: &'a Cmd, fin: Option<Tv>) -> R<Tv> {
        self.step()?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, fin);
            }
            Arg::Chain { node, fields, .. } => {
                return self.eval_chain(dot, first, node, fields, &cmd.args, fin);
            }
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, Some(cmd), &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { idents, .. } => {
                return self.eval_variable(dot, first, idents, &cmd.args, fin);
            }
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool(_, b) => Ok(Tv::plain(Value::Bool(*b))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Err(self.error("nil is not a command")),
            Arg::Number(_, n) => self.ideal_constant(first, n).map(Tv::plain),
            Arg::String { text, .. } => Ok(Tv::plain(Value::str(text))),
            _ => Err(self.error(format!(
                "can't evaluate command {}",
                vk_go::quote(&first.to_string())
            ))),
        }
    }

    fn ideal_constant(&mut self, node: &'a Arg, n: &crate::ast::Number) -> R<Value> {
        self.at = At::Arg(node);
        let t = n.text.to_ascii_lowercase();
        // Go's isHexInt: a hex literal without a binary exponent.
        let is_hex = t.trim_start_matches(['+', '-']).starts_with("0x") && !t.contains('p');
        if n.float.is_some() && !is_hex && !n.is_char && n.text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float.unwrap_or(0.0)));
        }
        if let Some(i) = n.int {
            return Ok(Value::int(i));
        }
        if n.uint.is_some() {
            return Err(self.error(format!("{} overflows int", n.text)));
        }
        Ok(Value::Invalid)
    }

    fn eval_variable(
        &mut self,
        dot: &Tv,
        node: &'a Arg,
        idents: &'a [String],
        args: &'a [Arg],
        fin: Option<Tv>,
    ) -> R<Tv> {
        self.at = At::Arg(node);
        let v = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(v);
        }
        self.eval_field_chain(dot, v, node, &idents[1..], args, fin)
    }

    fn eval_chain(
        &mut self,
        dot: &Tv,
        chain: &'a Arg,
        node: &'a Arg,
        fields: &'a [String],
        args: &'a [Arg],
        fin: Option<Tv>,
    ) -> R<Tv> {
        self.at = At::Arg(chain);
        if matches!(node, Arg::Nil(_)) {
            return Err(self.error(format!("indirection through explicit nil in {chain}")));
        }
        let pipe = self.eval_arg(dot, P::Any, node)?;
        // Arguments to the chain's head are evaluated as `interface{}`: a nil head is "no value".
        let pipe = Tv::plain(match pipe.v {
            Value::Nil => Value::Invalid,
            v => v,
        });
        self.eval_field_chain(dot, pipe, chain, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Tv,
        mut receiver: Tv,
        node: &'a Arg,
        idents: &'a [String],
        args: &'a [Arg],
        fin: Option<Tv>,
    ) -> R<Tv> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(dot, ident, node, &[], None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Tv,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        fin: Option<Tv>,
        receiver: Tv,
    ) -> R<Tv> {
        let typ = if receiver.iface {
            "interface {}"
        } else {
            receiver.v.type_name()
        };
        match &receiver.v {
            Value::Invalid => {
                if self.opts.error_on_missing_key {
                    return Err(
                        self.error(format!("nil data; no entry for key {}", vk_go::quote(name)))
                    );
                }
                return Ok(Tv::plain(Value::Invalid));
            }
            Value::Nil => {
                return Err(self.error(format!("nil pointer evaluating interface {{}}.{name}")));
            }
            _ => {}
        }
        if let Some(m) = funcs::method(&receiver.v, name) {
            let margs = if args.len() > 1 { &args[1..] } else { &[] };
            let r = self.eval_call(
                dot,
                m,
                false,
                At::Arg(node),
                name,
                margs,
                fin,
                Some(receiver.v.clone()),
            )?;
            return Ok(r);
        }
        let has_args = args.len() > 1 || fin.is_some();
        match &receiver.v {
            Value::Secret(_) | Value::Auth(_) | Value::WrapInfo(_) | Value::Pki(_) => {
                if let Some(f) = objects::field(&receiver.v, name) {
                    if has_args {
                        return Err(self.error(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(Tv::plain(f));
                }
            }
            Value::Map(m) => {
                if has_args {
                    return Err(self.error(format!("{name} is not a method but has arguments")));
                }
                return match m.get(name) {
                    Some(v) => Ok(Tv {
                        v: v.clone(),
                        iface: true,
                    }),
                    None if self.opts.error_on_missing_key => {
                        Err(self.error(format!("map has no entry for key {}", vk_go::quote(name))))
                    }
                    None => Ok(Tv {
                        v: Value::Nil,
                        iface: true,
                    }),
                };
            }
            Value::StrMap(m) => {
                if has_args {
                    return Err(self.error(format!("{name} is not a method but has arguments")));
                }
                return match m.get(name) {
                    Some(v) => Ok(Tv::plain(Value::str(v))),
                    None if self.opts.error_on_missing_key => {
                        Err(self.error(format!("map has no entry for key {}", vk_go::quote(name))))
                    }
                    None => Ok(Tv::plain(Value::str(""))),
                };
            }
            Value::NilPtr(t) if objects::nil_ptr_has_field(t, name) => {
                return Err(self.error(format!("nil pointer evaluating {t}.{name}")));
            }
            _ => {}
        }
        Err(self.error(format!("can't evaluate field {name} in type {typ}")))
    }

    fn eval_function(
        &mut self,
        dot: &Tv,
        node: &'a Arg,
        name: &str,
        cmd: Option<&'a Cmd>,
        args: &'a [Arg],
        fin: Option<Tv>,
    ) -> R<Tv> {
        let err_at = match cmd {
            Some(c) => At::Cmd(c),
            None => At::Arg(node),
        };
        self.at = At::Arg(node);
        let Some(f) = funcs::lookup(name) else {
            return Err(self.error(format!("{} is not a defined function", vk_go::quote(name))));
        };
        let rest = if args.len() > 1 { &args[1..] } else { &[] };
        self.eval_call(dot, f, true, err_at, name, rest, fin, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &Tv,
        f: &'static Func,
        builtin: bool,
        err_at: At<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Tv>,
        receiver: Option<Value>,
    ) -> R<Tv> {
        let num_in = args.len() + usize::from(fin.is_some());
        let nparams = f.params.len();
        if f.variadic.is_some() {
            if num_in < nparams {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want at least {nparams} got {}",
                    args.len()
                )));
            }
        } else if num_in != nparams {
            return Err(self.error(format!(
                "wrong number of args for {name}: want {nparams} got {num_in}"
            )));
        }
        if builtin && (name == "and" || name == "or") {
            let mut v = Tv::plain(Value::Invalid);
            for a in args {
                v = unwrap_iface(self.eval_arg(dot, P::Value, a)?);
                if v.v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(fv) = fin {
                v = unwrap_iface(self.validate(fv, P::Value)?);
            }
            return Ok(v);
        }
        let mut argv: Vec<Value> = Vec::with_capacity(num_in + 1);
        if let Some(r) = receiver {
            argv.push(r);
        }
        let mut i = 0;
        while i < nparams && i < args.len() {
            argv.push(self.eval_arg(dot, f.params[i], &args[i])?.v);
            i += 1;
        }
        if let Some(vt) = f.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, vt, &args[i])?.v);
                i += 1;
            }
        }
        if let Some(fv) = fin {
            let t = if f.variadic.is_some() && num_in > nparams {
                f.variadic.unwrap_or(P::Any)
            } else {
                f.params.get(num_in - 1).copied().unwrap_or(P::Any)
            };
            argv.push(self.validate(fv, t)?.v);
        }
        let result = (f.call)(self, argv);
        match result {
            Ok(v) => {
                if value_too_big(&v) {
                    return Err(Flow::Err(TemplateError::Limit(format!(
                        "value produced by {name} is too large"
                    ))));
                }
                Ok(Tv::plain(v))
            }
            Err(funcs::CallError::Msg(msg)) => {
                self.at = err_at;
                Err(self.error(format!("error calling {name}: {msg}")))
            }
            Err(funcs::CallError::Fatal(e)) => Err(Flow::Err(e)),
        }
    }

    /// Go's `validateType`: Go assignability, with the texts Go uses.
    fn validate(&self, tv: Tv, p: P) -> R<Tv> {
        let v = tv.v;
        if matches!(v, Value::Invalid) {
            return match p {
                P::Any | P::Value => Ok(Tv::plain(if p == P::Any {
                    Value::Nil
                } else {
                    Value::Invalid
                })),
                P::StrList => Ok(Tv::plain(Value::StrList(Rc::new(Vec::new())))),
                P::List => Ok(Tv::plain(Value::list(Vec::new()))),
                P::Map => Ok(Tv::plain(Value::map(Default::default()))),
                _ => Err(self.error(format!("invalid value; expected {}", p.go_type()))),
            };
        }
        let ok = match p {
            P::Any | P::Value => true,
            P::Str => matches!(v, Value::Str(_)),
            P::Int => matches!(v, Value::Int(_, IntKind::Int)),
            P::Float => matches!(v, Value::Float(_)),
            P::Bool => matches!(v, Value::Bool(_)),
            P::StrList => matches!(v, Value::StrList(_)),
            P::List => matches!(v, Value::List(_)),
            P::Map => matches!(&v, Value::Map(m) if !m.iface_keys),
        };
        if !ok {
            return Err(self.error(format!(
                "wrong type for value; expected {}; got {}",
                p.go_type(),
                v.type_name()
            )));
        }
        Ok(Tv::plain(v))
    }

    fn eval_arg(&mut self, dot: &Tv, p: P, n: &'a Arg) -> R<Tv> {
        self.step()?;
        self.at = At::Arg(n);
        match n {
            Arg::Dot(_) => return self.validate(dot.clone(), p),
            Arg::Nil(_) => {
                return match p {
                    P::Any => Ok(Tv::plain(Value::Nil)),
                    P::Value => Ok(Tv::plain(Value::Invalid)),
                    P::StrList => Ok(Tv::plain(Value::StrList(Rc::new(Vec::new())))),
                    P::List => Ok(Tv::plain(Value::list(Vec::new()))),
                    P::Map => Ok(Tv::plain(Value::map(Default::default()))),
                    _ => Err(self.error(format!("cannot assign nil to {}", p.go_type()))),
                };
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    n,
                    idents,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate(v, p);
            }
            Arg::Variable { idents, .. } => {
                let v = self.eval_variable(dot, n, idents, &[], None)?;
                return self.validate(v, p);
            }
            Arg::Pipe(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                return self.validate(v, p);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, n, name, None, std::slice::from_ref(n), None)?;
                return self.validate(v, p);
            }
            Arg::Chain { node, fields, .. } => {
                let v = self.eval_chain(dot, n, node, fields, &[], None)?;
                return self.validate(v, p);
            }
            _ => {}
        }
        match p {
            P::Bool => match n {
                Arg::Bool(_, b) => Ok(Tv::plain(Value::Bool(*b))),
                _ => Err(self.error(format!("expected bool; found {n}"))),
            },
            P::Float => match n {
                Arg::Number(_, num) if num.float.is_some() => {
                    Ok(Tv::plain(Value::Float(num.float.unwrap_or(0.0))))
                }
                _ => Err(self.error(format!("expected float; found {n}"))),
            },
            P::Int => match n {
                Arg::Number(_, num) if num.int.is_some() => {
                    Ok(Tv::plain(Value::Int(num.int.unwrap_or(0), IntKind::Int)))
                }
                _ => Err(self.error(format!("expected integer; found {n}"))),
            },
            P::Str => match n {
                Arg::String { text, .. } => Ok(Tv::plain(Value::str(text))),
                _ => Err(self.error(format!("expected string; found {n}"))),
            },
            P::Any | P::Value => match n {
                Arg::Bool(_, b) => Ok(Tv::plain(Value::Bool(*b))),
                Arg::Number(_, num) => self.ideal_constant(n, num).map(Tv::plain),
                Arg::String { text, .. } => Ok(Tv::plain(Value::str(text))),
                _ => Err(self.error(format!(
                    "can't handle assignment of {n} to empty interface argument"
                ))),
            },
            P::StrList | P::List | P::Map => {
                Err(self.error(format!("can't handle {n} for arg of type {}", p.go_type())))
            }
        }
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Action(p) => p.pos,
        Node::If(c) | Node::With(c) | Node::Range(c) => c.pipe.pos,
        Node::Template { pos, .. } | Node::Break(pos) | Node::Continue(pos) => *pos,
        Node::Text(_) => 0,
    }
}

fn unwrap_iface(tv: Tv) -> Tv {
    match tv.v {
        Value::Nil => Tv::plain(Value::Invalid),
        v => Tv::plain(v),
    }
}

/// Deepest container nesting a function may return: printing, encoding and even dropping
/// values recurse, so a loop wrapping a list in a list must not go on forever.
const MAX_NESTING: usize = 600;

fn value_too_big(v: &Value) -> bool {
    match v {
        Value::Str(s) => s.len() > MAX_VALUE_LEN,
        Value::List(l) => l.len() > MAX_VALUE_LEN / 16 || nesting_exceeds(v, MAX_NESTING),
        Value::StrList(l) => l.len() > MAX_VALUE_LEN / 16,
        Value::Map(_) => nesting_exceeds(v, MAX_NESTING),
        _ => false,
    }
}

/// Iterative (stack-safe) check of container depth.
fn nesting_exceeds(v: &Value, limit: usize) -> bool {
    let mut stack: Vec<(Value, usize)> = vec![(v.clone(), 1)];
    while let Some((v, d)) = stack.pop() {
        if d > limit {
            return true;
        }
        match v {
            Value::List(l) => stack.extend(
                l.iter()
                    .filter(|x| matches!(x, Value::List(_) | Value::Map(_)))
                    .map(|x| (x.clone(), d + 1)),
            ),
            Value::Map(m) => stack.extend(
                m.values()
                    .into_iter()
                    .filter(|x| matches!(x, Value::List(_) | Value::Map(_)))
                    .map(|x| (x, d + 1)),
            ),
            _ => {}
        }
    }
    false
}

/// text/template's `printValue`: `<no value>` for nothing, pointers dereferenced, then `fmt.Print`.
fn print_action_value(v: &Value) -> String {
    match v {
        Value::Invalid => "<no value>".into(),
        Value::Secret(_)
        | Value::Auth(_)
        | Value::WrapInfo(_)
        | Value::Pki(_)
        | Value::Scratch(_) => {
            let s = printf::sprint_one(v);
            s.strip_prefix('&').map(str::to_string).unwrap_or(s)
        }
        other => printf::sprint_one(other),
    }
}
