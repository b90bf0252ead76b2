//! `cargo xtask bench soak`: the injector under a fixed request rate while its certificate files
//! are replaced, reported per window (requests, failures, p50/p99, RSS) with the reloads seen.
//!
//! The load is wrk 4 (wrk2 is not installed here) made fixed-rate by its Lua `delay()` hook: one
//! schedule of evenly spaced slots shared by all connections, read from `CLOCK_MONOTONIC` through
//! LuaJIT's FFI, so wrk sends at the rate asked for as long as the server keeps up. Latency is
//! wrk's (request write to response), not corrected for coordinated omission: a stall shows as
//! fewer requests in the window, which the table shows next to the rate asked for.
//!
//! Rotation mirrors a Kubernetes secret volume: each new pair is written into a fresh folder and a
//! `current` symlink is swapped to it with one `rename`, so the injector never sees a cert from one
//! pair with the key of another.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use super::server::Server;
use super::webhook::{admission_review_body, check_injects, make_certificates, mutate_url};
use super::wrk::{self, Load, WrkResult};
use super::{Scratch, procfs};
use crate::cli::SoakArgs;
use crate::util;

/// Distinct key pairs the rotation cycles through (consecutive writes always differ).
const PAIRS: usize = 4;
/// The log line `vk-server` prints on every swap of the serving certificate.
const RELOAD_LINE: &str = "Reloaded serving certificate";

pub(crate) fn run(args: &SoakArgs) -> anyhow::Result<()> {
    ensure!(
        util::which("wrk").is_some(),
        "wrk is not installed; run `cargo xtask tools`"
    );
    let vk_bin = match &args.vault_k8s_bin {
        Some(path) => path.clone(),
        None => {
            eprintln!("\n==> bench soak: building vault-k8s (release)");
            util::run(util::cargo().args(["build", "--release", "-p", "vault-k8s"]))?;
            util::target_dir().join("release").join("vault-k8s")
        }
    };
    let scratch = Scratch::new()?;
    let pairs = (0..PAIRS)
        .map(|i| {
            let dir = scratch.0.join(format!("pair-{i}"));
            std::fs::create_dir_all(&dir)?;
            make_certificates(&dir)?;
            Ok(dir)
        })
        .collect::<anyhow::Result<Vec<PathBuf>>>()?;
    let live = scratch.0.join("live");
    std::fs::create_dir_all(&live)?;
    let rotator = Rotator {
        live: live.clone(),
        pairs,
        generation: AtomicU32::new(0),
    };
    rotator.rotate()?;

    let body = admission_review_body()?;
    let script = scratch.0.join("paced.lua");
    let connections = args.connections;
    write_paced_script(&script, &body, args.rate)?;
    let body_file = scratch.0.join("review.json");
    std::fs::write(&body_file, &body)?;

    let current = live.join("current");
    let mut vk = Command::new(&vk_bin);
    vk.args([
        "agent-inject",
        "-listen=127.0.0.1:0",
        &format!("-tls-cert-file={}", current.join("tls.crt").display()),
        &format!("-tls-key-file={}", current.join("tls.key").display()),
        "-vault-address=http://127.0.0.1:8200",
    ]);
    let log = scratch.0.join("vault-k8s.log");
    let mut server = Server::start("vault-k8s", vk, &log)?;
    check_injects(&server.addr, &body_file)?;
    let pid = server.pid();

    let duration = Duration::from_secs(args.duration);
    let window = Duration::from_secs(args.window.min(args.duration));
    let every = duration / args.rotations.max(1);
    let stop = Arc::new(AtomicBool::new(false));
    let rotator = Arc::new(rotator);
    let rotations = {
        let (stop, rotator) = (Arc::clone(&stop), Arc::clone(&rotator));
        let count = args.rotations;
        std::thread::spawn(move || -> anyhow::Result<u32> {
            let mut done = 0;
            let start = Instant::now();
            while done < count && !stop.load(Ordering::Relaxed) {
                let due = start + every * (done + 1);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                rotator.rotate()?;
                done += 1;
            }
            Ok(done)
        })
    };

    eprintln!(
        "bench soak: {} req/s for {}s over {connections} connections, {} rotations, {}s windows",
        args.rate,
        duration.as_secs(),
        args.rotations,
        window.as_secs()
    );
    let load = Load {
        connections,
        duration: window,
        script: &script,
    };
    let started = Instant::now();
    let mut rows: Vec<(WrkResult, u64)> = Vec::new();
    let run = (|| -> anyhow::Result<()> {
        while started.elapsed() + window / 2 < duration {
            let result = wrk::run(&load, &mutate_url(&server.addr))?;
            server.ensure_alive()?;
            rows.push((result, rss_kib(pid)?));
        }
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    let rotated = rotations
        .join()
        .map_err(|_| anyhow::anyhow!("the rotation thread panicked"))??;
    run?;
    // The injector polls its files every 250 ms: give it time to see the last rotation.
    std::thread::sleep(Duration::from_secs(1));
    let reloads = std::fs::read_to_string(&log)?
        .lines()
        .filter(|l| l.contains(RELOAD_LINE))
        .count();
    print_report(&rows, args, rotated, reloads);
    let failed: u64 = rows.iter().map(|(r, _)| r.non_2xx + r.socket_errors).sum();
    ensure!(failed == 0, "{failed} requests failed; see the table above");
    ensure!(
        reloads as u32 == rotated,
        "{rotated} rotations but {reloads} reloads in the injector's log"
    );
    Ok(())
}

struct Rotator {
    live: PathBuf,
    pairs: Vec<PathBuf>,
    generation: AtomicU32,
}

impl Rotator {
    /// Writes the next pair into `live/gen-N` and swaps `live/current` to it atomically.
    fn rotate(&self) -> anyhow::Result<()> {
        let n = self.generation.fetch_add(1, Ordering::Relaxed);
        let source = &self.pairs[n as usize % self.pairs.len()];
        let target = self.live.join(format!("gen-{n}"));
        std::fs::create_dir_all(&target)?;
        for file in ["tls.crt", "tls.key"] {
            std::fs::copy(source.join(file), target.join(file))
                .with_context(|| format!("cannot copy {file} into {}", target.display()))?;
        }
        let next = self.live.join("current.next");
        let _ = std::fs::remove_file(&next);
        symlink(&target, &next)?;
        std::fs::rename(&next, self.live.join("current"))
            .context("cannot swap the `current` symlink")?;
        // Keep the previous generation (the injector may be reading it); drop older ones.
        if n >= 2 {
            let _ = std::fs::remove_dir_all(self.live.join(format!("gen-{}", n - 2)));
        }
        Ok(())
    }
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    procfs::status_kib(pid, "VmRSS")
}

/// A wrk script that POSTs `body` at `rate` requests per second in total (wrk runs one thread).
fn write_paced_script(path: &Path, body: &str, rate: u32) -> anyhow::Result<()> {
    wrk::write_post_script(path, body)?;
    let mut script = std::fs::read_to_string(path)?;
    script.push_str(&format!(
        r#"
-- Fixed rate: every request takes the next slot of one evenly spaced schedule.
local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} vk_timespec;
int clock_gettime(int clock, vk_timespec *tp);
]]
local ts = ffi.new("vk_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = 1000 / {rate}
local next_slot = nil
function delay()
  local now = now_ms()
  if next_slot == nil then next_slot = now end
  local slot = next_slot
  next_slot = next_slot + interval
  if slot <= now then return 0 end
  return slot - now
end
"#
    ));
    std::fs::write(path, script).with_context(|| format!("cannot write {}", path.display()))
}

