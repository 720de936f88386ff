// The kernel harness: every CUDA kernel against its CPU reference kernel (ggml's test-backend-ops).
//
// A case is a small IR text graph (docs/ir.md) whose shape symbols the case binds to concrete
// sizes, several times (odd sizes, sizes off the block and vector widths, size 1 and
// broadcasting, empty tensors), each with several seeds. For every non-constant node, in order:
//   1. the reference kernel ("ref.<op>") runs on host buffers; its outputs become the values later
//      nodes read, so each kernel is checked in isolation on the same inputs;
//   2. every kernel of the device under test that accepts the node runs on device buffers holding
//      the same inputs (graph inputs random, constants uploaded), with each output poisoned first
//      and followed by guard bytes; it runs twice, with two different poisons, so that an element
//      it never writes cannot match the reference by chance; a kernel with workspace_bytes gets
//      exactly that much scratch (asked as the runtime asks: tensors shaped, data null), also
//      followed by guard bytes;
//   3. outputs are compared element by element with the output dtype's tolerance (tolerance())
//      and every guard byte must be intact.
// Kernels are called directly with KernelArgs on a stream the harness creates: the harness does not
// use the GPU runtime, the builder or the memory planner.
//
// A family adds cases in tests/kernels/<family>_test.cc, inside namespace kiln::harness:
//   std::vector<HarnessCase> softmax_cases() { ... one HarnessCase per graph and dtype ... }
//   KILN_HARNESS_CASES(Softmax, softmax_cases);
// The HarnessCoverage test fails when a CUDA kernel in the registry is not exercised by any case.
//
// The device is an interface so that the host-side logic (generation, poisoning, comparison,
// guards) is tested without a GPU: host_device() runs kernels on host memory.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "kiln/kernels/kernel.h"

namespace kiln::harness {

// ---- comparison ---------------------------------------------------------------------------------

// An element passes when |got - want| <= atol + rtol * |want|. Whatever the tolerance, NaN must
// meet NaN, an infinite `want` needs the same infinity, and integer and bool outputs are exact
// (bool bytes must be exactly 0 or 1).
struct Tolerance {
  double rtol = 0;
  double atol = 0;
};

// The default tolerance of each output dtype (docs/kernels.md explains them):
//   f32   rtol 1e-5,  atol 1e-6   a few ulp of the CUDA math library against glibc, with room for
//                                 cancellation in composite activations (gelu, mish, softplus)
//   f16   rtol 1e-3,  atol 1e-5   one f16 ulp (2^-10 relative): f32 results a few f32 ulp apart
//                                 may round to neighbouring f16 values
//   bf16  rtol 8e-3,  atol 1e-5   one bf16 ulp (2^-7 relative), for the same reason
//   integers, bool                exact
// Families whose kernels accumulate (matmul, norms, reductions) set their own per case.
Tolerance default_tolerance(DType dtype);

// A tensor that owns its bytes on the host.
struct HostTensor {
  DType dtype = DType::kF32;
  ConcreteShape shape;
  std::vector<uint8_t> bytes;

