#!/usr/bin/env bash
# g++ on heapkit malloc (cc1plus, as and ld all preloaded): compiles heapkit
# malloc itself into a program linked with it, and a program heavy on the
# standard library; both are then run (without the preload) and their
# output checked.
source "$(dirname "$0")/common.sh"
need g++
[[ -d $HK_SRC/src/malloc ]] || fail "source directory $HK_SRC has no src/malloc"
check_active g++ --version
cd "$HK_WORK"
sources=("$HK_SRC"/src/error.cpp "$HK_SRC"/src/os/linux.cpp "$HK_SRC"/src/malloc/*.cpp
         "$HK_SRC"/src/override/override.cpp "$HK_SRC"/tests/install/malloc_consumer.cpp)
# two compilers at a time, each under the preload
printf '%s\n' "${sources[@]}" | hk xargs -P 2 -I{} \
  sh -c 'g++ -std=c++20 -O2 -I"$0"/include -I"$0"/src -c "$1" -o "$(basename "$1" .cpp).o"' "$HK_SRC" {}
hk g++ -pthread ./*.o -o consumer
expect "heapkit malloc built by g++ on heapkit malloc" "$(./consumer)" "malloc is heapkit"

cat >stl.cpp <<'CPP'
#include <algorithm>
#include <iostream>
#include <map>
#include <numeric>
#include <regex>
#include <sstream>
#include <string>
#include <vector>
int main() {
    std::map<std::string, int> words;
    std::ostringstream text;
    for (int i = 0; i < 20000; ++i) text << "word" << (i * 7919) % 1000 << ' ';
    const std::string s = text.str();
    const std::regex re("word([0-9]+)");
    long sum = 0;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
        ++words[(*it)[0]];
        sum += std::stol((*it)[1]);
    }
    std::vector<int> v(100000);
    std::iota(v.begin(), v.end(), 0);
    std::sort(v.begin(), v.end(), [](int a, int b) { return (a * 31) % 1000 < (b * 31) % 1000 || ((a * 31) % 1000 == (b * 31) % 1000 && a < b); });
    std::cout << words.size() << ' ' << sum << ' ' << v[0] << ' ' << v[99999] << '\n';
}
CPP
hk g++ -std=c++20 -O2 stl.cpp -o stl
# 1000 distinct words; sum of 0..999 twenty times; sorted by (a * 31) % 1000: 0 first, 99129 last (129 * 31 = 3999)
expect "standard-library program compiled on heapkit" "$(./stl)" "1000 9990000 0 99129"
