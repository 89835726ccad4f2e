//! One `Source` over several: each location goes to the first source that claims it (a Drive
//! link, `s3://…`), the rest to the fallback (folders, uploads). A source that is known but not
//! configured answers with the message saying how to configure it. [`Fenced`] refuses the S3
//! locations an operator did not allow, before any request (`isoscan serve` and the Lambdas).

use std::sync::Arc;

use async_trait::async_trait;
use isoscan_core::location::Location;
use isoscan_core::result::FileRef;

use crate::ports::{ListPage, Source, SourceError};

type Claims = Box<dyn Fn(&str) -> bool + Send + Sync>;

pub struct Route {
    claims: Claims,
    /// The source, or why it cannot be used here.
    source: Result<Arc<dyn Source>, String>,
}

impl Route {
    pub fn new(
        claims: impl Fn(&str) -> bool + Send + Sync + 'static,
        source: Arc<dyn Source>,
    ) -> Route {
        Route {
            claims: Box::new(claims),
            source: Ok(source),
        }
    }

    /// Locations this route claims are refused with `why` (e.g. no Drive credentials).
    pub fn unavailable(
        claims: impl Fn(&str) -> bool + Send + Sync + 'static,
        why: impl Into<String>,
    ) -> Route {
        Route {
            claims: Box::new(claims),
            source: Err(why.into()),
        }
    }
}

pub struct RoutedSource {
    routes: Vec<Route>,
    fallback: Arc<dyn Source>,
}

impl RoutedSource {
    pub fn new(routes: Vec<Route>, fallback: Arc<dyn Source>) -> RoutedSource {
        RoutedSource { routes, fallback }
    }

    fn pick(&self, location: &str) -> Result<&Arc<dyn Source>, SourceError> {
        match self.routes.iter().find(|r| (r.claims)(location)) {
            Some(Route { source: Ok(s), .. }) => Ok(s),
            Some(Route {
                source: Err(why), ..
            }) => Err(SourceError::Invalid(why.clone())),
            None => Ok(&self.fallback),
        }
    }
}

#[async_trait]
impl Source for RoutedSource {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        self.pick(location)?.check(location).await
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        self.pick(location)?.list(location, cursor).await
    }

    async fn fetch(
        &self,
        location: &str,
        file: &FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        self.pick(location)?.fetch(location, file, max_bytes).await
    }

    async fn relink(&self, location: &str, file: &FileRef) -> Option<String> {
        self.pick(location).ok()?.relink(location, file).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemorySource;

    #[tokio::test]
    async fn locations_go_to_the_source_that_claims_them() {
        let mut one = MemorySource::default();
        one.files.insert("one.pdf".into(), vec![]);
        one.page_size = 10;
        let r = RoutedSource::new(
            vec![
                Route::new(|l| l == "memory:", Arc::new(one)),
                Route::unavailable(
                    |l| l.starts_with("https://drive"),
                    "Drive is not configured: give a key",
                ),
            ],
            Arc::new(MemorySource::default()),
        );
        assert_eq!(r.list("memory:", None).await.unwrap().files.len(), 1);
        // Not claimed: the fallback answers (it knows no such folder).
        assert_eq!(
            r.check("/elsewhere").await.unwrap_err(),
            SourceError::NotFound("/elsewhere".into())
        );
        let e = r
            .check("https://drive.google.com/drive/folders/x")
            .await
            .unwrap_err();
        assert_eq!(
            e,
            SourceError::Invalid("Drive is not configured: give a key".into())
        );
    }
}

/// Which S3 locations may be read: `s3://bucket/prefix` each with everything under it (a bare
/// bucket name is the whole bucket).
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    pub s3: Vec<String>,
    pub drive: bool,
}

impl Allowed {
    /// Whether `location` is one of the allowed S3 locations or lies under one: a prefix is a
    /// folder, so `s3://b/proj` allows `s3://b/proj/x` but not `s3://b/project2`.
    pub fn allows_s3(&self, location: &str) -> bool {
        // A malformed location (`..`, empty segments) is refused rather than reasoned about.
        let Ok(loc @ Location::S3 { .. }) = Location::parse(location) else {
            return false;
        };
        self.s3.iter().any(|a| {
            let with_scheme = if a.starts_with("s3://") {
                a.clone()
            } else {
                format!("s3://{a}")
            };
            Location::parse(&with_scheme).is_ok_and(|a| loc.is_under(&a))
        })
    }
}

/// A source that refuses, before any request, the S3 locations its operator did not allow;
/// `hint` says how an operator allows one.
pub struct Fenced {
    inner: Arc<dyn Source>,
    allowed: Allowed,
    hint: String,
}

impl Fenced {
    pub fn new(inner: Arc<dyn Source>, allowed: Allowed, hint: impl Into<String>) -> Fenced {
        Fenced {
            inner,
            allowed,
            hint: hint.into(),
        }
    }

    fn fence(&self, location: &str) -> Result<(), SourceError> {
        if self.allowed.allows_s3(location) {
            return Ok(());
        }
        Err(SourceError::Forbidden(format!("{location}: {}", self.hint)))
    }
}

#[async_trait]
impl Source for Fenced {
    async fn check(&self, location: &str) -> Result<(), SourceError> {
        self.fence(location)?;
        self.inner.check(location).await
    }

    async fn list(&self, location: &str, cursor: Option<&str>) -> Result<ListPage, SourceError> {
        self.fence(location)?;
        self.inner.list(location, cursor).await
    }

    async fn fetch(
        &self,
        location: &str,
        file: &FileRef,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SourceError> {
        self.fence(location)?;
        self.inner.fetch(location, file, max_bytes).await
    }

    async fn relink(&self, location: &str, file: &FileRef) -> Option<String> {
        self.fence(location).ok()?;
        self.inner.relink(location, file).await
    }
}
