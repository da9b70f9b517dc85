//! The actix shell around a behaviour: one actor, one mailbox, on the lab's single thread.
//!
//! A [`Behavior`] is a state machine that takes time from the [`Lab`]; [`Node`] makes it an actix actor
//! that receives [`Deliver`] messages, runs the behaviour, catches a panic as a crash of that actor, and
//! reports to the lab that the message was handled.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use actix::{Actor, Context, Handler, Message, MessageResult};

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

/// A message delivered through the lab (counted in flight until handled).
pub struct Deliver<M>(pub M);

impl<M: 'static> Message for Deliver<M> {
    type Result = ();
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
}

impl<B: Behavior> Node<B> {
    /// Wraps `behavior` for `lab`.
    pub fn new(behavior: B, lab: Rc<Lab<B::Event>>) -> Self {
        Node { behavior, lab }
    }
}

impl<B: Behavior> Actor for Node<B> {
    type Context = Context<Self>;
}

impl<B: Behavior> Handler<Deliver<B::Msg>> for Node<B> {
    type Result = ();

    #[inline]
    fn handle(&mut self, Deliver(msg): Deliver<B::Msg>, _ctx: &mut Context<Self>) {
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
