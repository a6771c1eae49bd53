//! Did you mean: a TOML or shape mistake with a suggestion for the key or
//! value a typo most likely meant.

use super::ManifestError;

/// A TOML or shape mistake, as the toml crate reports it, with a label that
/// says what is wrong and a suggestion for a misspelt key or value.
pub(super) fn toml_error(error: &toml::de::Error) -> ManifestError {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim().to_string();
    // serde's wording: "unknown field `mdoe`, expected one of `name`, ...".
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (label, suggest) = if message.starts_with("unknown field") {
        ("unknown key".to_string(), true)
    } else if message.starts_with("unknown variant") {
        ("not an allowed value".to_string(), true)
    } else if let (true, Some(field)) = (message.starts_with("missing field"), quoted.first()) {
        (format!("this table has no `{field}`"), false)
    } else {
        ("here".to_string(), false)
    };
    let mut mistake = ManifestError::at(span, message.clone(), label);
    if let (true, Some((written, expected))) = (suggest, quoted.split_first()) {
        if let Some(close) = closest(written, expected) {
            mistake.help = Some(format!("did you mean `{close}`?"));
        }
    }
    mistake
}

/// The candidate a typo most likely meant: one or two edits away (a swap
/// of neighbours counts as one), or one the text is the start of.
pub(super) fn closest<'c>(text: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let text = text.to_lowercase();
    let limit = (text.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&text, c), *c))
        .filter(|(distance, c)| {
            *distance <= limit || (text.chars().count() >= 3 && c.starts_with(text.as_str()))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and swaps of two neighbours.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}
