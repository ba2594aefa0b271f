//! End-to-end tests: the real `portcullis` binary on port 0 with a real SQLite file, driven
//! by a real HTTP client and the real command line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod bad_inputs;
mod boundaries;
mod cli;
mod djust;
mod forward_auth;
mod guard;
mod hostile;
mod jfw;
mod jrni;
mod lifecycle;
mod limits;
mod logs;
mod metrics;
mod nodes;
mod openloyalty;
mod password;
mod proxy;
mod smtp;
mod timing;
mod tokens;
