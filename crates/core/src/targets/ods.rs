//! OpenDocument spreadsheets, read as a stream of XML events from `content.xml`: repeated rows
//! and cells (`number-rows-repeated`, `number-columns-repeated`) are counted, never expanded,
//! so a cell repeated over a whole sheet costs what one cell costs.

use std::cell::Cell;
use std::io::{BufReader, Read};

use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::collect::Collector;
use super::container::{self, MAX_SHEET_PART};
use super::{float_text, pick_sheet, TargetError, TargetList, MAX_CODE_CHARS};

/// Stops a reader past `left` bytes, and says so.
struct Capped<'a, R> {
    inner: R,
    left: u64,
    over: &'a Cell<bool>,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.over.set(true);
            return Err(std::io::Error::other("content.xml is over its bound"));
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// A cell's text as the list rule will see it: leading and trailing white space dropped, and
/// no more than one character past the longest code kept.
#[derive(Default)]
struct CellText {
    text: String,
    chars: usize,
    /// White space seen after the last kept character, not yet written.
    space: u64,
}

impl CellText {
    fn push(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_whitespace() {
                self.spaces(1);
            } else {
                self.put(c);
            }
        }
    }

    fn spaces(&mut self, n: u64) {
        if self.chars > 0 {
            self.space = self.space.saturating_add(n);
        }
    }

    fn put(&mut self, c: char) {
        let room = (MAX_CODE_CHARS + 1).saturating_sub(self.chars) as u64;
        let space = self.space.min(room);
        for _ in 0..space {
            self.text.push(' ');
        }
        self.chars += space as usize;
        self.space = 0;
        if self.chars <= MAX_CODE_CHARS {
            self.text.push(c);
            self.chars += 1;
        }
    }
}

fn damaged(e: impl std::fmt::Display) -> TargetError {
    TargetError::NotAWorkbook(format!("the .ods file is damaged: {e}"))
}

fn attr(e: &BytesStart, name: &[u8]) -> Result<Option<String>, TargetError> {
    for a in e.attributes() {
        let a = a.map_err(damaged)?;
        if a.key.as_ref() == name {
            let raw = std::str::from_utf8(&a.value).map_err(damaged)?;
            let v = quick_xml::escape::unescape(raw).map_err(damaged)?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn repeats(e: &BytesStart, name: &[u8]) -> Result<u64, TargetError> {
    match attr(e, name)? {
        None => Ok(1),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| damaged(format!("a repeat of {v:?}"))),
    }
}

/// A cell's value from its attributes, or `None` where its text is the value.
fn attribute_value(e: &BytesStart) -> Result<Option<String>, TargetError> {
    if let Some(v) = attr(e, b"office:value")? {
        let f: f64 = v
            .trim()
            .parse()
            .map_err(|_| damaged(format!("a number {v:?}")))?;
        return Ok(Some(float_text(f)));
    }
    for name in [
        &b"office:string-value"[..],
        b"office:date-value",
        b"office:time-value",
    ] {
        if let Some(v) = attr(e, name)? {
            return Ok(Some(v));
        }
    }
    if let Some(v) = attr(e, b"office:boolean-value")? {
        let b = v.eq_ignore_ascii_case("true");
        return Ok(Some(if b { "TRUE" } else { "FALSE" }.into()));
    }
    match attr(e, b"office:value-type")?.as_deref() {
        Some("string") => Ok(None),
        // No value type: an empty cell, whatever it holds.
        _ => Ok(Some(String::new())),
    }
}

/// Walks `content.xml` and calls `on` for every event, stopping when it says so.
fn walk(
    bytes: &[u8],
    mut on: impl FnMut(&Event) -> Result<bool, TargetError>,
) -> Result<(), TargetError> {
    let mut archive = container::zip(bytes)?;
    let entry = archive.by_name("content.xml").map_err(damaged)?;
    let over = Cell::new(false);
    let capped = Capped {
        inner: entry,
        left: MAX_SHEET_PART,
        over: &over,
    };
    let mut reader = Reader::from_reader(BufReader::new(capped));
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let ev = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => return Ok(()),
            Ok(ev) => ev,
            Err(_) if over.get() => {
                return Err(TargetError::TooLarge {
                    part: "content.xml".into(),
                    limit_mib: MAX_SHEET_PART >> 20,
                })
            }
            Err(e) => return Err(damaged(e)),
        };
        if !on(&ev)? {
            return Ok(());
        }
    }
}

fn is_table(e: &[u8]) -> bool {
    e == b"table:table"
}

