// Shared pieces of the `kiln` command-line tool: option parsing, error reporting and formatting.
// Exit codes: 0 success, 1 the command failed (bad file, bad shapes, kernel error), 2 bad usage.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/runtime.h"

namespace kiln::cli {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct OptionSpec {
  std::string_view name;  // "--iters"; "-o" for short ones
  bool takes_value;
};

struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> options;  // name -> value ("" for flags)
  bool help = false;
};

// Parses `args` (the words after the command name). `--name value` and `--name=value` both work;
// `--help`/`-h` sets `help`. An unknown option or a missing value is an InvalidArgument.
Expected<ParsedArgs> parse_args(std::span<char* const> args, std::span<const OptionSpec> specs);

// Prints "kiln: error: <message>" on one line to stderr and returns kExitFailure.
int fail(const Status& status);
// Prints "kiln: error: <message> (see 'kiln <command> --help')" and returns kExitUsage.
int usage_error(std::string_view command, std::string_view message);

// "512 B", "3.5 KiB", "1.2 MiB", "2.0 GiB".
std::string human_bytes(int64_t bytes);
// "[1, 3, 224, 224]".
std::string concrete_shape_text(std::span<const int64_t> shape);
// Every graph input's shape with each symbol at `symbol_values` (opt or max of each symbol).
Expected<std::vector<ConcreteShape>> input_shapes_at(const Graph& g,
                                                     std::span<const int64_t> symbol_values);
// Parses "cpu" / "cuda".
Expected<DeviceKind> parse_device(std::string_view text);
// Fails with a clear message when `device` is not usable in this build (CUDA today).
Status check_device_available(DeviceKind device);

int build_command(std::span<char* const> args);
int inspect_command(std::span<char* const> args);
int run_command(std::span<char* const> args);

}  // namespace kiln::cli
