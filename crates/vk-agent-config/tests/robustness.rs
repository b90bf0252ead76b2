//! Random and truncated inputs must produce an error or a config, never a panic.

use vk_agent_config::{parse, parse_hcl, parse_json, parse_vault_config};

const SEEDS: &[&str] = &[
    "pid_file = \"/p\"\nauto_auth {\n method \"kubernetes\" {\n config = { role = \"r\" }\n }\n sink \"file\" { config = { path = \"/t\", mode = 0640 } }\n}\ntemplate {\n contents = <<EOT\n{{ x }}\nEOT\n destination = \"/d\"\n wait = \"1s:2s\"\n exec { command = [\"a\"], timeout = \"1s\" }\n}\n/* c */ // d\n# e\nvault { retry { num_retries = 0x10 } }\n",
    r#"{"auto_auth": {"method": {"type": "k", "config": {"role": "r"}}, "sink": [{"type": "file", "config": {"path": "/t"}}]}, "template": [{"contents": "\u00e9", "perms": 420}], "listener": [{"type": "tcp", "agent_api": {"enable_quit": true}}], "cache": {"persist": {"kubernetes": {"path": "/c"}}}}"#,
];

/// xorshift64*: deterministic, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

fn all_parsers(text: &str) {
    let _ = parse(text, "f");
    let _ = parse_hcl(text, "f");
    let _ = parse_json(text, "f");
    let _ = parse_vault_config(text, "f");
}

#[test]
fn every_truncation_is_handled() {
    for seed in SEEDS {
        for (i, _) in seed.char_indices() {
            all_parsers(&seed[..i]);
            all_parsers(&seed[i..]);
        }
    }
}

#[test]
fn random_mutations_are_handled() {
    const ALPHABET: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        "=",
        ",",
        "\"",
        "\\",
        "<<",
        "<<-",
        "EOF",
        "\n",
        " ",
        "#",
        "//",
        "/*",
        "*/",
        "-",
        "0",
        "0x",
        "08",
        "1e",
        "1.5",
        "true",
        "template",
        "auto_auth",
        "method",
        "sink",
        "config",
        "é",
        "${",
        ":",
        "null",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for round in 0..4000 {
        let seed = SEEDS[round % SEEDS.len()];
        let mut text: String = seed.to_owned();
        for _ in 0..1 + rng.below(6) {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match rng.below(3) {
                0 => text.insert_str(at, ALPHABET[rng.below(ALPHABET.len())]),
                1 => {
                    let mut end = (at + rng.below(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => {
                    let piece: String = (0..rng.below(12))
                        .map(|_| char::from(u8::try_from(rng.below(128)).unwrap_or(b'x')))
                        .collect();
                    text.insert_str(at, &piece);
                }
            }
        }
        all_parsers(&text);
    }
}

#[test]
fn hostile_shapes_are_refused_cleanly() {
    let deep = format!("a = {}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_hcl(&deep, "f").is_err());
    let deep_blocks = format!("{}{}", "a {".repeat(5_000), "}".repeat(5_000));
    assert!(parse_hcl(&deep_blocks, "f").is_err());
    assert!(parse_hcl("a = 99999999999999999999999", "f").is_err());
    assert!(parse_hcl("a = \"\\U0011ffff\"", "f").is_err());
    assert!(parse_json("{\"template\": [[[[]]]]}", "f").is_err());
    assert!(
        parse_json(
            &format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
            "f"
        )
        .is_err()
    );
}
