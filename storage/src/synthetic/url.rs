//! The parameters of a synthetic tree, as its URL writes them:
//! `synthetic://NAME?files=N&fanout=F&depth=D&seed=S&sizes=MIN-MAX&differ=X&sink=true`.

use std::ops::Range;

/// What a synthetic tree is: enough to compute any folder's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// A free label: trees of equal parameters but other names are
    /// other filesystems.
    pub name: String,
    pub files: u64,
    /// Entries per folder (files per folder too, unless `depth` is given).
    pub fanout: u64,
    /// Levels of folders below the root; the files are in the deepest.
    pub depth: u32,
    /// Whether `depth` was written (then the deepest folders hold as many
    /// files as it takes, not `fanout`).
    pub depth_given: bool,
    pub seed: u64,
    /// File sizes, both ends included.
    pub sizes: (u64, u64),
    /// Files that differ from the tree of the same seed, in parts per million.
    pub differ_ppm: u32,
    /// Writes accepted and discarded.
    pub sink: bool,
}

/// A URL refused: why, where in the URL (bytes), and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    pub message: String,
    pub at: Range<usize>,
    /// What is wrong there, in a few words.
    pub label: &'static str,
    pub help: String,
}

pub const SCHEME: &str = "synthetic://";

/// The widest folder a tree may have: one listing is held whole.
const MAX_FANOUT: u64 = 1_000_000;
const MAX_DEPTH: u32 = 32;

const PARAMETERS: &str = "files=N (required), fanout=F (default 100), depth=D, seed=S (default 0), sizes=MIN-MAX (default 4k-64k), differ=FRACTION (default 0), sink=true|false (default false)";

impl Shape {
    /// Parses a whole URL; `path` is what follows the name, before `?`
    /// (`/` when there is none).
    pub fn parse(url: &str) -> Result<(Shape, String), UrlError> {
        let fail = |message: String, at: Range<usize>, label, help: &str| UrlError {
            message,
            at,
            label,
            help: help.to_string(),
        };
        let Some(rest) = url.strip_prefix(SCHEME) else {
            return Err(fail(
                format!("`{url}` is not a {SCHEME} URL"),
                0..url.len(),
                "not synthetic://",
                "write synthetic://NAME?files=N",
            ));
        };
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let query_start = SCHEME.len() + location.len() + 1;
        let (name, path) = location.split_at(location.find('/').unwrap_or(location.len()));
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(fail(
                format!("`{url}` names no tree"),
                SCHEME.len()..SCHEME.len() + name.len(),
                "no name",
                "write a name of letters, digits, `-` or `_` after synthetic://, e.g. synthetic://tree?files=1000",
            ));
        }
        let mut shape = Shape {
            name: name.to_string(),
            files: 0,
            fanout: 100,
            depth: 0,
            depth_given: false,
            seed: 0,
            sizes: (4 << 10, 64 << 10),
            differ_ppm: 0,
            sink: false,
        };
        let mut files = None;
        let mut offset = query_start;
        for pair in query.split('&') {
            let at = offset..offset + pair.len();
            offset = at.end + 1;
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let bad = |what: &str| {
                fail(
                    format!("`{pair}`: {what}"),
                    at.clone(),
                    "not a valid value",
                    PARAMETERS,
                )
            };
            match key {
                "files" => files = Some(number(value).ok_or_else(|| bad("not a number of files"))?),
                "fanout" => {
                    shape.fanout = number(value)
                        .filter(|f| (2..=MAX_FANOUT).contains(f))
                        .ok_or_else(|| bad("the fanout is a number from 2 to 1000000"))?;
                }
                "depth" => {
                    shape.depth = number(value)
                        .and_then(|d| u32::try_from(d).ok())
                        .filter(|d| *d <= MAX_DEPTH)
                        .ok_or_else(|| bad("the depth is a number from 0 to 32"))?;
                    shape.depth_given = true;
                }
                "seed" => shape.seed = number(value).ok_or_else(|| bad("not a seed (a number)"))?,
                "sizes" => {
                    shape.sizes = sizes(value)
                        .ok_or_else(|| bad("sizes are MIN-MAX (MIN at most MAX) or one size, in bytes or with k, m or g (KiB, MiB, GiB), e.g. 4k-64k"))?;
                }
                "differ" => {
                    shape.differ_ppm = value
                        .parse::<f64>()
                        .ok()
                        .filter(|x| (0.0..=1.0).contains(x))
                        .map(|x| (x * 1e6).round() as u32)
                        .ok_or_else(|| bad("the fraction of files that differ is a number from 0 to 1, e.g. 0.01"))?;
                }
                "sink" => {
                    shape.sink = match value {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad("sink is true or false")),
                    }
                }
                _ => {
                    return Err(fail(
                        format!("unknown parameter `{key}`"),
                        at.start..at.start + key.len(),
                        "unknown parameter",
                        PARAMETERS,
                    ))
                }
            }
        }
        shape.files = files.ok_or_else(|| {
            fail(
                format!("`{url}` says no number of files"),
                0..url.len(),
                "no files=",
                "add files=N, e.g. synthetic://tree?files=1000000",
            )
        })?;
        if !shape.depth_given {
            // The fewest levels that keep every folder within the fanout.
            let mut capacity = u128::from(shape.fanout);
            while capacity < u128::from(shape.files) {
                capacity *= u128::from(shape.fanout);
                shape.depth += 1;
            }
        }
        let path = if path.is_empty() { "/" } else { path };
        Ok((shape, path.to_string()))
    }

    /// The URL that names this tree, its parameters in one order, so that
    /// two spellings of one tree are one filesystem.
    pub fn url(&self) -> String {
        let mut url = format!(
            "{SCHEME}{}?files={}&fanout={}",
            self.name, self.files, self.fanout
        );
        if self.depth_given {
            url += &format!("&depth={}", self.depth);
        }
        url += &format!(
            "&seed={}&sizes={}-{}",
            self.seed, self.sizes.0, self.sizes.1
        );
        if self.differ_ppm > 0 {
            url += &format!("&differ={}", f64::from(self.differ_ppm) / 1e6);
        }
        if self.sink {
            url += "&sink=true";
        }
        url
    }
}

