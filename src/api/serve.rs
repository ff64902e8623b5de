//! The accept loop: TLS (when on), then HTTP/1.1 by hyper, each connection on its own task; a
//! failed handshake or a broken connection ends that connection only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;
use tracing::debug;

/// Time a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time a client has to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until the runtime stops.
pub async fn serve(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>, router: Router) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let accept_errors = crate::logging::throttle::Throttle::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or similar: wait a moment rather than spin.
                if let Some(suffix) = accept_errors.allow().suffix() {
                    tracing::warn!(stage = "api", "API accept failed: {e}{suffix}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => connection(TokioIo::new(tls), peer, router).await,
                    Ok(Err(e)) => debug!(stage = "api", %peer, "TLS handshake failed: {e}"),
                    Err(_) => debug!(stage = "api", %peer, "TLS handshake timed out"),
                },
                None => connection(TokioIo::new(stream), peer, router).await,
            }
        });
    }
}

async fn connection<I>(io: I, peer: SocketAddr, router: Router)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(io, TowerToHyperService::new(service))
        .await;
    if let Err(e) = served {
        debug!(stage = "api", %peer, "connection ended: {e}");
    }
}
