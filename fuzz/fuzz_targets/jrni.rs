//! The jrni API's routes with fuzzed paths, headers, tokens and bodies: never a server error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static API: OnceLock<portcullis_fuzz::Api> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    API.get_or_init(portcullis_fuzz::jrni).fuzz(data);
});
