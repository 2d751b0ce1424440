//! `LineReader`: newline framing with a cap on the line length, for line
//! protocols that must not let one client grow the server without bound.

use std::fmt;
use std::io::{self, Read};
use std::ops::Range;

/// The buffer a reader starts with and shrinks back to after a long line.
const BASE: usize = 8 * 1024;

/// Reads `\n`-terminated lines from a byte stream, none longer than a cap.
///
/// Unlike `BufRead::read_until`, a line longer than `max_line` bytes
/// (newline included) is an error, not an ever-growing buffer, and the
/// buffer shrinks back to 8 KiB once a long line is consumed, so a
/// connection that once sent a large line does not keep its memory. Lines
/// are returned as slices of the internal buffer, unchanged (no UTF-8
/// check); a last line without a newline is returned at end of file.
///
/// [`has_line`](Self::has_line) tells whether another complete line is
/// already buffered: flush replies when it is `false`, and every line one
/// read brought in goes back in one write. [`is_mid_line`](Self::is_mid_line)
/// tells whether unanswered bytes are buffered (for
/// [`Connection::set_busy`](crate::Connection::set_busy)).
///
/// # Examples
///
/// A line echo whose memory per connection stays bounded whatever the
/// client sends (here lines of at most 16 bytes), with replies coalesced:
///
/// ```
/// use std::io::{BufWriter, ErrorKind, Read, Write};
/// use weft_net::{LineReader, Server, TcpStream};
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let server = Server::bind("127.0.0.1:0").unwrap();
///     let addr = server.local_addr().unwrap();
///     let stop = server.shutdown_handle();
///     weft_runtime::spawn(move || {
///         let mut c = TcpStream::connect(addr).unwrap();
///         c.write_all(b"one\ntwo\nthis line is far too long\n").unwrap();
///         let mut answer = String::new();
///         c.read_to_string(&mut answer).unwrap();
///         assert_eq!(answer, "GOT:one\nGOT:two\nERROR: line too long\n");
///         stop.shutdown();
///     });
///     server.serve(|conn| {
///         let mut lines = LineReader::new(&conn, 16);
///         let mut out = BufWriter::new(&conn);
///         loop {
///             match lines.read_line() {
///                 Ok(Some(line)) => {
///                     out.write_all(b"GOT:")?;
///                     out.write_all(line)?;
///                 }
///                 Ok(None) => return out.flush(),
///                 Err(e) if e.kind() == ErrorKind::InvalidData => {
///                     out.write_all(b"ERROR: line too long\n")?;
///                     return out.flush(); // and close
///                 }
///                 Err(e) => return Err(e),
///             }
///             if !lines.has_line() {
///                 out.flush()?; // every line this read brought in, in one write
///             }
///         }
///     }).unwrap();
/// }).unwrap();
/// ```
pub struct LineReader<R> {
    /// Where the bytes come from.
    inner: R,
    /// The buffer; `buf[start..end]` holds bytes read and not yet returned.
    buf: Vec<u8>,
    /// First byte not yet returned.
    start: usize,
    /// End of the bytes read.
    end: usize,
    /// `buf[start..scanned]` has no newline: the search resumes there.
    scanned: usize,
    /// The longest line allowed, newline included.
    max_line: usize,
}

impl<R: Read> LineReader<R> {
    /// A reader of lines of at most `max_line` bytes (newline included).
    ///
    /// # Panics
    ///
    /// Panics if `max_line` is 0.
    pub fn new(inner: R, max_line: usize) -> Self {
        assert!(max_line > 0, "max_line must be at least 1");
        LineReader {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            scanned: 0,
            max_line,
        }
    }

    /// The next line, its `\n` included; at end of file the bytes after
    /// the last newline (if any), then `None`. Reads from the stream only
    /// when no complete line is buffered.
    ///
    /// # Errors
    ///
    /// `InvalidData` when a line runs past `max_line` bytes (the reader
    /// stays in that state: close the connection); any read error.
    pub fn read_line(&mut self) -> io::Result<Option<&[u8]>> {
        let Some(range) = self.next_range()? else {
            return Ok(None);
        };
        Ok(Some(&self.buf[range]))
    }

