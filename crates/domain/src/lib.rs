//! fieldkit-domain: the pure types and rules of a mobile administrator's work — the service
//! catalog (information and technological cards), the case and its applicant, the workflow of
//! regulation sections 6–8, working-day deadlines, validators, case numbers, the fee's payment
//! details with the NBU payment QR payload, the consultations given without a case
//! (regulation 2.36), and the receipt's tracking code with its hash.
//!
//! It must never do I/O, read the clock or draw random numbers: time and randomness are passed
//! in by the caller, so every rule here is a plain function that tests can pin down exactly.

pub mod applicant_form;
pub mod calendar;
pub mod case;
pub mod case_number;
pub mod catalog;
pub mod common;
pub mod conditions;
pub mod conformity;
pub mod consultation;
pub mod ink;
pub mod payment;
pub mod tracking;
pub mod validators;
pub mod waiver;
pub mod workflow;
