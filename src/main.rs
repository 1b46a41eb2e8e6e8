//! The `rolegate` command: see `rolegate --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    rolegate::cli::run()
}