    fn next_range(&mut self) -> io::Result<Option<Range<usize>>> {
        self.shrink();
        loop {
            let found = find_newline(&self.buf[self.scanned..self.end]);
            let line_end = found.map_or(self.end, |i| self.scanned + i + 1);
            if line_end - self.start > self.max_line
                || (found.is_none() && line_end - self.start == self.max_line)
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line longer than {} bytes", self.max_line),
                ));
            }
            if found.is_some() {
                let line = self.start..line_end;
                self.start = line_end;
                self.scanned = line_end;
                return Ok(Some(line));
            }
            self.scanned = self.end;
            self.make_room();
            let n = self.inner.read(&mut self.buf[self.end..])?;
            if n == 0 {
                if self.start == self.end {
                    return Ok(None);
                }
                let last = self.start..self.end;
                self.start = self.end;
                return Ok(Some(last));
            }
            self.end += n;
        }
    }

    /// Whether a complete line is buffered (the next `read_line` will not
    /// read from the stream).
    pub fn has_line(&self) -> bool {
        find_newline(&self.buf[self.scanned..self.end]).is_some()
    }

    /// Whether bytes of a line not yet returned are buffered.
    pub fn is_mid_line(&self) -> bool {
        self.start < self.end
    }

    /// The stream.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Moves the unread bytes to the front and grows the buffer (up to the
    /// cap) when it is full.
    fn make_room(&mut self) {
        if self.start > 0 && (self.end == self.buf.len() || self.start == self.end) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).clamp(BASE, self.max_line.max(BASE));
            self.buf.resize(grown.max(self.end + 1), 0);
        }
    }

    /// After a long line: back to the base size once what is left fits.
    fn shrink(&mut self) {
        if self.buf.len() > BASE && self.end - self.start <= BASE {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.start = 0;
            self.buf.truncate(BASE);
            self.buf.shrink_to(BASE);
        }
    }
}

impl<R> fmt::Debug for LineReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineReader")
            .field("buffered", &(self.end - self.start))
            .field("capacity", &self.buf.capacity())
            .field("max_line", &self.max_line)
            .finish_non_exhaustive()
    }
}

/// The index of the first `\n` in `s`, eight bytes at a time: the search
/// [`LineReader`] frames with, for handlers that frame lines in their own
/// buffers (`echo_server` streams lines through shared ones).
///
/// # Examples
///
/// ```
/// assert_eq!(weft_net::find_newline(b"GOT:one\ntwo\n"), Some(7));
/// assert_eq!(weft_net::find_newline(b"no end yet"), None);
/// ```
pub fn find_newline(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ NL;
        // The lowest set bit marks the first zero byte of `x`: the first `\n`.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| base + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that hands out its bytes `step` at a time.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn lines(data: &[u8], step: usize, max: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut r = LineReader::new(Trickle { data, step }, max);
        let mut out = Vec::new();
        while let Some(line) = r.read_line()? {
            out.push(line.to_vec());
        }
        Ok(out)
    }

    #[test]
    fn splits_lines_however_the_bytes_arrive() {
        let data = b"a\n\nbcd\nno newline";
        for step in [1, 2, 3, 7, 100] {
            assert_eq!(
                lines(data, step, 100).unwrap(),
                [&b"a\n"[..], b"\n", b"bcd\n", b"no newline"],
                "step {step}"
            );
        }
    }

    #[test]
    fn a_line_at_the_cap_passes_and_one_past_it_fails() {
        let mut at = vec![b'x'; 99];
        at.push(b'\n');
        assert_eq!(lines(&at, 13, 100).unwrap(), [at.clone()]);
        let mut past = vec![b'x'; 100];
        past.push(b'\n');
        let e = lines(&past, 13, 100).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn the_buffer_shrinks_back_after_a_long_line() {
        let mut data = vec![b'y'; 1 << 20];
        data.extend_from_slice(b"\nshort\n");
        let mut r = LineReader::new(
            Trickle {
                data: &data,
                step: 1 << 16,
            },
            2 << 20,
        );
        assert_eq!(r.read_line().unwrap().unwrap().len(), (1 << 20) + 1);
        assert!(r.buf.capacity() >= 1 << 20);
        assert_eq!(r.read_line().unwrap().unwrap(), b"short\n");
        assert!(r.buf.capacity() <= BASE, "{r:?}");
    }

    #[test]
    fn has_line_and_is_mid_line_see_the_buffer() {
        let mut r = LineReader::new(&b"one\ntwo\nthr"[..], 100);
        assert_eq!(r.read_line().unwrap().unwrap(), b"one\n");
        assert!(r.has_line() && r.is_mid_line());
        assert_eq!(r.read_line().unwrap().unwrap(), b"two\n");
        assert!(!r.has_line() && r.is_mid_line());
        assert_eq!(r.read_line().unwrap().unwrap(), b"thr");
        assert!(!r.is_mid_line());
        assert_eq!(r.read_line().unwrap(), None);
    }

    #[test]
    fn find_newline_finds_the_first_one_anywhere() {
        for len in 0..40 {
            for at in 0..len {
                let mut s = vec![b'z'; len];
                s[at] = b'\n';
                if at + 1 < len {
                    s[len - 1] = b'\n';
                }
                assert_eq!(find_newline(&s), Some(at), "len {len} at {at}");
            }
            assert_eq!(find_newline(&vec![0x8a; len]), None);
        }
    }
}
