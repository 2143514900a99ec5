//! Local serving: each served model of each config version is its own MLflow scoring server
//! (`python -m uvicorn mlflow.pyfunc.scoring_server.app:app`, what the SageMaker MLflow image
//! runs), started from a configured Python environment on a loopback port, health-checked on
//! `/ping` and proxied. A server that exits or does not answer in time fails its deployment with
//! its last log lines. Retiring waits for requests in flight, then kills the process; the
//! processes die with the process that owns them (`kill_on_drop`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lakeplane_core::mlflow::artifacts::{check_path, ArtifactStore};
use lakeplane_core::serving::port::{
    Answer, DeployStatus, DeployedModel, Deployment, ModelServing, ServingError,
};
use tokio::process::{Child, Command};

/// How long servers get to start and requests to be answered.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// The Python that has `mlflow` (and the model's libraries) installed.
    pub python: PathBuf,
    /// Where model files are unpacked and servers write their logs.
    pub dir: PathBuf,
    /// A server that does not answer `/ping` within this fails (MLflow's takes ~12 s on 2 cores).
    pub start_timeout: Duration,
    /// The longest one invocation may take.
    pub request_timeout: Duration,
    /// How long a retired server keeps answering requests that already chose it.
    pub drain_grace: Duration,
}

impl LocalSettings {
    pub fn new(python: PathBuf, dir: PathBuf) -> LocalSettings {
        LocalSettings {
            python,
            dir,
            start_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(60),
            drain_grace: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Preparing,
    Starting,
    Ready,
    Failed(String),
}

#[derive(Debug)]
struct Server {
    name: String,
    port: AtomicU16,
    child: Mutex<Option<Child>>,
    log: PathBuf,
    inflight: AtomicUsize,
    state: Mutex<State>,
}

impl Server {
    fn state(&self) -> State {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or(State::Failed("poisoned".into()))
    }

    fn set(&self, s: State) {
        if let Ok(mut g) = self.state.lock() {
            *g = s;
        }
    }

    fn kill(&self) {
        if let Ok(mut c) = self.child.lock() {
            if let Some(child) = c.as_mut() {
                let _ = child.start_kill();
            }
            *c = None;
        }
    }
}

#[derive(Debug)]
struct Version {
    servers: HashMap<String, Arc<Server>>,
    started: Instant,
    dir: PathBuf,
}

/// Local serving (see the module's text).
#[derive(Debug, Clone)]
pub struct LocalScoring {
    settings: Arc<LocalSettings>,
    artifacts: Arc<dyn ArtifactStore>,
    http: reqwest::Client,
    live: Arc<Mutex<HashMap<(String, u64), Arc<Version>>>>,
}

fn failed(endpoint: &str, action: &'static str, e: impl std::fmt::Display) -> ServingError {
    ServingError::Backend {
        endpoint: endpoint.to_string(),
        action,
        source: e.to_string().into(),
    }
}

/// Counts a request in flight for as long as it lives.
struct InFlight(Arc<Server>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LocalScoring {
    pub fn new(settings: LocalSettings, artifacts: Arc<dyn ArtifactStore>) -> LocalScoring {
        LocalScoring {
            settings: Arc::new(settings),
            artifacts,
            http: reqwest::Client::new(),
            live: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn version(&self, endpoint: &str, version: u64) -> Option<Arc<Version>> {
        self.live
            .lock()
            .ok()?
            .get(&(endpoint.to_string(), version))
            .cloned()
    }

    /// Copies a model's files out of the artifact store into `dir`.
    async fn fetch(&self, model: &DeployedModel, dir: &Path) -> Result<(), String> {
        let files = self
            .artifacts
            .walk(&model.artifact_path)
            .await
            .map_err(|e| e.to_string())?;
        if files.is_empty() {
            return Err(format!(
                "model {} version {} has no files at {}",
                model.model_name, model.model_version, model.artifact_path
            ));
        }
        for f in files {
            let rel = check_path(&f.path).map_err(|e| e.to_string())?;
            let bytes = self
                .artifacts
                .get(&format!("{}/{rel}", model.artifact_path))
                .await
                .map_err(|e| e.to_string())?;
            let to = dir.join(&rel);
            if let Some(parent) = to.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            tokio::fs::write(&to, bytes)
                .await
                .map_err(|e| format!("{}: {e}", to.display()))?;
        }
        Ok(())
    }

    /// Fetches the model and starts its server.
    async fn start(&self, server: Arc<Server>, model: DeployedModel, dir: PathBuf) {
        let model_dir = dir.join(&model.name);
        if let Err(e) = self.fetch(&model, &model_dir).await {
            server.set(State::Failed(format!(
                "could not fetch the model's files: {e}"
            )));
            return;
        }
        let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
            Ok(a) => a.port(),
            Err(e) => return server.set(State::Failed(format!("no free port: {e}"))),
        };
        let log = match std::fs::File::create(&server.log) {
            Ok(f) => f,
            Err(e) => {
                return server.set(State::Failed(format!(
                    "cannot write {}: {e}",
                    server.log.display()
                )))
            }
        };
        let err_log = match log.try_clone() {
            Ok(f) => f,
            Err(e) => return server.set(State::Failed(e.to_string())),
        };
        // `mlflow models serve` runs tools by bare name: the environment's bin first on PATH.
        let bin = self
            .settings
            .python
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let spawned = Command::new(&self.settings.python)
            .args([
                "-m",
                "uvicorn",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "mlflow.pyfunc.scoring_server.app:app",
            ])
            .env("__pyfunc_model_path__", &model_dir)
            .env("PATH", path)
            .envs(model.environment.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Ok(child) => {
                if let Ok(mut c) = server.child.lock() {
                    *c = Some(child);
                }
                server.port.store(port, Ordering::SeqCst);
                server.set(State::Starting);
            }
            Err(e) => server.set(State::Failed(format!(
                "cannot start {}: {e}",
                self.settings.python.display()
            ))),
        }
    }

    /// Checks a starting server: exited, answering, or out of time.
    async fn probe(&self, server: &Server, started: Instant) {
        let exited = server
            .child
            .lock()
            .ok()
            .and_then(|mut c| c.as_mut().and_then(|c| c.try_wait().ok().flatten()));
        if let Some(status) = exited {
            let tail = crate::tail(&server.log, 20);
            server.set(State::Failed(format!(
                "the model server of {} exited ({status}); its last log lines:\n{tail}",
                server.name
            )));
            return;
        }
        let url = format!(
            "http://127.0.0.1:{}/ping",
            server.port.load(Ordering::SeqCst)
        );
        let ok = self
            .http
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            // Other processes of the platform (workers running `ai_query`) find it by this file.
            let port = server.port.load(Ordering::SeqCst).to_string();
            let _ = std::fs::write(server.log.with_extension("port"), port);
            server.set(State::Ready);
        } else if started.elapsed() > self.settings.start_timeout {
            server.kill();
            let tail = crate::tail(&server.log, 20);
            server.set(State::Failed(format!(
                "the model server of {} did not answer /ping within {:?}; its last log lines:\n{tail}",
                server.name, self.settings.start_timeout
            )));
        }
    }

    /// Stops a version's servers once the requests that chose them are answered.
    fn stop(&self, v: Arc<Version>) {
        let grace = self.settings.drain_grace;
        let patience = self.settings.request_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let deadline = Instant::now() + patience;
            while v
                .servers
                .values()
                .any(|s| s.inflight.load(Ordering::SeqCst) > 0)
                && Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for s in v.servers.values() {
                s.kill();
            }
            let _ = tokio::fs::remove_dir_all(&v.dir).await;
        });
    }

    /// One request to the model server on `port`.
    async fn post(
        &self,
        d: &Deployment,
        port: u16,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Answer, ServingError> {
        let resp = self
            .http
            .post(format!("http://127.0.0.1:{port}/invocations"))
            .header("content-type", content_type)
            .body(body)
            .timeout(self.settings.request_timeout)
            .send()
            .await
            .map_err(|e| failed(&d.endpoint, "invoke", e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        let body = resp
            .bytes()
            .await
            .map_err(|e| failed(&d.endpoint, "invoke", e))?
            .to_vec();
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    /// The processes running now (for tests): the pids of every server.
    pub fn pids(&self) -> Vec<u32> {
        let Ok(live) = self.live.lock() else {
            return vec![];
        };
        live.values()
            .flat_map(|v| v.servers.values())
            .filter_map(|s| {
                s.child
                    .lock()
                    .ok()
                    .and_then(|c| c.as_ref().and_then(Child::id))
            })
            .collect()
    }
}

#[async_trait]
impl ModelServing for LocalScoring {
    async fn deploy(&self, d: &Deployment) -> Result<(), ServingError> {
        let key = (d.endpoint.clone(), d.version);
        let dir = self
            .settings
            .dir
            .join(&d.endpoint)
            .join(format!("v{}", d.version));
        let version = {
            let mut live = self
                .live
                .lock()
                .map_err(|e| failed(&d.endpoint, "deploy", e))?;
            if live.contains_key(&key) {
                return Ok(());
            }
            let servers = d
                .models
                .iter()
                .map(|m| {
                    let s = Server {
                        name: m.name.clone(),
                        port: AtomicU16::new(0),
                        child: Mutex::new(None),
                        log: dir.join(format!("{}.log", m.name)),
                        inflight: AtomicUsize::new(0),
                        state: Mutex::new(State::Preparing),
                    };
                    (m.name.clone(), Arc::new(s))
                })
                .collect();
            let v = Arc::new(Version {
                servers,
                started: Instant::now(),
                dir: dir.clone(),
            });
            live.insert(key, v.clone());
            v
        };
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| failed(&d.endpoint, "deploy", e))?;
        for m in &d.models {
            if let Some(server) = version.servers.get(&m.name) {
                let me = self.clone();
                let (server, model, dir) = (server.clone(), m.clone(), dir.clone());
                tokio::spawn(async move { me.start(server, model, dir).await });
            }
        }
        Ok(())
    }

    async fn status(&self, d: &Deployment) -> Result<DeployStatus, ServingError> {
        let Some(v) = self.version(&d.endpoint, d.version) else {
            return Ok(DeployStatus::Absent);
        };
        let mut all_ready = true;
        for s in v.servers.values() {
            match s.state() {
                State::Starting => self.probe(s, v.started).await,
                State::Preparing if v.started.elapsed() > self.settings.start_timeout => {
                    s.set(State::Failed(format!(
                        "the files of {} did not arrive within {:?}",
                        s.name, self.settings.start_timeout
                    )))
                }
                _ => {}
            }
            match s.state() {
                State::Failed(why) => return Ok(DeployStatus::Failed(why)),
                State::Ready => {}
                _ => all_ready = false,
            }
        }
        Ok(if all_ready {
            DeployStatus::Ready
        } else {
            DeployStatus::Starting
        })
    }

    async fn invoke(
        &self,
        d: &Deployment,
        model: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Answer, ServingError> {
        let not_deployed = || ServingError::NotDeployed {
            endpoint: d.endpoint.clone(),
            version: d.version,
        };
        let Some(v) = self.version(&d.endpoint, d.version) else {
            // Started by another process of the platform: reached through its port file.
            let file = self
                .settings
                .dir
                .join(&d.endpoint)
                .join(format!("v{}", d.version))
                .join(format!("{model}.port"));
            let port: u16 = std::fs::read_to_string(&file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
                .ok_or_else(not_deployed)?;
            return self
                .post(d, port, content_type, body)
                .await
                .map_err(|e| match e {
                    ServingError::Backend { .. } if !file.exists() => not_deployed(),
                    e => e,
                });
        };
        let server = v.servers.get(model).cloned().ok_or_else(not_deployed)?;
        if server.state() != State::Ready {
            return Err(not_deployed());
        }
        server.inflight.fetch_add(1, Ordering::SeqCst);
        let _guard = InFlight(server.clone());
        self.post(d, server.port.load(Ordering::SeqCst), content_type, body)
            .await
    }

    async fn retire(&self, d: &Deployment) -> Result<(), ServingError> {
        let v = self
            .live
            .lock()
            .ok()
            .and_then(|mut l| l.remove(&(d.endpoint.clone(), d.version)));
        if let Some(v) = v {
            self.stop(v);
        }
        Ok(())
    }

    async fn delete(
        &self,
        endpoint: &str,
        _deployments: &[Deployment],
    ) -> Result<(), ServingError> {
        let gone: Vec<Arc<Version>> = match self.live.lock() {
            Ok(mut live) => {
                let keys: Vec<_> = live
                    .keys()
                    .filter(|(e, _)| e == endpoint)
                    .cloned()
                    .collect();
                keys.iter().filter_map(|k| live.remove(k)).collect()
            }
            Err(e) => return Err(failed(endpoint, "delete", e)),
        };
        for v in gone {
            self.stop(v);
        }
        Ok(())
    }
}
