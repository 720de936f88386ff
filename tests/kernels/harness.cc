// The kernel harness's host-side logic (see harness.h): tolerances, poisoning, comparison, random
// inputs, the case registry, the host and CUDA devices, and run_case().
//
// Deliberately not here: the tests themselves (harness_main.cc runs the registered cases and the
// coverage check; harness_self_test.cc tests this file on the CPU) and anything of the GPU runtime.
#include "harness.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kiln/ir/shape_inference.h"
#include "kiln/text/parser.h"
#include "kiln/text/printer.h"

#if KILN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace kiln::harness {

bool require_cuda = false;

namespace {

constexpr int64_t kGuardBytes = 64;     // after every output buffer of the kernel under test
constexpr uint8_t kGuardPattern = 0xCD;
constexpr int kMaxListed = 5;           // mismatching elements described per comparison

template <typename T>
T read_as(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void write_as(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// splitmix64: a small, portable generator (the same stream on every platform).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

uint64_t mix(uint64_t a, uint64_t b) {
  Rng r{a ^ (b * 0x9e3779b97f4a7c15ull)};
  r.next();
  return r.next();
}

std::string shapes_text(const std::map<std::string, int64_t>& shapes) {
  std::string out = "{";
  for (const auto& [name, value] : shapes) {
    out += str_cat(out.size() > 1 ? ", " : "", name, "=", value);
  }
  return out + "}";
}

std::string type_text(const TensorType& t) {
  std::string out = str_cat(dtype_name(t.dtype), "[");
  for (size_t i = 0; i < t.shape.size(); ++i) {
    out += str_cat(i ? ", " : "", t.shape[i].is_constant() ? str_cat(t.shape[i].constant_value())
                                                           : std::string("?"));
  }
  return out + "]";
}

// Each node's line of the printed graph ("%2 = div(%x, %1) {rounding=floor} : f32[n, m]"), in
// node order: how failures name nodes (attributes included, as the case's author wrote them).
std::vector<std::string> node_lines(const Graph& g) {
  PrintOptions options;
  options.elide_constants_over_bytes = 64;
  const std::string text = print_graph(g, options);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    line.erase(0, line.find_first_not_of(' '));
    if (line.empty() || line.starts_with("graph ") || line.starts_with("symbol ") ||
        line.starts_with("input ") || line.starts_with("return") || line.starts_with("}")) {
      continue;
    }
    lines.push_back(std::move(line));
  }
  if (lines.size() != g.nodes.size()) {  // a printer change: fall back to op names
    lines.clear();
    for (const Node& n : g.nodes) lines.push_back(std::string(op_name(n.op)));
  }
  return lines;
}

// "node 2: %2 = add(%x, %1) : f32[n, m] on f32[3, 7], f32[7]"
std::string node_text(size_t index, const std::string& line, const Node& n,
                      std::span<const TensorType> types) {
  std::string out = str_cat("node ", index, ": ", line, " on ");
  for (size_t i = 0; i < types.size(); ++i) {
    out += str_cat(i ? ", " : "", n.inputs[i] == kNoValue ? "_" : type_text(types[i]));
  }
  if (types.empty()) out += "no inputs";
  return out;
}

Expected<ConcreteShape> to_concrete(const Shape& shape) {
  ConcreteShape out;
  for (const DimExpr& d : shape) {
    if (!d.is_constant()) return internal_error("a dim is still symbolic after binding");
    out.push_back(d.constant_value());
  }
  return out;
}

// A parsed case under one binding: the symbol values and every value's concrete type.
struct Bound {
  std::vector<int64_t> symbol_values;
  std::vector<TensorType> types;  // by ValueId
};

Expected<Bound> bind_shapes(const Graph& g, const std::map<std::string, int64_t>& shapes) {
  Bound b;
  b.symbol_values.assign(g.symbols.size(), 0);
  std::vector<bool> bound(g.symbols.size(), false);
  for (const auto& [name, value] : shapes) {
    const int32_t s = graph_find_symbol(g, name);
    if (s < 0) {
      return invalid_argument("the shapes bind '", name, "', which the graph does not declare");
    }
    const SymbolInfo& info = g.symbols[static_cast<size_t>(s)];
    if (value < info.min || value > info.max) {
      return invalid_argument("symbol '", name, "' = ", value, " is outside [", info.min, ", ",
                              info.max, "]");
    }
    b.symbol_values[static_cast<size_t>(s)] = value;
    bound[static_cast<size_t>(s)] = true;
  }
  // A symbol no input dim mentions is used nowhere (the verifier wants every used symbol as an
  // input dim): it may stay unbound and takes its opt value.
  std::vector<bool> used(g.symbols.size(), false);
  for (ValueId v : g.inputs) {
    for (const DimExpr& d : g.type(v).shape) {
      for (int32_t s : d.symbols()) used[static_cast<size_t>(s)] = true;
    }
  }
  for (size_t s = 0; s < g.symbols.size(); ++s) {
    if (bound[s]) continue;
    if (used[s]) return invalid_argument("symbol '", g.symbols[s].name, "' is not bound");
    b.symbol_values[s] = g.symbols[s].opt;
  }
  b.types.assign(g.values.size(), TensorType{});
  for (ValueId v : g.inputs) {
    TensorType t = g.type(v);
    for (DimExpr& d : t.shape) {
      KILN_ASSIGN_OR_RETURN(int64_t value, d.evaluate(b.symbol_values));
      d = DimExpr(value);
    }
    b.types[static_cast<size_t>(v)] = std::move(t);
  }
  for (const Node& n : g.nodes) {
    std::vector<const TensorType*> in;
    for (ValueId v : n.inputs) {
      in.push_back(v == kNoValue ? nullptr : &b.types[static_cast<size_t>(v)]);
    }
    Expected<std::vector<TensorType>> out =
        infer_output_types(n.op, n.attrs, in, &b.symbol_values);
    if (!out.ok()) return out.status().with_context(str_cat("op ", op_name(n.op)));
    for (size_t k = 0; k < out->size() && k < n.outputs.size(); ++k) {
      b.types[static_cast<size_t>(n.outputs[k])] = (*out)[k];
    }
  }
  return b;
}

std::vector<TensorType> input_types_of(const Node& n, const Bound& b) {
  std::vector<TensorType> types;
  for (ValueId v : n.inputs) {
    types.push_back(v == kNoValue ? TensorType{} : b.types[static_cast<size_t>(v)]);
  }
  return types;
}

// ---- devices ------------------------------------------------------------------------------------

class HostDevice final : public Device {
 public:
  DeviceKind kind() const override { return DeviceKind::kCpu; }
  std::string description() const override { return "host memory"; }
  Expected<void*> allocate(int64_t bytes) override {
    const size_t size = static_cast<size_t>(std::max<int64_t>(bytes, 1));
    blocks_.push_back(std::make_unique<uint8_t[]>(size));
    return static_cast<void*>(blocks_.back().get());
  }
  Status upload(void* dst, const void* src, int64_t bytes) override {
    if (bytes > 0) std::memcpy(dst, src, static_cast<size_t>(bytes));
    return ok_status();
  }
  Status download(void* dst, const void* src, int64_t bytes) override {
    if (bytes > 0) std::memcpy(dst, src, static_cast<size_t>(bytes));
    return ok_status();
  }
  Status synchronize() override { return ok_status(); }
  void* stream() override { return nullptr; }
  void release_all() override { blocks_.clear(); }

 private:
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;
};

#if KILN_HAVE_CUDA
Status cuda_check(cudaError_t e, const char* call) {
  if (e == cudaSuccess) return ok_status();
  return internal_error(call, " failed: ", cudaGetErrorName(e), ": ", cudaGetErrorString(e));
}
#define HARNESS_CUDA(call) KILN_RETURN_IF_ERROR(cuda_check((call), #call))

class CudaDevice final : public Device {
 public:
  static Expected<std::unique_ptr<Device>> open() {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ||
        (e == cudaSuccess && count == 0)) {
      cudaGetLastError();
      return not_found("no CUDA device (", e == cudaSuccess ? "none found" : cudaGetErrorName(e),
                       ")");
    }
    HARNESS_CUDA(e);
    auto d = std::unique_ptr<CudaDevice>(new CudaDevice());
    HARNESS_CUDA(cudaSetDevice(0));
    cudaDeviceProp prop{};
    HARNESS_CUDA(cudaGetDeviceProperties(&prop, 0));
    d->description_ = str_cat(prop.name, " (sm_", prop.major, prop.minor, ")");
    HARNESS_CUDA(cudaStreamCreateWithFlags(&d->stream_, cudaStreamNonBlocking));
    return std::unique_ptr<Device>(std::move(d));
  }
  ~CudaDevice() override {
    release_all();
    if (stream_ != nullptr) {
      cudaStreamSynchronize(stream_);
      cudaStreamDestroy(stream_);
    }
  }
  DeviceKind kind() const override { return DeviceKind::kCuda; }
  std::string description() const override { return description_; }
  Expected<void*> allocate(int64_t bytes) override {
    // Stream-ordered (pooled) allocation: cheap per buffer, freed in stream order.
    void* p = nullptr;
    HARNESS_CUDA(cudaMallocAsync(&p, static_cast<size_t>(std::max<int64_t>(bytes, 1)), stream_));
    blocks_.push_back(p);
    return p;
  }
  Status upload(void* dst, const void* src, int64_t bytes) override {
    if (bytes > 0) {
      HARNESS_CUDA(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice,
                                   stream_));
    }
    return ok_status();
  }
  Status download(void* dst, const void* src, int64_t bytes) override {
    if (bytes > 0) {
      HARNESS_CUDA(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost,
                                   stream_));
    }
    return synchronize();
  }
  Status synchronize() override {
    HARNESS_CUDA(cudaStreamSynchronize(stream_));
    return ok_status();
  }
  void* stream() override { return stream_; }
  void release_all() override {
    for (void* p : blocks_) cudaFreeAsync(p, stream_);
    blocks_.clear();
  }

 private:
  CudaDevice() = default;
  std::string description_;
  cudaStream_t stream_ = nullptr;
  std::vector<void*> blocks_;
};
#endif  // KILN_HAVE_CUDA

