// report_export: the machine-readable exports of `heapkit report`.
//
// Folded stacks (--folded), as flame graph tools read them: one line per
// distinct call path of the call tree (report_model.hpp),
//     outermost;...;innermost VALUE
// with frames named by function (inline frames included), VALUE the node's
// own value of one metric; lines with VALUE 0 are left out. The lines sum
// exactly to the metric's total (folded_total).
//
// pprof (--pprof): a gzip'ed profile.proto, encoded here by hand (a varint
// and length-delimited writer). Sample types, in order: alloc_objects/count,
// alloc_space/bytes, inuse_space/bytes (live at the heap's peak),
// leaked/bytes; one sample per recorded stack, one location per return
// address (its lines: inline frames, innermost first), one mapping per
// module (with its build id).
#pragma once

#include "report_model.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace heapkit::tools {

enum class folded_metric { bytes, calls, peak, leaked };

// "bytes", "calls", "peak", "leaked" -> the metric; nullopt for anything else.
std::optional<folded_metric> parse_folded_metric(std::string_view name);

void write_folded(std::ostream& out, const traced_process& p, folded_metric m);

// What the folded lines of `m` sum to: allocated bytes, allocation calls,
// the peak heap, the bytes leaked.
std::uint64_t folded_total(const trace::analysis& a, folded_metric m);

// The profile, gzip'ed.
std::vector<std::uint8_t> pprof_profile(traced_process& p);

}  // namespace heapkit::tools
