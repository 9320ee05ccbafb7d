// transcode: turns a run of a ring's bytes into a chunk's records.
//
// A producer encodes its ring as one long stream (its encoder's delta state
// runs on from record to record), but a chunk must decode on its own (delta
// state from zero). The consumer therefore decodes each record with the
// ring's running state (`decode_state`, kept in the slot between drains) and
// encodes it again with the chunk's fresh encoder; padding bytes are dropped
// and a `ring_absolute` record (a signal handler's) is decoded from a zero
// state without touching the running one.
//
// Input is the recorder's own bytes, but every read is still bounded: a
// record that does not decode ends the run (the rest is counted as damaged).
#pragma once

#include "trace/encode.hpp"
#include "trace/recorder/threads.hpp"

#include <cstddef>
#include <cstdint>

namespace heapkit::trace::recorder {

struct transcode_result {
    std::uint8_t* out_end;      // end of what was written to `out`
    std::uint64_t first_seq;    // the first event's seq (0: none)
    bool damaged;               // a record did not decode: the rest of the input was skipped
};

// Re-encodes [in, in + n) (whole records and padding) into out, which has room
// for n + 64 bytes per ring_absolute record plus 64.
transcode_result transcode(const std::uint8_t* in, std::size_t n, decode_state& st, encoder& chunk,
                           std::uint8_t* out) noexcept;

}  // namespace heapkit::trace::recorder
