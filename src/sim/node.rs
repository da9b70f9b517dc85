//! The actix shell around a behaviour: one actor, one mailbox, on the lab's single thread.
//!
//! A [`Behavior`] is a state machine that takes time from the [`Lab`]; [`Node`] makes it an actix actor
//! that receives the lab's messages, runs the behaviour, catches a panic as a crash of that actor, and
//! reports to the lab that the message was handled.
//!
//! The lab's messages reach an actor through its [`Inbox`]: a queue on the lab's thread that actix polls
//! as a stream of the actor's context ([`actix::StreamHandler`]), in order, the actor's task woken when
//! the queue stops being empty. Every message of a run goes this way, so it costs a queue push, not
//! actix's thread-safe mailbox (two allocations and an atomic waker per message). The actor's actix
//! mailbox carries only [`Finish`], the request for its report at the end of the run.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use actix::{Actor, Addr, AsyncContext, Context, Handler, MailboxError, Message, MessageResult, StreamHandler};
use futures_core::Stream;

use super::lab::Lab;

/// The logic of one actor.
pub trait Behavior: Sized + Unpin + 'static {
    /// Messages this actor receives.
    type Msg: Send + 'static;
    /// The lab's event type (routes messages to every actor of the run).
    type Event: 'static;
    /// What the actor hands back when the run is over.
    type Report: Send + 'static;

    /// Handles one message at [`Lab::now`]. Must not block or await.
    fn handle(&mut self, msg: Self::Msg, lab: &Lab<Self::Event>);

    /// Called when [`Behavior::handle`] panicked; `what` is the panic message. The default ends the run.
    fn on_panic(&mut self, what: String, lab: &Lab<Self::Event>) {
        lab.abort(format!("an actor panicked: {what}"));
    }

    /// Called once after the run to collect the actor's results.
    fn finish(&mut self, lab: &Lab<Self::Event>) -> Self::Report;
}

/// Asks an actor for its [`Behavior::Report`] after the run.
pub struct Finish<R>(PhantomData<fn() -> R>);

impl<R> Default for Finish<R> {
    fn default() -> Self {
        Finish(PhantomData)
    }
}

impl<R: 'static> Message for Finish<R> {
    type Result = R;
}

/// An actix actor running a [`Behavior`] in the lab.
pub struct Node<B: Behavior> {
    behavior: B,
    lab: Rc<Lab<B::Event>>,
    inbox: Rc<Inbox<B::Msg>>,
}

/// The lab's messages to one actor, in the order sent, with the waker of the actor's task.
pub struct Inbox<M> {
    queue: RefCell<VecDeque<M>>,
    waker: RefCell<Option<Waker>>,
}

impl<M> Inbox<M> {
    /// Queues `msg`; wakes the actor when its queue was empty (otherwise it is awake already).
    #[inline]
    fn push(&self, msg: M) {
        let was_empty = {
            let mut q = self.queue.borrow_mut();
            q.push_back(msg);
            q.len() == 1
        };
        if was_empty {
            if let Some(w) = self.waker.borrow().as_ref() {
                w.wake_by_ref();
            }
        }
    }
}

/// An inbox as the stream actix polls.
struct InboxStream<M>(Rc<Inbox<M>>);

impl<M> Stream for InboxStream<M> {
    type Item = M;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Option<M>> {
        let inbox = &self.0;
        if let Some(msg) = inbox.queue.borrow_mut().pop_front() {
            return Poll::Ready(Some(msg));
        }
        let mut w = inbox.waker.borrow_mut();
        if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *w = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A started [`Node`]: its inbox for the lab's messages, and its actix address.
pub struct NodeAddr<B: Behavior> {
    addr: Addr<Node<B>>,
    inbox: Rc<Inbox<B::Msg>>,
}

impl<B: Behavior> Clone for NodeAddr<B> {
    fn clone(&self) -> Self {
        NodeAddr { addr: self.addr.clone(), inbox: Rc::clone(&self.inbox) }
    }
}

impl<B: Behavior> NodeAddr<B> {
    /// Delivers a message of the lab (counted in flight by the lab until handled).
    #[inline]
    pub fn deliver(&self, msg: B::Msg) {
        self.inbox.push(msg);
    }

    /// Asks the actor for its report, after the run.
    pub async fn finish(&self) -> Result<B::Report, MailboxError> {
        self.addr.send(Finish::default()).await
    }
}

impl<B: Behavior> Node<B> {
    /// Wraps `behavior` for `lab`.
    pub fn new(behavior: B, lab: Rc<Lab<B::Event>>) -> Self {
        let inbox = Rc::new(Inbox { queue: RefCell::new(VecDeque::new()), waker: RefCell::new(None) });
        Node { behavior, lab, inbox }
    }

    /// Starts the actor on the current arbiter.
    pub fn spawn(self) -> NodeAddr<B> {
        let inbox = Rc::clone(&self.inbox);
        NodeAddr { addr: self.start(), inbox }
    }

    /// Runs the behaviour on one message.
    #[inline]
    fn run(&mut self, msg: B::Msg) {
        let lab = &*self.lab;
        let behavior = &mut self.behavior;
        IN_HANDLER.set(true);
        let result = catch_unwind(AssertUnwindSafe(|| behavior.handle(msg, lab)));
        IN_HANDLER.set(false);
        if let Err(payload) = result {
            let what = panic_message(&*payload);
            // A second panic while handling the first is not caught: it is a bug in the crash path.
            self.behavior.on_panic(what, lab);
        }
        lab.handled();
    }
}

impl<B: Behavior> Actor for Node<B> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.add_stream(InboxStream(Rc::clone(&self.inbox)));
    }
}

impl<B: Behavior> StreamHandler<B::Msg> for Node<B> {
    #[inline]
    fn handle(&mut self, msg: B::Msg, _ctx: &mut Context<Self>) {
        self.run(msg);
    }

    /// The inbox never ends; the actor stops with the run.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl<B: Behavior> Handler<Finish<B::Report>> for Node<B> {
    type Result = MessageResult<Finish<B::Report>>;

    fn handle(&mut self, _: Finish<B::Report>, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.behavior.finish(&self.lab))
    }
}

thread_local! {
    static IN_HANDLER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs a panic hook that logs panics inside actor handlers at debug level (they are crashes the
/// supervisor handles, reported in events.csv) and leaves every other panic to the default hook.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if IN_HANDLER.get() {
            tracing::debug!("actor handler panicked: {info}");
        } else {
            default(info);
        }
    }));
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}
