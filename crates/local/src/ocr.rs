//! OCR on one machine: Tesseract's command line, one process per page and pass, each with its
//! own time and memory limits. Drawings have sparse text, so more than one page segmentation
//! mode is run and their texts are put together (a code read by any pass counts).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use isoscan_extract::raster::Gray;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How OCR runs.
#[derive(Debug, Clone)]
pub struct OcrConfig {
    pub program: PathBuf,
    /// The passes, each a page segmentation mode on the picture sized for it.
    pub passes: Vec<Pass>,
    pub language: String,
    /// Time one pass of one page may take.
    pub timeout: Duration,
    /// Address space of a Tesseract process, in MiB.
    pub memory_mb: u64,
    /// Turn a picture scanned sideways or upside down upright first (Tesseract's orientation
    /// detection, at about 150 to 200 dpi).
    pub detect_orientation: bool,
}

impl Default for OcrConfig {
    fn default() -> Self {
        OcrConfig {
            program: PathBuf::from("tesseract"),
            // On the real scanned ISO (400 ppi): columns of text at full size read 13 of its 14
            // codes, sparse text at half size another 13; together all 14, and no look-alike. At
            // 150 dpi columns of text read best doubled. Sparse text reads better in quarters of
            // the sheet than on the whole (generated scans: 74.8% of codes against 70.3%). A
            // third pass, sparse text at 300 dpi with specks filtered out, reads codes the
            // others miss (generated scans: 87.1% of codes with it, 85.1% without).
            passes: vec![
                Pass {
                    psm: 4,
                    size: Size::UpToReadable,
                    tiles: 1,
                    median: false,
                },
                Pass {
                    psm: 11,
                    size: Size::DownFromFine,
                    tiles: 2,
                    median: false,
                },
                Pass {
                    psm: 11,
                    size: Size::At300,
                    tiles: 1,
                    median: true,
                },
            ],
            language: "eng".into(),
            timeout: Duration::from_secs(180),
            memory_mb: 4096,
            detect_orientation: true,
        }
    }
}

/// One OCR pass: Tesseract's page segmentation mode (4: columns of text; 11: sparse text), on
/// the picture brought to a resolution that suits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub psm: u8,
    pub size: Size,
    /// Read in `tiles` × `tiles` parts overlapping by a tenth of a part (1: the whole picture).
    pub tiles: u8,
    /// Specks and grain taken out first (a 3 × 3 median filter).
    pub median: bool,
}

/// How a pass sizes the picture, by its resolution on the page (measured on generated scans at
/// 150, 200 and 300 dpi and on the real 400 ppi ISO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Doubled below 180 dpi, as it is otherwise.
    UpToReadable,
    /// Halved from 350 dpi, as it is otherwise.
    DownFromFine,
    /// Brought to 300 dpi.
    At300,
}

impl Size {
    fn apply(self, g: &Gray) -> std::borrow::Cow<'_, Gray> {
        use std::borrow::Cow;
        // An unknown resolution is taken for 300 dpi, the most common scan setting.
        let dpi = if g.dpi > 0.0 { g.dpi } else { 300.0 };
        match self {
            Size::UpToReadable if dpi < 180.0 => Cow::Owned(g.doubled()),
            Size::DownFromFine if dpi >= 350.0 => Cow::Owned(g.halved()),
            Size::At300 if dpi >= 600.0 => Cow::Owned(g.halved().scaled(600.0 / dpi)),
            Size::At300 if (dpi - 300.0).abs() > 15.0 => Cow::Owned(g.scaled(300.0 / dpi)),
            _ => Cow::Borrowed(g),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcrError {
    /// Tesseract is not installed: every scanned page is a FILE_ERROR saying how to get it.
    #[error(
        "ocr unavailable: Tesseract is not installed (Debian/Ubuntu: apt install tesseract-ocr; \
         macOS: brew install tesseract), or scan with --no-ocr"
    )]
    Unavailable,
    #[error("ocr failed: {0}")]
    Failed(String),
    #[error("ocr timed out after {0} s")]
    Timeout(u64),
}

