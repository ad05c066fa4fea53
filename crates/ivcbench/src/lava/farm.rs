//! A LAVA server through its REST API (`/api/v0.2/`): `lava submit` sends the jobs `ivcbench
//! lava` wrote and records their ids beside them; `lava collect` waits for them, keeps each job's
//! log and results under `<jobs>/logs/`, and turns each complete job's console into its cell's
//! capture, with the job, the device and whether it is hardware in the capture's metadata. A job
//! that did not complete writes no capture: its cell stays missing in `ivcbench status`.

use super::{import_console, ImportOptions, Provenance};
use crate::names::{Configuration, Hypervisor};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A LAVA server and the token that acts on it.
pub struct Server {
    /// e.g. `https://lava.example.org` (no trailing `/`, no `/RPC2`).
    pub url: String,
    token: Option<String>,
    agent: ureq::Agent,
}

/// One identity of lavacli's configuration file.
#[derive(Debug, Deserialize)]
struct Identity {
    uri: String,
    token: Option<String>,
}

/// lavacli's configuration file: `$XDG_CONFIG_HOME/lavacli.yaml`, else `~/.config/lavacli.yaml`.
fn lavacli_config() -> Option<PathBuf> {
    let dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(dir.join("lavacli.yaml"))
}

/// Identity `name` of lavacli's configuration `text` (read from `path`).
fn identity(path: &Path, text: &[u8], name: &str) -> Result<Identity> {
    serde_yaml_ng::from_slice::<std::collections::BTreeMap<String, Identity>>(text)
        .map_err(|e| anyhow!("{}: not a lavacli configuration: {e}", path.display()))
        .and_then(|mut ids| ids.remove(name).ok_or_else(|| anyhow!("{}: no identity `{name}`", path.display())))
}

fn lavacli_identity(name: &str) -> Option<(PathBuf, Result<Identity>)> {
    let path = lavacli_config()?;
    let text = std::fs::read(&path).ok()?;
    let id = identity(&path, &text, name);
    Some((path, id))
}

/// The API's base from what users give: lavacli's `uri` ends in `/RPC2`.
fn base_url(url: &str) -> Result<String> {
    let url = url.trim_end_matches('/').trim_end_matches("/RPC2").trim_end_matches('/').to_string();
    if !url.starts_with("http://") && !url.starts_with("https://") {
        bail!("--url {url}: give the server's http:// or https:// address");
    }
    Ok(url)
}

