//! `scimitar adapter test`: Entra's provisioning behaviour (the SCIM Validator's list and
//! what the provisioning service really sends, see the README's adapter guide) replayed
//! against one tenant's SCIM base URL, one line per check and a summary.
//!
//! Read-only checks (discovery, test connection) always run; the others create, change and
//! delete users and a group named `scimitar-test-<random>…`, so they run only when the caller
//! says it may write, and every object they create is deleted at the end, failed checks or not.

mod checks;
pub mod client;

pub use client::ScimClient;
use std::io::Write;

/// What a run found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn is_success(&self) -> bool {
        self.failed == 0
    }
}

/// What a run may do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run the checks that create, change and delete test objects in the target.
    pub write: bool,
    /// The app role the test users carry, as Entra sends one when the application has app
    /// roles (`roles: [{primary: "True", value}]`), for targets that require a role.
    pub role: Option<String>,
    pub deactivation: Deactivation,
}

/// What `active: false` does to a user in the target: the adapter's decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Deactivation {
    /// The user stays, disabled: GET and filters return it with `active: false` (what Entra
    /// expects wherever the target can keep a disabled user).
    #[default]
    Keep,
    /// The target cannot keep disabled users, so the adapter deletes them: GET is then 404.
    Delete,
}

/// Runs the checks against `client`'s tenant, printing each to `out` as it completes.
pub async fn run(client: &ScimClient, options: &Options, out: &mut dyn Write) -> Summary {
    let mut run = checks::Run::new(client, options, out);
    run.all().await;
    run.finish().await
}

/// Why a check did not pass.
#[derive(Debug)]
enum Miss {
    /// The tenant answered what Entra would not accept.
    Fail(String),
    /// The check cannot say: what it needs is missing (an earlier step failed, or the
    /// target does not keep the attribute, which Entra does not notice).
    Skip(String),
}

impl From<anyhow::Error> for Miss {
    fn from(error: anyhow::Error) -> Self {
        Miss::Fail(format!("{error:#}"))
    }
}

type Checked = Result<(), Miss>;

/// Fails with `why()` unless `condition` holds.
fn ensure(condition: bool, why: impl FnOnce() -> String) -> Checked {
    if condition {
        Ok(())
    } else {
        Err(Miss::Fail(why()))
    }
}

/// Prints checks and counts them.
struct Report<'a> {
    out: &'a mut dyn Write,
    summary: Summary,
}

impl Report<'_> {
    fn section(&mut self, title: &str) {
        // A broken stdout (a closed pipe) must not stop the run before its cleanup.
        let _ = writeln!(self.out, "{title}");
    }

    fn record(&mut self, title: &str, outcome: Checked) {
        let line = match outcome {
            Ok(()) => {
                self.summary.passed += 1;
                format!("  ok    {title}")
            }
            Err(Miss::Fail(why)) => {
                self.summary.failed += 1;
                format!("  FAIL  {title}\n        {why}")
            }
            Err(Miss::Skip(why)) => {
                self.summary.skipped += 1;
                format!("  skip  {title}\n        {why}")
            }
        };
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}
