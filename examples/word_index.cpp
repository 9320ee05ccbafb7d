// word_index: a small program with the allocation patterns a profiler should
// explain, the one `scripts/tour.sh` records with `heapkit profile`:
//
//   - before main: a static table of stop words built by a constructor;
//   - steady work: two threads each build an index (word -> positions) of a
//     generated text, with many short-lived strings (temporary allocations);
//   - a peak: both indexes alive at once, then merged and dropped;
//   - a leak: remember_query() keeps a copy of every answer that nobody frees.
//
//   example_word_index [WORDS]     (default 200000 words per thread)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

using word_index = std::unordered_map<std::string, std::vector<int>>;

// Built before main: the profiler shows it under "before main".
const std::unordered_set<std::string> stop_words = {"the", "a", "of", "and", "to", "in", "is", "it"};

// A deterministic text: word i is one of a few thousand made-up words.
std::string make_word(unsigned i) {
    static const char* const syllables[] = {"kalo", "mine", "ruso", "tavi", "neru", "sota", "vika", "lomi",
                                            "the", "a"};
    unsigned x = i * 2654435761u;
    std::string w;
    for (int k = 0; k < 1 + static_cast<int>(x % 5); ++k) {
        w += syllables[x % 10];
        x /= 10;
    }
    return w;
}

word_index build_index(unsigned first, unsigned words) {
    word_index index;
    for (unsigned i = first; i < first + words; ++i) {
        std::string w = make_word(i);  // a temporary string per word (longer ones on the heap)
        if (stop_words.count(w) != 0) continue;
        index[w].push_back(static_cast<int>(i));
    }
    return index;
}

struct cached_answer {
    std::string query;
    std::vector<int> positions;
};
std::vector<cached_answer*>* answer_cache = nullptr;  // never freed: the leak the report finds

// Keeps a copy of every answer "for later", and never gives it back.
void remember_query(const std::string& q, const std::vector<int>& positions) {
    if (answer_cache == nullptr) answer_cache = new std::vector<cached_answer*>;
    answer_cache->push_back(new cached_answer{q + " (asked)", positions});
}

}  // namespace

int main(int argc, char** argv) {
    const unsigned words = argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : 200000;
    word_index left, right;
    std::thread a([&] { left = build_index(0, words); });
    std::thread b([&] { right = build_index(words, words); });
    a.join();
    b.join();

    std::size_t positions = 0;
    for (auto& [w, pos] : right) {
        auto& into = left[w];
        into.insert(into.end(), pos.begin(), pos.end());
    }
    right.clear();
    for (const auto& [w, pos] : left) positions += pos.size();

    for (const std::string& q : {make_word(7), make_word(12), make_word(31), std::string("nowhere")}) {
        auto it = left.find(q);
        remember_query(q, it == left.end() ? std::vector<int>{} : it->second);
        std::printf("%-20s %zu occurrences\n", q.c_str(), it == left.end() ? std::size_t{0} : it->second.size());
    }
    std::printf("%zu distinct words, %zu positions\n", left.size(), positions);
    return 0;
}
