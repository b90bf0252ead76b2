//! `cargo xtask image check [--dev] [--out DIR]`: proves the built images work without a
//! Docker daemon: skopeo reads them, umoci unpacks exactly the expected files, and Debian's
//! podman (runc, cgroupfs, explicit ulimits, see docs/images.md) runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use super::meta;
use crate::cli::ImageCheckArgs;

const APT_HINT: &str =
    "install it with `apt-get install -y --no-install-recommends podman runc skopeo umoci`";

pub(crate) fn run(args: &ImageCheckArgs) -> Result<()> {
    let dev = args.dev;
    let out = args.out.clone().unwrap_or_else(super::default_out);
    for t in ["podman", "runc", "skopeo", "umoci", "openssl", "curl"] {
        meta::need_tool(t, APT_HINT)?;
    }
    let m = meta::build_meta()?;
    let podman = Podman::new()?;
    check_runtime(&podman, &out, &m.version)?;
    if dev {
        check_dev(&podman, &out, &m.version)?;
    }
    println!("image check: all checks passed");
    Ok(())
}

fn ok(what: &str) {
    println!("  ok  {what}");
}

/// Loads `<out>/<name>.oci.tar`, returns (reference, summary).
fn artifact(out: &Path, name: &str) -> Result<(PathBuf, Value)> {
    let tar = out.join(format!("{name}.oci.tar"));
    let summary = out.join(format!("{name}.json"));
    ensure!(
        tar.is_file() && summary.is_file(),
        "{} is missing: run `cargo xtask image{}` first",
        tar.display(),
        if name.ends_with("dev") { " --dev" } else { "" }
    );
    let s: Value = serde_json::from_slice(&std::fs::read(&summary)?)?;
    Ok((tar, s))
}

