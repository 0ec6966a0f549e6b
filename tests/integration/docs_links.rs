//! `scripts/check-links`, the documentation link check CI runs: the
//! repository's own Markdown passes, and a broken link or heading is named
//! by file and line.

use crate::test::{repo, Test};
use std::process::Command;

fn check_links(args: &[&str]) -> (i32, String) {
    let out = Command::new(repo().join("scripts/check-links"))
        .args(args)
        .output()
        .expect("scripts/check-links needs python3");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let (code, stderr) = check_links(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("links ok"), "{stderr}");
}

#[test]
fn broken_files_and_headings_are_named_by_file_and_line() {
    let t = Test::new();
    t.write(
        "README.md",
        "# Top\n\n## Second part\n\n[ok](docs/b.md) [gone](missing.md) [here](#second-part) \
         [nowhere](#third-part) `[code](code.md)`\n\n```\n[block](block.md)\n```\n\n[ref]: docs/gone.md\n",
    );
    t.write(
        "docs/b.md",
        "# B\n\n[back](../README.md#top) [web](https://example.org/x.md)\n",
    );
    let dir = t.path().display().to_string();
    let (code, stderr) = check_links(&[&dir]);
    assert_eq!(code, 1, "{stderr}");
    let broken: Vec<&str> = stderr.lines().filter(|l| l.contains(": link ")).collect();
    assert_eq!(
        broken,
        [
            format!("{dir}/README.md:5: link `missing.md`: {dir}/missing.md does not exist"),
            format!(
                "{dir}/README.md:5: link `#third-part`: {dir}/README.md has no heading #third-part"
            ),
            format!("{dir}/README.md:11: link `docs/gone.md`: {dir}/docs/gone.md does not exist"),
        ],
        "{stderr}"
    );
    assert!(stderr.contains("error: 3 broken links"), "{stderr}");
}
