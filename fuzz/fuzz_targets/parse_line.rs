//! Any bytes through the log line parser and the streaming collector: no
//! panic, and a record's fields always come from the input.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use recorder_profile::logs::time::TimeZone;
use recorder_profile::logs::{Collector, FilterOptions, Line, Parser};

/// Built once: building the marker automaton dominates a run otherwise.
static PARSER: LazyLock<Parser> = LazyLock::new(|| Parser::with_time_zone(TimeZone::UTC));

fuzz_target!(|data: &[u8]| {
    let parser = PARSER.clone();
    let mut scratch = Vec::new();
    if let Line::Record(record) = parser.parse_line(data, &mut scratch) {
        if let Some(comm) = record.comm {
            let _ = comm.decode();
        }
        let _ = recorder_profile::logs::collect::record_arch(&record);
    }
    let _ = recorder_profile::logs::parse::parse_audit_message(data);
    let mut collector = Collector::with_parser(parser, FilterOptions::default());
    collector.feed_lines(data);
    let _ = collector.set().to_profile(38);
    let _ = collector.summary().to_string();
});