std::vector<std::pair<const char*, std::vector<HarnessCase> (*)()>>& case_registry() {
  static std::vector<std::pair<const char*, std::vector<HarnessCase> (*)()>> registry;
  return registry;
}

}  // namespace

// ---- comparison ---------------------------------------------------------------------------------

Tolerance default_tolerance(DType dtype) {
  switch (dtype) {
    case DType::kF32: return {1e-5, 1e-6};
    case DType::kF16: return {1e-3, 1e-5};
    case DType::kBF16: return {8e-3, 1e-5};
    case DType::kF64: return {1e-12, 1e-15};
    default: return {0, 0};
  }
}

HostTensor::HostTensor(DType t, ConcreteShape s) : dtype(t), shape(std::move(s)) {
  bytes.resize(static_cast<size_t>(concrete_numel(shape) * dtype_size(dtype)));
}

TensorView HostTensor::view() const {
  return TensorView{const_cast<uint8_t*>(bytes.data()), dtype, shape};
}

double HostTensor::get(int64_t i) const {
  const uint8_t* p = bytes.data() + i * dtype_size(dtype);
  switch (dtype) {
    case DType::kF32: return read_as<float>(p);
    case DType::kF64: return read_as<double>(p);
    case DType::kF16: return f16_to_f32(read_as<uint16_t>(p));
    case DType::kBF16: return bf16_to_f32(read_as<uint16_t>(p));
    case DType::kI64: return static_cast<double>(read_as<int64_t>(p));
    case DType::kI32: return read_as<int32_t>(p);
    case DType::kI8: return read_as<int8_t>(p);
    case DType::kU8: return *p;
    case DType::kBool: return *p;
  }
  return 0;
}

