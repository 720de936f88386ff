// `kiln run MODEL.kiln --shapes x:1x3x224x224`: runs an engine on seeded random inputs (floats
// uniform in [-1, 1), integers in [0, 10), random bools), reports the median and p90 latency over
// the timed iterations, and summarises every output (shape, dtype, min, max, mean, abs-sum, first
// values).
//
// With --device cuda the engine must be a CUDA engine: inputs are generated on the host as for the
// CPU, uploaded once to the current CUDA device, and every run is queued on one stream of the
// tool's own; a timed iteration ends when that stream has finished it. Outputs are copied back
// for the summary.
//
// Deliberately not here: reading inputs from files and comparing against references (tests do
// that).
#if KILN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "cli.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kRunHelp = R"(usage:
  kiln run MODEL.kiln [--shapes NAME:DxDx..[,NAME:..]] [--iters N] [--warmup W]
                      [--device cpu|cuda] [--cuda-graphs] [--profile] [--seed S]

Runs the engine on random inputs (floats uniform in [-1, 1), integers in [0, 10), random bools) and
prints the median and p90 latency and a summary of every output.

options:
  --shapes SPEC    input shapes, e.g. x:8x3x224x224,mask:8x128 (a scalar is `name:`); inputs not
                   named run at their opt shapes
  --iters N        timed iterations (default 10)
  --warmup W       untimed iterations first (default 1)
  --device DEVICE  cpu (default) or cuda (a CUDA engine, run on the current CUDA device)
  --cuda-graphs    cuda: capture each shape signature as a CUDA graph and replay it
  --profile        cuda: one more run, node by node with a CUDA event after each; prints the GPU
                   time per kernel and the 20 slowest nodes
  --seed S         random seed for the inputs (default 0)
  -h, --help       show this help
)";

Expected<int64_t> parse_int(std::string_view option, std::string_view text, int64_t min) {
  int64_t value = 0;
  bool ok = !text.empty() && text.size() <= 18;
  for (char c : text) ok = ok && c >= '0' && c <= '9';
  if (ok) {
    for (char c : text) value = value * 10 + (c - '0');
  }
  if (!ok || value < min) {
    return invalid_argument(option, " needs an integer >= ", min, ", got '", text, "'");
  }
  return value;
}

// "x:1x3x224x224,y:4" -> {x: [1, 3, 224, 224], y: [4]}; names must be engine inputs.
Expected<std::vector<ConcreteShape>> parse_shapes(const Graph& g, std::string_view spec) {
  std::vector<int64_t> opt;
  for (const SymbolInfo& s : g.symbols) opt.push_back(s.opt);
  KILN_ASSIGN_OR_RETURN(std::vector<ConcreteShape> shapes, input_shapes_at(g, opt));
  std::vector<bool> given(g.inputs.size(), false);
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return invalid_argument("--shapes: expected NAME:DxDx.., got '", item, "'");
    }
    std::string_view name = item.substr(0, colon);
    std::string_view dims = item.substr(colon + 1);
    size_t index = g.inputs.size();
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      if (g.values[g.inputs[i]].name == name) index = i;
    }
    if (index == g.inputs.size()) {
      std::string known;
      for (ValueId v : g.inputs) known += str_cat(known.empty() ? "" : ", ", g.values[v].name);
      return invalid_argument("--shapes: the engine has no input '", name, "' (inputs: ", known,
                              ")");
    }
    if (given[index]) return invalid_argument("--shapes: input '", name, "' is given twice");
    given[index] = true;
    ConcreteShape shape;
    while (!dims.empty()) {
      size_t x = dims.find('x');
      std::string_view dim = dims.substr(0, x);
      dims = x == std::string_view::npos ? std::string_view() : dims.substr(x + 1);
      KILN_ASSIGN_OR_RETURN(int64_t d,
                            parse_int(str_cat("--shapes: input '", name, "' dim"), dim, 0));
      shape.push_back(d);
      if (x != std::string_view::npos && dims.empty()) {
        return invalid_argument("--shapes: input '", name, "' has an empty dim");
      }
    }
    shapes[index] = std::move(shape);
  }
  return shapes;
}

