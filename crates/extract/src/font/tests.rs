use super::*;

#[test]
fn glyph_names() {
    assert_eq!(glyph_name_to_unicode(b"hyphen").as_deref(), Some("-"));
    assert_eq!(
        glyph_name_to_unicode(b"uni2010").as_deref(),
        Some("\u{2010}")
    );
    assert_eq!(
        glyph_name_to_unicode(b"u1F600").as_deref(),
        Some("\u{1F600}")
    );
    assert_eq!(glyph_name_to_unicode(b"f_i").as_deref(), Some("fi"));
    assert_eq!(glyph_name_to_unicode(b"A.sc").as_deref(), Some("A"));
    assert_eq!(glyph_name_to_unicode(b"g123"), None);
}

#[test]
fn standard_fonts_have_metrics() {
    let h = standard_font(b"Helvetica").unwrap();
    assert_eq!(afm_width(h, "space"), Some(278.0));
    assert_eq!(
        afm_width(standard_font(b"ABCDEF+Courier-Bold").unwrap(), "A"),
        Some(600.0)
    );
    assert_eq!(
        afm_width(standard_font(b"Arial,Bold").unwrap(), "A"),
        Some(722.0)
    );
}