/// The sheets' names, in order (tables nested in cells are not sheets).
fn sheet_names(bytes: &[u8]) -> Result<Vec<String>, TargetError> {
    let mut names = vec![];
    let mut depth = 0usize;
    walk(bytes, |ev| {
        match ev {
            Event::Start(e) if is_table(e.name().as_ref()) => {
                if depth == 0 {
                    names.push(attr(e, b"table:name")?.unwrap_or_default());
                }
                depth += 1;
            }
            Event::Empty(e) if is_table(e.name().as_ref()) && depth == 0 => {
                names.push(attr(e, b"table:name")?.unwrap_or_default());
            }
            Event::End(e) if is_table(e.name().as_ref()) => depth = depth.saturating_sub(1),
            _ => {}
        }
        Ok(true)
    })?;
    Ok(names)
}

pub(super) fn read(
    bytes: &[u8],
    sheet: Option<&str>,
    column: Option<&str>,
) -> Result<TargetList, TargetError> {
    let names = sheet_names(bytes)?;
    let name = pick_sheet(&names, sheet)?;
    let index = names.iter().position(|n| *n == name).unwrap_or(0);
    let mut collector = Collector::new(column);
    // Where the walk is: sheets passed, tables open, the row and column of the next cell.
    let (mut sheets, mut depth) = (0usize, 0usize);
    let (mut row, mut rows, mut col) = (0u64, 1u64, 0u64);
    let mut cell: Option<(u64, Option<String>, CellText)> = None;
    let mut paragraphs = 0usize;
    let mut annotation = 0usize;
    walk(bytes, |ev| {
        let inside = depth == 1 && sheets == index + 1;
        match ev {
            Event::Start(e) if is_table(e.name().as_ref()) => {
                if depth == 0 {
                    sheets += 1;
                }
                depth += 1;
            }
            Event::End(e) if is_table(e.name().as_ref()) => {
                depth = depth.saturating_sub(1);
                if depth == 0 && sheets == index + 1 {
                    return Ok(false);
                }
            }
            Event::Empty(e) if is_table(e.name().as_ref()) && depth == 0 => sheets += 1,
            _ if !inside => {}
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"table:table-row" => {
                rows = repeats(e, b"table:number-rows-repeated")?;
                col = 0;
                if matches!(ev, Event::Empty(_)) {
                    row = row.saturating_add(rows);
                }
            }
            Event::End(e) if e.name().as_ref() == b"table:table-row" => {
                row = row.saturating_add(rows);
            }
            Event::Start(e) | Event::Empty(e)
                if matches!(
                    e.name().as_ref(),
                    b"table:table-cell" | b"table:covered-table-cell"
                ) =>
            {
                let cols = repeats(e, b"table:number-columns-repeated")?;
                let value = attribute_value(e)?;
                paragraphs = 0;
                if matches!(ev, Event::Empty(_)) {
                    if let Some(v) = value.filter(|_| collector.wants_any(col, cols)) {
                        collector.cell(row, rows, col, cols, &v)?;
                    }
                    col = col.saturating_add(cols);
                } else {
                    cell = Some((cols, value, CellText::default()));
                }
            }
            Event::End(e)
                if matches!(
                    e.name().as_ref(),
                    b"table:table-cell" | b"table:covered-table-cell"
                ) =>
            {
                if let Some((cols, value, text)) = cell.take() {
                    let v = value.unwrap_or(text.text);
                    if collector.wants_any(col, cols) {
                        collector.cell(row, rows, col, cols, &v)?;
                    }
                    col = col.saturating_add(cols);
                }
            }
            Event::Start(e) if e.name().as_ref() == b"office:annotation" => annotation += 1,
            Event::End(e) if e.name().as_ref() == b"office:annotation" => {
                annotation = annotation.saturating_sub(1)
            }
            _ if annotation > 0 => {}
            ev => {
                // Text of a string cell that has no string-value attribute.
                if let Some((_, None, text)) = cell.as_mut() {
                    match ev {
                        Event::Start(e) if e.name().as_ref() == b"text:p" => {
                            if paragraphs > 0 {
                                text.spaces(1);
                            }
                            paragraphs += 1;
                        }
                        Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"text:s" => {
                            text.spaces(repeats(e, b"text:c")?);
                        }
                        Event::Start(e) | Event::Empty(e)
                            if matches!(e.name().as_ref(), b"text:tab" | b"text:line-break") =>
                        {
                            text.spaces(1);
                        }
                        Event::Text(t) => text.push(&t.xml10_content().map_err(damaged)?),
                        Event::GeneralRef(r) => {
                            let name = r.decode().map_err(damaged)?;
                            if let Some(s) = resolve_xml_entity(&name) {
                                text.push(s);
                            } else if let Some(c) = r.resolve_char_ref().map_err(damaged)? {
                                text.push(c.encode_utf8(&mut [0; 4]));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(true)
    })?;
    collector.finish(name)
}
