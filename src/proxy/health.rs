//! Health checks of every proxy tenant's addresses, as one pingora background service.

use crate::gateway::Gateway;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::sync::Arc;
use std::time::Duration;

pub struct HealthChecks {
    gateway: Arc<Gateway>,
}

impl HealthChecks {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self { gateway }
    }
}

#[async_trait]
impl BackgroundService for HealthChecks {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            // Read the tenants anew each round: a reload may add or remove proxy tenants.
            let tenants = self.gateway.tenants();
            let every = tenants
                .iter()
                .filter_map(|t| t.mode.proxy_target().map(|p| p.health_check_every))
                .min()
                .unwrap_or(Duration::from_secs(5));
            for tenant in tenants.iter() {
                if let Some(target) = tenant.mode.proxy_target() {
                    target
                        .load_balancer()
                        .backends()
                        .run_health_check(true)
                        .await;
                }
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
