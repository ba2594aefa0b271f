//! Password hashing: argon2id for new hashes; imported argon2, bcrypt and pbkdf2-sha256 hashes
//! verify and are flagged for rehashing. Hashing runs on a pool of its own threads, one per
//! slot, so a login storm queues briefly and then gets "busy" instead of starving the runtime.
//! Each thread keeps its argon2 memory (19 MiB by default) and reuses it: memory stays at
//! slots × m_cost however many logins come, and no login pays to fault in fresh pages.

use crate::error::{CoreError, CoreResult};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use tracing::Instrument;
use zeroize::Zeroizing;

/// argon2id parameters and the bounds of the hashing pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashingSettings {
    /// Memory in KiB (OWASP minimum: 19456).
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU.
    pub max_concurrent: usize,
    /// How long a request waits for a hashing slot before it is answered "busy".
    #[serde(with = "humantime_serde")]
    pub queue_timeout: Duration,
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
            queue_timeout: Duration::from_secs(2),
        }
    }
}

/// The outcome of a verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verification {
    pub matched: bool,
    /// The stored hash is not argon2id with the current parameters.
    pub needs_rehash: bool,
}

pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Jobs for the hashing threads; a job runs with its thread's reusable argon2 memory.
    jobs: std::sync::mpsc::Sender<Job>,
    queue_timeout: Duration,
    /// A hash of a random password with the current parameters, verified for unknown users so
    /// that their logins cost the same as real ones.
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(settings: &HashingSettings) -> CoreResult<Self> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| {
            CoreError::invalid(
                "invalid_hashing_settings",
                format!("argon2 parameters: {e}"),
            )
        })?;
        let slots = match settings.max_concurrent {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let random = Zeroizing::new(crate::secret::random_token(24));
        let dummy = hash_argon2(&params, random.as_bytes())?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..slots {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("portcullis-hash-{n}"))
                .spawn(move || hashing_thread(&queue))
                .map_err(CoreError::internal)?;
        }
        Ok(Self {
            params,
            // A thread finds its next job already queued when it finishes one, rather than
            // idling while the runtime wakes the next caller to hand it over: one waiting job
            // per thread. Hashes running at once stay at `slots` (one per thread).
            permits: Arc::new(Semaphore::new(2 * slots)),
            jobs,
            queue_timeout: settings.queue_timeout,
            dummy,
        })
    }

    /// Hash a new password with the current argon2id parameters.
    pub async fn hash(&self, password: Zeroizing<String>) -> CoreResult<String> {
        let params = self.params.clone();
        self.run(move |_| hash_argon2(&params, password.as_bytes()))
            .await
    }

    /// Verify `password` against `stored`; `None` verifies against the dummy hash and never
    /// matches, at the same cost as a real verification.
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: Zeroizing<String>,
    ) -> CoreResult<Verification> {
        let (stored, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy.clone(), false),
        };
        let params = self.params.clone();
        let v = self
            .run(move |memory| Ok(verify_any(&params, &stored, password.as_bytes(), memory)))
            .await?;
        Ok(Verification {
            matched: v.matched && real,
            needs_rehash: v.needs_rehash && real,
        })
    }

    /// Number of hashing jobs that could start or queue right now (for metrics and tests).
    pub fn free_slots(&self) -> usize {
        self.permits.available_permits()
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<argon2::Block>) -> CoreResult<T> + Send + 'static,
    ) -> CoreResult<T> {
        let queued = std::time::Instant::now();
        metrics::gauge!("portcullis_hash_queue").increment(1.0);
        let acquired =
            tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await;
        metrics::gauge!("portcullis_hash_queue").decrement(1.0);
        metrics::histogram!("portcullis_hash_wait_seconds").record(queued.elapsed().as_secs_f64());
        let permit = acquired
            .map_err(|_| {
                metrics::counter!("portcullis_hash_busy_total").increment(1);
                CoreError::Busy {
                    retry_after: Duration::from_secs(1),
                }
            })?
            .map_err(CoreError::internal)?;
        let span = tracing::Span::current();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _entered = span.enter();
            let out = f(memory);
            drop(permit);
            let _ = tx.send(out); // the caller may have gone (request cancelled)
        });
        self.jobs
            .send(job)
            .map_err(|_| CoreError::internal("the hashing threads stopped"))?;
        rx.in_current_span()
            .await
            .map_err(|_| CoreError::internal("a hashing job was dropped"))?
    }
}

