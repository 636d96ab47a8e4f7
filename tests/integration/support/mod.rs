//! Test harness: real testbeds in-process, the real `scimitar` binary as a child process,
//! a real HTTP client in between. Everything on loopback, every token generated per run.
//!
//! By role: [`gateway`] (the gateway process and its config), [`targets`] (testbeds and the
//! tenants in front of them), [`http`] (Entra's side: requests and how answers are read),
//! [`tools`] (external programs from the test venv).

mod gateway;
mod http;
mod targets;
mod tools;

pub use gateway::*;
pub use http::*;
pub use targets::*;
pub use tools::*;

use reqwest::{Client, Method, Response, StatusCode};
use scimitar_testbeds::{acme_hr, maptician, mediusflow, meta_networks, mx3, rhombus, Testbed};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
