//! The pure decision core: a state machine fed events (ZooKeeper, RM probes, I/O results,
//! timer ticks) with the time passed in, returning the actions the adapters execute. No tokio,
//! no sockets, no ZooKeeper types, no clock reads. Every safety rule of DESIGN.md lives here
//! and is tested here: scenario tests and property tests over random interleavings
//! (`sim_tests.rs`).

pub mod budget;
pub mod controller;
pub mod failsafe;
pub mod health;
pub mod io;
pub mod switchover;
pub mod types;

#[cfg(test)]
mod failsafe_check;
#[cfg(test)]
mod failsafe_model;
#[cfg(test)]
mod failsafe_tests;
#[cfg(test)]
mod sim_net;
#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod sim_world;
#[cfg(test)]
mod switchover_tests;

pub use controller::{Controller, CoreConfig, FenceMethodKind, Role, Status};
pub use io::{Action, Event};
