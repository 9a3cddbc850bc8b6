//! Cutting open streams at the end of the shutdown grace period: every
//! body that comes from an upstream is wrapped in [`Cuttable`], which ends
//! with an error (the connection is closed) once [`Cutter::cut`] is called.
//! Without it a stream would outlive the gateway's shutdown for as long as
//! the upstream kept it open.

use bytes::Bytes;
use http_body::{Body, Frame};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::watch;

/// Ends every [`Cuttable`] body it made.
#[derive(Debug)]
pub struct Cutter {
    tx: watch::Sender<bool>,
}

impl Default for Cutter {
    fn default() -> Self {
        Self {
            tx: watch::Sender::new(false),
        }
    }
}

impl Cutter {
    /// Cuts every body, current and future.
    pub fn cut(&self) {
        self.tx.send_replace(true);
    }

    /// `inner`, cut when [`Self::cut`] is called.
    pub fn wrap<B>(&self, inner: B) -> Cuttable<B> {
        let mut rx = self.tx.subscribe();
        Cuttable {
            inner,
            cut: Box::pin(async move {
                // An error means the cutter is gone: the gateway stopped.
                let _ = rx.wait_for(|&c| c).await;
            }),
        }
    }
}

/// Error of a cut stream.
#[derive(Debug, thiserror::Error)]
pub enum CutError {
    #[error("the gateway is shutting down: stream closed")]
    ShuttingDown,
    #[error("{0}")]
    Inner(String),
}

/// A body that ends when its [`Cutter`] cuts.
pub struct Cuttable<B> {
    inner: B,
    cut: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl<B> Body for Cuttable<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = CutError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, CutError>>> {
        let this = self.get_mut();
        if this.cut.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(CutError::ShuttingDown)));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(CutError::Inner(e.to_string())))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
