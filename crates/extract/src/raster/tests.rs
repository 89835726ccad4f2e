use super::*;

#[test]
fn rotations_turn_the_picture_clockwise() {
    // 3 wide, 2 high:  a b c / d e f
    let g = Gray {
        width: 3,
        height: 2,
        data: b"abcdef".to_vec(),
        dpi: 0.0,
    };
    let r90 = g.clone().rotated(90);
    assert_eq!(
        (r90.width, r90.height, r90.data.as_slice()),
        (2, 3, &b"daebfc"[..])
    );
    let r270 = g.clone().rotated(270);
    assert_eq!(
        (r270.width, r270.height, r270.data.as_slice()),
        (2, 3, &b"cfbead"[..])
    );
    assert_eq!(g.clone().rotated(180).data, b"fedcba".to_vec());
    assert_eq!(g.clone().rotated(-90), r270);
    assert_eq!(g.clone().rotated(0), g);
    assert!(g.to_pgm().starts_with(b"P5\n3 2\n255\n"));
    let c = g.crop(1, 1, 5, 5);
    assert_eq!((c.width, c.height, c.data.as_slice()), (2, 1, &b"ef"[..]));
    let four = Gray {
        width: 4,
        height: 2,
        data: vec![0, 4, 10, 20, 8, 4, 30, 40],
        dpi: 300.0,
    };
    let half = four.halved();
    assert_eq!((half.width, half.height, half.dpi), (2, 1, 150.0));
    assert_eq!(half.data, vec![4, 25]);
    let two = Gray {
        width: 2,
        height: 1,
        data: vec![0, 200],
        dpi: 150.0,
    };
    let d = two.doubled();
    assert_eq!((d.width, d.height, d.dpi), (4, 2, 300.0));
    assert_eq!(d.data, vec![0, 50, 150, 200, 0, 50, 150, 200]);
    let up = two.scaled(1.5);
    assert_eq!((up.width, up.height, up.dpi), (3, 2, 225.0));
    assert_eq!(up.data, vec![0, 100, 200, 0, 100, 200]);
    let down = Gray {
        width: 4,
        height: 1,
        data: vec![0, 100, 200, 40],
        dpi: 400.0,
    }
    .scaled(0.75);
    assert_eq!((down.width, down.dpi), (3, 300.0));
    assert_eq!(down.data, vec![16, 150, 67]);
    // A speck goes, an edge stays.
    let mut speck = vec![200u8; 25];
    speck[12] = 0;
    speck[4] = 0;
    let m = Gray {
        width: 5,
        height: 5,
        data: speck,
        dpi: 0.0,
    }
    .median3();
    assert_eq!(m.data[12], 200);
    assert_eq!(m.data[4], 0, "edges are kept");
    let noisy = Gray {
        width: 7,
        height: 6,
        data: (0..42u32).map(|i| (i * 97 % 251) as u8).collect(),
        dpi: 0.0,
    };
    let fast = noisy.clone().median3();
    for y in 1..5 {
        for x in 1..6 {
            let mut v: Vec<u8> = (0..9)
                .map(|k| noisy.data[(y + k / 3 - 1) * 7 + x + k % 3 - 1])
                .collect();
            v.sort_unstable();
            assert_eq!(fast.data[y * 7 + x], v[4], "({x}, {y})");
        }
    }
    // Filtered in place from the unfiltered rows: the border is as it was.
    for i in 0..42 {
        let (x, y) = (i % 7, i / 7);
        if x == 0 || x == 6 || y == 0 || y == 5 {
            assert_eq!(fast.data[i], noisy.data[i], "({x}, {y})");
        }
    }
}

