//! Response bodies that Python's `json.loads` accepts but serde_json refuses.
//!
//! Python users expect the client to read what `json.loads` (with its default
//! `strict=True`) reads, which is more than strict JSON (RFC 8259):
//!
//! - the bare tokens `NaN`, `Infinity` and `-Infinity`;
//! - lone UTF-16 surrogate escapes in strings (`"ag_\ud83d"`, what JavaScript writes for a
//!   cut emoji);
//! - duplicate object keys (the last value wins, the key keeps its first position, as in a
//!   Python `dict`);
//! - a leading UTF-8 BOM (on bytes);
//! - integers of any size and floats beyond `f64` (`1e400` is `inf`), which serde_json's
//!   `RawValue` already takes, so they are copied as they are.
//!
//! When the strict decode of a body fails, [`to_strict`] rewrites it as strict JSON that
//! serde_json accepts, with the first two carried as *markers*, and [`restore`] turns the
//! markers in a fragment of that text (the raw text of one `metadata` object) back into
//! the original syntax. [`lossy_value`] reads the same grammar into a [`Value`] for Rust
//! users, mapping what a `Value` cannot hold.
//!
//! # Markers
//!
//! A Rust `String` cannot hold a lone surrogate and serde_json cannot lex `NaN`, so both
//! become characters inside JSON strings, introduced by U+FFFD (the replacement character)
//! and a Unicode *noncharacter*: U+FDD0 ([`SURROGATE_MARKER`]) or U+FDD1
//! ([`TOKEN_MARKER`]). Noncharacters are reserved for a program's internal use and never
//! interchanged, so conformant text does not hold them as data:
//!
//! - a lone surrogate code unit `u` (0xD800..=0xDFFF, written as a `\uXXXX` escape and not
//!   part of a valid high + low pair), in any string including keys, becomes the three
//!   characters U+FFFD, U+FDD0, U+F0000 + (u − 0xD800) (the last is in plane 15's private
//!   use area: U+F0000..=U+F07FF for the 2,048 surrogates), written as raw UTF-8;
//! - a bare `NaN`, `Infinity` or `-Infinity` becomes the whole JSON string U+FFFD, U+FDD1,
//!   then the token's text: `"\u{FFFD}\u{FDD1}NaN"`.
//!
//! A Rust user of the strict text sees U+FFFD where the lone surrogate was (as
//! `String::from_utf16_lossy` would give), followed by two invisible characters.
//! [`restore`] writes a surrogate back as a lowercase escape (`\ud83d`, as Python's
//! `json.dumps` writes it).
//!
//! `to_strict` also drops duplicate keys (Python's `dict` semantics), decodes string
//! escapes (re-escaping only `"`, `\` and control characters, as serde_json writes them) and
//! drops whitespace: its output means what the input meant, byte for byte it may differ.
//!
//! # Known differences from `json.loads`
//!
//! - Only UTF-8 is read. `json.loads` on bytes also detects UTF-16 and UTF-32, and decodes
//!   with `surrogatepass`, so it takes UTF-8-encoded surrogates (`ED A0 BD`) that are
//!   invalid UTF-8 here.
//! - Integers of more than 4,300 digits are accepted; Python 3.11+ refuses them by default
//!   (`sys.set_int_max_str_digits`).
//! - Nesting is limited to [`MAX_DEPTH`] arrays and objects; Python's limit depends on its
//!   version and stack (about 994 in 3.11, 1,497 in 3.12, 9,998 in 3.13).
//! - Input that literally holds a marker sequence (U+FFFD, U+FDD0 and a plane-15 private
//!   use character; or a string that is exactly U+FFFD, U+FDD1, `NaN`) is read back by
//!   [`restore`] as a surrogate or token.
//! - [`lossy_value`] skips a leading BOM in text, where `json.loads` of a `str` refuses it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::mem;

use serde_json::{Map, Number, Value};

/// The character after U+FFFD that marks a lone surrogate (see the module docs).
pub(crate) const SURROGATE_MARKER: char = '\u{FDD0}';
/// The character after U+FFFD that marks `NaN`, `Infinity` or `-Infinity` (see the module
/// docs).
pub(crate) const TOKEN_MARKER: char = '\u{FDD1}';
/// The largest number of nested arrays and objects accepted.
pub(crate) const MAX_DEPTH: usize = 1000;

const SURROGATE_PREFIX: &str = "\u{FFFD}\u{FDD0}";
const TOKEN_PREFIX: &str = "\u{FFFD}\u{FDD1}";
/// The character standing for the surrogate 0xD800; 0xDFFF is `SURROGATE_BASE + 0x7FF`.
const SURROGATE_BASE: u32 = 0xF_0000;
/// Objects with at most this many keys find duplicates by a linear scan, larger ones with a
/// hash map.
const LINEAR_KEYS: usize = 8;

/// Why a body is not JSON even by `json.loads`: what was expected or found, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LenientError {
    message: &'static str,
    /// Byte offset in the input (counting a BOM).
    offset: usize,
}

impl fmt::Display for LenientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for LenientError {}

/// Rewrites `body`, read with the grammar of Python's `json.loads`, as strict JSON with
/// markers for what strict JSON cannot say (see the module docs).
pub(crate) fn to_strict(body: &[u8]) -> Result<Vec<u8>, LenientError> {
    let text = std::str::from_utf8(body).map_err(|e| LenientError {
        message: "invalid UTF-8",
        offset: e.valid_up_to(),
    })?;
    let root = parse(text, Surrogates::Mark)?;
    let mut out = Vec::with_capacity(body.len() + 16);
    write_strict(&root, &mut out);
    Ok(out)
}

/// Puts the markers in `text`, strict JSON written by [`to_strict`] or a fragment of it
/// (one value), back as `json.loads` syntax: a marker string becomes the bare token and a
/// lone surrogate's three characters its lowercase `\uXXXX` escape. `None` when there is
/// nothing to put back; finding that out costs one scan of the bytes.
pub(crate) fn restore(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if !has_marker(bytes) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        if end >= bytes.len() {
            break; // Not text from `to_strict`: leave the rest as it is.
        }
        let content = &text[start..end];
        if let Some(token) = marked_token(content).filter(|_| !is_key(bytes, end + 1)) {
            out.push_str(&text[copied..i]);
            out.push_str(token);
            copied = end + 1;
            changed = true;
        } else if content.contains(SURROGATE_MARKER) {
            out.push_str(&text[copied..start]);
            changed |= restore_surrogates(content, &mut out);
            copied = end;
        }
        i = end + 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Reads `text` with the grammar of [`to_strict`] into a [`Value`], mapping what a `Value`
/// cannot hold: `NaN`, `Infinity`, `-Infinity` and numbers beyond `f64` are `null` (as
/// JavaScript's `JSON.stringify` writes them), a lone surrogate is U+FFFD, integers beyond
/// 64 bits are the nearest `f64` (serde_json's reading). Of duplicate keys (also those
/// made equal by the U+FFFD mapping), the last value stays, at the first key's position.
pub(crate) fn lossy_value(text: &str) -> Result<Value, LenientError> {
    parse(text, Surrogates::Replace).map(into_value)
}

// ----------------------------------------------------------------------------------------
// The parser: one grammar, one tree, two outputs (`write_strict` and `into_value`).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    NaN,
    Infinity,
    NegInfinity,
}

