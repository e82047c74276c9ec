//! `--format jsonl`: one finding per line, nothing else (the schema is `crate::report`).

use std::io::{self, Write};

use super::{MatchOutput, Printer};

pub struct Jsonl;

impl Printer for Jsonl {
    fn write(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
        out.report.write_jsonl(w)
    }

    fn mode(&self) -> super::Mode {
        super::Mode::Json
    }
}
