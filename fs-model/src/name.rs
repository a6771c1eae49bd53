//! Names as a person reads them. A file name may hold any byte but `/` and
//! NUL: a newline, a terminal escape sequence, bytes that are not UTF-8.
//! Every human view (the plan, `show`, apply's log lines, error messages)
//! prints names through [`display`] and messages through [`one_line`], so
//! no name can forge a line of a plan or drive the reviewer's terminal. The
//! JSON plan keeps names exactly.

use std::borrow::Cow;
use std::fmt::Write;

/// `name` as it is when every character is printable and it holds no `"`
/// or `\`; otherwise in double quotes with C-style escapes (`\n`, `\t`,
/// `\"`, `\\`, `\x1b`, `\u{202e}`, and each byte that is not UTF-8 as
/// `\xff`), as git quotes paths. Unambiguous: a quoted name always starts
/// with `"`, and a name that starts with `"` is always quoted.
pub fn display<T: AsRef<[u8]> + ?Sized>(name: &T) -> Cow<'_, str> {
    escape(name.as_ref(), true)
}

/// A message (which may hold names someone formatted into it) on one line:
/// control and invisible formatting characters escaped as in [`display`],
/// everything else, quotes included, as it is.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text.as_bytes(), false)
}

fn escape(bytes: &[u8], quote: bool) -> Cow<'_, str> {
    let special = |c: char| needs_escape(c) || (quote && matches!(c, '"' | '\\'));
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !text.chars().any(special) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    if quote {
        out.push('"');
    }
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '"' | '\\' if quote => {
                    out.push('\\');
                    out.push(c);
                }
                c if c.is_ascii() && needs_escape(c) => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if needs_escape(c) => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    if quote {
        out.push('"');
    }
    Cow::Owned(out)
}

/// The bytes a [`display`] spelling stands for: its inverse, so an escaped
/// name round-trips. `None` for text `display` never produces.
pub fn parse_display(shown: &str) -> Option<Vec<u8>> {
    let Some(inner) = shown.strip_prefix('"') else {
        return Some(shown.as_bytes().to_vec());
    };
    let mut chars = inner.strip_suffix('"')?.chars();
    let mut bytes = Vec::with_capacity(inner.len());
    while let Some(c) = chars.next() {
        if c != '\\' {
            bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            continue;
        }
        match chars.next()? {
            'n' => bytes.push(b'\n'),
            't' => bytes.push(b'\t'),
            'r' => bytes.push(b'\r'),
            c @ ('"' | '\\') => bytes.push(c as u8),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                bytes.push(u8::from_str_radix(&hex, 16).ok()?);
            }
            'u' => {
                let rest = chars.as_str().strip_prefix('{')?;
                let (hex, after) = rest.split_once('}')?;
                let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                chars = after.chars();
            }
            _ => return None,
        }
    }
    Some(bytes)
}

/// Control characters, and the invisible ones that reorder or hide text
/// (bidirectional overrides, zero-width characters, line separators).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_shown_as_they_are() {
        assert!(matches!(display("report 2024 été.csv"), Cow::Borrowed(_)));
        assert_eq!(display("a/b c"), "a/b c");
    }

    #[test]
    fn control_characters_quotes_and_invalid_bytes_are_escaped_in_quotes() {
        assert_eq!(display("x\n  + forged"), r#""x\n  + forged""#);
        assert_eq!(display("\x1b[8m"), r#""\x1b[8m""#);
        assert_eq!(display(b"bad\xff".as_slice()), r#""bad\xff""#);
        assert_eq!(display("say \"hi\"\\"), r#""say \"hi\"\\""#);
        assert_eq!(display("evil\u{202e}txt"), r#""evil\u{202e}txt""#);
        // A name spelt like an escape is told apart from the escaped one.
        assert_ne!(display(r"bad\xff"), display(b"bad\xff".as_slice()));
    }

    #[test]
    fn every_spelling_round_trips_to_its_bytes() {
        let names: [&[u8]; 9] = [
            b"plain",
            b"x\n  + forged",
            b"\x1b[8m",
            b"bad\xff",
            b"caf\xe9.txt",
            "say \"hi\"\\ \u{202e}\u{85}".as_bytes(),
            b"\xff\xfe\x80",
            br"bad\xff",
            b"\"quoted\"",
        ];
        for name in names {
            assert_eq!(parse_display(&display(name)).as_deref(), Some(name));
        }
        // Every pair of bytes, between two letters.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let name = [b'a', a, b, b'z'];
                assert_eq!(
                    parse_display(&display(&name[..])).as_deref(),
                    Some(&name[..])
                );
            }
        }
    }

    #[test]
    fn a_message_stays_on_one_line_with_its_quotes() {
        assert_eq!(one_line("open \"a\": gone"), "open \"a\": gone");
        assert_eq!(one_line("a\nb\x1b"), r"a\nb\x1b");
    }
}
