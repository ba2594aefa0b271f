//! The provisioning file (TOML and JSON): a document is refused with an error or planned and
//! applied, never a panic or a store error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::CoreError;
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
    let result = world.rt.block_on(async {
        world.core.plan_import(&doc).await?;
        world.core.import(&doc).await
    });
    if let Err(e @ (CoreError::Internal(_) | CoreError::Unavailable)) = result {
        panic!("the import failed inside: {e}");
    }
});
