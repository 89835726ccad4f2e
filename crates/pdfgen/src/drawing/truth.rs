//! What a drawing holds (its ground truth), the options it is made with, and fresh codes.

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileTruth {
    /// Codes drawn in the file.
    pub codes: Vec<String>,
    /// How each code was drawn: `mode@angle`.
    pub modes: BTreeMap<String, String>,
    /// Pages each code is on.
    pub pages: BTreeMap<String, Vec<u32>>,
    /// Look-alikes: codes that are not on the drawing though a longer or prefixed string is.
    pub absent: Vec<String>,
    pub font: String,
    pub page_count: u32,
    pub size: String,
    pub encrypted: bool,
    /// Codes a pipe line is drawn across (on a scan, part of their characters is under it).
    #[serde(default)]
    pub crossed: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DrawingOptions {
    /// Small drawings (A3, one page, light graphics), as benchmarks use.
    pub small: bool,
    /// Every code level and 8 pt or larger, in a standard font, as the codes a scanned drawing
    /// is searched for (bills of materials, title blocks, labels) are.
    pub upright: bool,
}

pub(super) struct Codes<'r> {
    pub(super) rng: &'r mut StdRng,
    pub(super) used: HashSet<String>,
}

impl Codes<'_> {
    pub(super) fn new_code(&mut self, doc: Option<bool>) -> String {
        loop {
            let doc = doc.unwrap_or_else(|| self.rng.random_bool(0.35));
            let c = if doc {
                format!(
                    "{}-{:02}-{:04}",
                    DOC_PREFIX[self.rng.random_range(0..DOC_PREFIX.len())],
                    self.rng.random_range(10..100),
                    self.rng.random_range(0..10000)
                )
            } else {
                format!(
                    "{}-{:04}",
                    LINE_PREFIX[self.rng.random_range(0..LINE_PREFIX.len())],
                    self.rng.random_range(1000..10000)
                )
            };
            if self.used.insert(c.clone()) {
                return c;
            }
        }
    }
}
