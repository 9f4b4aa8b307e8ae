//! `cargo xtask bench [--quick]`: the benchmark of DESIGN §6 (`tests/examples/bench.rs`, run
//! against the built `usher serve` with `wrk` driving the load). A full run builds in release
//! and writes its table to `docs/benchmarks.md`; `--quick` runs every scenario small in the
//! debug build, which is what `cargo xtask test` does so the bench never rots (it checks that
//! no scenario had an error, not how fast it was).

use std::path::Path;
use std::process::Command;

/// Where a full run writes its table.
pub(crate) const TABLE: &str = "docs/benchmarks.md";

/// Makes sure `wrk` is on the PATH, installing Debian's package with apt-get when it is not.
pub(crate) fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    println!("xtask: wrk is missing; installing Debian's package");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let updated = || Command::new("apt-get").args(["update", "-q"]).status().is_ok_and(|s| s.success());
    if install() || (updated() && install()) {
        Ok(())
    } else {
        Err("wrk is missing and apt-get could not install it; install wrk (Debian: apt-get install wrk)"
            .to_owned())
    }
}

/// Builds what the run needs (unless `built`) and runs the benchmark.
pub(crate) fn run(root: &Path, cargo: &str, quick: bool, built: bool) -> Result<(), String> {
    ensure_wrk()?;
    let profile = if quick { "debug" } else { "release" };
    if !built && quick {
        // The debug build the tests use, with their features (see `build_as_tests`).
        crate::build_as_tests(cargo, root)?;
    } else if !built {
        let mut build = Command::new(cargo);
        build
            .args(["build", "--workspace", "--bins", "--examples", "--locked", "--release"])
            .current_dir(root);
        let status = build.status().map_err(|err| format!("cannot run cargo: {err}"))?;
        if !status.success() {
            return Err("the build failed".to_owned());
        }
    }
    let target = root.join("target").join(profile);
    let mut bench = Command::new(target.join("examples").join("bench"));
    bench.env("USHER_BIN", target.join("usher")).current_dir(root);
    if quick {
        bench.arg("--quick");
    } else {
        bench.args(["--write", TABLE]);
    }
    let status = bench.status().map_err(|err| format!("cannot run the benchmark: {err}"))?;
    if status.success() { Ok(()) } else { Err("a benchmark scenario had errors (see above)".to_owned()) }
}