void HostTensor::set(int64_t i, double v) {
  uint8_t* p = bytes.data() + i * dtype_size(dtype);
  auto to_int = [](double d) -> int64_t {
    if (!(d == d)) return 0;
    return static_cast<int64_t>(std::clamp(d, -9.2e18, 9.2e18));
  };
  switch (dtype) {
    case DType::kF32: write_as(p, static_cast<float>(v)); return;
    case DType::kF64: write_as(p, v); return;
    case DType::kF16: write_as(p, f32_to_f16(static_cast<float>(v))); return;
    case DType::kBF16: write_as(p, f32_to_bf16(static_cast<float>(v))); return;
    case DType::kI64: write_as(p, to_int(v)); return;
    case DType::kI32: write_as(p, static_cast<int32_t>(to_int(v))); return;
    case DType::kI8: write_as(p, static_cast<int8_t>(to_int(v))); return;
    case DType::kU8: write_as(p, static_cast<uint8_t>(to_int(v))); return;
    case DType::kBool: *p = v != 0; return;
  }
}

void poison(HostTensor& t, int pass) {
  if (pass == 0) {
    std::fill(t.bytes.begin(), t.bytes.end(), uint8_t{0xAB});
    if (dtype_is_float(t.dtype)) {
      for (int64_t i = 0; i < t.numel(); ++i) t.set(i, std::nan(""));
    }
  } else {
    std::fill(t.bytes.begin(), t.bytes.end(), uint8_t{0x5C});
  }
}

