//! With feature `torch`, lets this crate's binaries and tests find libtorch at run time (rpath to
//! the directory dendrite-autograd built against).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_DENDRITE_AUTOGRAD_LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_some() {
        if let Ok(lib) = std::env::var("DEP_DENDRITE_AUTOGRAD_LIBTORCH_LIB") {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        }
    }
}
