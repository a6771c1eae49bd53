//! A bandwidth cap shared by every transfer of a job: a token bucket that
//! makes writers wait rather than drop.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

#[derive(Debug)]
pub struct Throttle {
    bytes_per_second: f64,
    /// When the bytes granted so far will have been "paid for".
    next_free: Mutex<Instant>,
}

impl Throttle {
    pub fn new(bytes_per_second: u64) -> Throttle {
        Throttle {
            bytes_per_second: bytes_per_second as f64,
            next_free: Mutex::new(Instant::now()),
        }
    }

    /// Waits until `bytes` more may be sent without exceeding the cap.
    pub async fn take(&self, bytes: usize) {
        let wait_until = {
            let mut next_free = self.next_free.lock().await;
            let now = Instant::now();
            // An idle bucket holds at most a quarter second of credit.
            let start = (*next_free).max(now - Duration::from_millis(250));
            *next_free = start + Duration::from_secs_f64(bytes as f64 / self.bytes_per_second);
            *next_free
        };
        tokio::time::sleep_until(wait_until.into()).await;
    }
}
