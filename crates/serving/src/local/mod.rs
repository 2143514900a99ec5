//! Local serving: each served model of each config version is its own MLflow scoring server
//! (`python -m uvicorn mlflow.pyfunc.scoring_server.app:app`, what the SageMaker MLflow image
//! runs), started from a configured Python environment on a loopback port, health-checked on
//! `/ping` and proxied. A server that exits or does not answer in time fails its deployment with
//! its last log lines. Retiring waits for requests in flight, then kills the process; the
//! processes die with the process that owns them (`kill_on_drop`).

mod process;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lakeplane_core::mlflow::artifacts::ArtifactStore;
use lakeplane_core::serving::port::{Answer, DeployStatus, Deployment, ModelServing, ServingError};

use process::{InFlight, Server, State, Version};

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

/// The versions running here, by endpoint and config version.
type Deployed = HashMap<(String, u64), Arc<Version>>;

/// Local serving (see the module's text).
#[derive(Debug, Clone)]
pub struct LocalScoring {
    settings: Arc<LocalSettings>,
    artifacts: Arc<dyn ArtifactStore>,
    http: reqwest::Client,
    live: Arc<Mutex<Deployed>>,
}

pub(super) fn failed(
    endpoint: &str,
    action: &'static str,
    e: impl std::fmt::Display,
) -> ServingError {
    ServingError::Backend {
        endpoint: endpoint.to_string(),
        action,
        source: e.to_string().into(),
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
