//! Enrollment throughput: the enrollment service on loopback and concurrent clients that
//! reuse nothing between enrollments (a new TCP connection and a full TLS handshake each, no
//! session resumption), in one process on a fresh home with the default ECDSA P-256 certificate.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::config::{self, Auth, AuthLimits};
use crate::enroll::client::{self, Answer, Enrollment};
use crate::enroll::{self, Outcome};
use crate::home::Home;

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct EnrollRun {
    /// Enrollments answered with a key.
    pub enrolled: usize,
    /// Enrollments refused or failed.
    pub failed: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Agents found in the store afterwards.
    pub stored: usize,
    /// Clients at once.
    pub concurrency: usize,
}

impl EnrollRun {
    /// Enrollments per second.
    pub fn per_second(&self) -> f64 {
        self.enrolled as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Enrolls `total` agents with `concurrency` clients at once on a new home at `root`.
pub fn run(root: &std::path::Path, total: usize, concurrency: usize) -> anyhow::Result<EnrollRun> {
    let home = Home::new(root);
    home.prepare(crate::server::now())?;
    let loaded = config::load(&home.config_file());
    // The bench measures the service, not the door: no rate limit, room for every client.
    let slots = concurrency.max(1) * 2;
    let auth = Auth {
        port: 0,
        use_password: false,
        limits: AuthLimits {
            rate_per_ip: 0,
            max_handshakes: slots,
            max_handshakes_per_ip: slots,
            ..loaded.config.auth.limits
        },
        ..loaded.config.auth.clone()
    };
    let mut settings = enroll::Settings::from_config(&auth, home.root(), crate::home::hostname())?;
    settings.addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let store = home.store()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let service = {
        let _entered = runtime.enter();
        enroll::start(settings, store.clone(), None, || {})?
    };
    let port = service.local_addr.port();
    let config = Arc::new(crate::tls::client_config(None, None)?);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let results = runtime.block_on(async {
        let mut clients = Vec::with_capacity(concurrency);
        for _ in 0..concurrency.max(1) {
            let (config, next) = (Arc::clone(&config), Arc::clone(&next));
            clients.push(tokio::spawn(async move {
                let (mut ok, mut failed) = (0usize, 0usize);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        break (ok, failed);
                    }
                    let request = Enrollment {
                        name: format!("bench-{n}"),
                        version: Some(crate::WAZUH_VERSION.into()),
                        ..Enrollment::default()
                    };
                    match client::enroll(Arc::clone(&config), "127.0.0.1", port, &request, Duration::from_secs(30))
                        .await
                    {
                        Ok(Answer::Key(_)) => ok += 1,
                        _ => failed += 1,
                    }
                }
            }));
        }
        let mut totals = (0, 0);
        for client in clients {
            let (ok, failed) = client.await.context("a bench client failed")?;
            totals = (totals.0 + ok, totals.1 + failed);
        }
        anyhow::Ok(totals)
    })?;
    let elapsed = started.elapsed();
    let stored = store.agents()?.len();
    if service.counters.get(Outcome::Enrolled) != results.0 as u64 {
        bail!("the service counted {} enrollments, the clients {}", service.counters.get(Outcome::Enrolled), results.0);
    }
    Ok(EnrollRun { enrolled: results.0, failed: results.1, elapsed, stored, concurrency })
}
