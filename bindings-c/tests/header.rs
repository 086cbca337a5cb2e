//! The committed C header must be exactly what cbindgen generates from the sources.
//!
//! `IOTSEC_BLESS=1 cargo test --release -p iotsec-c --test header` rewrites it.

use std::path::PathBuf;

#[test]
fn committed_header_matches_cbindgen_output() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("bindings-c/cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen could not read bindings-c/src");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = crate_dir.join("include/iotsec.h");
    if std::env::var_os("IOTSEC_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/iotsec.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "bindings-c/include/iotsec.h is out of date with bindings-c/src (first difference at line {}).\n\
             Regenerate it: IOTSEC_BLESS=1 cargo test --release -p iotsec-c --test header",
            first + 1
        );
    }
}
