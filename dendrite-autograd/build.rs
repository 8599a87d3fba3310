//! Compiles the C++ autograd shim against the libtorch torch-sys found, and sets the rpath so
//! that this crate's tests and examples find libtorch at run time without LD_LIBRARY_PATH.
//! Under docs.rs (`DOCS_RS`) it does nothing.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=csrc/function.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=DOCS_RS");
    // docs.rs builds documentation only, without libtorch (torch-sys with `doc-only`): there
    // is nothing to compile the shim against, and rustdoc links nothing.
    if std::env::var_os("DOCS_RS").is_some() {
        return;
    }
    let lib = PathBuf::from(
        std::env::var("DEP_TCH_LIBTORCH_LIB").expect("torch-sys exports its libtorch lib dir"),
    );
    let root = lib.parent().expect("libtorch root").to_path_buf();
    let include = root.join("include");
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(&include)
        .include(
            include
                .join("torch")
                .join("csrc")
                .join("api")
                .join("include"),
        )
        .flag("-std=c++17")
        .flag("-D_GLIBCXX_USE_CXX11_ABI=1")
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("csrc/function.cpp")
        .compile("dendrite_autograd_shim");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    println!("cargo:libtorch_lib={}", lib.display());
}