fn check_runtime(p: &Podman, out: &Path, version: &str) -> Result<()> {
    let name = "vault-k8s-runtime";
    println!("image check: {name}");
    let (tar, summary) = artifact(out, name)?;
    let reference = summary["reference"]
        .as_str()
        .context("summary without reference")?
        .to_string();

    // skopeo: config and labels as written, from both archive formats.
    let cfg: Value = serde_json::from_str(&meta::output(
        Command::new("skopeo")
            .arg("inspect")
            .arg("--config")
            .arg(format!("oci-archive:{}", tar.display())),
    )?)?;
    let c = &cfg["config"];
    ensure!(
        c["User"] == "65532:65532",
        "config User is {} (want 65532:65532)",
        c["User"]
    );
    ensure!(
        c["Entrypoint"] == serde_json::json!(["/usr/local/bin/vault-k8s"]),
        "Entrypoint is {}",
        c["Entrypoint"]
    );
    for l in [
        "title", "version", "revision", "source", "licenses", "created",
    ] {
        let key = format!("org.opencontainers.image.{l}");
        ensure!(
            c["Labels"][&key].as_str().is_some_and(|v| !v.is_empty()),
            "label {key} is missing or empty"
        );
    }
    ensure!(
        c["Labels"]["org.opencontainers.image.version"] == version,
        "version label is not {version}"
    );
    ensure!(
        cfg["created"] == c["Labels"]["org.opencontainers.image.created"],
        "created differs from its label"
    );
    ok("skopeo inspect --config oci-archive: User 65532:65532, Entrypoint, OCI labels");
    let d: Value = serde_json::from_str(&meta::output(
        Command::new("skopeo").arg("inspect").arg(format!(
            "docker-archive:{}",
            out.join(format!("{name}-amd64.docker.tar")).display()
        )),
    )?)?;
    ensure!(
        d["Labels"]["org.opencontainers.image.version"] == version,
        "docker-archive labels differ"
    );
    let l: Value = serde_json::from_str(&meta::output(
        Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci:{}", out.join(name).display())),
    )?)?;
    ensure!(
        l["Digest"] == summary["digest"],
        "layout digest {} differs from the built digest {}",
        l["Digest"],
        summary["digest"]
    );
    ok("skopeo inspect docker-archive and oci layout (index digest matches)");
    check_index(&tar, &summary)?;

    // umoci: the unpacked rootfs holds exactly the expected files.
    let bundle = meta::scratch("image-check")?.join("umoci-runtime");
    if bundle.exists() {
        std::fs::remove_dir_all(&bundle)?;
    }
    meta::output(
        Command::new("umoci")
            .arg("unpack")
            .arg("--image")
            .arg(format!(
                "{}:{reference}",
                out.join(format!("{name}-amd64")).display()
            ))
            .arg(&bundle),
    )?;
    let mut got = Vec::new();
    list(&bundle.join("rootfs"), "", &mut got)?;
    let want: Vec<String> = summary["files"]
        .as_array()
        .context("summary has no file list")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    ensure!(
        got == want,
        "umoci rootfs differs from the definition:\n got  {got:?}\n want {want:?}"
    );
    ok(&format!(
        "umoci unpack: rootfs holds exactly {} entries: {}",
        got.len(),
        got.join(" ")
    ));

    // podman: load, then run the real commands.
    p.load(&tar, &reference)?;
    let v = p.run(&["--rm", &reference, "version"])?;
    let vs = String::from_utf8_lossy(&v.stdout);
    ensure!(
        v.status.success() && vs.lines().next() == Some(format!("vault-k8s v{version}").as_str()),
        "`version` printed {vs:?} (want \"vault-k8s v{version}\"), {}",
        v.status
    );
    // The compatibility lines the binary prints are the ones the labels carry.
    for (line, label) in [
        (1, super::LABEL_COMPAT_VAULT_K8S),
        (2, super::LABEL_COMPAT_VAULT_AGENT),
    ] {
        let printed = vs
            .lines()
            .nth(line)
            .and_then(|l| l.rsplit_once(": v"))
            .map(|(_, v)| v);
        let labelled = c["Labels"][label].as_str();
        ensure!(
            printed.is_some() && printed == labelled,
            "`version` line {} says {printed:?} but label {label} is {labelled:?}",
            line + 1
        );
    }
    ok(&format!(
        "podman run {reference} version -> {} (compatible-with lines match the labels)",
        vs.lines().next().unwrap_or("")
    ));
    let h = p.run(&["--rm", &reference, "--help"])?;
    ensure!(
        h.status.success() && both(&h).contains("Usage: vault-k8s"),
        "`--help` gave {}: {}",
        h.status,
        both(&h)
    );
    ok("podman run --help -> top-level usage");
    let h = p.run(&["--rm", &reference, "agent-inject", "--help"])?;
    let text = both(&h);
    ensure!(
        h.status.success() && text.contains("agent-inject") && text.contains("-tls-cert-file"),
        "`agent-inject --help` gave {}: {text}",
        h.status
    );
    ok("podman run agent-inject --help -> flag list");
    let sh = p.run(&["--rm", "--entrypoint", "/bin/sh", &reference, "-c", "true"])?;
    ensure!(
        !sh.status.success() && both(&sh).to_lowercase().contains("no such file"),
        "/bin/sh seems to exist: {}",
        both(&sh)
    );
    ok("no /bin/sh in the image");

    // TLS: the same container serves /health/ready with mounted certificates.
    let tls = meta::scratch("image-check")?.join("tls");
    tls_fixture(&tls)?;
    let port = crate::util::free_port()?;
    let cname = format!("vk-image-check-{}", std::process::id());
    let mount = format!("{}:/etc/webhook/certs:ro", tls.display());
    let listen = format!("-listen=127.0.0.1:{port}");
    let _guard = Container {
        podman: p,
        name: cname.clone(),
    };
    let started = p.run(&[
        "-d",
        "--name",
        &cname,
        "--network",
        "host",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "-v",
        &mount,
        &reference,
        "agent-inject",
        &listen,
        "-tls-cert-file=/etc/webhook/certs/tls.crt",
        "-tls-key-file=/etc/webhook/certs/tls.key",
        "-vault-address=https://vault.invalid:8200",
    ])?;
    ensure!(
        started.status.success(),
        "podman run -d failed: {}",
        both(&started)
    );
    let url = format!("https://localhost:{port}/health/ready");
    let code = wait_https(&url, &tls.join("ca.crt"), Duration::from_secs(20))
        .with_context(|| format!("container logs:\n{}", p.logs(&cname)))?;
    ok(&format!("GET {url} over TLS (curl --cacert) -> {code}"));
    let pid = meta::output(
        p.cmd()
            .args(["inspect", "--format", "{{.State.Pid}}", &cname]),
    )?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading the container process status")?;
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    let gid = status.lines().find(|l| l.starts_with("Gid:")).unwrap_or("");
    ensure!(
        uid.split_whitespace().skip(1).all(|u| u == "65532")
            && gid.split_whitespace().skip(1).all(|g| g == "65532"),
        "the process runs as {uid} / {gid}, want 65532"
    );
    ok(&format!(
        "the server process (host pid {pid}) runs as uid/gid 65532"
    ));
    let logs = p.logs(&cname);
    ensure!(
        logs.contains("Listening on"),
        "no `Listening on` in the logs:\n{logs}"
    );
    ok("server logged `Listening on`");
    Ok(())
}

