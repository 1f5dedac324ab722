//! The scheduler: when to read which account.
//!
//! [`policy`] is the pure part (how often each account should be read, given its activity and
//! its host's budget).

pub mod policy;
