//! Access tokens, JWT and opaque: nothing but the genuine token is ever accepted, and no
//! input makes validation panic. Byte 0 picks the form: the input as a token, or the genuine
//! JWT with the rest of the input written over it from the offset in byte 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static GENUINE: OnceLock<String> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let genuine = GENUINE.get_or_init(|| portcullis_fuzz::native().token.unwrap_or_default());
    let world = portcullis_fuzz::world();
    let token = match data {
        [0, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        [_, offset, rest @ ..] => {
            let mut bytes = genuine.clone().into_bytes();
            let at = usize::from(*offset) * bytes.len() / 256;
            for (i, b) in rest.iter().enumerate() {
                match bytes.get_mut(at + i) {
                    Some(slot) => *slot = *b,
                    None => bytes.push(*b),
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => return,
    };
    if let Ok(claims) = world.core.validate_access(&token) {
        assert_eq!(
            &token, genuine,
            "a token other than the one issued was accepted: {claims:?}"
        );
    }
    let opaque = world.rt.block_on(world.core.validate_opaque(&token));
    assert!(
        opaque.is_err(),
        "an opaque token that was never issued was accepted"
    );
});
