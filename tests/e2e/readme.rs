//! Every ```console block in the README that runs `rolegate` is run here, and its output
//! must be exactly what the README shows.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rolegate");

/// `(command line, expected output)` for each console block.
fn console_blocks(readme: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut rest = readme;
    while let Some(start) = rest.find("```console\n") {
        let body_start = start + "```console\n".len();
        let Some(length) = rest[body_start..].find("```") else {
            break;
        };
        let body = &rest[body_start..body_start + length];
        let (command, output) = body.split_once('\n').unwrap_or((body, ""));
        blocks.push((
            command.trim_start_matches("$ ").to_owned(),
            output.to_owned(),
        ));
        rest = &rest[body_start + length + 3..];
    }
    blocks
}

#[test]
fn readme_console_examples_print_what_the_readme_shows() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = console_blocks(&readme);
    assert!(
        blocks.len() >= 4,
        "the README shows the simulator and validator examples"
    );
    for (command, expected) in blocks {
        let mut words = command.split_whitespace();
        assert_eq!(words.next(), Some("rolegate"), "{command}");
        let output = Command::new(BIN)
            .args(words)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let actual = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(actual, expected, "README example differs: {command}");
    }
}
