//! Netloom: design neural networks as graphs of layers, train them on the CPU or the GPU, and
//! watch them learn.
//!
//! The flow runs one way: `graph` (the document) → `compile::check` (shapes, counts, problems) →
//! `compile::compile` (a `Program` of primitive ops, with its backward pass and optimizer
//! updates) → `engine` (a `Backend` runs it) ← `train` (the trainer thread feeds it `data`).

pub mod bench;
pub mod cli;
pub mod compile;
pub mod data;
pub mod engine;
pub mod graph;
pub mod io;
pub mod rng;
pub mod train;
pub mod ui;
