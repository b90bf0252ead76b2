//! Parse and render timings for the injector's default templates and a 50-line config.
//! Run: `cargo bench -p vk-template --bench render`. Prints `<name>: parse X µs, render Y µs`,
//! and the admission syntax check (`check_syntax`) of the injector's bench template.
//! `-- check` runs only that check, a fixed number of times (for callgrind: instructions / 10 000).
#![allow(clippy::disallowed_methods)] // Test code, not the pure library: benchmarks time themselves.

use std::hint::black_box;
use std::time::{Duration, Instant};

use vk_template::{
    DataSource, Dependency, Lookup, ParseOptions, RenderOptions, check_syntax, parse,
};

const BODY: &str = r#"{"request_id":"0b0e5a8e-1111-2222-3333-444455556666","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"username":"admin","password":"s3cr3t","host":"db.internal","port":5432,"ratio":0.75,"enabled":true,"replicas":["a.example.com","b.example.com","c.example.com"],"nested":{"z":1,"a":{"y":"deep"}},"html":"<a&b>","token":"abcdefghijklmnopqrstuvwxyz0123456789"},"metadata":{"created_time":"2026-11-22T06:00:00.123456789Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}},"wrap_info":null,"warnings":null,"auth":null}"#;

struct Source;

impl DataSource for Source {
    fn lookup(&mut self, _: &Dependency) -> Lookup {
        Lookup::Ready(BODY.to_string())
    }
    fn env(&self, _: &str) -> Option<String> {
        Some("production".into())
    }
    fn now(&self) -> (i64, u32) {
        (1_700_000_000, 0)
    }
    fn read_file(&self, _: &str) -> Result<String, String> {
        Ok(String::new())
    }
}

fn config_template() -> String {
    let mut t =
        String::from("{{- with secret \"secret/data/app\" -}}\n# generated configuration\n");
    let lines = [
        "[database]",
        "host = \"{{ .Data.data.host }}\"",
        "port = {{ .Data.data.port }}",
        "user = \"{{ .Data.data.username }}\"",
        "password = {{ .Data.data.password | toJSON }}",
        "url = \"postgres://{{ .Data.data.username }}:{{ .Data.data.password | urlquery }}@{{ .Data.data.host }}:{{ .Data.data.port }}/app\"",
        "ratio = {{ printf \"%.2f\" .Data.data.ratio }}",
        "{{ if .Data.data.enabled }}enabled = true{{ else }}enabled = false{{ end }}",
        "version = {{ .Data.metadata.version }}",
        "[replicas]",
        "{{ range $i, $r := .Data.data.replicas }}replica_{{ $i }} = \"{{ $r }}\"\n{{ end }}",
        "count = {{ len .Data.data.replicas }}",
        "[nested]",
        "{{ .Data.data.nested | toJSON }}",
        "z = {{ .Data.data.nested.z }}",
        "y = {{ .Data.data.nested.a.y | toUpper }}",
        "token_hash = {{ .Data.data.token | sha256Hex }}",
        "token_b64 = {{ .Data.data.token | base64Encode }}",
        "html = {{ .Data.data.html | html }}",
        "env = {{ env \"APP_ENV\" }}",
    ];
    for l in lines.iter().cycle().take(47) {
        t.push_str(l);
        t.push('\n');
    }
    t.push_str("{{- end }}\n");
    t
}

fn time<F: FnMut()>(mut f: F) -> Duration {
    // Warm up, then run for at least ~0.5 s.
    for _ in 0..10 {
        f();
    }
    let mut n = 0u32;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        for _ in 0..50 {
            f();
        }
        n += 50;
    }
    start.elapsed() / n
}

fn bench(name: &str, text: &str) {
    let popts = ParseOptions::default();
    let ropts = RenderOptions::default();
    let parse_t = time(|| {
        black_box(parse(black_box(text), &popts).unwrap());
    });
    let t = parse(text, &popts).unwrap();
    let render_t = time(|| {
        black_box(t.render(&mut Source, &ropts).unwrap());
    });
    println!(
        "{name}: parse {:.1} µs, render {:.1} µs",
        parse_t.as_secs_f64() * 1e6,
        render_t.as_secs_f64() * 1e6
    );
}

/// The template of the injector's `mutate` bench pod (vk-inject `benches/mutate.rs`).
const WEBHOOK_TEMPLATE: &str = "{{- with secret \"secret/data/database/config\" -}}\npostgresql://{{ .Data.data.username }}:{{ .Data.data.password }}@postgres:5432/mydb\n{{- end }}\n";

const CHECK_RUNS: u32 = 10_000;

fn bench_check() {
    let t = time(|| {
        black_box(check_syntax(black_box(WEBHOOK_TEMPLATE), "", "")).unwrap();
    });
    println!(
        "check_syntax (webhook template): {:.2} µs",
        t.as_secs_f64() * 1e6
    );
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "check") {
        for _ in 0..CHECK_RUNS {
            black_box(check_syntax(black_box(WEBHOOK_TEMPLATE), "", "")).unwrap();
        }
        return;
    }
    bench_check();
    bench(
        "map",
        "{{ with secret \"secret/data/app\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}",
    );
    bench(
        "json",
        "{{ with secret \"secret/data/app\" }}{{ .Data | toJSON }}\n{{ end }}",
    );
    let cfg = config_template();
    bench(&format!("config ({} lines)", cfg.lines().count()), &cfg);
}