void fill_random(const TensorView& t, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::uniform_int_distribution<int64_t> small(0, 9);
  const int64_t n = t.numel();
  uint8_t* p = static_cast<uint8_t*>(t.data);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kF32: reinterpret_cast<float*>(p)[i] = uniform(rng); break;
      case DType::kF64: reinterpret_cast<double*>(p)[i] = uniform(rng); break;
      case DType::kF16: reinterpret_cast<uint16_t*>(p)[i] = f32_to_f16(uniform(rng)); break;
      case DType::kBF16: reinterpret_cast<uint16_t*>(p)[i] = f32_to_bf16(uniform(rng)); break;
      case DType::kI64: reinterpret_cast<int64_t*>(p)[i] = small(rng); break;
      case DType::kI32: reinterpret_cast<int32_t*>(p)[i] = static_cast<int32_t>(small(rng)); break;
      case DType::kI8: reinterpret_cast<int8_t*>(p)[i] = static_cast<int8_t>(small(rng)); break;
      case DType::kU8: p[i] = static_cast<uint8_t>(small(rng)); break;
      case DType::kBool: p[i] = static_cast<uint8_t>(rng() & 1u); break;
    }
  }
}

double element(const TensorView& t, int64_t i) {
  const uint8_t* p = static_cast<const uint8_t*>(t.data);
  switch (t.dtype) {
    case DType::kF32: return reinterpret_cast<const float*>(p)[i];
    case DType::kF64: return reinterpret_cast<const double*>(p)[i];
    case DType::kF16: return f16_to_f32(reinterpret_cast<const uint16_t*>(p)[i]);
    case DType::kBF16: return bf16_to_f32(reinterpret_cast<const uint16_t*>(p)[i]);
    case DType::kI64: return static_cast<double>(reinterpret_cast<const int64_t*>(p)[i]);
    case DType::kI32: return reinterpret_cast<const int32_t*>(p)[i];
    case DType::kI8: return reinterpret_cast<const int8_t*>(p)[i];
    case DType::kU8: return p[i];
    case DType::kBool: return p[i] != 0 ? 1 : 0;
  }
  return 0;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// "min -1.2 max 3.4 mean 0.01 abs-sum 12.5 first [0.1, -0.2, 0.3, 0.4]".
std::string summary(const TensorView& t) {
  const int64_t n = t.numel();
  if (n == 0) return "empty";
  double lo = element(t, 0), hi = lo, sum = 0, abs_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = element(t, i);
    lo = std::fmin(lo, v);
    hi = std::fmax(hi, v);
    sum += v;
    abs_sum += std::fabs(v);
  }
  std::string first;
  for (int64_t i = 0; i < std::min<int64_t>(n, 4); ++i) {
    first += str_cat(i ? ", " : "", number(element(t, i)));
  }
  return str_cat("min ", number(lo), " max ", number(hi), " mean ", number(sum / n), " abs-sum ",
                 number(abs_sum), " first [", first, "]");
}

// The value at fraction `q` of the sorted samples (nearest rank).
double quantile(std::vector<double> samples, double q) {
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::clamp<size_t>(rank, 1, samples.size()) - 1];
}

// Device buffers and a stream for one `kiln run --device cuda`; they release themselves.
class CudaRun {
 public:
  CudaRun() = default;
  CudaRun(const CudaRun&) = delete;
  CudaRun& operator=(const CudaRun&) = delete;
  ~CudaRun() {
#if KILN_HAVE_CUDA
    if (stream_ != nullptr) cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
    for (void* p : buffers_) cudaFree(p);
    if (stream_ != nullptr) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
#endif
  }

