//! The `netloom` binary: argument parsing only; the work happens in `netloom::cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = netloom::cli::Cli::parse();
    match netloom::cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
