//! The catalog of a root account: user types and the seats bought of them (R1, R2, R4, R23),
//! and roles, the named permission sets users hold (R4, R22).

mod roles;
mod seats;

pub use roles::*;
pub use seats::*;
