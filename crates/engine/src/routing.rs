//! One `Source` over several: each location goes to the first source that claims it (a Drive
//! link, `s3://…`), the rest to the fallback (folders, uploads). A source that is known but not
//! configured answers with the message saying how to configure it.

use std::sync::Arc;

use async_trait::async_trait;
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
