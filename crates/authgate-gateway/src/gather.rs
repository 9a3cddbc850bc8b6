//! An upstream answer written to the client in one piece when it arrived
//! in one piece.
//!
//! hyper hands an upstream body over one frame at a time (a rendezvous
//! channel between the upstream connection's task and the handler), and
//! the server side flushes whenever the body has nothing ready. An SSE
//! answer that the upstream wrote as three chunks (priming event, message,
//! end of stream) and the gateway read in one `recv` thus left the gateway
//! in three `writev`s: the gateway paid three sends (and the client three
//! wake-ups) for every tool call (`bench/run --scenarios gateway`, strace).
//!
//! Before the answer's head is handed to hyper, [`gather`] takes the frames
//! that are ready now, and those that become ready after one turn of the
//! scheduler (the upstream task decoding bytes it has already read), so
//! the head, the frames and the end of the stream leave in one write. It
//! never waits for the network: the first time nothing new is ready after
//! a yield, it stops, and the rest streams through as it comes. So a slow
//! tool's stream still gets its head at once and each event when it is
//! sent.

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The most bytes gathered before the head leaves: an answer larger than
/// this streams through in pieces anyway.
const MAX_GATHERED: usize = 64 * 1024;
/// The most scheduler turns spent gathering (an upstream that keeps one
/// frame ready after every turn does not hold the head back long).
const MAX_TURNS: usize = 16;

/// `body` with its already-arrived beginning gathered into one frame.
pub async fn gather<B>(mut body: B) -> Gathered<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut prefix = BytesMut::new();
    let mut held = None;
    let mut ended = false;
    let mut turns = 0;
    loop {
        let frame = match Ready::new(&mut body).await {
            Some(f) => f,
            // Nothing ready: give the upstream task one turn, then look
            // again; nothing new after that turn means the rest is still
            // on the network.
            None => {
                turns += 1;
                if turns > MAX_TURNS {
                    break;
                }
                YieldOnce::default().await;
                match Ready::new(&mut body).await {
                    Some(f) => f,
                    None => break,
                }
            }
        };
        match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    prefix.extend_from_slice(&data);
                    if prefix.len() >= MAX_GATHERED {
                        break;
                    }
                }
                // Trailers end the body; they follow the prefix.
                Err(trailers) => {
                    held = Some(Ok(trailers));
                    ended = true;
                    break;
                }
            },
            Some(Err(e)) => {
                held = Some(Err(e));
                break;
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    Gathered {
        prefix: (!prefix.is_empty()).then(|| prefix.freeze()),
        held,
        ended,
        flushed: false,
        rest: body,
    }
}

/// A frame if one is ready now (`Some`), without waiting (`None`).
struct Ready<'a, B> {
    body: &'a mut B,
}

impl<'a, B> Ready<'a, B> {
    fn new(body: &'a mut B) -> Self {
        Self { body }
    }
}

impl<B> Future for Ready<'_, B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Output = Option<Option<Result<Frame<Bytes>, B::Error>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match Pin::new(&mut *this.body).poll_frame(cx) {
            Poll::Ready(f) => Poll::Ready(Some(f)),
            Poll::Pending => Poll::Ready(None),
        }
    }
}

/// Gives the scheduler one turn: pending once, having woken itself. A task
/// that wakes itself while it runs goes to the back of tokio's run queue,
/// behind the upstream connection's task it has just woken (by taking a
/// frame), which thus runs first. (`tokio::task::yield_now` would instead
/// wait for the next poll of the I/O driver: a syscall per turn.)
#[derive(Default)]
struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The gathered beginning, then the rest of the body as it comes.
pub struct Gathered<B: Body> {
    prefix: Option<Bytes>,
    /// Trailers or an error met while gathering: after the prefix.
    held: Option<Result<Frame<Bytes>, B::Error>>,
    /// Whether the body has once answered pending before a held error:
    /// hyper drops what it has not flushed when a body fails, so the head
    /// and the prefix must leave first (the client sees a 200 whose body
    /// breaks off, as the upstream's did, not a connection closed empty).
    flushed: bool,
    /// The body ended while gathering.
    ended: bool,
    rest: B,
}

// Nothing in it is structurally pinned: `rest` is polled through
// `Pin::new` (it is `Unpin`), the rest are plain values.
impl<B: Body> Unpin for Gathered<B> {}

