//! The Drive source against the repository's Drive v3 server on loopback: the real
//! google-drive3 and yup-oauth2 clients, over HTTP, with the wire format Google documents.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use isoscan_drive::testing::{serve, FakeDrive, ACCOUNT, FOLDER, GOOGLE_DOC};
use isoscan_drive::{Credentials, DriveClient, DriveConfig, DriveSource};
use isoscan_engine::ports::{ListPage, Source, SourceError};

const PDF: &str = "application/pdf";

fn config(endpoint: &str, credentials: Credentials) -> DriveConfig {
    let mut c = DriveConfig::new(credentials);
    c.endpoint = Some(endpoint.to_string());
    c.first_backoff = Duration::from_millis(20);
    c
}

async fn source(drive: &Arc<FakeDrive>, endpoint: &str) -> DriveSource {
    let creds = Credentials::ServiceAccount {
        key_json: drive.service_account_key(),
        subject: None,
    };
    DriveSource::new(
        DriveClient::new(config(endpoint, creds))
            .await
            .expect("client"),
    )
}

/// Every page of a listing, first to last.
async fn list_all(s: &DriveSource, location: &str) -> Result<Vec<ListPage>, SourceError> {
    let mut pages = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let p = s.list(location, cursor.as_deref()).await?;
        cursor = p.next.clone();
        pages.push(p);
        if cursor.is_none() {
            return Ok(pages);
        }
        assert!(pages.len() < 1000, "the listing does not end");
    }
}

fn tree(d: &FakeDrive) {
    d.folder("root0000000000000000000", "Project", None);
    d.file(
        "a1000000000000000000001",
        "A-100.pdf",
        "root0000000000000000000",
        PDF,
        b"%PDF a1".to_vec(),
    );
    d.file(
        "a1000000000000000000002",
        "A-100.pdf",
        "root0000000000000000000",
        PDF,
        b"%PDF a2".to_vec(),
    );
    d.file(
        "spec0000000000000000000",
        "Spec",
        "root0000000000000000000",
        GOOGLE_DOC,
        vec![],
    );
    d.file(
        "notes000000000000000000",
        "notes.txt",
        "root0000000000000000000",
        "text/plain",
        b"hi".to_vec(),
    );
    d.folder(
        "area1000000000000000000",
        "Area 1",
        Some("root0000000000000000000"),
    );
    d.file(
        "b2000000000000000000000",
        "B-200.pdf",
        "area1000000000000000000",
        PDF,
        b"%PDF b".to_vec(),
    );
    d.folder(
        "sub00000000000000000000",
        "Sub",
        Some("area1000000000000000000"),
    );
    d.file(
        "c3000000000000000000000",
        "C-300.pdf",
        "sub00000000000000000000",
        PDF,
        b"%PDF c".to_vec(),
    );
    d.shortcut(
        "upup0000000000000000000",
        "up",
        "sub00000000000000000000",
        "area1000000000000000000",
        FOLDER,
    );
    // A folder elsewhere, reached through two shortcuts: followed once.
    d.folder("else0000000000000000000", "Elsewhere", None);
    d.file(
        "d4000000000000000000000",
        "D-400.pdf",
        "else0000000000000000000",
        PDF,
        b"%PDF d".to_vec(),
    );
    d.shortcut(
        "link0000000000000000000",
        "Area 2 link",
        "root0000000000000000000",
        "else0000000000000000000",
        FOLDER,
    );
    d.shortcut(
        "agai0000000000000000000",
        "again",
        "root0000000000000000000",
        "else0000000000000000000",
        FOLDER,
    );
    d.file(
        "e5000000000000000000000",
        "E-500.pdf",
        "else0000000000000000000",
        PDF,
        b"%PDF e".to_vec(),
    );
    d.shortcut(
        "ecut0000000000000000000",
        "E-500 shortcut.pdf",
        "root0000000000000000000",
        "e5000000000000000000000",
        PDF,
    );
    d.file(
        "tras0000000000000000000",
        "trashed.pdf",
        "root0000000000000000000",
        PDF,
        b"%PDF t".to_vec(),
    );
    let mut items = d.items.lock().unwrap();
    for i in items.iter_mut() {
        i.trashed = i.id.starts_with("tras");
        // The project lives in a shared drive.
        i.shared_drive =
            i.id != "else0000000000000000000" && !i.id.starts_with('d') && !i.id.starts_with("e5");
    }
}