  HostTensor() = default;
  HostTensor(DType t, ConcreteShape s);
  int64_t numel() const { return concrete_numel(shape); }
  int64_t nbytes() const { return static_cast<int64_t>(bytes.size()); }
  TensorView view() const;
  // Element i as a double (floats widened, integers converted, bool as its raw byte).
  double get(int64_t i) const;
  // Sets element i to v rounded to the dtype (integers truncate, bool is v != 0).
  void set(int64_t i, double v);
};

// Fills `t` so that unwritten elements show: pass 0 sets floats to NaN and other bytes to 0xAB;
// pass 1 sets every byte to 0x5C (finite for every float dtype, and a different integer). An
// element left unwritten cannot match the reference in both passes.
void poison(HostTensor& t, int pass);

// Empty when `got` matches `want` (same dtype and shape) within `tol`; otherwise a description:
// the number of mismatching elements and the first few, with index, got and want.
std::string compare(const HostTensor& got, const HostTensor& want, const Tolerance& tol);

// ---- input generation ---------------------------------------------------------------------------

// How a graph input's elements are drawn. Floats: uniform in [lo, hi], then rounded to the dtype.
// Integers: uniform integers in [lo, hi] (clipped to the dtype's range). Bool: 0 or 1. `nonzero`
// redraws zeros (and floats below 1e-3 in magnitude); `special` is the fraction of float elements
// replaced by one of NaN, +-inf, +-0, +-0.5, 1.5, 2.5, -2.5, 65504, -1e10.
struct InputRange {
  double lo = -4;
  double hi = 4;
  bool nonzero = false;
  double special = 0;
};

// Random elements for `t` (deterministic in `seed`).
void fill_random(HostTensor& t, const InputRange& range, uint64_t seed);

// ---- cases --------------------------------------------------------------------------------------

struct HarnessCase {
  std::string name;  // unique in the binary, [A-Za-z0-9_]: the gtest parameter name
  std::string ir;    // one graph (docs/ir.md); its symbols are bound by `shapes`
  // One run per binding of the graph's symbols by name (every symbol an input dim uses; unused
  // ones take their opt value). Empty: one run (the graph has no symbols).
  std::vector<std::map<std::string, int64_t>> shapes;
  std::vector<uint64_t> seeds = {1, 2};
  InputRange range;                            // for every graph input without its own
  std::map<std::string, InputRange> inputs;    // by input name, without the '%'
  std::map<DType, Tolerance> tolerances;       // overrides default_tolerance per output dtype
};

// The cases of every family, as registered with KILN_HARNESS_CASES (for the coverage test).
std::vector<HarnessCase> registered_cases();
bool register_cases(const char* family, std::vector<HarnessCase> (*cases)());

// ---- devices ------------------------------------------------------------------------------------

// Where the kernels under test run. Memory is owned by the device until release_all().
class Device {
 public:
  virtual ~Device() = default;
  virtual DeviceKind kind() const = 0;
  virtual std::string description() const = 0;
  virtual Expected<void*> allocate(int64_t bytes) = 0;
  virtual Status upload(void* dst, const void* src, int64_t bytes) = 0;    // host -> device
  virtual Status download(void* dst, const void* src, int64_t bytes) = 0;  // device -> host
  virtual Status synchronize() = 0;  // waits for the stream
  virtual void* stream() = 0;        // for KernelArgs::stream
  virtual void release_all() = 0;
};

// The first CUDA device with a stream of its own, or why there is none (no CUDA in this build, no
// device, no driver: a NotFound status; any other CUDA failure: Internal).
Expected<std::unique_ptr<Device>> open_cuda_device();
// Host memory with a null stream: runs CPU kernels as if they were the device's (self-tests).
std::unique_ptr<Device> host_device();

// Picks the kernels under test for a node with these (concrete) input types.
using KernelSelector =
    std::function<std::vector<const Kernel*>(const Node&, std::span<const TensorType>)>;
// Every kernel of `device` for the node's op that accepts it, in registry order.
KernelSelector accepting_kernels(DeviceKind device);

// ---- running ------------------------------------------------------------------------------------

struct Report {
  std::vector<std::string> failures;  // each names the case, shapes, seed, node and kernel
  std::set<std::string> kernels;      // names of the kernels that ran and were compared
  int64_t comparisons = 0;            // (node, kernel, shapes, seed) combinations compared
  bool ok() const { return failures.empty(); }
  std::string text() const;  // the failures, at most 20, one per line
};

// Runs `c` on `device` with the kernels `select` picks (default: accepting_kernels of the device's
// kind). A node no kernel accepts is a failure that lists every refusal.
Report run_case(const HarnessCase& c, Device& device, const KernelSelector& select = {});

// The concrete input types of each node of `c`'s graph under its first shape binding, with the
// parsed graph (for the coverage test, which asks kernels' `accepts` without running anything).
struct NodeTypes {
  Node node;
  std::vector<TensorType> input_types;
};
Expected<std::vector<NodeTypes>> case_node_types(const HarnessCase& c);

// Set by main() from --require_cuda: no CUDA device is then a failure, not a skip.
extern bool require_cuda;

// In a TEST body: declares `device`, the CUDA device. Without one (NotFound: no CUDA in this
// build, no device, no driver) the test is skipped, unless --require_cuda (the GPU machine's
// scripts/gpu-check) makes that a failure; any other CUDA failure fails the test.
#define KILN_OPEN_CUDA_DEVICE_OR_SKIP(device)                                                \
  ::kiln::Expected<std::unique_ptr<::kiln::harness::Device>> device =                        \
      ::kiln::harness::open_cuda_device();                                                   \
  if (!device.ok()) {                                                                        \
    if (device.status().code() != ::kiln::StatusCode::kNotFound ||                           \
        ::kiln::harness::require_cuda) {                                                     \
      FAIL() << "no CUDA device: " << device.status().to_string();                           \
    }                                                                                        \
    GTEST_SKIP() << device.status().message();                                               \
  }

// The parameterized test every family instantiates (its TEST_P is in harness.cc).
class KernelHarness : public testing::TestWithParam<HarnessCase> {};
std::string case_test_name(const testing::TestParamInfo<HarnessCase>& info);

}  // namespace kiln::harness

// Registers a family's cases: runs them as KernelHarness tests `<Family>/KernelHarness.Matches
// Reference/<case name>` and lists them for the coverage test.
#define KILN_HARNESS_CASES(Family, cases_fn)                                                  \
  INSTANTIATE_TEST_SUITE_P(Family, KernelHarness, ::testing::ValuesIn(cases_fn()),            \
                           ::kiln::harness::case_test_name);                                   \
  [[maybe_unused]] static const bool kiln_harness_registered_##Family =                       \
      ::kiln::harness::register_cases(#Family, &cases_fn)
