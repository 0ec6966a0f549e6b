//! The choices planning takes from the operator. The command line parses
//! them (`--phase`, `--on-drift`); they are planning's own types, so the
//! plan depends on nothing above it.

use clap::ValueEnum;

/// Which part of the migrations to run: `--phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    Expand,
    Contract,
    All,
}

impl PhaseArg {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseArg::Expand => "expand",
            PhaseArg::Contract => "contract",
            PhaseArg::All => "all",
        }
    }
}

/// What to do with a config file edited by hand: `--on-drift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDrift {
    Fail,
    Merge,
    Force,
}
