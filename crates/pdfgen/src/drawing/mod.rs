//! Drawing-like PDFs with known codes: pipes, hatching, a title block, a bill of materials and
//! annotations at isometric and other angles, with every code drawn in one of the text forms a
//! CAD exporter uses. The ground truth records each code's form, angle and pages.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::fonts::{declare, finish_font, FontKind, FontRes};
use crate::writer::{Encryption, Pdf};

mod page;
mod sheet;
mod text;
mod truth;
mod words;

pub use sheet::drawing;
pub use truth::{DrawingOptions, FileTruth};
pub use words::{ANGLES, MODES};

use page::*;
use text::*;
use truth::*;
use words::*;
