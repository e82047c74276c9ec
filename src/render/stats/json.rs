//! `arm-kb stats --format json`: the report as one JSON document (serde writes it).

use std::io::{self, Write};

use super::{StatsOutput, StatsPrinter};

pub struct Json;

impl StatsPrinter for Json {
    fn write(&self, w: &mut dyn Write, out: &StatsOutput<'_>) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, out.report)?;
        writeln!(w)
    }
}
