//! The text being validated, and the helpers that turn spans into `file:line:column`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::{ConfigError, EnvLookup, Location};

/// One configuration file under validation.
pub(super) struct Source<'a> {
    path: &'a Path,
    text: &'a str,
    env: EnvLookup<'a>,
}

impl<'a> Source<'a> {
    pub(super) fn new(path: &'a Path, text: &'a str, env: EnvLookup<'a>) -> Self {
        Self { path, text, env }
    }

    /// The 1-based line and column of byte `offset`.
    pub(super) fn location(&self, offset: usize) -> Location {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Location::File {
            path: self.path.to_owned(),
            line,
            column,
        }
    }

    pub(super) fn syntax_error(&self, error: &toml::de::Error) -> ConfigError {
        let offset = error.span().map_or(0, |span| span.start);
        ConfigError::Syntax {
            location: self.location(offset),
            message: error.message().trim_end().to_owned(),
        }
    }

    pub(super) fn invalid(
        &self,
        span: Range<usize>,
        key: &str,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            location: self.location(span.start),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    pub(super) fn invalid_at_start(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        self.invalid(0..0, key, reason)
    }

    pub(super) fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|value| !value.is_empty())
    }

    /// A value that an environment variable overrides when set.
    pub(super) fn overridable<T>(
        &self,
        key: &str,
        env_name: &str,
        raw: Option<&Spanned<String>>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        if let Some(value) = self.env(env_name) {
            return parse(&value)
                .map(Some)
                .map_err(|reason| ConfigError::Invalid {
                    location: Location::Env(env_name.to_owned()),
                    key: key.to_owned(),
                    reason,
                });
        }
        raw.map(|value| {
            parse(value.get_ref()).map_err(|reason| self.invalid(value.span(), key, reason))
        })
        .transpose()
    }

    /// `path` made absolute against the configuration file's folder.
    pub(super) fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            return path.to_owned();
        }
        self.path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(path)
    }

    /// A path that must exist, with `default` used when the key is absent.
    pub(super) fn existing_path(
        &self,
        key: &str,
        raw: Option<&Spanned<String>>,
        default: &str,
    ) -> Result<PathBuf, ConfigError> {
        let (written, span) = raw.map_or((default, 0..0), |v| (v.get_ref().as_str(), v.span()));
        let resolved = self.resolve(written);
        if !resolved.exists() {
            let reason = format!("`{}` does not exist", resolved.display());
            return Err(self.invalid(span, key, reason));
        }
        Ok(resolved)
    }

    /// Reads a secret from a file, trimming the final newline.
    pub(super) fn secret_file(
        &self,
        key: &str,
        raw: &Spanned<String>,
    ) -> Result<String, ConfigError> {
        let path = self.resolve(raw.get_ref());
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.invalid(
                raw.span(),
                key,
                format!("cannot read `{}`: {e}", path.display()),
            )
        })?;
        let text = text.trim_end_matches(['\n', '\r']).to_owned();
        if text.is_empty() {
            return Err(self.invalid(raw.span(), key, format!("`{}` is empty", path.display())));
        }
        Ok(text)
    }

    /// PEM text from the environment variable `env_name`, else from the file named by `raw`.
    pub(super) fn pem_secret(
        &self,
        key: &str,
        env_name: &str,
        raw: Option<&Spanned<String>>,
    ) -> Result<Option<String>, ConfigError> {
        let (pem, location) = match (self.env(env_name), raw) {
            (Some(pem), _) => (pem, Location::Env(env_name.to_owned())),
            (None, Some(file)) => (
                self.secret_file(key, file)?,
                self.location(file.span().start),
            ),
            (None, None) => return Ok(None),
        };
        if !pem.contains("-----BEGIN ") {
            return Err(ConfigError::Invalid {
                location,
                key: key.to_owned(),
                reason: "is not PEM (no `-----BEGIN` line)".into(),
            });
        }
        Ok(Some(pem))
    }
}