#[test]
fn turning_by_any_angle_keeps_the_picture_on_a_white_canvas() {
    // A quarter turn by angle gives exactly what the quarter turn by layout gives.
    let g = Gray {
        width: 5,
        height: 3,
        data: (0..15u8).map(|v| v * 10).collect(),
        dpi: 200.0,
    };
    assert_eq!(g.turned_by(90.0), g.clone().rotated(90));
    assert_eq!(g.turned_by(-90.0), g.clone().rotated(270));
    assert_eq!(g.turned_by(180.0), g.clone().rotated(180));
    assert_eq!(g.turned_by(0.0), g);
    // A dark bar along a line rising at 30 degrees, turned 30 degrees clockwise, lies level
    // across the canvas's middle; the corners uncovered are white.
    let (w, h) = (201usize, 201usize);
    let mut data = vec![255u8; w * h];
    for t in -60i32..=60 {
        let (s, c) = 30f64.to_radians().sin_cos();
        for thick in -1i32..=1 {
            let x = 100.0 + t as f64 * c - thick as f64 * s;
            let y = 100.0 - t as f64 * s - thick as f64 * c;
            data[y.round() as usize * w + x.round() as usize] = 0;
        }
    }
    let bar = Gray {
        width: w,
        height: h,
        data,
        dpi: 300.0,
    };
    let t = bar.turned_by(30.0);
    let side = (201.0 * (30f64.to_radians().cos() + 30f64.to_radians().sin())).ceil() as usize;
    assert_eq!((t.width, t.height, t.dpi), (side, side, 300.0));
    let dark_in_row = |y: usize| {
        t.data[y * t.width..(y + 1) * t.width]
            .iter()
            .filter(|&&v| v < 128)
            .count()
    };
    let mid = t.height / 2;
    let level = (mid - 2..=mid + 2).map(dark_in_row).max().unwrap_or(0);
    assert!(
        level >= 110,
        "the bar lies along one row: {level} dark pixels"
    );
    assert_eq!(dark_in_row(mid - 8) + dark_in_row(mid + 8), 0);
    assert_eq!((t.data[0], t.data[t.data.len() - 1]), (255, 255));
}

/// A one-page PDF whose only picture is `image` (dictionary entries, raw stream data).
fn pdf_with_image(dict: lopdf::Dictionary, data: Vec<u8>) -> Vec<u8> {
    pdf_with_image_drawn(dict, data, b"q 72 0 0 36 0 0 cm /Im0 Do Q", 0)
}

/// The same, with the picture drawn by `content` on a page turned by `rotate`.
fn pdf_with_image_drawn(
    dict: lopdf::Dictionary,
    data: Vec<u8>,
    content: &[u8],
    rotate: i64,
) -> Vec<u8> {
    let image = Stream::new(dict, data);
    picture_page_pdf(image, content.to_vec(), (72.0, 36.0), rotate).expect("save")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(vec![], flate2::Compression::default());
    e.write_all(data).expect("deflate");
    e.finish().expect("deflate")
}

fn picture(pdf: &[u8]) -> Gray {
    let got = page_images(pdf, &Limits::default(), &[1]).expect("read");
    got.into_iter()
        .next()
        .and_then(|(_, g)| g)
        .expect("the picture is decoded")
}