/// Work for a hashing thread, given the thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<argon2::Block>) + Send>;

/// Runs jobs until the hasher is dropped. The memory grows to the largest m_cost seen and is
/// kept; a panicking job is contained so the thread (and its slot) stays.
fn hashing_thread(queue: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>) {
    let mut memory: Vec<argon2::Block> = Vec::new();
    loop {
        let job = {
            let Ok(queue) = queue.lock() else { return };
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let run = std::panic::AssertUnwindSafe(|| job(&mut memory));
        if std::panic::catch_unwind(run).is_err() {
            tracing::error!("a password hashing job panicked");
        }
    }
}

fn hash_argon2(params: &Params, password: &[u8]) -> CoreResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(CoreError::internal)
}

/// The kinds of stored hash we understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFormat {
    Argon2,
    Bcrypt,
    Pbkdf2Sha256,
    /// passlib's modular-crypt `$pbkdf2-sha256$rounds$salt$hash` with its adapted base64.
    PasslibPbkdf2Sha256,
}

/// Recognise a stored hash, so imports can refuse what would never verify.
pub fn hash_format(stored: &str) -> Option<HashFormat> {
    if stored.starts_with("$argon2") {
        PasswordHash::new(stored)
            .ok()
            .filter(|h| h.hash.is_some() && h.salt.is_some() && Params::try_from(h).is_ok())
            .map(|_| HashFormat::Argon2)
    } else if ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
    {
        (stored.len() == 60).then_some(HashFormat::Bcrypt)
    } else if stored.starts_with("$pbkdf2-sha256$") {
        if PasswordHash::new(stored).is_ok_and(|h| h.hash.is_some() && h.salt.is_some()) {
            Some(HashFormat::Pbkdf2Sha256)
        } else {
            parse_passlib(stored).map(|_| HashFormat::PasslibPbkdf2Sha256)
        }
    } else {
        None
    }
}

/// Bounds on what verifying an imported hash may cost. A hash from another system is verified
/// with its own parameters at each login until it is replaced, on a hashing thread that all
/// logins share: unbounded, one provisioning line could hold a thread (and, for argon2,
/// gigabytes) for minutes at every attempt. The bounds admit what guidance and common
/// defaults produce: RFC 9106's m = 2 GiB with t = 1, bcrypt cost 10–14, PBKDF2 at OWASP's
/// 600,000 rounds or Django's million.
const MAX_ARGON2_MEMORY_KIB: u32 = 2 * 1024 * 1024;
/// Memory × passes, the work of one verification: 4 GiB, ~1.6 s on the benchmark machine,
/// whose cores verify the default 19 MiB × 2 passes ~65 times a second (docs/benchmarks.md).
const MAX_ARGON2_WORK_KIB: u64 = 4 * 1024 * 1024;
const MAX_BCRYPT_COST: u32 = 15;
const MAX_PBKDF2_ROUNDS: u32 = 5_000_000;

