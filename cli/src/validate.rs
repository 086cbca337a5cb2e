//! `iotsec validate [--json] FILE...|-`

use clap::Args;
use serde_json::json;

use crate::{input, CliError, CliResult};

#[derive(Args)]
pub(crate) struct ValidateArgs {
    /// Print one JSON object per file: {"file", "valid", "violations": [{"pointer", "rule", "message"}]}.
    #[arg(long)]
    json: bool,

    /// Files holding one security message each; `-` reads standard input.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<String>,
}

/// Exit 0 when every file is valid, 1 when one is not, 2 when one cannot be read.
pub(crate) fn run(args: ValidateArgs) -> CliResult {
    if args.files.iter().filter(|f| *f == "-").count() > 1 {
        return Err(CliError::usage("standard input (`-`) can be read only once"));
    }
    let (mut invalid, mut unreadable) = (0usize, 0usize);
    for file in &args.files {
        let input = match input::read(file) {
            Ok(i) => i,
            Err(why) => {
                unreadable += 1;
                if args.json {
                    println!("{}", json!({"file": file, "valid": false, "error": why, "violations": []}));
                } else {
                    eprintln!("iotsec: {why}");
                }
                continue;
            }
        };
        let violations = iotsec::schema::validate(&input.bytes);
        if !violations.is_empty() {
            invalid += 1;
        }
        if args.json {
            let list: Vec<_> = violations
                .iter()
                .map(|v| {
                    let mut o = json!({"pointer": v.pointer, "rule": v.rule, "message": v.message});
                    if let Some(p) = v.position {
                        o["line"] = json!(p.line);
                        o["column"] = json!(p.column);
                    }
                    o
                })
                .collect();
            println!("{}", json!({"file": file, "valid": violations.is_empty(), "violations": list}));
        } else if violations.is_empty() {
            println!("{}: valid", input.label);
        } else {
            let n = violations.len();
            println!("{}: invalid ({n} violation{})", input.label, if n == 1 { "" } else { "s" });
            for v in &violations {
                println!("  {v}");
            }
        }
    }
    if !args.json && args.files.len() > 1 {
        let valid = args.files.len() - invalid - unreadable;
        eprintln!("{} files: {valid} valid, {invalid} invalid, {unreadable} unreadable", args.files.len());
    }
    match (unreadable, invalid) {
        (0, 0) => Ok(()),
        (0, _) => Err(CliError::silent(1)),
        _ => Err(CliError::silent(2)),
    }
}
