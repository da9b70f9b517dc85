//! The `ag06-lab` binary: see `ag06_lab::cli`.

fn main() -> std::process::ExitCode {
    ag06_lab::cli::main()
}
