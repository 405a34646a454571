//! What only the sandbox has, beside Qonto's mocked SCA routes: organizations' own clocks,
//! simulated card payments, seeded demo organizations and their reset. Served under
//! `/_sandbox/` with the operator token, in sandbox mode only.

pub mod clock;
pub mod invitations;
pub mod labels;
pub mod legal;
pub mod oauth_clients;
pub mod payments;
pub mod requests;
pub mod reset;
pub mod seed;
