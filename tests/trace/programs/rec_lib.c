/* rec_lib: a library rec_scenarios loads with dlopen; alloc_in_lib allocates 4321 bytes. */
#include <stdlib.h>
void* alloc_in_lib(void) { return malloc(4321); }
