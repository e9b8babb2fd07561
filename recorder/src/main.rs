use std::io::Write;

use clap::Parser;

fn main() {
    let cli = recorder::cli::Cli::parse();
    // The eBPF loader's debug output (every relocation) drowns the
    // recorder's own: it comes only with -vvv.
    let level = match cli.verbose {
        0 => "warn",
        1 => "warn,recorder=info",
        2 => "warn,recorder=debug",
        _ => "debug",
    };
    // Log lines take the form of every other message: `recorder: warning: ...`.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format(|buf, record| {
            let level = match record.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                log::Level::Info => "info",
                log::Level::Debug => "debug",
                log::Level::Trace => "trace",
            };
            writeln!(buf, "recorder: {level}: {}", record.args())
        })
        .init();
    std::process::exit(recorder::cli::run(cli));
}