impl Token {
    fn text(self) -> &'static str {
        match self {
            Token::NaN => "NaN",
            Token::Infinity => "Infinity",
            Token::NegInfinity => "-Infinity",
        }
    }
}

/// A parsed value. Strings borrow from the input unless they had escapes; numbers are the
/// input's text. Objects hold one entry per key.
#[derive(Debug)]
enum Node<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(Cow<'a, str>),
    Token(Token),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// What a lone surrogate becomes in a parsed string.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surrogates {
    /// U+FFFD, U+FDD0, U+F0000 + offset (`to_strict`).
    Mark,
    /// U+FFFD (`lossy_value`).
    Replace,
}

/// An array or object being parsed.
enum Frame<'a> {
    Array(Vec<Node<'a>>),
    /// The entries so far and the key of the value being parsed.
    Object(Entries<'a>, Cow<'a, str>),
}

/// An object's entries, one per key: a repeated key keeps its first position and takes
/// the new value.
#[derive(Default)]
struct Entries<'a> {
    list: Vec<(Cow<'a, str>, Node<'a>)>,
    /// Key → position in `list`, once there are more than `LINEAR_KEYS` keys.
    index: Option<HashMap<Cow<'a, str>, usize>>,
}

impl<'a> Entries<'a> {
    fn insert(&mut self, key: Cow<'a, str>, value: Node<'a>) {
        let found = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => self.list.iter().position(|(k, _)| *k == key),
        };
        if let Some(i) = found {
            self.list[i].1 = value;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.list.len());
        }
        self.list.push((key, value));
        if self.index.is_none() && self.list.len() > LINEAR_KEYS {
            let index = self.list.iter().enumerate();
            self.index = Some(index.map(|(i, (k, _))| (k.clone(), i)).collect());
        }
    }
}

/// Parses one JSON document (a leading BOM skipped) into a tree.
fn parse(text: &str, surrogates: Surrogates) -> Result<Node<'_>, LenientError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: if text.starts_with('\u{FEFF}') { 3 } else { 0 },
        surrogates,
    };
    parser.skip_whitespace();
    let root = parser.document()?;
    parser.skip_whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error("extra data"));
    }
    Ok(root)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    surrogates: Surrogates,
}

impl<'a> Parser<'a> {
    /// One value with everything nested in it, with an explicit stack (no recursion).
    fn document(&mut self) -> Result<Node<'a>, LenientError> {
        let mut stack: Vec<Frame<'a>> = Vec::new();
        'value: loop {
            // At the start of a value: read it, or open its array or object.
            let mut node = match self.peek() {
                Some(open @ (b'[' | b'{')) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error("too many nested arrays and objects"));
                    }
                    self.pos += 1;
                    self.skip_whitespace();
                    if open == b'[' {
                        if self.eat(b']') {
                            Node::Array(Vec::new())
                        } else {
                            stack.push(Frame::Array(Vec::new()));
                            continue 'value;
                        }
                    } else if self.eat(b'}') {
                        Node::Object(Vec::new())
                    } else {
                        let key = self.key()?;
                        stack.push(Frame::Object(Entries::default(), key));
                        continue 'value;
                    }
                }
                _ => self.scalar()?,
            };
            // A value is complete: add it to its container, then go on to the next value
            // or close the container (which completes it in turn).
            loop {
                let Some(mut frame) = stack.pop() else {
                    return Ok(node);
                };
                self.skip_whitespace();
                match &mut frame {
                    Frame::Array(items) => items.push(node),
                    Frame::Object(entries, key) => entries.insert(mem::take(key), node),
                }
                if self.eat(b',') {
                    self.skip_whitespace();
                    if let Frame::Object(_, key) = &mut frame {
                        *key = self.key()?;
                    }
                    stack.push(frame);
                    continue 'value;
                }
                node = match frame {
                    Frame::Array(items) => {
                        if !self.eat(b']') {
                            return Err(self.error("expected ',' or ']'"));
                        }
                        Node::Array(items)
                    }
                    Frame::Object(entries, _) => {
                        if !self.eat(b'}') {
                            return Err(self.error("expected ',' or '}'"));
                        }
                        Node::Object(entries.list)
                    }
                };
            }
        }
    }

    /// A key, its colon, and the whitespace up to its value.
    fn key(&mut self) -> Result<Cow<'a, str>, LenientError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected property name enclosed in double quotes"));
        }
        let key = self.string()?;
        self.skip_whitespace();
        if !self.eat(b':') {
            return Err(self.error("expected ':'"));
        }
        self.skip_whitespace();
        Ok(key)
    }

    /// A value that is not an array or object.
    fn scalar(&mut self) -> Result<Node<'a>, LenientError> {
        let rest = &self.bytes[self.pos..];
        let (node, len) = match rest.first() {
            Some(b'"') => return self.string().map(Node::String),
            Some(b'-') if rest.starts_with(b"-Infinity") => (Node::Token(Token::NegInfinity), 9),
            Some(b'-' | b'0'..=b'9') => return self.number(),
            Some(b'n') if rest.starts_with(b"null") => (Node::Null, 4),
            Some(b't') if rest.starts_with(b"true") => (Node::Bool(true), 4),
            Some(b'f') if rest.starts_with(b"false") => (Node::Bool(false), 5),
            Some(b'N') if rest.starts_with(b"NaN") => (Node::Token(Token::NaN), 3),
            Some(b'I') if rest.starts_with(b"Infinity") => (Node::Token(Token::Infinity), 8),
            _ => return Err(self.error("expected value")),
        };
        self.pos += len;
        Ok(node)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, kept as text. Like Python's
    /// scanner, a fraction or exponent without digits is not part of the number (so what
    /// follows is then an error).
    fn number(&mut self) -> Result<Node<'a>, LenientError> {
        let start = self.pos;
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => {
                self.pos = start;
                return Err(self.error("expected value"));
            }
        }
        if self.peek() == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            self.skip_digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            let e = self.pos;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.skip_digits();
            } else {
                self.pos = e;
            }
        }
        Ok(Node::Number(&self.text[start..self.pos]))
    }

    /// A string, at its opening quote: its content, borrowed when it has no escape.
    fn string(&mut self) -> Result<Cow<'a, str>, LenientError> {
        let quote = self.pos;
        let start = quote + 1;
        let mut i = start;
        // Up to the first escape, the content is the input's text.
        loop {
            match self.bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&self.text[start..i]));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(self.error_at("invalid control character", i)),
                Some(_) => i += 1,
                None => return Err(self.error_at("unterminated string", quote)),
            }
        }
        let mut out = String::with_capacity(i - start + 16);
        let mut run = start; // Start of the text not yet copied to `out`.
        loop {
            match self.bytes.get(i) {
                Some(b'"') => {
                    out.push_str(&self.text[run..i]);
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..i]);
                    i = self.escape(i, quote, &mut out)?;
                    run = i;
                }
                Some(&b) if b < 0x20 => return Err(self.error_at("invalid control character", i)),
                Some(_) => i += 1,
                None => return Err(self.error_at("unterminated string", quote)),
            }
        }
    }

    /// The escape at `i` (a backslash) in the string opened at `quote`, appended to `out`;
    /// returns the position after it.
    fn escape(&self, i: usize, quote: usize, out: &mut String) -> Result<usize, LenientError> {
        let c = match self.bytes.get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(i, out),
            Some(_) => return Err(self.error_at("invalid escape", i)),
            None => return Err(self.error_at("unterminated string", quote)),
        };
        out.push(c);
        Ok(i + 2)
    }

    /// `\uXXXX` at `i`, with a second one when the two make a surrogate pair.
    fn unicode_escape(&self, i: usize, out: &mut String) -> Result<usize, LenientError> {
        let unit = self.hex4(i)?;
        let next = i + 6;
        if (0xD800..0xDC00).contains(&unit) && self.bytes[next..].starts_with(b"\\u") {
            let low = self.hex4(next)?;
            if (0xDC00..0xE000).contains(&low) {
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                return Ok(next + 6);
            }
            // Not a pair: the second escape is read on its own next.
        }
        match char::from_u32(unit) {
            Some(c) => out.push(c),
            None => {
                out.push(char::REPLACEMENT_CHARACTER);
                if self.surrogates == Surrogates::Mark {
                    out.push(SURROGATE_MARKER);
                    let c = char::from_u32(SURROGATE_BASE + (unit - 0xD800));
                    out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
                }
            }
        }
        Ok(next)
    }

    /// The four hex digits of the `\u` escape at `i`.
    fn hex4(&self, i: usize) -> Result<u32, LenientError> {
        let digits = self.bytes.get(i + 2..i + 6);
        let value = digits.and_then(|digits| {
            digits.iter().try_fold(0, |value, &b| {
                let digit = char::from(b).to_digit(16)?;
                Some(value << 4 | digit)
            })
        });
        value.ok_or_else(|| self.error_at("invalid \\uXXXX escape", i))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.pos += usize::from(found);
        found
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// JSON's whitespace, as `json.loads` has it: space, tab, LF, CR.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn error(&self, message: &'static str) -> LenientError {
        self.error_at(message, self.pos)
    }

    fn error_at(&self, message: &'static str, offset: usize) -> LenientError {
        LenientError { message, offset }
    }
}

