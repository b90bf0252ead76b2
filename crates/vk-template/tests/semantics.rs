//! Engine behaviours beyond the published cases: Go template semantics, dependency bookkeeping,
//! error shapes and guard rails.
#![allow(clippy::disallowed_methods)] // Test code, not the pure library: tests may use the file system and the clock.

use std::collections::BTreeMap;

use vk_template::{
    DataSource, Dependency, Lookup, ParseOptions, RenderOptions, Rendered, TemplateError, parse,
};

#[derive(Default)]
struct Mem {
    bodies: BTreeMap<Dependency, Lookup>,
    seen: Vec<Dependency>,
}

impl DataSource for Mem {
    fn lookup(&mut self, d: &Dependency) -> Lookup {
        self.seen.push(d.clone());
        self.bodies.get(d).cloned().unwrap_or(Lookup::Missing)
    }
    fn env(&self, name: &str) -> Option<String> {
        match name {
            "SET" => Some("yes".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }
    fn now(&self) -> (i64, u32) {
        (1_709_211_845, 0)
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        if path == "/etc/hostname" {
            Ok("host\n".into())
        } else {
            Err(format!("stat {path}: no such file or directory"))
        }
    }
}

const SIMPLE: &str = r#"{"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"foo":"bar","zip":"zap"},"metadata":{"version":1}},"warnings":null,"auth":null,"wrap_info":null}"#;

fn with_simple() -> Mem {
    let mut m = Mem::default();
    m.bodies.insert(
        Dependency::Read {
            path: "secret/data/simple".into(),
        },
        Lookup::Ready(SIMPLE.into()),
    );
    m
}

fn render_opts(strict: bool) -> RenderOptions {
    RenderOptions {
        error_on_missing_key: strict,
        destination: "/vault/secrets/x".into(),
        max_output_bytes: 1 << 16,
    }
}

fn run_with(src: &mut Mem, t: &str, strict: bool) -> Result<Rendered, TemplateError> {
    parse(t, &ParseOptions::default())?.render(src, &render_opts(strict))
}

fn out(t: &str) -> String {
    match run_with(&mut with_simple(), t, false) {
        Ok(r) => r.output,
        Err(e) => format!("ERR {e}"),
    }
}

#[test]
fn whitespace_trimming_and_comments() {
    assert_eq!(out("a  \n {{- 1 -}} \n  b"), "a1b");
    assert_eq!(out("a {{/* c */}} b"), "a  b");
    assert_eq!(out("a {{- /* c */ -}} b"), "ab");
    assert_eq!(out("{{- 3}}"), "3");
    assert_eq!(out("{{ -3 }}"), "-3");
}

#[test]
fn custom_delimiters() {
    let t = parse(
        "[[ .x ]]{{ not an action }}[[- \" y\" ]]",
        &ParseOptions {
            name: "n".into(),
            left_delim: "[[".into(),
            right_delim: "]]".into(),
        },
    )
    .unwrap();
    let r = t.render(&mut Mem::default(), &render_opts(false)).unwrap();
    assert_eq!(r.output, "<no value>{{ not an action }} y");
}

#[test]
fn control_structures() {
    assert_eq!(
        out("{{ range $i, $v := split \",\" \"a,b\" }}{{ $i }}={{ $v }};{{ end }}"),
        "0=a;1=b;"
    );
    assert_eq!(
        out("{{ range $k, $v := parseJSON `{\"b\":1,\"a\":2}` }}{{ $k }}{{ $v }}{{ end }}"),
        "a2b1"
    );
    assert_eq!(
        out("{{ range split \",\" \"\" }}x{{ else }}empty{{ end }}"),
        "empty"
    );
    assert_eq!(
        out(
            "{{ range loop 2 5 }}{{ . }}{{ end }}|{{ range $i, $e := loop 3 }}{{ $i }}{{ $e }}{{ end }}"
        ),
        "234|001122"
    );
    assert_eq!(out("{{ range 0 }}x{{ else }}none{{ end }}"), "none");
    assert_eq!(
        out("{{ if 0 }}a{{ else if \"\" }}b{{ else if .x }}c{{ else }}d{{ end }}"),
        "d"
    );
    assert_eq!(
        out("{{ if nil }}x{{ end }}"),
        "ERR template: :1:6: executing \"\" at <nil>: nil is not a command"
    );
    assert_eq!(out("{{ with $x := \"v\" }}{{ $x }}{{ . }}{{ end }}"), "vv");
    assert_eq!(
        out("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}"),
        "2"
    );
    assert_eq!(
        out(
            "{{ range $i, $e := loop 10 }}{{ if eq $i 2 }}{{ continue }}{{ end }}{{ if eq $i 4 }}{{ break }}{{ end }}{{ $i }}{{ end }}"
        ),
        "013"
    );
}

#[test]
fn define_template_block() {
    assert_eq!(
        out("{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" 1 }}{{ template \"t\" }}"),
        "[1][<no value>]"
    );
    assert_eq!(out("{{ block \"b\" \"x\" }}<{{ . }}>{{ end }}"), "<x>");
    // Within one parse Go rejects a block that redefines a non-empty template.
    assert_eq!(
        out("{{ define \"b\" }}override{{ end }}{{ block \"b\" . }}default{{ end }}"),
        "ERR template: :1: template: multiple definition of template \"b\""
    );
}

#[test]
fn nil_chains_and_missing_keys() {
    let t = "{{ with secret \"secret/data/simple\" }}{{ .Auth }}|{{ .Auth.ClientToken }}{{ end }}";
    assert_eq!(
        out(t),
        "ERR template: :1:58: executing \"\" at <.Auth.ClientToken>: nil pointer evaluating *dependency.SecretAuth.ClientToken"
    );
    let strict = run_with(
        &mut with_simple(),
        "{{ with secret \"secret/data/simple\" }}{{ $x := .Data.data.nope }}{{ $x.deeper }}{{ end }}",
        true,
    );
    assert_eq!(
        strict.unwrap_err().reason(),
        "map has no entry for key \"nope\""
    );
    assert_eq!(
        out("{{ $x := parseJSON `{\"a\":null}` }}{{ $x.a }}|{{ printf \"%v\" $x.a }}|{{ $x.a.b }}"),
        "ERR template: :1:73: executing \"\" at <$x.a.b>: nil pointer evaluating interface {}.b"
    );
    assert_eq!(
        out("{{ \"s\" | printf \"%v\" | len }} {{ (parseJSON `{\"a\":\"s\"}`).a.b }}"),
        "ERR template: :1:44: executing \"\" at <`{\"a\":\"s\"}`>: can't evaluate field b in type interface {}"
    );
}

#[test]
fn argument_type_rules() {
    assert_eq!(
        out("{{ toUpper 5 }}"),
        "ERR template: :1:11: executing \"\" at <5>: expected string; found 5"
    );
    assert_eq!(
        out("{{ indent \"2\" \"x\" }}"),
        "ERR template: :1:10: executing \"\" at <\"2\">: expected integer; found \"2\""
    );
    assert_eq!(
        out("{{ indent (parseInt \"2\") \"x\" }}"),
        "ERR template: :1:20: executing \"\" at <\"2\">: wrong type for value; expected int; got int64"
    );
    assert_eq!(
        out("{{ lt 1 2.5 }}"),
        "ERR template: :1:3: executing \"\" at <lt 1 2.5>: error calling lt: incompatible types for comparison: int and float64"
    );
    assert_eq!(
        out("{{ eq 1 (parseUint \"1\") }} {{ lt \"a\" \"b\" }} {{ ge 2 2 }}"),
        "true true true"
    );
    assert_eq!(
        out("{{ nope }}"),
        "ERR template: :1: function \"nope\" not defined"
    );
}

#[test]
fn parse_errors() {
    let e = |t: &str| parse(t, &ParseOptions::default()).unwrap_err().to_string();
    assert_eq!(e("{{ .x "), "template: :1: unclosed action");
    assert_eq!(e("{{ if 1 }}x"), "template: :1: unexpected EOF");
    assert_eq!(e("{{ $x }}"), "template: :1: undefined variable \"$x\"");
    assert_eq!(e("{{ end }}"), "template: :1: unexpected {{end}}");
    assert_eq!(
        e("{{ break }}"),
        "template: :1: {{break}} outside {{range}}"
    );
    assert_eq!(
        e("\n\n{{ 1 | 2 }}"),
        "template: :3: non executable command in pipeline stage 2"
    );
    assert_eq!(e("{{ ( }}"), "template: :1: unclosed left paren");
    assert_eq!(e("{{ 0x }}"), "template: :1: illegal number syntax: \"0x\"");
    assert_eq!(
        e("{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}"),
        "template: :1: template: multiple definition of template \"a\""
    );
}

#[test]
fn dependencies_are_recorded_in_first_use_order() {
    let mut m = with_simple();
    let t = "{{ with secret \"/secret/data/simple/ \" }}{{ end }}{{ secret \"pki/issue/x\" \" common_name = a \" \"\" \"ttl=1h\" }}{{ secrets \"kv/\" }}{{ with secret \"secret/data/simple\" }}{{ .Data.data.foo }}{{ end }}";
    let r = run_with(&mut m, t, false).unwrap();
    assert_eq!(
        r.dependencies,
        vec![
            Dependency::Read {
                path: "secret/data/simple".into()
            },
            Dependency::Write {
                path: "pki/issue/x".into(),
                data: vec![
                    ("common_name".into(), "a".into()),
                    ("ttl".into(), "1h".into())
                ]
            },
            Dependency::List { path: "kv".into() },
        ]
    );
    assert_eq!(r.missing, r.dependencies[1..].to_vec());
    // The missing write prints as a nil interface (`<no value>`), the missing list as `[]`.
    assert_eq!(r.output, "<no value>[]bar");
    assert_eq!(
        out("{{ secret \"p\" \"novalue\" }}"),
        "ERR template: :1:3: executing \"\" at <secret \"p\" \"novalue\">: error calling secret: not k=v pair \"novalue\""
    );
}

#[test]
fn failed_dependency_passes_text_through() {
    let mut m = Mem::default();
    m.bodies.insert(
        Dependency::Read {
            path: "secret/data/nope".into(),
        },
        Lookup::Failed("vault.read(secret/data/nope): no secret exists at secret/data/nope".into()),
    );
    let e = run_with(
        &mut m,
        "{{ with secret \"secret/data/nope\" }}{{ end }}",
        false,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "vault.read(secret/data/nope): no secret exists at secret/data/nope"
    );
}

#[test]
fn environment_time_and_files() {
    assert_eq!(
        out(
            "{{ env \"SET\" }}|{{ env \"UNSET\" }}|{{ envOrDefault \"EMPTY\" \"d\" }}|{{ envOrDefault \"UNSET\" \"d\" }}"
        ),
        "yes|||d"
    );
    assert_eq!(
        out("{{ mustEnv \"EMPTY\" }}"),
        "ERR template: :1:3: executing \"\" at <mustEnv \"EMPTY\">: error calling mustEnv: required environment variable EMPTY is empty"
    );
    assert_eq!(
        out("{{ timestamp }} {{ timestamp \"unix\" }} {{ timestamp \"2006-01-02\" }}"),
        "2024-02-29T13:04:05Z 1709211845 2024-02-29"
    );
    assert_eq!(out("{{ file \"/etc/hostname\" }}"), "host\n");
    assert_eq!(
        out("{{ file \"/nope\" }}"),
        "ERR file(/nope): stat /nope: no such file or directory"
    );
}

#[test]
fn pki_cert_object_from_pem_blocks() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).unwrap();
    let (ca, leaf, key) = (
        read("pki-ca.pem"),
        read("pki-leaf.pem"),
        read("pki-leaf.key"),
    );
    let body = format!(
        r#"{{"data":{{"certificate":{},"issuing_ca":{},"private_key":{},"ca_chain":[{}]}}}}"#,
        serde_json::to_string(leaf.trim_end()).unwrap(),
        serde_json::to_string(ca.trim_end()).unwrap(),
        serde_json::to_string(key.trim_end()).unwrap(),
        serde_json::to_string(ca.trim_end()).unwrap()
    );
    let mut m = Mem::default();
    let dep = Dependency::PkiCert {
        path: "pki/issue/r".into(),
        data: vec![("common_name".into(), "a.example.com".into())],
        destination: "/vault/secrets/x".into(),
    };
    m.bodies.insert(dep, Lookup::Ready(body));
    let t = "{{ with pkiCert \"pki/issue/r\" \"common_name=a.example.com\" }}{{ .Cert }}{{ .Data.CA }}{{ .Key }}{{ len .CAChain }}{{ end }}";
    let r = run_with(&mut m, t, false).unwrap();
    assert_eq!(r.output, format!("{leaf}{ca}{key}1"));
}