fn number(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// `4k-64k`, `1m`, `0-100`: both ends included.
fn sizes(text: &str) -> Option<(u64, u64)> {
    let (min, max) = text.split_once('-').unwrap_or((text, text));
    let (min, max) = (size(min)?, size(max)?);
    (min <= max).then_some((min, max))
}

fn size(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let lower = lower
        .strip_suffix("ib")
        .or(lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (digits, shift) = match lower.as_bytes().last()? {
        b'k' => (&lower[..lower.len() - 1], 10),
        b'm' => (&lower[..lower.len() - 1], 20),
        b'g' => (&lower[..lower.len() - 1], 30),
        _ => (lower, 0),
    };
    number(digits)?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_its_parameters_and_defaults() {
        let (shape, path) = Shape::parse("synthetic://tree?files=10000000&seed=7").unwrap();
        assert_eq!(path, "/");
        assert_eq!(
            (shape.files, shape.fanout, shape.seed),
            (10_000_000, 100, 7)
        );
        assert_eq!(shape.sizes, (4096, 65536));
        // 100^3 < 10^7 <= 100^4: three levels of folders, then files.
        assert_eq!(shape.depth, 3);
        assert!(!shape.sink);
    }

    #[test]
    fn two_spellings_of_one_tree_have_one_url() {
        let a =
            Shape::parse("synthetic://t?sizes=1k-2KiB&files=1_000&differ=0.010&sink=true").unwrap();
        let b = Shape::parse("synthetic://t/sub?sink=true&differ=0.01&files=1000&sizes=1024-2048")
            .unwrap();
        assert_eq!(a.0, b.0);
        assert_eq!(b.1, "/sub");
        assert_eq!(
            a.0.url(),
            "synthetic://t?files=1000&fanout=100&seed=0&sizes=1024-2048&differ=0.01&sink=true"
        );
        assert_eq!(Shape::parse(&a.0.url()).unwrap().0, a.0);
    }

    #[test]
    fn a_malformed_url_says_which_parameter_and_where() {
        for (url, bad) in [
            ("synthetic://tree?files=10&fanout=1", "fanout=1"),
            ("synthetic://tree?files=ten", "files=ten"),
            ("synthetic://tree?files=10&sizes=64k-4k", "sizes=64k-4k"),
            ("synthetic://tree?files=10&differ=2", "differ=2"),
            ("synthetic://tree?files=10&sink=yes", "sink=yes"),
            ("synthetic://tree?files=10&fanuot=5", "fanuot"),
            ("synthetic://?files=10", ""),
        ] {
            let error = Shape::parse(url).unwrap_err();
            assert_eq!(&url[error.at.clone()], bad, "{url}: {error:?}");
        }
        let error = Shape::parse("synthetic://tree?seed=1").unwrap_err();
        assert!(error.message.contains("no number of files"), "{error:?}");
    }
}
