// SKELETON: owned by the lead.
#include <nanobind/nanobind.h>
NB_MODULE(_C, m) {}
