//! The response body as it streams in: counted, searched for `-s` and
//! `-r`/`-R`, never held whole. A search keeps only a window of the bytes
//! before the newest chunk, so a match across chunk boundaries is found.

use std::io::Write;

use regex::bytes::Regex;

/// How much of the body before the newest chunk a regular expression sees:
/// a match longer than this that straddles chunks can be missed.
pub const REGEX_WINDOW: usize = 64 * 1024;

/// What the body showed, as plain facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyFacts {
    /// Bytes of the body (after decompression, when asked for).
    pub bytes: u64,
    /// Whether the `-s` string was found (`None` without `-s`).
    pub string_found: Option<bool>,
    /// Whether the regular expression matched (`None` without one).
    pub regex_found: Option<bool>,
    /// The body went on beyond `--max-body` and was not read to the end.
    pub cut: bool,
}

/// Searches the body as it comes; `Write` takes the (decoded) bytes.
#[derive(Debug)]
pub struct BodySearch {
    facts: BodyFacts,
    string: Option<Vec<u8>>,
    regex: Option<Regex>,
    /// The end of the body seen so far, for matches across chunks.
    tail: Vec<u8>,
    keep: usize,
    max: u64,
}

impl BodySearch {
    /// A search for `string` and `regex` over at most `max` bytes.
    pub fn new(string: Option<&str>, regex: Option<Regex>, max: u64) -> BodySearch {
        let string = string.map(|s| s.as_bytes().to_vec());
        let keep = match (&string, &regex) {
            (_, Some(_)) => REGEX_WINDOW,
            (Some(s), None) => s.len().saturating_sub(1),
            (None, None) => 0,
        };
        BodySearch {
            facts: BodyFacts {
                string_found: string.as_ref().map(|_| false),
                regex_found: regex.as_ref().map(|_| false),
                ..BodyFacts::default()
            },
            string,
            regex,
            tail: Vec::new(),
            keep,
            max,
        }
    }

    /// Takes one chunk; false once the body is cut at the bound (more was
    /// offered than `max` allows).
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        let room = self.max.saturating_sub(self.facts.bytes);
        let take = usize::try_from(room).map_or(chunk.len(), |r| r.min(chunk.len()));
        if take < chunk.len() {
            self.facts.cut = true;
        }
        let chunk = &chunk[..take];
        self.facts.bytes += chunk.len() as u64;
        if self.keep > 0 && !self.settled() {
            let mut window = std::mem::take(&mut self.tail);
            window.extend_from_slice(chunk);
            if let (Some(s), Some(found)) = (&self.string, &mut self.facts.string_found) {
                *found = *found || contains(&window, s);
            }
            if let (Some(r), Some(found)) = (&self.regex, &mut self.facts.regex_found) {
                *found = *found || r.is_match(&window);
            }
            let from = window.len().saturating_sub(self.keep);
            window.drain(..from);
            self.tail = window;
        }
        !self.facts.cut
    }

    /// Marks the body as cut at the bound (the peer had more to send).
    pub fn cut(&mut self) {
        self.facts.cut = true;
    }

    /// Whether every search already has its answer (found).
    fn settled(&self) -> bool {
        self.facts.string_found != Some(false) && self.facts.regex_found != Some(false)
    }

    /// Bytes counted so far.
    pub fn bytes(&self) -> u64 {
        self.facts.bytes
    }

    /// Whether the bound is reached.
    pub fn full(&self) -> bool {
        self.facts.bytes >= self.max
    }

    /// What the body showed.
    pub fn facts(&self) -> BodyFacts {
        self.facts
    }
}

impl Write for BodySearch {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.feed(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// How the body is encoded on the wire, as far as we decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// As is.
    Identity,
    /// `Content-Encoding: gzip`.
    Gzip,
    /// `Content-Encoding: deflate` (zlib).
    Deflate,
}

impl Coding {
    /// The coding of a `Content-Encoding` value; `None` for one we cannot
    /// decode (the body is then searched as it came).
    pub fn of(header: Option<&str>) -> Option<Coding> {
        match header.map(|h| h.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("identity") => Some(Coding::Identity),
            Some("gzip") | Some("x-gzip") => Some(Coding::Gzip),
            Some("deflate") => Some(Coding::Deflate),
            Some(_) => None,
        }
    }
}

/// The body sink: decodes (when asked) into the search.
pub enum Sink {
    /// Bytes go to the search as they are.
    Plain(BodySearch),
    /// gzip-decoded first.
    Gzip(Box<flate2::write::GzDecoder<BodySearch>>),
    /// zlib-decoded first.
    Deflate(Box<flate2::write::ZlibDecoder<BodySearch>>),
}

impl Sink {
    /// A sink for `coding` into `search`.
    pub fn new(coding: Coding, search: BodySearch) -> Sink {
        match coding {
            Coding::Identity => Sink::Plain(search),
            Coding::Gzip => Sink::Gzip(Box::new(flate2::write::GzDecoder::new(search))),
            Coding::Deflate => Sink::Deflate(Box::new(flate2::write::ZlibDecoder::new(search))),
        }
    }