// ----------------------------------------------------------------------------------------
// Outputs.

/// Writes `root` as compact strict JSON, tokens as marker strings (no recursion).
fn write_strict(root: &Node<'_>, out: &mut Vec<u8>) {
    type Items<'n, 'a> = std::slice::Iter<'n, Node<'a>>;
    type Pairs<'n, 'a> = std::slice::Iter<'n, (Cow<'a, str>, Node<'a>)>;
    /// An open container: what is left of it, and whether a child was written.
    enum Open<'n, 'a> {
        Array(Items<'n, 'a>, bool),
        Object(Pairs<'n, 'a>, bool),
    }
    let mut stack: Vec<Open<'_, '_>> = Vec::new();
    let mut next = Some(root);
    loop {
        match next.take() {
            Some(Node::Array(items)) => {
                out.push(b'[');
                stack.push(Open::Array(items.iter(), false));
            }
            Some(Node::Object(entries)) => {
                out.push(b'{');
                stack.push(Open::Object(entries.iter(), false));
            }
            Some(Node::Null) => out.extend_from_slice(b"null"),
            Some(Node::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Some(Node::Number(text)) => out.extend_from_slice(text.as_bytes()),
            Some(Node::String(s)) => write_string(s, out),
            Some(Node::Token(token)) => {
                out.push(b'"');
                out.extend_from_slice(TOKEN_PREFIX.as_bytes());
                out.extend_from_slice(token.text().as_bytes());
                out.push(b'"');
            }
            None => {}
        }
        let Some(open) = stack.last_mut() else {
            return;
        };
        match open {
            Open::Array(items, started) => match items.next() {
                Some(item) => {
                    if mem::replace(started, true) {
                        out.push(b',');
                    }
                    next = Some(item);
                }
                None => {
                    out.push(b']');
                    stack.pop();
                }
            },
            Open::Object(entries, started) => match entries.next() {
                Some((key, value)) => {
                    if mem::replace(started, true) {
                        out.push(b',');
                    }
                    write_string(key, out);
                    out.push(b':');
                    next = Some(value);
                }
                None => {
                    out.push(b'}');
                    stack.pop();
                }
            },
        }
    }
}

/// Writes `s` as a JSON string, escaping `"`, `\` and control characters (as serde_json
/// does).
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let hex = [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]];
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&hex);
        } else {
            out.extend_from_slice(short);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// The tree as a `Value` (no recursion).
fn into_value(root: Node<'_>) -> Value {
    type Items<'a> = std::vec::IntoIter<Node<'a>>;
    type Pairs<'a> = std::vec::IntoIter<(Cow<'a, str>, Node<'a>)>;
    /// An open container: what is left of it, what was built, the key being built.
    enum Open<'a> {
        Array(Items<'a>, Vec<Value>),
        Object(Pairs<'a>, Map<String, Value>, String),
    }
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut node = root;
    loop {
        let mut done = match node {
            Node::Array(items) => {
                let values = Vec::with_capacity(items.len());
                stack.push(Open::Array(items.into_iter(), values));
                None
            }
            Node::Object(entries) => {
                let map = Map::with_capacity(entries.len());
                stack.push(Open::Object(entries.into_iter(), map, String::new()));
                None
            }
            Node::Null | Node::Token(_) => Some(Value::Null),
            Node::Bool(b) => Some(Value::Bool(b)),
            // Beyond f64 (`1e400`) serde_json refuses the number: null.
            Node::Number(text) => {
                Some(serde_json::from_str::<Number>(text).map_or(Value::Null, Value::Number))
            }
            Node::String(s) => Some(Value::String(s.into_owned())),
        };
        // Add the value just built to its container, then find the next child, closing
        // the containers that have none left.
        node = loop {
            let Some(mut open) = stack.pop() else {
                // The root is built (it is always `Some` here).
                return done.unwrap_or(Value::Null);
            };
            let child = match &mut open {
                Open::Array(items, values) => {
                    values.extend(done.take());
                    items.next()
                }
                Open::Object(entries, map, key) => {
                    if let Some(value) = done.take() {
                        map.insert(mem::take(key), value);
                    }
                    entries.next().map(|(k, v)| {
                        *key = k.into_owned();
                        v
                    })
                }
            };
            if let Some(child) = child {
                stack.push(open);
                break child;
            }
            done = Some(match open {
                Open::Array(_, values) => Value::Array(values),
                Open::Object(_, map, _) => Value::Object(map),
            });
        };
    }
}

// ----------------------------------------------------------------------------------------
// `restore`'s helpers.

/// Whether `bytes` holds U+FDD0 or U+FDD1 (`EF B7 90`, `EF B7 91`), in one pass over
/// blocks the compiler can vectorize (`EF` is rare in most text).
fn has_marker(bytes: &[u8]) -> bool {
    const BLOCK: usize = 32;
    let at = |i: usize| matches!(bytes.get(i..i + 3), Some([0xEF, 0xB7, 0x90 | 0x91]));
    let blocks = bytes.chunks_exact(BLOCK);
    let tail = blocks.remainder().len();
    for (n, block) in blocks.enumerate() {
        if block.iter().fold(false, |seen, &b| seen | (b == 0xEF)) {
            let base = n * BLOCK;
            if (base..base + BLOCK).any(at) {
                return true;
            }
        }
    }
    (bytes.len() - tail..bytes.len()).any(at)
}

/// The token a string's content marks, if it is a token marker.
fn marked_token(content: &str) -> Option<&'static str> {
    let token = content
        .strip_prefix(char::REPLACEMENT_CHARACTER)?
        .strip_prefix(TOKEN_MARKER)?;
    [Token::NaN, Token::Infinity, Token::NegInfinity]
        .into_iter()
        .map(Token::text)
        .find(|text| *text == token)
}

/// Whether the string that ended before `i` is an object's key.
fn is_key(bytes: &[u8], mut i: usize) -> bool {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    bytes.get(i) == Some(&b':')
}

/// Appends a string's content with each lone surrogate's marker as its escape; whether
/// there was one.
fn restore_surrogates(mut content: &str, out: &mut String) -> bool {
    let mut changed = false;
    while let Some(at) = content.find(SURROGATE_PREFIX) {
        let after = &content[at + SURROGATE_PREFIX.len()..];
        let offset = after
            .chars()
            .next()
            .map(|c| u32::from(c).wrapping_sub(SURROGATE_BASE))
            .filter(|offset| *offset < 0x800);
        match offset {
            Some(offset) => {
                out.push_str(&content[..at]);
                let _ = write!(out, "\\u{:04x}", 0xD800 + offset);
                // The plane-15 character is 4 bytes in UTF-8.
                content = &after[4..];
                changed = true;
            }
            None => {
                out.push_str(&content[..at + SURROGATE_PREFIX.len()]);
                content = after;
            }
        }
    }
    out.push_str(content);
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use serde_json::value::RawValue;

    /// `to_strict` of `input` as text.
    fn strict(input: &str) -> String {
        String::from_utf8(to_strict(input.as_bytes()).expect(input)).unwrap()
    }

    /// The marker of lone surrogate `unit`.
    fn lone(unit: u32) -> String {
        let c = char::from_u32(SURROGATE_BASE + unit - 0xD800).unwrap();
        format!("\u{FFFD}\u{FDD0}{c}")
    }

    /// `restore(to_strict(input))`, or the strict text when there was nothing to restore.
    fn round_trip(input: &str) -> String {
        let strict = strict(input);
        restore(&strict).unwrap_or(strict)
    }

    fn rejected(input: &[u8]) -> LenientError {
        match to_strict(input) {
            Ok(out) => panic!(
                "accepted {:?} as {:?}",
                String::from_utf8_lossy(input),
                String::from_utf8_lossy(&out)
            ),
            Err(e) => e,
        }
    }

    #[test]
    fn marker_constants() {
        assert_eq!(SURROGATE_PREFIX, format!("\u{FFFD}{SURROGATE_MARKER}"));
        assert_eq!(TOKEN_PREFIX, format!("\u{FFFD}{TOKEN_MARKER}"));
        assert_eq!(SURROGATE_MARKER.to_string().as_bytes(), b"\xEF\xB7\x90");
        assert_eq!(TOKEN_MARKER.to_string().as_bytes(), b"\xEF\xB7\x91");
        // The 2,048 surrogates' characters are 4 bytes long (`restore_surrogates`).
        assert_eq!(char::from_u32(SURROGATE_BASE).unwrap().len_utf8(), 4);
        assert_eq!(
            char::from_u32(SURROGATE_BASE + 0x7FF).unwrap().len_utf8(),
            4
        );
    }

    #[test]
    fn tokens_become_marker_strings() {
        assert_eq!(
            strict("[NaN, Infinity, -Infinity]"),
            "[\"\u{FFFD}\u{FDD1}NaN\",\"\u{FFFD}\u{FDD1}Infinity\",\"\u{FFFD}\u{FDD1}-Infinity\"]"
        );
        assert_eq!(strict("NaN"), "\"\u{FFFD}\u{FDD1}NaN\"");
        assert_eq!(strict(" -Infinity "), "\"\u{FFFD}\u{FDD1}-Infinity\"");
        assert_eq!(
            strict(r#"{"a":Infinity}"#),
            "{\"a\":\"\u{FFFD}\u{FDD1}Infinity\"}"
        );
        // Inside strings they are text.
        assert_eq!(strict(r#"["NaN"]"#), r#"["NaN"]"#);
    }

    #[test]
    fn lone_surrogates_become_markers() {
        // High, as JavaScript writes a cut emoji.
        assert_eq!(strict(r#""ag_\ud83d""#), format!("\"ag_{}\"", lone(0xD83D)));
        assert_eq!(lone(0xD83D), "\u{FFFD}\u{FDD0}\u{F003D}");
        // Low, uppercase hex, followed by text.
        assert_eq!(strict(r#""\uDC00x""#), format!("\"{}x\"", lone(0xDC00)));
        assert_eq!(lone(0xDC00), "\u{FFFD}\u{FDD0}\u{F0400}");
        // The ends of the range.
        assert_eq!(strict(r#""\ud800\udfff""#), "\"\u{103FF}\"");
        assert_eq!(
            strict(r#""\udfff\ud800""#),
            format!("\"{}{}\"", lone(0xDFFF), lone(0xD800))
        );
        assert_eq!(lone(0xDFFF), "\u{FFFD}\u{FDD0}\u{F07FF}");
        // A high surrogate followed by an escape that is not a low one: both read alone.
        assert_eq!(
            strict(r#""\ud83d\u0041""#),
            format!("\"{}A\"", lone(0xD83D))
        );
        assert_eq!(
            strict(r#""\ud800\ud83d\ude00""#),
            format!("\"{}😀\"", lone(0xD800))
        );
        assert_eq!(
            strict(r#""\ud83d\\ude00""#),
            format!("\"{}\\\\ude00\"", lone(0xD83D))
        );
        // Followed by a raw character, or the end of the string.
        assert_eq!(strict(r#""\ud83dé""#), format!("\"{}é\"", lone(0xD83D)));
        assert_eq!(strict(r#""\ud83d""#), format!("\"{}\"", lone(0xD83D)));
    }

    #[test]
    fn valid_pairs_stay_one_character() {
        assert_eq!(strict(r#""\ud83d\ude00""#), "\"😀\"");
        assert_eq!(strict(r#""\uD83D\uDE00!""#), "\"😀!\"");
        assert_eq!(strict("\"😀\""), "\"😀\"");
        assert_eq!(restore("\"😀\""), None);
    }

    #[test]
    fn surrogates_in_keys() {
        assert_eq!(
            strict(r#"{"\udfff":1}"#),
            format!("{{\"{}\":1}}", lone(0xDFFF))
        );
        assert_eq!(round_trip(r#"{"\uDFFF": 1}"#), r#"{"\udfff":1}"#);
        // Keys that differ only by their lone surrogate are different keys.
        assert_eq!(
            round_trip(r#"{"\ud800":1,"\ud801":2,"\ud800":3}"#),
            r#"{"\ud800":3,"\ud801":2}"#
        );
    }

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        assert_eq!(strict(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
        assert_eq!(strict(r#"{"a":1,"a":2,"a":[3]}"#), r#"{"a":[3]}"#);
        // Keys equal once decoded are the same key.
        assert_eq!(strict(r#"{"a":1,"\u0061":2}"#), r#"{"a":2}"#);
        assert_eq!(strict(r#"{"😀":1,"\ud83d\ude00":2}"#), r#"{"😀":2}"#);
        // Nested, and in the dropped values.
        assert_eq!(
            strict(r#"{"x":{"a":1,"a":[{"b":1,"b":2}]},"y":0,"x":{"c":1,"c":2}}"#),
            r#"{"x":{"c":2},"y":0}"#
        );
        assert_eq!(
            strict(r#"[{"a":1,"a":2},{"a":3,"a":4}]"#),
            r#"[{"a":2},{"a":4}]"#
        );
        // The dropped values are still checked.
        rejected(br#"{"a":nope,"a":1}"#);
        rejected(br#"{"a":[1,],"a":1}"#);
    }

    #[test]
    fn duplicate_keys_in_large_objects() {
        // Past `LINEAR_KEYS` keys, duplicates are found with the hash map.
        let mut input = String::from("{");
        let mut expected = String::from("{");
        for i in 0..20 {
            input.push_str(&format!("\"k{i}\":{i},"));
            let value = match i {
                3 => 103,
                19 => 119,
                0 => 100,
                _ => i,
            };
            expected.push_str(&format!("\"k{i}\":{value},"));
        }
        input.push_str(r#""k3":103,"k19":119,"k\u0030":100}"#);
        expected.pop();
        expected.push('}');
        assert_eq!(strict(&input), expected);
        // Duplicates found by the scan before the map exists, then by the map.
        let mut input = String::from("{");
        for i in 0..30 {
            input.push_str(&format!("\"k{}\":{i},", i % 10));
        }
        input.push_str("\"end\":0}");
        let expected: Vec<String> = (0..10).map(|i| format!("\"k{i}\":{}", 20 + i)).collect();
        assert_eq!(
            strict(&input),
            format!("{{{},\"end\":0}}", expected.join(","))
        );
    }

    #[test]
    fn large_objects_index_their_keys() {
        let mut entries = Entries::default();
        for i in 0..=LINEAR_KEYS {
            assert!(entries.index.is_none());
            entries.insert(Cow::Owned(format!("k{i}")), Node::Null);
        }
        let index = entries
            .index
            .as_ref()
            .expect("an index past LINEAR_KEYS keys");
        assert_eq!(index.len(), LINEAR_KEYS + 1);
        assert_eq!(index.get("k3"), Some(&3));
        entries.insert(Cow::Borrowed("k3"), Node::Bool(true));
        entries.insert(Cow::Borrowed("new"), Node::Bool(false));
        assert_eq!(
            entries.index.as_ref().unwrap().get("new"),
            Some(&(LINEAR_KEYS + 1))
        );
        assert!(matches!(entries.list[3], (ref k, Node::Bool(true)) if k == "k3"));
        assert_eq!(entries.list.len(), LINEAR_KEYS + 2);
    }

    #[test]
    fn bom_is_skipped() {
        assert_eq!(to_strict(b"\xEF\xBB\xBF{\"a\": 1}").unwrap(), br#"{"a":1}"#);
        assert_eq!(
            to_strict(b"\xEF\xBB\xBF \n[NaN]").unwrap(),
            "[\"\u{FFFD}\u{FDD1}NaN\"]".as_bytes()
        );
        assert_eq!(lossy_value("\u{FEFF}[1]").unwrap(), json!([1]));
        // Only one, only at the very start.
        assert_eq!(rejected(b"\xEF\xBB\xBF\xEF\xBB\xBF[]").offset, 3);
        assert_eq!(rejected(b" \xEF\xBB\xBF[]").offset, 1);
        assert_eq!(rejected(b"[\xEF\xBB\xBF1]").offset, 1);
        assert_eq!(rejected(b"\xEF\xBB\xBF").offset, 3);
        // Inside strings it is a character like any other.
        assert_eq!(strict("\"\u{FEFF}\""), "\"\u{FEFF}\"");
    }

    #[test]
    fn rejections() {
        let cases: &[(&[u8], &str, usize)] = &[
            (b"", "expected value", 0),
            (b" \n", "expected value", 2),
            (b"[1,]", "expected value", 3),
            (b"[1 , ]", "expected value", 5),
            (
                b"{\"a\":1,}",
                "expected property name enclosed in double quotes",
                7,
            ),
            (b"[1] // comment", "extra data", 4),
            (b"[1, /* c */ 2]", "expected value", 4),
            (b"\"a\nb\"", "invalid control character", 2),
            (b"\"a\tb\"", "invalid control character", 2),
            (b"{\"a\x00\":1}", "invalid control character", 3),
            (b"\"\\x41\"", "invalid escape", 1),
            (b"\"\\'\"", "invalid escape", 1),
            (b"\"\\u12G4\"", "invalid \\uXXXX escape", 1),
            (b"\"\\u12\"", "invalid \\uXXXX escape", 1),
            (b"\"\\ud800\\uZZZZ\"", "invalid \\uXXXX escape", 7),
            (b"\"\\U0041\"", "invalid escape", 1),
            (b"{\"a\":", "expected value", 5),
            (b"[1", "expected ',' or ']'", 2),
            (b"[1 2]", "expected ',' or ']'", 3),
            (b"{\"a\":1 \"b\":2}", "expected ',' or '}'", 7),
            (b"{\"a\" 1}", "expected ':'", 5),
            (
                b"{a:1}",
                "expected property name enclosed in double quotes",
                1,
            ),
            (
                b"{'a':1}",
                "expected property name enclosed in double quotes",
                1,
            ),
            (b"['a']", "expected value", 1),
            (b"\"abc", "unterminated string", 0),
            (b"[\"abc\\", "unterminated string", 1),
            (b"[\"abc\\\"]", "unterminated string", 1),
            (b"tru", "expected value", 0),
            (b"True", "expected value", 0),
            (b"nan", "expected value", 0),
            (b"inf", "expected value", 0),
            (b"-NaN", "expected value", 0),
            (b"+Infinity", "expected value", 0),
            (b"-Inf", "expected value", 0),
            (b"Infinityx", "extra data", 8),
            (b"nullnull", "extra data", 4),
            (b"1 2", "extra data", 2),
            (b"{} x", "extra data", 3),
            (b"01", "extra data", 1),
            (b"-01", "extra data", 2),
            (b"1.", "extra data", 1),
            (b"1.e5", "extra data", 1),
            (b".5", "expected value", 0),
            (b"1e", "extra data", 1),
            (b"1e+", "extra data", 1),
            (b"+1", "expected value", 0),
            (b"-", "expected value", 0),
            (b"--1", "expected value", 0),
            (b"0x10", "extra data", 1),
            (b"\x0b[]", "expected value", 0),
            (b"\x0c[]", "expected value", 0),
            (b"[\xC2\xA01]", "expected value", 1),
            (b"\"\xFF\"", "invalid UTF-8", 1),
            (b"[1, \"\xC0\xAF\"]", "invalid UTF-8", 5),
            (b"\"\xED\xA0\xBD\"", "invalid UTF-8", 1),
            (b"\"\xE2\x82\"", "invalid UTF-8", 1),
            (b"\"\xE2\x82", "invalid UTF-8", 1),
            (
                b"{\"id\": \"a\", x}",
                "expected property name enclosed in double quotes",
                12,
            ),
            (b"{\"id\": \"a\", \"b\": }", "expected value", 17),
        ];
        for &(input, message, offset) in cases {
            let e = rejected(input);
            assert_eq!(
                (e.message, e.offset),
                (message, offset),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            assert!(lossy_value(std::str::from_utf8(input).unwrap_or("\u{0}")).is_err());
        }
        let e = rejected(b"{\"count\": 1, }");
        assert_eq!(
            e.to_string(),
            "expected property name enclosed in double quotes at byte 13"
        );
        assert_eq!(
            rejected(b"{\"count\": , }").to_string(),
            "expected value at byte 10"
        );
        assert_eq!(
            rejected(b"[1, 2, 3, 4, ]").to_string(),
            "expected value at byte 13"
        );
        assert_eq!(
            rejected(b"{\"metadata\":}").to_string(),
            "expected value at byte 12"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |depth: usize, open: &str, close: &str| {
            format!("{}{}", open.repeat(depth), close.repeat(depth))
        };
        let deepest = nested(MAX_DEPTH, "[", "]");
        assert_eq!(strict(&deepest), deepest);
        assert!(lossy_value(&deepest).is_ok());
        let objects = format!(
            "{}{}{}",
            "{\"a\":".repeat(MAX_DEPTH - 1),
            "{}",
            "}".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(strict(&objects), objects);
        assert!(lossy_value(&objects).is_ok());

        let e = rejected(nested(MAX_DEPTH + 1, "[", "]").as_bytes());
        assert_eq!(
            (e.message, e.offset),
            ("too many nested arrays and objects", MAX_DEPTH)
        );
        let too_deep = format!(
            "{}{}{}",
            "{\"a\":[".repeat(MAX_DEPTH / 2),
            "[]",
            "]}".repeat(MAX_DEPTH / 2)
        );
        assert_eq!(
            rejected(too_deep.as_bytes()).message,
            "too many nested arrays and objects"
        );
        // Far too deep, and unterminated: an error, not a stack overflow.
        let e = rejected("[".repeat(1_000_000).as_bytes());
        assert_eq!(e.offset, MAX_DEPTH);
        assert!(lossy_value(&"[{\"a\":".repeat(500_000)).is_err());
    }

    #[test]
    fn numbers_are_copied() {
        let input = "[0, -0, 1E5, 1e+5, 2.5E-3, -12.75, 1e400, -1e400, 1e-400, 123456789012345678901234567890, 100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000]";
        assert_eq!(strict(input), input.replace(' ', ""));
        assert!(
            serde_json::from_slice::<Box<RawValue>>(&to_strict(input.as_bytes()).unwrap()).is_ok()
        );
    }

    #[test]
    fn strings_are_normalized() {
        let input =
            r#"["\/\b\f\n\r\t\"\\\u0041\u00e9\u20AC\u0000\u001F\u007f", "é€😀 ", "\u2028"]"#;
        let out = strict(input);
        assert_eq!(
            out,
            "[\"/\\b\\f\\n\\r\\t\\\"\\\\Aé€\\u0000\\u001f\u{7f}\",\"é€😀 \",\"\u{2028}\"]"
        );
        // The same strings as serde_json reads them from the original.
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), value);
        // Whitespace of every kind JSON has.
        assert_eq!(strict(" \t\n\r[ 1 ,\t2 ]\r\n"), "[1,2]");
        assert_eq!(
            strict("{ \"a\" : { } , \"b\" : [ ] }"),
            r#"{"a":{},"b":[]}"#
        );
        assert_eq!(strict("\"\""), "\"\"");
        assert_eq!(strict("[true,false,null]"), "[true,false,null]");
    }

    #[test]
    fn restore_by_hand() {
        assert_eq!(
            round_trip(r#"{"a": NaN, "b": [Infinity, -Infinity], "c": "ag_\ud83d"}"#),
            r#"{"a":NaN,"b":[Infinity,-Infinity],"c":"ag_\ud83d"}"#
        );
        assert_eq!(round_trip("NaN"), "NaN");
        assert_eq!(
            round_trip(r#"["\uDE00\uD83D", "x\\\ud800\"y"]"#),
            r#"["\ude00\ud83d","x\\\ud800\"y"]"#
        );
        assert_eq!(
            round_trip(r#"{"\ud83d": -Infinity}"#),
            r#"{"\ud83d":-Infinity}"#
        );
        // The text of one nested object, taken from the strict body.
        #[derive(serde::Deserialize)]
        struct Anomaly {
            metadata: Box<RawValue>,
        }
        let body = br#"{"id": "x", "metadata": {"score": NaN, "s": "\ud800", "n": {"m": "\udbff"}}, "z": Infinity}"#;
        let anomaly: Anomaly = serde_json::from_slice(&to_strict(body).unwrap()).unwrap();
        assert_eq!(
            restore(anomaly.metadata.get()).unwrap(),
            r#"{"score":NaN,"s":"\ud800","n":{"m":"\udbff"}}"#
        );
        // Nothing to put back.
        assert_eq!(restore(r#"{"a":"é€😀","b":[1,2]}"#), None);
        assert_eq!(restore("{\"a\":\"\u{FDF2}\u{FDCF}\u{FDEF}\"}"), None);
        assert_eq!(restore(""), None);
        // Noncharacters that do not make a marker are left alone.
        assert_eq!(
            restore("[\"\u{FDD0}\",\"\u{FFFD}\u{FDD0}x\",\"\u{FFFD}\u{FDD1}nan\"]"),
            None
        );
        assert_eq!(
            restore("[\"\u{FFFD}\u{FDD0}\u{F0800}\",\"\u{FFFD}\u{FDD0}\u{EFFFF}\",\"a\u{FFFD}\u{FDD1}NaN\"]"),
            None
        );
        // A marker for a token as a key stays a string (a key cannot be a bare token).
        assert_eq!(restore("{\"\u{FFFD}\u{FDD1}NaN\" :1}"), None);
        assert_eq!(
            restore("{\"\u{FFFD}\u{FDD1}NaN\":\"\u{FFFD}\u{FDD1}NaN\"}").unwrap(),
            "{\"\u{FFFD}\u{FDD1}NaN\":NaN}"
        );
        // Markers in a string among other text, at both ends and back to back.
        let text = format!(
            "[\"{}a{}{}\", {{ \"k\" : \"\u{FFFD}\u{FDD1}Infinity\" }}]",
            lone(0xD800),
            lone(0xDC00),
            lone(0xDBFF)
        );
        assert_eq!(
            restore(&text).unwrap(),
            r#"["\ud800a\udc00\udbff", { "k" : Infinity }]"#
        );
    }

    #[test]
    fn restore_then_to_strict_is_stable() {
        for input in [
            r#"{"a": NaN, "b": "\ud83d", "\udc00": [Infinity, {"c": -Infinity}]}"#,
            r#"["\ud800\ud83d\ude00\u0041", "\\\ud800"]"#,
            "-Infinity",
        ] {
            let strict = strict(input);
            let restored = restore(&strict).unwrap();
            assert_eq!(to_strict(restored.as_bytes()).unwrap(), strict.as_bytes());
        }
    }

    #[test]
    fn lossy_values() {
        let value = lossy_value(
            r#"{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e400, "e": "x\ud800y\ud83d\ude00",
                "f": 12345678901234567890123, "g": -0, "h": [1, 2.5, -3, 1e-400], "a": 7,
                "\udc00": 1, "i": 18446744073709551615, "j": -9223372036854775808}"#,
        )
        .unwrap();
        let expected = json!({
            "a": 7, "b": null, "c": null, "d": null, "e": "x\u{FFFD}y😀",
            "f": 12345678901234567890123.0, "g": -0.0, "h": [1, 2.5, -3, 0.0],
            "\u{FFFD}": 1, "i": 18446744073709551615u64, "j": -9223372036854775808i64,
        });
        assert_eq!(value, expected);
        // Key order is the first position's.
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["a", "b", "c", "d", "e", "f", "g", "h", "\u{FFFD}", "i", "j"]
        );
        // Integers beyond f64 are null, like floats beyond it.
        assert_eq!(
            lossy_value(&format!("[1{}]", "0".repeat(400))).unwrap(),
            json!([null])
        );
        assert_eq!(lossy_value("NaN").unwrap(), Value::Null);
        // Keys made equal by the mapping: the last value, at the first position.
        assert_eq!(
            lossy_value(r#"{"\ud800":1,"b":0,"\ud801":2,"\udfff":3}"#).unwrap(),
            json!({"\u{FFFD}": 3, "b": 0})
        );
        assert_eq!(
            lossy_value(r#"{"\ud800":1,"\ud801":2,"\ud800":3}"#).unwrap(),
            json!({"\u{FFFD}": 3})
        );
        // No markers in lossy values.
        assert_eq!(lossy_value(r#""\udbff""#).unwrap(), json!("\u{FFFD}"));
        // Strict JSON reads as serde_json reads it.
        let text = r#"{"z": [1, {"y": "\u00e9\n"}], "a": null, "m": 0.1}"#;
        assert_eq!(
            lossy_value(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        // Errors are the same as `to_strict`'s.
        assert_eq!(
            lossy_value("[1,]").unwrap_err().to_string(),
            "expected value at byte 3"
        );
    }

    #[test]
    fn strict_output_is_read_by_serde_json() {
        for input in [
            "NaN",
            "[NaN,Infinity,-Infinity]",
            r#"{"a":{"a":"\ud800"},"a":"\udfff","\ud83d":"\ud83d\ude00"}"#,
            r#""\u0000\u001f\"\\\/""#,
            "\u{FEFF}{\"a\":[1,-0,2.5e10,123456789012345678901234567890]}",
            r#"{"a":1,"a":2,"b":{"c":[],"c":{}}}"#,
            "\"\u{FDD0}\u{FFFF}\u{10FFFF}\"",
        ] {
            let out = to_strict(input.as_bytes()).unwrap();
            let value: Value = serde_json::from_slice(&out).unwrap();
            assert!(serde_json::from_slice::<Box<RawValue>>(&out).is_ok());
            // The strict text's value is the lossy value, but for markers.
            let lossy = lossy_value(input).unwrap();
            if !input.contains('N') && !input.contains("\\ud") {
                assert_eq!(value, lossy);
            }
        }
    }

    /// A random non-strict document, and what Python makes of it.
    mod random {
        use super::*;

        /// xorshift64*: reproducible, no dependency.
        pub(super) struct Rng(u64);

        impl Rng {
            pub(super) fn new(seed: u64) -> Self {
                Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
            }

            fn next(&mut self) -> u64 {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
            }

            pub(super) fn below(&mut self, n: usize) -> usize {
                (self.next() % n as u64) as usize
            }

            fn chance(&mut self, percent: usize) -> bool {
                self.below(100) < percent
            }

            fn pick<T: Copy>(&mut self, items: &[T]) -> T {
                items[self.below(items.len())]
            }
        }

        /// A value as Python holds it: strings are code points, lone surrogates included.
        #[derive(Clone, Debug)]
        pub(super) enum Py {
            Null,
            Bool(bool),
            Number(&'static str),
            Token(Token),
            Str(Vec<u32>),
            Array(Vec<Py>),
            /// The pairs as written, duplicates included.
            Object(Vec<(Vec<u32>, Py)>),
        }

        const NUMBERS: &[&str] = &[
            "0",
            "-0",
            "7",
            "-12",
            "3.25",
            "1e5",
            "1E+2",
            "-2.5e-3",
            "0.000001",
            "12345678901234567890123",
            "18446744073709551616",
            "1e400",
            "-1e400",
            "1e-400",
        ];

        /// Numbers serde_json's `Value` refuses.
        pub(super) fn overflows(number: &str) -> bool {
            number.ends_with("e400")
        }

        fn code_point(rng: &mut Rng) -> u32 {
            match rng.below(12) {
                0 => rng.below(0x20) as u32,
                1 => {
                    rng.pick(&['"', '\\', '/', '\u{7f}', '\u{2028}', '\u{FEFF}', '\u{FFFD}']) as u32
                }
                2 => 0xD800 + rng.below(0x400) as u32,
                3 => 0xDC00 + rng.below(0x400) as u32,
                4 => rng.pick(&[0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D, 0xDE00]),
                5 => rng.pick(&['é', '€', '😀', '\u{10FFFF}', 'ﷲ', '\u{F0000}']) as u32,
                _ => u32::from(b'a') + rng.below(4) as u32,
            }
        }

        fn string(rng: &mut Rng, max: usize) -> Vec<u32> {
            let mut units: Vec<u32> = Vec::new();
            for _ in 0..rng.below(max + 1) {
                let c = code_point(rng);
                // `json.loads` never yields a lone high surrogate right before a lone low
                // one: escaped, the two make a pair.
                let after_high = units.last().is_some_and(|u| (0xD800..0xDC00).contains(u));
                if !(after_high && (0xDC00..0xE000).contains(&c)) {
                    units.push(c);
                }
            }
            units
        }

        pub(super) fn value(rng: &mut Rng, depth: usize) -> Py {
            let kinds = if depth >= 4 { 6 } else { 9 };
            match rng.below(kinds) {
                0 => Py::Null,
                1 => Py::Bool(rng.chance(50)),
                2 => Py::Number(rng.pick(NUMBERS)),
                3 => Py::Token(rng.pick(&[Token::NaN, Token::Infinity, Token::NegInfinity])),
                4 | 5 => Py::Str(string(rng, 6)),
                6 => Py::Array((0..rng.below(5)).map(|_| value(rng, depth + 1)).collect()),
                _ => Py::Object(
                    (0..rng.below(12))
                        .map(|_| {
                            // Few distinct keys, so that many repeat.
                            let key = if rng.chance(70) {
                                vec![rng.pick(&[0x61, 0x62, 0xD800, 0xDC01, 0xE9, 0x1F600])]
                            } else {
                                string(rng, 3)
                            };
                            (key, value(rng, depth + 1))
                        })
                        .collect(),
                ),
            }
        }

        fn whitespace(rng: &mut Rng, out: &mut String) {
            while rng.chance(25) {
                out.push(rng.pick(&[' ', '\t', '\n', '\r']));
            }
        }

        fn escape(rng: &mut Rng, unit: u32, out: &mut String) {
            if rng.chance(50) {
                out.push_str(&format!("\\u{unit:04x}"));
            } else {
                out.push_str(&format!("\\u{unit:04X}"));
            }
        }

        fn write_str(rng: &mut Rng, units: &[u32], out: &mut String) {
            out.push('"');
            for &u in units {
                let short = match u {
                    0x22 => Some("\\\""),
                    0x5C => Some("\\\\"),
                    0x2F => Some("\\/"),
                    0x08 => Some("\\b"),
                    0x0C => Some("\\f"),
                    0x0A => Some("\\n"),
                    0x0D => Some("\\r"),
                    0x09 => Some("\\t"),
                    _ => None,
                };
                match char::from_u32(u) {
                    _ if (0xD800..0xE000).contains(&u) => escape(rng, u, out),
                    _ if u < 0x20 || u == 0x22 || u == 0x5C || rng.chance(20) => match short {
                        Some(short) if rng.chance(60) => out.push_str(short),
                        _ if u > 0xFFFF => {
                            let v = u - 0x10000;
                            escape(rng, 0xD800 + (v >> 10), out);
                            escape(rng, 0xDC00 + (v & 0x3FF), out);
                        }
                        _ => escape(rng, u, out),
                    },
                    Some(c) => out.push(c),
                    None => unreachable!(),
                }
            }
            out.push('"');
        }

        /// Non-strict JSON text for `value`, with random whitespace and escapes.
        pub(super) fn write(rng: &mut Rng, value: &Py, out: &mut String) {
            whitespace(rng, out);
            match value {
                Py::Null => out.push_str("null"),
                Py::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Py::Number(n) => out.push_str(n),
                Py::Token(t) => out.push_str(t.text()),
                Py::Str(units) => write_str(rng, units, out),
                Py::Array(items) => {
                    out.push('[');
                    whitespace(rng, out);
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write(rng, item, out);
                    }
                    out.push(']');
                }
                Py::Object(pairs) => {
                    out.push('{');
                    whitespace(rng, out);
                    for (i, (key, value)) in pairs.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                            whitespace(rng, out);
                        }
                        write_str(rng, key, out);
                        whitespace(rng, out);
                        out.push(':');
                        write(rng, value, out);
                    }
                    out.push('}');
                }
            }
            whitespace(rng, out);
        }

        /// The text `restore(to_strict(...))` must give: compact, Python's `dict` for
        /// objects, lone surrogates as lowercase escapes, control characters as
        /// serde_json escapes them.
        pub(super) fn canonical(value: &Py, out: &mut String) {
            match value {
                Py::Null => out.push_str("null"),
                Py::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Py::Number(n) => out.push_str(n),
                Py::Token(t) => out.push_str(t.text()),
                Py::Str(units) => {
                    out.push('"');
                    for &u in units {
                        match (u, char::from_u32(u)) {
                            (0x22, _) => out.push_str("\\\""),
                            (0x5C, _) => out.push_str("\\\\"),
                            (0x08, _) => out.push_str("\\b"),
                            (0x0C, _) => out.push_str("\\f"),
                            (0x0A, _) => out.push_str("\\n"),
                            (0x0D, _) => out.push_str("\\r"),
                            (0x09, _) => out.push_str("\\t"),
                            (_, Some(c)) if u >= 0x20 => out.push(c),
                            _ => out.push_str(&format!("\\u{u:04x}")),
                        }
                    }
                    out.push('"');
                }
                Py::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        canonical(item, out);
                    }
                    out.push(']');
                }
                Py::Object(pairs) => {
                    let mut dict: Vec<(&Vec<u32>, &Py)> = Vec::new();
                    for (key, value) in pairs {
                        match dict.iter_mut().find(|(k, _)| *k == key) {
                            Some(entry) => entry.1 = value,
                            None => dict.push((key, value)),
                        }
                    }
                    out.push('{');
                    for (i, (key, value)) in dict.into_iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        canonical(&Py::Str(key.clone()), out);
                        out.push(':');
                        canonical(value, out);
                    }
                    out.push('}');
                }
            }
        }

        fn lossy_string(units: &[u32]) -> String {
            units
                .iter()
                .map(|&u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }

        /// What `lossy_value` must give: the pairs inserted in order into a `Map`.
        pub(super) fn lossy(value: &Py) -> Value {
            match value {
                Py::Null | Py::Token(_) => Value::Null,
                Py::Bool(b) => Value::Bool(*b),
                Py::Number(n) => serde_json::from_str(n).unwrap_or(Value::Null),
                Py::Str(units) => Value::String(lossy_string(units)),
                Py::Array(items) => Value::Array(items.iter().map(lossy).collect()),
                Py::Object(pairs) => {
                    let mut map = Map::new();
                    for (key, value) in pairs {
                        map.insert(lossy_string(key), lossy(value));
                    }
                    Value::Object(map)
                }
            }
        }

        pub(super) fn any_overflow(value: &Py) -> bool {
            match value {
                Py::Number(n) => overflows(n),
                Py::Array(items) => items.iter().any(any_overflow),
                Py::Object(pairs) => pairs.iter().any(|(_, v)| any_overflow(v)),
                _ => false,
            }
        }
    }

    #[test]
    fn random_round_trips() {
        for seed in 0..3000 {
            let mut rng = random::Rng::new(seed);
            let value = random::value(&mut rng, 0);
            let mut text = String::new();
            if rng.below(10) == 0 {
                text.push('\u{FEFF}');
            }
            random::write(&mut rng, &value, &mut text);
            let mut expected = String::new();
            random::canonical(&value, &mut expected);

            let out = to_strict(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            assert!(
                serde_json::from_slice::<Box<RawValue>>(&out).is_ok(),
                "{text:?}"
            );
            if !random::any_overflow(&value) {
                assert!(serde_json::from_slice::<Value>(&out).is_ok(), "{text:?}");
            }
            let out = String::from_utf8(out).unwrap();
            let restored = restore(&out);
            assert_eq!(
                restored.as_deref().unwrap_or(&out),
                expected,
                "seed {seed}: {text:?}"
            );
            assert_eq!(restored.is_some(), expected != out, "seed {seed}");
            // Restored text reads back to the same strict text.
            assert_eq!(strict(&expected), out, "seed {seed}");
            assert_eq!(
                lossy_value(&text).unwrap(),
                random::lossy(&value),
                "seed {seed}: {text:?}"
            );
        }
    }

    #[test]
    fn random_truncations_are_rejected_or_read() {
        // Every prefix of a random document is an error or a document; never a panic.
        for seed in 0..200 {
            let mut rng = random::Rng::new(seed + 10_000);
            let value = random::value(&mut rng, 0);
            let mut text = String::new();
            random::write(&mut rng, &value, &mut text);
            let bytes = text.as_bytes();
            for end in 0..bytes.len() {
                if let Ok(out) = to_strict(&bytes[..end]) {
                    assert!(serde_json::from_slice::<Box<RawValue>>(&out).is_ok());
                }
                if let Ok(prefix) = std::str::from_utf8(&bytes[..end]) {
                    let _ = lossy_value(prefix);
                }
            }
        }
    }
}