impl<B> Body for Gathered<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if let Some(p) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(p))));
        }
        if matches!(this.held, Some(Err(_))) && !this.flushed {
            this.flushed = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some(h) = this.held.take() {
            return Poll::Ready(Some(h));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        Pin::new(&mut this.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.held.is_none() && (self.ended || self.rest.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.ended && self.held.is_none() {
            return SizeHint::with_exact(self.prefix.as_ref().map_or(0, |p| p.len() as u64));
        }
        let rest = self.rest.size_hint();
        let p = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let mut h = SizeHint::new();
        h.set_lower(rest.lower().saturating_add(p));
        if let Some(u) = rest.upper() {
            h.set_upper(u.saturating_add(p));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::convert::Infallible;
    use tokio::sync::mpsc;

    /// A body fed through a channel by another task, frame by frame (as
    /// hyper's upstream body is).
    struct Fed(mpsc::Receiver<Frame<Bytes>>);

    impl Body for Fed {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0.poll_recv(cx).map(|f| f.map(Ok))
        }
    }

    async fn frames(mut b: impl Body<Data = Bytes, Error = Infallible> + Unpin) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(f) = b.frame().await {
            if let Ok(d) = f.unwrap().into_data() {
                out.push(d);
            }
        }
        out
    }

    #[tokio::test(flavor = "current_thread")]
    async fn frames_fed_one_per_turn_leave_as_one() {
        // The feeder sends one frame per turn through a rendezvous-sized
        // channel, as hyper's upstream task does with a decoded answer.
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            for part in ["data: \n\n", "data: {\"id\":1}\n\n", "data: end\n\n"] {
                tx.send(Frame::data(Bytes::from(part))).await.unwrap();
            }
        });
        let g = gather(Fed(rx)).await;
        assert!(g.ended, "the whole answer was gathered");
        assert!(!g.is_end_stream(), "the prefix is still to come");
        assert_eq!(g.size_hint().exact(), Some(35));
        assert_eq!(
            frames(g).await,
            vec![Bytes::from("data: \n\ndata: {\"id\":1}\n\ndata: end\n\n")]
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_frame_still_on_the_network_is_not_waited_for() {
        let (tx, rx) = mpsc::channel(4);
        tx.send(Frame::data(Bytes::from("data: priming\n\n")))
            .await
            .unwrap();
        // The next frame comes only much later (a slow tool).
        let g = tokio::time::timeout(std::time::Duration::from_secs(1), gather(Fed(rx)))
            .await
            .expect("gather returned without waiting for the slow frame");
        assert!(!g.ended);
        let mut g = Box::pin(g);
        let first = g.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, Bytes::from("data: priming\n\n"));
        tx.send(Frame::data(Bytes::from("data: later\n\n")))
            .await
            .unwrap();
        drop(tx);
        assert_eq!(frames(g).await, vec![Bytes::from("data: later\n\n")]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_large_answer_is_not_held_past_the_bound() {
        let (tx, rx) = mpsc::channel(64);
        let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
        for _ in 0..8 {
            tx.send(Frame::data(chunk.clone())).await.unwrap();
        }
        drop(tx);
        let g = gather(Fed(rx)).await;
        assert!(!g.ended, "gathering stopped at the bound");
        let got = frames(g).await;
        assert_eq!(got[0].len(), MAX_GATHERED);
        assert_eq!(got.iter().map(Bytes::len).sum::<usize>(), 8 * 16 * 1024);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn trailers_follow_the_gathered_data() {
        let (tx, rx) = mpsc::channel(4);
        tx.send(Frame::data(Bytes::from("a"))).await.unwrap();
        let mut t = axum::http::HeaderMap::new();
        t.insert("x-t", axum::http::HeaderValue::from_static("1"));
        tx.send(Frame::trailers(t)).await.unwrap();
        drop(tx);
        let mut g = Box::pin(gather(Fed(rx)).await);
        assert_eq!(
            g.frame().await.unwrap().unwrap().into_data().unwrap(),
            Bytes::from("a")
        );
        let t = g.frame().await.unwrap().unwrap().into_trailers().unwrap();
        assert_eq!(t["x-t"], "1");
        assert!(g.frame().await.is_none());
    }

    /// An upstream that breaks off mid-answer: the prefix, then one
    /// pending turn (so hyper flushes the head and the prefix), then the
    /// error.
    #[tokio::test(flavor = "current_thread")]
    async fn an_error_after_data_comes_after_a_flush() {
        struct Breaks(u8);
        impl Body for Breaks {
            type Data = Bytes;
            type Error = std::io::Error;
            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
                self.0 += 1;
                Poll::Ready(Some(if self.0 == 1 {
                    Ok(Frame::data(Bytes::from("partial")))
                } else {
                    Err(std::io::Error::other("upstream closed"))
                }))
            }
        }
        let mut g = gather(Breaks(0)).await;
        let waker = futures_noop_waker();
        let mut cx = Context::from_waker(&waker);
        let first = Pin::new(&mut g).poll_frame(&mut cx);
        assert!(
            matches!(first, Poll::Ready(Some(Ok(ref f))) if f.data_ref() == Some(&Bytes::from("partial")))
        );
        assert!(Pin::new(&mut g).poll_frame(&mut cx).is_pending());
        assert!(matches!(
            Pin::new(&mut g).poll_frame(&mut cx),
            Poll::Ready(Some(Err(_)))
        ));
    }

    fn futures_noop_waker() -> std::task::Waker {
        std::task::Waker::noop().clone()
    }
}