  void* stream() const { return stream_; }

#if KILN_HAVE_CUDA
  Status start() {
    cudaStream_t s = nullptr;
    KILN_RETURN_IF_ERROR(call(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking),
                              "cudaStreamCreateWithFlags"));
    stream_ = s;
    return ok_status();
  }
  // A device copy of host tensor `t` (uninitialized when `upload` is false).
  Expected<TensorView> device_copy(const TensorView& t, bool upload) {
    TensorView d = t;
    d.data = nullptr;
    const size_t bytes = static_cast<size_t>(t.nbytes());
    if (bytes == 0) return d;
    KILN_RETURN_IF_ERROR(call(cudaMalloc(&d.data, bytes), "cudaMalloc"));
    buffers_.push_back(d.data);
    if (upload) {
      KILN_RETURN_IF_ERROR(call(cudaMemcpyAsync(d.data, t.data, bytes, cudaMemcpyHostToDevice,
                                                static_cast<cudaStream_t>(stream_)),
                                "cudaMemcpyAsync(input, host to device)"));
    }
    return d;
  }
  Status download(const TensorView& device, const TensorView& host) {
    if (device.nbytes() == 0) return ok_status();
    return call(cudaMemcpyAsync(host.data, device.data, static_cast<size_t>(device.nbytes()),
                                cudaMemcpyDeviceToHost, static_cast<cudaStream_t>(stream_)),
                "cudaMemcpyAsync(output, device to host)");
  }
  Status synchronize() {
    return call(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)),
                "cudaStreamSynchronize");
  }

 private:
  static Status call(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return ok_status();
    return internal_error(what, " failed: ", cudaGetErrorName(e), ": ", cudaGetErrorString(e));
  }
#else
  Status start() { return unsupported("kiln was built without the CUDA backend"); }
  Expected<TensorView> device_copy(const TensorView&, bool) { return start(); }
  Status download(const TensorView&, const TensorView&) { return start(); }
  Status synchronize() { return start(); }

 private:
#endif
  void* stream_ = nullptr;
  std::vector<void*> buffers_;
};

}  // namespace