std::string compare(const HostTensor& got, const HostTensor& want, const Tolerance& tol) {
  if (got.dtype != want.dtype || got.shape != want.shape) {
    return str_cat("got ", dtype_name(got.dtype), " of ", got.numel(), " elements, want ",
                   dtype_name(want.dtype), " of ", want.numel());
  }
  const bool is_float = dtype_is_float(got.dtype);
  int64_t bad = 0;
  std::string listed;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.get(i), w = want.get(i);
    bool ok;
    if (!is_float) {  // bytes, so that int64 values beyond 2^53 compare exactly
      const size_t size = static_cast<size_t>(dtype_size(got.dtype));
      ok = std::memcmp(got.bytes.data() + i * size, want.bytes.data() + i * size, size) == 0 &&
           (got.dtype != DType::kBool || g == 0 || g == 1);
    } else if (std::isnan(w) || std::isnan(g)) {
      ok = std::isnan(w) && std::isnan(g);
    } else if (std::isinf(w) || std::isinf(g)) {
      ok = g == w;
    } else {
      ok = std::fabs(g - w) <= tol.atol + tol.rtol * std::fabs(w);
    }
    if (ok) continue;
    if (++bad <= kMaxListed) {
      listed += str_cat("\n    element ", i, ": got ", g, ", want ", w);
      if (is_float && std::isfinite(g) && std::isfinite(w)) {
        listed += str_cat(" (|diff| ", std::fabs(g - w), " > ", tol.atol + tol.rtol * std::fabs(w),
                          ")");
      }
    }
  }
  if (bad == 0) return "";
  return str_cat(bad, " of ", got.numel(), " elements differ (", dtype_name(got.dtype), ", rtol ",
                 tol.rtol, ", atol ", tol.atol, "):", listed);
}

// ---- input generation ---------------------------------------------------------------------------

void fill_random(HostTensor& t, const InputRange& range, uint64_t seed) {
  static constexpr double kSpecials[] = {NAN,  INFINITY, -INFINITY, 0.0,  -0.0,  0.5,
                                         -0.5, 1.5,      2.5,       -2.5, 65504, -1e10};
  Rng rng{seed};
  const bool is_float = dtype_is_float(t.dtype);
  double lo = range.lo, hi = range.hi;
  if (!is_float) {  // integer bounds inside the dtype
    double tmin = -9.2e18, tmax = 9.2e18;
    switch (t.dtype) {
      case DType::kI32: tmin = -2147483648.0; tmax = 2147483647.0; break;
      case DType::kI8: tmin = -128; tmax = 127; break;
      case DType::kU8: tmin = 0; tmax = 255; break;
      case DType::kBool: tmin = 0; tmax = 1; break;
      default: break;
    }
    lo = std::ceil(std::clamp(lo, tmin, tmax));
    hi = std::floor(std::clamp(hi, tmin, tmax));
    if (t.dtype == DType::kBool) lo = 0, hi = 1;
  }
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (is_float && range.special > 0 && rng.uniform() < range.special) {
      t.set(i, kSpecials[rng.next() % std::size(kSpecials)]);
      continue;
    }
    for (int attempt = 0;; ++attempt) {
      const double u = rng.uniform();
      t.set(i, is_float ? lo + u * (hi - lo) : std::min(hi, std::floor(lo + u * (hi - lo + 1))));
      const double stored = t.get(i);
      const bool zero = is_float ? std::fabs(stored) < 1e-3 : stored == 0;
      if (!range.nonzero || !zero || attempt > 100) break;
    }
  }
}

// ---- cases --------------------------------------------------------------------------------------

bool register_cases(const char* family, std::vector<HarnessCase> (*cases)()) {
  case_registry().emplace_back(family, cases);
  return true;
}

