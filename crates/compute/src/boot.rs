//! The user data that turns a fresh instance into a cluster node: it fetches the `lakeplane`
//! binary, and starts `lakeplane worker` on the cluster's queue under systemd (restarted if it
//! dies), with the state table, the data bucket and the region it needs, and the instance
//! metadata service as its interruption notice.

use lakeplane_core::cluster::compute::Launch;

/// What every node of a stack is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerBoot {
    /// Where the worker binary is: an `s3://` or `https://` URL.
    pub binary_url: String,
    /// The state store: `dynamodb://TABLE`.
    pub state: String,
    /// Where tables live: `s3://BUCKET/PREFIX`.
    pub storage: String,
    /// Where statement results go: `s3://BUCKET/PREFIX`.
    pub results: Option<String>,
    pub region: String,
    /// Tasks each node runs at once.
    pub slots: u32,
}

/// Single-quotes `s` for the shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl WorkerBoot {
    /// The user-data script for the nodes of `launch`.
    pub fn script(&self, launch: &Launch) -> String {
        let fetch = if self.binary_url.starts_with("s3://") {
            format!(
                "aws s3 cp {} /usr/local/bin/lakeplane",
                quote(&self.binary_url)
            )
        } else {
            format!(
                "curl -fsSL -o /usr/local/bin/lakeplane {}",
                quote(&self.binary_url)
            )
        };
        let results = self
            .results
            .as_ref()
            .map(|r| format!(" --results {}", quote(r)))
            .unwrap_or_default();
        format!(
            r#"#!/bin/bash
# lakeplane node: cluster {cluster}, {role:?}, generation {generation}
set -euo pipefail
IMDS=http://169.254.169.254
TOKEN=$(curl -fsS -X PUT "$IMDS/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
INSTANCE_ID=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/meta-data/instance-id")
{fetch}
chmod 0755 /usr/local/bin/lakeplane
cat > /etc/systemd/system/lakeplane-worker.service <<UNIT
[Unit]
Description=lakeplane worker (cluster {cluster})
After=network-online.target
[Service]
Environment=AWS_REGION={region}
ExecStart=/usr/local/bin/lakeplane worker --state {state} --storage {storage}{results} --queue {queue} --cluster-id {cluster} --node-id $INSTANCE_ID --id $INSTANCE_ID --slots {slots} --interruption-notice imds
Restart=on-failure
RestartSec=2
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now lakeplane-worker
"#,
            cluster = launch.cluster_id,
            role = launch.role,
            generation = launch.generation,
            region = quote(&self.region),
            state = quote(&self.state),
            storage = quote(&self.storage),
            queue = quote(&launch.queue),
            slots = self.slots,
        )
    }
}
