//! A loopback HTTP server for benchmarks, on a thread of its own: every request's body is read
//! whole (as a real service must), then answered with what `answer` gives for its path.

use std::future::Future;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;

/// Serves on a loopback port with `answer` (status and body for a request path) on a thread
/// named `name`; gives the port.
pub fn serve<F, A>(name: &str, answer: F) -> std::io::Result<u16>
where
    F: Fn(String) -> A + Clone + Send + 'static,
    A: Future<Output = (u16, &'static [u8])> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name(name.to_owned()).spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            while let Ok((stream, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let answer = answer.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let _ = req.into_body().collect().await;
                            let (status, body) = answer(path).await;
                            let mut response = hyper::Response::new(Full::new(Bytes::from_static(body)));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
    })?;
    Ok(port)
}
