//! Reading the files lockstep only reads (migrations, its state, settings):
//! regular files only, opened so that a FIFO or a device can never block
//! the run.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// An error unless `meta` is a regular file's: a FIFO, a socket or a device
/// could block a read forever or is no config file.
pub fn ensure_regular(meta: &std::fs::Metadata) -> std::io::Result<()> {
    let t = meta.file_type();
    let what = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file; lockstep reads and writes regular files only"),
    ))
}

/// Reads a regular file by path without ever blocking: opened with
/// `O_NONBLOCK`, its type checked on the open file.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::File::options()
        .read(true)
        .custom_flags(
            rustix::fs::OFlags::NONBLOCK.bits() as i32 | rustix::fs::OFlags::NOCTTY.bits() as i32,
        )
        .open(path)?;
    ensure_regular(&f.metadata()?)?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// [`read_regular`] for a text file: its bytes must be UTF-8.
pub fn read_regular_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_regular(path)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is not valid UTF-8; save it as UTF-8 text",
        )
    })
}
