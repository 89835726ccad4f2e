//! The words drawings are made of: angles, text forms, code prefixes, look-alikes, labels.

pub const ANGLES: [i32; 7] = [0, 90, 270, 30, 150, 330, 45];
pub const MODES: [&str; 10] = [
    "plain",
    "chars",
    "chars_tm",
    "split",
    "tj_kern",
    "charspace",
    "hscale",
    "adjacent",
    "tm_rot",
    "plain_long",
];

pub(super) const LINE_PREFIX: [&str; 16] = [
    "HC", "CW", "ST", "FW", "PW", "IA", "LO", "FG", "NG", "SW", "VT", "DR", "HW", "BFW", "CWR",
    "SC",
];
pub(super) const DOC_PREFIX: [&str; 8] = ["PEN", "DWG", "ISO", "SUP", "VLV", "INS", "TIE", "SPL"];
pub(super) const DECOYS: [&str; 24] = [
    "SEE NOTE 3",
    "EL +102.350",
    "2\" SCH 40",
    "FLG 150#",
    "SHOP WELD",
    "FIELD WELD",
    "N 1234.500",
    "E 5678.250",
    "BOP EL +100.200",
    "PIPE SUPPORT",
    "INSULATED",
    "SLOPE 1:100",
    "CONT. ON",
    "FLOW",
    "DN150",
    "GASKET",
    "A106-B",
    "1250",
    "90 ELL",
    "TEE",
    "RED 4\"x2\"",
    "VENT",
    "DRAIN",
    "SPEC A1A",
];
pub(super) const ADJ_PRE: [&str; 8] = ["SEE", "REF", "TO", "FROM", "CONT", "TAG", "LINE", "DWG"];
pub(super) const ADJ_POST: [&str; 8] = ["SHT 2", "2 OFF", "A1A", "IH", "PP", "(TYP)", "12", "NEW"];
pub(super) const BOM_DESC: [&str; 8] = [
    "PIPE, SMLS, BE, ASTM A106-B",
    "ELBOW 90 LR, BW, A234-WPB",
    "TEE EQUAL, BW",
    "FLANGE WN RF 150#",
    "GASKET SPW 150# RF",
    "STUD BOLT A193-B7",
    "GATE VALVE 150# RF",
    "CHECK VALVE SWING",
];
