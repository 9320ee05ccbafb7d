// heapkit: the umbrella header. Includes every public part of the library.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/error.hpp>
#include <heapkit/layout.hpp>

#include <heapkit/os/linux.hpp>
#include <heapkit/os/platform.hpp>

#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/system.hpp>

#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/failing.hpp>
#include <heapkit/compose/tracing.hpp>

#include <heapkit/global.hpp>
#include <heapkit/std.hpp>
