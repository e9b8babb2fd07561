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
    recorder::messages::install_logger(level);
    std::process::exit(recorder::cli::run(cli));
}
