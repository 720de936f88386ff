// The environment variables kiln reads: all of them, in one list. They are debug switches for
// people looking at the compiler, never configuration (settings are arguments). Code reads them
// only through debug_env() below, so this list is complete by construction.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace kiln {

// X-macro: enum name, variable name, what it does.
#define KILN_DEBUG_ENV_LIST(X)                                                                  \
  X(kDumpDir, "KILN_DUMP_DIR",                                                                  \
    "directory: the pass manager writes NN-<pass>.ir after every pass and timings.txt")         \
  X(kVerifyEach, "KILN_VERIFY_EACH", "1: the pass manager verifies the graph after every pass") \
  X(kDisablePasses, "KILN_DISABLE_PASSES", "a,b: comma-separated pass names to skip")

enum class DebugEnv : uint8_t {
#define KILN_DEBUG_ENV_ENUM_(e, var, doc) e,
  KILN_DEBUG_ENV_LIST(KILN_DEBUG_ENV_ENUM_)
#undef KILN_DEBUG_ENV_ENUM_
};

// The variable's name, e.g. "KILN_DUMP_DIR".
inline std::string_view debug_env_name(DebugEnv var) {
  switch (var) {
#define KILN_DEBUG_ENV_NAME_(e, var, doc) \
  case DebugEnv::e:                       \
    return var;
    KILN_DEBUG_ENV_LIST(KILN_DEBUG_ENV_NAME_)
#undef KILN_DEBUG_ENV_NAME_
  }
  return "";
}

// The variable's value, or "" when it is unset.
inline std::string debug_env(DebugEnv var) {
  const char* value = std::getenv(std::string(debug_env_name(var)).c_str());
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace kiln