#[tokio::test]
async fn a_nested_folder_is_listed_breadth_first_with_paths_links_shortcuts_and_retries() {
    let d = FakeDrive::new("unused");
    tree(&d);
    d.behave(|b| {
        b.page_cap = 2;
        b.empty_pages = true;
        b.rate_limited_once.insert("root0000000000000000000".into());
        b.user_rate_limited_once
            .insert("b2000000000000000000000".into());
    });
    let endpoint = serve(d.clone()).await;
    let s = source(&d, &endpoint).await;
    let link = "https://drive.google.com/drive/folders/root0000000000000000000?usp=sharing";
    s.check(link).await.expect("check");
    let pages = list_all(&s, link).await.expect("list");
    assert!(
        pages.len() > 5,
        "short and empty pages are followed: {}",
        pages.len()
    );
    assert!(pages
        .iter()
        .any(|p| p.files.is_empty() && p.skipped.is_empty() && p.next.is_some()));
    let files: BTreeMap<String, (Option<String>, String, Option<u64>)> = pages
        .iter()
        .flat_map(|p| p.files.iter())
        .map(|f| (f.path.clone(), (f.id.clone(), f.link.clone(), f.size)))
        .collect();
    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        vec![
            "A-100 (a1000000000000000000002).pdf",
            "A-100.pdf",
            "Area 1/B-200.pdf",
            "Area 1/Sub/C-300.pdf",
            "Area 2 link/D-400.pdf",
            "Area 2 link/E-500.pdf",
            "E-500 shortcut.pdf",
        ]
    );
    assert_eq!(
        files["A-100.pdf"].0.as_deref(),
        Some("a1000000000000000000001")
    );
    assert_eq!(
        files["Area 1/B-200.pdf"].1,
        "https://drive.google.com/file/d/b2000000000000000000000/view?usp=drivesdk"
    );
    assert_eq!(files["Area 1/B-200.pdf"].2, Some(6));
    // A shortcut to a file reads the target.
    assert_eq!(
        files["E-500 shortcut.pdf"].0.as_deref(),
        Some("e5000000000000000000000")
    );
    let mut skipped: Vec<String> = pages.iter().flat_map(|p| p.skipped.clone()).collect();
    skipped.sort();
    assert_eq!(skipped, vec!["Area 1/Sub/up", "Spec", "again", "notes.txt"]);
    assert_eq!(d.max_page_size_asked.load(Ordering::Relaxed), 1000);

    // Downloads, streamed; the rate-limited one after a retry.
    for (path, (id, link, _)) in &files {
        let f = isoscan_core::result::FileRef {
            path: path.clone(),
            size: None,
            link: link.clone(),
            id: id.clone(),
        };
        let bytes = s.fetch(link, &f, 1 << 20).await.expect("fetch");
        assert!(bytes.starts_with(b"%PDF"), "{path}");
    }
    let small = isoscan_core::result::FileRef {
        path: "A-100.pdf".into(),
        size: None,
        link: String::new(),
        id: Some("a1000000000000000000001".into()),
    };
    assert!(
        matches!(s.fetch(link, &small, 3).await, Err(SourceError::File(m)) if m.contains("larger"))
    );
    // The 429 on the first listing and the 403 userRateLimitExceeded on a download were retried.
    assert_eq!(s.client.retries(), 2);
    assert_eq!(d.refusals.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn links_to_one_file_unshared_folders_and_bad_tokens_get_clear_answers() {
    let d = FakeDrive::new("good-token");
    tree(&d);
    d.behave(|b| {
        b.not_shared.insert("else0000000000000000000".into());
    });
    let endpoint = serve(d.clone()).await;
    let s = source(&d, &endpoint).await;

    // One file: that file alone.
    let pages = list_all(
        &s,
        "https://drive.google.com/file/d/b2000000000000000000000/view?usp=sharing",
    )
    .await
    .expect("one file");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].files.len(), 1);
    assert_eq!(pages[0].files[0].path, "B-200.pdf");

    // Not shared with the service account: the error names it.
    let e = s
        .check("https://drive.google.com/drive/u/0/folders/else0000000000000000000")
        .await
        .expect_err("not shared");
    let SourceError::NotFound(msg) = &e else {
        panic!("{e:?}")
    };
    assert!(msg.contains(ACCOUNT) && msg.contains("share"), "{msg}");

    // Not a Drive link: what one looks like.
    let e = s
        .check("https://drive.google.com/drive/my-drive")
        .await
        .expect_err("bad link");
    assert!(
        e.to_string().contains("drive.google.com/drive/folders/"),
        "{e}"
    );

    // A wrong bearer token: 401, said as such, not retried.
    let wrong = DriveSource::new(
        DriveClient::new(config(&endpoint, Credentials::AccessToken("wrong".into())))
            .await
            .unwrap(),
    );
    let e = wrong
        .check("root0000000000000000000")
        .await
        .expect_err("401");
    assert!(
        matches!(&e, SourceError::Forbidden(m) if m.contains("credentials")),
        "{e:?}"
    );
    assert_eq!(wrong.client.retries(), 0);
    let right = DriveSource::new(
        DriveClient::new(config(
            &endpoint,
            Credentials::AccessToken("good-token".into()),
        ))
        .await
        .unwrap(),
    );
    assert_eq!(
        list_all(&right, "root0000000000000000000")
            .await
            .unwrap()
            .iter()
            .map(|p| p.files.len())
            .sum::<usize>(),
        // The folder behind the two shortcuts is not shared here: its two drawings are not seen.
        5
    );
}