/// Why verifying `stored` would cost more than an imported hash may, if it would; `None`
/// also for what [`hash_format`] does not recognise.
pub fn excessive_cost(stored: &str) -> Option<String> {
    match hash_format(stored)? {
        HashFormat::Argon2 => {
            let params = Params::try_from(&PasswordHash::new(stored).ok()?).ok()?;
            let (m, t) = (params.m_cost(), params.t_cost());
            if m > MAX_ARGON2_MEMORY_KIB {
                Some(format!(
                    "argon2 memory m={m} KiB is above the {MAX_ARGON2_MEMORY_KIB} KiB an imported hash may use"
                ))
            } else if u64::from(m) * u64::from(t) > MAX_ARGON2_WORK_KIB {
                Some(format!(
                    "argon2 m={m} KiB with t={t} passes is above the {MAX_ARGON2_WORK_KIB} KiB × passes an imported hash may cost"
                ))
            } else {
                None
            }
        }
        HashFormat::Bcrypt => {
            let cost: u32 = stored.get(4..6)?.parse().ok()?;
            (cost > MAX_BCRYPT_COST).then(|| {
                format!(
                    "bcrypt cost {cost} is above the {MAX_BCRYPT_COST} an imported hash may have"
                )
            })
        }
        HashFormat::Pbkdf2Sha256 => {
            let rounds = PasswordHash::new(stored).ok()?.params.get_decimal("i")?;
            pbkdf2_rounds_excess(rounds)
        }
        HashFormat::PasslibPbkdf2Sha256 => pbkdf2_rounds_excess(parse_passlib(stored)?.0),
    }
}

fn pbkdf2_rounds_excess(rounds: u32) -> Option<String> {
    (rounds > MAX_PBKDF2_ROUNDS).then(|| {
        format!("pbkdf2 {rounds} rounds is above the {MAX_PBKDF2_ROUNDS} an imported hash may have")
    })
}