    /// Takes wire bytes; `Err` with a reason when they do not decode.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        match self {
            Sink::Plain(s) => {
                s.feed(chunk);
                Ok(())
            }
            Sink::Gzip(d) => d
                .write_all(chunk)
                .map_err(|e| format!("the gzip body does not decode: {e}")),
            Sink::Deflate(d) => d
                .write_all(chunk)
                .map_err(|e| format!("the deflate body does not decode: {e}")),
        }
    }

    fn search(&self) -> &BodySearch {
        match self {
            Sink::Plain(s) => s,
            Sink::Gzip(d) => d.get_ref(),
            Sink::Deflate(d) => d.get_ref(),
        }
    }

    /// Whether the bound is reached (read no further).
    pub fn full(&self) -> bool {
        self.search().full()
    }

    /// Whether more was offered than the bound allows.
    pub fn is_cut(&self) -> bool {
        self.search().facts().cut
    }

    /// What the body showed; decoders are finished first.
    pub fn finish(self) -> Result<BodyFacts, String> {
        match self {
            Sink::Plain(s) => Ok(s.facts()),
            Sink::Gzip(d) => d
                .finish()
                .map(|s| s.facts())
                .map_err(|e| format!("the gzip body does not decode: {e}")),
            Sink::Deflate(d) => d
                .finish()
                .map(|s| s.facts())
                .map_err(|e| format!("the deflate body does not decode: {e}")),
        }
    }

    /// Marks the body as cut (more was coming).
    pub fn cut(mut self) -> BodyFacts {
        let search = match &mut self {
            Sink::Plain(s) => s,
            Sink::Gzip(d) => d.get_mut(),
            Sink::Deflate(d) => d.get_mut(),
        };
        search.cut();
        search.facts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_split_across_chunks_is_found() {
        let mut s = BodySearch::new(Some("needle"), None, 1 << 20);
        s.feed(b"hay hay nee");
        assert_eq!(s.facts().string_found, Some(false));
        s.feed(b"dle hay");
        assert_eq!(s.facts().string_found, Some(true));
        assert_eq!(s.bytes(), 18);
    }

    #[test]
    fn a_regex_sees_the_window_before_the_chunk() {
        let re = Regex::new("a+b").unwrap();
        let mut s = BodySearch::new(None, Some(re), 1 << 20);
        s.feed(b"xxaaa");
        s.feed(b"ab");
        assert_eq!(s.facts().regex_found, Some(true));
    }

    #[test]
    fn the_bound_cuts_and_counts_only_what_fits() {
        let mut s = BodySearch::new(Some("END"), None, 10);
        assert!(s.feed(b"12345"));
        assert!(!s.feed(b"67890END"));
        let f = s.facts();
        assert_eq!((f.bytes, f.cut, f.string_found), (10, true, Some(false)));
    }

    #[test]
    fn exactly_the_bound_is_not_cut() {
        let mut s = BodySearch::new(None, None, 10);
        s.feed(b"1234567890");
        assert!(!s.facts().cut);
        assert!(s.full());
    }

    #[test]
    fn gzip_is_decoded_before_the_search() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"compressible text compressible text")
            .unwrap();
        let wire = enc.finish().unwrap();
        let mut sink = Sink::new(Coding::Gzip, BodySearch::new(Some("text"), None, 1 << 20));
        for chunk in wire.chunks(7) {
            sink.feed(chunk).unwrap();
        }
        let f = sink.finish().unwrap();
        assert_eq!((f.bytes, f.string_found), (35, Some(true)));
        assert!(Sink::new(Coding::Gzip, BodySearch::new(None, None, 100))
            .feed(b"not gzip at all")
            .is_err());
    }

    #[test]
    fn codings() {
        assert_eq!(Coding::of(None), Some(Coding::Identity));
        assert_eq!(Coding::of(Some("GZIP")), Some(Coding::Gzip));
        assert_eq!(Coding::of(Some("br")), None);
    }
}