#[test]
fn guard_rails() {
    let e = out("{{ range loop 100000000 }}{{ end }}");
    assert!(e.starts_with("ERR template: execution exceeded"), "{e}");
    let e = out("{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" }}");
    assert!(e.contains("exceeded maximum template depth"), "{e}");
    let e = out("{{ range loop 100000 }}xxxxxxxxxx{{ end }}");
    assert_eq!(e, "ERR template: output exceeds 65536 bytes");
    let e = out("{{ $x := sprig_list }}{{ range loop 2000 }}{{ $x = sprig_list $x }}{{ end }}");
    assert!(e.contains("too large"), "{e}");
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    assert!(
        parse(&format!("{{{{ {deep} }}}}"), &ParseOptions::default())
            .unwrap_err()
            .to_string()
            .contains("max expression depth exceeded")
    );
}

#[test]
fn secret_object_printing() {
    let t = "{{ with secret \"secret/data/simple\" }}{{ . }}|{{ printf \"%T %T\" . .Warnings }}{{ end }}";
    assert_eq!(
        out(t),
        "{r1  0 false map[data:map[foo:bar zip:zap] metadata:map[version:1]] [] <nil> <nil>}|*dependency.Secret []string"
    );
}

#[test]
fn sprig_set_updates_the_variable_like_a_go_map_reference() {
    let t = "{{ $d := sprig_dict }}{{ range $k, $v := split \",\" \"a,b\" }}{{ $_ := sprig_set $d $v $k }}{{ end }}{{ $d | toJSON }}";
    assert_eq!(out(t), "{\"a\":0,\"b\":1}");
    assert_eq!(
        out("{{ $d := sprig_dict \"x\" 1 }}{{ $_ := sprig_unset $d \"x\" }}{{ $d }}"),
        "map[]"
    );
}