std::vector<HarnessCase> registered_cases() {
  std::vector<HarnessCase> all;
  for (const auto& [family, cases] : case_registry()) {
    for (HarnessCase& c : cases()) all.push_back(std::move(c));
  }
  return all;
}

std::string case_test_name(const testing::TestParamInfo<HarnessCase>& info) {
  return info.param.name;
}

std::string Report::text() const {
  std::string out;
  for (size_t i = 0; i < failures.size() && i < 20; ++i) out += failures[i] + "\n";
  if (failures.size() > 20) out += str_cat("... and ", failures.size() - 20, " more failures\n");
  return out;
}

// ---- devices ------------------------------------------------------------------------------------

Expected<std::unique_ptr<Device>> open_cuda_device() {
#if KILN_HAVE_CUDA
  return CudaDevice::open();
#else
  return not_found("this build of kiln has no CUDA backend (KILN_HAVE_CUDA=0)");
#endif
}

std::unique_ptr<Device> host_device() { return std::make_unique<HostDevice>(); }

KernelSelector accepting_kernels(DeviceKind device) {
  return [device](const Node& node, std::span<const TensorType> types) {
    std::vector<const Kernel*> out;
    for (const Kernel* k : kernels_for(node.op, device)) {
      if (k->accepts(node, types, nullptr)) out.push_back(k);
    }
    return out;
  };
}

// ---- running ------------------------------------------------------------------------------------

Expected<std::vector<NodeTypes>> case_node_types(const HarnessCase& c) {
  KILN_ASSIGN_OR_RETURN(Graph g, parse_graph(c.ir, c.name));
  KILN_ASSIGN_OR_RETURN(Bound b, bind_shapes(g, c.shapes.empty() ? std::map<std::string, int64_t>{}
                                                          : c.shapes.front()));
  std::vector<NodeTypes> out;
  for (const Node& n : g.nodes) out.push_back(NodeTypes{n, input_types_of(n, b)});
  return out;
}

