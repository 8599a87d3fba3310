//! `/metrics` over HTTP/1.1 in the Prometheus text format (hyper, already in the tree via tonic).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::metrics::DendriteMetrics;

/// A running exporter; dropping it stops it.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl MetricsServer {
    /// The address it serves on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn respond(
    metrics: &DendriteMetrics,
    request: &Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let (status, body, kind) = match request.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            metrics.render(),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        "/stats" => (StatusCode::OK, metrics.stats_json(), "application/json"),
        _ => (
            StatusCode::NOT_FOUND,
            "try /metrics or /stats\n".into(),
            "text/plain",
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = kind.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// Serves `/metrics` (text exposition) and `/stats` (per-endpoint statistics as JSON) on `addr`
/// (port 0 picks a free one) until the returned server is dropped.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Arc<DendriteMetrics>,
) -> std::io::Result<MetricsServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = oneshot::channel();
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("metrics accept failed: {e}");
                        continue;
                    }
                },
                _ = &mut stopped => break,
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let response = respond(&metrics, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(e) = connection.await {
                    tracing::debug!("metrics connection: {e}");
                }
            });
        }
    });
    Ok(MetricsServer {
        addr,
        stop: Some(stop),
    })
}