int run_command(std::span<char* const> args) {
  constexpr OptionSpec kSpecs[] = {{"--shapes", true}, {"--iters", true}, {"--warmup", true},
                                   {"--device", true}, {"--seed", true}, {"--cuda-graphs", false},
                                   {"--profile", false}};
  Expected<ParsedArgs> parsed = parse_args(args, kSpecs);
  if (!parsed.ok()) return usage_error("run", parsed.status().message());
  if (parsed->help) {
    std::fputs(kRunHelp.data(), stdout);
    return 0;
  }
  if (parsed->positional.size() != 1) {
    return usage_error("run", str_cat("expected one engine file, got ", parsed->positional.size()));
  }
  auto option = [&](std::string_view name, std::string_view fallback) {
    auto it = parsed->options.find(name);
    return it == parsed->options.end() ? std::string(fallback) : it->second;
  };
  Expected<int64_t> iters = parse_int("--iters", option("--iters", "10"), 1);
  if (!iters.ok()) return usage_error("run", iters.status().message());
  Expected<int64_t> warmup = parse_int("--warmup", option("--warmup", "1"), 0);
  if (!warmup.ok()) return usage_error("run", warmup.status().message());
  Expected<int64_t> seed = parse_int("--seed", option("--seed", "0"), 0);
  if (!seed.ok()) return usage_error("run", seed.status().message());
  Expected<DeviceKind> device = parse_device(option("--device", "cpu"));
  if (!device.ok()) return usage_error("run", device.status().message());
  if (Status s = check_device_available(*device); !s.ok()) return fail(s);

  // 1. The engine and the input shapes.
  const std::string& path = parsed->positional[0];
  Expected<std::shared_ptr<const Engine>> loaded = Engine::from_file(path);
  if (!loaded.ok()) return fail(loaded.status());
  const std::shared_ptr<const Engine>& engine = *loaded;
  if (engine->device() != *device) {
    return fail(invalid_argument(
        path, ": engine was built for ", device_name(engine->device()), ", not ",
        device_name(*device), engine->device() == DeviceKind::kCpu
                                  ? " (build a CUDA engine with `kiln build --device cuda`)"
                                  : " (run it with --device cuda)"));
  }
  const bool cuda = *device == DeviceKind::kCuda;
  const bool cuda_graphs = parsed->options.count("--cuda-graphs") != 0;
  if (cuda_graphs && !cuda) return usage_error("run", "--cuda-graphs needs --device cuda");
  const bool profile = parsed->options.count("--profile") != 0;
  if (profile && !cuda) return usage_error("run", "--profile needs --device cuda");
  const Graph& g = engine->graph();
  Expected<std::vector<ConcreteShape>> shapes = parse_shapes(g, option("--shapes", ""));
  if (!shapes.ok()) return fail(shapes.status());
  ExecutionContextOptions context_options;
  if (cuda) context_options.use_cuda_graphs = cuda_graphs;
  ExecutionContext context(engine, context_options);
  Expected<std::vector<ConcreteShape>> output_shapes = context.infer_output_shapes(*shapes);
  if (!output_shapes.ok()) return fail(output_shapes.status());

  // 2. Buffers: seeded random inputs, outputs of the inferred shapes.
  std::mt19937_64 rng(static_cast<uint64_t>(*seed));
  std::vector<std::vector<uint8_t>> storage;
  std::vector<TensorView> inputs, outputs;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    TensorView t{nullptr, g.type(g.inputs[i]).dtype, (*shapes)[i]};
    storage.emplace_back(static_cast<size_t>(t.nbytes()));
    t.data = storage.back().data();
    fill_random(t, rng);
    inputs.push_back(std::move(t));
  }
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    TensorView t{nullptr, g.type(g.outputs[i]).dtype, (*output_shapes)[i]};
    storage.emplace_back(static_cast<size_t>(t.nbytes()));
    t.data = storage.back().data();
    outputs.push_back(std::move(t));
  }

  // CUDA: device copies of the inputs and device outputs, on the tool's own stream.
  CudaRun gpu;
  std::vector<TensorView> device_inputs, device_outputs;
  if (cuda) {
    if (Status s = gpu.start(); !s.ok()) return fail(s);
    for (const TensorView& t : inputs) {
      Expected<TensorView> d = gpu.device_copy(t, /*upload=*/true);
      if (!d.ok()) return fail(d.status());
      device_inputs.push_back(std::move(d).value());
    }
    for (const TensorView& t : outputs) {
      Expected<TensorView> d = gpu.device_copy(t, /*upload=*/false);
      if (!d.ok()) return fail(d.status());
      device_outputs.push_back(std::move(d).value());
    }
  }
  // One run; for CUDA it is over when the stream has finished it.
  auto run_once = [&]() -> Status {
    if (!cuda) return context.run(inputs, outputs);
    KILN_RETURN_IF_ERROR(context.run(device_inputs, device_outputs, gpu.stream()));
    return gpu.synchronize();
  };

  // 3. Warmup, then timed iterations.
  for (int64_t i = 0; i < *warmup; ++i) {
    if (Status s = run_once(); !s.ok()) return fail(s);
  }
  std::vector<double> ms;
  for (int64_t i = 0; i < *iters; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (Status s = run_once(); !s.ok()) return fail(s);
    auto stop = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  if (cuda) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (Status s = gpu.download(device_outputs[i], outputs[i]); !s.ok()) return fail(s);
    }
    if (Status s = gpu.synchronize(); !s.ok()) return fail(s);
  }

  // 4. Report.
  std::printf("%s on %s%s\n", path.c_str(), std::string(device_name(*device)).c_str(),
              !cuda                                 ? ""
              : context.cuda_graphs_captured() > 0 ? " (CUDA graph)"
              : cuda_graphs                        ? " (CUDA graph capture failed: plain launches)"
                                                    : "");
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::printf("  input  %s: %s%s\n", g.values[g.inputs[i]].name.c_str(),
                std::string(dtype_name(inputs[i].dtype)).c_str(),
                concrete_shape_text(inputs[i].shape).c_str());
  }
  std::printf("latency over %lld iterations (%lld warmup): median %.3f ms, p90 %.3f ms\n",
              static_cast<long long>(*iters), static_cast<long long>(*warmup), quantile(ms, 0.5),
              quantile(ms, 0.9));
  std::vector<IOInfo> infos = engine->outputs();
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::printf("  output %s: %s%s  %s\n", infos[i].name.c_str(),
                std::string(dtype_name(outputs[i].dtype)).c_str(),
                concrete_shape_text(outputs[i].shape).c_str(), summary(outputs[i]).c_str());
  }
  if (profile) {
    Expected<std::vector<double>> node_ms = context.profile(device_inputs, device_outputs,
                                                            gpu.stream());
    if (!node_ms.ok()) return fail(node_ms.status());
    const EngineProfile run{"0", engine.get(), *node_ms};
    std::fputs(profile_report({&run, 1}, 20).c_str(), stdout);
  }
  return 0;
}

}  // namespace kiln::cli
