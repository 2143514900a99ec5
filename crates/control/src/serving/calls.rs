//! `ai_query`'s adapter: the caller must be allowed to query the endpoint; the request goes to the
//! config that serves, as an invocation through the API would.

use async_trait::async_trait;
use lakeplane_core::catalog::Identity;
use lakeplane_core::serving::calls::{CallError, EndpointCalls};
use lakeplane_core::serving::port::ServingError;
use lakeplane_core::serving::ServingEndpoint;

use super::ServingEndpoints;
use crate::error::ControlError;

#[async_trait]
impl EndpointCalls for ServingEndpoints {
    async fn call(
        &self,
        endpoint: &str,
        who: &Identity,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, CallError> {
        let failed = |message: String| CallError::Failed {
            endpoint: endpoint.to_string(),
            message,
        };
        let e: ServingEndpoint = match self.docs.read(&endpoint.to_string()).await {
            Ok(e) => e,
            Err(ControlError::NotFound { .. }) => {
                return Err(CallError::NotFound {
                    endpoint: endpoint.into(),
                })
            }
            Err(e) => return Err(failed(e.to_string())),
        };
        if !e.may_query(who) {
            return Err(CallError::Denied {
                endpoint: endpoint.into(),
                user: who.user.clone(),
            });
        }
        match self.invoke(endpoint, "application/json", body).await {
            Ok((answer, _)) if answer.status == 200 => Ok(answer.body),
            Ok((answer, _)) if answer.status == 429 => Err(CallError::Throttled {
                endpoint: endpoint.into(),
            }),
            Ok((answer, _)) => Err(failed(format!(
                "the model answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
                    .chars()
                    .take(500)
                    .collect::<String>()
            ))),
            Err(ControlError::Serving(ServingError::Throttled { .. })) => {
                Err(CallError::Throttled {
                    endpoint: endpoint.into(),
                })
            }
            Err(e) => Err(failed(e.to_string())),
        }
    }
}
