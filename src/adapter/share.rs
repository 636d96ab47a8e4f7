//! A tenant's share of the script threads.
//!
//! Every script call holds a thread until it returns, and a call waiting on a target that
//! hangs returns only at the request's deadline. So no tenant may hold more than
//! `limits.script_calls_per_tenant` calls at once: its calls beyond that wait (holding no
//! thread) for one of its own to end, and the other tenants always find threads free.

use crate::failure::{Failure, Reason};
use scimitar_scim::ScimError;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many script calls one tenant may run at once.
pub struct ScriptShare {
    slots: Arc<Semaphore>,
}

/// One running call's place in its tenant's share; [`super::ScriptHost::call`] takes one, so
/// no call runs outside a share.
pub struct ScriptSlot(#[allow(dead_code)] OwnedSemaphorePermit);

impl ScriptShare {
    pub fn new(calls: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(calls.max(1))),
        }
    }

    /// A slot, once one of the tenant's calls has ended; by `deadline` at the latest, else
    /// SCIM 503 (Entra retries), refused as `script_calls_busy`.
    pub async fn take(&self, deadline: Instant) -> Result<ScriptSlot, Failure> {
        let waited =
            tokio::time::timeout_at(deadline.into(), self.slots.clone().acquire_owned()).await;
        match waited {
            Ok(Ok(permit)) => Ok(ScriptSlot(permit)),
            _ => Err(Failure::refused(
                Reason::ScriptCallsBusy,
                ScimError::unavailable(
                    None,
                    "every adapter call this tenant may run at once is still waiting on the target \
                     (limits.script_calls_per_tenant)",
                ),
            )),
        }
    }
}