#[test]
fn a_picture_file_becomes_a_one_page_pdf_showing_it() {
    let png = isoscan_pdfgen::scan::gray_png(4, 2, &[10, 20, 30, 40, 50, 60, 70, 80]);
    let pdf = picture_as_pdf(&png, 40.0, 10_000).expect("wrapped");
    let g = picture(&pdf);
    assert_eq!((g.width, g.height), (4, 2));
    assert_eq!(g.data, vec![10, 20, 30, 40, 50, 60, 70, 80]);
    let width_in_points = |pdf: &[u8]| {
        let doc = lopdf::Document::load_mem(pdf).expect("a PDF");
        let (_, page) = doc.get_pages().into_iter().next().expect("a page");
        let page = doc.get_dictionary(page).expect("a page");
        let media = page
            .get(b"MediaBox")
            .and_then(Object::as_array)
            .expect("MediaBox");
        media[2].as_float().expect("a width")
    };
    // 300 dpi: 4 pixels are 4/300 inch.
    assert!((width_in_points(&pdf) - 4.0 * 72.0 / 300.0).abs() < 0.01);
    // A sheet wider than the limit is shown smaller: 4 pixels on a page 0.005 inch wide.
    let small = picture_as_pdf(&png, 0.005, 10_000).expect("wrapped");
    assert!((width_in_points(&small) - 0.36).abs() < 0.01);
    assert!(picture_as_pdf(b"%PDF-1.7", 40.0, 10_000).is_err());
    assert_eq!(raster_page_sizes(&png).expect("size"), vec![(4, 2)]);
    // A picture with a side over the pixel limit is made smaller to fit it, on a page of
    // the same size in inches: a band 4 by 2 pixels, at most 3 pixels a side, is 3 by 1.
    let fitted = picture_as_pdf(&png, 40.0, 3).expect("wrapped");
    let g = picture(&fitted);
    assert_eq!((g.width, g.height), (3, 2 * 3 / 4));
    assert!((width_in_points(&fitted) - 4.0 * 72.0 / 300.0).abs() < 0.01);
    let wide = Gray {
        width: 25_001,
        height: 3,
        data: vec![200; 75_003],
        dpi: 400.0,
    }
    .fit_within(10_000);
    assert_eq!((wide.width, wide.height), (10_000, 1));
}

#[test]
fn placing_lays_a_picture_out_along_any_two_axes() {
    // 3 wide, 2 high:  a b c / d e f
    let g = Gray {
        width: 3,
        height: 2,
        data: b"abcdef".to_vec(),
        dpi: 0.0,
    };
    let at = |col, row| {
        let p = g.clone().placed(col, row);
        (p.width, p.height, String::from_utf8(p.data).unwrap())
    };
    assert_eq!(at((1, 0), (0, 1)), (3, 2, "abcdef".into()));
    assert_eq!(at((-1, 0), (0, 1)), (3, 2, "cbafed".into()), "mirrored");
    assert_eq!(
        at((1, 0), (0, -1)),
        (3, 2, "defabc".into()),
        "upside down, mirrored"
    );
    assert_eq!(at((-1, 0), (0, -1)), (3, 2, "fedcba".into()), "turned 180");
    assert_eq!(
        at((0, 1), (-1, 0)),
        (2, 3, "daebfc".into()),
        "a quarter turn"
    );
    assert_eq!(
        at((0, -1), (1, 0)),
        (2, 3, "cfbead".into()),
        "three quarters"
    );
    assert_eq!(at((0, 1), (1, 0)), (2, 3, "adbecf".into()), "transposed");
    assert_eq!(
        at((1, 0), (1, 0)),
        (3, 2, "abcdef".into()),
        "not at right angles"
    );
}

#[test]
fn a_picture_is_placed_by_the_matrix_it_is_drawn_with_and_the_pages_rotate() {
    use lopdf::dictionary;
    // 2 wide, 1 high: dark on the left, light on the right.
    let dict = || {
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 1,
            "BitsPerComponent" => 8, "ColorSpace" => "DeviceGray",
        }
    };
    let shown = |content: &[u8], rotate: i64| {
        let g = picture(&pdf_with_image_drawn(
            dict(),
            vec![10, 200],
            content,
            rotate,
        ));
        (g.width, g.height, g.data)
    };
    // Content, /Rotate, and the picture as shown: width, height, pixels.
    type Case = (&'static [u8], i64, (usize, usize, Vec<u8>));
    let cases: [Case; 6] = [
        (b"q 72 0 0 36 0 0 cm /Im0 Do Q", 0, (2, 1, vec![10, 200])),
        // Mirrored by a negative scale, inside nested q/cm: dark on the right.
        (
            b"q 1 0 0 1 72 0 cm q -72 0 0 36 0 0 cm /Im0 Do Q Q",
            0,
            (2, 1, vec![200, 10]),
        ),
        // Stored lying down and drawn a quarter turn anticlockwise: its columns go up the
        // page, so its left end (dark) is at the bottom.
        (b"q 0 72 -36 0 36 0 cm /Im0 Do Q", 0, (1, 2, vec![200, 10])),
        // The page's /Rotate alone, and with the matrix: turned back upright.
        (b"q 72 0 0 36 0 0 cm /Im0 Do Q", 90, (1, 2, vec![10, 200])),
        (b"q 0 72 -36 0 36 0 cm /Im0 Do Q", 90, (2, 1, vec![10, 200])),
        // A matrix that is not found (the picture drawn in a form) leaves /Rotate alone.
        (b"q 72 0 0 36 0 0 cm /Fm0 Do Q", 180, (2, 1, vec![200, 10])),
    ];
    for (content, rotate, want) in cases {
        assert_eq!(
            shown(content, rotate),
            want,
            "{}",
            String::from_utf8_lossy(content)
        );
    }
}

