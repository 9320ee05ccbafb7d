/* rec_lib: a library rec_scenarios loads with dlopen; alloc_in_lib allocates 4321 bytes. */
#include <stdlib.h>
static void* volatile last;
/* Not a tail call: the allocation's innermost frame is in this library. */
void* alloc_in_lib(void) {
    last = malloc(4321);
    return last;
}
