//! A progress line for long work (backfills) on a terminal's stderr; silent
//! when stderr is not a terminal, so JSON and logs stay clean.

use crate::db::online::backfill::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct Bar(Option<ProgressBar>);

impl Bar {
    pub fn new(label: &str) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_owned());
        Bar(Some(bar))
    }

    pub fn update(&self, p: &Progress) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!(
                "{}.{}: {} rows in {} batches, up to key {}",
                p.table,
                p.column,
                p.rows,
                p.batches,
                p.last_key.unwrap_or_default()
            ));
            bar.tick();
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
