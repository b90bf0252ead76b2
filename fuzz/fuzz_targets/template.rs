//! Parse and execute arbitrary input against small canned data: no panic, bounded time/memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vk_template::{DataSource, Dependency, Lookup, ParseOptions, RenderOptions, parse};

struct Canned;

const KV2: &str = r#"{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"foo":"bar","n":5432,"f":1.5,"l":["a",1,null,{"k":"v"}],"m":{"x":{"y":"z"}},"nil":null,"yaml":"a: 1\nb:\n  - x\n","json":"{\"a\":[1,2]}"},"metadata":{"version":1,"custom_metadata":null}},"warnings":null,"auth":null,"wrap_info":null}"#;
const LIST: &str = r#"{"data":{"keys":["a","b/","c"]}}"#;
const PKI: &str = r#"{"data":{"certificate":"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n","private_key":"-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n"}}"#;

impl DataSource for Canned {
    fn lookup(&mut self, d: &Dependency) -> Lookup {
        match d {
            Dependency::Read { path } if path.contains("missing") => Lookup::Missing,
            Dependency::Read { path } if path.contains("fail") => {
                Lookup::Failed("no secret exists".into())
            }
            Dependency::Read { .. } | Dependency::Write { .. } => Lookup::Ready(KV2.into()),
            Dependency::List { .. } => Lookup::Ready(LIST.into()),
            Dependency::PkiCert { .. } => Lookup::Ready(PKI.into()),
        }
    }
    fn env(&self, name: &str) -> Option<String> {
        (name.len() < 4).then(|| "value".to_string())
    }
    fn now(&self) -> (i64, u32) {
        (1_700_000_000, 123)
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        if path.len() % 2 == 0 {
            Ok("file contents".into())
        } else {
            Err("no such file".into())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first byte picks delimiters and options so those paths are exercised too.
    let alt = text.starts_with('#');
    let popts = ParseOptions {
        name: String::new(),
        left_delim: if alt { "[[".into() } else { String::new() },
        right_delim: if alt { "]]".into() } else { String::new() },
    };
    let Ok(t) = parse(text, &popts) else { return };
    let ropts = RenderOptions {
        error_on_missing_key: text.len() % 3 == 0,
        destination: "/d".into(),
        max_output_bytes: 1 << 20,
    };
    let _ = t.render(&mut Canned, &ropts);
});
