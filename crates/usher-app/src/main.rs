//! `usher`: parses the command line, runs the command, and exits non-zero with a one-line
//! reason when it fails.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = usher_app::Cli::parse();
    match usher_app::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr, reason = "the one-line reason a command failed")]
            {
                eprintln!("usher: {err}");
            }
            ExitCode::FAILURE
        }
    }
}
