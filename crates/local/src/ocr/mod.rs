//! OCR on one machine: Tesseract's command line, one process per page and pass, each with its
//! own time and memory limits. Drawings have sparse text, so more than one page segmentation
//! mode is run and their texts are put together (a code read by any pass counts).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use isoscan_core::result::FileRef;
use isoscan_engine::ports::{ExtractFailure, Ocr};
use isoscan_extract::raster::Gray;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sandbox::ProcessPool;

/// The [`Ocr`] port on one machine: the pages' pictures decoded in the reader pool's sandboxed
/// workers, read by Tesseract here.
pub struct TesseractOcr {
    pool: Arc<ProcessPool>,
    cfg: OcrConfig,
}

impl TesseractOcr {
    pub fn new(pool: Arc<ProcessPool>, cfg: OcrConfig) -> TesseractOcr {
        TesseractOcr { pool, cfg }
    }
}

#[async_trait]
impl Ocr for TesseractOcr {
    async fn read(
        &self,
        file: &FileRef,
        bytes: Arc<Vec<u8>>,
        _page_count: usize,
        pages: &[u32],
    ) -> Result<BTreeMap<u32, String>, ExtractFailure> {
        if pages.is_empty() {
            return Ok(BTreeMap::new());
        }
        let images = self.pool.pictures(file, &bytes, pages).await?;
        drop(bytes);
        let mut texts = BTreeMap::new();
        for (page, image) in images {
            let text = read(&self.cfg, image)
                .await
                .map_err(|e| ExtractFailure::File(e.to_string()))?;
            texts.insert(page, text);
        }
        Ok(texts)
    }
}

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
    /// Pixels one Tesseract run is given at most: a pass over a larger picture reads it in
    /// more tiles. Tesseract holds about five copies of what it reads (an A0 sheet at 400 ppi,
    /// 248 million pixels, took 1.2 GiB in one run).
    pub max_pixels: usize,
    /// Turn a picture scanned sideways or upside down upright first (Tesseract's orientation
    /// detection, at about 150 to 200 dpi).
    pub detect_orientation: bool,
    /// Below this confidence, orientation detection is checked by reading the sheet, small,
    /// all four ways up (drawings are mostly lines and hatching, which mislead it).
    pub orientation_confidence: f64,
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
                    turn: 0,
                },
                Pass {
                    psm: 11,
                    size: Size::DownFromFine,
                    tiles: 2,
                    median: false,
                    turn: 0,
                },
                Pass {
                    psm: 11,
                    size: Size::At300,
                    tiles: 1,
                    median: true,
                    turn: 0,
                },
                // Text running up or down the sheet (labels along vertical pipes, dimension
                // text): sparse text on the sheet turned a quarter each way. On an A0 sheet with
                // text at every angle these read its 4 vertical codes, which the level passes
                // miss (scripts/bench-ocr.sh).
                Pass {
                    psm: 11,
                    size: Size::DownFromFine,
                    tiles: 1,
                    median: false,
                    turn: 90,
                },
                Pass {
                    psm: 11,
                    size: Size::DownFromFine,
                    tiles: 1,
                    median: false,
                    turn: 270,
                },
                // Text along a pipe drawn at an angle: rising or falling at 30 degrees (the
                // isometric axes) and rising at 45, as the reference corpus draws codes
                // (`../shared/tools/pdfcorpus`); Tesseract reads text within about 5 degrees of
                // level, so each angle has its pass, on the sheet turned back by it, at 150 dpi
                // (as many codes as at 200 dpi on the A0 sheet with text at every angle, in
                // three fifths of the time).
                Pass {
                    psm: 11,
                    size: Size::DownTo150,
                    tiles: 1,
                    median: false,
                    turn: 30,
                },
                Pass {
                    psm: 11,
                    size: Size::DownTo150,
                    tiles: 1,
                    median: false,
                    turn: 330,
                },
                Pass {
                    psm: 11,
                    size: Size::DownTo150,
                    tiles: 1,
                    median: false,
                    turn: 45,
                },
            ],
            language: "eng".into(),
            timeout: Duration::from_secs(180),
            memory_mb: 4096,
            // The real 400 ppi ISO (31 million pixels) is read whole; an A1 sheet at 400 ppi
            // in 2 × 2 tiles, an A0 in 3 × 3.
            max_pixels: 48_000_000,
            detect_orientation: true,
            // Measured on 12 generated scans, an A0 sheet and the real ISO, each four ways up:
            // detection was wrong only below 1.2 (an A0 sheet: 270 degrees at 0.99, for 90).
            orientation_confidence: 2.0,
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
    /// The upright picture turned clockwise by this many degrees first, to read text that runs
    /// down (90) or up (270) the sheet, or along a pipe drawn at an angle (30, 330, 45).
    pub turn: i64,
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
    /// Brought down to 150 dpi, never up.
    DownTo150,
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
            Size::DownTo150 if dpi > 165.0 => {
                // Halved while at 300 dpi or more (the interpolation skips pixels under ½).
                let (mut out, mut dpi) = (Cow::Borrowed(g), dpi);
                while dpi >= 300.0 {
                    out = Cow::Owned(out.halved());
                    dpi /= 2.0;
                }
                match dpi > 165.0 {
                    true => Cow::Owned(out.scaled(150.0 / dpi)),
                    false => out,
                }
            }
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

