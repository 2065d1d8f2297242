//! What the JDK's own classes mean: the one place that knows their private fields.
//!
//! Analyses ask these modules (a collection's size, its entries) instead of reading JDK fields by
//! name themselves, so a new JDK layout is taught once.

pub mod collections;
pub mod release;
