//! Finding #10.9: the image's build stage copied too little (no `benches/`, no `mappings/`)
//! and did not build. This test copies exactly what the build stage's `COPY` lines copy into
//! an empty folder and runs the build stage's `RUN cargo …` command there, so the Dockerfile
//! cannot drift from the tree again; no Docker engine is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The build stage's instructions: from `FROM … AS build` to the next `FROM`, with
/// continuation lines joined.
fn build_stage(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let mut in_build = false;
    let mut stage = Vec::new();
    for line in joined.lines().map(str::trim) {
        if line.starts_with("FROM ") {
            in_build = line.to_ascii_lowercase().ends_with(" as build");
            continue;
        }
        if in_build && !line.is_empty() && !line.starts_with('#') {
            stage.push(line.to_owned());
        }
    }
    stage
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

/// Does what `COPY a b … dest` does in `context` (the repository) to `workdir`.
fn copy(instruction: &str, workdir: &Path) {
    let words: Vec<&str> = instruction.split_whitespace().skip(1).collect();
    assert!(
        !words.iter().any(|w| w.starts_with("--")),
        "unsupported COPY flags: {instruction}"
    );
    let (dest, sources) = words.split_last().expect("COPY names a destination");
    let dest = workdir.join(dest);
    for source in sources {
        let from = Path::new(ROOT).join(source);
        assert!(from.exists(), "COPY {source}: not in the repository");
        let name = Path::new(source).file_name().unwrap();
        let to = if dest.to_string_lossy().ends_with('/') || sources.len() > 1 {
            dest.join(name)
        } else {
            dest.clone()
        };
        copy_tree(&from, &to);
    }
}

#[test]
fn the_image_build_stage_builds_from_exactly_what_it_copies() {
    let dockerfile = std::fs::read_to_string(Path::new(ROOT).join("docker/Dockerfile")).unwrap();
    let stage = build_stage(&dockerfile);
    let context = tempfile::tempdir().unwrap();
    let mut cargo_commands = Vec::new();
    for instruction in &stage {
        if instruction.starts_with("COPY ") {
            copy(instruction, context.path());
        } else if let Some(command) = instruction.strip_prefix("RUN ")
            && command.starts_with("cargo ")
        {
            cargo_commands.push(command.to_owned());
        }
    }
    assert_eq!(cargo_commands.len(), 1, "one cargo command in: {stage:?}");
    // Shared between runs, apart from the suite's own target folder.
    let target: PathBuf = Path::new(ROOT).join("target/docker-build-stage");
    let output = Command::new("sh")
        .arg("-c")
        .arg(&cargo_commands[0])
        .current_dir(context.path())
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`{}` failed in the build stage's context:\n{}",
        cargo_commands[0],
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(target.join("release/rolegate").is_file());
}
