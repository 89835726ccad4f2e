//! The local sources on their own: archive limits, allowed roots, links that leave them.

use isoscan_engine::ports::{Source, SourceError};
use isoscan_local::source::{LocalSource, ZipLimits};

#[tokio::test]
async fn zip_archives_over_the_entry_limit_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("many.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).expect("zip"));
    for i in 0..5 {
        z.start_file(
            format!("d{i}.pdf"),
            zip::write::SimpleFileOptions::default(),
        )
        .expect("entry");
        std::io::Write::write_all(&mut z, b"%PDF-1.4").expect("write");
    }
    z.finish().expect("finish");
    let loc = path.to_string_lossy().into_owned();
    let strict = LocalSource::new(None).with_zip_limits(ZipLimits {
        max_entries: 4,
        max_total_bytes: 1 << 30,
    });
    match strict.list(&loc, None).await {
        Err(SourceError::Invalid(m)) => assert!(m.contains("5 entries"), "{m}"),
        other => panic!("{other:?}"),
    }
    let small = LocalSource::new(None).with_zip_limits(ZipLimits {
        max_entries: 10,
        max_total_bytes: 20,
    });
    assert!(matches!(
        small.list(&loc, None).await,
        Err(SourceError::Invalid(_))
    ));
    let ok = LocalSource::new(None);
    assert_eq!(ok.list(&loc, None).await.expect("list").files.len(), 5);
    // A file over the size limit is a file error, not a scan error.
    let file = ok.list(&loc, None).await.expect("list").files[0].clone();
    assert!(matches!(
        ok.fetch(&loc, &file, 4).await,
        Err(SourceError::File(_))
    ));
}

#[cfg(unix)]
#[tokio::test]
async fn a_server_reads_only_under_its_roots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("allowed");
    let outside = dir.path().join("private");
    std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(root.join("sub/a.pdf"), b"%PDF-1.4").expect("write");
    std::fs::write(outside.join("secret.pdf"), b"%PDF-1.4").expect("write");
    std::os::unix::fs::symlink(outside.join("secret.pdf"), root.join("sub/link.pdf"))
        .expect("symlink");
    std::os::unix::fs::symlink(&outside, root.join("sub/private")).expect("symlink");
    let src = LocalSource::new(Some(vec![root.clone()]));
    let loc = root.to_string_lossy().into_owned();
    let page = src.list(&loc, None).await.expect("list");
    let files: Vec<&str> = page.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(files, vec!["sub/a.pdf"]);
    let errors: Vec<&str> = page.errors.iter().map(|(f, _)| f.path.as_str()).collect();
    assert_eq!(errors, vec!["sub/link.pdf", "sub/private"]);
    assert!(page
        .errors
        .iter()
        .all(|(_, why)| why.contains("leaves the allowed folders")));
    let o = outside.to_string_lossy().into_owned();
    assert!(
        matches!(src.check(&o).await, Err(SourceError::Forbidden(m)) if m.contains("outside the allowed folders"))
    );
    let dotdot = format!("{}/../private", root.display());
    assert!(matches!(
        src.check(&dotdot).await,
        Err(SourceError::Forbidden(_))
    ));
    let link = isoscan_core::result::FileRef {
        id: None,
        path: "sub/link.pdf".into(),
        size: None,
        link: String::new(),
    };
    assert!(matches!(
        src.fetch(&loc, &link, 1 << 20).await,
        Err(SourceError::File(_))
    ));
    // Without roots (the command line), links are followed: a.pdf, link.pdf, private/secret.pdf.
    let open = LocalSource::new(None);
    assert_eq!(open.list(&loc, None).await.expect("list").files.len(), 3);
}