fn print_report(rows: &[(WrkResult, u64)], args: &SoakArgs, rotated: u32, reloads: usize) {
    let ms = |d: Duration| format!("{:.3}ms", d.as_secs_f64() * 1e3);
    println!(
        "\nbench soak: POST /mutate over TLS at {} req/s asked, {} connections, cert rotated every {:.2}s",
        args.rate,
        args.connections,
        Duration::from_secs(args.duration).as_secs_f64() / f64::from(args.rotations.max(1))
    );
    println!(
        "{:<7} {:>9} {:>9} {:>7} {:>10} {:>10} {:>10}",
        "window", "requests", "req/s", "failed", "p50", "p99", "RSS"
    );
    for (i, (r, rss)) in rows.iter().enumerate() {
        println!(
            "{:<7} {:>9} {:>9.1} {:>7} {:>10} {:>10} {:>7} MiB",
            i + 1,
            r.requests,
            r.requests_per_sec,
            r.non_2xx + r.socket_errors,
            ms(r.p50),
            ms(r.p99),
            rss / 1024
        );
    }
    let sent: u64 = rows.iter().map(|(r, _)| r.requests).sum();
    let failed: u64 = rows.iter().map(|(r, _)| r.non_2xx + r.socket_errors).sum();
    println!("requests sent: {sent}; failed: {failed}");
    println!("certificate rotations: {rotated}; reloads in the injector's log: {reloads}");
    println!("note: wrk and the injector share the machine's cores; see docs/development.md");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_swaps_a_symlink_to_a_complete_pair() {
        let dir = std::env::temp_dir().join(format!("xtask-soak-{}", std::process::id()));
        let pairs: Vec<PathBuf> = (0..2)
            .map(|i| {
                let p = dir.join(format!("pair-{i}"));
                std::fs::create_dir_all(&p).unwrap();
                std::fs::write(p.join("tls.crt"), format!("cert {i}")).unwrap();
                std::fs::write(p.join("tls.key"), format!("key {i}")).unwrap();
                p
            })
            .collect();
        let live = dir.join("live");
        std::fs::create_dir_all(&live).unwrap();
        let r = Rotator {
            live: live.clone(),
            pairs,
            generation: AtomicU32::new(0),
        };
        let read = |f: &str| std::fs::read_to_string(live.join("current").join(f)).unwrap();
        r.rotate().unwrap();
        assert_eq!(
            (read("tls.crt"), read("tls.key")),
            ("cert 0".into(), "key 0".into())
        );
        r.rotate().unwrap();
        r.rotate().unwrap();
        assert_eq!(
            (read("tls.crt"), read("tls.key")),
            ("cert 0".into(), "key 0".into())
        );
        assert!(!live.join("gen-0").exists(), "old generations are removed");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
