//! Per-tenant protection: a token-bucket rate limit and a cap on concurrent requests, so
//! that one tenant's burst can neither starve the others nor overrun its target. Both
//! answer SCIM 429 with `Retry-After`, which Entra honours by retrying later.

use crate::config::TenantLimits;
use crate::failure::{Failure, Reason};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use scimitar_scim::ScimError;
use std::num::NonZeroU32;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Protection {
    rate: Option<DefaultDirectRateLimiter>,
    concurrency: Option<Arc<Semaphore>>,
}

impl Protection {
    pub fn new(limits: &TenantLimits) -> Self {
        let rate = limits
            .requests_per_second
            .and_then(NonZeroU32::new)
            .map(|per_second| {
                let burst = limits.burst.and_then(NonZeroU32::new).unwrap_or(per_second);
                RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst))
            });
        let concurrency = limits
            .max_concurrent
            .map(|n| Arc::new(Semaphore::new(n.max(1))));
        Self { rate, concurrency }
    }

    /// Counts a request against the rate limit, or says it is over.
    pub fn check_rate(&self) -> Result<(), Failure> {
        if let Some(rate) = &self.rate {
            if let Err(not_until) = rate.check() {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(Failure::refused(
                    Reason::RateLimited,
                    ScimError::too_many_requests(
                        wait.as_secs().max(1),
                        "this tenant's request rate limit is reached",
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A concurrency slot, when concurrency is capped: taken once the request has arrived
    /// whole, so that a slow sender holds none.
    pub fn take_slot(&self) -> Result<Option<OwnedSemaphorePermit>, Failure> {
        match &self.concurrency {
            None => Ok(None),
            Some(semaphore) => semaphore
                .clone()
                .try_acquire_owned()
                .map(Some)
                .map_err(|_| {
                    Failure::refused(
                        Reason::Concurrency,
                        ScimError::too_many_requests(
                            1,
                            "this tenant has too many requests in flight",
                        ),
                    )
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refuses_past_its_burst() {
        let p = Protection::new(&TenantLimits {
            requests_per_second: Some(1),
            burst: Some(2),
            max_concurrent: None,
        });
        assert!(p.check_rate().is_ok());
        assert!(p.check_rate().is_ok());
        let refusal = p.check_rate().unwrap_err();
        assert_eq!(
            (refusal.rejection(), refusal.status()),
            (Some("rate_limited"), 429)
        );
        assert!(refusal.error().retry_after.unwrap() >= 1);
    }

    #[test]
    fn concurrency_is_capped_while_permits_are_held() {
        let p = Protection::new(&TenantLimits {
            requests_per_second: None,
            burst: None,
            max_concurrent: Some(1),
        });
        let held = p.take_slot().unwrap();
        assert_eq!(p.take_slot().unwrap_err().rejection(), Some("concurrency"));
        drop(held);
        assert!(p.take_slot().is_ok());
    }

    #[test]
    fn no_limits_admit_everything() {
        let p = Protection::new(&TenantLimits::default());
        for _ in 0..1000 {
            assert!(p.check_rate().is_ok());
            assert!(p.take_slot().unwrap().is_none());
        }
    }
}