#[tokio::test]
async fn a_service_account_key_that_the_token_endpoint_refuses_is_a_credentials_error() {
    let d = FakeDrive::new("unused");
    tree(&d);
    let endpoint = serve(d.clone()).await;
    // The same key, another account's address: the endpoint refuses the grant.
    let key = d
        .service_account_key()
        .replace(ACCOUNT, "someone@else.iam.gserviceaccount.com");
    let s = DriveSource::new(
        DriveClient::new(config(
            &endpoint,
            Credentials::ServiceAccount {
                key_json: key,
                subject: None,
            },
        ))
        .await
        .unwrap(),
    );
    let e = s
        .check("root0000000000000000000")
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, SourceError::Forbidden(m) if m.contains("credentials")),
        "{e:?}"
    );
    assert!(matches!(
        DriveClient::new(config(
            &endpoint,
            Credentials::ServiceAccount {
                key_json: "{}".into(),
                subject: None
            }
        ))
        .await,
        Err(isoscan_drive::DriveError::Credentials(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drive_source_passes_the_source_suite() {
    let d = FakeDrive::new("unused");
    d.folder("suite000000000000000000", "Suite", None);
    d.folder(
        "suiteA00000000000000000",
        "Area",
        Some("suite000000000000000000"),
    );
    let mut drawings = BTreeMap::new();
    for (i, (id, name, parent)) in [
        (
            "sa000000000000000000001",
            "A-1.pdf",
            "suite000000000000000000",
        ),
        (
            "sa000000000000000000002",
            "A-2.pdf",
            "suite000000000000000000",
        ),
        (
            "sa000000000000000000003",
            "B-3.pdf",
            "suiteA00000000000000000",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = format!("%PDF drawing {i}").into_bytes();
        d.file(id, name, parent, PDF, bytes.clone());
        let path = if parent.starts_with("suiteA") {
            format!("Area/{name}")
        } else {
            name.to_string()
        };
        drawings.insert(path, bytes);
    }
    d.file(
        "sn000000000000000000001",
        "notes.txt",
        "suite000000000000000000",
        "text/plain",
        b"notes".to_vec(),
    );
    let endpoint = serve(d.clone()).await;
    let s = source(&d, &endpoint).await;
    isoscan_engine::suite::source(
        Arc::new(s),
        isoscan_engine::suite::SourceCase {
            location: "https://drive.google.com/drive/folders/suite000000000000000000".into(),
            drawings,
            others: 1,
            missing: "https://drive.google.com/drive/folders/missing0000000000000000".into(),
        },
    )
    .await;
}
