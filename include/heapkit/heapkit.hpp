// heapkit: the umbrella header. Includes every public part of the library.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/error.hpp>
#include <heapkit/layout.hpp>

#include <heapkit/os/linux.hpp>
#include <heapkit/os/platform.hpp>

#include <heapkit/alloc/buddy.hpp>
#include <heapkit/alloc/free_list.hpp>
#include <heapkit/alloc/bump.hpp>
#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/pool.hpp>
#include <heapkit/alloc/pool_set.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/alloc/tlsf.hpp>

#include <heapkit/compose/affix.hpp>
#include <heapkit/compose/bucketizer.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/failing.hpp>
#include <heapkit/compose/fallback.hpp>
#include <heapkit/compose/locked.hpp>
#include <heapkit/compose/segregator.hpp>
#include <heapkit/compose/tracing.hpp>

#include <heapkit/global.hpp>
#include <heapkit/std.hpp>
