//! Token signatures per second on one core, per algorithm, with the claims of a typical access
//! token: what bounds `client_credentials` tokens/s (docs/performance.md). Reports; asserts
//! nothing.
//!
//! `BENCH_SECONDS=3 cargo bench -p api --bench signing`

use std::time::{Duration, Instant};

use api::auth::signer::{KeyAlg, Signer};
use serde_json::json;

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let claims = json!({
        "iss": "https://tenancy.example/", "sub": "client@clients", "aud": "https://api.example/",
        "iat": 1_700_000_000, "exp": 1_700_086_400, "azp": "client", "scope": "read:things",
        "gty": "client-credentials", "permissions": ["read:things"], "tenant_id": "control_plane",
    });
    for alg in KeyAlg::ALL {
        let (signer, _) = Signer::generate(alg).expect("a key");
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut signed = 0u64;
        while Instant::now() < deadline {
            std::hint::black_box(signer.jwt("kid", &claims).expect("signs"));
            signed += 1;
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "{}: {:.0} signatures/s on one core ({:.1} µs each)",
            alg.as_str(),
            signed as f64 / elapsed,
            elapsed * 1e6 / signed as f64
        );
    }
}
