// build.rs: finds heapkit malloc and links it statically into the crate.
//
// heapkit malloc is two static libraries of the project's CMake build:
// libheapkit_malloc.a (target heapkit_malloc, alias heapkit::malloc_core:
// the hk_* functions, without defining malloc/free, so the program's own
// malloc stays glibc's and Rust reaches heapkit only through GlobalAlloc)
// and libheapkit.a (the OS layer it maps pages with). Both are C++ built
// without exceptions on the allocation paths; linux.cpp still names the C++
// personality routine, so libstdc++ is linked too.
//
// Where they come from, first match wins:
//   1. HEAPKIT_DIR: an install prefix (lib/, lib64/, lib/<multiarch>/) or a
//      CMake build directory of the project (build/release);
//   2. pkg-config: the libdir of an installed heapkit.pc;
//   3. the project's sources (HEAPKIT_SOURCE_DIR, else the tree this crate
//      sits in, ../..), configured and built with CMake into OUT_DIR.
// HEAPKIT_FROM_SOURCE=1 skips 1 and 2. The choice is printed as a warning
// when it is not a build from source, so a stale installed copy is visible.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const MALLOC_LIB: &str = "heapkit_malloc";
const CORE_LIB: &str = "heapkit";

fn main() {
    for var in ["HEAPKIT_DIR", "HEAPKIT_SOURCE_DIR", "HEAPKIT_FROM_SOURCE", "PKG_CONFIG_PATH"] {
        println!("cargo:rerun-if-env-changed={}", var);
    }
    println!("cargo:rerun-if-changed=build.rs");

    let from_source = env::var("HEAPKIT_FROM_SOURCE").map(|v| v == "1").unwrap_or(false);
    let found = if from_source { None } else { from_heapkit_dir().or_else(from_pkg_config) };
    let (malloc_dir, core_dir) = match found {
        Some((how, dirs)) => {
            println!("cargo:warning=heapkit: linking heapkit malloc from {} ({})", dirs.0.display(), how);
            dirs
        }
        None => build_from_source(),
    };

    println!("cargo:rustc-link-search=native={}", malloc_dir.display());
    if core_dir != malloc_dir {
        println!("cargo:rustc-link-search=native={}", core_dir.display());
    }
    println!("cargo:rustc-link-lib=static={}", MALLOC_LIB);
    println!("cargo:rustc-link-lib=static={}", CORE_LIB);
    println!("cargo:rustc-link-lib=dylib=stdc++");
    println!("cargo:root={}", malloc_dir.display());
}

// The directory under `root` that holds lib<name>.a, if any.
fn find_archive(root: &Path, name: &str) -> Option<PathBuf> {
    let file = format!("lib{}.a", name);
    let subdirs = ["", "lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu", "src/malloc"];
    let dirs = subdirs.iter().map(|s| if s.is_empty() { root.to_path_buf() } else { root.join(s) });
    dirs.map(|d| d.canonicalize().unwrap_or(d)).find(|d| d.join(&file).is_file())
}

// Both archives under `root`, or None.
fn find_both(root: &Path) -> Option<(PathBuf, PathBuf)> {
    Some((find_archive(root, MALLOC_LIB)?, find_archive(root, CORE_LIB)?))
}

fn from_heapkit_dir() -> Option<(String, (PathBuf, PathBuf))> {
    let dir = PathBuf::from(env::var_os("HEAPKIT_DIR")?);
    match find_both(&dir) {
        Some(dirs) => Some(("HEAPKIT_DIR".to_string(), dirs)),
        None => panic!(
            "heapkit: HEAPKIT_DIR={} holds no lib{}.a and lib{}.a (looked in ., lib, lib64, lib/<multiarch>, \
             src/malloc); point it at a heapkit install prefix or a CMake build directory, or unset it",
            dir.display(),
            MALLOC_LIB,
            CORE_LIB
        ),
    }
}

fn from_pkg_config() -> Option<(String, (PathBuf, PathBuf))> {
    let out = Command::new("pkg-config").args(["--variable=libdir", "heapkit"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let libdir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    let dirs = find_both(&libdir)?;
    Some((format!("pkg-config heapkit, libdir {}", libdir.display()), dirs))
}

fn build_from_source() -> (PathBuf, PathBuf) {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let source = match env::var_os("HEAPKIT_SOURCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join("../.."),
    };
    if !source.join("src/malloc/CMakeLists.txt").is_file() {
        panic!(
            "heapkit: no heapkit found: HEAPKIT_DIR is unset, `pkg-config --variable=libdir heapkit` names no \
             directory with libheapkit_malloc.a, and {} is not the heapkit source tree (no src/malloc/CMakeLists.txt); \
             set HEAPKIT_DIR to an install prefix or HEAPKIT_SOURCE_DIR to the sources",
            source.display()
        );
    }
    for dir in ["src/malloc", "src/os", "src/error.cpp", "include", "CMakeLists.txt"] {
        println!("cargo:rerun-if-changed={}", source.join(dir).display());
    }

    let build = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("heapkit-build");
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(&source)
        .arg("-B")
        .arg(&build)
        .arg("-DCMAKE_BUILD_TYPE=Release")
        .arg("-DHEAPKIT_BUILD_TESTS=OFF")
        .arg("-DHEAPKIT_BUILD_TOOLS=OFF")
        .arg("-DHEAPKIT_BUILD_BENCH=OFF")
        .arg("-DHEAPKIT_BUILD_FUZZ=OFF")
        .arg("-DHEAPKIT_SANITIZE=");
    if !build.join("CMakeCache.txt").is_file() && Command::new("ninja").arg("--version").output().is_ok() {
        configure.args(["-G", "Ninja"]);
    }
    run(&mut configure, "configure");

    let jobs = env::var("NUM_JOBS").unwrap_or_else(|_| "2".to_string());
    let mut compile = Command::new("cmake");
    compile.arg("--build").arg(&build).args(["--target", "heapkit_malloc", "heapkit", "--parallel"]).arg(jobs);
    run(&mut compile, "build");

    find_both(&build).unwrap_or_else(|| {
        panic!(
            "heapkit: the CMake build in {} finished without lib{}.a and lib{}.a where expected (., src/malloc)",
            build.display(),
            MALLOC_LIB,
            CORE_LIB
        )
    })
}

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!(
            "heapkit: could not start CMake to {} heapkit malloc ({:?}): {}; install cmake or set HEAPKIT_DIR",
            what, cmd, e
        )
    });
    if !status.success() {
        panic!(
            "heapkit: CMake failed to {} heapkit malloc ({:?}, {}); see the output above, or set HEAPKIT_DIR \
             to an installed heapkit",
            what, cmd, status
        );
    }
}
