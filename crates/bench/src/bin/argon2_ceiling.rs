//! The login ceiling: raw argon2id verifications per second with the server's default
//! parameters (OWASP: 19 MiB, 2 iterations, 1 lane), one thread per core, for a fixed time,
//! each thread reusing its memory as the server's hashing threads do (the fastest way the
//! argon2 crate verifies). `portcullis-argon2-ceiling [SECONDS] [THREADS]` prints one JSON line.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(Ok(10), |s| s.parse())?;
    let threads: usize = match args.next() {
        Some(s) => s.parse()?,
        None => std::thread::available_parallelism()?.get(),
    };
    // The same as portcullis_core::password::HashingSettings::default().
    let params = Params::new(19_456, 2, 1, None).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"portcullis-bench").map_err(|e| e.to_string())?;
    let hash = argon
        .hash_password(b"Bench-Passw0rd!", &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    let done = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let Ok(parsed) = PasswordHash::new(&hash) else {
                    return;
                };
                let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
                    return;
                };
                let mut salt_buf = [0u8; 64];
                let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
                    return;
                };
                let mut memory = vec![Block::default(); argon.params().block_count()];
                let mut out = vec![0u8; expected.len()];
                while Instant::now() < deadline {
                    let ok = argon
                        .hash_password_into_with_memory(
                            b"Bench-Passw0rd!",
                            salt,
                            &mut out,
                            &mut memory,
                        )
                        .is_ok();
                    if ok && out == expected.as_bytes() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let n = done.load(Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"verifications\":{n},\"seconds\":{secs:.2},\"per_second\":{:.1},\"threads\":{threads}}}",
        n as f64 / secs
    );
    Ok(())
}
