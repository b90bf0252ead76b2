//! The reference side: the seeded `bao server -dev` (launched by `vk_test_utils::bao::DevServer`),
//! the seed data and `bao agent` runs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::http;
use super::json::Json;

pub(crate) const ROOT_TOKEN: &str = vk_test_utils::bao::ROOT_TOKEN;

/// A running `bao server -dev` (root token [`ROOT_TOKEN`]); killed on drop.
pub(crate) struct DevServer {
    inner: vk_test_utils::bao::DevServer,
    /// `127.0.0.1:PORT` (this harness's HTTP client and the agent config take host:port).
    addr: String,
}

impl DevServer {
    pub(crate) fn start() -> DevServer {
        let inner = vk_test_utils::bao::DevServer::start()
            .unwrap_or_else(|e| panic!("cannot start the OpenBao dev server: {e:#}"));
        let addr = inner
            .addr()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        DevServer { inner, addr }
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// The last lines of the server log (for failure messages).
    pub(crate) fn log_tail(&self) -> String {
        self.inner.log_tail(30)
    }

    pub(crate) fn call(&self, method: &str, path: &str, body: Option<&str>) -> http::Response {
        http::request(
            method,
            &self.addr,
            &format!("/v1/{path}"),
            Some(ROOT_TOKEN),
            body,
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn must(&self, method: &str, path: &str, body: &str) {
        let r = self.call(
            method,
            path,
            if body.is_empty() { None } else { Some(body) },
        );
        assert!(
            (200..300).contains(&r.status),
            "seeding {method} {path} failed: {} {}\nserver log:\n{}",
            r.status,
            r.body,
            self.log_tail()
        );
    }

    /// The data of shared/testdata/seed-openbao.sh (agent spec §7.2) plus this harness's extras.
    pub(crate) fn seed(&self) {
        for (path, body) in SEED_SPEC {
            self.must("POST", path, body);
        }
        self.must("DELETE", "secret/data/deleted", "");
        for (path, body) in SEED_EXTRA {
            self.must("POST", path, body);
        }
    }
}

/// Spec §7.2, in order.
const SEED_SPEC: &[(&str, &str)] = &[
    (
        "sys/mounts/kv1",
        r#"{"type":"kv","options":{"version":"1"}}"#,
    ),
    (
        "sys/mounts/pki",
        r#"{"type":"pki","config":{"max_lease_ttl":"87600h"}}"#,
    ),
    (
        "pki/root/generate/internal",
        r#"{"common_name":"example.com","ttl":"87600h"}"#,
    ),
    (
        "pki/roles/example",
        r#"{"allowed_domains":"example.com","allow_subdomains":true,"max_ttl":"72h"}"#,
    ),
    (
        "secret/data/simple",
        r#"{"data":{"foo":"bar","zip":"zap"}}"#,
    ),
    (
        "secret/data/app",
        r#"{"data":{"username":"admin","password":"s3cr3t","port":5432,"ratio":0.75,"big":12345678901234567890,"enabled":true,"nothing":null,"list":["a","b",3],"nested":{"z":1,"a":{"y":"deep"}},"unicode":"héllo ✓ 日本","html":"<a&b>","multiline":"line1\nline2\n","empty":"","sci":1e3,"neg":-0.5,"spaces":"  padded  "}}"#,
    ),
    (
        "secret/data/special",
        r#"{"data":{"my-key":"dash","my.key":"dot","123":"num","Key With Space":"sp","UPPER":"up","_under":"u"}}"#,
    ),
    (
        "secret/data/jsonstr",
        r#"{"data":{"config":"{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"e\"}}","yaml":"a: 1\nb:\n  - x\n  - y\n"}}"#,
    ),
    (
        "secret/data/b64",
        r#"{"data":{"enc":"aGVsbG8gd29ybGQ=","url":"aGk_Pz4-"}}"#,
    ),
    (
        "secret/data/nums",
        r#"{"data":{"i":42,"f":1.5,"whole":1.0,"huge":1e21,"tiny":1e-7,"small":0.000001,"neg":-3,"zero":0,"negzero":-0.0,"str":"42"}}"#,
    ),
    ("secret/data/empty", r#"{"data":{}}"#),
    (
        "secret/data/lists",
        r#"{"data":{"servers":["a.example.com","b.example.com"],"ports":[80,443],"mixed":[1,"two",true,null,{"k":"v"},[1,2]],"emptylist":[],"emptymap":{}}}"#,
    ),
    ("secret/data/dir/one", r#"{"data":{"v":"1"}}"#),
    ("secret/data/dir/two", r#"{"data":{"v":"2"}}"#),
    ("secret/data/dir/sub/three", r#"{"data":{"v":"3"}}"#),
    ("secret/data/versioned", r#"{"data":{"a":"1"}}"#),
    ("secret/data/versioned", r#"{"data":{"a":"2"}}"#),
    ("secret/data/meta", r#"{"data":{"k":"v"}}"#),
    (
        "secret/metadata/meta",
        r#"{"custom_metadata":{"owner":"team-a","env":"prod"}}"#,
    ),
    ("secret/data/deleted", r#"{"data":{"a":"1"}}"#),
    ("kv1/simple", r#"{"foo":"bar","zip":"zap"}"#),
    ("kv1/withttl", r#"{"foo":"bar","ttl":"1h"}"#),
    ("kv1/types", r#"{"n":7,"b":false,"l":["x"],"m":{"k":"v"}}"#),
];

/// Extra data for this corpus. Writes made by templates go to the separate mounts `kvw/` (KV v2)
/// and `kv1w/` (KV v1) so they never change what the list cases (`secrets "secret/"`, `kv1`) see.
/// Everything the templates print is stable across requests.
const SEED_EXTRA: &[(&str, &str)] = &[
    (
        "sys/mounts/kvw",
        r#"{"type":"kv","options":{"version":"2"}}"#,
    ),
    (
        "sys/mounts/kv1w",
        r#"{"type":"kv","options":{"version":"1"}}"#,
    ),
    (
        "sys/mounts/kv2b",
        r#"{"type":"kv","options":{"version":"2"}}"#,
    ),
    ("sys/mounts/transit", r#"{"type":"transit"}"#),
    ("transit/keys/k1", r#"{}"#),
    (
        "kv2b/data/tricky",
        r##"{"data":{"quote":"say \"hi\"","backslash":"a\\b","tab":"a\tb","ctrl":"a\u0001b","ls":"a\u2028b","amp":"x&y<z>","emoji":"😀","nul":"a\u0000b","cr":"a\r\nb","trail":"x\n","dollar":"${HOME} $1","brace":"{{ not a template }}","yaml_like":"key: value","bool_str":"yes","num_str":"0123","float_str":"1e3","colon":"a:b","hash":"# c","dash":"- x","tilde":"~","null_str":"null","lead_space":" x","html_ent":"&amp;"}}"##,
    ),
    (
        "kv2b/data/numbers",
        r#"{"data":{"maxint":9223372036854775807,"overint":9223372036854775808,"minint":-9223372036854775808,"pi":3.141592653589793,"third":0.3333333333333333,"e6":1000000,"e20":100000000000000000000,"e22":1e22,"em5":0.00001,"em7":-1e-7,"big_neg":-123456789012,"half":0.5,"onee100":1e100,"exp_small":1.5e-10,"ten":10,"hex_str":"0x1F"}}"#,
    ),
    (
        "kv2b/data/nested",
        r#"{"data":{"l1":{"l2":{"l3":{"l4":"bottom","n":1}},"arr":[{"name":"a","port":1},{"name":"b","port":2}]},"users":[{"name":"ann","roles":["admin","dev"]},{"name":"bob","roles":[]}],"matrix":[[1,2],[3,4]],"nulls":[null,null],"emptystr_map":{"":"empty-key"}}}"#,
    ),
    (
        "kv2b/data/db",
        r#"{"data":{"host":"db.internal","port":5432,"user":"app","password":"p@ss:w/rd?&=","name":"appdb","options":"sslmode=require&connect_timeout=10"}}"#,
    ),
    (
        "kv2b/data/csv",
        r#"{"data":{"hosts":"h1, h2 ,h3","kv":"a=1;b=2;c","roles":"admin,dev,,ops","blank":"   "}}"#,
    ),
    ("kv2b/data/single", r#"{"data":{"only":"one"}}"#),
    ("kv2b/data/order/b", r#"{"data":{"v":"b"}}"#),
    ("kv2b/data/order/a", r#"{"data":{"v":"a"}}"#),
    ("kv2b/data/order/C", r#"{"data":{"v":"C"}}"#),
    ("kv2b/data/order/_x", r#"{"data":{"v":"_x"}}"#),
    ("kv2b/data/order/10", r#"{"data":{"v":"10"}}"#),
    ("kv2b/data/order/9", r#"{"data":{"v":"9"}}"#),
    ("kv2b/data/order/sub/deep", r#"{"data":{"v":"deep"}}"#),
    (
        "kv2b/data/yaml",
        r#"{"data":{"doc":"name: svc\nreplicas: 3\nenabled: yes\nratio: 0.5\nports:\n  - 80\n  - 443\nlabels:\n  tier: web\n  env: prod\nempty:\noct: 010\nhex: 0x1A\nstr: 'quoted'\n"}}"#,
    ),
    ("kv2b/data/cm", r#"{"data":{"x":"1"}}"#),
    (
        "kv2b/metadata/cm",
        r#"{"custom_metadata":{"b":"2","a":"1"},"max_versions":3}"#,
    ),
    (
        "kv1/nested",
        r#"{"outer":{"inner":{"leaf":"v"}},"list":[1,2.5,"s",false,null],"num":12.50,"ttl":"30m"}"#,
    ),
    ("kv1/dir/a", r#"{"v":"a"}"#),
    ("kv1/dir/b", r#"{"v":"b"}"#),
    (
        "kv1/bools",
        r#"{"t":true,"f":false,"s":"false","z":0,"e":""}"#,
    ),
];

/// One `template` stanza of an agent config.
pub(crate) struct AgentTemplate {
    pub(crate) source: PathBuf,
    pub(crate) destination: PathBuf,
    pub(crate) error_on_missing_key: bool,
    pub(crate) left_delim: String,
    pub(crate) right_delim: String,
}

pub(crate) struct AgentRun {
    pub(crate) success: bool,
    pub(crate) status: String,
    pub(crate) log: String,
}

/// Runs one `bao agent` (token_file auth, exit_after_auth, exit_on_retry_failure, no retries)
/// over `templates` with exactly `env` as its environment.
pub(crate) fn run_agent(
    bao: &Path,
    dir: &Path,
    server_addr: &str,
    token_file: &Path,
    templates: &[AgentTemplate],
    env: &BTreeMap<String, String>,
) -> AgentRun {
    fs::create_dir_all(dir).expect("agent dir");
    let s = |v: &Path| Json::Str(v.display().to_string());
    let tmpl: Vec<Json> = templates
        .iter()
        .map(|t| {
            let mut m = vec![
                ("source".to_string(), s(&t.source)),
                ("destination".to_string(), s(&t.destination)),
                (
                    "error_on_missing_key".to_string(),
                    Json::Bool(t.error_on_missing_key),
                ),
            ];
            if !t.left_delim.is_empty() {
                m.push(("left_delimiter".into(), Json::Str(t.left_delim.clone())));
            }
            if !t.right_delim.is_empty() {
                m.push(("right_delimiter".into(), Json::Str(t.right_delim.clone())));
            }
            Json::Obj(m)
        })
        .collect();
    let config = Json::Obj(vec![
        (
            "vault".into(),
            Json::Obj(vec![
                ("address".into(), Json::Str(format!("http://{server_addr}"))),
                (
                    "retry".into(),
                    Json::Obj(vec![("num_retries".into(), Json::Num("-1".into()))]),
                ),
            ]),
        ),
        (
            "auto_auth".into(),
            // OpenBao 2.7.2's JSON loader wants the method as a one-element list here (a bare
            // object fails with `one and only one "method" block is required`).
            Json::Obj(vec![(
                "method".into(),
                Json::Arr(vec![Json::Obj(vec![
                    ("type".into(), Json::Str("token_file".into())),
                    (
                        "config".into(),
                        Json::Obj(vec![("token_file_path".into(), s(token_file))]),
                    ),
                ])]),
            )]),
        ),
        ("exit_after_auth".into(), Json::Bool(true)),
        (
            "template_config".into(),
            Json::Obj(vec![("exit_on_retry_failure".into(), Json::Bool(true))]),
        ),
        ("template".into(), Json::Arr(tmpl)),
    ]);
    let config_path = dir.join("agent.json");
    fs::write(&config_path, config.encode()).expect("write agent config");
    let log_path = dir.join("agent.log");
    let log = fs::File::create(&log_path).expect("agent log");
    let mut child = Command::new(bao)
        .arg("agent")
        .arg(format!("-config={}", config_path.display()))
        .env_clear()
        // HOME only so the CLI's token-helper setup does not need a shell; templates never read it.
        .env("HOME", dir)
        .envs(env)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start bao agent: {e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for bao agent: {e}"),
        }
    };
    let log = fs::read_to_string(&log_path).unwrap_or_default();
    match status {
        Some(st) => AgentRun {
            success: st.success(),
            status: st.to_string(),
            log,
        },
        None => AgentRun {
            success: false,
            status: "killed after 60 s timeout".into(),
            log,
        },
    }
}

/// The error the template server reported, decoded from the agent log (hclog quotes values with
/// Go's strconv.Quote when they fit on one line and uses `  | ` continuation lines otherwise).
pub(crate) fn agent_error(log: &str) -> Option<String> {
    const KEYS: [&str; 3] = [
        "template server error:",
        "runtime error encountered:",
        "error loading configuration",
    ];
    for key in KEYS {
        let Some(pos) = log.find(key) else { continue };
        let after = &log[pos + key.len()..];
        let line_end = after.find('\n').unwrap_or(after.len());
        let line = &after[..line_end];
        if key == KEYS[2] {
            return Some(format!("{key}{line}"));
        }
        if let Some(q) = line.find("error=\"") {
            return Some(go_unquote(&line[q + 6..]));
        }
        // Multi-line value.
        let mut text = Vec::new();
        for l in after[line_end..].lines().skip(1) {
            if let Some(rest) = l.strip_prefix("  | ") {
                text.push(rest.to_string());
            } else if l.trim_end() == "  |" {
                text.push(String::new());
            } else if l.trim_start().starts_with("error=") {
                continue;
            } else {
                break;
            }
        }
        if !text.is_empty() {
            return Some(text.join("\n"));
        }
        return Some(line.trim().to_string());
    }
    log.lines()
        .find(|l| l.contains("[ERROR]"))
        .map(str::to_string)
}

/// Decodes an hclog quoted value starting at `s[0] == '"'` (text after it ignored). hclog escapes
/// `"` and non-printable characters (`\n`, `\t`, …, `\xNN`) but writes a backslash as is, so any
/// other backslash is literal text (`\q` in a regexp error stays `\q`).
fn go_unquote(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'"' => break,
            b'\\' if i + 1 < b.len() => {
                let hex = |from: usize, n: usize| {
                    s.get(from..from + n)
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                };
                let decoded: Option<(u8, usize)> = match b[i + 1] {
                    b'"' => Some((b'"', 1)),
                    b'n' => Some((b'\n', 1)),
                    b't' => Some((b'\t', 1)),
                    b'r' => Some((b'\r', 1)),
                    b'a' => Some((7, 1)),
                    b'b' => Some((8, 1)),
                    b'f' => Some((12, 1)),
                    b'v' => Some((11, 1)),
                    b'x' => hex(i + 2, 2).map(|v| (v as u8, 3)),
                    _ => None,
                };
                match decoded {
                    Some((c, n)) => {
                        out.push(c);
                        i += n;
                    }
                    None => out.push(b'\\'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
