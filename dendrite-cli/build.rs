//! When the facade is built with feature `torch` (feature unification: `--features
//! dendrite/torch`), the `dendrite` binary and this crate's tests link libtorch: give them an
//! rpath to it, so that they run without `LD_LIBRARY_PATH`. `cargo xtask test` checks every
//! built binary for it (`xtask/src/rpath.rs`).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_DENDRITE_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_DENDRITE_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
