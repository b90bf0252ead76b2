//! The syntax tree both front ends (HCL1 and JSON) produce, shaped like HCL1's own: an object is
//! a list of items, each with a key path (name, then block labels) and a value. Repeated blocks
//! stay separate items, so "at most one" rules and label handling work the same for both.

use serde_json::{Map, Number, Value};

/// A scalar as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A value with the line it starts on (`None` for JSON input, which carries no positions).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) line: Option<u32>,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Lit(Lit),
    List(Vec<Node>),
    Object(Vec<Item>),
}

/// `name "label"… = value` or `name "label"… { … }`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) keys: Vec<String>,
    pub(crate) line: Option<u32>,
    pub(crate) value: Node,
}

impl Item {
    pub(crate) fn name(&self) -> &str {
        self.keys.first().map_or("", String::as_str)
    }

    /// Block labels (keys after the name).
    pub(crate) fn labels(&self) -> &[String] {
        self.keys.get(1..).unwrap_or(&[])
    }
}

/// Items of an object whose name is `name` (HCL1's `Filter`).
pub(crate) fn filter<'a, 'k>(
    items: &'a [Item],
    name: &'k str,
) -> impl Iterator<Item = &'a Item> + use<'a, 'k> {
    items.iter().filter(move |i| i.name() == name)
}

impl Node {
    pub(crate) fn object(&self) -> Option<&[Item]> {
        match &self.kind {
            Kind::Object(items) => Some(items),
            _ => None,
        }
    }

    /// What a generic decode (Go `interface{}`) of this node yields, as JSON. Labelled items
    /// nest under their labels; a repeated key keeps the last value, except that repeated
    /// objects merge.
    pub(crate) fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Lit(Lit::Str(s)) => Value::String(s.clone()),
            Kind::Lit(Lit::Int(i)) => Value::from(*i),
            Kind::Lit(Lit::Float(f)) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Kind::Lit(Lit::Bool(b)) => Value::Bool(*b),
            Kind::List(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Object(items) => Value::Object(items_to_json(items)),
        }
    }
}

/// Generic decode of an item list (see [`Node::to_json`]).
pub(crate) fn items_to_json(items: &[Item]) -> Map<String, Value> {
    let mut out = Map::new();
    for item in items {
        let mut value = item.value.to_json();
        for label in item.labels().iter().rev() {
            let mut m = Map::new();
            m.insert(label.clone(), value);
            value = Value::Object(m);
        }
        let key = item.name().to_owned();
        match out.get_mut(&key) {
            Some(Value::Object(existing)) if value.is_object() => {
                // Repeated blocks of the same name merge (later keys win), as HCL1 does for maps.
                if let Value::Object(new) = value {
                    existing.extend(new);
                }
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    out
}