fn check_dev(p: &Podman, out: &Path, version: &str) -> Result<()> {
    let name = "vault-k8s-dev";
    println!("image check: {name}");
    let (tar, summary) = artifact(out, name)?;
    let reference = summary["reference"]
        .as_str()
        .context("summary without reference")?
        .to_string();
    p.load(&tar, &reference)?;
    let v = p.run(&["--rm", &reference, "version"])?;
    let vs = String::from_utf8_lossy(&v.stdout);
    ensure!(
        v.status.success() && vs.lines().next() == Some(format!("vault-k8s v{version}").as_str()),
        "`version` printed {vs:?}"
    );
    ok(&format!(
        "podman run {reference} version -> {}",
        vs.lines().next().unwrap_or("")
    ));
    let sh = p.run(&["--rm", "--entrypoint", "/bin/sh", &reference, "-c", "id -u; apt-get --version | head -n1; test -s /etc/ssl/certs/ca-certificates.crt && echo certs"])?;
    let text = String::from_utf8_lossy(&sh.stdout).to_string();
    ensure!(
        sh.status.success()
            && text.starts_with("0\n")
            && text.contains("apt ")
            && text.contains("certs"),
        "dev shell check failed: {}",
        both(&sh)
    );
    ok("dev image: /bin/sh runs as root, apt and CA certificates present");
    Ok(())
}

