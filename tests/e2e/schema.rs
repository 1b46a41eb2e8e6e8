//! `mappings/schema.json` agrees with rolegate's rule compiler: the sample and a file using
//! every matcher kind are valid for both; each crafted bad file is refused by both. The
//! schema is checked with Python's `jsonschema` (JSON Schema 2020-12), the reference
//! implementation editors' YAML language servers follow.

use std::path::{Path, PathBuf};
use std::process::Command;

use rolegate::mapping::compile_sources;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn yaml_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML files in {}", folder.display());
    files
}

/// `ok` or `invalid: <where>: <why>` for each file, by the schema.
fn schema_verdicts(files: &[PathBuf]) -> Vec<String> {
    let output = Command::new("python3")
        .arg(format!("{ROOT}/tests/fixtures/mapping/validate-schema.py"))
        .arg(format!("{ROOT}/mappings/schema.json"))
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install python3 (make test-deps does)")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schema check failed: {stderr}\ninstall python3-jsonschema and python3-yaml (make test-deps does)"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let verdicts: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(verdicts.len(), files.len(), "{stdout}");
    verdicts
}

fn compiles(file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).unwrap();
    compile_sources(&[(file.to_path_buf(), text)])
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn the_sample_and_every_matcher_kind_are_valid_for_schema_and_compiler() {
    let mut files = yaml_files(&Path::new(ROOT).join("mappings/rules"));
    files.extend(yaml_files(
        &Path::new(ROOT).join("tests/fixtures/mapping/schema/valid"),
    ));
    for (file, verdict) in files.iter().zip(schema_verdicts(&files)) {
        assert!(
            verdict.starts_with("ok "),
            "schema refuses a good file: {verdict}"
        );
        if let Err(e) = compiles(file) {
            panic!("rolegate refuses {}: {e}", file.display());
        }
    }
}

#[test]
fn each_bad_rule_file_is_refused_by_schema_and_compiler() {
    let files = yaml_files(&Path::new(ROOT).join("tests/fixtures/mapping/schema/invalid"));
    assert!(files.len() >= 15, "the corpus shrank: {}", files.len());
    for (file, verdict) in files.iter().zip(schema_verdicts(&files)) {
        assert!(
            verdict.starts_with("invalid "),
            "the schema accepts a file rolegate must refuse: {verdict}"
        );
        let name = file.file_name().unwrap().to_string_lossy();
        match compiles(file) {
            Ok(()) => panic!("rolegate accepts {name}, which the schema refuses ({verdict})"),
            // Every refusal names the file and line.
            Err(e) => assert!(
                e.contains(&format!("{name}:")),
                "no file:line in rolegate's refusal of {name}: {e}"
            ),
        }
    }
}
