// SPDX-License-Identifier: MIT OR Apache-2.0
//! Transactions that retry on `EAGAIN`.
//!
//! xenstored answers `XS_TRANSACTION_END` with `EAGAIN` when another write
//! conflicted; the whole transaction is then redone. [`TransactionRetry`]
//! is that policy for any driver (the kernel's async one included);
//! [`run_transaction`] applies it to a blocking [`XenstoreCall`].

use super::error::XenstoreError;
use super::reply::Reply;
use super::request::Request;
use super::wire::TxId;
use crate::Errno;

/// What to do after a transaction ended (or failed inside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionOutcome {
    /// It committed.
    Committed,
    /// It conflicted; start it over.
    Retry,
    /// It failed for good (including conflicts past the attempt limit).
    Failed(XenstoreError),
}

/// Counts attempts and classifies results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionRetry {
    attempts: u32,
    max_attempts: u32,
}

impl TransactionRetry {
    /// A policy allowing `max_attempts` tries in all (at least one).
    pub const fn new(max_attempts: u32) -> Self {
        Self {
            attempts: 0,
            max_attempts: if max_attempts == 0 { 1 } else { max_attempts },
        }
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Classifies the result of one attempt: the `TRANSACTION_END` reply,
    /// or the first error inside the transaction (after aborting it).
    pub fn classify(&mut self, result: Result<(), XenstoreError>) -> TransactionOutcome {
        self.attempts = self.attempts.saturating_add(1);
        match result {
            Ok(()) => TransactionOutcome::Committed,
            Err(XenstoreError::Remote(Errno::EAGAIN)) if self.attempts < self.max_attempts => {
                TransactionOutcome::Retry
            }
            Err(e) => TransactionOutcome::Failed(e),
        }
    }
}

/// A blocking XenStore connection: sends a request and waits for its reply.
pub trait XenstoreCall {
    /// Performs `request` in transaction `tx`.
    fn call(&mut self, tx: Option<TxId>, request: &Request<'_>) -> Result<Reply, XenstoreError>;
}

/// Runs `body` in a transaction, redoing it on `EAGAIN` up to
/// `max_attempts` times. An error from `body` aborts the transaction.
pub fn run_transaction<C, T>(
    conn: &mut C,
    max_attempts: u32,
    mut body: impl FnMut(&mut C, TxId) -> Result<T, XenstoreError>,
) -> Result<T, XenstoreError>
where
    C: XenstoreCall + ?Sized,
{
    let mut retry = TransactionRetry::new(max_attempts);
    loop {
        let tx = match conn.call(None, &Request::TransactionStart)? {
            Reply::Transaction(tx) => tx,
            _ => return Err(XenstoreError::BadTransaction),
        };
        let attempt = body(conn, tx);
        let result = match &attempt {
            Ok(_) => conn
                .call(Some(tx), &Request::TransactionEnd { commit: true })
                .map(drop),
            Err(e) => {
                // The abort's own result does not matter: the error does.
                let _ = conn.call(Some(tx), &Request::TransactionEnd { commit: false });
                Err(*e)
            }
        };
        match retry.classify(result) {
            // Only a successful body is committed.
            TransactionOutcome::Committed => return attempt,
            TransactionOutcome::Retry => {}
            TransactionOutcome::Failed(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_eagain_and_only_so_often() {
        let mut retry = TransactionRetry::new(3);
        let eagain = Err(XenstoreError::Remote(Errno::EAGAIN));
        assert_eq!(retry.classify(eagain), TransactionOutcome::Retry);
        assert_eq!(retry.classify(eagain), TransactionOutcome::Retry);
        assert_eq!(
            retry.classify(eagain),
            TransactionOutcome::Failed(XenstoreError::Remote(Errno::EAGAIN))
        );
        assert_eq!(retry.attempts(), 3);
        let mut retry = TransactionRetry::new(3);
        let denied = XenstoreError::Remote(Errno::EACCES);
        assert_eq!(
            retry.classify(Err(denied)),
            TransactionOutcome::Failed(denied)
        );
        assert_eq!(
            TransactionRetry::new(0).classify(Ok(())),
            TransactionOutcome::Committed
        );
    }
}
