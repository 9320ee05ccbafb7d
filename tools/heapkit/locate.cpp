// locate: finds the example programs next to /proc/self/exe. See locate.hpp.
#include "locate.hpp"

#include <filesystem>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace heapkit::tools {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> candidates(const std::string& explicit_dir) {
    if (!explicit_dir.empty()) return {fs::path(explicit_dir)};
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    const fs::path dir = self.parent_path();
    return {dir, (dir / ".." / "libexec" / "heapkit").lexically_normal()};
}

bool is_executable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p); }

#ifndef HEAPKIT_BUILD_LIB_DIR
#define HEAPKIT_BUILD_LIB_DIR ""
#endif
#ifndef HEAPKIT_INSTALL_LIBDIR
#define HEAPKIT_INSTALL_LIBDIR "lib"
#endif
#ifndef HEAPKIT_INSTALL_FULL_LIBDIR
#define HEAPKIT_INSTALL_FULL_LIBDIR ""
#endif

std::vector<fs::path> library_candidates(const std::string& explicit_path, const char* shared_library_name) {
    if (!explicit_path.empty()) return {fs::path(explicit_path)};
    std::vector<fs::path> c;
    auto add = [&c](const fs::path& p) {
        const fs::path n = p.lexically_normal();
        for (const fs::path& have : c)
            if (have == n) return;
        c.push_back(n);
    };
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path prefix = self.parent_path().parent_path();
        add(prefix / "lib" / shared_library_name);                               // a build tree: bin/ and lib/
        add(prefix / HEAPKIT_INSTALL_LIBDIR / "heapkit" / shared_library_name);  // installed
        add(prefix / "lib" / "heapkit" / shared_library_name);
    }
    if (*HEAPKIT_BUILD_LIB_DIR != '\0') add(fs::path(HEAPKIT_BUILD_LIB_DIR) / shared_library_name);
    if (*HEAPKIT_INSTALL_FULL_LIBDIR != '\0')
        add(fs::path(HEAPKIT_INSTALL_FULL_LIBDIR) / "heapkit" / shared_library_name);
    return c;
}

}  // namespace

std::optional<std::string> locate_shared_library(const std::string& explicit_path, const char* name) {
    for (const fs::path& p : library_candidates(explicit_path, name)) {
        std::error_code ec;
        if (fs::is_regular_file(p, ec) && ::access(p.c_str(), R_OK) == 0) return fs::absolute(p, ec).string();
    }
    return std::nullopt;
}

std::string shared_library_search_path(const std::string& explicit_path, const char* name) {
    std::string s;
    for (const fs::path& p : library_candidates(explicit_path, name)) {
        if (!s.empty()) s += ", ";
        s += p.string();
    }
    return s.empty() ? "(none: /proc/self/exe unreadable)" : s;
}

std::optional<std::string> locate_examples(const std::string& explicit_dir, const std::string& probe) {
    for (const fs::path& dir : candidates(explicit_dir)) {
        if (is_executable(dir / probe)) return dir.string();
    }
    return std::nullopt;
}

std::string examples_search_path(const std::string& explicit_dir) {
    std::string s;
    for (const fs::path& dir : candidates(explicit_dir)) {
        if (!s.empty()) s += ", ";
        s += dir.string();
    }
    return s.empty() ? "(none: /proc/self/exe unreadable)" : s;
}

}  // namespace heapkit::tools
