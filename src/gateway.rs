//! The running gateway: tenants, the script host and the store, shared by every request.

use crate::adapter::{CallContext, Projection, ScriptHost};
use crate::config::{Config, Limits, Network};
use crate::failure::Failure;
use crate::ordering::{LockTable, RequestLocks};
use crate::provisioning::{CallLog, ProvisioningLog, Retention};
use crate::public_url::PublicUrl;
use crate::store::Store;
use crate::tenant::{Outbound, Tenant, Tenants};
use crate::upstream::TrustedRoots;
use arc_swap::ArcSwap;
use rhai::Dynamic;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Gateway {
    /// Swapped whole by a reload; a request keeps the tenant it started with.
    tenants: ArcSwap<Tenants>,
    http: reqwest::Client,
    pub scripts: ScriptHost,
    pub store: Store,
    pub limits: Limits,
    /// How the gateway names its own URLs and tells its clients' addresses (start-up
    /// value, like the listeners).
    pub public_url: PublicUrl,
    /// `server.allowed_networks`: where SCIM clients may call from (empty: anywhere).
    pub allowed_networks: Vec<Network>,
    pub log: ProvisioningLog,
    /// Orders the writes of each resource (across replicas on PostgreSQL).
    locks: Arc<LockTable>,
    /// SCIM requests being served now, and whether the gateway is shutting down (see
    /// `server::Drain`).
    in_flight: AtomicUsize,
    draining: AtomicBool,
}

impl Gateway {
    /// Validates and builds everything the config describes: opens (and migrates) the store,
    /// compiles every script, prepares every tenant.
    pub fn start(config: &Config) -> anyhow::Result<Arc<Gateway>> {
        let roots = TrustedRoots::load(config.server.upstream_ca_file.as_deref())?;
        let http = crate::upstream::http_client(&roots)?;
        let scripts = ScriptHost::new(&config.limits, config.server.script_threads, roots)?;
        let store = scripts.io().block_on(Store::open(&config.store.url))?;
        let lock_wait = Duration::from_secs(config.limits.lock_wait_secs.max(1));
        let locks = match &store {
            Store::Postgres(_) => scripts.io().block_on(LockTable::shared(
                config.store.url.as_str(),
                config.store.lock_connections,
                lock_wait,
                scripts.io(),
            ))?,
            Store::Sqlite(_) => LockTable::local(lock_wait, scripts.io()),
        };
        let script_calls = config.limits.script_calls_per_tenant;
        let outbound = Outbound {
            http: &http,
            io: &scripts.io(),
        };
        let tenants = Tenants::build(config, scripts.engine(), outbound, script_calls, None)?;
        tenants
            .iter()
            .for_each(|t| crate::metrics::register_tenant(&t.name));
        let log = match &config.provisioning_log {
            settings if settings.enabled => {
                let retention = Retention {
                    max_age: Duration::from_secs(settings.retention_days.saturating_mul(86_400)),
                    max_bytes: settings.max_size_mb.saturating_mul(1024 * 1024),
                };
                ProvisioningLog::start(store.clone(), retention, &scripts.io())
            }
            _ => ProvisioningLog::disabled(),
        };
        Ok(Arc::new(Gateway {
            tenants: ArcSwap::from_pointee(tenants),
            http,
            scripts,
            store,
            limits: config.limits.clone(),
            public_url: PublicUrl::new(&config.server)?,
            allowed_networks: config.server.allowed_networks.clone(),
            log,
            locks: Arc::new(locks),
            in_flight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
        }))
    }

    /// The tenants as configured now.
    pub fn tenants(&self) -> Arc<Tenants> {
        self.tenants.load_full()
    }

