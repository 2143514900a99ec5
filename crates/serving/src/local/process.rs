//! The processes behind local serving: a model's files fetched, its scoring server started,
//! probed until it answers, proxied to, and stopped once its requests are answered.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lakeplane_core::mlflow::artifacts::{check_path, ArtifactStore};
use lakeplane_core::serving::port::{Answer, DeployedModel, Deployment, ServingError};
use tokio::process::{Child, Command};

use super::{failed, LocalScoring, LocalSettings};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum State {
    Preparing,
    Starting,
    Ready,
    Failed(String),
}

#[derive(Debug)]
pub(super) struct Server {
    pub(super) name: String,
    pub(super) port: AtomicU16,
    pub(super) child: Mutex<Option<Child>>,
    pub(super) log: PathBuf,
    pub(super) inflight: AtomicUsize,
    pub(super) state: Mutex<State>,
}

impl Server {
    pub(super) fn state(&self) -> State {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or(State::Failed("poisoned".into()))
    }

    pub(super) fn set(&self, s: State) {
        if let Ok(mut g) = self.state.lock() {
            *g = s;
        }
    }

    pub(super) fn kill(&self) {
        if let Ok(mut c) = self.child.lock() {
            if let Some(child) = c.as_mut() {
                let _ = child.start_kill();
            }
            *c = None;
        }
    }
}

#[derive(Debug)]
pub(super) struct Version {
    pub(super) servers: HashMap<String, Arc<Server>>,
    pub(super) started: Instant,
    pub(super) dir: PathBuf,
}

/// Counts a request in flight for as long as it lives.
pub(super) struct InFlight(pub(super) Arc<Server>);

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

    pub(super) fn version(&self, endpoint: &str, version: u64) -> Option<Arc<Version>> {
        self.live
            .lock()
            .ok()?
            .get(&(endpoint.to_string(), version))
            .cloned()
    }

    /// Copies a model's files out of the artifact store into `dir`.
    pub(super) async fn fetch(&self, model: &DeployedModel, dir: &Path) -> Result<(), String> {
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
    pub(super) async fn start(&self, server: Arc<Server>, model: DeployedModel, dir: PathBuf) {
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
    pub(super) async fn probe(&self, server: &Server, started: Instant) {
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
    pub(super) fn stop(&self, v: Arc<Version>) {
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
    pub(super) async fn post(
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
