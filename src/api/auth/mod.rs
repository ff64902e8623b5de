//! Authentication: tokens and the guards in front of login.

pub mod guard;
pub mod jwt;
