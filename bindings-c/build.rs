//! Gives libiotsec.so a versioned SONAME, so programs linked with `-liotsec` record the ABI
//! they were built against: `libiotsec.so.0.<minor>` while the version is 0.x (every 0.x minor
//! release may break the ABI), `libiotsec.so.<major>` from 1.0 on.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_else(|_| "0".into());
    let soname = if major == "0" { format!("libiotsec.so.0.{minor}") } else { format!("libiotsec.so.{major}") };
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" || os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
    println!("cargo:rustc-env=IOTSEC_SONAME={soname}");
}
