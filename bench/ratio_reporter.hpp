// A Google Benchmark reporter that prints, after the usual lines, one table
// per workload with each contender's median time and its ratio to every
// other contender measured in the same run.
//
// Benchmarks are named "<workload>/<contender>[/<args>...]"; runs whose
// workload and args agree are compared with each other. Run with
// --benchmark_repetitions=N (the bench targets default to 5) so the medians
// exist; without repetitions the single run is used.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace heapkit::bench {

class ratio_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& r : runs) {
            const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
            const bool single = r.run_type == Run::RT_Iteration && r.repetitions <= 1;
            if (!median && !single) continue;
            std::string name = r.run_name.str();
            const auto first = name.find('/');
            if (first == std::string::npos) continue;
            const auto second = name.find('/', first + 1);
            std::string workload = name.substr(0, first);
            std::string contender = name.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
            if (second != std::string::npos) workload += name.substr(second);
            auto& table = tables_[workload];
            table.emplace_back(contender, r.GetAdjustedRealTime());
            if (second != std::string::npos) {
                series_[name.substr(0, first) + "/" + contender].emplace_back(name.substr(second + 1),
                                                                               r.GetAdjustedRealTime());
            }
            time_unit_ = benchmark::GetTimeUnitString(r.time_unit);
        }
    }

    void Finalize() override {
        ConsoleReporter::Finalize();
        for (const auto& [workload, rows] : tables_) {
            if (rows.size() < 2) continue;
            std::printf("\n%s (median %s per iteration; ratio = row / column, < 1 means the row is faster)\n",
                        workload.c_str(), time_unit_.c_str());
            std::printf("  %-34s %12s", "contender", "median");
            for (const auto& col : rows) std::printf(" %18.18s", col.first.c_str());
            std::printf("\n");
            for (const auto& row : rows) {
                std::printf("  %-34s %12.2f", row.first.c_str(), row.second);
                for (const auto& col : rows) std::printf(" %17.2fx", col.second > 0 ? row.second / col.second : 0.0);
                std::printf("\n");
            }
        }
        // How much each contender's time moves across the arguments of one workload.
        bool header = false;
        for (const auto& [key, points] : series_) {
            if (points.size() < 2) continue;
            double lo = points.front().second, hi = lo;
            std::string lo_arg = points.front().first, hi_arg = lo_arg;
            for (const auto& [arg, t] : points) {
                if (t < lo) lo = t, lo_arg = arg;
                if (t > hi) hi = t, hi_arg = arg;
            }
            if (!header) {
                std::printf("\nspread across arguments (largest median / smallest median)\n");
                header = true;
            }
            std::printf("  %-44s %6.2fx  (fastest at %s, slowest at %s)\n", key.c_str(), lo > 0 ? hi / lo : 0.0,
                        lo_arg.c_str(), hi_arg.c_str());
        }
        std::fflush(stdout);
    }

    // The median time of `contender` in `workload`, or 0 when it did not run.
    double median(const std::string& workload, const std::string& contender) const {
        auto it = tables_.find(workload);
        if (it == tables_.end()) return 0;
        for (const auto& [name, t] : it->second)
            if (name == contender) return t;
        return 0;
    }

private:
    std::map<std::string, std::vector<std::pair<std::string, double>>> tables_;   // workload[/args] -> contenders
    std::map<std::string, std::vector<std::pair<std::string, double>>> series_;   // workload/contender -> args
    std::string time_unit_ = "ns";
};

}  // namespace heapkit::bench

// main() for a bench target: 5 repetitions unless the command line says
// otherwise, and the ratio tables at the end.
#define HEAPKIT_BENCH_MAIN()                                                          \
    int main(int argc, char** argv) {                                                 \
        std::vector<char*> args(argv, argv + argc);                                   \
        std::string reps = "--benchmark_repetitions=5";                               \
        bool has_reps = false;                                                        \
        for (char* a : args) has_reps |= std::string(a).rfind("--benchmark_repetitions", 0) == 0; \
        if (!has_reps) args.push_back(reps.data());                                   \
        int n = static_cast<int>(args.size());                                        \
        benchmark::Initialize(&n, args.data());                                       \
        if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;         \
        heapkit::bench::ratio_reporter reporter;                                      \
        benchmark::RunSpecifiedBenchmarks(&reporter);                                 \
        benchmark::Shutdown();                                                        \
        return 0;                                                                     \
    }