#[test]
fn raw_pictures_in_every_depth_and_colour_space_a_scanner_writes() {
    use lopdf::dictionary;
    let base = |w: i64, h: i64, bpc: i64| {
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
            "BitsPerComponent" => bpc,
        }
    };
    // 8-bit gray, PNG predictors (Up on every row): rows 10 20 30 / 15 25 35.
    let mut d = base(3, 2, 8);
    d.set("ColorSpace", "DeviceGray");
    d.set("Filter", "FlateDecode");
    d.set(
        "DecodeParms",
        dictionary! { "Predictor" => 15, "Colors" => 1, "BitsPerComponent" => 8, "Columns" => 3 },
    );
    let rows = [2u8, 10, 20, 30, 2, 5, 5, 5];
    let g = picture(&pdf_with_image(d, zlib(&rows)));
    assert_eq!((g.width, g.height), (3, 2));
    assert_eq!(g.data, vec![10, 20, 30, 15, 25, 35]);
    assert!(
        (g.dpi - 3.0).abs() < 0.01,
        "3 pixels on one inch: {}",
        g.dpi
    );

    // 4-bit indexed over RGB: black, white, pure green (luma 149).
    let mut d = base(3, 1, 4);
    d.set(
        "ColorSpace",
        vec![
            Object::Name(b"Indexed".to_vec()),
            Object::Name(b"DeviceRGB".to_vec()),
            2.into(),
            Object::String(
                vec![0, 0, 0, 255, 255, 255, 0, 255, 0],
                lopdf::StringFormat::Hexadecimal,
            ),
        ],
    );
    d.set("Filter", "FlateDecode");
    let g = picture(&pdf_with_image(d, zlib(&[0x01, 0x20])));
    assert_eq!(g.data, vec![0, 255, 149]);

    // 8-bit CMYK: no ink, full black, full cyan (30% gray ink).
    let mut d = base(3, 1, 8);
    d.set("ColorSpace", "DeviceCMYK");
    let g = picture(&pdf_with_image(
        d,
        vec![0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0],
    ));
    assert_eq!(g.data, vec![255, 0, 179]);

    // 16-bit gray, uncompressed.
    let mut d = base(2, 1, 16);
    d.set("ColorSpace", "DeviceGray");
    let g = picture(&pdf_with_image(d, vec![0xFF, 0xFF, 0x80, 0x00]));
    assert_eq!(g.data, vec![255, 128]);

    // 1-bit gray shown inverted by /Decode [1 0], rows padded to a byte: 1 0 1 / 0 1 0.
    let mut d = base(3, 2, 1);
    d.set("ColorSpace", "DeviceGray");
    d.set("Decode", vec![1.into(), 0.into()]);
    d.set("Filter", "FlateDecode");
    let g = picture(&pdf_with_image(d, zlib(&[0b1010_0000, 0b0100_0000])));
    assert_eq!(g.data, vec![0, 255, 0, 255, 0, 255]);

    // JPEG 2000 is not read here: no picture rather than a wrong one.
    let mut d = base(2, 1, 8);
    d.set("ColorSpace", "DeviceGray");
    d.set("Filter", "JPXDecode");
    let got = page_images(&pdf_with_image(d, vec![0; 8]), &Limits::default(), &[1]).expect("read");
    assert_eq!(got, vec![(1, None)]);
}
