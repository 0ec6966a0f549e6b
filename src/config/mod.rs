//! The config side: config migrations on disk, the lossless INI editor,
//! applying operations in memory, confinement to the config root, atomic
//! writes, and the per-host state that detects hand edits.

pub mod commit;
pub mod edit;
pub mod ini;
pub mod load;
pub mod migration;
pub mod owner;
pub mod path;
pub mod secrecy;
pub mod source;
pub mod state;
pub mod write;