/// Verifies an argon2id hash made with the current parameters in `memory` (reused across
/// calls); `None` when the hash is of another kind or made with other parameters.
fn verify_current_argon2(
    current: &Params,
    parsed: &PasswordHash<'_>,
    password: &[u8],
    memory: &mut Vec<argon2::Block>,
) -> Option<bool> {
    // The stored hash's own parameters: its output length and any associated data (`data=`)
    // are part of what it verifies against.
    let params = Params::try_from(parsed).ok()?;
    let same = parsed.algorithm.as_str() == "argon2id"
        && parsed.version == Some(Version::V0x13.into())
        && params.m_cost() == current.m_cost()
        && params.t_cost() == current.t_cost()
        && params.p_cost() == current.p_cost();
    if !same {
        return None;
    }
    let expected = parsed.hash?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
        .ok()?;
    Some(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

fn verify_any(
    current: &Params,
    stored: &str,
    password: &[u8],
    memory: &mut Vec<argon2::Block>,
) -> Verification {
    let no = Verification {
        matched: false,
        needs_rehash: false,
    };
    match hash_format(stored) {
        Some(HashFormat::Argon2) => {
            let Ok(parsed) = PasswordHash::new(stored) else {
                return no;
            };
            if let Some(matched) = verify_current_argon2(current, &parsed, password, memory) {
                return Verification {
                    matched,
                    needs_rehash: false,
                };
            }
            let matched = Argon2::default().verify_password(password, &parsed).is_ok();
            let same_params = parsed.algorithm.as_str() == "argon2id"
                && parsed.version == Some(Version::V0x13.into())
                && Params::try_from(&parsed).is_ok_and(|p| {
                    p.m_cost() == current.m_cost()
                        && p.t_cost() == current.t_cost()
                        && p.p_cost() == current.p_cost()
                });
            Verification {
                matched,
                needs_rehash: !same_params,
            }
        }
        Some(HashFormat::Bcrypt) => Verification {
            matched: bcrypt::verify(password, stored).unwrap_or(false),
            needs_rehash: true,
        },
        Some(HashFormat::Pbkdf2Sha256) => {
            let Ok(parsed) = PasswordHash::new(stored) else {
                return no;
            };
            Verification {
                matched: pbkdf2::Pbkdf2.verify_password(password, &parsed).is_ok(),
                needs_rehash: true,
            }
        }
        Some(HashFormat::PasslibPbkdf2Sha256) => {
            let Some((rounds, salt, expected)) = parse_passlib(stored) else {
                return no;
            };
            let mut out = vec![0u8; expected.len()];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &salt, rounds, &mut out);
            Verification {
                matched: out.ct_eq(&expected).into(),
                needs_rehash: true,
            }
        }
        None => {
            tracing::warn!("stored password hash has an unknown format");
            no
        }
    }
}

/// passlib's `$pbkdf2-sha256$<rounds>$<salt>$<checksum>`, base64 with `.` for `+`, no padding.
fn parse_passlib(stored: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let mut parts = stored.strip_prefix("$pbkdf2-sha256$")?.split('$');
    let rounds: u32 = parts.next()?.parse().ok().filter(|r| *r > 0)?;
    let ab64 = |s: &str| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(s.replace('.', "+"))
            .ok()
    };
    let salt = ab64(parts.next()?)?;
    let checksum = ab64(parts.next()?)?;
    (parts.next().is_none() && !checksum.is_empty()).then_some((rounds, salt, checksum))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> HashingSettings {
        HashingSettings {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 1,
            queue_timeout: Duration::from_millis(50),
        }
    }

    fn pw(s: &str) -> Zeroizing<String> {
        Zeroizing::new(s.to_owned())
    }

    #[tokio::test]
    async fn argon2_round_trip() {
        let h = PasswordHasher::new(&fast()).unwrap();
        let stored = h.hash(pw("Secret1!")).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert_eq!(
            h.verify(Some(stored.clone()), pw("Secret1!"))
                .await
                .unwrap(),
            Verification {
                matched: true,
                needs_rehash: false
            }
        );
        assert!(
            !h.verify(Some(stored), pw("secret1!"))
                .await
                .unwrap()
                .matched
        );
    }

    /// Hashes with the current m/t/p but another output length or associated data verify
    /// in the reused memory exactly as the argon2 crate's own verifier does.
    #[tokio::test]
    async fn current_parameter_hashes_verify_like_the_argon2_crate() {
        use argon2::AssociatedData;
        let h = PasswordHasher::new(&fast()).unwrap();
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let mut shapes = Vec::new();
        for (len, data) in [(32, None), (64, None), (32, Some(b"tenant-7".as_slice()))] {
            let mut b = argon2::ParamsBuilder::new();
            b.m_cost(256).t_cost(1).p_cost(1).output_len(len);
            if let Some(d) = data {
                b.data(AssociatedData::new(d).unwrap());
            }
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, b.build().unwrap());
            shapes.push(argon.hash_password(b"Secret1!", &salt).unwrap().to_string());
        }
        for stored in shapes {
            let parsed = PasswordHash::new(&stored).unwrap();
            for (password, expected) in [("Secret1!", true), ("Secret1?", false)] {
                let crate_says = Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok();
                assert_eq!(crate_says, expected, "{stored}");
                let v = h.verify(Some(stored.clone()), pw(password)).await.unwrap();
                assert_eq!(v.matched, expected, "{stored}");
            }
        }
    }

    #[tokio::test]
    async fn other_argon2_parameters_need_rehash() {
        let old = PasswordHasher::new(&HashingSettings {
            memory_kib: 512,
            ..fast()
        })
        .unwrap();
        let stored = old.hash(pw("x")).await.unwrap();
        let h = PasswordHasher::new(&fast()).unwrap();
        assert_eq!(
            h.verify(Some(stored), pw("x")).await.unwrap(),
            Verification {
                matched: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn unknown_user_never_matches() {
        let h = PasswordHasher::new(&fast()).unwrap();
        let v = h.verify(None, pw("anything")).await.unwrap();
        assert!(!v.matched && !v.needs_rehash);
    }

    #[tokio::test]
    async fn bcrypt_imports_verify_and_need_rehash() {
        let h = PasswordHasher::new(&fast()).unwrap();
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let b = bcrypt::hash("Str0ng!Passw0rd", 4)
                .unwrap()
                .replacen("$2b$", prefix, 1);
            assert_eq!(hash_format(&b), Some(HashFormat::Bcrypt));
            assert_eq!(
                h.verify(Some(b.clone()), pw("Str0ng!Passw0rd"))
                    .await
                    .unwrap(),
                Verification {
                    matched: true,
                    needs_rehash: true
                }
            );
            assert!(!h.verify(Some(b), pw("wrong")).await.unwrap().matched);
        }
    }

    #[tokio::test]
    async fn pbkdf2_phc_and_passlib_verify() {
        let h = PasswordHasher::new(&fast()).unwrap();
        let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap();
        let phc = pbkdf2::Pbkdf2
            .hash_password_customized(
                b"pw",
                Some(pbkdf2::Algorithm::Pbkdf2Sha256.ident()),
                None,
                pbkdf2::Params {
                    rounds: 1000,
                    output_length: 32,
                },
                &salt,
            )
            .unwrap()
            .to_string();
        assert_eq!(hash_format(&phc), Some(HashFormat::Pbkdf2Sha256));
        assert!(h.verify(Some(phc), pw("pw")).await.unwrap().matched);

        // passlib.hash.pbkdf2_sha256.using(rounds=1000, salt=b"saltsalt").hash("pw"), computed here
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"pw", b"saltsalt", 1000, &mut out);
        let enc = |b: &[u8]| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(b)
                .replace('+', ".")
        };
        let passlib = format!("$pbkdf2-sha256$1000${}${}", enc(b"saltsalt"), enc(&out));
        assert_eq!(hash_format(&passlib), Some(HashFormat::PasslibPbkdf2Sha256));
        assert!(
            h.verify(Some(passlib.clone()), pw("pw"))
                .await
                .unwrap()
                .matched
        );
        assert!(!h.verify(Some(passlib), pw("px")).await.unwrap().matched);
    }

    #[test]
    fn imported_hashes_are_bounded_in_cost() {
        // Well-formed hashes (salt and output made up), at and past each bound.
        let argon2 = |m: u32, t: u32| {
            format!(
                "$argon2id$v=19$m={m},t={t},p=1$c2FsdHNhbHRzYWx0$\
                 q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80"
            )
        };
        let bcrypt = |cost: u32| {
            format!("$2b${cost:02}$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234")
        };
        let phc = |i: u32| {
            format!(
                "$pbkdf2-sha256$i={i},l=32$c2FsdHNhbHRzYWx0$\
                 q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80"
            )
        };
        let passlib = |i: u32| format!("$pbkdf2-sha256${i}$c2FsdHNhbHQ$q83vEjRWeJq83vEjRWeJqw");
        let admitted = [
            argon2(19_456, 2),
            argon2(2 * 1024 * 1024, 1), // RFC 9106's first recommendation
            argon2(1024 * 1024, 4),
            bcrypt(15),
            phc(5_000_000),
            passlib(1_000_000),
        ];
        for h in &admitted {
            assert!(hash_format(h).is_some(), "{h}");
            assert_eq!(excessive_cost(h), None, "{h}");
        }
        let refused = [
            (argon2(4 * 1024 * 1024, 1), "memory"),
            (argon2(1024 * 1024, 5), "passes"),
            (bcrypt(16), "bcrypt cost 16"),
            (phc(5_000_001), "5000001 rounds"),
            (passlib(1_000_000_000), "1000000000 rounds"),
        ];
        for (h, why) in &refused {
            assert!(hash_format(h).is_some(), "{h}");
            let said = excessive_cost(h).unwrap_or_default();
            assert!(said.contains(why), "{h}: {said}");
        }
    }

    #[test]
    fn garbage_is_not_a_hash() {
        for s in [
            "",
            "plain",
            "$2b$10$short",
            "$pbkdf2-sha256$x$y$z",
            "$argon2id$nonsense",
            "$md5$abc",
        ] {
            assert_eq!(hash_format(s), None, "{s}");
        }
    }

    #[tokio::test]
    async fn saturated_pool_answers_busy() {
        let h = Arc::new(
            PasswordHasher::new(&HashingSettings {
                memory_kib: 65536,
                iterations: 3,
                ..fast()
            })
            .unwrap(),
        );
        let all = u32::try_from(h.free_slots()).unwrap();
        let _held = h.permits.clone().acquire_many_owned(all).await.unwrap();
        let err = h.verify(None, pw("x")).await.unwrap_err();
        assert!(matches!(err, CoreError::Busy { .. }));
    }
}