impl Server {
    /// URL and token from the flags, else `LAVA_URL` and `LAVA_TOKEN`, else lavacli's identity
    /// (`~/.config/lavacli.yaml`, whose `uri` ends in `/RPC2`).
    pub fn new(url: Option<String>, token: Option<String>, identity: &str) -> Result<Server> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (mut url, mut token) = (url.or_else(|| env("LAVA_URL")), token.or_else(|| env("LAVA_TOKEN")));
        if url.is_none() || token.is_none() {
            if let Some((path, id)) = lavacli_identity(identity) {
                let id = id?;
                url = url.or(Some(id.uri));
                token = token.or(id.token);
                eprintln!("ivcbench: LAVA server and token from {} (identity `{identity}`)", path.display());
            }
        }
        let Some(url) = url else { bail!("no LAVA server: pass --url (or set LAVA_URL, or a lavacli identity in ~/.config/lavacli.yaml)") };
        let url = base_url(&url)?;
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
        Ok(Server { url, token, agent })
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}/api/v0.2/{path}", self.url) };
        let r = self.agent.request(method, &url);
        match &self.token {
            Some(t) => r.set("Authorization", &format!("Token {t}")),
            None => r,
        }
    }

    fn call(&self, r: ureq::Request, body: Option<serde_json::Value>) -> Result<ureq::Response> {
        let url = r.url().to_string();
        let res = match body {
            Some(b) => r.set("Content-Type", "application/json").send_string(&b.to_string()),
            None => r.call(),
        };
        match res {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(code, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                let msg = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("message").or_else(|| v.get("detail")).and_then(|m| m.as_str().map(String::from)))
                    .unwrap_or(text);
                bail!("LAVA at {url}: HTTP {code}: {}", msg.trim())
            }
            Err(e) => Err(anyhow!("LAVA at {url}: {e}")),
        }
    }

    fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        json(self.call(self.request("GET", path), None)?, path)
    }

    fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut self.call(self.request("GET", path), None)?.into_reader(), &mut out)
            .with_context(|| format!("reading LAVA {path}"))?;
        Ok(out)
    }

    /// Submits one job definition; its id.
    pub fn submit(&self, definition: &str) -> Result<u64> {
        let v = json(self.call(self.request("POST", "jobs/"), Some(serde_json::json!({ "definition": definition })))?, "jobs/")?;
        v["job_ids"].get(0).and_then(|i| i.as_u64()).ok_or_else(|| anyhow!("LAVA accepted the job but gave no id: {v}"))
    }

    /// A job's state: `state`, `health`, `actual_device`, `failure_comment`, ...
    pub fn job(&self, id: u64) -> Result<serde_json::Value> {
        self.get_json(&format!("jobs/{id}/"))
    }

    /// Every test case of a job (all pages).
    pub fn tests(&self, id: u64) -> Result<Vec<serde_json::Value>> {
        let mut out = Vec::new();
        let mut next = Some(format!("jobs/{id}/tests/"));
        while let Some(page) = next {
            let v = self.get_json(&page)?;
            out.extend(v["results"].as_array().cloned().unwrap_or_default());
            next = v["next"].as_str().map(String::from);
        }
        Ok(out)
    }
}

fn json(resp: ureq::Response, what: &str) -> Result<serde_json::Value> {
    let text = resp.into_string().with_context(|| format!("reading LAVA's answer to {what}"))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow!("LAVA's answer to {what} is not JSON ({e}): {}", text.chars().take(200).collect::<String>()))
}

/// A submitted job, as `<jobs>/submitted.json` keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Submitted {
    pub file: String,
    pub hypervisor: String,
    pub experiment: String,
    pub platform: String,
    pub job_id: u64,
    pub server: String,
}

fn submitted_path(jobs: &Path) -> PathBuf {
    jobs.join("submitted.json")
}

