//! With feature `torch`, lets this crate's binaries and tests find libtorch at run time (rpath to
//! the directory dendrite-autograd built against), and passes that directory on to the build
//! scripts of dependents (`DEP_DENDRITE_LIBTORCH_LIB`): an rpath applies to the targets of the
//! package whose build script sets it, never to its dependents'.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_DENDRITE_AUTOGRAD_LIBTORCH_LIB");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_some() {
        if let Ok(lib) = std::env::var("DEP_DENDRITE_AUTOGRAD_LIBTORCH_LIB") {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
            println!("cargo:libtorch_lib={lib}");
        }
    }
}