    /// Replaces every tenant with those of `config` — routes, tokens, scripts, upstreams —
    /// once all of them built. Anything that fails leaves the running tenants in place.
    /// What a tenant's section leaves unchanged keeps its state: rate-limit buckets, OAuth
    /// tokens, health checks (see `Tenant::build`). (Listeners, store, limits and the
    /// provisioning log keep their start-up settings.)
    pub fn reload(&self, config: &Config) -> anyhow::Result<usize> {
        let running = self.tenants();
        if config.tenants.is_empty() && running.iter().next().is_some() {
            // Almost always a file caught half-written (an empty TOML is a valid config):
            // dropping every tenant would answer Entra 404 until the next save.
            anyhow::bail!(
                "the new configuration has no tenants; the running ones stay (restart to serve none)"
            );
        }
        let outbound = Outbound {
            http: &self.http,
            io: &self.scripts.io(),
        };
        let tenants = Tenants::build(
            config,
            self.scripts.engine(),
            outbound,
            self.limits.script_calls_per_tenant,
            Some(&running),
        )?;
        tenants
            .iter()
            .for_each(|t| crate::metrics::register_tenant(&t.name));
        let count = tenants.iter().count();
        self.tenants.store(Arc::new(tenants));
        Ok(count)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.request_timeout_secs)
    }

    /// A request arrived; `false` when the gateway is draining and must turn it away.
    pub fn request_started(&self) -> bool {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        !self.draining.load(Ordering::SeqCst)
    }

    pub fn request_ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// From now on, new requests are turned away (503, retried by Entra elsewhere or later);
    /// answers how many are still being served.
    pub fn drain(&self) -> usize {
        self.draining.store(true, Ordering::SeqCst);
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The table of resource locks (a directory sync takes its own).
    pub fn lock_table(&self) -> &LockTable {
        &self.locks
    }

    /// An empty lock set for a request of `tenant` ending at `deadline`.
    pub fn request_locks(&self, tenant: &str, deadline: Instant) -> Arc<RequestLocks> {
        Arc::new(RequestLocks::new(self.locks.clone(), tenant, deadline))
    }
}

/// One request's access to its tenant's adapter.
pub struct Invocation<'a> {
    pub gateway: &'a Gateway,
    pub tenant: &'a Arc<Tenant>,
    pub route_params: &'a BTreeMap<String, String>,
    pub deadline: Instant,
    /// The request's calls to the target, for the provisioning log.
    pub calls: &'a CallLog,
    /// The resource locks the request holds.
    pub locks: Arc<RequestLocks>,
    /// What the client asked to be returned.
    pub projection: Projection,
}

impl Invocation<'_> {
    pub fn defines(&self, function: &str, arity: usize) -> bool {
        self.tenant.adapter.defines(function, arity)
    }

    /// Calls an adapter function; its result comes back as JSON.
    pub async fn call(
        &self,
        function: &str,
        args: Vec<Dynamic>,
    ) -> Result<serde_json::Value, Failure> {
        if let Some(answer) = self.call_in_place(function, &args) {
            return answer;
        }
        let slot = self.tenant.script_share.take(self.deadline).await?;
        let adapter = self.tenant.adapter.clone();
        self.gateway
            .scripts
            .call(adapter, self.context(), slot, function, args)
            .await
    }

    /// A function that never waits runs here, without a hop to a script thread and back
    /// (most hooks only compute). One that reaches a host function that waits after all
    /// answers `None` and runs again on a thread, with its arguments as they were.
    fn call_in_place(
        &self,
        function: &str,
        args: &[Dynamic],
    ) -> Option<Result<serde_json::Value, Failure>> {
        let adapter = &self.tenant.adapter;
        if !adapter.runs_in_place(function, args.len()) {
            return None;
        }
        self.gateway
            .scripts
            .call_in_place(adapter, self.context(), function, args.to_vec())
    }

    /// The same, blocking this thread until the answer is there, for pingora's synchronous
    /// body filters: `block_in_place` hands the worker's other tasks to the others first.
    pub fn call_blocking(
        &self,
        function: &str,
        args: Vec<Dynamic>,
    ) -> Result<serde_json::Value, Failure> {
        if let Some(answer) = self.call_in_place(function, &args) {
            return answer;
        }
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(self.call(function, args))
        })
    }

    fn context(&self) -> CallContext {
        CallContext {
            tenant: self.tenant.name.clone(),
            upstream: self.tenant.upstream.clone(),
            store: self.gateway.store.clone(),
            settings: self.tenant.settings.clone(),
            route_params: self.route_params.clone(),
            default_region: self.tenant.default_region,
            deadline: self.deadline,
            calls: self.calls.clone(),
            io: self.gateway.scripts.io(),
            locks: self.locks.clone(),
            projection: self.projection.clone(),
            index_fresh: self.tenant.index.as_ref().map(|i| i.fresh),
            in_place: false,
            needed_thread: Default::default(),
        }
    }
}