/// Runs one pass over one picture, handed to Tesseract as a PGM file on its standard input
/// straight from the picture's pixels (a large sheet is not copied for it).
async fn pass(cfg: &OcrConfig, image: &Gray, psm: u8) -> Result<String, OcrError> {
    let mut cmd = tokio::process::Command::new(&cfg.program);
    cmd.args(["stdin", "stdout", "--psm", &psm.to_string()]);
    // Mode 0 (orientation) uses its own model.
    if psm != 0 {
        cmd.args(["-l", &cfg.language]);
    }
    // One thread per process: the pool already runs one reader per core.
    cmd.env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    {
        let bytes = cfg.memory_mb.saturating_mul(1 << 20) as libc::rlim_t;
        // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                libc::setrlimit(libc::RLIMIT_AS, &lim);
                Ok(())
            });
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OcrError::Unavailable),
        Err(e) => return Err(OcrError::Failed(e.to_string())),
    };
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| OcrError::Failed("no stdin".into()))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| OcrError::Failed("no stdout".into()))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| OcrError::Failed("no stderr".into()))?;
    let run = async {
        let write = async {
            // Tesseract may stop reading early on a bad picture; its exit status tells.
            if stdin.write_all(&image.pgm_header()).await.is_ok() {
                let _ = stdin.write_all(&image.data).await;
            }
            drop(stdin);
        };
        let mut text = Vec::new();
        let mut err = Vec::new();
        let (_, out, _) = tokio::join!(
            write,
            stdout.read_to_end(&mut text),
            stderr.read_to_end(&mut err)
        );
        out.map_err(|e| OcrError::Failed(e.to_string()))?;
        let status = child
            .wait()
            .await
            .map_err(|e| OcrError::Failed(e.to_string()))?;
        if !status.success() {
            let tail = String::from_utf8_lossy(&err);
            return Err(OcrError::Failed(format!(
                "tesseract exited with {status}: {}",
                tail.lines().last().unwrap_or("")
            )));
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    };
    match tokio::time::timeout(cfg.timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(OcrError::Timeout(cfg.timeout.as_secs())),
    }
}

/// Degrees to turn a picture clockwise so that its text stands upright, by Tesseract's
/// orientation detection; 0 when it cannot tell (too little text, low confidence, no model).
async fn orientation(cfg: &OcrConfig, image: &Gray) -> Result<i64, OcrError> {
    // Orientation reads best at about 150 to 200 dpi.
    let small;
    let image = if image.dpi >= 300.0 || (image.dpi == 0.0 && image.width > 4000) {
        small = image.halved();
        &small
    } else {
        image
    };
    let out = match pass(cfg, image, 0).await {
        Ok(out) => out,
        Err(OcrError::Unavailable) => return Err(OcrError::Unavailable),
        Err(e) => {
            tracing::debug!(error = %e, "no orientation");
            return Ok(0);
        }
    };
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    match (field("Rotate:"), field("Orientation confidence:")) {
        (Some(r), Some(c)) if c >= 1.0 => Ok(r as i64),
        _ => Ok(0),
    }
}

/// The text of one picture: every pass, one after the other. The picture is taken by value:
/// turning it upright replaces it, so a large sheet is held at most twice, while it turns.
pub async fn read(cfg: &OcrConfig, image: Gray) -> Result<String, OcrError> {
    let image = match cfg.detect_orientation {
        true => match orientation(cfg, &image).await? {
            0 => image,
            deg => image.rotated(deg),
        },
        false => image,
    };
    let mut text = String::new();
    for p in &cfg.passes {
        let sized = p.size.apply(&image);
        let sized = match p.median {
            true => std::borrow::Cow::Owned(sized.median3()),
            false => sized,
        };
        let n = p.tiles.max(1) as usize;
        if n == 1 {
            text.push_str(&pass(cfg, &sized, p.psm).await?);
            text.push('\n');
            continue;
        }
        // A code cut by a tile's edge is whole in the next one: tiles overlap.
        let (tw, th) = (sized.width.div_ceil(n), sized.height.div_ceil(n));
        let (ox, oy) = (tw / 10, th / 10);
        for ty in 0..n {
            for tx in 0..n {
                let (x, y) = ((tx * tw).saturating_sub(ox), (ty * th).saturating_sub(oy));
                let tile = sized.crop(x, y, tw + 2 * ox, th + 2 * oy);
                text.push_str(&pass(cfg, &tile, p.psm).await?);
                text.push('\n');
            }
        }
    }
    Ok(text)
}