/// The oci-archive is one image index with a manifest per platform in the summary, and each
/// platform's config names its architecture.
fn check_index(tar: &Path, summary: &Value) -> Result<()> {
    let raw: Value = serde_json::from_str(&meta::output(
        Command::new("skopeo")
            .arg("inspect")
            .arg("--raw")
            .arg(format!("oci-archive:{}", tar.display())),
    )?)?;
    ensure!(
        raw["mediaType"] == super::oci::MT_INDEX,
        "the oci-archive's image is not an image index: {raw}"
    );
    let platforms = summary["platforms"]
        .as_object()
        .context("summary without platforms")?;
    let listed: Vec<(String, String)> = raw["manifests"]
        .as_array()
        .context("index without manifests")?
        .iter()
        .map(|m| {
            (
                m["platform"]["architecture"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                m["digest"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = platforms
        .iter()
        .map(|(a, p)| (a.clone(), p["digest"].as_str().unwrap_or("").to_string()))
        .collect();
    ensure!(
        listed == want,
        "the index lists {listed:?}, the summary {want:?}"
    );
    for arch in platforms.keys() {
        let cfg: Value = serde_json::from_str(&meta::output(
            Command::new("skopeo")
                .args(["--override-arch", arch, "inspect", "--config"])
                .arg(format!("oci-archive:{}", tar.display())),
        )?)?;
        ensure!(
            cfg["architecture"] == arch.as_str() && cfg["os"] == "linux",
            "the linux/{arch} manifest's config says {}/{}",
            cfg["os"],
            cfg["architecture"]
        );
    }
    ok(&format!(
        "skopeo inspect --raw: one image index with {}",
        listed
            .iter()
            .map(|(a, _)| format!("linux/{a}"))
            .collect::<Vec<_>>()
            .join(" and ")
    ));
    Ok(())
}

fn both(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn list(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for n in names {
        let p = dir.join(&n);
        let r = format!("{rel}/{n}");
        if std::fs::symlink_metadata(&p)?.is_dir() {
            out.push(format!("{r}/"));
            list(&p, &r, out)?;
        } else {
            out.push(r);
        }
    }
    Ok(())
}

/// A throwaway CA and a serving certificate for localhost/127.0.0.1 (ECDSA P-256), written
/// as ca.crt, tls.crt, tls.key. The key is world-readable so uid 65532 can read it in tests.
pub(crate) fn tls_fixture(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let ossl = |args: &[&str]| {
        meta::output(Command::new("openssl").current_dir(dir).args(args)).map(|_| ())
    };
    ossl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=vault-k8s xtask test CA",
    ])?;
    ossl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "tls.key",
        "-out",
        "tls.csr",
        "-subj",
        "/CN=localhost",
    ])?;
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
    )?;
    ossl(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tls.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ])?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("tls.key"), std::fs::Permissions::from_mode(0o644))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Polls `url` with curl (certificate verified against `ca`) until it answers 2xx.
pub(crate) fn wait_https(url: &str, ca: &Path, limit: Duration) -> Result<String> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < limit {
        let o = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "2",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
            ])
            .arg(ca)
            .arg(url)
            .output()?;
        let code = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if code.starts_with('2') {
            return Ok(code);
        }
        last = format!("{code} {}", String::from_utf8_lossy(&o.stderr).trim());
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("{url} did not answer 2xx within {limit:?} (last: {last})")
}

/// podman with its own storage and the settings this kind of machine needs: runc (crun
/// fails on hybrid cgroups), cgroupfs (no systemd) and explicit ulimits (root lacks
/// CAP_SYS_RESOURCE, so podman's default nofile/nproc requests fail).
struct Podman {
    conf: PathBuf,
    storage: PathBuf,
}

impl Podman {
    fn new() -> Result<Self> {
        let d = meta::scratch("podman")?;
        let conf = d.join("containers.conf");
        let storage = d.join("storage.conf");
        std::fs::write(
            &conf,
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=1024:1024\"]\nnetns = \"none\"\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"runc\"\n",
        )?;
        std::fs::write(
            &storage,
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                d.join("root").display(),
                d.join("run").display()
            ),
        )?;
        Ok(Self { conf, storage })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", &self.conf)
            .env("CONTAINERS_STORAGE_CONF", &self.storage)
            .stdin(Stdio::null());
        c
    }

    fn load(&self, tar: &Path, reference: &str) -> Result<()> {
        meta::output(self.cmd().arg("load").arg("-q").arg("-i").arg(tar))?;
        let names =
            meta::output(
                self.cmd()
                    .args(["images", "--format", "{{.Repository}}:{{.Tag}}"]),
            )?;
        ensure!(
            names.lines().any(|l| l == reference),
            "podman load did not create {reference} (images: {names})"
        );
        ok(&format!("podman load {} -> {reference}", tar.display()));
        Ok(())
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        let mut c = self.cmd();
        c.arg("run").arg("--pull=never").args(args);
        c.output()
            .with_context(|| format!("cannot start {}", meta::show(&c)))
    }

    fn logs(&self, name: &str) -> String {
        self.cmd()
            .args(["logs", name])
            .output()
            .map(|o| both(&o))
            .unwrap_or_default()
    }
}

/// Removes the test container however the check ends.
struct Container<'a> {
    podman: &'a Podman,
    name: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self
            .podman
            .cmd()
            .args(["rm", "-f", "-t", "2", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
