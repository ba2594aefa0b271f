//! The provisioning file (TOML and JSON): a document is refused by the plan with an error, or
//! planned and then applied; never a panic, and never a refusal only when applying.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::provisioning::ProvisioningDoc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let doc: ProvisioningDoc = match text.trim_start().starts_with('{') {
        true => match serde_json::from_str(text) {
            Ok(doc) => doc,
            Err(_) => return,
        },
        false => match toml::from_str(text) {
            Ok(doc) => doc,
            Err(_) => return,
        },
    };
    let world = portcullis_fuzz::world();
    world.rt.block_on(async {
        // A document the plan accepts must apply: the plan is where every refusal belongs.
        if world.core.plan_import(&doc).await.is_ok()
            && let Err(e) = world.core.import(&doc).await
        {
            panic!("planned, then refused when applied: {e}");
        }
    });
});
