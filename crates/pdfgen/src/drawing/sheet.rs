//! One drawing, from a seed.

use super::*;

/// Generates one drawing from a seed.
pub fn drawing(seed: u64, opts: DrawingOptions) -> (Vec<u8>, FileTruth) {
    let mut rng = StdRng::seed_from_u64(seed);
    let kind = match rng.random_range(0..100) {
        0..=29 => FontKind::Standard("Helvetica"),
        30..=39 => FontKind::Standard("Times-Roman"),
        40..=49 => FontKind::Standard("Courier"),
        50..=61 => FontKind::Differences,
        62..=75 => FontKind::TrueTypeSubset,
        76..=89 => FontKind::Type0ToUnicode,
        _ => FontKind::Type0NoToUnicode,
    };
    // The embedded test fonts draw placeholder shapes, not letters: a drawing meant to be
    // rendered (and read by OCR) uses a standard font, which renderers draw with real letters.
    let kind = match kind {
        FontKind::Standard(_) => kind,
        _ if opts.upright => FontKind::Standard("Helvetica"),
        _ => kind,
    };
    let (w, h, size_name) = if opts.small || rng.random_bool(0.4) {
        (1190.55, 841.89, "A3")
    } else {
        (2383.94, 1683.78, "A1")
    };
    let page_count: u32 = if opts.small {
        1
    } else {
        [1, 1, 1, 1, 1, 1, 1, 2, 2, 3][rng.random_range(0..10)]
    };
    let encrypted = rng.random_bool(0.06);
    let compress = rng.random_bool(0.85);
    let mut pdf = Pdf::new();
    let mut font = declare(&mut pdf, kind);
    let mut truth = FileTruth {
        font: kind.label(),
        page_count,
        size: size_name.into(),
        encrypted,
        ..Default::default()
    };
    let mut codes = Codes {
        rng: &mut StdRng::seed_from_u64(seed ^ 0x5eed),
        used: HashSet::new(),
    };
    let pages_id = pdf.alloc();
    let mut kids = vec![];
    for page in 1..=page_count {
        let sheet = Sheet {
            rng: &mut rng,
            pdf: &mut pdf,
            font: &mut font,
            truth: &mut truth,
            codes: &mut codes,
            w,
            h,
            opts,
            compress,
            pages_id,
            page_count,
            seed,
        };
        kids.push(draw_page(page, sheet));
    }
    finish_font(&mut pdf, &font);
    let kids_s: Vec<String> = kids.iter().map(|k| format!("{k} 0 R")).collect();
    pdf.set(
        pages_id,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids_s.join(" "),
            kids.len()
        ),
    );
    let root = pdf.add(format!("<< /Type /Catalog /Pages {pages_id} 0 R >>"));
    let enc = Encryption {
        user_password: String::new(),
        owner_password: "owner-secret".into(),
    };
    let bytes = pdf.finish(root, if encrypted { Some(&enc) } else { None });
    (bytes, truth)
}