namespace {

// One node under one binding and seed: the reference outputs are computed already; runs `kernel`
// twice (two poisons) and returns the failures.
std::vector<std::string> check_kernel(const Node& n, const Kernel& kernel, const Bound& b,
                                      std::span<const HostTensor* const> inputs,
                                      std::span<const HostTensor> want,
                                      const HarnessCase& c, Device& device) {
  std::vector<std::string> failures;
  auto fail = [&](std::string what) { failures.push_back(std::move(what)); };
  for (int pass = 0; pass < 2; ++pass) {
    // 1. Inputs, uploaded (absent optional inputs stay null views).
    std::vector<TensorView> in_views;
    for (const HostTensor* t : inputs) {
      if (t == nullptr) {
        in_views.push_back(TensorView{});
        continue;
      }
      Expected<void*> p = device.allocate(t->nbytes());
      if (!p.ok()) return {p.status().to_string()};
      if (Status s = device.upload(*p, t->bytes.data(), t->nbytes()); !s.ok()) {
        return {s.to_string()};
      }
      in_views.push_back(TensorView{*p, t->dtype, t->shape});
    }
    // 2. Outputs: poisoned, followed by guard bytes.
    std::vector<TensorView> out_views;
    std::vector<HostTensor> got;
    for (const HostTensor& w : want) {
      HostTensor t(w.dtype, w.shape);
      poison(t, pass);
      std::vector<uint8_t> staged = t.bytes;
      staged.resize(staged.size() + kGuardBytes, kGuardPattern);
      Expected<void*> p = device.allocate(static_cast<int64_t>(staged.size()));
      if (!p.ok()) return {p.status().to_string()};
      const int64_t size = static_cast<int64_t>(staged.size());
      if (Status s = device.upload(*p, staged.data(), size); !s.ok()) {
        return {s.to_string()};
      }
      out_views.push_back(TensorView{*p, t.dtype, t.shape});
      got.push_back(std::move(t));
    }
    // 3. Scratch, for a kernel that declares it: exactly the bytes workspace_bytes() asks for
    //    (called as the runtime does, with shaped tensors but no data), followed by guard bytes.
    void* workspace = nullptr;
    size_t workspace_size = 0;
    if (kernel.workspace_bytes != nullptr) {
      std::vector<TensorView> shaped_in = in_views, shaped_out = out_views;
      for (TensorView& t : shaped_in) t.data = nullptr;
      for (TensorView& t : shaped_out) t.data = nullptr;
      const KernelArgs shaped{n, b.symbol_values, shaped_in, shaped_out};
      Expected<size_t> need = kernel.workspace_bytes(shaped);
      if (!need.ok()) {
        fail(str_cat("pass ", pass, ": workspace_bytes failed: ", need.status().to_string()));
        return failures;
      }
      workspace_size = *need;
      if (workspace_size > 0) {
        const std::vector<uint8_t> guard(kGuardBytes, kGuardPattern);
        Expected<void*> p = device.allocate(static_cast<int64_t>(workspace_size) + kGuardBytes);
        if (!p.ok()) return {p.status().to_string()};
        workspace = *p;
        if (Status s = device.upload(static_cast<uint8_t*>(workspace) + workspace_size,
                                     guard.data(), kGuardBytes);
            !s.ok()) {
          return {s.to_string()};
        }
      }
    }
    // 4. Run.
    KernelArgs args{n,         b.symbol_values, in_views, out_views, device.stream(),
                    workspace, workspace_size};
    if (Status s = kernel.run(args); !s.ok()) {
      fail(str_cat("pass ", pass, ": the kernel failed: ", s.to_string()));
      return failures;
    }
    if (Status s = device.synchronize(); !s.ok()) {
      fail(str_cat("pass ", pass, ": after the kernel: ", s.to_string()));
      return failures;
    }
    // 5. Compare outputs, guards (outputs' and the workspace's) and inputs.
    for (size_t k = 0; k < got.size(); ++k) {
      std::vector<uint8_t> staged(got[k].bytes.size() + kGuardBytes);
      if (Status s = device.download(staged.data(), out_views[k].data,
                                     static_cast<int64_t>(staged.size()));
          !s.ok()) {
        return {s.to_string()};
      }
      std::memcpy(got[k].bytes.data(), staged.data(), got[k].bytes.size());
      const DType dt = got[k].dtype;
      const Tolerance tol = c.tolerances.count(dt) ? c.tolerances.at(dt) : default_tolerance(dt);
      if (std::string diff = compare(got[k], want[k], tol); !diff.empty()) {
        fail(str_cat("pass ", pass, ": output ", k, ": ", diff));
      }
      for (int64_t i = 0; i < kGuardBytes; ++i) {
        if (staged[got[k].bytes.size() + static_cast<size_t>(i)] != kGuardPattern) {
          fail(str_cat("pass ", pass, ": output ", k,
                       ": the kernel wrote past the end (guard byte ", i, " changed)"));
          break;
        }
      }
    }
    if (workspace != nullptr) {
      std::vector<uint8_t> guard(kGuardBytes);
      if (Status s = device.download(guard.data(),
                                     static_cast<uint8_t*>(workspace) + workspace_size,
                                     kGuardBytes);
          !s.ok()) {
        return {s.to_string()};
      }
      if (guard != std::vector<uint8_t>(kGuardBytes, kGuardPattern)) {
        fail(str_cat("pass ", pass, ": the kernel wrote past the end of its ", workspace_size,
                     "-byte workspace"));
      }
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] == nullptr || inputs[i]->nbytes() == 0) continue;
      std::vector<uint8_t> after(inputs[i]->bytes.size());
      if (Status s = device.download(after.data(), in_views[i].data, inputs[i]->nbytes());
          !s.ok()) {
        return {s.to_string()};
      }
      if (after != inputs[i]->bytes) fail(str_cat("pass ", pass, ": input ", i, " was modified"));
    }
    device.release_all();
    if (!failures.empty()) break;
  }
  return failures;
}

}  // namespace

