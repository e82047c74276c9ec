//! `--format json`: the whole report as one JSON document (the schema is `crate::report`).

use std::io::{self, Write};

use super::{MatchOutput, Printer};

pub struct Json;

impl Printer for Json {
    fn write(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
        out.report.write_json(w)
    }

    fn mode(&self) -> super::Mode {
        super::Mode::Json
    }
}
