//! The system clock and random ids.

use super::*;

/// The system clock, and ids of 128 random bits (32 hex digits): a session id is not to be
/// guessed from the time it was made.
#[derive(Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn new_id(&self) -> String {
        use rand::{RngCore, SeedableRng};
        let mut b = [0u8; 16];
        rand::rngs::StdRng::from_os_rng().fill_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
