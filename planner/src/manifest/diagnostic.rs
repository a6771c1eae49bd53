//! Manifest mistakes, rendered by miette against the manifest's own text.

use std::ops::Range;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

/// One mistake in a manifest, pointing at the span that holds it.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(hsync::manifest))]
pub struct ManifestError {
    pub message: String,
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    /// Other spans the mistake involves, such as the first of two duplicates.
    #[label(collection)]
    pub also: Vec<LabeledSpan>,
    #[help]
    pub help: Option<String>,
}

impl ManifestError {
    pub fn at(span: Range<usize>, message: impl Into<String>, label: impl Into<String>) -> Self {
        ManifestError {
            message: message.into(),
            span: Some(span.into()),
            label: label.into(),
            also: Vec::new(),
            help: None,
        }
    }

    /// Points at one more span the mistake involves.
    pub fn also(&mut self, span: Range<usize>, label: impl Into<String>) -> &mut Self {
        let span = SourceSpan::from(span);
        self.also
            .push(LabeledSpan::new_with_span(Some(label.into()), span));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Everything wrong with one manifest, reported together.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{} in the manifest {}", count(.errors.len()), .src.name())]
#[diagnostic(code(hsync::manifest::invalid))]
pub struct InvalidManifest {
    #[source_code]
    pub src: NamedSource<String>,
    #[related]
    pub errors: Vec<ManifestError>,
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 mistake".to_string()
    } else {
        format!("{n} mistakes")
    }
}

/// A manifest that could not be read at all.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("cannot read the manifest {path}: {source}")]
#[diagnostic(
    code(hsync::manifest::read),
    help("name another manifest with -m FILE")
)]
pub struct UnreadableManifest {
    pub path: String,
    pub source: std::io::Error,
}