/// What a Tesseract run prints: plain text, or each word with its confidence (TSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Text,
    Words,
}

/// A part of a picture: left, top, width, height, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Part {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

impl Part {
    fn whole(g: &Gray) -> Part {
        Part {
            x: 0,
            y: 0,
            w: g.width,
            h: g.height,
        }
    }

    /// The part's rows in `g`, top to bottom.
    fn rows(self, g: &Gray) -> impl Iterator<Item = &[u8]> {
        g.data
            .chunks_exact(g.width.max(1))
            .skip(self.y)
            .take(self.h)
            .map(move |r| &r[self.x..self.x + self.w])
    }
}

/// How many tiles a side a pass reads a `width` × `height` picture in: the pass's own number,
/// or more where a tile would be over `max_pixels` (tiles overlap by a tenth of a tile a side).
fn tiles_per_side(pass_tiles: u8, width: usize, height: usize, max_pixels: usize) -> usize {
    let largest = |n: usize| {
        tiles_of(width, height, n)
            .iter()
            .map(|p| p.w * p.h)
            .max()
            .unwrap_or(0)
    };
    // Past 64 a side a tile is smaller than the text it should hold: the limit gives way.
    ((pass_tiles as usize).max(1)..64)
        .find(|&n| largest(n) <= max_pixels)
        .unwrap_or(64)
}

/// The `n` × `n` tiles of a `width` × `height` picture, row by row; neighbours overlap by a
/// tenth of a tile, so a code cut by one tile's edge is whole in the next.
fn tiles_of(width: usize, height: usize, n: usize) -> Vec<Part> {
    if n <= 1 {
        return vec![Part {
            x: 0,
            y: 0,
            w: width,
            h: height,
        }];
    }
    let (tw, th) = (width.div_ceil(n), height.div_ceil(n));
    let (ox, oy) = (tw / 10, th / 10);
    let mut parts = Vec::with_capacity(n * n);
    for ty in 0..n {
        for tx in 0..n {
            let (x, y) = ((tx * tw).saturating_sub(ox), (ty * th).saturating_sub(oy));
            let (x, y) = (x.min(width), y.min(height));
            parts.push(Part {
                x,
                y,
                w: (tw + 2 * ox).min(width - x),
                h: (th + 2 * oy).min(height - y),
            });
        }
    }
    parts
}

