use super::*;

#[test]
fn tiles_cover_the_picture_and_overlap() {
    for (w, h, n) in [(1000, 700, 2), (1001, 699, 3), (5, 3, 2), (640, 480, 1)] {
        let parts = tiles_of(w, h, n);
        assert_eq!(parts.len(), n * n);
        let mut seen = vec![0u8; w * h];
        for p in &parts {
            assert!(p.x + p.w <= w && p.y + p.h <= h, "{p:?} in {w} x {h}");
            for y in p.y..p.y + p.h {
                for x in p.x..p.x + p.w {
                    seen[y * w + x] = seen[y * w + x].saturating_add(1);
                }
            }
        }
        assert!(seen.iter().all(|&s| s > 0), "{w} x {h} in {n}");
        // What Tesseract is sent of a tile is that tile of the picture.
        let g = Gray {
            width: w,
            height: h,
            data: (0..w * h).map(|i| (i * 31 % 251) as u8).collect(),
            dpi: 300.0,
        };
        for p in &parts {
            let sent: Vec<u8> = p.rows(&g).flatten().copied().collect();
            assert_eq!(sent, g.crop(p.x, p.y, p.w, p.h).data, "{p:?}");
        }
        if n > 1 && w >= 100 {
            // Two neighbours share a band a fifth of a tile wide (a tenth from each).
            let (a, b) = (parts[0], parts[1]);
            assert!(a.x + a.w >= b.x + (w / n) / 5, "{a:?} {b:?}");
        }
    }
}

#[test]
fn large_sheets_are_read_in_more_tiles() {
    let max = OcrConfig::default().max_pixels;
    // The real ISO (400 ppi, 31 million pixels) whole; A1 and A0 at 400 ppi in 2 × 2 and
    // 3 × 3; a pass's own tiling is kept when the tiles are small enough.
    assert_eq!(tiles_per_side(1, 4680, 6610, max), 1);
    assert_eq!(tiles_per_side(1, 13244, 9362, max), 2);
    assert_eq!(tiles_per_side(1, 18720, 13244, max), 3);
    assert_eq!(tiles_per_side(2, 4680, 6610, max), 2);
    assert_eq!(tiles_per_side(2, 18720, 13244, max), 3);
    for (w, h) in [(13244, 9362), (18720, 13244), (40000, 900)] {
        let n = tiles_per_side(1, w, h, max);
        assert!(tiles_of(w, h, n).iter().all(|p| p.w * p.h <= max));
    }
    // A limit no tile can meet gives way rather than cutting the text into crumbs.
    assert_eq!(tiles_per_side(1, 10_000, 10_000, 1), 64);
}

#[test]
fn the_angled_passes_read_the_sheet_at_150_dpi_or_less() {
    let sheet = |dpi: f32| Gray {
        width: (dpi * 4.0) as usize,
        height: (dpi * 2.0) as usize,
        data: vec![255; (dpi * 4.0) as usize * (dpi * 2.0) as usize],
        dpi,
    };
    for dpi in [1200.0, 600.0, 400.0, 300.0, 200.0, 160.0, 150.0, 100.0] {
        let g = sheet(dpi);
        let out = Size::DownTo150.apply(&g);
        let want = if dpi > 165.0 { 150.0 } else { dpi };
        assert!((out.dpi - want).abs() < 0.5, "{dpi} dpi gave {}", out.dpi);
        // Four inches wide, whatever the resolution.
        assert!(
            (out.width as f32 / out.dpi - 4.0).abs() < 0.02,
            "{dpi}: {}",
            out.width
        );
        assert_eq!(
            matches!(out, std::borrow::Cow::Borrowed(_)),
            dpi <= 165.0,
            "{dpi}"
        );
    }
}
