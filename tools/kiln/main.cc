// SKELETON: owned by the runtime task.
#include <cstdio>
int main() { std::puts("kiln: not written yet"); return 1; }
