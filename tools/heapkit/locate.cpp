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

}  // namespace

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