fn read_submitted(jobs: &Path) -> Result<Vec<Submitted>> {
    let path = submitted_path(jobs);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| format!("{}: not ivcbench's record of submitted jobs", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The job files under `dir`, in order.
fn job_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for exp in ["notif", "transfer"] {
        let d = dir.join(exp);
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Submits `files` (default: every job under `jobs`); records them in `<jobs>/submitted.json`
/// (a cell submitted again replaces its earlier job there).
pub fn submit(server: &Server, jobs: &Path, files: &[PathBuf]) -> Result<Vec<Submitted>> {
    let files = if files.is_empty() { job_files(jobs)? } else { files.to_vec() };
    if files.is_empty() {
        bail!("no jobs under {}/notif or {}/transfer: write them with `ivcbench lava`", jobs.display(), jobs.display());
    }
    let mut record = read_submitted(jobs)?;
    let mut done = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).with_context(|| format!("{}: not YAML", f.display()))?;
        let meta = |k: &str| {
            v["metadata"][format!("ivcbench.{k}").as_str()]
                .as_str()
                .map(String::from)
                .ok_or_else(|| anyhow!("{}: no `ivcbench.{k}` in its metadata: not a job `ivcbench lava` wrote", f.display()))
        };
        let (hypervisor, experiment, platform) = (meta("hypervisor")?, meta("experiment")?, meta("platform")?);
        let job_id = server.submit(&text).with_context(|| format!("submitting {}", f.display()))?;
        let s = Submitted { file: f.display().to_string(), hypervisor, experiment, platform, job_id, server: server.url.clone() };
        record.retain(|r| (&r.hypervisor, &r.experiment) != (&s.hypervisor, &s.experiment));
        record.push(s.clone());
        std::fs::create_dir_all(jobs)?;
        // Written after every job: an error half-way keeps the jobs already submitted.
        std::fs::write(submitted_path(jobs), serde_json::to_string_pretty(&record)? + "\n")
            .with_context(|| format!("writing {}", submitted_path(jobs).display()))?;
        done.push(s);
    }
    Ok(done)
}

/// What `lava collect` does with the finished jobs.
pub struct CollectOptions {
    pub jobs: PathBuf,
    pub out_root: PathBuf,
    pub timeout: Duration,
    pub poll: Duration,
    pub force: bool,
}

/// One cell's end.
pub struct Collected {
    pub job: Submitted,
    pub device: String,
    /// LAVA's `state`/`health`.
    pub status: String,
    /// The capture written.
    pub capture: Option<PathBuf>,
    /// LAVA results of the job's monitor test.
    pub results: usize,
    pub error: Option<String>,
}

/// Waits for every job in `<jobs>/submitted.json`, then imports the complete ones.
pub fn collect(server: &Server, o: &CollectOptions) -> Result<Vec<Collected>> {
    let jobs = read_submitted(&o.jobs)?;
    if jobs.is_empty() {
        bail!("{}: no submitted jobs (run `ivcbench lava submit` first)", submitted_path(&o.jobs).display());
    }
    let t0 = Instant::now();
    let mut last: Vec<String> = vec![String::new(); jobs.len()];
    let mut details: Vec<Option<serde_json::Value>> = vec![None; jobs.len()];
    let mut last_progress = Instant::now();
    loop {
        let mut finished = 0;
        for (i, j) in jobs.iter().enumerate() {
            if details[i].as_ref().is_some_and(|d| d["state"] == "Finished") {
                finished += 1;
                continue;
            }
            let d = server.job(j.job_id).with_context(|| format!("LAVA job {} ({}/{})", j.job_id, j.hypervisor, j.experiment))?;
            let now = format!("{} {}", d["state"].as_str().unwrap_or("?"), d["health"].as_str().unwrap_or("?"));
            if now != last[i] {
                let device = d["actual_device"].as_str().map(|s| format!(" on {s}")).unwrap_or_default();
                eprintln!(
                    "ivcbench: {:>5} s  LAVA job {} {}/{}: {now}{device}",
                    t0.elapsed().as_secs(),
                    j.job_id,
                    j.hypervisor,
                    j.experiment
                );
                last[i] = now;
            }
            if d["state"] == "Finished" {
                finished += 1;
            }
            details[i] = Some(d);
        }
        if finished == jobs.len() {
            break;
        }
        if t0.elapsed() > o.timeout {
            eprintln!("ivcbench: gave up waiting after {} s: {} of {} job(s) finished", t0.elapsed().as_secs(), finished, jobs.len());
            break;
        }
        if last_progress.elapsed() >= Duration::from_secs(30) {
            eprintln!("ivcbench: {:>5} s  {finished} of {} job(s) finished", t0.elapsed().as_secs(), jobs.len());
            last_progress = Instant::now();
        }
        std::thread::sleep(o.poll);
    }
    let mut out = Vec::new();
    for (j, d) in jobs.into_iter().zip(details) {
        let d = d.unwrap_or_default();
        out.push(collect_one(server, o, j, &d));
    }
    Ok(out)
}

fn collect_one(server: &Server, o: &CollectOptions, job: Submitted, d: &serde_json::Value) -> Collected {
    let device = d["actual_device"].as_str().unwrap_or("-").to_string();
    let status = format!("{}/{}", d["state"].as_str().unwrap_or("?"), d["health"].as_str().unwrap_or("?"));
    let mut c = Collected { job, device, status, capture: None, results: 0, error: None };
    let r = (|| -> Result<(PathBuf, usize)> {
        if d["state"] != "Finished" {
            bail!("LAVA job {} did not finish in time ({})", c.job.job_id, c.status);
        }
        let id = c.job.job_id;
        let dir = o.jobs.join("logs");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // The log reaches the disk before anything reads it (a failed job's too: it says why).
        let log = dir.join(format!("{id}.yaml"));
        let bytes = server.get_bytes(&format!("jobs/{id}/logs/"));
        if let Ok(b) = &bytes {
            std::fs::write(&log, b).with_context(|| format!("writing {}", log.display()))?;
        }
        if d["health"] != "Complete" {
            let why = d["failure_comment"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(String::from)
                .or_else(|| bytes.as_ref().ok().and_then(|b| super::job_error(b)))
                .unwrap_or_else(|| "LAVA gave no reason".into());
            bail!("LAVA job {id} ended {}: {why} (log: {})", d["health"].as_str().unwrap_or("?"), log.display());
        }
        let bytes = bytes?;
        let tests = server.tests(id)?;
        std::fs::write(dir.join(format!("{id}.results.json")), serde_json::to_string_pretty(&tests)? + "\n")?;
        let device_type = match server.get_json(&format!("devices/{}/", c.device)) {
            Ok(v) => v["device_type"].as_str().unwrap_or("?").to_string(),
            Err(_) => d["requested_device_type"].as_str().unwrap_or("?").to_string(),
        };
        let monitor: Vec<&serde_json::Value> =
            tests.iter().filter(|t| t["name"].as_str().is_some_and(|n| n.starts_with("notif_") || n.starts_with("transfer_"))).collect();
        let hypervisor = Hypervisor::from_name(&c.job.hypervisor).ok_or_else(|| anyhow!("unknown hypervisor `{}`", c.job.hypervisor))?;
        let config = Configuration::parse(&c.job.experiment)?;
        let opts = ImportOptions {
            out_root: o.out_root.clone(),
            force: o.force,
            job: Some(id.to_string()),
            hypervisor: Some(hypervisor),
            config: Some(config),
        };
        let prov = Provenance::lava(&server.url, id, &c.device, &device_type, &c.job.platform);
        let imported = import_console(&log, &bytes, &opts, prov)?;
        Ok((imported.path, monitor.len()))
    })();
    match r {
        Ok((path, n)) => {
            c.capture = Some(path);
            c.results = n;
        }
        Err(e) => c.error = Some(format!("{e:#}")),
    }
    c
}

/// The per-cell table `lava collect` ends with.
pub fn table(rows: &[Collected]) -> String {
    let mut s = String::from("cell                                 LAVA job  device        status               outcome\n");
    for r in rows {
        let outcome = match (&r.capture, &r.error) {
            (_, Some(e)) => format!("FAILED: {e}"),
            (Some(p), None) => format!("{} ({} LAVA results)", p.display(), r.results),
            (None, None) => "-".into(),
        };
        s += &format!(
            "{:<36} {:>8}  {:<13} {:<20} {outcome}\n",
            format!("{}/{}", r.job.hypervisor, r.job.experiment),
            r.job.job_id,
            r.device,
            r.status
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_and_token_as_lavacli_keeps_them() {
        let text =
            b"default:\n  uri: https://lava.lab.example/RPC2\n  username: me\n  token: abc\nlocal:\n  uri: http://127.0.0.1:18080/RPC2/\n";
        let p = Path::new("lavacli.yaml");
        let id = identity(p, text, "default").unwrap();
        assert_eq!((base_url(&id.uri).unwrap().as_str(), id.token.as_deref()), ("https://lava.lab.example", Some("abc")));
        let id = identity(p, text, "local").unwrap();
        assert_eq!((base_url(&id.uri).unwrap().as_str(), id.token), ("http://127.0.0.1:18080", None));
        assert!(identity(p, text, "other").unwrap_err().to_string().contains("no identity `other`"));
        assert!(base_url("lava.lab.example").is_err());
    }
}
