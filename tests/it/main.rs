//! driftsync's integration tests: one binary, one module per area.

mod bad_input;
mod cli;
mod corpus;
mod source;
mod support;
