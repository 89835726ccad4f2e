//! Hostile files: each must be a FILE_ERROR with a reason, in bounded time and memory, without
//! stopping a scan. Damaged-but-recoverable files are listed apart: a reader should get their
//! codes.

use flate2::{Compress, Compression, FlushCompress};

use crate::drawing::{drawing, DrawingOptions};
use crate::writer::{deflate, Encryption, Pdf};

pub struct Sample {
    pub name: &'static str,
    pub what: &'static str,
    pub bytes: Vec<u8>,
}

const TEXT: &str = "BT /F1 24 Tf 100 700 Td (HC-1042 PEN-20-0033) Tj ET\n";
/// Codes every recoverable sample holds.
pub const RECOVERABLE_CODES: [&str; 2] = ["HC-1042", "PEN-20-0033"];

/// Objects 1, 2 and 3 of a one-page PDF: catalog, page tree, page. `Page::set` writes them once
/// the page's resources and contents are known.
struct Page {
    catalog: u32,
    pages: u32,
    page: u32,
}

impl Page {
    fn alloc(pdf: &mut Pdf) -> Page {
        Page {
            catalog: pdf.alloc(),
            pages: pdf.alloc(),
            page: pdf.alloc(),
        }
    }

    /// `resources` and `extra` are dictionary entries; `contents` an object reference.
    fn set(&self, pdf: &mut Pdf, resources: &str, contents: &str, extra: &str) -> u32 {
        let Page {
            catalog,
            pages,
            page,
        } = *self;
        pdf.set(catalog, format!("<< /Type /Catalog /Pages {pages} 0 R >>"));
        pdf.set(
            pages,
            format!("<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>"),
        );
        pdf.set(
            page,
            format!("<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 612 792] /Resources << {resources} >> /Contents {contents} {extra} >>"),
        );
        catalog
    }
}

const HELVETICA: &str =
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

/// A one-page PDF with a Helvetica font, built by hand so parts can be broken.
fn simple(content: &[u8], page_extra: &str) -> (Pdf, u32) {
    let mut pdf = Pdf::new();
    let ids = Page::alloc(&mut pdf);
    let font = pdf.add(HELVETICA);
    let c = pdf.add_stream("", content, false);
    let catalog = ids.set(
        &mut pdf,
        &format!("/Font << /F1 {font} 0 R >>"),
        &format!("{c} 0 R"),
        page_extra,
    );
    (pdf, catalog)
}

/// A zlib stream inflating to `prefix`, `unit` repeated up to `total` bytes, then `suffix`,
/// built from one compressed megabyte repeated (full flushes make the blocks independent), so
/// a gigabyte bomb takes milliseconds to make.
pub fn zlib_bomb(prefix: &[u8], unit: &[u8], total: u64, suffix: &[u8]) -> Vec<u8> {
    let chunk: Vec<u8> = unit
        .iter()
        .copied()
        .cycle()
        .take((1 << 20) / unit.len() * unit.len())
        .collect();
    let compress_part = |c: &mut Compress, data: &[u8], flush: FlushCompress| -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 1024);
        let start_in = c.total_in();
        loop {
            let consumed = (c.total_in() - start_in) as usize;
            let _ = c.compress_vec(&data[consumed..], &mut out, flush);
            if (c.total_in() - start_in) as usize >= data.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(1024));
        }
        out
    };
    let mut c = Compress::new(Compression::best(), false);
    let mut body = compress_part(&mut c, prefix, FlushCompress::Full);
    let block = compress_part(&mut c, &chunk, FlushCompress::Full);
    let n = total.div_ceil(chunk.len() as u64);
    for _ in 0..n {
        body.extend_from_slice(&block);
    }
    body.extend_from_slice(&compress_part(&mut c, suffix, FlushCompress::Finish));
    // Adler-32 of the whole, computed arithmetically for the repeated part.
    let (mut a, mut b) = (1u64, 0u64);
    let mut feed = |data: &[u8], times: u64| {
        const M: u64 = 65521;
        for _ in 0..times.min(1) {
            for &x in data {
                a = (a + u64::from(x)) % M;
                b = (b + a) % M;
            }
        }
        if times > 1 {
            // After one pass, each further pass adds sum(data) to a and len*a_prev + weighted sum to b.
            let len = data.len() as u64 % M;
            let sum = data.iter().map(|x| u64::from(*x)).sum::<u64>() % M;
            let weighted = data
                .iter()
                .enumerate()
                .map(|(i, x)| (data.len() - i) as u64 % M * u64::from(*x) % M)
                .fold(0, |s, v| (s + v) % M);
            for _ in 1..times {
                b = (b + len * a + weighted) % M;
                a = (a + sum) % M;
            }
        }
    };
    feed(prefix, 1);
    feed(&chunk, n);
    feed(suffix, 1);
    let mut out = vec![0x78, 0xDA];
    out.extend_from_slice(&body);
    out.extend_from_slice(&(((b << 16) | a) as u32).to_be_bytes());
    out
}