/// Runs one pass over one part of a picture, handed to Tesseract as a PGM file on its
/// standard input straight from the picture's rows (neither the sheet nor a tile is copied).
async fn pass(
    cfg: &OcrConfig,
    image: &Gray,
    part: Part,
    psm: u8,
    output: Output,
) -> Result<String, OcrError> {
    let mut cmd = tokio::process::Command::new(&cfg.program);
    cmd.args(["stdin", "stdout", "--psm", &psm.to_string()]);
    // Mode 0 (orientation) uses its own model.
    if psm != 0 {
        cmd.args(["-l", &cfg.language]);
    }
    if output == Output::Words {
        cmd.arg("tsv");
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
            let header = isoscan_extract::raster::pgm_header(part.w, part.h);
            if stdin.write_all(&header).await.is_ok() {
                if part == Part::whole(image) {
                    let _ = stdin.write_all(&image.data).await;
                } else {
                    // Rows are gathered into writes of about a megabyte.
                    let mut buf = Vec::with_capacity((1 << 20) + part.w);
                    let mut rows = part.rows(image).peekable();
                    while let Some(row) = rows.next() {
                        buf.extend_from_slice(row);
                        if buf.len() >= 1 << 20 || rows.peek().is_none() {
                            if stdin.write_all(&buf).await.is_err() {
                                break;
                            }
                            buf.clear();
                        }
                    }
                }
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
    let out = match pass(cfg, image, Part::whole(image), 0, Output::Text).await {
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
    let detected = match (field("Rotate:"), field("Orientation confidence:")) {
        (Some(r), Some(c)) => Some((r as i64, c)),
        _ => None,
    };
    match detected {
        Some((r, c)) if c >= cfg.orientation_confidence => Ok(r),
        _ => upright_by_reading(cfg, image, detected.map(|d| d.0)).await,
    }
}

/// Degrees to turn a picture clockwise so that it reads best: the sheet, at 150 dpi or less, read
/// (sparse text) all four ways up, scored by its confident words of four characters or more.
/// Upside down or sideways, a sheet gives next to none. Ties go to `detected`, then to 0.
async fn upright_by_reading(
    cfg: &OcrConfig,
    image: &Gray,
    detected: Option<i64>,
) -> Result<i64, OcrError> {
    let too_fine = |g: &Gray| g.dpi > 150.0 || (g.dpi == 0.0 && g.width.max(g.height) > 2400);
    let mut small = std::borrow::Cow::Borrowed(image);
    while too_fine(&small) {
        small = std::borrow::Cow::Owned(small.halved());
    }
    let mut best = (0usize, 0i64);
    for turn in [0i64, 90, 180, 270] {
        let turned = small.clone().into_owned().rotated(turn);
        let words = match pass(cfg, &turned, Part::whole(&turned), 11, Output::Words).await {
            Ok(tsv) => confident_words(&tsv),
            Err(OcrError::Unavailable) => return Err(OcrError::Unavailable),
            Err(e) => {
                tracing::debug!(error = %e, turn, "not read for orientation");
                0
            }
        };
        let preferred = Some(turn) == detected.map(|d| d.rem_euclid(360));
        if words > best.0 || (words == best.0 && words > 0 && preferred) {
            best = (words, turn);
        }
    }
    tracing::debug!(
        ?detected,
        words = best.0,
        turn = best.1,
        "orientation by reading"
    );
    Ok(best.1)
}

/// Words of Tesseract's TSV output read with confidence 80 or more and four or more letters or
/// digits.
fn confident_words(tsv: &str) -> usize {
    tsv.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            f.len() >= 12
                && f[10].parse::<f64>().is_ok_and(|c| c >= 80.0)
                && f[11].chars().filter(|c| c.is_alphanumeric()).count() >= 4
        })
        .count()
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
        // Turning and the median filter work on the resized copy, or on a copy of their own.
        let sized = match p.turn.rem_euclid(360) {
            0 => sized,
            turn if turn % 90 == 0 => std::borrow::Cow::Owned(sized.into_owned().rotated(turn)),
            turn => {
                let turned = sized.turned_by(turn as f64);
                // Let go of the resized copy before Tesseract runs on the turned one.
                drop(sized);
                std::borrow::Cow::Owned(turned)
            }
        };
        let sized = match p.median {
            true => std::borrow::Cow::Owned(sized.into_owned().median3()),
            false => sized,
        };
        let n = tiles_per_side(p.tiles, sized.width, sized.height, cfg.max_pixels);
        for part in tiles_of(sized.width, sized.height, n) {
            text.push_str(&pass(cfg, &sized, part, p.psm, Output::Text).await?);
            text.push('\n');
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
