// transcode: turns a run of a ring's bytes into a chunk's records.
//
// A producer encodes its ring as one long stream (its encoder's delta state
// runs on from record to record), but a chunk must decode on its own (delta
// state from zero). The consumer therefore decodes each record with the
// ring's running state (`decode_state`, kept in the slot between drains) and
// encodes it again with the chunk's fresh encoder; padding bytes are dropped
// and a `ring_absolute` record (a signal handler's) is decoded from a zero
// state without touching the running one. Such a record may carry a smaller
// seq than the record before it in the ring (the handler interrupted an
// append between its reservation and its seq), and a chunk's seqs never go
// back: these records go to a side buffer, written as a chunk of their own
// for the same slot (the reader merges chunks by seq).
//
// Input is the recorder's own bytes, but every read is still bounded: a
// record that does not decode ends the run (the rest is counted as damaged).
#pragma once

#include "trace/encode.hpp"
#include "trace/recorder/threads.hpp"

#include <cstddef>
#include <cstdint>

namespace heapkit::trace::recorder {

// Where records go: a buffer, its encoder and the first event's seq.
struct chunk_out {
    std::uint8_t* at;     // the next byte to write
    std::uint8_t* limit;  // records are written only while at + 256 <= limit
    encoder enc;
    std::uint64_t first_seq = 0;  // 0: no event yet
    std::uint64_t dropped = 0;    // records that found no room (counted lost)
};

// Re-encodes [in, in + n) (whole records and padding) into `main` (room for
// n + 64 bytes) and signal handlers' records into `side`. false: a record did
// not decode (the rest of the input was skipped).
bool transcode(const std::uint8_t* in, std::size_t n, decode_state& st, chunk_out& main, chunk_out& side) noexcept;

// The fast path's first step, for input known to hold no signal handler's
// record: re-encodes records from `in` until the chunk's encoder state equals
// the stream's (an event record has set seq and time, a record with an
// address has set addr), after which the rest of the input may be copied as
// it is. Returns the first byte not consumed (end of input when never
// anchored), nullptr when a record did not decode.
const std::uint8_t* transcode_until_anchored(const std::uint8_t* in, const std::uint8_t* end, decode_state& st,
                                             chunk_out& main, bool& seq_anchored, bool& addr_anchored) noexcept;

}  // namespace heapkit::trace::recorder