#[test]
fn maps_are_shared_references_like_go_maps() {
    // Aliases and maps nested in other maps see in-place changes (bao-confirmed in corpus 393).
    assert_eq!(
        out(
            "{{ $a := sprig_dict \"x\" 1 }}{{ $b := $a }}{{ $o := sprig_dict \"in\" $a }}{{ $_ := sprig_set $a \"y\" 2 }}{{ $b }} {{ $o }}"
        ),
        "map[x:1 y:2] map[in:map[x:1 y:2]]"
    );
    // A deep merge merges into the destination's nested map, which `$a` shares (corpus 367).
    assert_eq!(
        out(
            "{{ $a := sprig_dict \"n\" (sprig_dict \"x\" 1) }}{{ $_ := sprig_merge (sprig_dict) $a (sprig_dict \"n\" (sprig_dict \"y\" 2)) }}{{ $a }}"
        ),
        "map[n:map[x:1 y:2]]"
    );
    // deepCopy detaches nested maps.
    assert_eq!(
        out(
            "{{ $a := sprig_dict \"n\" (sprig_dict \"x\" 1) }}{{ $c := sprig_deepCopy $a }}{{ $_ := sprig_set $a.n \"y\" 2 }}{{ $c }} {{ $a }}"
        ),
        "map[n:map[x:1]] map[n:map[x:1 y:2]]"
    );
    // A map cannot be stored into itself (Go would crash printing it).
    let e = out("{{ $d := sprig_dict }}{{ $_ := sprig_set $d \"l\" (sprig_list 1 $d) }}");
    assert!(e.contains("a map cannot contain itself"), "{e}");
    let e = out("{{ $d := sprig_dict }}{{ $_ := mergeMap $d (sprig_dict \"me\" $d) }}");
    assert!(e.contains("a map cannot contain itself"), "{e}");
}

#[test]
fn semver_and_yaml_map_types() {
    assert_eq!(
        out(
            "{{ $v := sprig_semver \"v1.2.3-rc.1+b\" }}{{ $v }} {{ $v.Major }} {{ $v.Prerelease }} {{ printf \"%T\" $v }} {{ sprig_semverCompare \"^1.2\" \"1.9.0\" }} {{ sprig_semverCompare \">=1.0.0\" \"1.5.0-beta\" }}"
        ),
        "1.2.3-rc.1+b 1 rc.1 *semver.Version true false"
    );
    assert_eq!(
        out(
            "{{ $y := parseYAML \"a:\\n  b: 1\" }}{{ printf \"%T %T\" $y $y.a }} {{ $y | toJSON }}"
        ),
        "map[interface {}]interface {} map[interface {}]interface {} {\"a\":{\"b\":1}}"
    );
    assert!(out("{{ sprig_keys (parseYAML \"a: 1\") }}").contains("wrong type for value"));
}