/// A one-page PDF whose content stream is `zlib` data as given (a bomb, or a control).
fn flate_page(zlib: Vec<u8>) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let ids = Page::alloc(&mut pdf);
    let font = pdf.add(HELVETICA);
    let content = pdf.add_raw_stream("/Filter /FlateDecode", zlib);
    let catalog = ids.set(
        &mut pdf,
        &format!("/Font << /F1 {font} 0 R >>"),
        &format!("{content} 0 R"),
        "",
    );
    pdf.finish(catalog, None)
}

fn bomb_file(prefix: &[u8], unit: &[u8], total: u64, suffix: &[u8]) -> Vec<u8> {
    flate_page(zlib_bomb(prefix, unit, total, suffix))
}

/// Files that must each be a FILE_ERROR.
pub fn hostile() -> Vec<Sample> {
    let (good, _) = drawing(
        11,
        DrawingOptions {
            small: true,
            ..Default::default()
        },
    );
    let mut v = vec![];
    let mut add = |name: &'static str, what: &'static str, bytes: Vec<u8>| {
        v.push(Sample { name, what, bytes })
    };
    add("empty.pdf", "an empty file", vec![]);
    add(
        "truncated.pdf",
        "the first half of a drawing",
        good[..good.len() / 2].to_vec(),
    );
    let mut x: u32 = 0x9e37_79b9;
    let garbage: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    add("garbage.pdf", "random bytes", garbage.clone());
    add("html.pdf", "an HTML page named .pdf", b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Access denied</body></html>".to_vec());
    let mut header_garbage = b"%PDF-1.7\n".to_vec();
    header_garbage.extend_from_slice(&garbage);
    add(
        "bad_xref.pdf",
        "a PDF header, then no objects and no usable cross-reference table",
        header_garbage,
    );
    // A user password.
    let (pdf, root) = simple(TEXT.as_bytes(), "");
    let enc = Encryption {
        user_password: "secret".into(),
        owner_password: "owner".into(),
    };
    add(
        "password.pdf",
        "encrypted with a user password",
        pdf.finish(root, Some(&enc)),
    );
    // Decompression bombs.
    let text = TEXT.as_bytes();
    add(
        "bomb_whitespace.pdf",
        "1 GiB of whitespace in one content stream",
        bomb_file(text, b" ", 1 << 30, text),
    );
    add(
        "bomb_paths.pdf",
        "15 million path operators",
        bomb_file(text, b"0 0 m 1 1 l ", 90 << 20, text),
    );
    let mut glyph_prefix = text.to_vec();
    glyph_prefix.extend_from_slice(b"BT /F1 1 Tf 0 0 Td ");
    add(
        "bomb_glyphs.pdf",
        "millions of glyphs",
        bomb_file(
            &glyph_prefix,
            b"(AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA) Tj ",
            64 << 20,
            b" ET\n",
        ),
    );
    // Deep nesting in the page object.
    let deep = format!("/Junk {}{}", "[".repeat(200_000), "]".repeat(200_000));
    let (pdf, root) = simple(text, &deep);
    add(
        "deep_nesting.pdf",
        "200,000 nested arrays in the page object",
        pdf.finish(root, None),
    );
    // Reference loop.
    let mut pdf = Pdf::new();
    let ids = Page::alloc(&mut pdf);
    let a = pdf.alloc();
    let b = pdf.alloc();
    pdf.set(a, format!("{b} 0 R"));
    pdf.set(b, format!("{a} 0 R"));
    let catalog = ids.set(&mut pdf, "", &format!("{a} 0 R"), "");
    add(
        "ref_loop.pdf",
        "a page whose content is a reference loop",
        pdf.finish(catalog, None),
    );
    // A form XObject that draws itself.
    let mut pdf = Pdf::new();
    let ids = Page::alloc(&mut pdf);
    let font = pdf.add(HELVETICA);
    let form = pdf.alloc();
    let resources = format!("/Font << /F1 {font} 0 R >> /XObject << /X1 {form} 0 R >>");
    pdf.set_stream(
        form,
        &format!("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << {resources} >>"),
        b"BT /F1 12 Tf 10 10 Td (LOOP) Tj ET /X1 Do\n",
        false,
    );
    let content = pdf.add_stream("", format!("{TEXT}/X1 Do\n").as_bytes(), false);
    let catalog = ids.set(&mut pdf, &resources, &format!("{content} 0 R"), "");
    add(
        "xobject_self.pdf",
        "a form XObject that draws itself",
        pdf.finish(catalog, None),
    );
    // Page tree cycle.
    let (mut pdf, root) = simple(text, "");
    pdf.set(2, "<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>");
    add(
        "page_tree_cycle.pdf",
        "a page tree that contains itself",
        pdf.finish(root, None),
    );
    v
}

/// Damaged files a reader should still get [`RECOVERABLE_CODES`] from.
pub fn recoverable() -> Vec<Sample> {
    let text = TEXT.as_bytes();
    let mut v = vec![];
    let (pdf, root) = simple(text, "");
    let good = pdf.finish(root, None);
    // Every xref offset off by 37 bytes.
    let xref = good.windows(5).rposition(|w| w == b"xref\n").unwrap_or(0);
    let (head, tail) = good.split_at(xref);
    let tail = String::from_utf8_lossy(tail)
        .lines()
        .map(|l| {
            match l
                .strip_suffix(" 00000 n ")
                .and_then(|n| n.parse::<u64>().ok())
            {
                Some(off) => format!("{:010} 00000 n ", off + 37),
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut shifted = head.to_vec();
    shifted.extend_from_slice(tail.as_bytes());
    shifted.push(b'\n');
    v.push(Sample {
        name: "xref_offsets_wrong.pdf",
        what: "every xref offset wrong",
        bytes: shifted,
    });
    let cut = good
        .windows(4)
        .rposition(|w| w == b"xref")
        .unwrap_or(good.len());
    v.push(Sample {
        name: "no_xref.pdf",
        what: "file cut before its xref table",
        bytes: good[..cut].to_vec(),
    });
    let nested = format!(
        "{TEXT}BT /F1 12 Tf 10 10 Td {}{} TJ ET\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (pdf, root) = simple(nested.as_bytes(), "");
    v.push(Sample {
        name: "deep_nesting_content.pdf",
        what: "100,000 nested arrays in a content stream",
        bytes: pdf.finish(root, None),
    });
    let bytes = flate_page(deflate(text));
    v.push(Sample {
        name: "compressed_ok.pdf",
        what: "a plain compressed page (control)",
        bytes,
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn bombs_inflate_to_what_they_claim() {
        let z = zlib_bomb(b"START ", b"ab", 3 << 20, b" END");
        assert!(z.len() < 64 * 1024, "{}", z.len());
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&z[..])
            .read_to_end(&mut out)
            .unwrap();
        assert!(out.starts_with(b"START abab"));
        assert!(out.ends_with(b"ab END"));
        assert!(out.len() >= 3 << 20);
    }
}
