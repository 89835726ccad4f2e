//! `UploadStore`: records under fresh keys, tickets only for uploads that exist, files listed in
//! name order once they have arrived and read back whole, and what one owner keeps.

use std::sync::Arc;

use isoscan_core::protocol::UploadPurpose;

use crate::ports::*;

/// Stores a file at an upload ticket's URL, as the client's PUT would.
pub type PutFn = Arc<
    dyn Fn(UploadTicket, String, Vec<u8>) -> futures::future::BoxFuture<'static, ()> + Send + Sync,
>;

fn meta(owner: &str, purpose: UploadPurpose, announced: u64) -> UploadMeta {
    UploadMeta {
        owner: owner.into(),
        purpose,
        announced,
    }
}

/// `owner` must be used by no other run of the suite on the same store.
pub async fn upload_store(store: Arc<dyn UploadStore>, put: PutFn, owner: &str) {
    let other = format!("{owner}-other");
    for bad in ["", "../x", "0123456789abcdef0123456789abcdef", "a/b"] {
        assert!(
            matches!(store.meta(bad).await, Err(UploadError::NotFound(_))),
            "{bad:?} names no upload"
        );
        assert!(
            store.ticket(bad, "a.pdf", 1).await.is_err(),
            "no ticket for {bad:?}"
        );
    }
    let before = store.usage(owner).await.expect("usage");

    let list = store
        .create(&meta(owner, UploadPurpose::Targets, 6))
        .await
        .expect("create");
    let drawings = store
        .create(&meta(owner, UploadPurpose::Drawings, 4))
        .await
        .expect("create");
    assert_ne!(list, drawings, "each upload has its own key");
    assert_eq!(
        store.meta(&list).await.expect("meta"),
        meta(owner, UploadPurpose::Targets, 6)
    );
    assert!(store.files(&list).await.expect("files").is_empty());
    if let (Some(b), Some(now)) = (before, store.usage(owner).await.expect("usage")) {
        assert_eq!(
            (now.waiting, now.bytes),
            (b.waiting + 2, b.bytes + 10),
            "two uploads wait, with what they announced"
        );
    }

    let t = store.ticket(&list, "codes.csv", 6).await.expect("ticket");
    assert_eq!(t.key, list);
    assert!(t.expires_in > 0);
    put(t, "codes.csv".into(), b"A\nB\nC\n".to_vec()).await;
    assert_eq!(
        store.files(&list).await.expect("files"),
        [("codes.csv".to_string(), 6)]
    );
    assert_eq!(
        store.read(&list, "codes.csv").await.expect("read"),
        b"A\nB\nC\n"
    );
    assert!(matches!(
        store.read(&list, "other.csv").await,
        Err(UploadError::NotFound(_))
    ));

    // Several files in one upload, listed in name order whatever order they came in.
    for name in ["b.pdf", "a.pdf"] {
        let t = store.ticket(&drawings, name, 4).await.expect("ticket");
        put(t, name.into(), b"%PDF".to_vec()).await;
    }
    assert_eq!(
        store.files(&drawings).await.expect("files"),
        [("a.pdf".to_string(), 4), ("b.pdf".to_string(), 4)]
    );
    if let (Some(b), Some(now)) = (before, store.usage(owner).await.expect("usage")) {
        assert_eq!(
            (now.waiting, now.bytes),
            (b.waiting, b.bytes + 6 + 8),
            "arrived files count as stored"
        );
    }
    // Another owner's uploads are not this owner's usage.
    store
        .create(&meta(&other, UploadPurpose::Drawings, 1 << 20))
        .await
        .expect("create");
    if let (Some(b), Some(now)) = (before, store.usage(owner).await.expect("usage")) {
        assert_eq!((now.waiting, now.bytes), (b.waiting, b.bytes + 14));
    }
}
