//! The machine's own latency floor: one busy thread per core reads the clock in a loop for a
//! fixed time and counts the gaps, where the thread was not running (the hypervisor gave the
//! virtual CPU away, or the kernel ran something else). No server can answer faster than
//! its CPU runs, so these gaps bound the p99 of every benchmark in the same run.
//! `portcullis-stalls [SECONDS]` prints one JSON line.

use std::time::{Duration, Instant};

/// A gap at least this long counts as a stall.
const STALL: Duration = Duration::from_millis(1);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(5), |s| s.parse())?;
    let threads = std::thread::available_parallelism()?.get();
    let run = Duration::from_secs(seconds);
    let per_thread: Vec<(Duration, Duration, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let started = Instant::now();
                    let (mut lost, mut longest, mut count) = (Duration::ZERO, Duration::ZERO, 0);
                    let mut last = started;
                    while last - started < run {
                        let now = Instant::now();
                        let gap = now - last;
                        if gap >= STALL {
                            lost += gap;
                            longest = longest.max(gap);
                            count += 1;
                        }
                        last = now;
                    }
                    (lost, longest, count)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let lost: Duration = per_thread.iter().map(|t| t.0).sum();
    let longest = per_thread.iter().map(|t| t.1).max().unwrap_or_default();
    let count: u64 = per_thread.iter().map(|t| t.2).sum();
    let share = lost.as_secs_f64() / (run.as_secs_f64() * threads as f64);
    println!(
        "{{\"threads\":{threads},\"seconds\":{seconds},\"stalls\":{count},\"lost_share\":{share:.4},\"longest_ms\":{:.1}}}",
        longest.as_secs_f64() * 1000.0
    );
    Ok(())
}