Report run_case(const HarnessCase& c, Device& device, const KernelSelector& select_in) {
  Report report;
  Expected<Graph> parsed = parse_graph(c.ir, c.name);
  if (!parsed.ok()) {
    report.failures.push_back(str_cat(c.name, ": ", parsed.status().to_string()));
    return report;
  }
  const Graph& g = *parsed;
  const std::vector<std::string> lines = node_lines(g);
  const KernelSelector select = select_in ? select_in : accepting_kernels(device.kind());
  const std::vector<std::map<std::string, int64_t>> bindings =
      c.shapes.empty() ? std::vector<std::map<std::string, int64_t>>{{}} : c.shapes;
  for (const std::map<std::string, int64_t>& shapes : bindings) {
    Expected<Bound> bound = bind_shapes(g, shapes);
    if (!bound.ok()) {
      report.failures.push_back(str_cat(c.name, " ", shapes_text(shapes), ": ",
                                        bound.status().to_string()));
      continue;
    }
    const Bound& b = *bound;
    for (uint64_t seed : c.seeds) {
      const std::string where = str_cat(c.name, " ", shapes_text(shapes), " seed ", seed);
      // 1. Graph inputs.
      std::vector<HostTensor> values(g.values.size());
      for (size_t i = 0; i < g.inputs.size(); ++i) {
        const ValueId v = g.inputs[i];
        const TensorType& t = b.types[static_cast<size_t>(v)];
        Expected<ConcreteShape> shape = to_concrete(t.shape);
        if (!shape.ok()) {
          report.failures.push_back(str_cat(where, ": ", shape.status().to_string()));
          return report;
        }
        values[static_cast<size_t>(v)] = HostTensor(t.dtype, *shape);
        const std::string& name = g.values[static_cast<size_t>(v)].name;
        const InputRange& range = c.inputs.count(name) ? c.inputs.at(name) : c.range;
        fill_random(values[static_cast<size_t>(v)], range, mix(seed, i));
      }
      // 2. Nodes in order.
      bool stop = false;
      for (size_t index = 0; index < g.nodes.size(); ++index) {
        const Node& n = g.nodes[index];
        const std::vector<TensorType> types = input_types_of(n, b);
        const std::string node = str_cat(where, ": ", node_text(index, lines[index], n, types));
        std::vector<const HostTensor*> inputs;
        std::vector<TensorView> in_views;
        for (ValueId v : n.inputs) {
          inputs.push_back(v == kNoValue ? nullptr : &values[static_cast<size_t>(v)]);
          in_views.push_back(v == kNoValue ? TensorView{} : values[static_cast<size_t>(v)].view());
        }
        std::vector<HostTensor> want;
        std::vector<TensorView> out_views;
        for (ValueId v : n.outputs) {
          const TensorType& t = b.types[static_cast<size_t>(v)];
          Expected<ConcreteShape> shape = to_concrete(t.shape);
          if (!shape.ok()) {
            report.failures.push_back(str_cat(node, ": ", shape.status().to_string()));
            return report;
          }
          want.emplace_back(t.dtype, *shape);
          poison(want.back(), 0);
        }
        for (const HostTensor& w : want) out_views.push_back(w.view());
        // 2a. The reference.
        const Kernel* ref = find_kernel(str_cat("ref.", op_name(n.op)));
        if (ref == nullptr) {
          report.failures.push_back(str_cat(node, ": no reference kernel"));
          return report;
        }
        KernelArgs ref_args{n, b.symbol_values, in_views, out_views, nullptr};
        if (Status s = ref->run(ref_args); !s.ok()) {
          report.failures.push_back(
              str_cat(node, ": the reference kernel failed: ", s.to_string()));
          stop = true;
          break;
        }
        // 2b. The kernels under test (constants are bound by the runtime, never launched).
        if (n.op != OpKind::kConstant) {
          const std::vector<const Kernel*> kernels = select(n, types);
          if (kernels.empty()) {
            std::string reasons;
            for (const Kernel* k : kernels_for(n.op, device.kind())) {
              std::string why;
              k->accepts(n, types, &why);
              reasons += str_cat("\n    ", k->name, ": ", why);
            }
            report.failures.push_back(str_cat(node, ": no ", device_name(device.kind()),
                                              " kernel accepts it", reasons));
          }
          for (const Kernel* k : kernels) {
            for (const std::string& f : check_kernel(n, *k, b, inputs, want, c, device)) {
              report.failures.push_back(str_cat(node, ": ", k->name, ": ", f));
            }
            device.release_all();
            report.kernels.insert(std::string(k->name));
            ++report.comparisons;
          }
        }
        for (size_t k = 0; k < n.outputs.size(); ++k) {
          values[static_cast<size_t>(n.outputs[k])] = std::move(want[k]);
        }
      }
      if (stop) break;
    }
  }
  return report;
}

}  // namespace kiln::harness
