//! A progress bar for long work (backfills) on a terminal's stderr: the
//! share of the table's key range done, rows and rows per second, time
//! left. Silent when stderr is not a terminal, so JSON and logs stay clean.

use crate::db::online::backfill::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Bar {
    bar: Option<ProgressBar>,
    /// When the first batch was seen and the rows done by then: the rate
    /// counts from there (a resumed backfill's earlier rows excluded).
    first: Option<(Instant, i64)>,
}

impl Bar {
    pub fn new(label: &str) -> Bar {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
            {
                bar.set_style(style);
            }
            bar.set_prefix(label.to_owned());
            bar
        });
        Bar { bar, first: None }
    }

    pub fn update(&mut self, p: &Progress) {
        let Some(bar) = &self.bar else { return };
        let (since, rows_then) = *self.first.get_or_insert((Instant::now(), p.rows));
        let seconds = since.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            ((p.rows - rows_then) as f64 / seconds) as i64
        } else {
            0
        };
        bar.set_message(format!(
            "{rate} rows/s, {}.{}: {} rows in {} batch{}",
            p.table,
            p.column,
            p.rows,
            p.batches,
            if p.batches == 1 { "" } else { "es" }
        ));
        match (p.min_key, p.max_key, p.last_key) {
            (Some(min), Some(max), Some(last)) if max > min => {
                if bar.length().is_none() {
                    bar.set_length(max.abs_diff(min));
                    if let Ok(style) = ProgressStyle::with_template(
                        "{prefix}: [{bar:20}] {percent:>3}%, {eta} left, {wide_msg}",
                    ) {
                        bar.set_style(style.progress_chars("=> "));
                    }
                    bar.set_position(last.abs_diff(min));
                    // A resumed backfill starts part-way: time left counts
                    // from here.
                    bar.reset_eta();
                }
                bar.set_position(last.abs_diff(min));
            }
            _ => bar.tick(),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
